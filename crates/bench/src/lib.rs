//! Benchmarks of a real Waypost and the partner simulator's verification: the `waypost bench`
//! and `waypost simulate` commands, less their wiring. What they need of the binary (a server,
//! keys, users, the wall clock) comes in as a [`Host`]; nothing here reads the clock or the
//! environment itself, and every figure is measured through the same paths a user takes.
//!
//! `waypost bench`: drives the real HTTP server with many concurrent clients and reports what a
//! user of the API would see — how long an event takes from `POST /v1/events` to its state change
//! on `GET /v1/stream` at a fixed offered rate, and how many events per second reach applied state
//! at saturation. Every number is measured end to end through the public API only, so the bench
//! holds for any server behind `--url` as well as for the one it starts itself.
//!
//! Layout: [`server`] starts and measures a throwaway server, [`load`] sends, [`stream`] observes,
//! [`sse`] parses the event stream, [`stats`] turns recordings into numbers.
//!
//! `--normalize <source>` instead measures only vendor-document normalization on one core
//! ([`normalize`], over documents from [`docs`]); no server is started. `--polling` measures
//! the connectors refreshing tracking numbers against the simulator ([`polling`]).
//! `waypost bench rules` measures the exception detector's latency from a deadline to its
//! alert, with many shipments in flight ([`rules`]). `waypost bench dashboard` times the
//! operations dashboard's first load with many active orders ([`dashboard`]). `waypost bench
//! verify` times `waypost verify` and its peak memory on a store of many events ([`verify`]).
//! `waypost bench intake` replays a mixed-channel day of orders through the order channels
//! and measures, per priority, the time to `pending` on the change stream ([`intake`]).

mod dashboard;
mod docs;
mod host;
mod intake;
mod load;
mod normalize;
mod notify;
mod polling;
mod rules;
mod server;
pub mod simulate;
mod sse;
mod stats;
mod stream;
mod verify;

pub use host::{Host, Server, Setup};
pub use stats::thread_cpu_ns;

use anyhow::{Context as _, bail};
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// Per-event timestamps are kept for the latency phase (16 bytes each); this bounds that memory.
const MAX_LATENCY_EVENTS: u64 = 20_000_000;
/// How long the latency phase waits for the stream to report the last events sent.
const STRAGGLE: Duration = Duration::from_secs(10);
/// How long the saturation phase waits for the stream to catch up with what was accepted.
const CATCH_UP: Duration = Duration::from_secs(30);

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// What to measure instead of the HTTP server (none: the server).
    #[command(subcommand)]
    pub mode: Option<BenchMode>,
    /// Print one JSON object on the last line (human summary lines before it go to stderr).
    /// Global, so `waypost bench rules --json` reads as the issue spells it.
    #[arg(long, global = true)]
    pub json: bool,
    /// Target an already-running server instead of starting one (then --key is required).
    #[arg(long)]
    pub url: Option<String>,
    /// API key with the ingest and read scopes, for --url.
    #[arg(long)]
    pub key: Option<String>,
    /// Duration of each phase, in seconds.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Events per request at saturation.
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    /// Concurrent clients at saturation.
    #[arg(long, default_value_t = 32)]
    pub clients: usize,
    /// Offered events per second in the latency phase.
    #[arg(long, default_value_t = 5000)]
    pub rate: u64,
    /// Events per request in the latency phase.
    #[arg(long, default_value_t = 10)]
    pub latency_batch: usize,
    /// Measure only the normalization of this source's documents, on one thread (no server);
    /// `corpus` normalizes the whole labelled corpus (`crates/adapters/corpus`, every source).
    #[arg(long, value_name = "SOURCE|corpus")]
    pub normalize: Option<String>,
    /// Documents to generate and normalize, with --normalize.
    #[arg(long, default_value_t = 200_000, requires = "normalize")]
    pub documents: usize,
    /// Measure how many tracking numbers the polling connectors refresh per second against the
    /// partner simulator, through the whole intake.
    #[arg(long, conflicts_with_all = ["normalize", "url"])]
    pub polling: bool,
    /// Shipments in flight, with --polling.
    #[arg(long, default_value_t = 2_000, requires = "polling")]
    pub shipments: usize,
    /// With --normalize, also write the generated documents to FILE, one per line.
    #[arg(long, value_name = "FILE", requires = "normalize")]
    pub emit_documents: Option<std::path::PathBuf>,
}

/// Benches that are modes of their own, with their own arguments.
#[derive(clap::Subcommand, Debug)]
pub enum BenchMode {
    /// Detection latency of the exception rules (deadline -> alert) with many shipments in
    /// flight, on the real engine and SQLite store.
    Rules(rules::RulesArgs),
    /// Dispatch latency from a state change to its webhook at a local receiver, at a fixed
    /// rate of state changes, on the real server and store.
    Notify(notify::NotifyArgs),
    /// The operations dashboard's first load through the API (summary, map pages, warehouses,
    /// scorecards, alerts) with many active orders, on a real server in a child process.
    Dashboard(dashboard::DashboardArgs),
    /// `waypost verify` on a store of `--events` events written directly through the store:
    /// wall time, events/s and the verify process's peak memory.
    Verify(verify::VerifyArgs),
    /// Order intake: a seeded mixed-channel day of orders (API batches and singles, signed
    /// Shopify and WooCommerce webhooks, X12 850s) replayed at a multiple of its rate; per
    /// priority, the time from sending to `pending` on the change stream, and what was lost.
    Intake(intake::IntakeArgs),
}

/// The `--json` object; field names are a contract with whoever parses the last line.
#[derive(Debug, Serialize)]
struct Report {
    events_per_sec: f64,
    accepted_per_sec: f64,
    latency_ms: LatencyMs,
    latency_offered_rate: u64,
    latency_events: u64,
    missing: u64,
    saturation: SaturationReport,
    peak_rss_mb: Option<f64>,
}

/// Null percentiles when no event was seen at all: 0 ms would read as a perfect result.
#[derive(Debug, Serialize)]
struct LatencyMs {
    p50: Option<f64>,
    p90: Option<f64>,
    p99: Option<f64>,
    max: Option<f64>,
}

#[derive(Debug, Serialize)]
struct SaturationReport {
    clients: usize,
    batch: usize,
    seconds: f64,
    accepted: u64,
    throttled_429: u64,
    errors: u64,
    unapplied: u64,
}

/// `waypost bench`, with the binary's services in `host`.
pub async fn run(mut args: BenchArgs, host: &dyn Host) -> anyhow::Result<()> {
    let clock = host.clock();
    match args.mode.take() {
        Some(BenchMode::Rules(rules_args)) => {
            return rules::run(rules_args, args.json, clock).await;
        }
        Some(BenchMode::Notify(notify_args)) => {
            return notify::run(notify_args, args.json, host).await;
        }
        Some(BenchMode::Dashboard(d)) => return dashboard::run(d, args.json, host).await,
        Some(BenchMode::Verify(v)) => return verify::run(v, args.json, clock).await,
        Some(BenchMode::Intake(i)) => {
            if args.url.is_some() {
                bail!("bench intake starts its own server (it configures the tenant's orders)");
            }
            return intake::run(i, args.json, host).await;
        }
        None => {}
    }
    if args.polling {
        return polling::run(args.shipments, args.seconds, args.json, host).await;
    }
    if let Some(source) = &args.normalize {
        // CPU only, on this thread: the figure is per core.
        return normalize::run(
            source,
            args.documents,
            args.emit_documents.as_deref(),
            args.json,
        );
    }
    let latency_events = validate(&args)?;
    let client = reqwest::Client::builder()
        // A proxy picked up from the environment would be measured along with the server.
        .no_proxy()
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(5))
        .build()
        .context("building the HTTP client")?;

    let (local, url, key) = match (&args.url, &args.key) {
        (Some(url), Some(key)) => (None, url.trim_end_matches('/').to_owned(), key.clone()),
        (Some(_), None) => bail!("--key is required with --url"),
        (None, _) => {
            eprintln!("bench: starting a server with a fresh data directory");
            let server = server::LocalServer::start(&client).await?;
            let (url, key) = (server.url.clone(), server.key.clone());
            eprintln!("bench: server ready at {url}");
            (Some(server), url, key)
        }
    };

    let measured = measure(&args, &client, &url, &key, latency_events, clock).await;
    // The server is stopped even when measuring failed; its memory is only reported on success.
    let peak_rss_mb = match local {
        Some(server) => server.stop().await.context("stopping the bench server")?,
        None => None,
    };
    let mut report = measured?;
    report.peak_rss_mb = peak_rss_mb.map(|mb| round(mb, 1));
    if let Some(mb) = report.peak_rss_mb {
        eprintln!("server peak RSS: {mb} MB");
    }

    let json = if args.json {
        serde_json::to_string(&report)
    } else {
        serde_json::to_string_pretty(&report)
    };
    println!("{}", json.context("serializing the report")?);
    if report.saturation.accepted == 0 {
        bail!("the server accepted no event at all; see the errors above");
    }
    Ok(())
}

/// Checks the arguments and returns the number of latency-phase events.
fn validate(args: &BenchArgs) -> anyhow::Result<u64> {
    for (name, value) in [
        ("--seconds", args.seconds),
        ("--batch", args.batch as u64),
        ("--clients", args.clients as u64),
        ("--rate", args.rate),
        ("--latency-batch", args.latency_batch as u64),
    ] {
        if value == 0 {
            bail!("{name} must be at least 1");
        }
    }
    match args.rate.checked_mul(args.seconds) {
        Some(n) if n <= MAX_LATENCY_EVENTS => Ok(n),
        _ => bail!(
            "--rate × --seconds must be at most {MAX_LATENCY_EVENTS} events (per-event timestamps are kept)"
        ),
    }
}

async fn measure(
    args: &BenchArgs,
    client: &reqwest::Client,
    url: &str,
    key: &str,
    latency_events: u64,
    clock: Arc<dyn waypost_domain::Clock>,
) -> anyhow::Result<Report> {
    let slots = usize::try_from(latency_events).context("too many latency events")?;
    let tracker = Arc::new(stream::Tracker::new(slots));
    let auth = format!("Bearer {key}");
    let target = Arc::new(load::Target {
        client: client.clone(),
        events_url: format!("{url}/v1/events"),
        auth: auth.clone(),
        clock,
    });
    // Opened before anything is sent: a change published before the subscription would be lost.
    let reader = stream::open(client, url, &auth, tracker.clone()).await?;

    eprintln!(
        "bench: latency phase: {} events/s in requests of {} for {} s",
        args.rate, args.latency_batch, args.seconds
    );
    let lat = load::latency_phase(
        &target,
        &tracker,
        args.rate,
        args.latency_batch,
        args.seconds,
        STRAGGLE,
    )
    .await?;
    let sent: Vec<u64> = tracker.lat_sent.iter().map(|a| a.load(Relaxed)).collect();
    let seen: Vec<u64> = tracker.lat_seen.iter().map(|a| a.load(Relaxed)).collect();
    let (hist, missing) = stats::latencies(&sent, &seen)?;
    let latency = stats::summarize(&hist);
    print_latency(args, &lat, latency, missing);

    eprintln!(
        "bench: saturation phase: {} clients × {} events for {} s",
        args.clients, args.batch, args.seconds
    );
    let sat = load::saturation_phase(
        &target,
        &tracker,
        args.clients,
        args.batch,
        args.seconds,
        CATCH_UP,
    )
    .await?;
    print_saturation(&sat);

    let s = &reader.stats;
    let (reconnects, others) = (s.reconnects.load(Relaxed), s.other_messages.load(Relaxed));
    eprintln!(
        "stream: {} changes, {others} other messages, {reconnects} reconnects",
        s.changes.load(Relaxed)
    );
    drop(reader);

    let c = &sat.counters;
    Ok(Report {
        events_per_sec: round(sat.events_per_sec(), 1),
        accepted_per_sec: round(sat.accepted_per_sec(), 1),
        latency_ms: LatencyMs {
            p50: latency.map(|l| round(l.p50, 3)),
            p90: latency.map(|l| round(l.p90, 3)),
            p99: latency.map(|l| round(l.p99, 3)),
            max: latency.map(|l| round(l.max, 3)),
        },
        latency_offered_rate: args.rate,
        latency_events: lat.events_sent,
        missing,
        saturation: SaturationReport {
            clients: args.clients,
            batch: args.batch,
            seconds: round(sat.send_window.as_secs_f64(), 3),
            accepted: c.accepted.load(Relaxed),
            throttled_429: c.throttled.load(Relaxed),
            errors: c.errors.load(Relaxed),
            unapplied: sat.unapplied(),
        },
        peak_rss_mb: None,
    })
}

fn print_latency(
    args: &BenchArgs,
    lat: &load::LatencyRun,
    latency: Option<stats::LatencySummary>,
    missing: u64,
) {
    let c = &lat.counters;
    let achieved = stats::per_sec(lat.events_sent, lat.send_window);
    eprintln!(
        "latency: {} events in {} requests over {:.2} s (offered {} events/s, sent at {achieved:.0}/s); \
         accepted {}, 429s {}, errors {}",
        lat.events_sent,
        lat.requests,
        lat.send_window.as_secs_f64(),
        args.rate,
        c.accepted.load(Relaxed),
        c.throttled.load(Relaxed),
        c.errors.load(Relaxed),
    );
    if lat.late_requests > 0 {
        eprintln!(
            "latency: WARNING sending fell behind the schedule: {} requests late, by up to {:.1} ms",
            lat.late_requests,
            lat.max_lag.as_secs_f64() * 1e3
        );
    }
    match latency {
        Some(l) => eprintln!(
            "latency: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms; missing {missing}",
            l.p50, l.p90, l.p99, l.max
        ),
        None => eprintln!("latency: no event was seen on the stream; missing {missing}"),
    }
}

fn print_saturation(sat: &load::SaturationRun) {
    let c = &sat.counters;
    eprintln!(
        "saturation: accepted {} events in {:.2} s = {:.0}/s ({} requests, {} duplicates, 429s {}, errors {})",
        c.accepted.load(Relaxed),
        sat.send_window.as_secs_f64(),
        sat.accepted_per_sec(),
        c.requests.load(Relaxed),
        c.duplicates.load(Relaxed),
        c.throttled.load(Relaxed),
        c.errors.load(Relaxed),
    );
    eprintln!(
        "saturation: applied {} events in {:.2} s = {:.0}/s; unapplied {}",
        sat.seen,
        sat.applied_window.as_secs_f64(),
        sat.events_per_sec(),
        sat.unapplied()
    );
}

/// Rounds for the report: microsecond precision in milliseconds is all the histogram has, and
/// fifteen digits of events per second would only suggest a precision the run does not have.
pub fn round(x: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (x * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        bench: BenchArgs,
    }

    #[test]
    fn defaults_and_validation() {
        let args = Cli::parse_from(["bench"]).bench;
        assert_eq!((args.seconds, args.batch, args.clients), (10, 100, 32));
        assert_eq!((args.rate, args.latency_batch), (5000, 10));
        assert_eq!(validate(&args).expect("defaults are valid"), 50_000);
        let zero = Cli::parse_from(["bench", "--clients", "0"]).bench;
        assert!(validate(&zero).is_err());
        let huge = Cli::parse_from(["bench", "--rate", "10000000", "--seconds", "10"]).bench;
        assert!(validate(&huge).is_err());
    }

    #[test]
    fn rules_is_a_mode_with_json_on_either_side() {
        for argv in [
            &["bench", "rules", "--json", "--in-flight", "1000000"][..],
            &["bench", "--json", "rules", "--in-flight", "1000000"][..],
        ] {
            let args = Cli::parse_from(argv).bench;
            assert!(args.json, "{argv:?}");
            let Some(BenchMode::Rules(r)) = args.mode else {
                panic!("{argv:?} is not the rules bench");
            };
            assert_eq!(
                (r.in_flight, r.expire_per_minute, r.minutes),
                (1_000_000, 100_000, 1)
            );
        }
        assert!(Cli::parse_from(["bench"]).bench.mode.is_none());
    }

    #[test]
    fn report_has_the_documented_shape() {
        let report = Report {
            events_per_sec: 1.5,
            accepted_per_sec: 2.0,
            latency_ms: LatencyMs {
                p50: Some(1.0),
                p90: None,
                p99: None,
                max: None,
            },
            latency_offered_rate: 5000,
            latency_events: 50_000,
            missing: 0,
            saturation: SaturationReport {
                clients: 32,
                batch: 100,
                seconds: 10.0,
                accepted: 7,
                throttled_429: 0,
                errors: 0,
                unapplied: 0,
            },
            peak_rss_mb: None,
        };
        let v = serde_json::to_value(&report).expect("serializes");
        let mut keys: Vec<&str> = v
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        let mut want = vec![
            "accepted_per_sec",
            "events_per_sec",
            "latency_events",
            "latency_ms",
            "latency_offered_rate",
            "missing",
            "peak_rss_mb",
            "saturation",
        ];
        want.sort_unstable();
        assert_eq!(keys, want);
        assert_eq!(v["latency_ms"]["p90"], serde_json::Value::Null);
        assert_eq!(v["peak_rss_mb"], serde_json::Value::Null);
        assert_eq!(v["saturation"]["throttled_429"], 0);
        assert_eq!(round(1.23456, 3), 1.235);
    }
}
