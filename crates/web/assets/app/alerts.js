// The exception queue: open alerts, most important first (GET /v1/alerts, sort=impact), with
// acknowledge, assign, snooze and resolve for operators. Viewers see the queue read-only.

import { api, qs, ApiError } from './api.js';
import { el, clear, human, when, ago, toast } from './util.js';
import { onLive } from './live.js';
import { session, canOperate } from './main.js';

const state = { status: '', severity: '', rows: new Map(), tbody: null, offset: 0, next: null };
let reloadTimer = null;

export async function refreshAlertBadge() {
  try {
    const page = await api(`/v1/alerts${qs({ status: 'open', limit: 1000 })}`);
    const n = page.alerts.length;
    const badge = document.getElementById('alert-badge');
    badge.hidden = n === 0;
    badge.textContent = page.next_offset ? `${n}+` : String(n);
    badge.setAttribute('aria-label', `${badge.textContent} open`);
  } catch { /* the badge is a hint; the view shows errors */ }
}

// Live alerts come in bursts when a rule fires on many orders: one count a second at most.
let badgeTimer = null;
export function refreshAlertBadgeSoon() {
  if (badgeTimer) return;
  badgeTimer = setTimeout(() => { badgeTimer = null; refreshAlertBadge(); }, 1000);
}

onLive('alert', (a) => {
  if (!state.tbody || !state.tbody.isConnected) return;
  const row = state.rows.get(String(a.id));
  if (row) row.replaceWith(alertRow(a));
  else if (!reloadTimer) reloadTimer = setTimeout(() => { reloadTimer = null; load(); }, 800);
});

onLive('reopen', () => {
  if (state.tbody?.isConnected && !reloadTimer) reloadTimer = setTimeout(() => { reloadTimer = null; load(); }, 800);
});

function sevPill(sev) { return el('span', { class: `pill sev-${sev}` }, sev); }

// A modal form: resolves with its fields, or null when cancelled (the intake view uses it too).
export function dialog(title, fields, submitLabel) {
  return new Promise((resolve) => {
    const form = el('form', { method: 'dialog' },
      el('h2', {}, title),
      fields,
      el('div', { class: 'buttons' },
        el('button', { class: 'btn', type: 'button', value: 'cancel', onclick: () => { d.close(); } }, 'Cancel'),
        el('button', { class: 'btn primary', type: 'submit', value: 'ok' }, submitLabel)));
    const d = el('dialog', { 'aria-label': title }, form);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      resolve(Object.fromEntries(new FormData(form)));
      d.close();
    });
    d.addEventListener('close', () => { d.remove(); resolve(null); });
    document.body.append(d);
    d.showModal();
  });
}

async function act(alert, action) {
  const id = alert.id;
  let body = {};
  if (action === 'assign') {
    const me = session.user?.email || '';
    const v = await dialog(`Assign alert ${id}`, [
      el('label', { for: 'assign-to' }, 'Assign to'),
      el('input', { id: 'assign-to', name: 'to', value: alert.assignee || me, required: true }),
      el('p', { class: 'muted' }, 'A person or a team. Leave your own email to take it.'),
    ], 'Assign');
    if (!v) return;
    body = { to: v.to.trim() || me };
  } else if (action === 'snooze') {
    const v = await dialog(`Snooze alert ${id}`, [
      el('label', { for: 'snooze-for' }, 'Snooze for'),
      el('select', { id: 'snooze-for', name: 'for' }, ['30m', '1h', '4h', '1d', '3d'].map((x) => el('option', { value: x, selected: x === '4h' }, x))),
    ], 'Snooze');
    if (!v) return;
    body = { for: v.for };
  } else if (action === 'resolve') {
    const v = await dialog(`Resolve alert ${id}`, [
      el('label', { for: 'resolve-note' }, 'What was done'),
      el('textarea', { id: 'resolve-note', name: 'note', rows: 3, required: true }),
    ], 'Resolve');
    if (!v || !v.note.trim()) return;
    body = { note: v.note.trim() };
  }
  try {
    const updated = await api(`/v1/alerts/${id}/${action}`, { method: 'POST', body });
    const row = state.rows.get(String(id));
    const fresh = alertRow(updated);
    row?.replaceWith(fresh);
    fresh.querySelector(`button[data-action="${action}"]`)?.focus();
    toast(`Alert ${id}: ${human(updated.status)}`);
    refreshAlertBadge();
  } catch (e) {
    toast(e instanceof ApiError && e.status === 403 ? 'Your role cannot change alerts.' : `Failed: ${e.message}`);
  }
}

function alertRow(a) {
  const ops = canOperate();
  const closed = a.status === 'resolved';
  const button = (action, label) => el('button', {
    class: 'btn small', type: 'button', dataset: { action },
    disabled: closed || (action === 'ack' && a.status !== 'open'),
    onclick: () => act(a, action),
    'aria-label': `${label} alert ${a.id}`,
  }, label);
  const tr = el('tr', { class: 'alert-row', dataset: { alertId: String(a.id) } },
    el('td', { class: 'num impact' }, a.impact == null ? '—' : (+a.impact).toFixed(1)),
    el('td', {}, sevPill(a.severity)),
    el('td', {}, el('strong', {}, a.summary || a.rule), el('div', { class: 'muted' }, `${a.rule} · ${a.kind}${a.triggers > 1 ? ` · fired ${a.triggers}×` : ''}`)),
    el('td', {}, el('a', { href: `#/orders/${encodeURIComponent(a.order_id)}` }, a.order_id), a.tracking_number ? el('div', { class: 'mono muted' }, a.tracking_number) : null),
    el('td', {}, a.carrier || '—'),
    el('td', {}, el('span', { title: when(a.opened_at) }, ago(a.opened_at))),
    el('td', {}, el('span', { 'data-field': 'status' }, human(a.status)),
      a.snoozed_until ? el('div', { class: 'muted' }, `until ${when(a.snoozed_until)}`) : null),
    el('td', { 'data-field': 'assignee' }, a.assignee || '—'),
    el('td', {}, ops ? el('div', { class: 'alert-actions' },
      button('ack', 'Acknowledge'), button('assign', 'Assign'), button('snooze', 'Snooze'), button('resolve', 'Resolve'))
      : el('span', { class: 'muted' }, 'Read only')));
  state.rows.set(String(a.id), tr);
  return tr;
}

async function load() {
  const page = await api(`/v1/alerts${qs({ status: state.status, severity: state.severity, sort: 'impact', limit: 100, offset: state.offset })}`);
  state.rows.clear();
  state.next = page.next_offset;
  clear(state.tbody, page.alerts.length ? page.alerts.map(alertRow)
    : el('tr', {}, el('td', { colspan: 9, class: 'empty' }, 'No alerts. All quiet.')));
  state.pager?.update();
}

export async function renderAlerts(node) {
  const status = el('select', { id: 'a-status' },
    el('option', { value: '' }, 'Needs review'),
    ['open', 'acknowledged', 'snoozed', 'resolved', 'all'].map((s) => el('option', { value: s, selected: state.status === s }, human(s))));
  const severity = el('select', { id: 'a-sev' },
    el('option', { value: '' }, 'Any severity'),
    ['critical', 'high', 'medium', 'low', 'info'].map((s) => el('option', { value: s, selected: state.severity === s }, s)));
  state.tbody = el('tbody');
  const prev = el('button', { class: 'btn', type: 'button', onclick: () => { state.offset = Math.max(0, state.offset - 100); load(); } }, '← Previous');
  const next = el('button', { class: 'btn', type: 'button', onclick: () => { if (state.next) { state.offset = state.next; load(); } } }, 'Next →');
  state.pager = { update() { prev.disabled = state.offset === 0; next.disabled = !state.next; } };
  clear(node,
    el('div', { class: 'page-head' }, el('h1', {}, 'Alerts'), el('span', { class: 'muted' }, 'Most important first (severity, order value, age).'),
      canOperate() ? null : el('span', { class: 'pill g-pre' }, 'Viewer: read only')),
    el('div', { class: 'card' },
      el('form', { class: 'toolbar', onsubmit: (e) => { e.preventDefault(); state.status = status.value; state.severity = severity.value; state.offset = 0; load(); } },
        el('div', { class: 'field' }, el('label', { for: 'a-status' }, 'Status'), status),
        el('div', { class: 'field' }, el('label', { for: 'a-sev' }, 'Severity'), severity),
        el('button', { class: 'btn primary', type: 'submit' }, 'Apply')),
      el('table', { class: 'data' },
        el('caption', { class: 'visually-hidden' }, 'Alerts sorted by impact'),
        el('thead', {}, el('tr', {}, ['Impact', 'Severity', 'Alert', 'Order', 'Carrier', 'Opened', 'Status', 'Assignee', 'Actions'].map((h, i) => el('th', { scope: 'col', class: i === 0 ? 'num' : null }, h)))),
        state.tbody),
      el('nav', { class: 'pager', 'aria-label': 'Pages' }, prev, next)));
  const tbody = state.tbody;
  await load();
  // A later visit may own state.tbody by now; only this visit's is let go.
  return () => { if (state.tbody === tbody) state.tbody = null; };
}
