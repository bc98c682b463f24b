//! Connectors' health as Prometheus families in the process's one registry ([`register`]).
//! A collector reads the connectors' own counters at each scrape, so polling pays nothing for
//! being observed. Labels are the configured connector names (a bounded set) and the fixed
//! state names.

use crate::policy::health::HealthState;
use crate::runtime::{ConnectorHealth, Connectors};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeGaugeValue, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use std::fmt;

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

/// Registers every connector's counters and gauges into `registry` (the binary calls this
/// once, when the connectors start). Each scrape reads a fresh [`Connectors::snapshot`].
pub fn register(registry: &mut Registry, connectors: &Connectors) {
    let connectors = connectors.clone();
    registry.register_collector(Box::new(HealthCollector(move || connectors.snapshot())));
}

/// The families of whatever health `snapshot` reports at the scrape.
struct HealthCollector<F>(F);

impl<F> fmt::Debug for HealthCollector<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HealthCollector")
    }
}

impl<F> Collector for HealthCollector<F>
where
    F: Fn() -> Vec<ConnectorHealth> + Send + Sync + 'static,
{
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        encode(&mut encoder, &(self.0)())
    }
}

/// Help texts are written as given here (the registry adds a period only to the families
/// registered through it); counter names get their `_total` from the encoder.
fn encode(encoder: &mut DescriptorEncoder, health: &[ConnectorHealth]) -> fmt::Result {
    for (name, help, field) in COUNTERS {
        let name = format!("waypost_connector_{name}");
        let mut family = encoder.encode_descriptor(&name, help, None, MetricType::Counter)?;
        for h in health {
            ConstCounter::new(field(h)).encode(family.encode_family(&connector(h))?)?;
        }
    }
    gauge(
        encoder,
        "in_flight",
        "Items being fetched now.",
        health,
        |h| Some(h.in_flight),
    )?;
    gauge(encoder, "tracked", "Shipments being polled.", health, |h| {
        Some(h.tracked as u64)
    })?;
    gauge(
        encoder,
        "overdue",
        "Shipments past their poll time.",
        health,
        |h| Some(h.overdue as u64),
    )?;
    gauge(
        encoder,
        "lag_seconds",
        "Now minus the newest event time fetched.",
        health,
        |h| h.lag_secs,
    )?;
    gauge(
        encoder,
        "error_rate_5m",
        "Failed requests over the last 5 minutes, 0 to 1.",
        health,
        |h| Some(h.last_5m.error_rate),
    )?;
    gauge(
        encoder,
        "latency_p95_5m_seconds",
        "95th percentile latency over the last 5 minutes (bucket bound).",
        health,
        |h| h.last_5m.p95_ms.map(|ms| ms as f64 / 1000.0),
    )?;
    let mut family = encoder.encode_descriptor(
        "waypost_connector_state",
        "1 for the connector's current health state.",
        None,
        MetricType::Gauge,
    )?;
    for h in health {
        for (state, label) in STATES {
            let labels = [("connector", h.name.as_str()), ("state", label)];
            ConstGauge::new(u64::from(h.state == state)).encode(family.encode_family(&labels)?)?;
        }
    }
    Ok(())
}

fn connector(h: &ConnectorHealth) -> [(&'static str, &str); 1] {
    [("connector", h.name.as_str())]
}

/// One gauge family; a connector without a value (no lag before its first event) has no
/// series.
fn gauge<N: EncodeGaugeValue>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    health: &[ConnectorHealth],
    value: impl Fn(&ConnectorHealth) -> Option<N>,
) -> fmt::Result {
    let name = format!("waypost_connector_{name}");
    let mut family = encoder.encode_descriptor(&name, help, None, MetricType::Gauge)?;
    for h in health {
        if let Some(v) = value(h) {
            ConstGauge::new(v).encode(family.encode_family(&connector(h))?)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::breaker::BreakerState;
    use crate::policy::health::WindowStats;
    use prometheus_client::encoding::prometheus_text::encode;

    fn health(name: &str, state: HealthState) -> ConnectorHealth {
        let window = WindowStats {
            requests: 4,
            errors: 3,
            error_rate: 0.75,
            p50_ms: Some(100),
            p95_ms: Some(250),
            p99_ms: None,
        };
        ConnectorHealth {
            name: name.into(),
            tenant: "acme".into(),
            source: "dhl",
            state,
            last_success: None,
            lag_secs: (name == "dhl-acme").then_some(42),
            last_5m: window,
            last_60m: window,
            in_flight: 1,
            tracked: 7,
            overdue: 2,
            requests: 4,
            retries: 3,
            rate_limited_waits: 0,
            throttled: 0,
            timeouts: 0,
            not_found: 0,
            refreshed: 1,
            documents: 1,
            events: 5,
            dead_letters: 0,
            sink_busy: 0,
            state_errors: 0,
            tokens_refreshed: 0,
            breaker: BreakerState::Closed,
            breaker_opened: 0,
            breaker_closed: 0,
            feed: None,
        }
    }

    #[test]
    fn a_scrape_reads_the_snapshot_of_that_moment() {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(HealthCollector(|| {
            vec![
                health("dhl-acme", HealthState::Degraded),
                health("ups-acme", HealthState::Healthy),
            ]
        })));
        let mut text = String::new();
        encode(&mut text, &registry).unwrap_or_else(|e| panic!("{e}"));
        for line in [
            "# HELP waypost_connector_requests_total HTTP requests sent to the partner.",
            "# TYPE waypost_connector_requests_total counter",
            "waypost_connector_requests_total{connector=\"dhl-acme\"} 4",
            "waypost_connector_retries_total{connector=\"ups-acme\"} 3",
            "# TYPE waypost_connector_tracked gauge",
            "waypost_connector_tracked{connector=\"dhl-acme\"} 7",
            "waypost_connector_lag_seconds{connector=\"dhl-acme\"} 42",
            "waypost_connector_error_rate_5m{connector=\"dhl-acme\"} 0.75",
            "waypost_connector_latency_p95_5m_seconds{connector=\"dhl-acme\"} 0.25",
            "waypost_connector_state{connector=\"dhl-acme\",state=\"degraded\"} 1",
            "waypost_connector_state{connector=\"dhl-acme\",state=\"healthy\"} 0",
            "waypost_connector_state{connector=\"ups-acme\",state=\"healthy\"} 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
        // No lag before a connector's first event: no series rather than a made-up value.
        assert!(!text.contains("waypost_connector_lag_seconds{connector=\"ups-acme\"}"));
        assert!(!text.contains(".."), "{text}");
    }
}
