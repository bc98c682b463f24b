//! `waypost bench intake`: a seeded mixed-channel day of orders replayed at a multiple of its
//! normal rate through the real HTTP channels of a real server (a child process on a fresh
//! embedded store): Waypost's own `POST /v1/orders` in batches and one by one, signed Shopify
//! and WooCommerce webhooks, X12 850s. About a fifth are high priority by the tenant's
//! accounts; a few percent are planted bad (unknown SKU: held; absurd quantity: rejected).
//! A 429 is waited out as its `Retry-After` asks and sent again: backpressure, not loss.
//!
//! Measured per priority: the time from sending an order to its `pending` change on
//! `GET /v1/stream`. `lost` counts orders acknowledged as accepted or backordered that never
//! showed on the stream, plus orders acknowledged as held or rejected that the order book
//! cannot explain afterwards (`GET /v1/orders/{id}/intake`).

pub(crate) mod send;
pub(crate) mod watch;

use crate::{Host, round, server, stats};
use anyhow::{Context as _, bail};
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};
use watch::Seen;
use waypost_sim::orders_in::{self, IntakeDay, Mix, Planted, Priority, settings};

/// The tenant `waypost keys create` makes the bench server's key for.
const TENANT: &str = "bench";
/// Percent of the orders of routes that can say so sent high priority (X12 partners send
/// standard orders only, so this makes about a fifth of the day).
const HIGH_PCT: f64 = 22.0;
/// Orders per `POST /v1/orders` batch (about half of the API's orders go one by one).
const API_BATCH: usize = 10;

/// How long acknowledged orders may take to show on the stream after the last send.
const STRAGGLE: Duration = Duration::from_secs(30);

#[derive(clap::Args, Debug)]
pub struct IntakeArgs {
    /// Orders in the day.
    #[arg(long, default_value_t = 20_000)]
    pub orders: usize,
    /// The day's normal rate, in orders per second.
    #[arg(long, default_value_t = 50.0)]
    pub base_rate: f64,
    /// How many times faster than normal the day is replayed.
    #[arg(long, default_value_t = 10.0)]
    pub rate_multiplier: f64,
    /// Seed of the day's mix.
    #[arg(long, default_value_t = 18)]
    pub seed: u64,
    /// Requests in flight at most.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
}

/// The `--json` object; field names are a contract with whoever parses the last line.
#[derive(Debug, Serialize)]
struct Report {
    offered: u64,
    accepted: u64,
    held: u64,
    rejected: u64,
    lost: u64,
    rate_multiplier: f64,
    latency_ms: ByPriority,
    peak_rss_mb: Option<f64>,
    /// Orders per second offered, and achieved from the first send to the last answer.
    offered_rate: f64,
    achieved_rate: f64,
    backordered: u64,
    cancelled: u64,
    /// Orders whose outcome differs from what the profile must give them.
    unexpected: u64,
    /// Orders the server refused (422) or that failed, never acknowledged.
    errors: u64,
    throttled_429: u64,
    high_priority: u64,
}

#[derive(Debug, Serialize)]
struct ByPriority {
    high: Percentiles,
    standard: Percentiles,
}

#[derive(Debug, Serialize)]
struct Percentiles {
    p50: Option<f64>,
    p99: Option<f64>,
    seen: u64,
}

pub async fn run(args: IntakeArgs, json: bool, host: &dyn Host) -> anyhow::Result<()> {
    let rate = args.base_rate * args.rate_multiplier;
    if args.orders == 0 || !(rate.is_finite() && rate > 0.0) || args.concurrency == 0 {
        bail!("--orders, --base-rate × --rate-multiplier and --concurrency must be positive");
    }
    let clock = host.clock();
    let mix = Mix {
        orders: args.orders,
        seed: args.seed,
        planted: vec![(Planted::UnknownSku, 2.0), (Planted::OverQuantity, 1.0)],
        every_kind: false,
        high_pct: HIGH_PCT,
        api_batch: API_BATCH,
    };
    let day = orders_in::plan(&mix, clock.now()).context("planning the day")?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(5))
        .build()
        .context("building the HTTP client")?;
    eprintln!("bench: intake: starting a server with the bench tenant's order settings");
    let profile = settings::profile();
    let config = settings::config_toml(TENANT, "{dir}");
    let files = [
        ("waypost.toml", config.as_str()),
        ("orders-accounts.toml", settings::ACCOUNTS),
        ("orders-profile.toml", profile.as_str()),
    ];
    let server = server::LocalServer::start_configured(&client, &files).await?;
    eprintln!("bench: intake: server ready at {}", server.url);
    let measured = measure(&args, rate, &day, &client, &server.url, &server.key).await;
    let peak = server.stop().await.context("stopping the bench server")?;
    let mut report = measured?;
    report.peak_rss_mb = peak.map(|mb| round(mb, 1));
    let text = if json {
        serde_json::to_string(&report)
    } else {
        serde_json::to_string_pretty(&report)
    };
    println!("{}", text.context("serializing the report")?);
    Ok(())
}

async fn measure(
    args: &IntakeArgs,
    rate: f64,
    day: &IntakeDay,
    client: &reqwest::Client,
    url: &str,
    key: &str,
) -> anyhow::Result<Report> {
    let auth = format!("Bearer {key}");
    let put = client
        .put(format!("{url}/v1/catalogue"))
        .header(reqwest::header::AUTHORIZATION, &auth)
        .json(&settings::catalogue())
        .send()
        .await
        .context("PUT /v1/catalogue")?;
    if !put.status().is_success() {
        let status = put.status();
        bail!(
            "PUT /v1/catalogue answered {status}: {}",
            put.text().await.unwrap_or_default()
        );
    }
    let board = Arc::new(watch::Board::new(
        day.truths.iter().map(|o| o.order_id.clone()),
    ));
    let watcher = watch::open(client, url, &auth, board.clone()).await?;
    eprintln!(
        "bench: intake: {} orders in {} requests at {rate:.0} orders/s ({}× {}/s)",
        day.truths.len(),
        day.deliveries.len(),
        args.rate_multiplier,
        args.base_rate
    );
    let target = send::Target {
        client: client.clone(),
        base: url.to_owned(),
        auth: auth.clone(),
        tenant: TENANT.to_owned(),
    };
    let started = Instant::now();
    let ids = day.truths.iter().map(|t| t.order_id.clone()).collect();
    let sent = send::replay(
        &target,
        &day.deliveries,
        ids,
        &board,
        Some(rate),
        args.concurrency,
    )
    .await?;
    let window = started.elapsed();
    let acked: Vec<Option<send::Ack>> = sent
        .acks
        .iter()
        .map(|a| a.as_ref().map(|a| a.ack))
        .collect();
    // Stragglers: every order acknowledged into the flow should show on the stream.
    let flowing = acked
        .iter()
        .filter(|a| matches!(a, Some(send::Ack::Accepted | send::Ack::Backordered)))
        .count() as u64;
    let until = Instant::now() + STRAGGLE;
    let in_flow_seen = || {
        (0..day.truths.len())
            .filter(|&i| {
                matches!(acked[i], Some(send::Ack::Accepted | send::Ack::Backordered))
                    && matches!(board.seen_as(i), Seen::Pending | Seen::Backordered)
            })
            .count() as u64
    };
    while in_flow_seen() < flowing && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(watcher);
    let mut lost = flowing - in_flow_seen();
    // Held and rejected orders must be in the order book, with their reasons.
    let mut parked = 0;
    for (i, ack) in acked.iter().enumerate() {
        if matches!(ack, Some(send::Ack::Held | send::Ack::Rejected)) {
            parked += 1;
            if !send::explained(&target, &day.truths[i].order_id).await? {
                lost += 1;
            }
        }
    }
    eprintln!("bench: intake: {parked} held or rejected orders checked in the order book");
    let count = |want: send::Ack| acked.iter().filter(|a| **a == Some(want)).count() as u64;
    let surprises: Vec<(&orders_in::IntakeTruth, String)> = day
        .truths
        .iter()
        .zip(&sent.acks)
        .filter_map(|(t, a)| {
            let a = a.as_ref()?;
            let got = format!("{} because {:?}", a.ack.name(), a.because);
            (a.ack.name() != t.outcome).then_some((t, got))
        })
        .collect();
    for (o, a) in surprises.iter().take(5) {
        eprintln!(
            "bench: intake: {} was expected {} but is {}",
            o.order_id, o.outcome, a
        );
    }
    let unexpected = surprises.len() as u64;
    let latency = |p: Priority| -> anyhow::Result<Percentiles> {
        let (mut sent_ns, mut seen_ns) = (Vec::new(), Vec::new());
        for (i, o) in day.truths.iter().enumerate() {
            if o.priority == p && board.seen_as(i) == Seen::Pending {
                sent_ns.push(board.sent[i].load(Relaxed));
                seen_ns.push(board.seen[i].load(Relaxed));
            }
        }
        let (hist, _) = stats::latencies(&sent_ns, &seen_ns)?;
        let s = stats::summarize(&hist);
        Ok(Percentiles {
            p50: s.map(|s| round(s.p50, 3)),
            p99: s.map(|s| round(s.p99, 3)),
            seen: hist.len(),
        })
    };
    let report = Report {
        offered: day.truths.len() as u64,
        accepted: count(send::Ack::Accepted) + count(send::Ack::Backordered),
        held: count(send::Ack::Held),
        rejected: count(send::Ack::Rejected),
        lost,
        rate_multiplier: args.rate_multiplier,
        latency_ms: ByPriority {
            high: latency(Priority::High)?,
            standard: latency(Priority::Standard)?,
        },
        peak_rss_mb: None,
        offered_rate: round(rate, 1),
        achieved_rate: round(stats::per_sec(day.truths.len() as u64, window), 1),
        backordered: count(send::Ack::Backordered),
        cancelled: count(send::Ack::Cancelled),
        unexpected,
        errors: acked.iter().filter(|a| a.is_none()).count() as u64,
        throttled_429: sent.throttled,
        high_priority: day
            .truths
            .iter()
            .filter(|o| o.priority == Priority::High)
            .count() as u64,
    };
    eprintln!(
        "bench: intake: accepted {}, held {}, rejected {}, lost {}, unexpected {}, errors {}, 429s {}; stream: {} changes, {} reconnects",
        report.accepted,
        report.held,
        report.rejected,
        report.lost,
        report.unexpected,
        report.errors,
        report.throttled_429,
        board.changes.load(Relaxed),
        board.reconnects.load(Relaxed),
    );
    Ok(report)
}
