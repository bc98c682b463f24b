// The one EventSource of the page. It authenticates with the session cookie (same origin)
// and resumes with Last-Event-ID by itself after a drop; the views subscribe by event name.

const handlers = { change: [], alert: [] };
let source = null;

export const onLive = (name, fn) => handlers[name].push(fn);

function setState(on, text) {
  const node = document.getElementById('live-state');
  node.classList.toggle('on', on);
  node.classList.toggle('off', !on);
  node.querySelector('.live-text').textContent = text;
}

function dispatch(name, e) {
  let data;
  try { data = JSON.parse(e.data); } catch { return; }
  for (const fn of handlers[name]) {
    try { fn(data); } catch (err) { console.error('live handler failed', err); }
  }
}

export function startLive() {
  if (source) return;
  source = new EventSource('/v1/stream', { withCredentials: true });
  source.addEventListener('open', () => setState(true, 'Live'));
  source.addEventListener('error', () => setState(false, source.readyState === EventSource.CLOSED ? 'Offline' : 'Reconnecting'));
  source.addEventListener('change', (e) => dispatch('change', e));
  source.addEventListener('alert', (e) => dispatch('alert', e));
}

export function stopLive() {
  source?.close();
  source = null;
  setState(false, 'Offline');
}
