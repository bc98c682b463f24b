//! The polling connectors wired into a server: what they fetch goes through the same intake
//! as webhooks ([`IntakeSink`] over `waypost_intake::Intake`), what they poll follows the
//! engine's changes (every shipment of a carrier the tenant has a connector for, until it is
//! final), and their health, with the webhooks seen, feeds the engine's source rules
//! ([`report_health`]) and the API's `/v1/sources` (`waypost_api`'s view of [`Served`]).

use crate::{
    Clocks, ConfigError, ConnectorConfig, ConnectorHealth, Connectors, Env, Fetched,
    FileStateStore, Ingested, Sink, SinkError, StartError, StateError, Target,
};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, watch};
use waypost_adapters::Source;
use waypost_domain::{Clock, TenantId};
use waypost_engine::IntakeHandle;
use waypost_intake::{DocumentIn, Intake};
use waypost_store::{Change, OrderFilter, ReadStore};

/// Polled documents enter exactly like pushed ones.
pub struct IntakeSink {
    pub intake: Arc<Intake>,
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
pub struct Served {
    pub connectors: Connectors,
    webhooks: Mutex<BTreeMap<(String, &'static str), WebhookSeen>>,
    /// Real time: when a webhook was seen, and how long ago.
    wall: Arc<dyn Clock>,
}

/// A pushed source's last signs of life.
#[derive(Debug, Clone, Copy)]
pub struct WebhookSeen {
    pub last: jiff::Timestamp,
    pub count: u64,
}

/// What the running server lends the connectors.
pub struct Wiring {
    pub intake: Arc<Intake>,
    pub reader: Arc<dyn ReadStore>,
    pub changes: broadcast::Receiver<Arc<Change>>,
    pub clocks: Clocks,
    /// Where the connectors keep their cursors and state (`<data_dir>/connectors`).
    pub state_dir: PathBuf,
    pub stop: watch::Receiver<bool>,
}

/// Why the connectors did not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Secrets(#[from] ConfigError),
    #[error("opening the connectors' state folder: {0}")]
    State(#[from] StateError),
    #[error(transparent)]
    Start(#[from] StartError),
}

/// Starts the configured connectors (none configured: `None`) and the task that keeps their
/// shipment lists current. `env` resolves `env:` secrets: the binary reads its environment.
pub fn start(
    configs: &[ConnectorConfig],
    env: &Env<'_>,
    wiring: Wiring,
) -> Result<Option<Arc<Served>>, ServeError> {
    if configs.is_empty() {
        return Ok(None);
    }
    let mut configs = configs.to_vec();
    for c in &mut configs {
        c.resolve_secrets(env)?;
    }
    let store = FileStateStore::open(wiring.state_dir)?;
    let sink = Arc::new(IntakeSink {
        intake: wiring.intake,
    });
    let wall = wiring.clocks.wall.clone();
    let connectors = Connectors::start(configs.clone(), sink, Arc::new(store), wiring.clocks)?;
    tokio::spawn(follow(
        connectors.clone(),
        carriers_by_tenant(&configs),
        wiring.reader,
        wiring.changes,
        wall.clone(),
        wiring.stop,
    ));
    Ok(Some(Arc::new(Served {
        connectors,
        webhooks: Mutex::new(BTreeMap::new()),
        wall,
    })))
}

impl Served {
    /// A webhook of `source` was accepted for `tenant`.
    pub fn webhook_seen(&self, tenant: &TenantId, source: Source) {
        self.connectors.webhook_seen(tenant, source);
        let now = self.wall.now();
        let mut seen = self.webhooks.lock().unwrap_or_else(|p| p.into_inner());
        let e = seen
            .entry((tenant.as_str().to_owned(), source.name()))
            .or_insert(WebhookSeen {
                last: now,
                count: 0,
            });
        e.last = now;
        e.count += 1;
    }

    /// Every pushed source seen: (tenant, source), its last signs of life.
    pub fn webhooks(&self) -> Vec<((String, &'static str), WebhookSeen)> {
        let seen = self.webhooks.lock().unwrap_or_else(|p| p.into_inner());
        seen.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }

    /// Now, by the clock webhooks are timed with.
    pub fn wall_now(&self) -> jiff::Timestamp {
        self.wall.now()
    }

    /// Every connector's health.
    pub fn snapshot(&self) -> Vec<ConnectorHealth> {
        self.connectors.snapshot()
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
    wall: Arc<dyn Clock>,
    mut stop: watch::Receiver<bool>,
) {
    let mut rescan = true;
    loop {
        if rescan {
            rescan = false;
            let (r, t, now) = (reader.clone(), tenants.clone(), wall.now());
            match tokio::task::spawn_blocking(move || scan(&*r, &t, now)).await {
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
        let (r, t, now) = (reader.clone(), tenants.clone(), wall.now());
        let found = tokio::task::spawn_blocking(move || order_targets(&*r, &t, &change, now)).await;
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
    now: jiff::Timestamp,
) -> Result<Found, waypost_store::StoreError> {
    let Ok(tenant) = TenantId::new(change.tenant.as_str()) else {
        return Ok(Vec::new());
    };
    let Some(order) = reader.order(&tenant, &change.order_id)? else {
        return Ok(Vec::new());
    };
    Ok(targets_of(&tenant, tenants, &order.view.shipments, now))
}

fn targets_of(
    tenant: &TenantId,
    tenants: &HashMap<String, Vec<Source>>,
    shipments: &[waypost_domain::ShipmentView],
    now: jiff::Timestamp,
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
                status_at: s.status_at.as_ref().map_or(now, |t| t.instant),
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
    now: jiff::Timestamp,
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
                    targets_of(&tenant, tenants, &o.view.shipments, now)
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
/// `clock` is the world's (the engine's), which the rules judge silence by.
pub async fn report_health(
    served: Arc<Served>,
    engine: IntakeHandle,
    clock: Arc<dyn Clock>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    use waypost_engine::detector::SourceReport;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        let now = clock.now();
        let mut by: BTreeMap<(String, String), SourceReport> = BTreeMap::new();
        let polled = served.snapshot().into_iter().map(|h| {
            let last_event = h
                .lag_secs
                .and_then(|l| now.checked_sub(jiff::SignedDuration::from_secs(l)).ok());
            (
                h.tenant,
                h.source,
                h.last_success,
                last_event,
                h.last_5m.error_rate,
            )
        });
        // A pushed source: alive when it was last seen; no events or errors of its own here.
        let pushed = served
            .webhooks()
            .into_iter()
            .map(|((tenant, source), w)| (tenant, source, Some(w.last), None, 0.0));
        for (name, source, last_success, last_event, error_rate) in polled.chain(pushed) {
            let Ok(tenant) = TenantId::new(name.as_str()) else {
                continue;
            };
            let r = by
                .entry((name, source.to_owned()))
                .or_insert_with(|| SourceReport {
                    tenant,
                    source: source.to_owned(),
                    last_success: None,
                    last_event: None,
                    error_rate_5m: 0.0,
                });
            r.last_success = r.last_success.max(last_success);
            r.last_event = r.last_event.max(last_event);
            r.error_rate_5m = r.error_rate_5m.max(error_rate);
        }
        engine.report_sources(by.into_values().collect());
    }
}
