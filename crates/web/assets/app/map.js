// The live map: every active order at its last known position, clustered with supercluster
// and drawn on one canvas (no DOM node per order, so 10,000 orders stay smooth), coloured by
// status group; warehouses as squares; the selected order's line to its destination.

import { api, qs } from './api.js';
import { el, clear, GROUPS, GROUP_INDEX, groupOf, TERMINAL, colorOf } from './util.js';
import { addBasemap } from './basemap.js';

const points = new Map(); // order_id -> point from /v1/map/orders
let warehouses = [];
let filter = {};
let index = null;
let drawnCount = 0;
let selected = null;
let map = null;
let layer = null;
let reindexTimer = null;
let lastIndex = 0;
let buildMs = 0;
const listeners = { select: [] };

export const onSelect = (fn) => listeners.select.push(fn);

// The board's carrier keys are lower-cased by the store (orders.carriers); a point carries
// the carrier as the source sent it ("FedEx").
function matches(p) {
  return (!filter.status || p.status === filter.status)
    && (!filter.carrier || p.carrier?.toLowerCase() === filter.carrier)
    && (!filter.warehouse || p.warehouse === filter.warehouse);
}

function rebuild() {
  lastIndex = performance.now();
  const features = [];
  for (const p of points.values()) {
    if (p.lat == null || p.lon == null || !matches(p)) continue;
    features.push({
      type: 'Feature',
      properties: { id: p.order_id, g: GROUP_INDEX[groupOf(p.status)] ?? 0 },
      geometry: { type: 'Point', coordinates: [p.lon, p.lat] },
    });
  }
  index = new Supercluster({
    // Leaflet's tiles are 256 px: with that extent the radius is in screen pixels.
    extent: 256,
    radius: 44,
    maxZoom: 14,
    map: (props) => {
      const c = [0, 0, 0, 0, 0, 0];
      c[props.g] = 1;
      return { c };
    },
    reduce: (acc, props) => { for (let i = 0; i < 6; i++) acc.c[i] += props.c[i]; },
  }).load(features);
  drawnCount = features.length;
  buildMs = performance.now() - lastIndex;
  performance.mark('waypost:indexed');
  layer?.redraw();
}

// Live updates arrive in bursts: re-index at most every ~300 ms, and on a slow machine (a
// rebuild of 10,000 points taking 100 ms or more) no more than a quarter of the time.
function scheduleRebuild() {
  if (reindexTimer) return;
  const gap = Math.max(300, buildMs * 3);
  const wait = Math.max(0, gap - (performance.now() - lastIndex));
  reindexTimer = setTimeout(() => { reindexTimer = null; rebuild(); }, wait);
}

const PointsLayer = L.Layer.extend({
  onAdd(m) {
    this._canvas = L.DomUtil.create('canvas', 'wp-points');
    m.getPanes().overlayPane.appendChild(this._canvas);
    m.on('moveend resize', this.redraw, this);
    m.on('zoomstart', this._hide, this);
    this.hits = [];
    this.redraw();
  },
  onRemove(m) {
    this._canvas.remove();
    m.off('moveend resize', this.redraw, this);
    m.off('zoomstart', this._hide, this);
  },
  _hide() { this._canvas.style.visibility = 'hidden'; },
  redraw() {
    if (!this._map || !index) return;
    const m = this._map;
    const size = m.getSize();
    const dpr = window.devicePixelRatio || 1;
    const c = this._canvas;
    L.DomUtil.setPosition(c, m.containerPointToLayerPoint([0, 0]));
    if (c.width !== size.x * dpr || c.height !== size.y * dpr) {
      c.width = size.x * dpr;
      c.height = size.y * dpr;
      c.style.width = `${size.x}px`;
      c.style.height = `${size.y}px`;
    }
    c.style.visibility = '';
    const ctx = c.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, size.x, size.y);
    const b = m.getBounds();
    const bbox = [Math.max(-180, b.getWest()), Math.max(-85, b.getSouth()), Math.min(180, b.getEast()), Math.min(85, b.getNorth())];
    const zoom = Math.round(m.getZoom());
    const items = index.getClusters(bbox, zoom);
    const hits = [];
    const singles = GROUPS.map(() => []);
    const clusters = [];
    for (const f of items) {
      const [lon, lat] = f.geometry.coordinates;
      const pt = m.latLngToContainerPoint([lat, lon]);
      if (f.properties.cluster) clusters.push([pt, f]);
      else singles[f.properties.g].push(pt), hits.push({ x: pt.x, y: pt.y, r: 7, f });
    }
    // Singles batched by colour: one path per group.
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = '#ffffff';
    singles.forEach((pts, g) => {
      if (!pts.length) return;
      ctx.beginPath();
      for (const p of pts) { ctx.moveTo(p.x + 5, p.y); ctx.arc(p.x, p.y, 5, 0, Math.PI * 2); }
      ctx.fillStyle = GROUPS[g].color;
      ctx.fill();
      ctx.stroke();
    });
    // Warehouses above single orders, under clusters (whose counts must stay readable).
    drawWarehouses(ctx, m, hits);
    for (const [pt, f] of clusters) {
      const r = drawCluster(ctx, pt, f.properties);
      hits.push({ x: pt.x, y: pt.y, r, f });
    }
    drawSelection(ctx, m);
    this.hits = hits;
  },
  hitAt(x, y) {
    let best = null;
    let bestD = Infinity;
    for (const h of this.hits) {
      const d = Math.hypot(h.x - x, h.y - y);
      if (d <= h.r + 3 && d < bestD) { best = h; bestD = d; }
    }
    return best;
  },
});

function drawCluster(ctx, pt, props) {
  const n = props.point_count;
  const r = Math.min(30, 13 + Math.log10(n) * 6);
  const counts = props.c;
  let start = -Math.PI / 2;
  // A ring split by status group, the count in the middle.
  ctx.lineWidth = 6;
  for (let i = 0; i < counts.length; i++) {
    if (!counts[i]) continue;
    const end = start + (counts[i] / n) * Math.PI * 2;
    ctx.beginPath();
    ctx.arc(pt.x, pt.y, r - 3, start, end);
    ctx.strokeStyle = GROUPS[i].color;
    ctx.stroke();
    start = end;
  }
  ctx.beginPath();
  ctx.arc(pt.x, pt.y, r - 6, 0, Math.PI * 2);
  ctx.fillStyle = '#ffffff';
  ctx.fill();
  ctx.beginPath();
  ctx.arc(pt.x, pt.y, r, 0, Math.PI * 2);
  ctx.lineWidth = 1;
  ctx.strokeStyle = 'rgba(23,32,43,.35)';
  ctx.stroke();
  ctx.fillStyle = '#17202b';
  ctx.font = `600 ${n >= 1000 ? 11 : 12}px system-ui, sans-serif`;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText(n >= 10000 ? `${Math.round(n / 1000)}k` : String(n), pt.x, pt.y + 0.5);
  return r;
}

function drawWarehouses(ctx, m, hits) {
  for (const w of warehouses) {
    if (w.lat == null || w.lon == null) continue;
    const p = m.latLngToContainerPoint([w.lat, w.lon]);
    ctx.fillStyle = '#17202b';
    ctx.strokeStyle = '#ffffff';
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.rect(p.x - 6, p.y - 6, 12, 12);
    ctx.fill();
    ctx.stroke();
    hits.push({ x: p.x, y: p.y, r: 8, warehouse: w });
  }
}

function drawSelection(ctx, m) {
  const p = selected && points.get(selected);
  if (!p || p.lat == null) return;
  const a = m.latLngToContainerPoint([p.lat, p.lon]);
  if (p.dest_lat != null && p.dest_lon != null) {
    const d = m.latLngToContainerPoint([p.dest_lat, p.dest_lon]);
    ctx.setLineDash([6, 5]);
    ctx.lineWidth = 2;
    ctx.strokeStyle = '#17202b';
    ctx.beginPath();
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(d.x, d.y);
    ctx.stroke();
    ctx.setLineDash([]);
    // The destination: a flag-like diamond.
    ctx.beginPath();
    ctx.moveTo(d.x, d.y - 8); ctx.lineTo(d.x + 7, d.y); ctx.lineTo(d.x, d.y + 8); ctx.lineTo(d.x - 7, d.y); ctx.closePath();
    ctx.fillStyle = '#ffffff';
    ctx.fill();
    ctx.lineWidth = 2.5;
    ctx.stroke();
  }
  ctx.beginPath();
  ctx.arc(a.x, a.y, 9, 0, Math.PI * 2);
  ctx.fillStyle = colorOf(p.status);
  ctx.fill();
  ctx.lineWidth = 3;
  ctx.strokeStyle = '#17202b';
  ctx.stroke();
}

function legend(node) {
  clear(node,
    el('h2', { class: 'visually-hidden' }, 'Legend'),
    el('ul', {},
      GROUPS.map((g) => el('li', {}, el('span', { class: 'swatch', dataset: { color: g.key } }), g.label)),
      el('li', {}, el('span', { class: 'swatch square', dataset: { color: 'warehouse' } }), 'Warehouse'),
      el('li', {}, el('span', { class: 'swatch', dataset: { color: 'cluster' } }), 'Cluster (ring: status mix)')),
    el('div', { class: 'attribution' }, 'Basemap: Natural Earth, US Census (public domain)'));
}

// The first page is requested by main.js before the session check answers (it is the
// largest request of the page); a 401 there falls back to the login like any other.
let firstPage = null;
export function prefetchOrders() {
  firstPage = api(`/v1/map/orders${qs({ limit: 10000 })}`, { quiet401: true });
  firstPage.catch(() => {});
}

// Changes that arrive while the pages load, applied again once they replace the points.
let pending = null;

async function loadOrders() {
  const fresh = new Map();
  pending = [];
  let cursor = null;
  let first = firstPage;
  firstPage = null;
  try {
    do {
      const page = first ? await first.catch(() => api(`/v1/map/orders${qs({ limit: 10000 })}`)) : await api(`/v1/map/orders${qs({ cursor, limit: 10000 })}`);
      first = null;
      for (const p of page.points) fresh.set(p.order_id, p);
      cursor = page.next_cursor;
    } while (cursor);
    points.clear();
    for (const [id, p] of fresh) points.set(id, p);
    const late = pending;
    pending = null;
    for (const c of late) applyChange(c);
  } finally {
    pending = null;
  }
}

/** Reloads every point (a new stream after a drop cannot resume, so changes may be missed). */
export async function reload() {
  if (!index) return;
  try {
    await loadOrders();
    rebuild();
    if (selected) select(selected);
  } catch { /* the points shown stay; the next change moves them again */ }
}

async function loadWarehouses() {
  try {
    warehouses = (await api('/v1/map/warehouses')).warehouses || [];
  } catch {
    warehouses = [];
  }
}

export async function initMap(container, { legendNode, loadingNode }) {
  map = L.map(container, {
    zoomControl: true,
    attributionControl: false,
    minZoom: 2,
    maxZoom: 16,
    worldCopyJump: false,
    maxBounds: [[-85, -200], [85, 200]],
    maxBoundsViscosity: 0.8,
    preferCanvas: true,
  }).setView([38, -40], 3);
  legend(legendNode);
  window.waypost.map = map;
  layer = new PointsLayer();
  const basemap = addBasemap(map, { fast: true });
  await Promise.all([basemap, loadOrders().then(() => performance.mark('waypost:orders-loaded')), loadWarehouses()]);
  layer.addTo(map);
  rebuild();
  fitToPoints();
  map.on('click', (e) => {
    const h = layer.hitAt(e.containerPoint.x, e.containerPoint.y);
    if (!h) return;
    if (h.warehouse) {
      listeners.select.forEach((fn) => fn({ warehouse: h.warehouse }));
    } else if (h.f.properties.cluster) {
      const z = Math.min(index.getClusterExpansionZoom(h.f.properties.cluster_id), 16);
      const [lon, lat] = h.f.geometry.coordinates;
      map.flyTo([lat, lon], z, { duration: 0.4 });
    } else {
      select(h.f.properties.id);
    }
  });
  let hoverFrame = 0;
  map.on('mousemove', (e) => {
    if (hoverFrame) return;
    hoverFrame = requestAnimationFrame(() => {
      hoverFrame = 0;
      container.classList.toggle('wp-hover', !!layer.hitAt(e.containerPoint.x, e.containerPoint.y));
    });
  });
  loadingNode.hidden = true;
  requestAnimationFrame(() => {
    document.documentElement.dataset.mapReady = '1';
    performance.mark('waypost:map-ready');
  });
}

function fitToPoints() {
  if (!points.size) return;
  let s = 90, w = 180, n = -90, e = -180;
  for (const p of points.values()) {
    if (p.lat == null) continue;
    s = Math.min(s, p.lat); n = Math.max(n, p.lat); w = Math.min(w, p.lon); e = Math.max(e, p.lon);
  }
  if (s <= n) map.fitBounds([[s, w], [n, e]], { padding: [30, 30], maxZoom: 6, animate: false });
}

export function invalidate() { map?.invalidateSize(); }

export function select(orderId, { fly = false } = {}) {
  selected = orderId;
  const p = points.get(orderId);
  if (p && fly && map) map.flyTo([p.lat, p.lon], Math.max(map.getZoom(), 7), { duration: 0.5 });
  layer?.redraw();
  listeners.select.forEach((fn) => fn({ order: p || null, orderId }));
}

export function setFilter(f) {
  filter = { ...f };
  if (index) rebuild();
}

// A change from the stream: move or recolour the order, drop it once it is no longer active.
export function applyChange(change) {
  pending?.push(change);
  const id = change.order_id;
  const p = points.get(id);
  let loc = null;
  for (const s of change.shipments || []) if (s.location && s.location.lat != null && s.location.lon != null) loc = s.location;
  if (TERMINAL.has(change.status)) {
    if (p) points.delete(id);
  } else if (p) {
    p.status = change.status;
    if (loc) { p.lat = loc.lat; p.lon = loc.lon; }
    p.updated_at = change.changed_at;
  } else if (loc) {
    points.set(id, { order_id: id, status: change.status, lat: loc.lat, lon: loc.lon, carrier: null, warehouse: null, dest_lat: null, dest_lon: null, updated_at: change.changed_at });
  } else {
    return;
  }
  scheduleRebuild();
  if (selected === id) listeners.select.forEach((fn) => fn({ order: points.get(id) || null, orderId: id }));
}

// Test hooks the browser tests rely on (e2e/dashboard.test.mjs, e2e/load.mjs).
window.waypost = Object.assign(window.waypost || {}, {
  point(id) {
    const p = points.get(id);
    return p ? { lat: p.lat, lon: p.lon, status: p.status } : null;
  },
  markerCount() { return drawnCount; },
});

