// Carrier scorecards (GET /v1/carriers/scorecards): on-time rate per day per carrier as a
// uPlot line chart, transit-time percentiles as a table with inline bars, and lanes.

import { api, qs } from './api.js';
import { el, clear, fmt, pct, hours } from './util.js';

const PALETTE = ['#1d63c9', '#c62828', '#0a7f56', '#b86e00', '#7b3fb5', '#17202b', '#00838f', '#ad1457'];
let days = 30;

function onTimeChart(node, data) {
  const carriers = [...new Set(data.daily.map((d) => d.carrier))].sort();
  const dayList = [...new Set(data.daily.map((d) => d.day))].sort();
  if (!carriers.length || !dayList.length) {
    clear(node, el('p', { class: 'empty' }, 'No deliveries in this window yet.'));
    return null;
  }
  const xs = dayList.map((d) => Date.parse(`${d}T12:00:00Z`) / 1000);
  const byKey = new Map(data.daily.map((d) => [`${d.carrier}|${d.day}`, d.on_time_rate]));
  const series = carriers.map((c) => dayList.map((d) => {
    const v = byKey.get(`${c}|${d}`);
    return v === null || v === undefined ? null : Math.round(v * 1000) / 10;
  }));
  const width = Math.max(320, node.clientWidth || 800);
  // Start the axis just below the worst day so differences between carriers stay visible.
  const values = series.flat().filter((v) => v !== null);
  const low = Math.max(0, Math.floor((Math.min(100, ...values) - 5) / 10) * 10);
  const plot = new uPlot({
    width,
    height: 300,
    title: '',
    scales: { y: { range: [low, 100] } },
    axes: [{}, { label: 'On time (%)', values: (u, vals) => vals.map((v) => `${v}%`) }],
    series: [{}, ...carriers.map((c, i) => ({
      label: c,
      stroke: PALETTE[i % PALETTE.length],
      width: 2,
      spanGaps: true,
      points: { size: 5 },
      value: (u, v) => (v == null ? '—' : `${v.toFixed(1)}%`),
    }))],
  }, [xs, ...series], node);
  const resize = () => plot.setSize({ width: Math.max(320, node.clientWidth), height: 300 });
  window.addEventListener('resize', resize);
  return () => { window.removeEventListener('resize', resize); plot.destroy(); };
}

function percentileTable(carriers) {
  const max = Math.max(1, ...carriers.map((c) => c.transit_hours?.p95 ?? 0));
  const bar = (v, cls) => {
    const b = el('span', { class: `pbar ${cls}` });
    b.style.width = `${((v ?? 0) / max) * 100}%`;
    return b;
  };
  return el('table', { class: 'data' },
    el('caption', { class: 'visually-hidden' }, 'Carrier scorecards'),
    el('thead', {}, el('tr', {}, ['Carrier', 'Delivered', 'On time', 'Late', 'No promise', 'On-time rate', 'Transit p50', 'p90', 'p95', el('span', { class: 'visually-hidden' }, 'Transit bars')].map((h, i) => el('th', { scope: 'col', class: i > 0 && i < 9 ? 'num' : null }, h)))),
    el('tbody', {}, carriers.map((c) => el('tr', {},
      el('th', { scope: 'row' }, c.carrier),
      el('td', { class: 'num' }, fmt.format(c.delivered)),
      el('td', { class: 'num' }, fmt.format(c.on_time)),
      el('td', { class: 'num' }, fmt.format(c.late)),
      el('td', { class: 'num' }, fmt.format(c.no_promise)),
      el('td', { class: 'num' }, el('strong', {}, pct(c.on_time_rate))),
      el('td', { class: 'num' }, hours(c.transit_hours?.p50)),
      el('td', { class: 'num' }, hours(c.transit_hours?.p90)),
      el('td', { class: 'num' }, hours(c.transit_hours?.p95)),
      el('td', { class: 'pbars', 'aria-hidden': 'true' }, bar(c.transit_hours?.p95, 'p95'), bar(c.transit_hours?.p90, 'p90'), bar(c.transit_hours?.p50, 'p50'))))));
}

function laneTable(carriers) {
  const lanes = carriers.flatMap((c) => (c.lanes || []).map((l) => ({ ...l, carrier: c.carrier })))
    .sort((a, b) => b.delivered - a.delivered);
  if (!lanes.length) return el('p', { class: 'empty' }, 'No lanes yet.');
  return el('table', { class: 'data' },
    el('caption', { class: 'visually-hidden' }, 'Lanes'),
    el('thead', {}, el('tr', {}, ['Carrier', 'Origin', 'Destination', 'Delivered', 'On-time rate', 'Transit p50', 'p90', 'p95'].map((h, i) => el('th', { scope: 'col', class: i > 2 ? 'num' : null }, h)))),
    el('tbody', {}, lanes.slice(0, 200).map((l) => el('tr', {},
      el('td', {}, l.carrier), el('td', {}, l.origin ?? '—'), el('td', {}, l.destination ?? '—'),
      el('td', { class: 'num' }, fmt.format(l.delivered)),
      el('td', { class: 'num' }, pct(l.on_time_rate)),
      el('td', { class: 'num' }, hours(l.transit_hours?.p50)),
      el('td', { class: 'num' }, hours(l.transit_hours?.p90)),
      el('td', { class: 'num' }, hours(l.transit_hours?.p95))))));
}

export async function renderCarriers(node) {
  // The chart shown, replaced when the window changes; the page's cleanup disposes the last.
  const shown = { dispose: null };
  await draw(node, shown);
  return () => shown.dispose?.();
}

async function draw(node, shown) {
  const data = await api(`/v1/carriers/scorecards${qs({ days })}`);
  const select = el('select', { id: 'sc-days', onchange: () => { days = +select.value; draw(node, shown); } },
    [7, 30, 90, 365].map((d) => el('option', { value: d, selected: d === days }, `Last ${d} days`)));
  shown.dispose?.();
  const chart = el('div', { class: 'chart', role: 'img', 'aria-label': 'On-time rate per day per carrier; the table below gives the same rates' });
  clear(node,
    el('div', { class: 'page-head' }, el('h1', {}, 'Carrier scorecards'),
      el('label', { for: 'sc-days', class: 'visually-hidden' }, 'Window'), select,
      el('span', { class: 'muted' }, `Deliveries since ${new Date(data.since).toLocaleDateString()}`)),
    el('section', { class: 'card', 'aria-labelledby': 'ot-h' }, el('h2', { id: 'ot-h' }, 'On-time rate per day'), chart),
    el('section', { class: 'card', 'aria-labelledby': 'pc-h' }, el('h2', { id: 'pc-h' }, 'Carriers: on time and transit time'),
      data.carriers.length ? percentileTable(data.carriers) : el('p', { class: 'empty' }, 'No carrier has delivered in this window.'),
      el('p', { class: 'muted' }, 'Transit = delivered minus the first shipped or in-transit scan. Bars: p50, p90, p95.')),
    el('section', { class: 'card', 'aria-labelledby': 'ln-h' }, el('h2', { id: 'ln-h' }, 'Lanes'), laneTable(data.carriers)));
  shown.dispose = onTimeChart(chart, data);
}

