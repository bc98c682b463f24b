// Orders: a paginated, filterable list (GET /v1/orders) and one order's detail with its
// shipments, timeline (canonical status and the vendor's raw code, both timestamps), a small
// map of its points, its notifications and the customer's tracking page link.

import { api, qs, ApiError } from './api.js';
import { el, clear, pill, human, when, place, colorOf, groupOf, toast } from './util.js';
import { addBasemap } from './basemap.js';

const STATUSES = ['pending', 'allocated', 'picked', 'packed', 'label_created', 'shipped', 'in_transit',
  'out_for_delivery', 'available_for_pickup', 'delivered', 'delayed', 'attempt_failed', 'exception',
  'on_hold', 'backordered', 'returning', 'returned', 'cancelled', 'lost', 'unknown',
  'partially_shipped', 'partially_delivered'];

const list = { status: '', carrier: '', cursors: [null], page: 0 };

export async function renderOrders(node) {
  const status = el('select', { id: 'f-status', name: 'status' },
    el('option', { value: '' }, 'Any status'),
    STATUSES.map((s) => el('option', { value: s, selected: list.status === s }, human(s))));
  const carrier = el('input', { id: 'f-carrier', name: 'carrier', value: list.carrier, placeholder: 'e.g. ups' });
  const body = el('div');
  const form = el('form', { class: 'toolbar', onsubmit: (e) => {
    e.preventDefault();
    list.status = status.value; list.carrier = carrier.value.trim(); list.cursors = [null]; list.page = 0;
    load();
  } },
  el('div', { class: 'field' }, el('label', { for: 'f-status' }, 'Status'), status),
  el('div', { class: 'field' }, el('label', { for: 'f-carrier' }, 'Carrier'), carrier),
  el('button', { class: 'btn primary', type: 'submit' }, 'Apply'));
  clear(node,
    el('div', { class: 'page-head' }, el('h1', {}, 'Orders'), el('span', { class: 'muted' }, 'Oldest change first; open an order for its timeline.')),
    el('div', { class: 'card' }, form, body));

  async function load() {
    const cursor = list.cursors[list.page];
    const page = await api(`/v1/orders${qs({ status: list.status, carrier: list.carrier, cursor, limit: 50 })}`);
    if (page.next_cursor && list.cursors.length === list.page + 1) list.cursors.push(page.next_cursor);
    clear(body,
      page.orders.length ? el('table', { class: 'data' },
        el('caption', { class: 'visually-hidden' }, 'Orders'),
        el('thead', {}, el('tr', {}, ['Order', 'Status', 'Carrier', 'Shipments', 'Location', 'Promised', 'Updated'].map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, page.orders.map((o) => el('tr', {},
          el('td', {}, el('a', { href: `#/orders/${encodeURIComponent(o.order_id)}` }, o.order_id)),
          el('td', {}, pill(o.status)),
          el('td', {}, [...new Set(o.shipments.map((s) => s.carrier).filter(Boolean))].join(', ') || '—'),
          el('td', { class: 'num' }, o.shipments.length),
          el('td', {}, place(o.location)),
          el('td', {}, when(o.promised_at)),
          el('td', {}, when(o.updated_at)))))) : el('p', { class: 'empty' }, 'No orders match.'),
      el('nav', { class: 'pager', 'aria-label': 'Pages' },
        el('button', { class: 'btn', type: 'button', disabled: list.page === 0, onclick: () => { list.page--; load(); } }, '← Previous'),
        el('span', { class: 'muted' }, `Page ${list.page + 1}`),
        el('button', { class: 'btn', type: 'button', disabled: !page.next_cursor, onclick: () => { list.page++; load(); } }, 'Next →')));
  }
  await load();
}

function timelineEntry(t) {
  const dot = el('span', { class: 'tl-dot', dataset: { color: groupOf(t.status) } });
  return el('li', {},
    dot,
    el('div', {},
      el('div', {}, pill(t.status), ' ',
        t.reason ? el('span', { class: 'muted' }, human(t.reason)) : null, ' ',
        t.raw_code ? el('span', { class: 'mono', title: 'Vendor code' }, `raw: ${t.raw_code}`) : null,
        t.raw_description ? el('span', { class: 'muted' }, ` — ${t.raw_description}`) : null),
      el('div', { class: 'meta' },
        `Occurred ${when(t.occurred_at)} · received ${when(t.received_at)} · ${place(t.location)}`),
      el('div', { class: 'meta' }, `${t.source} · ${t.event_id}${t.tracking_number ? ` · ${t.tracking_number}` : ''}`)));
}

async function miniMap(node, order, timeline) {
  const pts = [];
  for (const t of [...timeline].reverse()) {
    if (t.location?.lat != null && t.location?.lon != null) pts.push([t.location.lat, t.location.lon, t.status]);
  }
  const dests = order.shipments.map((s) => s.destination).filter((d) => d?.lat != null);
  if (!pts.length && !dests.length) {
    clear(node, el('p', { class: 'empty' }, 'No located events yet.'));
    node.classList.remove('mini-map');
    return;
  }
  const m = L.map(node, { attributionControl: false, preferCanvas: true, zoomControl: true, scrollWheelZoom: false });
  // The view first: Leaflet's canvas renderer needs one before any layer is added.
  const all = [...pts.map((p) => [p[0], p[1]]), ...dests.map((d) => [d.lat, d.lon])];
  if (all.length === 1) m.setView(all[0], 6);
  else m.fitBounds(all, { padding: [25, 25], maxZoom: 8 });
  const renderer = await addBasemap(m);
  const line = pts.map((p) => [p[0], p[1]]);
  if (line.length > 1) L.polyline(line, { renderer, color: '#17202b', weight: 2, dashArray: '5 5', interactive: false }).addTo(m);
  pts.forEach((p, i) => L.circleMarker([p[0], p[1]], {
    renderer, radius: i === 0 ? 8 : 5, color: '#fff', weight: 1.5, fillColor: colorOf(p[2]), fillOpacity: 1,
  }).bindTooltip(human(p[2])).addTo(m));
  for (const d of dests) {
    L.circleMarker([d.lat, d.lon], { renderer, radius: 7, color: '#17202b', weight: 2.5, fillColor: '#fff', fillOpacity: 1 })
      .bindTooltip(`Destination: ${place(d)}`).addTo(m);
  }
  return () => m.remove();
}

export async function renderOrder(node, id) {
  let o;
  try {
    o = await api(`/v1/orders/${encodeURIComponent(id)}`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      clear(node, el('div', { class: 'card' }, el('h1', {}, 'Order not found'), el('p', {}, `There is no order “${id}”.`), el('a', { href: '#/orders' }, '← All orders')));
      return null;
    }
    throw e;
  }
  const linkSlot = el('dd', {}, '…');
  const notesSlot = el('div', {}, el('p', { class: 'muted' }, 'Loading…'));
  const mapNode = el('div', { class: 'mini-map', role: 'region', 'aria-label': 'Map of this order’s located events and destination; the timeline lists the same places' });
  const timeline = [...o.timeline].reverse();
  clear(node,
    el('p', {}, el('a', { href: '#/orders' }, '← Orders'), ' · ', el('a', { href: '#/map' }, 'Map')),
    el('div', { class: 'page-head' }, el('h1', {}, `Order ${o.order_id}`), pill(o.status), o.regression ? el('span', { class: 'pill g-late' }, 'regression') : null),
    el('div', { class: 'grid2' },
      el('div', {},
        el('section', { class: 'card', 'aria-labelledby': 'sum-h' },
          el('h2', { id: 'sum-h' }, 'Summary'),
          el('dl', { class: 'kv' },
            el('dt', {}, 'Status'), el('dd', { 'data-field': 'status' }, human(o.status), o.reason ? ` (${human(o.reason)})` : ''),
            el('dt', {}, 'Status since'), el('dd', {}, when(o.status_at)),
            el('dt', {}, 'Promised'), el('dd', {}, when(o.promised_at)),
            el('dt', {}, 'Last location'), el('dd', {}, place(o.location)),
            el('dt', {}, 'Updated'), el('dd', {}, when(o.updated_at)),
            el('dt', {}, 'Customer page'), linkSlot)),
        el('section', { class: 'card', 'aria-labelledby': 'ship-h' },
          el('h2', { id: 'ship-h' }, `Shipments (${o.shipments.length})`),
          o.shipments.length ? el('table', { class: 'data' },
            el('thead', {}, el('tr', {}, ['Tracking', 'Carrier', 'Status', 'Location', 'Destination', 'Promised'].map((h) => el('th', { scope: 'col' }, h)))),
            el('tbody', {}, o.shipments.map((s) => el('tr', {},
              el('td', { class: 'mono' }, s.tracking_number),
              el('td', {}, [s.carrier, s.service].filter(Boolean).join(' ') || '—'),
              el('td', {}, pill(s.status)),
              el('td', {}, place(s.location)),
              el('td', {}, place(s.destination)),
              el('td', {}, when(s.promised_at)))))) : el('p', { class: 'muted' }, 'No shipment yet.')),
        el('section', { class: 'card', 'aria-labelledby': 'tl-h' },
          el('h2', { id: 'tl-h' }, `Timeline (${timeline.length} events, newest first)`),
          el('ol', { class: 'timeline', 'data-field': 'timeline' }, timeline.map(timelineEntry)))),
      el('div', {},
        el('section', { class: 'card', 'aria-labelledby': 'map-h' }, el('h2', { id: 'map-h' }, 'Where it has been'), mapNode),
        el('section', { class: 'card', 'aria-labelledby': 'notes-h' }, el('h2', { id: 'notes-h' }, 'Notifications'), notesSlot))));
  document.title = `Order ${o.order_id} · Waypost`;

  api(`/v1/orders/${encodeURIComponent(id)}/tracking-link`).then((l) => {
    clear(linkSlot, el('a', { href: l.path, 'data-field': 'customer-link', target: '_blank', rel: 'noopener noreferrer' }, 'Open the customer’s tracking page ↗'));
  }).catch(() => clear(linkSlot, '—'));
  api(`/v1/orders/${encodeURIComponent(id)}/notifications`).then((n) => {
    const items = n.notifications || [];
    clear(notesSlot, items.length ? el('table', { class: 'data' },
      el('thead', {}, el('tr', {}, ['Trigger', 'Kind', 'State', 'Attempts', 'Created'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, items.map((x) => el('tr', {},
        el('td', {}, human(x.trigger)), el('td', {}, x.kind), el('td', {}, human(x.state)),
        el('td', { class: 'num' }, x.attempts), el('td', {}, when(x.created_at)))))) : el('p', { class: 'muted' }, 'No notifications sent for this order.'));
  }).catch((e) => clear(notesSlot, el('p', { class: 'muted' }, `Unavailable (${e.message}).`)));
  let cleanup = null;
  try {
    cleanup = await miniMap(mapNode, o, o.timeline);
  } catch (e) {
    toast(`Map unavailable: ${e.message}`);
  }
  return cleanup;
}
