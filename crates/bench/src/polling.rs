//! `waypost bench --polling`: how many tracking numbers the connectors refresh per second
//! against the simulator's carrier APIs, through the whole path a real poll takes: HTTP to the
//! partner (OAuth2 tokens, FedEx's 30-number batches), the vendor parser and mapping, the
//! intake, the log's dedup and commit. The world's events all lie in the past, so every
//! answer is a full history; every shipment is kept due at once, so the figure is the
//! runtime's ceiling on this machine, not a schedule's.

use crate::{Host, Setup};
use anyhow::Context;
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use waypost_adapters::Source;
use waypost_connectors::{
    ConnectorConfig, ConnectorHealth, MemoryStateStore, ScheduleConfig, Target,
};
use waypost_domain::{Status, TenantId};
use waypost_sim::{Sim, SimConfig};

#[derive(Debug, Serialize)]
struct Report {
    shipments: usize,
    seconds: f64,
    /// Tracking numbers whose poll was answered, per second.
    numbers_per_sec: f64,
    requests_per_sec: f64,
    events_per_sec: f64,
    per_carrier: Vec<CarrierRate>,
    errors: u64,
}

#[derive(Debug, Serialize)]
struct CarrierRate {
    carrier: String,
    numbers_per_sec: f64,
    requests_per_sec: f64,
}

fn carrier_configs(sim: &Sim) -> anyhow::Result<Vec<ConnectorConfig>> {
    let mut out = Vec::new();
    for e in sim.connectors().into_iter().filter(|e| e.source != "wms") {
        let mut c = crate::simulate::connector_config(&e)?;
        c.rate_per_sec = 1_000_000.0;
        c.burst = 10_000;
        c.concurrency = 16;
        // Due again as soon as answered: the ceiling, not a schedule.
        c.schedule = ScheduleConfig {
            fast: Duration::from_millis(1),
            normal: Duration::from_millis(1),
            slow: Duration::from_millis(1),
            after_final: Duration::ZERO,
            ..ScheduleConfig::default()
        };
        out.push(c);
    }
    Ok(out)
}

fn totals(h: &[ConnectorHealth], source: Option<&str>) -> (u64, u64, u64, u64) {
    h.iter()
        .filter(|c| source.is_none_or(|s| c.source == s))
        .fold((0, 0, 0, 0), |(n, r, e, x), c| {
            (
                n + c.refreshed,
                r + c.requests,
                e + c.events,
                x + c.last_60m.errors,
            )
        })
}

pub async fn run(
    shipments: usize,
    seconds: u64,
    json: bool,
    host: &dyn Host,
) -> anyhow::Result<()> {
    let wall = host.clock();
    // About one shipment per order; the world starts long ago so every scan is visible.
    let start = wall.now() - jiff::SignedDuration::from_hours(24 * 60);
    let sim = Sim::start(
        SimConfig {
            orders: shipments,
            orders_per_minute: 1_000_000.0,
            tenants: vec!["bench".into()],
            start: Some(start),
            ..SimConfig::default()
        },
        wall.clone(),
    )
    .await
    .context("starting the simulator")?;
    let dir = tempfile::tempdir().context("creating a temporary data folder")?;
    let mut config = toml::Table::new();
    config.insert("clock".into(), crate::simulate::follow(&sim));
    let running = host
        .start(Setup {
            data_dir: dir.path().to_path_buf(),
            config,
            connectors: None,
        })
        .await?;
    let conns = host.connectors(
        &running,
        carrier_configs(&sim)?,
        Arc::new(MemoryStateStore::default()),
    )?;
    let tenant = TenantId::new("bench").context("tenant")?;
    let mut tracked = 0;
    for t in sim.truths() {
        for s in &t.shipments {
            let Ok(carrier) = s.carrier.parse::<Source>() else {
                continue;
            };
            let target = Target {
                tracking_number: s.tracking_number.clone(),
                status: Status::InTransit,
                status_at: wall.now(),
                promised_at: None,
            };
            tracked += usize::from(conns.track(&tenant, carrier, target) > 0);
        }
    }
    eprintln!("polling {tracked} shipments for {seconds} s (after a 3 s warm-up)...");
    // The first round stores every history; what follows is the steady state of refreshes.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = conns.snapshot();
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds.max(1))).await;
    let after = conns.snapshot();
    let secs = t0.elapsed().as_secs_f64();
    conns.shutdown().await;
    running.shutdown().await?;
    let rate = |src: Option<&str>| {
        let (n0, r0, e0, _) = totals(&before, src);
        let (n1, r1, e1, x) = totals(&after, src);
        (
            (n1 - n0) as f64 / secs,
            (r1 - r0) as f64 / secs,
            (e1 - e0) as f64 / secs,
            x,
        )
    };
    let (numbers, requests, events, errors) = rate(None);
    let per_carrier = waypost_adapters::Source::POLLED_CARRIERS
        .map(waypost_adapters::Source::name)
        .iter()
        .map(|c| {
            let (n, r, _, _) = rate(Some(c));
            CarrierRate {
                carrier: (*c).to_owned(),
                numbers_per_sec: n,
                requests_per_sec: r,
            }
        })
        .collect();
    let report = Report {
        shipments: tracked,
        seconds: secs,
        numbers_per_sec: numbers,
        requests_per_sec: requests,
        events_per_sec: events,
        per_carrier,
        errors,
    };
    eprintln!(
        "{numbers:.0} tracking numbers refreshed/s ({requests:.0} requests/s, {events:.0} events/s re-read)"
    );
    if json {
        println!("{}", serde_json::to_string(&report)?);
    }
    Ok(())
}
