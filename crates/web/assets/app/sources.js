// Source health (GET /v1/sources) and dead letters (GET /v1/dead-letters). Replay needs the
// admin scope, which dashboard users never hold (API keys only): the button is shown
// disabled with the reason, so the page says how to replay rather than failing.

import { api, qs } from './api.js';
import { el, clear, human, when, ago, fmt } from './util.js';

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

export async function renderSources(node) {
  const [sources, dead] = await Promise.all([
    api('/v1/sources').catch((e) => ({ items: [], error: e.message })),
    api(`/v1/dead-letters${qs({ cursor: cursors[pageNo], limit: 50 })}`).catch((e) => ({ items: [], error: e.message })),
  ]);
  if (dead.next_cursor && cursors.length === pageNo + 1) cursors.push(dead.next_cursor);
  clear(node,
    el('div', { class: 'page-head' }, el('h1', {}, 'Sources')),
    el('section', { class: 'card', 'aria-labelledby': 'src-h' }, el('h2', { id: 'src-h' }, 'Health'),
      sources.error ? el('p', { class: 'error' }, sources.error) : healthTable(sources.items)),
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
