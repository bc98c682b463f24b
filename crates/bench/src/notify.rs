//! `waypost bench notify`: how fast a state change becomes a webhook at a receiver. A server in
//! this process on a fresh store, a local receiver subscribed to `shipped`, and an open-loop
//! sender offering `--rate` state changes a second (each event opens an order as shipped);
//! the receiver notes, for every notification, its arrival minus the change's `changed_at`
//! (the engine's clock at the apply that made it; one machine, one clock).

use super::stats;
use crate::{Host, Setup};
use anyhow::{Context as _, bail};
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use waypost_domain::Clock;
use waypost_store::Scope;

#[derive(clap::Args, Debug)]
pub struct NotifyArgs {
    /// State changes offered per second.
    #[arg(long, default_value_t = 2000)]
    pub rate: u64,
    /// How long to offer them, in seconds.
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
    /// Events per request.
    #[arg(long, default_value_t = 20)]
    pub batch: u64,
}

/// The `--json` object; its field names are a contract with whoever parses the last line.
#[derive(Debug, Serialize)]
struct Report {
    /// State changes the engine made per second over the offered window.
    state_changes_per_sec: f64,
    offered_per_sec: u64,
    state_changes: u64,
    notifications_delivered: u64,
    notifications_duplicated: u64,
    /// Arrival at the receiver minus the state change's time, in milliseconds.
    dispatch_latency_ms: Latency,
    seconds: f64,
}

#[derive(Debug, Serialize)]
struct Latency {
    p50: Option<f64>,
    p99: Option<f64>,
    max: Option<f64>,
}

#[derive(Default)]
struct Received {
    ids: HashSet<String>,
    duplicates: u64,
    latencies_us: Vec<u64>,
}

async fn receive(
    received: Arc<Mutex<Received>>,
    clock: Arc<dyn Clock>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let at = clock.now();
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let changed = serde_json::from_slice::<Value>(&body).ok().and_then(|v| {
        v["data"]["changed_at"]
            .as_str()?
            .parse::<jiff::Timestamp>()
            .ok()
    });
    let Ok(mut r) = received.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR;
    };
    if !r.ids.insert(id) {
        r.duplicates += 1;
    } else if let Some(c) = changed {
        let us = at.duration_since(c).as_micros().max(0) as u64;
        r.latencies_us.push(us);
    }
    StatusCode::NO_CONTENT
}

pub async fn run(args: NotifyArgs, json_out: bool, host: &dyn Host) -> anyhow::Result<()> {
    if args.rate == 0 || args.seconds == 0 || args.batch == 0 {
        bail!("--rate, --seconds and --batch must be positive");
    }
    let received = Arc::new(Mutex::new(Received::default()));
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post({
            let (r, clock) = (received.clone(), host.clock());
            move |h: HeaderMap, b: Bytes| receive(r.clone(), clock.clone(), h, b)
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding the receiver")?;
    let hook = format!("http://{}/hook", listener.local_addr()?);
    let receiver = tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::Builder::new()
        .prefix("waypost-bench-notify-")
        .tempdir()
        .context("creating a temporary data directory")?;
    // The receiver lives on loopback, which the SSRF guard refuses unless allowed.
    let mut notify = toml::Table::new();
    notify.insert(
        "allow_networks".into(),
        toml::Value::Array(vec!["127.0.0.0/8".into()]),
    );
    let mut config = toml::Table::new();
    config.insert("notify".into(), toml::Value::Table(notify));
    let key = host.create_key(
        dir.path(),
        "bench",
        &[Scope::Ingest, Scope::Read, Scope::Admin],
        Some("bench notify"),
    )?;
    let running = host
        .start(Setup {
            data_dir: dir.path().to_path_buf(),
            config,
            connectors: None,
        })
        .await?;
    let base = format!("http://{}", running.addr);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(64)
        .build()?;
    let endpoint = post(
        &http,
        &format!("{base}/v1/notify/endpoints"),
        &key,
        json!({"name": "bench", "kind": "webhook", "url": hook}),
    )
    .await?;
    post(
        &http,
        &format!("{base}/v1/notify/subscriptions"),
        &key,
        json!({"name": "bench", "endpoint_id": endpoint["id"], "on": ["shipped"]}),
    )
    .await?;

    let changes_before = running.state.metrics.state_changes.get();
    let started = Instant::now();
    let requests = args.rate * args.seconds / args.batch;
    let every = Duration::from_secs_f64(args.batch as f64 / args.rate as f64);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut sends = tokio::task::JoinSet::new();
    let occurred = host.clock().now().to_string();
    for r in 0..requests {
        tick.tick().await;
        let events: Vec<Value> = (0..args.batch)
            .map(|i| {
                let n = r * args.batch + i;
                json!({"source": "bench", "event_id": format!("e{n}"),
                       "order_id": format!("o{n}"), "status": "shipped", "occurred_at": occurred})
            })
            .collect();
        let (http, url, key) = (http.clone(), format!("{base}/v1/events"), key.clone());
        sends.spawn(async move {
            for _ in 0..100 {
                match http.post(&url).bearer_auth(&key).json(&events).send().await {
                    Ok(resp) if resp.status().is_success() => return Ok(()),
                    Ok(resp) if resp.status() == StatusCode::TOO_MANY_REQUESTS => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Ok(resp) => bail!("the server answered {}", resp.status()),
                    Err(e) => return Err(e.into()),
                }
            }
            bail!("the server kept answering 429")
        });
        while sends.len() > 256 {
            if let Some(r) = sends.join_next().await {
                r??;
            }
        }
    }
    while let Some(r) = sends.join_next().await {
        r??;
    }
    let offered_for = started.elapsed();
    let expected = requests * args.batch;
    // The stragglers: every notification should be in within seconds.
    let wait_until = Instant::now() + Duration::from_secs(30);
    loop {
        let got = received.lock().map(|r| r.ids.len() as u64).unwrap_or(0);
        if got >= expected || Instant::now() > wait_until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let changes = running.state.metrics.state_changes.get() - changes_before;
    running.shutdown().await?;
    receiver.abort();
    let r = received
        .lock()
        .map_err(|_| anyhow::anyhow!("the receiver's tally is poisoned"))?;
    let mut hist = stats::new_histogram()?;
    for us in &r.latencies_us {
        hist.record((*us).max(1))?;
    }
    let ms = |q: f64| (!hist.is_empty()).then(|| hist.value_at_quantile(q) as f64 / 1000.0);
    let report = Report {
        state_changes_per_sec: changes as f64 / offered_for.as_secs_f64(),
        offered_per_sec: args.rate,
        state_changes: changes,
        notifications_delivered: r.ids.len() as u64,
        notifications_duplicated: r.duplicates,
        dispatch_latency_ms: Latency {
            p50: ms(0.5),
            p99: ms(0.99),
            max: (!hist.is_empty()).then(|| hist.max() as f64 / 1000.0),
        },
        seconds: started.elapsed().as_secs_f64(),
    };
    eprintln!(
        "{} state changes ({:.0}/s), {} notifications delivered, {} duplicated; dispatch latency p50 {:?} ms, p99 {:?} ms, max {:?} ms",
        report.state_changes,
        report.state_changes_per_sec,
        report.notifications_delivered,
        report.notifications_duplicated,
        report.dispatch_latency_ms.p50,
        report.dispatch_latency_ms.p99,
        report.dispatch_latency_ms.max,
    );
    if json_out {
        println!("{}", serde_json::to_string(&report)?);
    }
    if report.notifications_delivered < expected {
        bail!(
            "{} of {expected} notifications arrived",
            report.notifications_delivered
        );
    }
    Ok(())
}

async fn post(http: &reqwest::Client, url: &str, key: &str, body: Value) -> anyhow::Result<Value> {
    let resp = http.post(url).bearer_auth(key).json(&body).send().await?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    if !status.is_success() {
        bail!("{url} answered {status}: {text}");
    }
    serde_json::from_str(&text).with_context(|| format!("{url} answered {text:?}"))
}
