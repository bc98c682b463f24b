//! The partner simulator: a realistic fake world on loopback for the demo, tests and
//! benchmarks. It serves fake UPS, FedEx, USPS and DHL tracking APIs and a fake WMS changes feed
//! in the vendors' own formats on one port (the contract is `docs/simulator.md`), pushes signed
//! WMS webhooks to a Waypost, injects faults on demand, and writes the ground truth. It also
//! plays the receivers of Waypost's notifications (`receivers`: a portal taking signed
//! webhooks, a Twilio-like SMS gateway, an SMTP server) and counts what they accepted.
//!
//! Invariant: everything that decides what happens is pure and seeded: the world
//! ([`world::World::build`], on top of `waypost-demo`'s planner), the documents (`vendor/`),
//! the faults ([`Faults::decide`]) and the truth ([`truth::truths`]). Same seed, same world,
//! same truth. Orders entering through the sales channels, with planted bad ones and the
//! outcome each must get, are [`orders_in`]. I/O lives only in `server.rs`, `pusher.rs` and the notification receivers'
//! `receivers/http.rs` and `receivers/smtp/`, which read the wall clock they are handed
//! ([`Sim::start`]'s `wall`).

pub mod clock;
pub mod codes;
mod customer;
pub mod faults;
pub mod orders_in;
mod pusher;
pub mod receivers;
mod server;
pub mod shops;
pub mod snippet;
pub mod stats;
#[cfg(test)]
mod tests_formats;
pub mod truth;
pub mod vendor;
pub mod world;

pub use clock::SimClock;
pub use customer::Customer;
pub use faults::{Fault, Faults, Outage};
pub use receivers::{
    AcceptedKey, Channel, ChannelCounts, ReceiverOutage, ReceiverReport, Receivers, ReceiversConfig,
};
pub use snippet::ConnectorEntry;
pub use stats::Stats;
pub use truth::{Destination, ShipmentTruth, Truth, TruthEvent};

pub use waypost_demo::Lanes;

use jiff::Timestamp;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use waypost_domain::Clock;
use world::{World, WorldConfig};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    #[error("unknown fault profile {0:?}; known: none, chaos")]
    UnknownProfile(String),
    #[error("no tenants configured")]
    NoTenants,
    #[error("cannot bind the simulator: {0}")]
    Bind(String),
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    #[error("truth: {0}")]
    Truth(String),
    #[error("engine url {0:?} is not an http(s) url")]
    EngineUrl(String),
    #[error("receivers: {0}")]
    Receivers(String),
}

/// How the simulator runs.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Same seed, same world, same truth.
    pub seed: u64,
    /// How many orders the world creates (it is finite, so it can end and be checked).
    pub orders: usize,
    /// New orders per wall-clock minute.
    pub orders_per_minute: f64,
    /// Simulated seconds per wall second: 1440 is one simulated day per minute.
    pub speed: f64,
    /// Tenant names; orders are spread across them.
    pub tenants: Vec<String>,
    /// How long parcels take on the road and how often each carrier slips: realistic by
    /// default (days; meant for speeds around 1440), or `Lanes::DEMO` (`waypost demo`'s
    /// compressed road, meant for speed 60, and quick tests).
    pub lanes: Lanes,
    pub faults: Faults,
    /// Lifetime of the OAuth2 tokens the carriers issue (short in tests, to force refreshes).
    pub token_ttl: Duration,
    /// The world's start instant; `None`: when [`Sim::start`] is called.
    pub start: Option<Timestamp>,
    /// Webhook attempts per event before giving up (5xx and connection errors are retried).
    pub push_attempts: u32,
    /// Pushes in flight at once.
    pub push_concurrency: usize,
    /// Where to serve; port 0 picks a free one.
    pub listen: SocketAddr,
    /// The notification receivers (portal webhooks, SMS gateway, SMTP), off when `None`.
    pub receivers: Option<ReceiversConfig>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 42,
            orders: 200,
            orders_per_minute: 120.0,
            speed: 1440.0,
            tenants: vec!["acme".into(), "globex".into(), "initech".into()],
            lanes: Lanes::realistic(),
            faults: Faults::none(),
            token_ttl: Duration::from_secs(3600),
            start: None,
            push_attempts: 4,
            push_concurrency: 8,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            receivers: None,
        }
    }
}

impl SimConfig {
    fn world_config(&self) -> WorldConfig {
        WorldConfig {
            seed: self.seed,
            orders: self.orders,
            orders_per_minute: self.orders_per_minute,
            speed: self.speed,
            tenants: self.tenants.clone(),
            lanes: self.lanes.clone(),
            faults: self.faults.clone(),
        }
    }
}

/// The world and its truth, without serving anything: for tests and tools that only need
/// the plan.
pub fn plan(cfg: &SimConfig, start: Timestamp) -> Result<(World, Vec<Truth>), SimError> {
    if cfg.tenants.is_empty() {
        return Err(SimError::NoTenants);
    }
    let world = World::build(&cfg.world_config(), start);
    let truths = truth::truths(&world)?;
    Ok((world, truths))
}

/// Binds the SMTP port and builds the receivers served beside the partners at `addr`.
async fn start_receivers(
    rc: ReceiversConfig,
    shared: &server::Shared,
    addr: SocketAddr,
) -> Result<(Arc<Receivers>, tokio::task::JoinHandle<()>), SimError> {
    let smtp = tokio::net::TcpListener::bind(rc.smtp_listen)
        .await
        .map_err(|e| SimError::Bind(format!("smtp {}: {e}", rc.smtp_listen)))?;
    let smtp_addr = smtp
        .local_addr()
        .map_err(|e| SimError::Bind(e.to_string()))?;
    let r = Arc::new(Receivers::new(
        rc,
        shared.seed(),
        &shared.tenant_names(),
        shared.clock,
        shared.wall.clone(),
        format!("http://{addr}"),
        smtp_addr,
    )?);
    let task = receivers::spawn_smtp(smtp, r.clone());
    Ok((r, task))
}

/// A running simulator. Dropping it stops the server and the pusher.
pub struct Sim {
    shared: Arc<server::Shared>,
    addr: SocketAddr,
    truths: Vec<Truth>,
    server: tokio::task::JoinHandle<()>,
    pusher: Option<tokio::task::JoinHandle<()>>,
    receivers: Option<Arc<Receivers>>,
    smtp: Option<tokio::task::JoinHandle<()>>,
}

impl Sim {
    /// Builds the world, computes the truth and serves every partner on `cfg.listen`
    /// (`127.0.0.1:0` unless set). `wall` is the real clock the simulated one runs on (the
    /// binary's system clock; a test may hand a manual one).
    pub async fn start(cfg: SimConfig, wall: Arc<dyn Clock>) -> Result<Sim, SimError> {
        let start = cfg.start.unwrap_or_else(|| wall.now());
        let listen = cfg.listen;
        let receivers_cfg = cfg.receivers.clone();
        let (world, truths) = plan(&cfg, start)?;
        let shared = Arc::new(server::Shared::new(cfg, world, wall));
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| SimError::Bind(e.to_string()))?;
        let addr = listener
            .local_addr()
            .map_err(|e| SimError::Bind(e.to_string()))?;
        let mut app = server::router(shared.clone());
        let (receivers, smtp) = match receivers_cfg {
            Some(rc) => {
                let (r, smtp) = start_receivers(rc, &shared, addr).await?;
                app = app.merge(receivers::router(r.clone()));
                (Some(r), Some(smtp))
            }
            None => (None, None),
        };
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "simulator server stopped");
            }
        });
        Ok(Sim {
            shared,
            addr,
            truths,
            server,
            pusher: None,
            receivers,
            smtp,
        })
    }

    /// The notification receivers, when [`SimConfig::receivers`] is set: their SMTP address,
    /// URLs, credentials and report.
    pub fn receivers(&self) -> Option<&Receivers> {
        self.receivers.as_deref()
    }

    /// `http://127.0.0.1:PORT`; each partner is under `/<partner>` (see [`Sim::base_url`]).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The base URL connectors of `partner` (`ups`, `fedex`, `usps`, `dhl`, `wms`) are given.
    pub fn base_url(&self, partner: &str) -> String {
        format!("http://{}/{partner}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Starts pushing WMS events to `engine` (`http://host:port`, no path) as signed webhooks.
    /// Events that became visible before this call are pushed at once.
    pub fn push_to(&mut self, engine: &str) -> Result<(), SimError> {
        let engine = engine.trim_end_matches('/');
        if !(engine.starts_with("http://") || engine.starts_with("https://")) {
            return Err(SimError::EngineUrl(engine.to_owned()));
        }
        if let Some(old) = self.pusher.take() {
            old.abort();
        }
        self.pusher = Some(pusher::spawn(self.shared.clone(), engine.to_owned()));
        Ok(())
    }

    /// The ground truth, one entry per order.
    pub fn truths(&self) -> &[Truth] {
        &self.truths
    }

    /// Writes the truth as JSON lines, one order per line.
    pub fn write_truth(&self, path: &Path) -> Result<(), SimError> {
        truth::write_truth(&self.truths, path)
    }

    /// What was served and injected so far.
    pub fn stats(&self) -> Stats {
        self.shared.stats.snapshot()
    }

    pub fn clock(&self) -> SimClock {
        self.shared.clock
    }

    /// When the last event becomes visible at its partner.
    pub fn ends_at(&self) -> Timestamp {
        self.shared.world.last_visible()
    }

    /// Every event is visible and, if a pusher runs, every push has been attempted.
    pub fn is_done(&self) -> bool {
        let visible = self.shared.now() >= self.ends_at();
        let pushed = self.pusher.as_ref().is_none_or(|p| p.is_finished());
        visible && pushed
    }

    /// Waits until [`Sim::is_done`].
    pub async fn wait_done(&self) {
        while !self.is_done() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The Waypost configuration for this world: `[[webhooks]]` for each tenant's WMS and
    /// `[[connectors]]` for each tenant and partner.
    pub fn config_toml(&self) -> String {
        snippet::toml(&self.connectors(), &self.webhooks(), &self.url())
    }

    /// One entry per tenant and partner, for whoever wires connectors.
    pub fn connectors(&self) -> Vec<ConnectorEntry> {
        snippet::connectors(&self.url(), &self.shared.tenant_names())
    }

    /// `(tenant, Standard Webhooks secret)` of each tenant's WMS.
    pub fn webhooks(&self) -> Vec<(String, String)> {
        self.shared
            .tenant_names()
            .into_iter()
            .map(|t| {
                let secret = snippet::webhook_secret(self.shared.seed(), &t);
                (t, secret)
            })
            .collect()
    }

    /// Stops serving and pushing.
    pub fn shutdown(self) {}
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.server.abort();
        if let Some(p) = &self.pusher {
            p.abort();
        }
        if let Some(s) = &self.smtp {
            s.abort();
        }
    }
}
