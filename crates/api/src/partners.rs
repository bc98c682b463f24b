//! What the HTTP layer needs of the partner connectors (the polling runtime lives in
//! `waypost-connectors`, wired by the binary): a sign of life from each accepted webhook, for
//! the reconciler, and every partner's health, for `GET /v1/sources` and `/metrics`.

use serde::Serialize;
use std::fmt::Write;
use utoipa::ToSchema;
use waypost_adapters::Source;
use waypost_domain::TenantId;

pub trait Partners: Send + Sync + 'static {
    /// A webhook of `source` was accepted for `tenant`.
    fn webhook_seen(&self, tenant: &TenantId, source: Source);
    /// The health of every configured connector, all tenants.
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

/// The health as Prometheus text, appended to `/metrics`.
pub fn render_metrics(list: &[SourceHealth]) -> String {
    const STATES: [&str; 4] = ["healthy", "degraded", "down", "circuit_open"];
    let mut out = String::new();
    let gauges: [(&str, &str, fn(&SourceHealth) -> f64); 6] = [
        (
            "waypost_source_error_rate_5m",
            "Share of failed partner requests over the last 5 minutes.",
            |h| h.last_5m.error_rate,
        ),
        (
            "waypost_source_lag_seconds",
            "Now minus the newest event time received from the partner.",
            |h| h.lag_seconds.unwrap_or(0) as f64,
        ),
        (
            "waypost_source_in_flight",
            "Partner requests in flight.",
            |h| h.in_flight as f64,
        ),
        (
            "waypost_source_tracked",
            "Shipments a carrier connector polls.",
            |h| h.tracked as f64,
        ),
        (
            "waypost_source_dead_letters",
            "Open dead letters from the partner.",
            |h| h.dead_letters as f64,
        ),
        (
            "waypost_source_requests_total",
            "Requests made to the partner.",
            |h| h.requests as f64,
        ),
    ];
    for (name, help, value) in gauges {
        let kind = if name.ends_with("_total") {
            "counter"
        } else {
            "gauge"
        };
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for h in list {
            let _ = writeln!(
                out,
                "{name}{{connector=\"{}\",source=\"{}\"}} {}",
                h.name,
                h.source,
                value(h)
            );
        }
    }
    let name = "waypost_source_state";
    let _ = writeln!(
        out,
        "# HELP {name} 1 for the partner's current state.\n# TYPE {name} gauge"
    );
    for h in list {
        for s in STATES {
            let _ = writeln!(
                out,
                "{name}{{connector=\"{}\",state=\"{s}\"}} {}",
                h.name,
                u8::from(h.state == s)
            );
        }
    }
    out
}
