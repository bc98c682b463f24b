//! `waypost bench dashboard`: how long the operations dashboard's first load takes through the
//! API with many active orders. A real server in a child process on a fresh store
//! ([`super::server::LocalServer`]); `--orders` active orders spread over several hundred
//! places with coordinates, five carriers, six warehouses and three channels, plus a tenth as
//! many delivered ones for the scorecards, loaded through `POST /v1/events`; then, per round,
//! the calls the dashboard makes before it draws (summary, every map page, warehouses,
//! scorecards, the first page of alerts), each timed with gzip accepted, as a browser would.

use crate::Host;
use anyhow::{Context as _, bail};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::{Value, json};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use waypost_domain::quantile::nearest_rank;

#[derive(clap::Args, Debug)]
pub struct DashboardArgs {
    /// Active orders to load.
    #[arg(long, default_value_t = 10_000)]
    pub orders: usize,
    /// Times the dashboard's first load is repeated.
    #[arg(long, default_value_t = 7)]
    pub rounds: usize,
    /// Map page size (`limit` of `/v1/map/orders`).
    #[arg(long, default_value_t = 5_000)]
    pub page: usize,
    /// Also time the map's cold load in a real browser: the folder of the browser tests
    /// (`e2e`, after `npm ci`), whose `load.mjs` drives Chromium (`WAYPOST_CHROMIUM`, default
    /// `/usr/bin/chromium`) from navigation start to the map's `waypost:map-ready` mark.
    #[arg(long, value_name = "E2E_DIR")]
    pub browser: Option<PathBuf>,
}

/// The `--json` object; field names are a contract with whoever parses the last line.
#[derive(Debug, Serialize)]
struct Report {
    active_orders: usize,
    delivered_orders: usize,
    /// How long loading and applying the orders took.
    load_seconds: f64,
    rounds: usize,
    /// Every call of one first load, one after the other, in milliseconds.
    sequential_load_ms: Quantiles,
    map_points: usize,
    endpoints: Vec<EndpointReport>,
    /// `load.mjs`'s figures (`runs`, `p50_ms`, `max_ms`, `markers`, `samples_ms`), with
    /// `--browser`.
    #[serde(skip_serializing_if = "Option::is_none")]
    browser: Option<Value>,
}

#[derive(Debug, Serialize)]
struct Quantiles {
    p50: Option<f64>,
    p99: Option<f64>,
    max: Option<f64>,
}

impl Quantiles {
    fn of(mut ms: Vec<f64>) -> Quantiles {
        ms.sort_by(f64::total_cmp);
        let q = |p: f64| nearest_rank(&ms, p).map(|x| super::round(x, 2));
        Quantiles {
            p50: q(0.5),
            p99: q(0.99),
            max: ms.last().map(|x| super::round(*x, 2)),
        }
    }
}

#[derive(Debug, Serialize)]
struct EndpointReport {
    name: &'static str,
    /// Requests per load (the map takes one per page).
    requests: usize,
    ms: Quantiles,
    /// Bytes on the wire with gzip, and of the JSON itself.
    bytes_gzip: usize,
    bytes_json: usize,
}

const CARRIERS: [&str; 5] = ["UPS", "FedEx", "DHL", "USPS", "OnTrac"];
const WAREHOUSES: [(&str, f64, f64); 6] = [
    ("EWR", 40.69, -74.17),
    ("LAX", 33.94, -118.41),
    ("DFW", 32.90, -97.04),
    ("ORD", 41.97, -87.91),
    ("ATL", 33.64, -84.43),
    ("SEA", 47.45, -122.31),
];
const CHANNELS: [&str; 3] = ["web", "store", "marketplace"];
const STATES: [&str; 8] = ["CA", "TX", "NY", "IL", "GA", "WA", "FL", "OH"];
const ACTIVE: [&str; 6] = [
    "packed",
    "shipped",
    "in_transit",
    "in_transit",
    "out_for_delivery",
    "delayed",
];
/// Places orders are spread over (synthetic, inside the contiguous US).
const PLACES: usize = 600;
const BATCH: usize = 500;
const LOAD_TIMEOUT: Duration = Duration::from_secs(600);

fn place(i: usize) -> Value {
    // A fixed scatter: the same places every run.
    let mut r = StdRng::seed_from_u64(i as u64);
    json!({
        "city": format!("Town {i}"),
        "region": STATES[i % STATES.len()],
        "country": "US",
        "lat": super::round(r.random_range(26.0..48.5), 4),
        "lon": super::round(r.random_range(-122.5..-71.0), 4),
    })
}

/// The orders' events, their times counted back from `now`.
fn events(orders: usize, delivered: usize, now: jiff::Timestamp) -> Vec<Value> {
    let mut rng = StdRng::seed_from_u64(7);
    let ago = |h: f64| (now - jiff::SignedDuration::from_secs_f64(h * 3600.0)).to_string();
    let mut out = Vec::with_capacity(orders + 2 * delivered);
    for i in 0..orders + delivered {
        let (wh, wlat, wlon) = WAREHOUSES[i % WAREHOUSES.len()];
        let base = json!({
            "source": "bench",
            "order_id": format!("D{i:07}"),
            "tracking_number": format!("1ZB{i:07}"),
            "carrier": CARRIERS[i % CARRIERS.len()],
            "origin": {"city": wh, "country": "US", "region": STATES[i % STATES.len()], "lat": wlat, "lon": wlon},
            "destination": place(rng.random_range(0..PLACES)),
            "promised_at": ago(-rng.random_range(0.0..72.0)),
            "attributes": {"warehouse": wh, "channel": CHANNELS[i % CHANNELS.len()]},
        });
        let mut e = base.clone();
        e["event_id"] = json!(format!("d{i}"));
        e["location"] = place(rng.random_range(0..PLACES));
        if i < orders {
            e["status"] = json!(ACTIVE[rng.random_range(0..ACTIVE.len())]);
            e["occurred_at"] = json!(ago(rng.random_range(0.0..48.0)));
            out.push(e);
        } else {
            let shipped = rng.random_range(48.0..600.0);
            e["status"] = json!("shipped");
            e["occurred_at"] = json!(ago(shipped));
            out.push(e);
            let mut d = base;
            d["event_id"] = json!(format!("d{i}-delivered"));
            d["status"] = json!("delivered");
            d["occurred_at"] = json!(ago(shipped - rng.random_range(10.0..47.0)));
            d["promised_at"] = json!(ago(shipped - 36.0));
            out.push(d);
        }
    }
    out
}

async fn post_all(
    http: &reqwest::Client,
    url: &str,
    key: &str,
    evs: Vec<Value>,
) -> anyhow::Result<()> {
    let batches: Vec<Value> = evs.chunks(BATCH).map(|c| json!(c)).collect();
    for group in batches.chunks(4) {
        let sends = group.iter().map(|b| async move {
            loop {
                let r = http
                    .post(format!("{url}/v1/events"))
                    .bearer_auth(key)
                    .json(b)
                    .send()
                    .await
                    .context("POST /v1/events")?;
                match r.status().as_u16() {
                    200..=299 => return Ok(()),
                    // Busy: the engine's queue is full; wait for it to drain.
                    429 | 503 => tokio::time::sleep(Duration::from_millis(200)).await,
                    s => bail!(
                        "POST /v1/events answered {s}: {}",
                        r.text().await.unwrap_or_default()
                    ),
                }
            }
        });
        futures::future::try_join_all(sends).await?;
    }
    Ok(())
}

/// One GET with gzip accepted (or not): the JSON, its size on the wire, and the time to the
/// last byte.
async fn fetch(
    http: &reqwest::Client,
    url: &str,
    key: &str,
    gzip: bool,
) -> anyhow::Result<(Value, usize, Duration)> {
    let t = Instant::now();
    let mut req = http.get(url).bearer_auth(key);
    if gzip {
        req = req.header(reqwest::header::ACCEPT_ENCODING, "gzip");
    }
    let r = req.send().await.with_context(|| format!("GET {url}"))?;
    let status = r.status();
    let zipped = r
        .headers()
        .get(reqwest::header::CONTENT_ENCODING)
        .is_some_and(|v| v.as_bytes() == b"gzip");
    let body = r.bytes().await.with_context(|| format!("reading {url}"))?;
    let took = t.elapsed();
    let plain = if zipped {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut out)
            .with_context(|| format!("gunzipping {url}"))?;
        out
    } else {
        body.to_vec()
    };
    if !status.is_success() {
        bail!(
            "GET {url} answered {status}: {}",
            String::from_utf8_lossy(&plain)
        );
    }
    let v = serde_json::from_slice(&plain).with_context(|| format!("parsing {url}"))?;
    Ok((v, body.len(), took))
}

/// One endpoint of the first load: (requests, wire bytes, JSON bytes, time, map points).
async fn load_one(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    path: &str,
    page: usize,
    gzip: bool,
) -> anyhow::Result<(usize, usize, usize, Duration, usize)> {
    if path != "/v1/map/orders" {
        let (v, wire, took) = fetch(http, &format!("{base}{path}"), key, gzip).await?;
        return Ok((1, wire, v.to_string().len(), took, 0));
    }
    let (mut n, mut wire, mut plain, mut took, mut points) = (0, 0, 0, Duration::ZERO, 0);
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{base}/v1/map/orders?limit={page}&cursor={c}"),
            None => format!("{base}/v1/map/orders?limit={page}"),
        };
        let (v, w, t) = fetch(http, &url, key, gzip).await?;
        n += 1;
        wire += w;
        plain += v.to_string().len();
        took += t;
        points += v["points"].as_array().map_or(0, Vec::len);
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return Ok((n, wire, plain, took, points)),
        }
    }
}

const CALLS: [(&str, &str); 5] = [
    ("summary", "/v1/dashboard/summary"),
    ("map_orders", "/v1/map/orders"),
    ("warehouses", "/v1/map/warehouses"),
    ("scorecards", "/v1/carriers/scorecards"),
    ("alerts", "/v1/alerts"),
];

pub async fn run(args: DashboardArgs, json_out: bool, host: &dyn Host) -> anyhow::Result<()> {
    if args.orders == 0 || args.rounds == 0 || !(1..=10_000).contains(&args.page) {
        bail!("--orders and --rounds must be positive, --page from 1 to 10000");
    }
    let http = reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(60))
        .build()
        .context("building the HTTP client")?;
    eprintln!("bench: starting a server with a fresh data directory");
    let server = super::server::LocalServer::start(&http).await?;
    let now = host.clock().now();
    let mut measured = measure(&args, &http, &server.url, &server.key, now).await;
    if let (Ok(report), Some(e2e)) = (&mut measured, &args.browser) {
        match browser_load(e2e, &server, host).await {
            Ok(figures) => report.browser = Some(figures),
            Err(e) => measured = Err(e),
        }
    }
    server.stop().await.context("stopping the bench server")?;
    let report = measured?;
    let text = if json_out {
        serde_json::to_string(&report)
    } else {
        serde_json::to_string_pretty(&report)
    };
    println!("{}", text.context("serializing the report")?);
    Ok(())
}

/// The tenant of the bench server's key (`super::server`), and the operator the browser logs in as.
const BENCH_TENANT: &str = "bench";
const BROWSER_EMAIL: &str = "bench@bench.example";

/// Creates an operator on the running server's store and runs `load.mjs` against it.
async fn browser_load(
    e2e: &Path,
    server: &super::server::LocalServer,
    host: &dyn Host,
) -> anyhow::Result<Value> {
    if !e2e.join("load.mjs").is_file() || !e2e.join("node_modules/playwright-core").is_dir() {
        bail!(
            "--browser {}: not the browser tests' folder with its packages (run `npm ci` in e2e/)",
            e2e.display()
        );
    }
    let password = format!("bench-{:016x}", rand::random::<u64>());
    host.put_user(
        server.data_dir(),
        BENCH_TENANT,
        BROWSER_EMAIL,
        waypost_store::Role::Operator,
        &password,
        waypost_store::OnExisting::Refuse,
    )
    .context("creating the browser's login")?;
    eprintln!("bench: timing the map's cold load in Chromium");
    let out = tokio::process::Command::new("node")
        .arg("load.mjs")
        .current_dir(e2e)
        .env("WAYPOST_URL", &server.url)
        .env("WAYPOST_TENANT", BENCH_TENANT)
        .env("WAYPOST_EMAIL", BROWSER_EMAIL)
        .env("WAYPOST_PASSWORD", &password)
        .env(
            "WAYPOST_ARTIFACTS",
            std::env::temp_dir().join("waypost-bench-e2e"),
        )
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .context("running `node load.mjs` (is node installed?)")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "`node load.mjs` failed with {}: {}{}",
            out.status,
            stdout,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<Value>(l).ok())
        .with_context(|| format!("`node load.mjs` printed no JSON line: {stdout}"))
}

async fn measure(
    args: &DashboardArgs,
    http: &reqwest::Client,
    base: &str,
    key: &str,
    now: jiff::Timestamp,
) -> anyhow::Result<Report> {
    let delivered = args.orders / 10;
    let started = Instant::now();
    post_all(http, base, key, events(args.orders, delivered, now)).await?;
    let deadline = Instant::now() + LOAD_TIMEOUT;
    loop {
        let (s, _, _) = fetch(http, &format!("{base}/v1/dashboard/summary"), key, false).await?;
        if s["active"].as_u64() >= Some(args.orders as u64)
            && s["total"].as_u64() >= Some((args.orders + delivered) as u64)
        {
            break;
        }
        if Instant::now() > deadline {
            bail!("the orders were not all applied within {LOAD_TIMEOUT:?}: {s}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let load_seconds = super::round(started.elapsed().as_secs_f64(), 2);
    eprintln!(
        "bench: {} active and {delivered} delivered orders loaded in {load_seconds} s",
        args.orders
    );

    // Sizes without compression, once; then the timed rounds with it (one warm-up first).
    let mut plain_sizes = Vec::new();
    for (_, path) in CALLS {
        plain_sizes.push(load_one(http, base, key, path, args.page, false).await?.2);
    }
    let mut per_call: Vec<Vec<f64>> = vec![Vec::new(); CALLS.len()];
    let mut wire = vec![0; CALLS.len()];
    let mut requests = vec![0; CALLS.len()];
    let mut sequential = Vec::new();
    let mut map_points = 0;
    for round in 0..=args.rounds {
        let mut total = 0.0;
        for (i, (_, path)) in CALLS.iter().enumerate() {
            let (n, w, _, took, points) = load_one(http, base, key, path, args.page, true).await?;
            let ms = took.as_secs_f64() * 1000.0;
            total += ms;
            if round > 0 {
                per_call[i].push(ms);
            }
            (requests[i], wire[i]) = (n, w);
            map_points = map_points.max(points);
        }
        if round > 0 {
            sequential.push(total);
        }
    }
    let endpoints = CALLS
        .iter()
        .enumerate()
        .map(|(i, (name, _))| EndpointReport {
            name,
            requests: requests[i],
            ms: Quantiles::of(per_call[i].clone()),
            bytes_gzip: wire[i],
            bytes_json: plain_sizes[i],
        })
        .collect();
    Ok(Report {
        active_orders: args.orders,
        delivered_orders: delivered,
        load_seconds,
        rounds: args.rounds,
        sequential_load_ms: Quantiles::of(sequential),
        map_points,
        endpoints,
        browser: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_are_spread_and_the_delivered_ones_have_two_events() {
        let evs = events(60, 6, jiff::Timestamp::UNIX_EPOCH);
        assert_eq!(evs.len(), 60 + 12);
        let carriers: std::collections::HashSet<&str> =
            evs.iter().filter_map(|e| e["carrier"].as_str()).collect();
        assert_eq!(carriers.len(), CARRIERS.len());
        assert!(evs[..60].iter().all(|e| e["location"]["lat"].is_f64()));
        assert_eq!(evs[60]["status"], "shipped");
        assert_eq!(evs[61]["status"], "delivered");
        assert_eq!(evs[60]["order_id"], evs[61]["order_id"]);
    }
}
