// The one EventSource of the page. It authenticates with the session cookie (same origin)
// and resumes with Last-Event-ID by itself after a network drop; the views subscribe by event
// name. The browser gives up for good on an HTTP error (a 401 once the session ends, a 5xx
// from a restarting server or proxy): then the session is checked (a 401 shows the login) and
// a new stream opened, with backoff. A new stream cannot resume, so `resync` tells the views
// to reload what they show; `reopen` follows every reconnect, since alerts are not replayed.

import { api } from './api.js';

const handlers = { change: [], alert: [], reopen: [], resync: [] };
let source = null;
let retryTimer = null;
let retries = 0;
let dropped = false;
let stopped = true;

export const onLive = (name, fn) => handlers[name].push(fn);

function setState(on, text) {
  const node = document.getElementById('live-state');
  node.classList.toggle('on', on);
  node.classList.toggle('off', !on);
  node.querySelector('.live-text').textContent = text;
}

function notify(name, data) {
  for (const fn of handlers[name]) {
    try { fn(data); } catch (err) { console.error('live handler failed', err); }
  }
}

function dispatch(name, e) {
  let data;
  try { data = JSON.parse(e.data); } catch { return; }
  notify(name, data);
}

function open(fresh) {
  const es = new EventSource('/v1/stream', { withCredentials: true });
  source = es;
  es.addEventListener('open', () => {
    setState(true, 'Live');
    retries = 0;
    if (fresh) notify('resync');
    if (fresh || dropped) notify('reopen');
    fresh = false;
    dropped = false;
  });
  es.addEventListener('error', () => {
    dropped = true;
    if (es.readyState !== EventSource.CLOSED) {
      setState(false, 'Reconnecting');
      return;
    }
    source = null;
    setState(false, 'Offline');
    retryLater();
  });
  es.addEventListener('change', (e) => dispatch('change', e));
  es.addEventListener('alert', (e) => dispatch('alert', e));
}

function retryLater() {
  const wait = Math.min(30000, 1000 * 2 ** retries++);
  retryTimer = setTimeout(async () => {
    retryTimer = null;
    try {
      await api('/v1/session');
    } catch {
      // A 401 has shown the login, which stopped the stream; anything else: later again.
      if (!stopped) retryLater();
      return;
    }
    if (!stopped && !source) open(true);
  }, wait);
}

export function startLive() {
  if (!stopped) return;
  stopped = false;
  retries = 0;
  dropped = false;
  open(false);
}

export function stopLive() {
  stopped = true;
  clearTimeout(retryTimer);
  retryTimer = null;
  source?.close();
  source = null;
  setState(false, 'Offline');
}
