//! What the HTTP layer needs of the partner connectors (the polling runtime lives in
//! `waypost-connectors`, wired by the binary): a sign of life from each accepted webhook, for
//! the reconciler, and every partner's health, for `GET /v1/sources` (their metrics are
//! registered into the process's registry when the binary starts them).

use serde::Serialize;
use utoipa::ToSchema;
use waypost_adapters::Source;
use waypost_domain::TenantId;

pub trait Partners: Send + Sync + 'static {
    /// A webhook of `source` was accepted for `tenant`.
    fn webhook_seen(&self, tenant: &TenantId, source: Source);
    /// The health of every configured connector and pushed source, all tenants.
    fn health(&self) -> Vec<SourceHealth>;
}

/// One partner connection as an operator sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SourceHealth {
    /// The connector's configured name.
    pub name: String,
    #[serde(skip)]
    pub tenant: String,
    /// The vendor format it speaks (`ups`, `wms`, ...).
    pub source: String,
    /// `poll` (a connector) or `webhook` (pushed only).
    pub kind: String,
    /// `healthy`, `degraded`, `down` or `circuit_open` (polls); for pushed sources `receiving`
    /// or `quiet`.
    pub state: String,
    #[schema(value_type = Option<String>)]
    pub last_success_at: Option<jiff::Timestamp>,
    /// Now minus the newest event time received from it, in seconds.
    pub lag_seconds: Option<i64>,
    pub last_5m: WindowDto,
    pub last_60m: WindowDto,
    /// Requests (or pages) being fetched right now.
    pub in_flight: u64,
    /// Shipments being polled (carriers), and how many are past due.
    pub tracked: u64,
    pub overdue: u64,
    /// Open dead letters that came from it.
    pub dead_letters: u64,
    /// `closed`, `open` or `half_open`.
    pub breaker: String,
    pub breaker_opened: u64,
    pub requests: u64,
    pub retries: u64,
    /// 429 answers from the partner.
    pub throttled: u64,
    pub timeouts: u64,
    pub documents: u64,
    pub events: u64,
    /// A feed's position, and whether it is catching up because webhooks went quiet.
    pub cursor: Option<String>,
    pub catching_up: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct WindowDto {
    pub requests: u64,
    pub errors: u64,
    pub error_rate: f64,
    pub latency_ms_p50: Option<u64>,
    pub latency_ms_p99: Option<u64>,
}
