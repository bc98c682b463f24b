// The intake queue: orders the gates held, highest impact first (GET /v1/intake/queue), with
// why each is held; a details panel with the explain (every check with the layer its outcome
// came from, and the shadow profile's decision); Release, Reject and Re-validate all for
// operators; and the gates' counts with false positives beside the shadow's would-be counts.

import { api, qs, ApiError } from './api.js';
import { el, clear, human, when, ago, toast, pct, fmt } from './util.js';
import { canOperate } from './main.js';
import { dialog } from './alerts.js';

const CHANNELS = ['shopify', 'woocommerce', 'bigcommerce', 'magento', 'amazon', 'x12', 'api', 'csv', 'jsonl'];
const STATUSES = ['held', 'backordered', 'rejected', 'accepted', 'cancelled'];
// The map's colours, by what each means for the order: waiting, stopped, moving, closed.
const STATUS_GROUP = { held: 'late', backordered: 'pre', rejected: 'bad', accepted: 'last', cancelled: 'done' };
const OUTCOME_GROUP = { pass: 'done', warn: 'pre', backorder: 'pre', hold: 'late', reject: 'bad' };

const state = {
  status: 'held', channel: '', account: '', after: null, next: null,
  selected: null, tbody: null, detail: null, gates: null,
};

const statusPill = (s) => el('span', { class: `pill g-${STATUS_GROUP[s] || 'pre'}` }, human(s));
const outcomePill = (o) => el('span', { class: `pill g-${OUTCOME_GROUP[o] || 'pre'}` }, human(o));
const money = (v, c) => (v === null || v === undefined ? '—' : `${(+v).toFixed(2)} ${c || ''}`.trim());
const enc = encodeURIComponent;

// Why an order is where it is: its deciding checks with their messages.
function why(o) {
  if (!o.because?.length) return el('span', { class: 'muted' }, '—');
  return o.because.map((f) => el('div', {}, el('strong', {}, f.check), ': ', f.message));
}

function impactCell(o) {
  const parts = (o.impact_parts || []).map((p) => `${p.part}: ${(+p.points).toFixed(1)}`).join('\n');
  return el('td', { class: 'num impact' },
    el('span', { title: parts || 'no parts', tabindex: 0, 'aria-label': `impact ${(+o.impact).toFixed(1)}${parts ? `: ${parts.replace(/\n/g, ', ')}` : ''}` },
      (+o.impact).toFixed(1)));
}

function row(o) {
  const tr = el('tr', { class: 'intake-row', dataset: { orderId: o.order_id }, 'aria-selected': state.selected === o.order_id ? 'true' : null },
    el('td', {}, el('button', { class: 'btn small', type: 'button', onclick: () => select(o.order_id), 'aria-label': `Explain order ${o.order_id}` }, o.order_id),
      o.external_id && o.external_id !== o.order_id ? el('div', { class: 'mono muted' }, o.external_id) : null),
    el('td', {}, o.channel, el('div', { class: 'muted' }, o.account)),
    el('td', { class: 'num' }, money(o.value, o.currency)),
    el('td', {}, when(o.promised_at)),
    el('td', {}, el('span', { title: when(o.status_since) }, ago(o.status_since)), el('div', {}, statusPill(o.status))),
    impactCell(o),
    el('td', {}, why(o)));
  return tr;
}

async function load({ more = false } = {}) {
  const page = await api(`/v1/intake/queue${qs({
    status: state.status, channel: state.channel, account: state.account,
    after: more ? state.next : null, limit: 100,
  })}`);
  state.next = page.next;
  const rows = page.orders.map(row);
  if (more) state.tbody.append(...rows);
  else clear(state.tbody, rows.length ? rows : el('tr', {}, el('td', { colspan: 7, class: 'empty' }, 'Nothing waiting. The gates let every order through.')));
  state.pager?.update();
}

function findingsTable(d, caption) {
  return el('table', { class: 'data' },
    el('caption', { class: 'visually-hidden' }, caption),
    el('thead', {}, el('tr', {}, ['Check', 'Outcome', 'Layer', 'Line', 'Message'].map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, d.findings.map((f) => el('tr', { dataset: { check: f.check } },
      el('td', { class: 'mono' }, f.check),
      el('td', {}, outcomePill(f.outcome)),
      el('td', { 'data-field': 'layer' }, f.layer),
      el('td', { class: 'num' }, f.line === null || f.line === undefined ? '—' : f.line + 1),
      el('td', {}, f.message)))));
}

async function act(e, action) {
  const o = e.order;
  let body = { version: o.version };
  if (action === 'reject') {
    const v = await dialog(`Reject order ${o.order_id}`, [
      el('label', { for: 'reject-reason' }, 'Why'),
      el('textarea', { id: 'reject-reason', name: 'reason', rows: 3, required: true, maxlength: 4096 }),
      el('p', { class: 'muted' }, 'Kept in the audit trail with your name.'),
    ], 'Reject');
    if (!v || !v.reason.trim()) return;
    body.reason = v.reason.trim();
  } else {
    const v = await dialog(`Release order ${o.order_id}`, [
      el('p', {}, 'The order enters the flow as it is. Its holds count as false positives of the checks that made them.'),
      el('label', { for: 'release-note' }, 'Note (optional)'),
      el('input', { id: 'release-note', name: 'note' }),
    ], 'Release');
    if (!v) return;
    if (v.note?.trim()) body.note = v.note.trim();
  }
  try {
    const item = await api(`/v1/intake/queue/${enc(o.order_id)}/${action}`, { method: 'POST', body });
    toast(`Order ${item.order_id}: ${human(item.status)}`);
    await Promise.all([load(), select(o.order_id), loadGates()]);
  } catch (err) {
    if (err instanceof ApiError && err.status === 409) toast(`${err.message}. Reloaded the order.`);
    else toast(err instanceof ApiError && err.status === 403 ? 'Your role cannot release or reject orders.' : `Failed: ${err.message}`);
    select(o.order_id);
  }
}

async function select(id) {
  state.selected = id;
  for (const tr of state.tbody?.querySelectorAll('tr.intake-row') || []) {
    if (tr.dataset.orderId === id) tr.setAttribute('aria-selected', 'true');
    else tr.removeAttribute('aria-selected');
  }
  const panel = state.detail;
  if (!panel) return;
  clear(panel, el('p', { class: 'muted' }, 'Loading…'));
  let e;
  try {
    e = await api(`/v1/orders/${enc(id)}/intake`);
  } catch (err) {
    clear(panel, el('p', { role: 'alert' }, `Could not explain ${id}: ${err.message}`));
    return;
  }
  if (state.detail !== panel || state.selected !== id) return;
  const o = e.order;
  const ops = canOperate() && o.status === 'held';
  const shadow = e.shadow
    ? (e.shadow_differs
      ? [el('h3', {}, 'Shadow profile ', el('span', { class: 'mono' }, e.shadow.profile), ' would decide ', outcomePill(e.shadow.outcome)),
        findingsTable({ findings: e.shadow.findings.filter((f) => f.outcome !== 'pass') }, 'The shadow profile’s findings')]
      : el('p', { class: 'muted', 'data-field': 'shadow' }, `Shadow profile ${e.shadow.profile} agrees.`))
    : null;
  clear(panel,
    el('div', { class: 'page-head' }, el('h2', { id: 'explain-h' }, `Order ${o.order_id}`), statusPill(o.status),
      el('a', { href: `#/orders/${enc(o.order_id)}` }, 'Tracking →')),
    el('dl', { class: 'kv' },
      el('dt', {}, 'Channel / account'), el('dd', {}, `${o.channel} / ${o.account}`),
      el('dt', {}, 'External id'), el('dd', { class: 'mono' }, o.external_id),
      el('dt', {}, 'Version'), el('dd', {}, o.version),
      el('dt', {}, 'Priority'), el('dd', {}, human(o.priority)),
      el('dt', {}, 'Value'), el('dd', {}, money(o.value, o.currency)),
      el('dt', {}, 'Promise'), el('dd', {}, when(o.promised_at)),
      el('dt', {}, 'Waiting since'), el('dd', {}, when(o.status_since), ' (', ago(o.status_since), ')'),
      el('dt', {}, 'Impact'), el('dd', {}, (+o.impact).toFixed(1),
        el('ul', { class: 'muted' }, (o.impact_parts || []).map((p) => el('li', {}, `${p.part}: ${(+p.points).toFixed(1)}`))))),
    ops ? el('div', { class: 'alert-actions' },
      el('button', { class: 'btn primary', type: 'button', onclick: () => act(e, 'release') }, 'Release'),
      el('button', { class: 'btn', type: 'button', onclick: () => act(e, 'reject') }, 'Reject…')) : null,
    el('h3', {}, 'Decision: ', outcomePill(e.decision.outcome), ' by profile ', el('span', { class: 'mono' }, e.decision.profile)),
    findingsTable(e.decision, 'Every check’s verdict, with the layer it came from'),
    shadow,
    el('h3', {}, `Versions (${e.versions.length})`),
    el('table', { class: 'data' },
      el('thead', {}, el('tr', {}, ['Version', 'Status', 'Updated', 'Received'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, e.versions.map((v) => el('tr', {},
        el('td', { class: 'num' }, v.version), el('td', {}, statusPill(v.status)), el('td', {}, when(v.updated_at)), el('td', {}, when(v.received_at)))))),
    el('h3', {}, 'Audit'),
    e.audit.length ? el('table', { class: 'data' },
      el('thead', {}, el('tr', {}, ['At', 'Who', 'Action', 'Detail'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, e.audit.map((a) => el('tr', {},
        el('td', {}, when(a.at)), el('td', {}, a.actor), el('td', {}, human(a.action)), el('td', {}, a.detail)))))
      : el('p', { class: 'muted' }, 'Nothing yet.'));
}

// The profile in force's counts by check, channel, account and outcome, with the shadow's
// would-be count for the same key beside them (its layers may differ, so they are not keyed).
export function gateRows(report) {
  const key = (c) => `${c.check}\u0000${c.channel}\u0000${c.account}\u0000${c.outcome}`;
  const rows = new Map();
  const get = (c) => {
    const k = key(c);
    if (!rows.has(k)) rows.set(k, { check: c.check, channel: c.channel, account: c.account, outcome: c.outcome, layers: new Set(), count: 0, fp: 0, shadow: 0 });
    return rows.get(k);
  };
  for (const c of report.enforced) {
    const r = get(c);
    r.layers.add(c.layer);
    r.count += c.count;
    r.fp += c.false_positives;
  }
  for (const c of report.shadow) get(c).shadow += c.count;
  return [...rows.values()]
    .map((r) => ({ ...r, layers: [...r.layers].join(', '), rate: r.outcome === 'hold' && r.count > 0 ? r.fp / r.count : null }))
    .sort((a, b) => a.check.localeCompare(b.check) || a.channel.localeCompare(b.channel) || a.account.localeCompare(b.account) || a.outcome.localeCompare(b.outcome));
}

async function loadGates() {
  const node = state.gates;
  const report = await api('/v1/intake/gates');
  const rows = gateRows(report).filter((r) => r.outcome !== 'pass' || r.shadow > 0);
  clear(node, rows.length ? el('table', { class: 'data' },
    el('caption', { class: 'visually-hidden' }, 'Verdicts by check, channel and account, with the shadow profile’s'),
    el('thead', {}, el('tr', {}, ['Check', 'Channel', 'Account', 'Outcome', 'Layer', 'Count', 'False positives', 'FP rate', 'Shadow would']
      .map((h, i) => el('th', { scope: 'col', class: i >= 5 ? 'num' : null }, h)))),
    el('tbody', {}, rows.map((r) => el('tr', { dataset: { check: r.check, outcome: r.outcome } },
      el('td', { class: 'mono' }, r.check), el('td', {}, r.channel), el('td', {}, r.account),
      el('td', {}, outcomePill(r.outcome)), el('td', {}, r.layers || '—'),
      el('td', { class: 'num' }, fmt.format(r.count)),
      el('td', { class: 'num' }, r.outcome === 'hold' ? fmt.format(r.fp) : '—'),
      el('td', { class: 'num', 'data-field': 'fp-rate' }, pct(r.rate)),
      el('td', { class: 'num', 'data-field': 'shadow' }, report.shadow.length ? fmt.format(r.shadow) : '—')))))
    : el('p', { class: 'muted' }, 'No check has held, rejected or warned about an order yet.'));
}

async function revalidate() {
  const ok = await dialog('Re-validate every held order', [
    el('p', {}, 'Every held order is judged again with the profile now in force: those it passes enter the flow.'),
  ], 'Re-validate');
  if (!ok) return;
  try {
    const r = await api('/v1/intake/revalidate', { method: 'POST', body: {} });
    toast(`Re-validated ${r.examined}: ${r.accepted} accepted, ${r.backordered} backordered, ${r.rejected} rejected, ${r.still_held} still held`);
    await Promise.all([load(), loadGates()]);
  } catch (err) {
    toast(err instanceof ApiError && err.status === 403 ? 'Your role cannot re-validate.' : `Failed: ${err.message}`);
  }
}

export async function renderIntake(node) {
  const status = el('select', { id: 'i-status' },
    STATUSES.map((s) => el('option', { value: s, selected: state.status === s }, human(s))),
    el('option', { value: STATUSES.join(','), selected: state.status.includes(',') }, 'Any'));
  const channel = el('select', { id: 'i-channel' },
    el('option', { value: '' }, 'Any channel'),
    CHANNELS.map((c) => el('option', { value: c, selected: state.channel === c }, c)));
  const account = el('input', { id: 'i-account', value: state.account, placeholder: 'e.g. web' });
  state.tbody = el('tbody');
  state.detail = el('div', { 'aria-live': 'polite' }, el('p', { class: 'muted' }, 'Choose an order to see who decided what.'));
  state.gates = el('div', {}, el('p', { class: 'muted' }, 'Loading…'));
  const more = el('button', { class: 'btn', type: 'button', onclick: () => load({ more: true }) }, 'More →');
  state.pager = { update() { more.disabled = !state.next; } };
  clear(node,
    el('div', { class: 'page-head' }, el('h1', {}, 'Intake'), el('span', { class: 'muted' }, 'Orders the gates held, highest impact first.'),
      canOperate() ? el('button', { class: 'btn', type: 'button', onclick: revalidate }, 'Re-validate all')
        : el('span', { class: 'pill g-pre' }, 'Viewer: read only')),
    el('div', { class: 'card' },
      el('form', { class: 'toolbar', onsubmit: (e) => {
        e.preventDefault();
        state.status = status.value; state.channel = channel.value; state.account = account.value.trim();
        load();
      } },
        el('div', { class: 'field' }, el('label', { for: 'i-status' }, 'Status'), status),
        el('div', { class: 'field' }, el('label', { for: 'i-channel' }, 'Channel'), channel),
        el('div', { class: 'field' }, el('label', { for: 'i-account' }, 'Account'), account),
        el('button', { class: 'btn primary', type: 'submit' }, 'Apply'))),
    el('div', { class: 'grid2' },
      el('section', { class: 'card', 'aria-labelledby': 'queue-h' },
        el('h2', { id: 'queue-h' }, 'Queue'),
        el('table', { class: 'data' },
          el('caption', { class: 'visually-hidden' }, 'Orders by impact'),
          el('thead', {}, el('tr', {}, ['Order', 'Channel / account', 'Value', 'Promise', 'Waiting since', 'Impact', 'Why'].map((h) => el('th', { scope: 'col', class: h === 'Impact' || h === 'Value' ? 'num' : null }, h)))),
          state.tbody),
        el('nav', { class: 'pager', 'aria-label': 'Pages' }, more)),
      el('section', { class: 'card', 'aria-labelledby': 'explain-h' }, state.detail)),
    el('section', { class: 'card', 'aria-labelledby': 'gates-h' },
      el('h2', { id: 'gates-h' }, 'Gates'),
      el('p', { class: 'muted' }, 'What each check decided, by channel and account; a false positive is a hold a person released unchanged. The shadow profile’s would-be counts are beside.'),
      state.gates));
  const tbody = state.tbody;
  await Promise.all([load(), loadGates().catch((e) => clear(state.gates, el('p', { role: 'alert' }, `Unavailable (${e.message}).`)))]);
  if (state.selected) select(state.selected);
  return () => { if (state.tbody === tbody) { state.tbody = null; state.detail = null; } };
}
