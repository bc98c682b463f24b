// The dashboard's initial load, measured in a real browser: log in once, then load the map in a
// fresh browser context (cold cache) several times and time navigation start ->
// performance.mark('waypost:map-ready'). Prints one JSON line {runs, p50_ms, max_ms, markers,
// samples_ms}. The server must already hold the orders (crates/waypost/tests/browser.rs seeds
// 10,000). WAYPOST_LOAD_RUNS (default 7) sets the number of cold loads; with
// WAYPOST_LOAD_BUDGET_MS set, a p50 above it exits 1.
import { settings, launch, newPage, login, waitMapReady, percentile } from './lib.mjs';

const cfg = settings();
const runs = Number(process.env.WAYPOST_LOAD_RUNS || 7);
const budget = process.env.WAYPOST_LOAD_BUDGET_MS ? Number(process.env.WAYPOST_LOAD_BUDGET_MS) : null;
// 10,000 markers on a slow CI machine can take a while; a hang still ends.
cfg.timeout = Math.max(cfg.timeout, 60000);

const browser = await launch(cfg);
try {
  const first = await newPage(browser, cfg);
  await login(first.page, cfg, cfg.email, cfg.password);
  const state = await first.context.storageState();
  await first.context.close();

  const samples = [];
  let markers = 0;
  for (let i = 0; i < runs; i++) {
    // A new context has an empty HTTP cache: every run is a cold load with a valid session.
    const { context, page } = await newPage(browser, cfg, { storageState: state });
    await page.goto(cfg.url + '/#/map');
    await waitMapReady(page);
    const ms = await page.evaluate(() => {
      const m = performance.getEntriesByName('waypost:map-ready', 'mark')[0];
      // Marks are relative to the time origin, which is the navigation start.
      return m ? m.startTime : null;
    });
    if (ms === null) throw new Error('no waypost:map-ready mark');
    markers = await page.evaluate(() => window.waypost.markerCount());
    samples.push(Math.round(ms));
    console.error(`run ${i + 1}/${runs}: ${Math.round(ms)} ms, ${markers} markers`);
    await context.close();
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const result = {
    runs,
    p50_ms: percentile(sorted, 50),
    max_ms: sorted[sorted.length - 1],
    markers,
    samples_ms: samples,
  };
  console.log(JSON.stringify(result));
  if (budget !== null && result.p50_ms > budget) {
    console.error(`p50 ${result.p50_ms} ms is over the budget of ${budget} ms`);
    process.exitCode = 1;
  }
} finally {
  await browser.close();
}
