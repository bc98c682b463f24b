// The map's side panel: totals, search, the selected order, and counts per status, carrier,
// warehouse and channel from /v1/dashboard/summary. Each count is a button toggling a filter
// on both the counts and the map; the lists are also the map's text alternative.

import { api, qs, ApiError } from './api.js';
import { el, clear, groupOf, human, fmt, when, toast } from './util.js';
import * as mapView from './map.js';

let node = null;
let top = null;
let dyn = null;
let filter = {};
let summary = null;
let selection = null;
let refreshTimer = null;

const DIMENSIONS = [
  ['status', 'by_status', 'Status'],
  ['carrier', 'by_carrier', 'Carrier'],
  ['warehouse', 'by_warehouse', 'Warehouse'],
  ['channel', 'by_channel', 'Channel'],
];

export function initBoard(container) {
  node = container;
  // The search form is built once so a live refresh never steals focus or typed text.
  top = el('div');
  dyn = el('div', { class: 'panel-dyn' });
  clear(node, top, searchBox(), dyn);
  mapView.onSelect((s) => { selection = s; render(); });
  return refresh();
}

export async function refresh() {
  try {
    summary = await api(`/v1/dashboard/summary${qs(filter)}`);
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) toast(`Counts unavailable: ${e.message}`);
  }
  render();
}

// Counts follow live changes, at most once a second.
export function refreshSoon() {
  if (refreshTimer) return;
  refreshTimer = setTimeout(() => { refreshTimer = null; refresh(); }, 1000);
}

function toggle(dim, key) {
  if (filter[dim] === key) delete filter[dim];
  else filter[dim] = key;
  mapView.setFilter(filter);
  refresh();
}

async function search(q) {
  q = q.trim();
  if (!q) return;
  try {
    const o = await api(`/v1/orders/${encodeURIComponent(q)}`);
    location.hash = `#/orders/${encodeURIComponent(o.order_id)}`;
    return;
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404) { toast(e.message); return; }
  }
  try {
    const s = await api(`/v1/shipments/${encodeURIComponent(q)}`);
    location.hash = `#/orders/${encodeURIComponent(s.order_id)}`;
  } catch (e) {
    toast(e instanceof ApiError && e.status === 404 ? `No order or tracking number “${q}”` : e.message);
  }
}

function totals() {
  const s = summary || {};
  const box = (n, l, cls = '') => el('div', { class: `total ${cls}` }, el('span', { class: 'n' }, n == null ? '—' : fmt.format(n)), el('span', { class: 'l' }, l));
  return el('section', { 'aria-labelledby': 'totals-h' },
    el('h2', { id: 'totals-h' }, Object.keys(filter).length ? 'Matching orders' : 'Orders'),
    el('div', { class: 'totals' },
      box(s.active, 'Active'),
      box(s.total, 'Total'),
      el('a', { href: '#/alerts', class: 'total alert' },
        el('span', { class: 'n', 'data-field': 'alerts-open' }, s.alerts_open == null ? '—' : fmt.format(s.alerts_open)),
        el('span', { class: 'l' }, 'Open alerts'))));
}

function searchBox() {
  const input = el('input', { id: 'search', type: 'search', placeholder: 'Order id or tracking number', autocomplete: 'off' });
  const form = el('form', { class: 'search', role: 'search', onsubmit: (e) => { e.preventDefault(); search(input.value); } },
    el('label', { for: 'search', class: 'visually-hidden' }, 'Search by order id or tracking number'),
    input,
    el('button', { class: 'btn primary', type: 'submit' }, 'Find'));
  return form;
}

function chips() {
  const keys = Object.entries(filter);
  if (!keys.length) return null;
  return el('div', { class: 'filters', 'aria-label': 'Active filters' },
    keys.map(([dim, key]) => el('span', { class: 'chip' }, `${dim}: ${human(key)}`,
      el('button', { type: 'button', 'aria-label': `Remove filter ${dim}`, onclick: () => toggle(dim, key) }, '×'))));
}

function selected() {
  if (!selection) return null;
  if (selection.warehouse) {
    const w = selection.warehouse;
    return el('section', { class: 'selected-card', 'aria-label': 'Selected warehouse' },
      el('h3', {}, `Warehouse ${w.name}`),
      el('p', { class: 'muted' }, `${fmt.format(w.active_orders ?? 0)} active orders`),
      el('button', { class: 'btn small', type: 'button', onclick: () => toggle('warehouse', w.name) },
        filter.warehouse === w.name ? 'Show all warehouses' : 'Show only this warehouse'));
  }
  const p = selection.order;
  const id = selection.orderId;
  return el('section', { class: 'selected-card', 'aria-label': 'Selected order', 'aria-live': 'polite' },
    el('h3', {}, `Order ${id}`),
    p ? el('p', {}, el('span', { class: `pill g-${groupOf(p.status)}` }, human(p.status)), ' ',
      el('span', { class: 'muted' }, [p.carrier, p.warehouse && `from ${p.warehouse}`].filter(Boolean).join(' · '))) : el('p', { class: 'muted' }, 'No longer on the map.'),
    p ? el('p', { class: 'muted' }, `Updated ${when(p.updated_at)}`) : null,
    el('a', { href: `#/orders/${encodeURIComponent(id)}`, class: 'btn small' }, 'Open order →'));
}

function counts(dim, list, title) {
  if (!list || !list.length) return null;
  const max = Math.max(...list.map((x) => x.count), 1);
  return el('section', { 'aria-labelledby': `c-${dim}` },
    el('h2', { id: `c-${dim}` }, title),
    el('ul', { class: 'counts' }, list.slice(0, 12).map((x) => {
      const label = x.key === null ? '(none)' : human(x.key);
      const bar = el('span', { class: 'bar' });
      bar.style.width = `${(x.count / max) * 100}%`;
      // The API filters on a value only: '(none)' is counted, not a filter (it set a chip
      // and a heading while the counts and the map stayed unfiltered).
      const none = x.key === null;
      return el('li', {}, el('button', {
        type: 'button',
        'aria-pressed': String(filter[dim] === x.key),
        disabled: none,
        title: none ? `Orders without a ${dim} cannot be filtered` : `Show only ${label}`,
        dataset: { filter: dim, key: x.key ?? '' },
        onclick: () => toggle(dim, x.key),
      },
      dim === 'status' ? el('span', { class: 'swatch', dataset: { color: groupOf(x.key) } }) : el('span', { class: 'dotless' }),
      el('span', {}, label),
      el('span', { class: 'n' }, fmt.format(x.count), el('span', { class: 'visually-hidden' }, ' orders')),
      bar));
    })));
}

function render() {
  if (!node) return;
  const s = summary || {};
  clear(top, totals());
  clear(dyn,
    chips(),
    selected(),
    DIMENSIONS.map(([dim, field, title]) => counts(dim, s[field], title)));
}
