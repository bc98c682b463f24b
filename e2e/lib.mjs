// Shared pieces of the browser tests: settings from the environment, the browser, the login,
// the API client (bearer key) and the accessibility scan. Nothing here asserts: the callers do.
import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

const require = createRequire(import.meta.url);
export const AXE_PATH = require.resolve('axe-core/axe.min.js');

/** A required setting; a missing one stops the run with its name, not a confusing failure later. */
export function need(name) {
  const v = process.env[name];
  if (v === undefined || v === '') {
    throw new Error(`environment variable ${name} is not set (see e2e/README.md)`);
  }
  return v;
}

export function settings() {
  const artifacts = process.env.WAYPOST_ARTIFACTS || path.resolve('e2e-artifacts');
  mkdirSync(artifacts, { recursive: true });
  return {
    url: need('WAYPOST_URL').replace(/\/+$/, ''),
    tenant: need('WAYPOST_TENANT'),
    email: need('WAYPOST_EMAIL'),
    password: need('WAYPOST_PASSWORD'),
    apiKey: process.env.WAYPOST_API_KEY || '',
    viewerEmail: process.env.WAYPOST_VIEWER_EMAIL || '',
    viewerPassword: process.env.WAYPOST_VIEWER_PASSWORD || '',
    artifacts,
    chromium: process.env.WAYPOST_CHROMIUM || '/usr/bin/chromium',
    // The order detail's route is the front-end's business; the default is its hash route.
    orderRoute: process.env.WAYPOST_ORDER_ROUTE || '#/orders/{id}',
    timeout: Number(process.env.WAYPOST_E2E_TIMEOUT_MS || 15000),
  };
}

export async function launch(cfg) {
  return chromium.launch({
    executablePath: cfg.chromium,
    headless: true,
    // Root in CI containers: no user namespaces for the sandbox; /dev/shm is often tiny.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--hide-scrollbars'],
  });
}

/**
 * A fresh browser context (empty cache and cookies). Page errors and CSP violations are
 * collected in `problems`, so a test can fail on what a user would never see in the DOM.
 */
export async function newPage(browser, cfg, opts = {}) {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    locale: 'en-US',
    ...opts,
  });
  context.setDefaultTimeout(cfg.timeout);
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) {
      problems.push(`CSP: ${m.text()}`);
    }
  });
  return { context, page, problems };
}

/** Logs in through the form by mouse and keyboard typing; resolves once the nav is shown. */
export async function login(page, cfg, email, password) {
  await page.goto(cfg.url + '/');
  await page.locator('#login-tenant').fill(cfg.tenant);
  await page.locator('#login-email').fill(email);
  await page.locator('#login-password').fill(password);
  await page.locator('button#login-submit').click();
  await page.locator('nav a[href="#/map"]').waitFor({ state: 'visible' });
}

export async function waitMapReady(page) {
  await page.waitForFunction(
    () =>
      document.documentElement.dataset.mapReady === '1' &&
      typeof window.waypost?.markerCount === 'function',
  );
}

/** The JSON API with the bearer key. Throws with the answer's body on a non-2xx status. */
export async function api(cfg, method, p, body) {
  if (!cfg.apiKey) throw new Error('WAYPOST_API_KEY is not set: this scenario posts events');
  const r = await fetch(cfg.url + p, {
    method,
    headers: {
      authorization: `Bearer ${cfg.apiKey}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${p} -> ${r.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Polls `fn` until it returns a truthy value; throws `what` with the last value on timeout. */
export async function until(what, fn, ms = 15000, every = 200) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > end) throw new Error(`timed out: ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/**
 * Runs axe-core on the page and returns the serious and critical violations, each with the
 * elements it names, ready to print. The context must bypass CSP (the script is injected).
 */
export async function axeScan(page) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) {
    await page.addScriptTag({ path: AXE_PATH });
  }
  const result = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    window.axe.run(document, { resultTypes: ['violations'] }),
  );
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')} ${n.html}: ${n.failureSummary}`),
    }));
}

export function formatViolations(where, violations) {
  return (
    `${violations.length} serious/critical axe violation(s) on ${where}:\n` +
    violations
      .map((v) => `- [${v.impact}] ${v.id}: ${v.help}\n    ${v.nodes.join('\n    ')}`)
      .join('\n')
  );
}

export async function shot(page, cfg, name) {
  await page.screenshot({ path: path.join(cfg.artifacts, name), fullPage: true });
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}
