//! What `/metrics` answers: the process's one `prometheus-client` registry, into which every
//! crate registered its families when the binary wired it (the engine's counters, the
//! connectors' health), plus the API's own alert gauges, which each scrape refreshes from the
//! store. Encoded as Prometheus text (version 0.0.4), as before.
//!
//! Invariant: alert gauges name tenants only when the operator asked (`[metrics]
//! tenant_labels`); otherwise they are summed over tenants. Either way there is one series per
//! combination the store ever counted (tenants are configured, status and severity closed
//! vocabularies), so the cardinality is bounded.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

/// The `Content-Type` of a scrape.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// Alerts per (tenant, status, severity), as the store tallies them.
pub type AlertCounts = Vec<(String, String, String, u64)>;

/// The registry `/metrics` encodes.
#[derive(Debug)]
pub struct Scrape {
    registry: Registry,
    alerts: Arc<AlertGauges>,
    // A std mutex: held while one scrape sets its alert counts and encodes (no await inside),
    // so a concurrent scrape cannot swap its own counts in between.
    one_at_a_time: Mutex<()>,
}

impl Default for Scrape {
    /// Nothing registered but the alert gauges (tests, and a state before wiring is done).
    fn default() -> Self {
        Scrape::new(Registry::default())
    }
}

impl Scrape {
    /// `registry` holds every other crate's families; the API adds its alert gauges to it.
    pub fn new(mut registry: Registry) -> Self {
        let alerts = Arc::new(AlertGauges::default());
        registry.register_collector(Box::new(alerts.clone()));
        Scrape {
            registry,
            alerts,
            one_at_a_time: Mutex::new(()),
        }
    }

    /// One scrape's text. `alerts`: the store's tally, or `None` when it could not be read,
    /// which leaves the alert gauges out of this scrape (a gap Prometheus shows) rather than
    /// failing everything else. `per_tenant`: `[metrics] tenant_labels`.
    pub fn encode(&self, alerts: Option<AlertCounts>, per_tenant: bool) -> String {
        let _one = self.one_at_a_time.lock().unwrap_or_else(|p| p.into_inner());
        *self.alerts.lock() = alerts.map(|rows| (rows, per_tenant));
        let mut text = String::with_capacity(8192);
        // Writing into a String cannot fail; a collector's error would cut the scrape short,
        // and what was written is still worth answering with.
        if let Err(e) = prometheus_text::encode(&mut text, &self.registry) {
            tracing::error!(error = %e, "encoding the metrics failed");
        }
        text
    }
}

/// `waypost_alerts{status,severity}`, summed over tenants; `per_tenant`:
/// `waypost_alerts{tenant,status,severity}`. Tenant names stay out by default: a scrape is
/// often shipped to places the tenants' data is not meant to go.
#[derive(Debug, Default)]
struct AlertGauges {
    latest: Mutex<Option<(AlertCounts, bool)>>,
}

impl AlertGauges {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(AlertCounts, bool)>> {
        // A std mutex, held to swap or read the rows, never across an await.
        self.latest.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Collector for AlertGauges {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let latest = self.lock();
        let Some((rows, per_tenant)) = latest.as_ref() else {
            return Ok(());
        };
        if *per_tenant {
            let mut family = encoder.encode_descriptor(
                "waypost_alerts",
                "Alerts by tenant, status and severity.",
                None,
                MetricType::Gauge,
            )?;
            for (tenant, status, severity, n) in rows {
                let labels = [
                    ("tenant", tenant.as_str()),
                    ("status", status.as_str()),
                    ("severity", severity.as_str()),
                ];
                ConstGauge::new(*n).encode(family.encode_family(&labels)?)?;
            }
            return Ok(());
        }
        // Ordered, so a scrape lists the series in the same order every time.
        let mut sums: BTreeMap<(&str, &str), u64> = BTreeMap::new();
        for (_, status, severity, n) in rows {
            *sums.entry((status, severity)).or_default() += n;
        }
        let mut family = encoder.encode_descriptor(
            "waypost_alerts",
            "Alerts by status and severity, over all tenants.",
            None,
            MetricType::Gauge,
        )?;
        for ((status, severity), n) in sums {
            let labels = [("status", status), ("severity", severity)];
            ConstGauge::new(n).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use waypost_engine::{Metrics, Rejection};

    fn rows() -> AlertCounts {
        vec![
            ("acme".into(), "open".into(), "high".into(), 3),
            ("umbrella".into(), "open".into(), "high".into(), 2),
            ("umbrella".into(), "resolved".into(), "low".into(), 1),
        ]
    }

    #[test]
    fn counts_render_as_one_gauge_family() {
        let scrape = Scrape::default();
        let text = scrape.encode(Some(rows()), true);
        assert!(text.contains("# TYPE waypost_alerts gauge"), "{text}");
        assert!(
            text.contains("waypost_alerts{tenant=\"acme\",status=\"open\",severity=\"high\"} 3"),
            "{text}"
        );
        // By default the tenants are summed and not named.
        let text = scrape.encode(Some(rows()), false);
        assert_eq!(text.matches("# TYPE waypost_alerts gauge").count(), 1);
        assert!(text.contains("waypost_alerts{status=\"open\",severity=\"high\"} 5\n"));
        assert!(text.contains("waypost_alerts{status=\"resolved\",severity=\"low\"} 1\n"));
        assert!(!text.contains("acme") && !text.contains("umbrella") && !text.contains("tenant="));
        // An unreadable tally leaves the family out of that scrape only.
        assert!(!scrape.encode(None, false).contains("waypost_alerts"));
    }

    #[test]
    fn label_values_are_escaped() {
        let rows = vec![("a\"b\\c\nd".into(), "open".into(), "high".into(), 1)];
        let text = Scrape::default().encode(Some(rows), true);
        assert!(
            text.contains(r#"waypost_alerts{tenant="a\"b\\c\nd",status="open",severity="high"} 1"#),
            "{text}"
        );
    }

    #[test]
    fn the_engines_families_and_the_alerts_are_one_answer() {
        let metrics = Metrics::default();
        let mut registry = Registry::default();
        metrics.register(&mut registry);
        let scrape = Scrape::new(registry);
        metrics.reject(Rejection::Unauthorized, 1);
        metrics.events_accepted.inc_by(2);
        let text = scrape.encode(Some(rows()), false);
        for line in [
            "waypost_events_rejected_total{reason=\"unauthorized\"} 1",
            "waypost_events_accepted_total 2",
            "waypost_alerts{status=\"open\",severity=\"high\"} 5",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
        // Prometheus text 0.0.4: no OpenMetrics end marker.
        assert!(!text.contains("# EOF"), "{text}");
    }
}
