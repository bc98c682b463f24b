// A stand-in for the Waypost server, only to check the browser harness itself: the smallest
// page and API that honour the DOM hooks and endpoints of docs/dashboard.md (login form, nav,
// map test hooks, alerts with ack, order detail's customer link, tracking page). Not the real
// front-end. `node dev/dummy-server.mjs [port]` prints the env for dashboard.test.mjs.
// DUMMY_BREAK=leak|focus|ack|axe makes it misbehave, so the harness can be seen to fail.
import http from 'node:http';
import { randomBytes } from 'node:crypto';

const port = Number(process.argv[2] || 0);
const BREAK = process.env.DUMMY_BREAK || '';
const KEY = 'dummy-key';
const USERS = {
  'ops@demo.example': { password: 'operator-password', role: 'operator' },
  'viewer@demo.example': { password: 'viewer-password', role: 'viewer' },
};
const sessions = new Map(); // cookie -> {email, role, csrf}
const orders = new Map();
const alerts = [];
const streams = new Set();
const cities = [
  ['Chicago', 41.88, -87.63],
  ['Berlin', 52.52, 13.4],
  ['Dallas', 32.78, -96.8],
];
for (let i = 0; i < 30; i++) {
  const [city, lat, lon] = cities[i % 3];
  const id = `SO-${100001 + i}`;
  orders.set(id, {
    id,
    status: 'in_transit',
    lat: lat + i * 0.01,
    lon,
    token: randomBytes(16).toString('hex'),
    events: [{ status: 'in_transit', occurred_at: '2026-11-26T10:00:00Z', city, raw_code: 'I', raw_description: 'Departed from Facility' }],
  });
}
alerts.push({ id: 1, order_id: 'SO-100002', status: 'open', rule: 'seed', severity: 'high' });

function caller(req) {
  if (req.headers.authorization === `Bearer ${KEY}`) return { role: 'admin' };
  const m = /waypost_session=([0-9a-f]+)/.exec(req.headers.cookie || '');
  return m ? sessions.get(m[1]) : undefined;
}
function json(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}
async function body(req) {
  let s = '';
  for await (const c of req) s += c;
  return s ? JSON.parse(s) : null;
}
function point(o) {
  return { order_id: o.id, status: o.status, lat: o.lat, lon: o.lon, carrier: null, warehouse: null, dest_lat: null, dest_lon: null, updated_at: null };
}
function publicView(o) {
  return {
    order_id: o.id,
    status: o.status,
    stage: 3,
    events: o.events.map((e) => ({ status: e.status, occurred_at: e.occurred_at, location: { city: e.city } })).reverse(),
  };
}

const CSS = `body{font-family:sans-serif;color:#111;background:#fff}
a:focus-visible,button:focus-visible,input:focus-visible{outline:3px solid #0050b3;outline-offset:2px}
${BREAK === 'focus' ? 'a:focus,a:focus-visible{outline:none !important}' : ''}
${BREAK === 'axe' ? 'h1{color:#ddd}' : ''}
#map{position:relative;width:600px;height:300px;background:#eef}
.m{position:absolute;width:6px;height:6px;background:#a00;border-radius:3px}`;

const INDEX = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Waypost (dummy)</title>
<link rel="stylesheet" href="/app.css"></head><body>
<main id="login"><h1>Sign in</h1><form id="f">
<label for="login-tenant">Tenant</label><input id="login-tenant" autocomplete="organization">
<label for="login-email">Email</label><input id="login-email" type="email" autocomplete="username">
<label for="login-password">Password</label><input id="login-password" type="password" autocomplete="current-password">
<button id="login-submit" type="submit">Sign in</button><p role="alert" id="err"></p></form></main>
<div id="app" hidden><nav aria-label="Main"><a href="#/map">Map</a> <a href="#/orders">Orders</a>
<a href="#/alerts">Alerts</a> <a href="#/carriers">Carriers</a> <a href="#/sources">Sources</a></nav>
<main id="view"><h1>Dashboard</h1></main></div>
<script type="module" src="/app.js"></script></body></html>`;

const APP = `
let csrf = null, role = null;
const pts = new Map();
window.waypost = { point: (id) => pts.get(id) ?? null, markerCount: () => pts.size };
const $ = (s) => document.querySelector(s);
async function j(method, url, body) {
  const r = await fetch(url, { method, headers: { 'content-type': 'application/json', ...(csrf ? { 'x-csrf-token': csrf } : {}) }, body: body && JSON.stringify(body) });
  if (!r.ok) throw new Error(r.status);
  return r.status === 204 ? null : r.json();
}
function started(s) { csrf = s.csrf_token; role = s.user.role; $('#login').hidden = true; $('#app').hidden = false; route();
  new EventSource('/v1/stream').addEventListener('change', (e) => { const p = JSON.parse(e.data); pts.set(p.order_id, { lat: p.lat, lon: p.lon, status: p.status }); draw(); }); }
$('#f').addEventListener('submit', async (e) => {
  e.preventDefault();
  try { started(await j('POST', '/v1/session', { tenant: $('#login-tenant').value, email: $('#login-email').value, password: $('#login-password').value })); }
  catch { $('#err').textContent = 'Wrong tenant, email or password.'; }
});
function draw() {
  const m = $('#map'); if (!m) return;
  m.replaceChildren(...[...pts.values()].map((p) => { const d = document.createElement('span'); d.className = 'm';
    d.style.left = ((p.lon + 180) / 360 * 600) + 'px'; d.style.top = ((90 - p.lat) / 180 * 300) + 'px'; return d; }));
}
async function route() {
  const h = location.hash || '#/map', v = $('#view');
  if (h === '#/map') {
    v.innerHTML = '<h1>Map</h1><div id="map" role="img" aria-label="Map of active orders"></div>';
    const r = await j('GET', '/v1/map/orders');
    pts.clear(); for (const p of r.points) pts.set(p.order_id, { lat: p.lat, lon: p.lon, status: p.status });
    draw(); document.documentElement.dataset.mapReady = '1'; performance.mark('waypost:map-ready');
  } else if (h === '#/alerts') {
    const r = await j('GET', '/v1/alerts?status=all');
    v.innerHTML = '<h1>Alerts</h1><table><thead><tr><th>Order</th><th>Status</th><th>Actions</th></tr></thead><tbody></tbody></table>';
    for (const a of r.alerts) {
      const tr = document.createElement('tr'); tr.dataset.alertId = a.id;
      tr.innerHTML = '<td>' + a.order_id + '</td><td data-field="status">' + a.status + '</td><td></td>';
      if (role === 'operator' || ${BREAK === 'ack' ? 'true' : 'false'}) { const b = document.createElement('button'); b.dataset.action = 'ack'; b.textContent = 'Acknowledge';
        b.onclick = async () => { const x = await j('POST', '/v1/alerts/' + a.id + '/ack', {}); tr.querySelector('[data-field=status]').textContent = x.status; };
        tr.lastChild.append(b); }
      v.querySelector('tbody').append(tr);
    }
  } else if (h.startsWith('#/orders/')) {
    const id = decodeURIComponent(h.slice(9)); const l = await j('GET', '/v1/orders/' + encodeURIComponent(id) + '/tracking-link');
    v.innerHTML = '<h1>Order ' + id + '</h1><a data-field="customer-link" href="' + l.path + '">Customer page</a>';
  } else v.innerHTML = '<h1>' + h.slice(2) + '</h1>';
}
addEventListener('hashchange', route);
j('GET', '/v1/session').then(started, () => {});
`;

function trackPage(o) {
  const v = publicView(o);
  const leak = BREAK === 'leak' ? o.events.map((e) => e.raw_code + ' ' + e.raw_description).join(' ') : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Your order</title><link rel="stylesheet" href="/app.css"></head>
<body><main><h1>Order ${o.id}</h1><p>Status: <span data-field="status">${o.status.replace('_', ' ')}</span></p>
<div role="progressbar" aria-label="Delivery progress" aria-valuemin="0" aria-valuemax="5" aria-valuenow="${v.stage}"></div>
<h2>History</h2><ol data-field="timeline">${v.events.map((e) => `<li>${e.status.replace('_', ' ')}, ${e.location.city ?? ''}</li>`).join('')}</ol><p>${leak}</p></main></body></html>`;
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  const p = url.pathname;
  const who = caller(req);
  try {
    if (p === '/' || p === '/app.js' || p === '/app.css') {
      const [type, text] = p === '/' ? ['text/html', INDEX] : p === '/app.js' ? ['text/javascript', APP] : ['text/css', CSS];
      res.writeHead(200, { 'content-type': `${type}; charset=utf-8`, 'content-security-policy': "default-src 'self'" });
      return res.end(text);
    }
    if (p === '/v1/session' && req.method === 'POST') {
      const b = await body(req);
      const u = USERS[b.email];
      if (b.tenant !== 'demo' || !u || u.password !== b.password) return json(res, 401, { title: 'Unauthorized' });
      const c = randomBytes(16).toString('hex');
      const s = { email: b.email, role: u.role, csrf: randomBytes(8).toString('hex') };
      sessions.set(c, s);
      return json(res, 200, { user: { email: s.email, role: s.role, tenant: 'demo' }, csrf_token: s.csrf }, { 'set-cookie': `waypost_session=${c}; HttpOnly; SameSite=Strict; Path=/` });
    }
    if (p === '/v1/session') return who?.email ? json(res, 200, { user: { email: who.email, role: who.role, tenant: 'demo' }, csrf_token: who.csrf }) : json(res, 401, {});
    let m;
    if ((m = /^\/track\/([0-9a-f]{32})$/.exec(p))) {
      const o = [...orders.values()].find((x) => x.token === m[1]);
      res.writeHead(o ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
      return res.end(o ? trackPage(o) : '<!doctype html><html lang="en"><head><title>Not found</title></head><body><main><h1>We could not find this order</h1></main></body></html>');
    }
    if ((m = /^\/v1\/track\/([0-9a-f]{32})$/.exec(p))) {
      const o = [...orders.values()].find((x) => x.token === m[1]);
      return o ? json(res, 200, publicView(o)) : json(res, 404, {});
    }
    if (!who) return json(res, 401, {});
    if (p === '/v1/stream') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': hi\n\n');
      streams.add(res);
      req.on('close', () => streams.delete(res));
      return;
    }
    if (p === '/v1/map/orders') return json(res, 200, { points: [...orders.values()].map(point), next_cursor: null });
    if (p === '/v1/events' && req.method === 'POST') {
      for (const e of await body(req)) {
        const o = orders.get(e.order_id);
        if (!o) continue;
        o.status = e.status;
        if (e.location?.lat !== undefined) Object.assign(o, { lat: e.location.lat, lon: e.location.lon });
        o.events.push({ status: e.status, occurred_at: e.occurred_at, city: e.location?.city, raw_code: e.raw_code, raw_description: e.raw_description });
        if (e.status === 'exception') alerts.push({ id: alerts.length + 1, order_id: o.id, status: 'open', rule: 'e2e', severity: 'critical' });
        for (const s of streams) s.write(`event: change\ndata: ${JSON.stringify(point(o))}\n\n`);
      }
      return json(res, 202, { accepted: true });
    }
    if ((m = /^\/v1\/orders\/([^/]+)\/tracking-link$/.exec(p))) {
      const o = orders.get(decodeURIComponent(m[1]));
      return o ? json(res, 200, { token: o.token, path: `/track/${o.token}`, url: null }) : json(res, 404, {});
    }
    if ((m = /^\/v1\/orders\/([^/]+)$/.exec(p))) {
      const o = orders.get(decodeURIComponent(m[1]));
      return o ? json(res, 200, { order: { order_id: o.id, status: o.status, shipments: [] }, timeline: o.events }) : json(res, 404, {});
    }
    if (p === '/v1/alerts') {
      const id = url.searchParams.get('order_id');
      const st = url.searchParams.get('status') || 'open';
      return json(res, 200, { alerts: alerts.filter((a) => (!id || a.order_id === id) && (st === 'all' || st.split(',').includes(a.status))) });
    }
    if ((m = /^\/v1\/alerts\/(\d+)\/ack$/.exec(p)) && req.method === 'POST') {
      if (who.role !== 'operator' || req.headers['x-csrf-token'] !== who.csrf) return json(res, 403, {});
      const a = alerts.find((x) => x.id === Number(m[1]));
      a.status = 'acknowledged';
      return json(res, 200, a);
    }
    json(res, 404, {});
  } catch (e) {
    json(res, 500, { detail: String(e) });
  }
});
server.listen(port, '127.0.0.1', () => {
  const base = `http://127.0.0.1:${server.address().port}`;
  console.log(`WAYPOST_URL=${base} WAYPOST_TENANT=demo WAYPOST_EMAIL=ops@demo.example WAYPOST_PASSWORD=operator-password WAYPOST_VIEWER_EMAIL=viewer@demo.example WAYPOST_VIEWER_PASSWORD=viewer-password WAYPOST_API_KEY=${KEY}`);
});
