//! Connectors' health as Prometheus text, for the integrator's `/metrics`. Labels are the
//! configured connector names (a bounded set) and the fixed state names.

use crate::policy::health::HealthState;
use crate::runtime::ConnectorHealth;
use std::fmt::Write;

const STATES: [(HealthState, &str); 4] = [
    (HealthState::Healthy, "healthy"),
    (HealthState::Degraded, "degraded"),
    (HealthState::Down, "down"),
    (HealthState::CircuitOpen, "circuit_open"),
];

type Field = fn(&ConnectorHealth) -> u64;

const COUNTERS: [(&str, &str, Field); 13] = [
    ("requests", "HTTP requests sent to the partner.", |h| {
        h.requests
    }),
    (
        "retries",
        "Requests retried after a transient failure.",
        |h| h.retries,
    ),
    (
        "rate_limited_waits",
        "Requests that waited for the rate limit.",
        |h| h.rate_limited_waits,
    ),
    ("throttled", "429 answers.", |h| h.throttled),
    (
        "timeouts",
        "Requests that got no answer within the timeout.",
        |h| h.timeouts,
    ),
    (
        "not_found",
        "Tracking numbers the partner did not know (yet).",
        |h| h.not_found,
    ),
    (
        "refreshed",
        "Tracking numbers whose poll was answered (found or not).",
        |h| h.refreshed,
    ),
    ("documents", "Documents the sink accepted.", |h| h.documents),
    (
        "events",
        "Events in the documents the sink accepted.",
        |h| h.events,
    ),
    (
        "dead_letters",
        "Documents the sink rejected as unreadable.",
        |h| h.dead_letters,
    ),
    (
        "sink_busy",
        "Times the sink asked to come back later.",
        |h| h.sink_busy,
    ),
    ("tokens_refreshed", "OAuth2 tokens fetched.", |h| {
        h.tokens_refreshed
    }),
    ("breaker_opened", "Times the circuit breaker opened.", |h| {
        h.breaker_opened
    }),
];

/// Renders every connector's counters and gauges.
pub fn render(health: &[ConnectorHealth]) -> String {
    let mut out = String::new();
    for (name, help, field) in COUNTERS {
        let _ = writeln!(
            out,
            "# HELP waypost_connector_{name}_total {help}\n# TYPE waypost_connector_{name}_total counter"
        );
        for h in health {
            let _ = writeln!(
                out,
                "waypost_connector_{name}_total{{connector=\"{}\"}} {}",
                h.name,
                field(h)
            );
        }
    }
    gauge(
        &mut out,
        "in_flight",
        "Items being fetched now.",
        health,
        |h| Some(h.in_flight as f64),
    );
    gauge(
        &mut out,
        "tracked",
        "Shipments being polled.",
        health,
        |h| Some(h.tracked as f64),
    );
    gauge(
        &mut out,
        "overdue",
        "Shipments past their poll time.",
        health,
        |h| Some(h.overdue as f64),
    );
    gauge(
        &mut out,
        "lag_seconds",
        "Now minus the newest event time fetched.",
        health,
        |h| h.lag_secs.map(|s| s as f64),
    );
    gauge(
        &mut out,
        "error_rate_5m",
        "Failed requests over the last 5 minutes, 0 to 1.",
        health,
        |h| Some(h.last_5m.error_rate),
    );
    gauge(
        &mut out,
        "latency_p95_5m_seconds",
        "95th percentile latency over the last 5 minutes (bucket bound).",
        health,
        |h| h.last_5m.p95_ms.map(|ms| ms as f64 / 1000.0),
    );
    let _ = writeln!(
        out,
        "# HELP waypost_connector_state 1 for the connector's current health state.\n# TYPE waypost_connector_state gauge"
    );
    for h in health {
        for (state, label) in STATES {
            let _ = writeln!(
                out,
                "waypost_connector_state{{connector=\"{}\",state=\"{label}\"}} {}",
                h.name,
                u8::from(h.state == state)
            );
        }
    }
    out
}

fn gauge(
    out: &mut String,
    name: &str,
    help: &str,
    health: &[ConnectorHealth],
    value: impl Fn(&ConnectorHealth) -> Option<f64>,
) {
    let _ = writeln!(
        out,
        "# HELP waypost_connector_{name} {help}\n# TYPE waypost_connector_{name} gauge"
    );
    for h in health {
        if let Some(v) = value(h) {
            let _ = writeln!(
                out,
                "waypost_connector_{name}{{connector=\"{}\"}} {v}",
                h.name
            );
        }
    }
}
