//! The HTTP boundary. Wire types (`dto`) are defined here and converted from domain views, so
//! the domain never changes shape for a client; every error leaves as RFC 9457 problem+json
//! (`problem`); every route is scoped to the tenant of the caller's API key (`auth`) or of its
//! bound TLS client certificate (`client_cert`), or of a dashboard user's session cookie.
//!
//! Invariant: a handler never blocks its async worker on the store: reads run on the blocking
//! pool, events and documents go through `waypost_intake`, commands through the engine.

pub mod auth;
pub mod body_budget;
pub mod client_addr;
pub mod client_cert;
pub mod dto;
pub mod media_type;
pub mod metrics_access;
pub mod notify_guard;
mod openapi;
pub mod partners;
pub mod problem;
pub mod public_id;
mod routes;
pub mod scrape;
pub mod strict_json;
pub mod webhooks;

pub use openapi::ApiDoc;

use axum::Router;
use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, RwLock};
use tokio::sync::broadcast;
use waypost_adapters::MappingSet;
use waypost_domain::{InputLimits, TenantId};
use waypost_engine::{Clock, IntakeHandle, Metrics};
use waypost_intake::Intake;
use waypost_store::{AlertRow, Change, ReadStore};

/// Everything a handler may touch.
#[derive(Clone)]
pub struct AppState {
    /// The engine's front door, for commands (alerts, notifications, rule reloads, source
    /// reports); events and documents go through `intake`.
    pub engine: IntakeHandle,
    /// Every document and event batch goes in through here.
    pub intake: Arc<Intake>,
    /// Orders enter through here (`POST /v1/orders`, the channels, the intake queue); `None`
    /// on a server without order intake.
    pub orders: Option<waypost_order_intake::OrderDesk>,
    /// The sales channels' pollers (and the BigCommerce webhooks they answer), when any are
    /// configured.
    pub order_pollers: Option<waypost_connectors::OrderPollers>,
    pub reader: Arc<dyn ReadStore>,
    pub changes: broadcast::Sender<Arc<Change>>,
    pub metrics: Arc<Metrics>,
    pub ready: Arc<AtomicBool>,
    /// World time: `received_at`, change times (may follow a simulator's accelerated day).
    pub clock: Arc<dyn Clock>,
    /// The real clock, for transport concerns: a webhook signature's timestamp is checked
    /// against it, because the sender keeps real time whatever world the engine follows.
    pub transport_clock: Arc<dyn Clock>,
    pub keys: Arc<auth::KeyCache>,
    pub limits: ApiLimits,
    pub webhooks: Arc<webhooks::WebhookSettings>,
    pub guards: Arc<webhooks::Guards>,
    /// Swapped whole when an operator reloads the tables (`POST /v1/unmapped/remap`); the same
    /// handle `intake` reads.
    // A std RwLock: held only to clone or replace the Arc, never across an await.
    pub mapping_set: Arc<RwLock<Arc<MappingSet>>>,
    /// Reads the tables again (shipped ones plus the tenants' override files).
    pub mapping_loader: Option<Arc<MappingLoader>>,
    /// Writes one code's mapping into a tenant's override file (accepting a proposal).
    pub mapping_writer: Option<Arc<MappingWriter>>,
    /// The partner connectors, when any are configured.
    pub partners: Option<Arc<dyn partners::Partners>>,
    /// Every alert raised or changed (the engine's broadcast).
    pub alerts: broadcast::Sender<Arc<AlertRow>>,
    /// Reads the exception rules again from the configuration (`POST /v1/admin/reload`, SIGHUP).
    pub rules_loader: Option<Arc<RulesLoader>>,
    /// Reads every tenant's order-intake settings again (`POST /v1/admin/reload`, SIGHUP).
    pub orders_loader: Option<Arc<OrdersLoader>>,
    /// The SSRF policy webhook URLs are held against when they are registered.
    pub notify_guard: Arc<notify_guard::NotifyGuard>,
    /// Each tenant's branding on its customers' tracking page (`[notify.tenants.<t>]`).
    pub brands: Arc<HashMap<TenantId, Brand>>,
    /// `notify.public_url` (where customers reach this server), for customer links.
    pub public_url: Option<String>,
    /// Dashboard logins: the session store, failed-login throttles, cookie settings.
    pub sessions: Arc<auth::Sessions>,
    /// The reverse proxies whose `X-Forwarded-For` (or `Forwarded`) names the real client.
    pub proxies: Arc<client_addr::TrustedProxies>,
    /// Who may read `/metrics`, and whether its alert gauges name tenants (`[metrics]`).
    pub metrics_access: Arc<metrics_access::MetricsAccess>,
    /// The process's one metrics registry, which `/metrics` encodes.
    pub scrape: Arc<scrape::Scrape>,
    /// Turns the store's row numbers, shared by every tenant, into opaque public ids and back.
    pub public_ids: Arc<public_id::PublicIds>,
}

/// The path of an order's customer page, by its link token.
pub fn tracking_path(token: &str) -> String {
    format!("/track/{token}")
}

/// The public URL of an order's customer page: `public_url` (`notify.public_url`, with or
/// without a trailing slash) and [`tracking_path`]. The dashboard's link and the one
/// notifications carry are both this.
pub fn tracking_url(public_url: &str, token: &str) -> String {
    format!(
        "{}{}",
        public_url.trim_end_matches('/'),
        tracking_path(token)
    )
}

/// A tenant's branding as its customers see it on the tracking page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Brand {
    pub name: Option<String>,
    pub logo_url: Option<String>,
    /// A CSS colour, as configured.
    pub color: Option<String>,
}

pub type MappingLoader = dyn Fn() -> Result<MappingSet, String> + Send + Sync;
/// Adds (or replaces) one code in a tenant's override table of a source; returns where it was
/// written. Blocking: called on the blocking pool.
pub type MappingWriter = dyn Fn(&TenantId, waypost_adapters::Source, &str, &NewMapping) -> Result<String, String>
    + Send
    + Sync;

/// One code's meaning, as a person accepted it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMapping {
    pub status: waypost_domain::Status,
    pub reason: Option<waypost_domain::Reason>,
    /// The vendor's own words for the code.
    pub description: String,
    /// Where the meaning comes from (who accepted which proposal).
    pub reference: String,
}
pub type RulesLoader = dyn Fn() -> Result<waypost_rules::RuleSet, String> + Send + Sync;

/// Reads every tenant's order-intake settings (accounts, profiles), validated whole.
pub type OrdersLoader =
    dyn Fn() -> Result<Vec<(TenantId, waypost_order_intake::TenantOrders)>, String> + Send + Sync;

impl AppState {
    /// The mapping tables in force.
    pub fn mappings(&self) -> Arc<MappingSet> {
        self.mapping_set
            .read()
            .map(|m| m.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// Reloads the tables with the loader, if there is one; the old ones stay on error.
    pub fn reload_mappings(&self) -> Result<(), String> {
        let Some(load) = &self.mapping_loader else {
            return Ok(());
        };
        let fresh = Arc::new(load()?);
        match self.mapping_set.write() {
            Ok(mut m) => *m = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
        Ok(())
    }

    /// Reads every tenant's order-intake settings again and swaps them in; the old ones stay
    /// on error. Returns how many tenants have settings of their own.
    pub async fn reload_orders(&self) -> Result<usize, String> {
        let (Some(load), Some(desk)) = (&self.orders_loader, &self.orders) else {
            return Ok(0);
        };
        let load = load.clone();
        let all = tokio::task::spawn_blocking(move || load())
            .await
            .map_err(|e| format!("reading the order settings failed: {e}"))??;
        let n = all.len();
        for (tenant, settings) in all {
            desk.configure(tenant, settings);
        }
        Ok(n)
    }

    /// Reads the rules again and hands them to the engine; the old ones stay on error.
    /// Returns how many rules are now in force.
    pub async fn reload_rules(&self) -> Result<usize, ReloadError> {
        let Some(load) = &self.rules_loader else {
            return Err(ReloadError::NoConfig);
        };
        let load = load.clone();
        let rules = tokio::task::spawn_blocking(move || load())
            .await
            .map_err(|e| ReloadError::Invalid(format!("reading the rules failed: {e}")))?
            .map_err(ReloadError::Invalid)?;
        let n = rules.len();
        self.engine
            .reload_rules(Arc::new(rules))
            .await
            .map_err(|_| ReloadError::ShuttingDown)?;
        Ok(n)
    }
}

/// Why the rules were not reloaded; in every case the rules in force are unchanged.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("this server has no configuration file to reload rules from")]
    NoConfig,
    /// The file does not load: every problem, one per line.
    #[error("{0}")]
    Invalid(String),
    #[error("the engine is shutting down")]
    ShuttingDown,
}

#[derive(Debug, Clone, Copy)]
pub struct ApiLimits {
    pub max_body_bytes: usize,
    pub input: InputLimits,
    pub max_page: usize,
    /// Bytes of webhook and `/v1/events` bodies one tenant may have being read at once (see
    /// `body_budget`).
    pub max_tenant_body_bytes: usize,
}

/// The body limit of the routes an anonymous caller may reach with a body (the login): what
/// they take is small, and the limit is what an unauthenticated request may make us hold.
pub const ANONYMOUS_BODY_BYTES: usize = 16 * 1024;

/// The body limit of command and management routes (alerts, quarantine, dead letters,
/// notification endpoints, subscriptions and contacts, reload): JSON of a few fields, or an
/// endpoint with its templates. Generous for those, and small beside `max_body_bytes`.
pub const COMMAND_BODY_BYTES: usize = 256 * 1024;

impl Default for ApiLimits {
    fn default() -> Self {
        ApiLimits {
            max_body_bytes: 4 * 1024 * 1024,
            input: InputLimits::default(),
            max_page: 500,
            // Four of the largest vendor documents at once.
            max_tenant_body_bytes: 64 * 1024 * 1024,
        }
    }
}

pub fn router(state: AppState) -> Router {
    routes::router(state)
}
