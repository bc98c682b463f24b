// Source health (GET /v1/sources), the quarantine of unknown codes (GET /v1/unmapped) and dead
// letters (GET /v1/dead-letters). An operator accepts a code's proposal (the description
// classifier's reading of the vendor's text) as the tenant's mapping, which remaps the events
// that waited. Replay needs the admin scope, which dashboard users never hold (API keys only):
// that button is shown disabled with the reason, so the page says how to replay rather than
// failing.

import { api, qs, ApiError } from './api.js';
import { el, clear, human, when, ago, fmt, toast } from './util.js';
import { canOperate } from './main.js';

let cursors = [null];
let pageNo = 0;

function healthTable(items) {
  if (!items.length) return el('p', { class: 'empty' }, 'No sources configured.');
  return el('table', { class: 'data' },
    el('caption', { class: 'visually-hidden' }, 'Source health'),
    el('thead', {}, el('tr', {}, ['Source', 'Kind', 'State', 'Last success', 'Lag', 'Tracked', 'Overdue', 'Dead letters', 'Breaker'].map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, items.map((s) => el('tr', {},
      el('th', { scope: 'row' }, s.name, el('div', { class: 'muted' }, s.source)),
      el('td', {}, s.kind),
      el('td', {}, el('span', { class: `state-dot state-${s.state}`, 'aria-hidden': 'true' }), human(s.state)),
      el('td', {}, s.last_success_at ? ago(s.last_success_at) : '—'),
      el('td', { class: 'num' }, s.lag_seconds == null ? '—' : `${fmt.format(s.lag_seconds)} s`),
      el('td', { class: 'num' }, fmt.format(s.tracked ?? 0)),
      el('td', { class: 'num' }, fmt.format(s.overdue ?? 0)),
      el('td', { class: 'num' }, fmt.format(s.dead_letters ?? 0)),
      el('td', {}, el('span', { class: `state-dot state-${s.breaker}`, 'aria-hidden': 'true' }), human(s.breaker))))));
}

// One row per open quarantined code: how many events wait on it, the vendor's text, and the
// proposal, if the classifier had one.
function unmappedCodes(items) {
  const codes = new Map();
  for (const u of items) {
    if (u.resolved_at || u.kind !== 'status') continue;
    const key = `${u.source}\u0000${u.code}`;
    const row = codes.get(key) || { source: u.source, code: u.code, events: 0, text: u.raw_description, proposal: null };
    row.events += 1;
    if (!row.proposal && u.proposal) row.proposal = u.proposal;
    codes.set(key, row);
  }
  return [...codes.values()];
}

async function accept(row, node) {
  try {
    const r = await api(`/v1/unmapped/${encodeURIComponent(row.source)}/${encodeURIComponent(row.code)}/accept`, { method: 'POST' });
    toast(`${row.source} ${row.code} is now ${human(r.status)}; ${r.remap.remapped} events remapped.`);
  } catch (e) {
    toast(e instanceof ApiError && e.status === 403 ? 'Your role cannot change mappings.' : `Failed: ${e.message}`);
  }
  renderSources(node);
}

function unmappedTable(rows, node) {
  if (!rows.length) return el('p', { class: 'empty' }, 'No unknown codes waiting.');
  const ops = canOperate();
  return el('table', { class: 'data' },
    el('caption', { class: 'visually-hidden' }, 'Unknown codes'),
    el('thead', {}, el('tr', {}, ['Source', 'Code', 'Events', 'Vendor text', 'Proposal', el('span', { class: 'visually-hidden' }, 'Actions')].map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, rows.map((r) => el('tr', {},
      el('td', {}, r.source),
      el('td', { class: 'mono' }, r.code),
      el('td', { class: 'num' }, fmt.format(r.events)),
      el('td', {}, r.text || '—'),
      el('td', {}, r.proposal ? `${human(r.proposal.status)} (${Math.round(r.proposal.confidence * 100)} %)` : '—'),
      el('td', {}, el('button', {
        class: 'btn small', type: 'button', disabled: !(ops && r.proposal),
        'aria-label': `Accept the proposal for ${r.source} code ${r.code}`,
        title: !ops ? 'Needs the operator role' : r.proposal ? 'Map this code as proposed, for this tenant' : 'No proposal: map it with the API',
        onclick: () => accept(r, node),
      }, 'Accept'))))));
}

export async function renderSources(node) {
  const [sources, dead, unmapped] = await Promise.all([
    api('/v1/sources').catch((e) => ({ items: [], error: e.message })),
    api(`/v1/dead-letters${qs({ cursor: cursors[pageNo], limit: 50 })}`).catch((e) => ({ items: [], error: e.message })),
    api('/v1/unmapped?limit=500').catch((e) => ({ items: [], error: e.message })),
  ]);
  if (dead.next_cursor && cursors.length === pageNo + 1) cursors.push(dead.next_cursor);
  clear(node,
    el('div', { class: 'page-head' }, el('h1', {}, 'Sources')),
    el('section', { class: 'card', 'aria-labelledby': 'src-h' }, el('h2', { id: 'src-h' }, 'Health'),
      sources.error ? el('p', { class: 'error' }, sources.error) : healthTable(sources.items)),
    el('section', { class: 'card', 'aria-labelledby': 'um-h' }, el('h2', { id: 'um-h' }, 'Unknown codes'),
      unmapped.error ? el('p', { class: 'error' }, unmapped.error) : unmappedTable(unmappedCodes(unmapped.items), node)),
    el('section', { class: 'card', 'aria-labelledby': 'dl-h' }, el('h2', { id: 'dl-h' }, 'Dead letters'),
      el('p', { class: 'muted' }, 'Replaying a dead letter needs the admin scope (an API key): ',
        el('code', {}, 'POST /v1/dead-letters/{id}/replay'), '.'),
      dead.error ? el('p', { class: 'error' }, dead.error) : dead.items.length ? el('table', { class: 'data' },
        el('caption', { class: 'visually-hidden' }, 'Dead letters'),
        el('thead', {}, el('tr', {}, ['Id', 'Source', 'Received', 'Attempts', 'Problem', 'Replayed', el('span', { class: 'visually-hidden' }, 'Actions')].map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, dead.items.map((d) => {
          const btn = el('button', { class: 'btn small', type: 'button', disabled: true, 'aria-label': `Replay dead letter ${d.id}`, title: 'Needs an admin API key' }, 'Replay');
          return el('tr', {},
            el('td', { class: 'mono' }, d.id),
            el('td', {}, d.source, d.origin ? el('div', { class: 'muted' }, d.origin) : null),
            el('td', {}, when(d.received_at)),
            el('td', { class: 'num' }, d.attempts),
            el('td', {}, d.problem || '—'),
            el('td', {}, d.replayed_at ? when(d.replayed_at) : '—'),
            el('td', {}, btn));
        }))) : el('p', { class: 'empty' }, 'No dead letters.'),
      el('nav', { class: 'pager', 'aria-label': 'Dead letter pages' },
        el('button', { class: 'btn', type: 'button', disabled: pageNo === 0, onclick: () => { pageNo--; renderSources(node); } }, '← Previous'),
        el('button', { class: 'btn', type: 'button', disabled: !dead.next_cursor, onclick: () => { pageNo++; renderSources(node); } }, 'Next →'))));
}
