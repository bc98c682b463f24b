// A dev server for the dashboard without the Rust backend: serves crates/web/assets and fake
// JSON shaped like the API of docs/dashboard.md (10,000 active orders by default, alerts,
// scorecards, a live SSE stream). No npm dependencies.
//   node web/dev/fixture-server.mjs [--port 8787] [--points 10000] [--autologin] [--viewer]
// --autologin starts with a signed-in session so a headless screenshot shows the dashboard.
import { createServer } from 'node:http';
import { readFileSync, existsSync, statSync } from 'node:fs';
import { dirname, join, normalize, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : dflt; };
const PORT = +opt('port', 8787);
const N = +opt('points', 10000);
let autologin = args.includes('--autologin');
const ROLE = args.includes('--viewer') ? 'viewer' : 'operator';
const ASSETS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'crates', 'web', 'assets');
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

// A seeded PRNG so every run shows the same world.
let seed = 42;
const rnd = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 4294967296);
const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
const gauss = () => { let u = 0, v = 0; while (!u) u = rnd(); while (!v) v = rnd(); return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v); };
const weighted = (pairs) => { const t = pairs.reduce((a, [, w]) => a + w, 0); let r = rnd() * t; for (const [v, w] of pairs) { if ((r -= w) < 0) return v; } return pairs[0][0]; };

const CITIES = [
  ['New York', 'NY', 'US', 40.71, -74.0, 9], ['Los Angeles', 'CA', 'US', 34.05, -118.24, 7], ['Chicago', 'IL', 'US', 41.88, -87.63, 6],
  ['Houston', 'TX', 'US', 29.76, -95.37, 5], ['Phoenix', 'AZ', 'US', 33.45, -112.07, 3], ['Atlanta', 'GA', 'US', 33.75, -84.39, 4],
  ['Seattle', 'WA', 'US', 47.61, -122.33, 3], ['Denver', 'CO', 'US', 39.74, -104.99, 3], ['Miami', 'FL', 'US', 25.76, -80.19, 4],
  ['Dallas', 'TX', 'US', 32.78, -96.8, 5], ['Boston', 'MA', 'US', 42.36, -71.06, 3], ['Memphis', 'TN', 'US', 35.15, -90.05, 4],
  ['Louisville', 'KY', 'US', 38.25, -85.76, 3], ['Toronto', 'ON', 'CA', 43.65, -79.38, 3], ['Mexico City', 'CMX', 'MX', 19.43, -99.13, 2],
  ['London', 'ENG', 'GB', 51.51, -0.13, 6], ['Paris', 'IDF', 'FR', 48.86, 2.35, 5], ['Berlin', 'BE', 'DE', 52.52, 13.4, 4],
  ['Madrid', 'MD', 'ES', 40.42, -3.7, 3], ['Milan', 'LOM', 'IT', 45.46, 9.19, 3], ['Amsterdam', 'NH', 'NL', 52.37, 4.9, 3],
  ['Warsaw', 'MZ', 'PL', 52.23, 21.01, 2], ['Lyon', 'ARA', 'FR', 45.76, 4.84, 2], ['Hamburg', 'HH', 'DE', 53.55, 9.99, 2],
  ['São Paulo', 'SP', 'BR', -23.55, -46.63, 2], ['Sydney', 'NSW', 'AU', -33.87, 151.21, 1], ['Tokyo', '13', 'JP', 35.68, 139.69, 1],
];
const CARRIERS = ['ups', 'fedex', 'usps', 'dhl', 'dpd', 'gls'];
const WAREHOUSES = [['RNO1', 39.53, -119.81], ['MEM1', 35.04, -89.98], ['EWR2', 40.69, -74.17], ['DFW3', 32.9, -97.04], ['FRA1', 50.03, 8.56], ['LHR4', 51.47, -0.45]];
const CHANNELS = ['web', 'app', 'marketplace', 'b2b'];
const STATUS_W = [['in_transit', 45], ['shipped', 12], ['out_for_delivery', 10], ['label_created', 6], ['packed', 4], ['pending', 4], ['delayed', 7], ['attempt_failed', 3], ['exception', 3], ['available_for_pickup', 2], ['returning', 2], ['on_hold', 1], ['backordered', 1]];

const now = Date.now();
const iso = (t) => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
const orders = new Map();
for (let i = 0; i < N; i++) {
  const c = weighted(CITIES.map((x) => [x, x[5]]));
  const d = weighted(CITIES.map((x) => [x, x[5]]));
  const id = `WP-${String(100000 + i)}`;
  const wh = pick(WAREHOUSES);
  const carrier = pick(CARRIERS);
  const status = weighted(STATUS_W);
  orders.set(id, {
    order_id: id, status, carrier, warehouse: wh[0], channel: pick(CHANNELS),
    lat: +(c[3] + gauss() * 1.2).toFixed(4), lon: +(c[4] + gauss() * 1.6).toFixed(4),
    dest_lat: d[3], dest_lon: d[4], city: c[0], region: c[1], country: c[2], dest: d,
    updated_at: iso(now - rnd() * 86400e3 * 3),
    tracking: `${carrier.toUpperCase()}${String(Math.floor(rnd() * 1e12)).padStart(12, '0')}`,
    promised_at: iso(now + (rnd() * 5 - 1) * 86400e3),
  });
}
const alerts = [];
const RULES = [['late-promise', 'promise', 'high', 'Promise date passed without delivery'], ['stuck-in-transit', 'dwell', 'medium', 'No movement for 48 h in transit'], ['carrier-silent', 'silence', 'low', 'No carrier scan for 24 h'], ['exception-raised', 'event', 'critical', 'Carrier exception: address issue'], ['source-down', 'source', 'high', 'UPS connector failing']];
let alertSeq = 1;
for (const o of [...orders.values()].filter((o) => ['delayed', 'exception', 'attempt_failed'].includes(o.status)).slice(0, 14)) {
  const r = pick(RULES);
  alerts.push({ id: alertSeq++, order_id: o.order_id, tracking_number: o.tracking, rule: r[0], kind: r[1], severity: r[2], status: 'open', assignee: null, snoozed_until: null, triggers: 1 + Math.floor(rnd() * 3), due: null, opened_at: iso(now - rnd() * 86400e3 * 2), last_triggered: iso(now - rnd() * 3600e3), resolved_at: null, resolution: null, false_positive: false, carrier: o.carrier, order_value: Math.round(rnd() * 900 + 20), promised_at: o.promised_at, summary: r[3], impact: +(rnd() * 90 + 10).toFixed(1), version: 1 });
}
alerts.sort((a, b) => b.impact - a.impact);

const TERMINAL = new Set(['delivered', 'returned', 'cancelled', 'lost']);
const count = (xs, key) => {
  const m = new Map();
  for (const x of xs) m.set(x[key] ?? null, (m.get(x[key] ?? null) || 0) + 1);
  return [...m].map(([k, c]) => ({ key: k, count: c })).sort((a, b) => b.count - a.count);
};

function summary(q) {
  const xs = [...orders.values()].filter((o) => ['status', 'carrier', 'warehouse', 'channel'].every((k) => !q.get(k) || o[k] === q.get(k)));
  return { total: xs.length + 12345, active: xs.filter((o) => !TERMINAL.has(o.status)).length, alerts_open: alerts.filter((a) => a.status === 'open').length, by_status: count(xs, 'status'), by_carrier: count(xs, 'carrier'), by_warehouse: count(xs, 'warehouse'), by_channel: count(xs, 'channel') };
}

const loc = (o) => ({ city: o.city, region: o.region, postal_code: null, country: o.country, lat: o.lat, lon: o.lon });
function orderSummary(o) {
  return { order_id: o.order_id, status: o.status, reason: o.status === 'exception' ? 'address_issue' : null, status_at: o.updated_at, updated_at: o.updated_at, version: 3, regression: false, location: loc(o), promised_at: o.promised_at,
    shipments: [{ tracking_number: o.tracking, status: o.status, reason: null, status_at: o.updated_at, carrier: o.carrier, service: 'ground', location: loc(o), location_at: o.updated_at, origin: null, destination: { city: o.dest[0], region: o.dest[1], postal_code: null, country: o.dest[2], lat: o.dest_lat, lon: o.dest_lon }, promised_at: o.promised_at, regression: false }] };
}
function orderDetail(o) {
  const t0 = Date.parse(o.updated_at);
  const steps = [['packed', 'PK', 'Packed at warehouse', 50], ['shipped', 'SH', 'Tendered to carrier', 40], ['in_transit', 'I1', 'Departed facility', 20], [o.status, 'X9', 'Latest scan', 0]];
  return { ...orderSummary(o), timeline: steps.map(([s, code, desc, h], i) => ({ source: i === 0 ? 'wms' : o.carrier, event_id: `ev-${o.order_id}-${i}`, status: s, reason: null, tracking_number: i ? o.tracking : null, raw_code: code, raw_description: desc, occurred_at: iso(t0 - h * 3600e3), received_at: iso(t0 - h * 3600e3 + 90e3), location: i === 0 ? { city: 'Memphis', region: 'TN', country: 'US', lat: 35.04, lon: -89.98 } : { city: o.city, region: o.region, country: o.country, lat: o.lat + (3 - i) * 0.8, lon: o.lon - (3 - i) * 1.1 }, attributes: {} })) };
}

function scorecards(days) {
  const daily = [];
  const base = { ups: 0.93, fedex: 0.9, usps: 0.84, dhl: 0.88, dpd: 0.86, gls: 0.8 };
  for (let d = days - 1; d >= 0; d--) for (const c of CARRIERS) daily.push({ day: new Date(now - d * 86400e3).toISOString().slice(0, 10), carrier: c, delivered: 40 + Math.floor(rnd() * 80), on_time_rate: Math.min(1, base[c] + gauss() * 0.03) });
  return { since: iso(now - days * 86400e3), daily, carriers: CARRIERS.map((c) => ({ carrier: c, delivered: 2000 + Math.floor(rnd() * 3000), on_time: 1800, late: 220, no_promise: 31, on_time_rate: base[c], transit_hours: { p50: 40 + rnd() * 20, p90: 80 + rnd() * 30, p95: 110 + rnd() * 40 },
    lanes: [['US-TN', 'US-NY'], ['US-TN', 'US-CA'], ['DE', 'FR'], ['US-NV', 'US-WA']].map(([a, b]) => ({ origin: a, destination: b, delivered: Math.floor(rnd() * 500), on_time_rate: Math.min(1, base[c] + gauss() * 0.05), transit_hours: { p50: 30 + rnd() * 30, p90: 70 + rnd() * 30, p95: 90 + rnd() * 40 } })) })) };
}

const sessions = new Set();
const csrf = 'dev-csrf-token';
const USER = { user: { email: 'ops@demo.example', role: ROLE, tenant: 'demo' }, csrf_token: csrf };
const streams = new Set();
let seq = 1000;

function send(res, status, body, headers = {}) {
  const data = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  res.writeHead(status, { 'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff', 'Content-Type': typeof body === 'object' && !Buffer.isBuffer(body) ? (status >= 400 ? 'application/problem+json' : 'application/json') : 'text/plain', ...headers });
  res.end(data);
}
const problem = (res, status, detail) => send(res, status, { type: `urn:waypost:problem:${status}`, title: detail, status, detail });
const TYPES = { '.html': 'text/html; charset=utf-8', '.css': 'text/css', '.js': 'text/javascript', '.json': 'application/json', '.svg': 'image/svg+xml', '.md': 'text/plain' };

function authed(req) {
  if (autologin) return true;
  const m = /waypost_session=([a-f0-9]+)/.exec(req.headers.cookie || '');
  return !!(m && sessions.has(m[1]));
}

async function body(req) {
  let s = '';
  for await (const c of req) s += c;
  try { return JSON.parse(s || '{}'); } catch { return {}; }
}

createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  const p = url.pathname;
  const q = url.searchParams;
  if (p === '/' || p.startsWith('/assets/')) {
    const rel = p === '/' ? 'index.html' : p.slice('/assets/'.length);
    const file = normalize(join(ASSETS, rel));
    if (!file.startsWith(ASSETS) || !existsSync(file) || !statSync(file).isFile()) return send(res, 404, 'no such asset\n');
    return send(res, 200, readFileSync(file), { 'Content-Type': TYPES[extname(file)] || 'text/plain', 'Cache-Control': 'no-cache' });
  }
  if (!p.startsWith('/v1/')) return send(res, 404, 'not found\n');
  if (p === '/v1/session') {
    if (req.method === 'POST') {
      const b = await body(req);
      if (b.password !== 'demo-password-1') return problem(res, 401, 'the tenant, email or password is not right');
      const id = randomBytes(16).toString('hex');
      sessions.add(id);
      return send(res, 200, { ...USER, user: { ...USER.user, email: b.email } }, { 'Set-Cookie': `waypost_session=${id}; HttpOnly; SameSite=Strict; Path=/` });
    }
    if (req.method === 'DELETE') { autologin = false; sessions.clear(); return send(res, 204, ''); }
    return authed(req) ? send(res, 200, USER) : problem(res, 401, 'not signed in');
  }
  if (!authed(req)) return problem(res, 401, 'not signed in');
  if (req.method !== 'GET' && req.headers['x-csrf-token'] !== csrf) return problem(res, 403, 'csrf');
  if (req.method !== 'GET' && ROLE === 'viewer') return problem(res, 403, 'the key lacks the operate scope');
  let m;
  if (p === '/v1/map/orders') {
    const limit = Math.min(10000, +(q.get('limit') || 5000));
    const start = +(q.get('cursor') || 0);
    const all = [...orders.values()].filter((o) => !TERMINAL.has(o.status));
    const pts = all.slice(start, start + limit).map((o) => ({ order_id: o.order_id, status: o.status, lat: o.lat, lon: o.lon, carrier: o.carrier, warehouse: o.warehouse, dest_lat: o.dest_lat, dest_lon: o.dest_lon, updated_at: o.updated_at }));
    return send(res, 200, { points: pts, next_cursor: start + limit < all.length ? String(start + limit) : null });
  }
  if (p === '/v1/map/warehouses') return send(res, 200, { warehouses: WAREHOUSES.map(([name, lat, lon]) => ({ name, lat, lon, active_orders: [...orders.values()].filter((o) => o.warehouse === name).length })) });
  if (p === '/v1/dashboard/summary') return send(res, 200, summary(q));
  if (p === '/v1/carriers/scorecards') return send(res, 200, scorecards(+(q.get('days') || 30)));
  if (p === '/v1/sources') return send(res, 200, { items: [
    { name: 'ups-poll', source: 'ups', kind: 'poll', state: 'healthy', last_success_at: iso(now - 40e3), lag_seconds: 95, last_5m: {}, last_60m: {}, in_flight: 2, tracked: 4211, overdue: 3, dead_letters: 0, breaker: 'closed', breaker_opened: 0, requests: 9120, retries: 14 },
    { name: 'fedex-poll', source: 'fedex', kind: 'poll', state: 'degraded', last_success_at: iso(now - 400e3), lag_seconds: 1260, last_5m: {}, last_60m: {}, in_flight: 1, tracked: 3120, overdue: 211, dead_letters: 2, breaker: 'half_open', breaker_opened: 3, requests: 5120, retries: 301 },
    { name: 'wms', source: 'wms', kind: 'webhook', state: 'receiving', last_success_at: iso(now - 5e3), lag_seconds: 12, last_5m: {}, last_60m: {}, in_flight: 0, tracked: 0, overdue: 0, dead_letters: 1, breaker: 'closed', breaker_opened: 0, requests: 0, retries: 0 }] });
  if (p === '/v1/dead-letters') return send(res, 200, { items: [1, 2, 3].map((i) => ({ id: ['doc_3f9a0c1e5b7d2468', 'doc_81c2e0f4a9d3b657', 'doc_0d5e7a1b3c9f2864'][i - 1], source: i === 3 ? 'wms' : 'fedex', origin: null, received_at: iso(now - i * 3600e3), last_attempt_at: iso(now - i * 1800e3), attempts: 3 + i, problem: 'unparseable XML: unexpected end of document', replayed_at: null, body: '<x>' })), next_cursor: null });
  if (p === '/v1/alerts') {
    const st = (q.get('status') || 'open,acknowledged,snoozed').split(',');
    const xs = alerts.filter((a) => st.includes('all') || st.includes(a.status));
    return send(res, 200, { alerts: xs, next_offset: null });
  }
  if ((m = /^\/v1\/alerts\/(\d+)\/(ack|assign|snooze|resolve)$/.exec(p)) && req.method === 'POST') {
    const a = alerts.find((x) => x.id === +m[1]);
    if (!a) return problem(res, 404, 'no such alert');
    const b = await body(req);
    if (m[2] === 'ack') a.status = 'acknowledged';
    if (m[2] === 'assign') a.assignee = b.to;
    if (m[2] === 'snooze') { a.status = 'snoozed'; a.snoozed_until = iso(Date.now() + 4 * 3600e3); }
    if (m[2] === 'resolve') { a.status = 'resolved'; a.resolution = { by: 'person', note: b.note, false_positive: false }; }
    a.version++;
    for (const s of streams) s.write(`event: alert\ndata: ${JSON.stringify(a)}\n\n`);
    return send(res, 200, a);
  }
  if ((m = /^\/v1\/orders\/([^/]+)\/tracking-link$/.exec(p))) return orders.has(decodeURIComponent(m[1])) ? send(res, 200, { token: '0123456789abcdef0123456789abcdef', path: '/track/0123456789abcdef0123456789abcdef', url: null }) : problem(res, 404, 'no such order');
  if ((m = /^\/v1\/orders\/([^/]+)\/notifications$/.exec(p))) return send(res, 200, { notifications: [{ id: 1, order_id: m[1], seq: 1, subscription_id: 1, endpoint_id: 1, kind: 'email', trigger: 'shipped', msg_id: 'm1', state: 'delivered', attempts: 1, next_at: iso(now), created_at: iso(now - 86400e3), done_at: iso(now - 86000e3), last_code: 250, last_error: null, attempt_log: [] }], next_after: null });
  if ((m = /^\/v1\/orders\/([^/]+)$/.exec(p))) { const o = orders.get(decodeURIComponent(m[1])); return o ? send(res, 200, orderDetail(o)) : problem(res, 404, 'no such order'); }
  if ((m = /^\/v1\/shipments\/([^/]+)$/.exec(p))) { const o = [...orders.values()].find((x) => x.tracking === decodeURIComponent(m[1])); return o ? send(res, 200, { order_id: o.order_id, ...orderSummary(o).shipments[0] }) : problem(res, 404, 'no such shipment'); }
  if (p === '/v1/orders') {
    const xs = [...orders.values()].filter((o) => (!q.get('status') || o.status === q.get('status')) && (!q.get('carrier') || o.carrier === q.get('carrier')));
    const start = +(q.get('cursor') || 0); const limit = +(q.get('limit') || 100);
    return send(res, 200, { orders: xs.slice(start, start + limit).map(orderSummary), next_cursor: start + limit < xs.length ? String(start + limit) : null });
  }
  if (p === '/v1/stream') {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    res.write(': hello\n\n');
    streams.add(res);
    req.on('close', () => streams.delete(res));
    return;
  }
  return problem(res, 404, 'no such route');
}).listen(PORT, '127.0.0.1', () => console.log(`fixture server on http://127.0.0.1:${PORT}/ (${N} orders)`));

// Live: every second a few orders move toward their destination, sometimes change status.
const ids = [...orders.keys()];
setInterval(() => {
  for (let k = 0; k < 5; k++) {
    const o = orders.get(pick(ids));
    if (TERMINAL.has(o.status)) continue;
    o.lat = +(o.lat + (o.dest_lat - o.lat) * 0.2).toFixed(4);
    o.lon = +(o.lon + (o.dest_lon - o.lon) * 0.2).toFixed(4);
    if (rnd() < 0.2) o.status = pick(['in_transit', 'out_for_delivery', 'delayed', 'delivered']);
    o.updated_at = iso(Date.now());
    const change = { seq: ++seq, tenant: 'demo', order_id: o.order_id, status: o.status, changed_at: o.updated_at, shipments: [{ tracking_number: o.tracking, status: o.status, location: loc(o) }], events: [] };
    for (const s of streams) s.write(`event: change\nid: ${seq}\ndata: ${JSON.stringify(change)}\n\n`);
  }
}, 1000);
