// Small helpers shared by the views: DOM building without innerHTML (every text goes in as a
// text node, so data from carriers cannot inject markup), status groups and colours, formats.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (v === true) node.setAttribute(k, '');
    else node.setAttribute(k, String(v));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(node, c);
    else node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

// Status groups: the map's six colours. Each meets 3:1 against the sea and land colours and
// carries a white ring so it stands out on the other marks too.
export const GROUPS = [
  { key: 'pre', label: 'Preparing', color: '#5b6b85' },
  { key: 'move', label: 'In transit', color: '#1d63c9' },
  { key: 'last', label: 'Last mile', color: '#0a7f56' },
  { key: 'late', label: 'Delayed / attempt failed', color: '#b86e00' },
  { key: 'bad', label: 'Exception / lost', color: '#c62828' },
  { key: 'back', label: 'Returning / on hold', color: '#7b3fb5' },
];
const GROUP_OF = {
  pending: 'pre', allocated: 'pre', picked: 'pre', packed: 'pre', label_created: 'pre', backordered: 'pre',
  shipped: 'move', in_transit: 'move', partially_shipped: 'move',
  out_for_delivery: 'last', available_for_pickup: 'last', partially_delivered: 'last',
  delayed: 'late', attempt_failed: 'late',
  exception: 'bad', lost: 'bad', unknown: 'bad',
  returning: 'back', on_hold: 'back',
  delivered: 'done', returned: 'done', cancelled: 'done',
};
export const groupOf = (status) => GROUP_OF[status] || 'pre';
export const GROUP_INDEX = Object.fromEntries(GROUPS.map((g, i) => [g.key, i]));
// Closed orders are off the live map but on an order's small map: app.css's 'done' grey.
export const colorOf = (status) => (groupOf(status) === 'done' ? '#6b7a70' : GROUPS[GROUP_INDEX[groupOf(status)]].color);
export const TERMINAL = new Set(['delivered', 'returned', 'cancelled', 'lost']);

export const human = (s) => (s === null || s === undefined ? '—' : String(s).replace(/_/g, ' '));

export function pill(status, extra = '') {
  return el('span', { class: `pill g-${groupOf(status)} ${extra}`.trim() }, human(status));
}

const dtf = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : dtf.format(d);
}

const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
export function ago(iso) {
  if (!iso) return '—';
  const s = (new Date(iso).getTime() - Date.now()) / 1000;
  if (Number.isNaN(s)) return String(iso);
  const abs = Math.abs(s);
  if (abs < 60) return rtf.format(Math.round(s), 'second');
  if (abs < 3600) return rtf.format(Math.round(s / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(s / 3600), 'hour');
  return rtf.format(Math.round(s / 86400), 'day');
}

export function place(loc) {
  if (!loc) return '—';
  const parts = [loc.city, loc.region, loc.postal_code, loc.country].filter((x) => x);
  return parts.length ? parts.join(', ') : (loc.lat != null ? `${(+loc.lat).toFixed(3)}, ${(+loc.lon).toFixed(3)}` : '—');
}

export const fmt = new Intl.NumberFormat();
export const pct = (x) => (x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)}%`);
export const hours = (h) => (h === null || h === undefined ? '—' : h >= 48 ? `${(h / 24).toFixed(1)} d` : `${(+h).toFixed(1)} h`);

let toastTimer;
export function toast(text) {
  const t = document.getElementById('toast');
  t.textContent = text;
  t.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => t.classList.remove('show'), 3500);
}
