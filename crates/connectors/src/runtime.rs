//! Starts one task per configured connector and hands back [`Connectors`], the handle through
//! which the integrator feeds shipments to poll, reports webhooks seen, reads health and stops
//! everything.

use crate::client::{PartnerClient, now};
use crate::config::{ConfigError, ConnectorConfig, validate_all};
use crate::feed::{self, Position};
use crate::policy::breaker::BreakerState;
use crate::policy::health::{HealthState, WindowStats};
use crate::policy::schedule::Tracked;
use crate::sink::{Ingested, Sink};
use crate::state_store::{StateError, StateStore};
use crate::targets::{Targets, World};
use serde::Serialize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use waypost_adapters::Source;
use waypost_domain::{Clock, Status, TenantId};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("connectors[{connector}]: cannot load its saved position: {source}")]
    State {
        connector: String,
        #[source]
        source: StateError,
    },
    #[error("connectors[{connector}]: saved position is unreadable: {message}")]
    Position { connector: String, message: String },
    #[error("connectors must be started inside a tokio runtime")]
    NoRuntime,
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
}

/// A shipment for a carrier connector to poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub tracking_number: String,
    pub status: Status,
    /// When the shipment entered `status`.
    pub status_at: jiff::Timestamp,
    /// The promised delivery date, when the order has one.
    pub promised_at: Option<jiff::Timestamp>,
}

/// The clocks the connectors read; the binary holds the real ones (a library reads no clock).
#[derive(Clone)]
pub struct Clocks {
    /// The time of the world the shipments live in: the system clock, or a simulator's
    /// accelerated one that the engine follows. Schedules compare it with status times and lag
    /// is measured on it.
    pub world: Arc<dyn Clock>,
    /// The real calendar time: when a document was fetched, a partner's `Retry-After` date,
    /// the last success in health. Timeouts, rate limits and backoff stay on tokio's monotonic
    /// clock.
    pub wall: Arc<dyn Clock>,
}

impl Clocks {
    /// One clock for both: a world that runs at real speed.
    pub fn real(wall: Arc<dyn Clock>) -> Self {
        Clocks {
            world: wall.clone(),
            wall,
        }
    }
}

/// The world's time and pace, read from `clock`.
fn world_of(clock: &dyn Clock) -> World {
    World {
        at: clock.now(),
        speed: clock.speed(),
    }
}

/// What one connector task shares with the handle. Each lock below is a std mutex: held for a
/// few map operations, never across an await.
pub(crate) struct Shared {
    pub client: PartnerClient,
    targets: Mutex<Targets>,
    /// Wakes the task: a shipment was tracked (carriers), a webhook was seen (feeds).
    pub wake: Notify,
    started: Instant,
    last_webhook: Mutex<Option<Instant>>,
    position: Mutex<Position>,
    pub world: Arc<dyn Clock>,
}

impl Shared {
    /// The world's time and pace now.
    pub fn world_now(&self) -> World {
        world_of(&*self.world)
    }

    pub fn targets(&self) -> MutexGuard<'_, Targets> {
        self.targets.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Since when no webhook has been seen: the last one, or the start.
    pub fn quiet_since(&self) -> Instant {
        let last = *self.last_webhook.lock().unwrap_or_else(|p| p.into_inner());
        last.unwrap_or(self.started).max(self.started)
    }

    pub fn set_position(&self, pos: &Position) {
        *self.position.lock().unwrap_or_else(|p| p.into_inner()) = pos.clone();
    }

    pub fn ingested(&self, ing: &Ingested) {
        let c = &self.client.counters;
        c.documents.fetch_add(1, Relaxed);
        c.events.fetch_add(ing.events as u64, Relaxed);
        if let Some(at) = ing.newest_event_at {
            let mut p = self.client.lock();
            if p.newest_event_at.is_none_or(|n| n < at) {
                p.newest_event_at = Some(at);
            }
        }
    }

    fn is_feed(&self) -> bool {
        self.client.cfg.source == Source::Wms
    }
}

/// The running connectors. Cheap to clone; every method is safe to call from any task.
#[derive(Clone)]
pub struct Connectors {
    inner: Arc<Inner>,
}

struct Inner {
    connectors: Vec<Arc<Shared>>,
    world: Arc<dyn Clock>,
    shutdown: watch::Sender<bool>,
    /// Taken by `shutdown`. A std mutex: only pushed to at start and taken once.
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Connectors {
    /// Validates `configs`, loads each feed's saved position from `store`, and spawns one task
    /// per connector on the current tokio runtime. Fails on the first bad entry, naming it.
    /// `store` is read here, once, on the calling thread (small files): call it at start-up.
    /// The world's time and the wall's come from `clocks`.
    pub fn start<S: Sink>(
        configs: Vec<ConnectorConfig>,
        sink: Arc<S>,
        store: Arc<dyn StateStore>,
        clocks: Clocks,
    ) -> Result<Self, StartError> {
        validate_all(&configs)?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(StartError::NoRuntime);
        }
        let http = http_client()?;
        let (shutdown, rx) = watch::channel(false);
        let mut connectors = Vec::new();
        let mut tasks = Vec::new();
        for cfg in configs {
            let name = cfg.name.clone();
            let pos = if cfg.source == Source::Wms {
                load_position(&*store, &name)?
            } else {
                Position::default()
            };
            let shared = Arc::new(Shared {
                targets: Mutex::new(Targets::new(cfg.schedule)),
                client: PartnerClient::new(cfg, http.clone(), clocks.wall.clone()),
                wake: Notify::new(),
                started: now(),
                last_webhook: Mutex::new(None),
                position: Mutex::new(pos.clone()),
                world: clocks.world.clone(),
            });
            let task = if shared.is_feed() {
                tokio::spawn(feed::run(
                    shared.clone(),
                    sink.clone(),
                    store.clone(),
                    pos,
                    rx.clone(),
                ))
            } else {
                tokio::spawn(crate::carrier::run(
                    shared.clone(),
                    sink.clone(),
                    rx.clone(),
                ))
            };
            tracing::info!(connector = %name, "connector started");
            connectors.push(shared);
            tasks.push(task);
        }
        Ok(Self {
            inner: Arc::new(Inner {
                connectors,
                world: clocks.world,
                shutdown,
                tasks: Mutex::new(tasks),
            }),
        })
    }

    fn world(&self) -> World {
        world_of(&*self.inner.world)
    }

    fn matching(&self, tenant: &TenantId, source: Source) -> impl Iterator<Item = &Arc<Shared>> {
        self.inner
            .connectors
            .iter()
            .filter(move |c| c.client.cfg.tenant == *tenant && c.client.cfg.source == source)
    }

    /// Polls `target` with the tenant's connectors for `carrier` from now on, or updates what
    /// they know of it (a new status, a new promised date). A final status stops its polling.
    /// Returns how many connectors took it: 0 when the tenant has none for that carrier.
    pub fn track(&self, tenant: &TenantId, carrier: Source, target: Target) -> usize {
        let tracked = Tracked {
            status: target.status,
            status_at: target.status_at,
            promised_at: target.promised_at,
        };
        let (at, wall) = (now(), self.world());
        let mut n = 0;
        for c in self.matching(tenant, carrier) {
            if c.is_feed() {
                continue;
            }
            c.targets()
                .upsert(&target.tracking_number, tracked, at, wall);
            c.wake.notify_one();
            n += 1;
        }
        n
    }

    /// Stops polling a shipment.
    pub fn untrack(&self, tenant: &TenantId, carrier: Source, tracking_number: &str) {
        for c in self.matching(tenant, carrier) {
            c.targets().remove(tracking_number);
        }
    }

    /// A webhook of `source` for `tenant` arrived now: its feed connectors stay at their
    /// regular period.
    pub fn webhook_seen(&self, tenant: &TenantId, source: Source) {
        let t = now();
        for c in self.matching(tenant, source) {
            *c.last_webhook.lock().unwrap_or_else(|p| p.into_inner()) = Some(t);
            c.wake.notify_one();
        }
    }

    /// Every connector's health, in configuration order.
    pub fn snapshot(&self) -> Vec<ConnectorHealth> {
        self.inner.connectors.iter().map(|c| health(c)).collect()
    }

    /// Stops every task and waits for them. Requests and sink calls in flight are dropped:
    /// the sink must tolerate a cancelled `ingest` (the intake's submissions commit whole or
    /// not at all), and a feed page cut short is fetched again after a restart.
    pub async fn shutdown(&self) {
        let _ = self.inner.shutdown.send(true);
        let tasks =
            std::mem::take(&mut *self.inner.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        for t in tasks {
            let _ = t.await;
        }
    }
}

/// The one HTTP client of every connector (connections are pooled per partner host).
pub(crate) fn http_client() -> Result<reqwest::Client, StartError> {
    let builder =
        reqwest::Client::builder().user_agent(concat!("waypost/", env!("CARGO_PKG_VERSION")));
    #[cfg(feature = "tls")]
    let builder = builder.tls_backend_preconfigured(tls_config()?);
    builder.build().map_err(|e| StartError::Http(e.to_string()))
}

/// rustls with the ring provider and the platform's roots, given to reqwest ready-made so
/// nothing depends on a process-wide default provider.
#[cfg(feature = "tls")]
fn tls_config() -> Result<rustls::ClientConfig, StartError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls_platform_verifier::Verifier::new(provider.clone())
        .map_err(|e| StartError::Http(format!("TLS roots: {e}")))?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StartError::Http(format!("TLS versions: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    // reqwest is built for HTTP/1.1 only here.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn load_position(store: &dyn StateStore, name: &str) -> Result<Position, StartError> {
    let raw = store
        .load(name, feed::STATE_KEY)
        .map_err(|source| StartError::State {
            connector: name.to_owned(),
            source,
        })?;
    match raw {
        None => Ok(Position::default()),
        Some(text) => serde_json::from_str(&text).map_err(|e| StartError::Position {
            connector: name.to_owned(),
            message: e.to_string(),
        }),
    }
}

/// One connector's health, for `GET /v1/sources` and `/metrics`.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectorHealth {
    pub name: String,
    pub tenant: String,
    pub source: &'static str,
    pub state: HealthState,
    pub last_success: Option<jiff::Timestamp>,
    /// Now minus the newest event time fetched, in seconds.
    pub lag_secs: Option<i64>,
    pub last_5m: WindowStats,
    pub last_60m: WindowStats,
    /// Tracking numbers (carriers) or pages (feeds) being fetched right now.
    pub in_flight: u64,
    /// Carriers: shipments being polled, and how many of them are past their due time.
    pub tracked: usize,
    pub overdue: usize,
    pub requests: u64,
    pub retries: u64,
    /// Requests that waited for the rate limit.
    pub rate_limited_waits: u64,
    /// 429 answers.
    pub throttled: u64,
    pub timeouts: u64,
    pub not_found: u64,
    /// Carriers: tracking numbers whose poll was answered (found or not).
    pub refreshed: u64,
    pub documents: u64,
    pub events: u64,
    pub dead_letters: u64,
    pub sink_busy: u64,
    pub state_errors: u64,
    pub tokens_refreshed: u64,
    pub breaker: BreakerState,
    pub breaker_opened: u64,
    pub breaker_closed: u64,
    pub feed: Option<FeedHealth>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FeedHealth {
    pub cursor: Option<String>,
    /// Polling at `catch_up_interval` because webhooks went quiet.
    pub catching_up: bool,
    /// Seconds since the last webhook (or since the start, when none was seen).
    pub webhook_quiet_secs: u64,
}

fn health(c: &Shared) -> ConnectorHealth {
    let t = now();
    let wall = c.world.now();
    let cfg = &c.client.cfg;
    let k = &c.client.counters;
    let (tracked, overdue) = {
        let targets = c.targets();
        (targets.len(), targets.overdue(t))
    };
    let p = c.client.lock();
    let breaker = p.breaker.state(t);
    let feed = c.is_feed().then(|| {
        let quiet = t.saturating_duration_since(c.quiet_since());
        FeedHealth {
            cursor: c
                .position
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .cursor
                .clone(),
            catching_up: quiet >= cfg.webhook_quiet_after,
            webhook_quiet_secs: quiet.as_secs(),
        }
    });
    ConnectorHealth {
        name: cfg.name.clone(),
        tenant: cfg.tenant.to_string(),
        source: cfg.source.name(),
        state: p.health.state(t, breaker),
        last_success: p.last_success,
        lag_secs: p.newest_event_at.map(|n| wall.duration_since(n).as_secs()),
        last_5m: p.health.stats(t, 5),
        last_60m: p.health.stats(t, 60),
        in_flight: k.in_flight.load(Relaxed),
        tracked,
        overdue,
        requests: k.requests.load(Relaxed),
        retries: k.retries.load(Relaxed),
        rate_limited_waits: k.rate_limited_waits.load(Relaxed),
        throttled: k.throttled.load(Relaxed),
        timeouts: k.timeouts.load(Relaxed),
        not_found: k.not_found.load(Relaxed),
        refreshed: k.refreshed.load(Relaxed),
        documents: k.documents.load(Relaxed),
        events: k.events.load(Relaxed),
        dead_letters: k.dead_letters.load(Relaxed),
        sink_busy: k.sink_busy.load(Relaxed),
        state_errors: k.state_errors.load(Relaxed),
        tokens_refreshed: k.tokens_refreshed.load(Relaxed),
        breaker,
        breaker_opened: p.breaker.opened,
        breaker_closed: p.breaker.closed,
        feed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With or without the `tls` feature, the client builds without any process-wide
    /// crypto provider installed (none is, in this test process).
    #[test]
    fn the_http_client_builds_on_its_own() {
        assert!(http_client().is_ok());
    }
}
