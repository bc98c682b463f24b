// The dashboard's entry: session check, login, hash routing between the views, and the one
// live stream every view listens to.

import { api, setCsrf, whenUnauthorized, ApiError } from './api.js';
import { el, clear } from './util.js';
import * as mapView from './map.js';
import * as board from './board.js';
import { prefetchBasemap } from './basemap.js';
import { startLive, stopLive, onLive } from './live.js';
import { renderOrders, renderOrder } from './orders.js';
import { renderAlerts, refreshAlertBadge, refreshAlertBadgeSoon } from './alerts.js';
import { renderCarriers } from './carriers.js';
import { renderIntake } from './intake.js';
import { renderSources } from './sources.js';

const $ = (id) => document.getElementById(id);
export const session = { user: null };
// Who the loaded data belongs to: signing in as someone else reloads the page, so nothing of
// the previous tenant's stays in memory.
let dataOwner = null;
let mapStarted = null;
let pageCleanup = null;

function showLogin(message = '', { focus = true } = {}) {
  session.user = null;
  setCsrf(null);
  stopLive();
  document.querySelector('.mainnav').hidden = true;
  document.querySelector('.userbox').hidden = true;
  $('map-view').hidden = true;
  $('page-view').hidden = true;
  $('login-view').hidden = false;
  $('login-error').textContent = message;
  document.title = 'Sign in · Waypost';
  // On first load focus stays at the top of the page (skip link, then the form, in order);
  // after a sign-out or an expired session the form takes it.
  if (focus) $('login-tenant').focus();
}

function signedIn(body) {
  const owner = `${body.user.tenant}\n${body.user.email}`;
  if (dataOwner !== null && dataOwner !== owner) {
    location.reload();
    return;
  }
  dataOwner = owner;
  session.user = body.user;
  setCsrf(body.csrf_token);
  $('login-view').hidden = true;
  $('user-email').textContent = body.user.email;
  $('user-role').textContent = body.user.role;
  document.querySelector('.mainnav').hidden = false;
  document.querySelector('.userbox').hidden = false;
  startLive();
  refreshAlertBadge();
  route();
}

export const canOperate = () => session.user?.role === 'operator';

async function login(e) {
  e.preventDefault();
  const btn = $('login-submit');
  const body = { tenant: $('login-tenant').value.trim(), email: $('login-email').value.trim(), password: $('login-password').value };
  if (!body.tenant || !body.email || !body.password) {
    $('login-error').textContent = 'Enter the tenant, your email and your password.';
    return;
  }
  btn.disabled = true;
  $('login-error').textContent = '';
  try {
    const r = await api('/v1/session', { method: 'POST', body, quiet401: true });
    $('login-password').value = '';
    signedIn(r);
  } catch (err) {
    let msg = 'Sign-in failed. Try again.';
    if (err instanceof ApiError && err.status === 401) msg = 'The tenant, email or password is not right.';
    else if (err instanceof ApiError && err.status === 429) msg = 'Too many attempts. Wait a minute, then try again.';
    else if (err instanceof ApiError && err.problem?.detail) msg = err.problem.detail;
    $('login-error').textContent = msg;
  } finally {
    btn.disabled = false;
  }
}

async function logout() {
  try { await api('/v1/session', { method: 'DELETE', quiet401: true }); } catch { /* the cookie is dropped either way */ }
  // A fresh page: no order, alert or map data of this session stays in memory.
  sessionStorage.setItem('waypost:signed-out', '1');
  location.replace('/#/map');
  location.reload();
}

const ROUTES = [
  [/^#\/orders\/(.+)$/, (m, node) => renderOrder(node, decodeURIComponent(m[1])), 'orders', 'Order'],
  [/^#\/orders\/?$/, (m, node) => renderOrders(node), 'orders', 'Orders'],
  [/^#\/alerts\/?$/, (m, node) => renderAlerts(node), 'alerts', 'Alerts'],
  [/^#\/intake\/?$/, (m, node) => renderIntake(node), 'intake', 'Intake'],
  [/^#\/carriers\/?$/, (m, node) => renderCarriers(node), 'carriers', 'Carriers'],
  [/^#\/sources\/?$/, (m, node) => renderSources(node), 'sources', 'Sources'],
];

function markNav(section) {
  for (const a of document.querySelectorAll('.mainnav a')) {
    if (a.getAttribute('href') === `#/${section}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

// Each route() is one visit: a render that finishes after the user has moved on (a slow page,
// a quick click elsewhere) must neither keep its listeners or map nor draw over the newer page.
let visit = 0;

async function route() {
  if (!session.user) return;
  const hash = location.hash || '#/map';
  const mine = ++visit;
  if (typeof pageCleanup === 'function') pageCleanup();
  pageCleanup = null;
  const page = $('page-view');
  for (const [re, render, section, title] of ROUTES) {
    const m = hash.match(re);
    if (!m) continue;
    $('map-view').hidden = true;
    page.hidden = false;
    markNav(section);
    document.title = `${title} · Waypost`;
    // Its own node: a render that finishes late writes into a detached one.
    const node = el('div', {}, el('p', { class: 'empty' }, 'Loading…'));
    clear(page, node);
    try {
      const cleanup = await render(m, node);
      if (mine === visit) pageCleanup = cleanup;
      else if (typeof cleanup === 'function') cleanup();
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) clear(node, el('div', { class: 'card', role: 'alert' }, `Could not load this page: ${e.message}`));
    }
    return;
  }
  page.hidden = true;
  $('map-view').hidden = false;
  markNav('map');
  document.title = 'Map · Waypost';
  if (!mapStarted) {
    mapStarted = Promise.all([
      mapView.initMap($('map'), { legendNode: $('map-legend'), loadingNode: $('map-loading') }),
      board.initBoard($('board')),
    ]).catch((e) => {
      mapStarted = null;
      if (!(e instanceof ApiError && e.status === 401)) {
        $('map-loading').textContent = `Could not load the map: ${e.message}`;
      }
    });
  } else {
    mapView.invalidate();
  }
}

onLive('change', (c) => {
  if (mapStarted) { mapView.applyChange(c); board.refreshSoon(); }
});
onLive('alert', () => { refreshAlertBadgeSoon(); if (mapStarted) board.refreshSoon(); });
// Alerts are not replayed after a drop, and a new stream does not resume at all.
onLive('reopen', () => { refreshAlertBadgeSoon(); if (mapStarted) board.refreshSoon(); });
onLive('resync', () => { if (mapStarted) mapView.reload(); });

async function boot() {
  performance.mark('waypost:boot');
  whenUnauthorized(() => showLogin('Your session has ended. Please sign in again.'));
  $('login-form').addEventListener('submit', login);
  $('logout').addEventListener('click', logout);
  window.addEventListener('hashchange', route);
  if (!location.hash || location.hash === '#/map') {
    mapView.prefetchOrders();
    prefetchBasemap();
  }
  try {
    signedIn(await api('/v1/session', { quiet401: true }));
  } catch {
    const out = sessionStorage.getItem('waypost:signed-out');
    sessionStorage.removeItem('waypost:signed-out');
    showLogin(out ? 'You are signed out.' : '', { focus: false });
  }
}

boot();
