//! The polling connectors wired into the server: what they fetch goes through the same intake
//! as webhooks (`Sink` over `waypost_intake::Intake`), what they poll follows the engine's changes
//! (every shipment of a carrier the tenant has a connector for, until it is final), and their
//! health is the API's `/v1/sources`.

use anyhow::Context;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, watch};
use waypost_adapters::Source;
use waypost_api::AppState;
use waypost_api::partners::{Partners, SourceHealth, WindowDto};
use waypost_connectors::{
    ConnectorConfig, ConnectorHealth, Connectors, Fetched, FileStateStore, Ingested, Sink,
    SinkError, Target, WindowStats,
};
use waypost_domain::TenantId;
use waypost_intake::{DocumentIn, Intake};
use waypost_store::{Change, OrderFilter, ReadStore};

/// Polled documents enter exactly like pushed ones.
pub struct IntakeSink {
    pub intake: Arc<Intake>,
}

/// The engine's clock as the connectors' world (schedules follow a simulator's pace too), and
/// the system's as their wall.
pub(crate) fn clocks(engine: Arc<dyn waypost_engine::Clock>) -> waypost_connectors::Clocks {
    waypost_connectors::Clocks {
        world: engine,
        wall: Arc::new(crate::clock::SystemClock),
    }
}

impl Sink for IntakeSink {
    async fn ingest(&self, doc: Fetched) -> Result<Ingested, SinkError> {
        let events = DocumentIn {
            tenant: doc.tenant,
            source: doc.source,
            body: doc.body,
            // World time (the engine may follow a simulator's clock); fetched a moment ago.
            received_at: self.intake.now(),
            origin: format!("poll:{}", doc.connector),
            replays_document: None,
        };
        match self.intake.document(events).await {
            Ok(r) => Ok(Ingested {
                events: r.events,
                newest_event_at: r.newest_event_at,
            }),
            Err(e) if e.is_unreadable() => Err(SinkError::Rejected {
                reason: e.to_string(),
            }),
            Err(e) => match e.queue_full_retry_after() {
                Some(secs) => Err(SinkError::Busy {
                    retry_after: Duration::from_secs(secs),
                }),
                None => Err(SinkError::Unavailable {
                    reason: e.to_string(),
                }),
            },
        }
    }
}

/// The running connectors plus what webhooks have been seen, for the health view.
pub struct Running {
    pub connectors: Connectors,
    webhooks: Mutex<BTreeMap<(String, &'static str), WebhookSeen>>,
}

#[derive(Clone, Copy)]
struct WebhookSeen {
    last: jiff::Timestamp,
    count: u64,
}

/// Starts the configured connectors (none configured: `None`), registers their health into
/// `registry` and starts the task that keeps their shipment lists current.
pub fn start(
    configs: &[ConnectorConfig],
    state: &AppState,
    data_dir: &std::path::Path,
    registry: &mut prometheus_client::registry::Registry,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Option<Arc<Running>>> {
    if configs.is_empty() {
        return Ok(None);
    }
    let mut configs = configs.to_vec();
    for c in &mut configs {
        // The environment is read here, in the binary, and handed to the library.
        c.resolve_secrets(&|name| std::env::var(name).ok())?;
    }
    let store = FileStateStore::open(data_dir.join("connectors"))
        .context("opening the connectors' state folder")?;
    let sink = Arc::new(IntakeSink {
        intake: state.intake.clone(),
    });
    let clocks = clocks(state.clock.clone());
    let connectors = Connectors::start(configs.clone(), sink, Arc::new(store), clocks)?;
    waypost_connectors::metrics::register(registry, &connectors);
    tokio::spawn(follow(
        connectors.clone(),
        carriers_by_tenant(&configs),
        state.reader.clone(),
        state.changes.subscribe(),
        stop,
    ));
    Ok(Some(Arc::new(Running {
        connectors,
        webhooks: Mutex::new(BTreeMap::new()),
    })))
}

impl Partners for Running {
    fn webhook_seen(&self, tenant: &TenantId, source: Source) {
        self.connectors.webhook_seen(tenant, source);
        let mut seen = self.webhooks.lock().unwrap_or_else(|p| p.into_inner());
        let e = seen
            .entry((tenant.as_str().to_owned(), source.name()))
            .or_insert(WebhookSeen {
                last: jiff::Timestamp::now(),
                count: 0,
            });
        e.last = jiff::Timestamp::now();
        e.count += 1;
    }

    fn health(&self) -> Vec<SourceHealth> {
        let mut out: Vec<SourceHealth> =
            self.connectors.snapshot().into_iter().map(polled).collect();
        let seen = self.webhooks.lock().unwrap_or_else(|p| p.into_inner());
        let now = jiff::Timestamp::now();
        for ((tenant, source), w) in seen.iter() {
            let quiet = now.duration_since(w.last) > jiff::SignedDuration::from_mins(15);
            out.push(SourceHealth {
                name: format!("webhook:{source}"),
                tenant: tenant.clone(),
                source: (*source).to_owned(),
                kind: "webhook".into(),
                state: if quiet { "quiet" } else { "receiving" }.into(),
                last_success_at: Some(w.last),
                lag_seconds: None,
                last_5m: WindowDto::default(),
                last_60m: WindowDto::default(),
                in_flight: 0,
                tracked: 0,
                overdue: 0,
                dead_letters: 0,
                breaker: "closed".into(),
                breaker_opened: 0,
                requests: w.count,
                retries: 0,
                throttled: 0,
                timeouts: 0,
                documents: w.count,
                events: 0,
                cursor: None,
                catching_up: None,
            });
        }
        out
    }
}

fn window(w: &WindowStats) -> WindowDto {
    WindowDto {
        requests: w.requests,
        errors: w.errors,
        error_rate: w.error_rate,
        latency_ms_p50: w.p50_ms,
        latency_ms_p99: w.p99_ms,
    }
}

fn polled(h: ConnectorHealth) -> SourceHealth {
    SourceHealth {
        state: h.state.as_str().to_owned(),
        breaker: h.breaker.as_str().to_owned(),
        name: h.name,
        tenant: h.tenant,
        source: h.source.to_owned(),
        kind: "poll".into(),
        last_success_at: h.last_success,
        lag_seconds: h.lag_secs,
        last_5m: window(&h.last_5m),
        last_60m: window(&h.last_60m),
        in_flight: h.in_flight,
        tracked: h.tracked as u64,
        overdue: h.overdue as u64,
        dead_letters: h.dead_letters,
        breaker_opened: h.breaker_opened,
        requests: h.requests,
        retries: h.retries,
        throttled: h.throttled,
        timeouts: h.timeouts,
        documents: h.documents,
        events: h.events,
        catching_up: h.feed.as_ref().map(|f| f.catching_up),
        cursor: h.feed.and_then(|f| f.cursor),
    }
}

/// For each tenant, the carriers it polls: only their shipments are worth a store lookup.
fn carriers_by_tenant(configs: &[ConnectorConfig]) -> HashMap<String, Vec<Source>> {
    let mut out: HashMap<String, Vec<Source>> = HashMap::new();
    for c in configs.iter().filter(|c| c.source != Source::Wms) {
        out.entry(c.tenant.as_str().to_owned())
            .or_default()
            .push(c.source);
    }
    out
}

/// The carrier a shipment's `carrier` field names, if a connector can poll it.
fn carrier_source(name: &str) -> Option<Source> {
    let s: Source = name.trim().to_ascii_lowercase().parse().ok()?;
    Source::POLLED_CARRIERS.contains(&s).then_some(s)
}

/// Keeps the connectors' shipment lists current: a full scan at start (and after the change
/// stream lagged), then every change of a tenant that polls some carrier.
async fn follow(
    connectors: Connectors,
    tenants: HashMap<String, Vec<Source>>,
    reader: Arc<dyn ReadStore>,
    mut changes: broadcast::Receiver<Arc<Change>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut rescan = true;
    loop {
        if rescan {
            rescan = false;
            let (r, t) = (reader.clone(), tenants.clone());
            match tokio::task::spawn_blocking(move || scan(&*r, &t)).await {
                Ok(Ok(found)) => {
                    for (tenant, carrier, target) in found {
                        connectors.track(&tenant, carrier, target);
                    }
                }
                Ok(Err(e)) => tracing::error!(error = %e, "scanning shipments to poll failed"),
                Err(e) => tracing::error!(error = %e, "scanning shipments to poll failed"),
            }
        }
        let change = tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            c = changes.recv() => c,
        };
        let change = match change {
            Ok(c) => c,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(
                    missed = n,
                    "connectors fell behind the change stream; rescanning"
                );
                rescan = true;
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if change.shipments.is_empty() || !tenants.contains_key(&change.tenant) {
            continue;
        }
        let (r, t) = (reader.clone(), tenants.clone());
        let found = tokio::task::spawn_blocking(move || order_targets(&*r, &t, &change)).await;
        if let Ok(Ok(found)) = found {
            for (tenant, carrier, target) in found {
                connectors.track(&tenant, carrier, target);
            }
        }
    }
}

type Found = Vec<(TenantId, Source, Target)>;

/// The pollable shipments of one order, read back whole: its carriers and promised date live
/// in the order's state, not in the change.
fn order_targets(
    reader: &dyn ReadStore,
    tenants: &HashMap<String, Vec<Source>>,
    change: &Change,
) -> Result<Found, waypost_store::StoreError> {
    let Ok(tenant) = TenantId::new(change.tenant.as_str()) else {
        return Ok(Vec::new());
    };
    let Some(order) = reader.order(&tenant, &change.order_id)? else {
        return Ok(Vec::new());
    };
    Ok(targets_of(&tenant, tenants, &order.view.shipments))
}

fn targets_of(
    tenant: &TenantId,
    tenants: &HashMap<String, Vec<Source>>,
    shipments: &[waypost_domain::ShipmentView],
) -> Found {
    let polled = tenants.get(tenant.as_str());
    shipments
        .iter()
        .filter_map(|s| {
            let carrier = carrier_source(s.carrier.as_deref()?)?;
            polled?.contains(&carrier).then_some(())?;
            let target = Target {
                tracking_number: s.tracking_number.clone(),
                status: s.status,
                status_at: s
                    .status_at
                    .as_ref()
                    .map_or_else(jiff::Timestamp::now, |t| t.instant),
                promised_at: s.promised_at.as_ref().map(|t| t.instant),
            };
            Some((tenant.clone(), carrier, target))
        })
        .collect()
}

/// Every shipment of the polling tenants that is not final.
fn scan(
    reader: &dyn ReadStore,
    tenants: &HashMap<String, Vec<Source>>,
) -> Result<Found, waypost_store::StoreError> {
    let mut out = Vec::new();
    for name in tenants.keys() {
        let Ok(tenant) = TenantId::new(name.as_str()) else {
            continue;
        };
        let mut after = None;
        loop {
            let page = reader.orders(
                &tenant,
                &OrderFilter {
                    after_version: after,
                    limit: 500,
                    ..OrderFilter::default()
                },
            )?;
            for o in &page {
                out.extend(
                    targets_of(&tenant, tenants, &o.view.shipments)
                        .into_iter()
                        .filter(|(_, _, t)| !t.status.is_closed()),
                );
            }
            if page.len() < 500 {
                break;
            }
            after = page.last().map(|o| o.version);
        }
    }
    Ok(out)
}

/// Every few seconds, each partner's health to the source rules (silence, error rate). A
/// partner polled and pushed to is one source: its last signs of life are the latest of both.
pub async fn report_health(
    running: Arc<Running>,
    state: AppState,
    every: std::time::Duration,
    mut stop: watch::Receiver<bool>,
) {
    use waypost_engine::detector::SourceReport;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        let now = state.clock.now();
        let mut by: BTreeMap<(String, String), SourceReport> = BTreeMap::new();
        for h in running.health() {
            let Ok(tenant) = TenantId::new(h.tenant.as_str()) else {
                continue;
            };
            let last_event = h
                .lag_seconds
                .and_then(|l| now.checked_sub(jiff::SignedDuration::from_secs(l)).ok());
            let r = by
                .entry((h.tenant.clone(), h.source.clone()))
                .or_insert_with(|| SourceReport {
                    tenant,
                    source: h.source.clone(),
                    last_success: None,
                    last_event: None,
                    error_rate_5m: 0.0,
                });
            r.last_success = r.last_success.max(h.last_success_at);
            r.last_event = r.last_event.max(last_event);
            r.error_rate_5m = r.error_rate_5m.max(h.last_5m.error_rate);
        }
        state.engine.report_sources(by.into_values().collect());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use waypost_connectors::{MemoryStateStore, Secret};

    /// Nothing is fetched in this test; a sink that takes nothing is enough.
    struct NoSink;

    impl Sink for NoSink {
        async fn ingest(&self, _doc: Fetched) -> Result<Ingested, SinkError> {
            Err(SinkError::Unavailable {
                reason: "a test sink".into(),
            })
        }
    }

    /// The wiring `start` and the server do: the engine's families and the connectors' go into
    /// one registry, and one scrape shows both.
    #[tokio::test]
    async fn the_engine_and_the_connectors_answer_in_one_scrape() {
        let mut cfg = ConnectorConfig::new(
            "dhl-acme",
            TenantId::new("acme").unwrap(),
            Source::Dhl,
            "http://127.0.0.1:9/dhl",
        );
        cfg.credentials.api_key = Some(Secret::new("k"));
        let connectors = Connectors::start(
            vec![cfg],
            Arc::new(NoSink),
            Arc::new(MemoryStateStore::default()),
            clocks(Arc::new(crate::clock::SystemClock)),
        )
        .unwrap();
        let engine = waypost_engine::Metrics::default();
        let mut registry = prometheus_client::registry::Registry::default();
        engine.register(&mut registry);
        waypost_connectors::metrics::register(&mut registry, &connectors);
        let scrape = waypost_api::scrape::Scrape::new(registry);
        engine.events_accepted.inc_by(3);
        let text = scrape.encode(None, false);
        for line in [
            "waypost_events_accepted_total 3",
            "waypost_connector_requests_total{connector=\"dhl-acme\"} ",
            "waypost_connector_state{connector=\"dhl-acme\",state=\"healthy\"} ",
        ] {
            assert!(
                text.lines().any(|l| l.starts_with(line)),
                "{line} missing from\n{text}"
            );
        }
        connectors.shutdown().await;
    }
}
