//! What the HTTP layer needs of the partner connectors (the polling runtime lives in
//! `waypost-connectors`, wired into a server by its `served`): a sign of life from each
//! accepted webhook, for the reconciler, and every partner's health, for `GET /v1/sources`
//! (their metrics go into the process's registry when the binary starts them). The trait keeps
//! the routes testable without connectors; [`Served`]'s view of it (the DTOs of
//! `/v1/sources`) is here, at the API's edge.

use serde::Serialize;
use utoipa::ToSchema;
use waypost_adapters::Source;
use waypost_connectors::served::Served;
use waypost_connectors::{ConnectorHealth, WindowStats};
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

/// The connectors' health and the webhooks seen, as `/v1/sources` and `/metrics` show them.
impl Partners for Served {
    fn webhook_seen(&self, tenant: &TenantId, source: Source) {
        Served::webhook_seen(self, tenant, source);
    }

    fn health(&self) -> Vec<SourceHealth> {
        let mut out: Vec<SourceHealth> = self.snapshot().into_iter().map(polled).collect();
        let now = self.wall_now();
        for ((tenant, source), w) in self.webhooks() {
            let quiet = now.duration_since(w.last) > jiff::SignedDuration::from_mins(15);
            out.push(SourceHealth {
                name: format!("webhook:{source}"),
                tenant,
                source: source.to_owned(),
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
