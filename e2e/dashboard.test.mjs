// The dashboard and the customer tracking page in a real browser (Debian's Chromium, headless,
// driven by playwright-core), against a running server: `node --test dashboard.test.mjs`.
// Settings come from the environment (see e2e/README.md); `crates/waypost/tests/browser.rs`
// starts a server with a firing rule, users and the demo world's orders, then runs this file.
// The scenarios run in order and share the operator's logged-in page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  settings,
  launch,
  newPage,
  login,
  waitMapReady,
  api,
  until,
  axeScan,
  formatViolations,
  shot,
} from './lib.mjs';

const cfg = settings();
let browser;
/** The operator's page, logged in by the first scenario. */
let op;
/** The order moved live; its customer page is opened later. */
let movedOrder = process.env.WAYPOST_ORDER_ID;
const run = Date.now().toString(36);
// Internal details of the event this run posts: the customer page must show none of them.
const SECRET_RAW_CODE = `E2E-RAW-${run}`;
const SECRET_RAW_TEXT = `internal scan note ${run}`;
const SECRET_ATTR = `internal-payload-${run}`;
// Far from the demo world's US and European cities.
const FAR = { city: 'Sydney', region: 'NSW', country: 'AU', lat: -33.8688, lon: 151.2093 };

before(async () => {
  browser = await launch(cfg);
  // Axe is injected as a script tag, which the dashboard's strict CSP would refuse.
  op = await newPage(browser, cfg, { bypassCSP: true });
});

after(async () => {
  await browser?.close();
});

test('log in through the form', async () => {
  await login(op.page, cfg, cfg.email, cfg.password);
  const cookies = await op.context.cookies();
  const session = cookies.find((c) => c.name === 'waypost_session');
  assert.ok(session, `no waypost_session cookie after login: ${JSON.stringify(cookies)}`);
  assert.equal(session.httpOnly, true, 'the session cookie must be HttpOnly');
  assert.equal(session.sameSite, 'Strict', 'the session cookie must be SameSite=Strict');
});

test('a wrong password is refused with a message', async () => {
  const { context, page } = await newPage(browser, cfg);
  try {
    await page.goto(cfg.url + '/');
    await page.locator('#login-tenant').fill(cfg.tenant);
    await page.locator('#login-email').fill(cfg.email);
    await page.locator('#login-password').fill(`${cfg.password}-wrong`);
    await page.locator('button#login-submit').click();
    await page.locator('[role=alert]').filter({ hasText: /\S/ }).first().waitFor();
    assert.equal(await page.locator('nav a[href="#/alerts"]').isVisible(), false);
  } finally {
    await context.close();
  }
});

test('the map becomes ready with markers for the orders', async () => {
  const { page } = op;
  await page.goto(cfg.url + '/#/map');
  await waitMapReady(page);
  const markers = await page.evaluate(() => window.waypost.markerCount());
  assert.ok(markers > 0, `the map drew ${markers} markers`);
  const mark = await page.evaluate(
    () => performance.getEntriesByName('waypost:map-ready').length,
  );
  assert.ok(mark >= 1, 'no performance mark waypost:map-ready');
  if (cfg.apiKey) {
    const { points } = await api(cfg, 'GET', '/v1/map/orders?limit=10000');
    assert.ok(
      markers <= points.length,
      `${markers} markers for ${points.length} mappable orders`,
    );
  }
  await shot(page, cfg, 'dashboard-map.png');
});

test('a new event moves an order on the map without reload', async (t) => {
  if (!cfg.apiKey) {
    t.skip('WAYPOST_API_KEY is not set');
    return;
  }
  const { page } = op;
  const { points } = await api(cfg, 'GET', '/v1/map/orders?limit=10000');
  // One the page shows, in flight, and far from where it is sent.
  const shown = await page.evaluate(
    (ids) => ids.filter((id) => window.waypost.point(id) !== null),
    points.map((p) => p.order_id),
  );
  const candidates = points.filter(
    (p) => shown.includes(p.order_id) && Math.abs(p.lat - FAR.lat) > 5,
  );
  const pick =
    candidates.find((p) => p.status === 'in_transit' || p.status === 'shipped') ??
    candidates[0];
  assert.ok(pick, `no order on the map to move (of ${points.length} points)`);
  movedOrder = pick.order_id;
  const before = await page.evaluate((id) => window.waypost.point(id), movedOrder);
  assert.ok(before, `point(${movedOrder}) is null before the move`);

  const detail = await api(cfg, 'GET', `/v1/orders/${encodeURIComponent(movedOrder)}`);
  const shipment = (detail.shipments ?? [])[0];
  await page.evaluate(() => {
    window.__waypostE2eNoReload = true;
  });
  const event = {
    source: 'e2e',
    event_id: `e2e-move-${run}`,
    order_id: movedOrder,
    status: 'in_transit',
    occurred_at: new Date().toISOString(),
    location: FAR,
    raw_code: SECRET_RAW_CODE,
    raw_description: SECRET_RAW_TEXT,
    attributes: { e2e_note: SECRET_ATTR },
  };
  if (shipment) {
    event.tracking_number = shipment.tracking_number;
    if (shipment.carrier) event.carrier = shipment.carrier;
  }
  await api(cfg, 'POST', '/v1/events', [event]);

  const moved = await until(
    `point(${movedOrder}) at ${FAR.lat},${FAR.lon}`,
    () =>
      page.evaluate(
        ({ id, lat, lon }) => {
          const p = window.waypost.point(id);
          return p && Math.abs(p.lat - lat) < 0.01 && Math.abs(p.lon - lon) < 0.01 ? p : null;
        },
        { id: movedOrder, lat: FAR.lat, lon: FAR.lon },
      ),
    cfg.timeout,
  );
  // The status the page shows is the server's, live too.
  const server = await until(`the map API showing ${movedOrder} moved`, async () => {
    const page1 = await api(cfg, 'GET', '/v1/map/orders?limit=10000');
    const p = page1.points.find((x) => x.order_id === movedOrder);
    return p && Math.abs(p.lat - FAR.lat) < 0.01 ? p : null;
  });
  await until(`point(${movedOrder}).status = ${server.status}`, () =>
    page.evaluate(
      ({ id, status }) => window.waypost.point(id)?.status === status,
      { id: movedOrder, status: server.status },
    ),
  );
  assert.ok(moved);
  assert.equal(
    await page.evaluate(() => window.__waypostE2eNoReload === true),
    true,
    'the page reloaded instead of updating live',
  );
  await shot(page, cfg, 'dashboard-moved.png');
});

/**
 * An open alert, raised by an `exception` event for the `nth` order on the map other than the
 * moved one (the wrapper's rule fires on it); else any open alert the server has.
 */
async function openAlert(nth) {
  const { points } = await api(cfg, 'GET', '/v1/map/orders?limit=10000');
  const target = points.filter((p) => p.order_id !== movedOrder)[nth];
  if (target) {
    await api(cfg, 'POST', '/v1/events', [
      {
        source: 'e2e',
        event_id: `e2e-exception-${run}-${nth}`,
        order_id: target.order_id,
        status: 'exception',
        occurred_at: new Date().toISOString(),
      },
    ]);
    const mine = await until(
      `an alert for ${target.order_id}`,
      async () => {
        const r = await api(
          cfg,
          'GET',
          `/v1/alerts?order_id=${encodeURIComponent(target.order_id)}&status=open`,
        );
        return r.alerts[0] ?? null;
      },
      5000,
    ).catch(() => null);
    if (mine) return mine;
  }
  const r = await api(cfg, 'GET', '/v1/alerts?status=open');
  assert.ok(r.alerts.length > 0, 'no open alert on the server: configure a rule that fires');
  return r.alerts[0];
}

test('an operator acknowledges an alert from the page', async () => {
  const { page } = op;
  const alert = cfg.apiKey ? await openAlert(0) : null;
  await page.locator('nav a[href="#/alerts"]').click();
  // Without a key (a fixture server), the first open row of the page.
  const id =
    alert?.id ??
    (await page
      .locator('[data-alert-id]')
      .filter({ has: page.locator('[data-field="status"]', { hasText: /open/i }) })
      .first()
      .getAttribute('data-alert-id'));
  const row = page.locator(`[data-alert-id="${id}"]`);
  await row.waitFor();
  const status = row.locator('[data-field="status"]');
  assert.match((await status.innerText()).toLowerCase(), /open/);
  await shot(page, cfg, 'alerts.png');
  await row.locator('button[data-action="ack"]').click();
  await until('the row showing acknowledged', async () =>
    /acknowledged/i.test(await status.innerText()),
  );
  if (!alert) return;
  const after = await api(cfg, 'GET', `/v1/alerts?order_id=${encodeURIComponent(alert.order_id)}&status=all`);
  const same = after.alerts.find((a) => a.id === alert.id);
  assert.equal(same?.status, 'acknowledged', JSON.stringify(same));
  await shot(page, cfg, 'alerts-acknowledged.png');
});

test('a viewer sees the alerts without the acknowledge button', async (t) => {
  if (!cfg.viewerEmail) {
    t.skip('WAYPOST_VIEWER_EMAIL is not set');
    return;
  }
  const { context, page } = await newPage(browser, cfg);
  try {
    const alert = cfg.apiKey ? await openAlert(1) : null;
    await login(page, cfg, cfg.viewerEmail, cfg.viewerPassword);
    await page.locator('nav a[href="#/alerts"]').click();
    await page.locator(alert ? `[data-alert-id="${alert.id}"]` : '[data-alert-id]').first().waitFor();
    const rows = await page.locator('[data-alert-id]').count();
    const buttons = await page.locator('button[data-action="ack"]').count();
    const visible = [];
    for (let i = 0; i < buttons; i++) {
      const b = page.locator('button[data-action="ack"]').nth(i);
      if ((await b.isVisible()) && (await b.isEnabled())) visible.push(i);
    }
    assert.equal(visible.length, 0, `a viewer sees ${visible.length} usable ack buttons on ${rows} rows`);
    await shot(page, cfg, 'alerts-viewer.png');
  } finally {
    await context.close();
  }
});

/** The tracking page's English labels (`crates/web/i18n/en.toml`: `key = "text"` lines). */
function ownLabels() {
  const file = new URL('../crates/web/i18n/en.toml', import.meta.url);
  const out = new Set();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*[\w.-]+\s*=\s*"(.*)"\s*$/.exec(line);
    if (m) out.add(m[1]);
  }
  return out;
}

test('the order detail links to the customer page, which shows nothing internal', async () => {
  const { page, context } = op;
  assert.ok(movedOrder, 'needs the moved order of an earlier scenario');
  await page.goto(cfg.url + '/' + cfg.orderRoute.replace('{id}', encodeURIComponent(movedOrder)));
  const link = page.locator('a[data-field="customer-link"]');
  await link.waitFor();
  await shot(page, cfg, 'order-detail.png');
  const href = await link.getAttribute('href');
  assert.match(href ?? '', /\/track\/[0-9a-f]{32}$/, `customer link ${href}`);
  let track = page;
  if ((await link.getAttribute('target')) === '_blank') {
    [track] = await Promise.all([context.waitForEvent('page'), link.click()]);
    await track.waitForLoadState();
  } else {
    await Promise.all([page.waitForURL(/\/track\//), link.click()]);
  }
  const token = new URL(track.url()).pathname.split('/').pop();
  const view = await (await fetch(`${cfg.url}/v1/track/${token}`)).json();
  assert.equal(view.order_id, movedOrder);

  const status = track.locator('[data-field="status"]').first();
  assert.match(await status.innerText(), /\S/, 'empty status');
  const bar = track.locator('[role=progressbar]').first();
  const now = Number(await bar.getAttribute('aria-valuenow'));
  const min = Number((await bar.getAttribute('aria-valuemin')) ?? 0);
  const max = Number((await bar.getAttribute('aria-valuemax')) ?? 100);
  assert.ok(Number.isFinite(now) && now >= min && now <= max, `progress ${now} of ${min}..${max}`);
  const items = await track.locator('ol[data-field="timeline"] > li').count();
  assert.equal(items, view.events.length, 'timeline entries');
  assert.ok(items > 0, 'an empty timeline');

  const text = await track.locator('body').innerText();
  const html = await track.content();
  for (const secret of [SECRET_RAW_CODE, SECRET_RAW_TEXT, SECRET_ATTR, 'e2e_note']) {
    assert.ok(!text.includes(secret), `the customer page shows ${secret}`);
    assert.ok(!html.includes(secret), `the customer page's HTML carries ${secret}`);
  }
  // The demo world's vendor codes and descriptions (long enough not to match by chance). A
  // description that is word for word one of the page's own English labels (the demo's WMS says
  // "Order received", as the page does for `pending`) proves nothing either way.
  const labels = ownLabels();
  const detail = await api(cfg, 'GET', `/v1/orders/${encodeURIComponent(movedOrder)}`);
  for (const e of detail.timeline) {
    if (e.raw_code && e.raw_code.length >= 6 && /[_0-9]/.test(e.raw_code)) {
      assert.ok(!text.includes(e.raw_code), `raw code "${e.raw_code}" shown`);
    }
    if (e.raw_description && e.raw_description.length >= 12 && !labels.has(e.raw_description)) {
      assert.ok(!text.includes(e.raw_description), `raw description "${e.raw_description}" shown`);
    }
  }
  await shot(track, cfg, 'tracking.png');
  if (track !== page) await track.close();
});

test('axe finds no serious or critical violation on the dashboard and tracking page', async () => {
  const { page } = op;
  const failures = [];
  // Each page on its own: one that cannot be reached is reported, the others still scanned.
  const scan = async (where, open) => {
    try {
      await open();
      // A toast from an earlier step may be fading: half-transparent text is a frame of an
      // animation, not the page. Scan once it is fully shown (its contrast is then checked)
      // or hidden.
      await page.waitForFunction(() => {
        const t = document.getElementById('toast');
        if (!t) return true;
        const s = getComputedStyle(t);
        return t.classList.contains('show') ? s.opacity === '1' : s.visibility === 'hidden';
      });
      const v = await axeScan(page);
      if (v.length) failures.push(formatViolations(where, v));
    } catch (e) {
      failures.push(`${where}: could not be scanned: ${e.message.split('\n')[0]}`);
    }
  };
  await scan('the map (#/map)', async () => {
    await page.goto(cfg.url + '/#/map');
    await waitMapReady(page);
  });
  await scan('the alerts (#/alerts)', async () => {
    await page.locator('nav a[href="#/alerts"]').click();
    await page.locator('[data-alert-id]').first().waitFor();
  });
  let href = null;
  await scan('the order detail', async () => {
    assert.ok(movedOrder, 'no order to open (set WAYPOST_ORDER_ID)');
    await page.goto(cfg.url + '/' + cfg.orderRoute.replace('{id}', encodeURIComponent(movedOrder)));
    const link = page.locator('a[data-field="customer-link"]');
    await link.waitFor();
    href = await link.getAttribute('href');
  });
  await scan('the tracking page', async () => {
    assert.ok(href, 'no customer link on the order detail');
    await page.goto(new URL(href, cfg.url).href);
    await page.locator('[role=progressbar]').first().waitFor({ state: 'attached' });
  });
  // The unknown-token page is a page customers see too.
  await scan('the tracking page of an unknown link', () =>
    page.goto(`${cfg.url}/track/${'0'.repeat(32)}`),
  );
  if (failures.length) {
    console.error(failures.join('\n\n'));
    assert.fail(failures.join('\n\n'));
  }
});

test('keyboard only: log in, reach the nav, focus is visible, Enter navigates', async () => {
  const { context, page, problems } = await newPage(browser, cfg);
  try {
    await page.goto(cfg.url + '/');
    const tabTo = async (what, test1, max = 40) => {
      for (let i = 0; i < max; i++) {
        await page.keyboard.press('Tab');
        if (await page.evaluate(test1)) return;
      }
      const at = await page.evaluate(() => document.activeElement?.outerHTML?.slice(0, 120));
      assert.fail(`Tab never reached ${what} in ${max} presses (focus on ${at})`);
    };
    await tabTo('#login-tenant', () => document.activeElement?.id === 'login-tenant');
    await page.keyboard.type(cfg.tenant);
    await tabTo('#login-email', () => document.activeElement?.id === 'login-email');
    await page.keyboard.type(cfg.email);
    await tabTo('#login-password', () => document.activeElement?.id === 'login-password');
    await page.keyboard.type(cfg.password);
    await tabTo('#login-submit', () => document.activeElement?.id === 'login-submit');
    await page.keyboard.press('Enter');
    await page.locator('nav a[href="#/alerts"]').waitFor({ state: 'visible' });

    // Logged in: the session is kept; from the top of a fresh load the nav comes first (a skip
    // link may precede it), not after every marker of the map.
    await page.goto('about:blank');
    await page.goto(cfg.url + '/#/map');
    await page.locator('nav a[href="#/alerts"]').waitFor({ state: 'visible' });
    await tabTo(
      'the nav link to #/alerts',
      () => document.activeElement?.matches?.('nav a[href="#/alerts"]') === true,
      15,
    );
    const style = await page.evaluate(() => {
      const s = getComputedStyle(document.activeElement);
      return { outline: s.outlineStyle, width: s.outlineWidth, shadow: s.boxShadow };
    });
    const outlined = style.outline !== 'none' && parseFloat(style.width) > 0;
    const shadowed = style.shadow !== 'none' && style.shadow !== '';
    assert.ok(outlined || shadowed, `no visible focus on the nav link: ${JSON.stringify(style)}`);
    await shot(page, cfg, 'keyboard-focus.png');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => location.hash === '#/alerts');
    await page.locator('[data-alert-id]').first().waitFor();
    assert.deepEqual(problems, [], 'page errors or CSP violations');
  } finally {
    await context.close();
  }
});

test('no page error or CSP violation on the operator page', () => {
  // bypassCSP hides violations on this page; the keyboard scenario checks CSP with it enforced.
  assert.deepEqual(op.problems.filter((p) => p.startsWith('page error')), []);
});
