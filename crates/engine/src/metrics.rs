//! The engine's counters, gauges and histograms, as `prometheus-client` metrics the binary
//! registers into the process's one registry ([`Metrics::register`]). Labels are a fixed, small
//! set so their cardinality is bounded whatever the input; counters on the ingest path are
//! single atomic increments (fixed label sets are resolved to their counter once, up front).

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Why a request's events were not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    MalformedJson,
    UnsupportedMediaType,
    InvalidEvent,
    TooLarge,
    Unauthorized,
    Forbidden,
    Throttled,
    Unavailable,
}

impl Rejection {
    const ALL: [Rejection; 8] = [
        Rejection::MalformedJson,
        Rejection::UnsupportedMediaType,
        Rejection::InvalidEvent,
        Rejection::TooLarge,
        Rejection::Unauthorized,
        Rejection::Forbidden,
        Rejection::Throttled,
        Rejection::Unavailable,
    ];
    fn label(self) -> &'static str {
        match self {
            Rejection::MalformedJson => "malformed_json",
            Rejection::UnsupportedMediaType => "unsupported_media_type",
            Rejection::InvalidEvent => "invalid_event",
            Rejection::TooLarge => "too_large",
            Rejection::Unauthorized => "unauthorized",
            Rejection::Forbidden => "forbidden",
            Rejection::Throttled => "throttled",
            Rejection::Unavailable => "unavailable",
        }
    }
}

/// A gauge of a count (queue depth, bytes, connections): never negative.
pub type CountGauge = Gauge<u64, AtomicU64>;

/// Upper bounds in seconds, from 0.5 ms to 10 s.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0,
];

/// A histogram of lock-free atomics. `prometheus-client`'s own histogram takes a mutex per
/// observation, and the end-to-end latency is observed once per event on the writer's path.
/// Clones share their counts (a clone is what the registry holds).
#[derive(Debug, Default, Clone)]
pub struct Histogram(Arc<HistogramCounts>);

#[derive(Debug, Default)]
struct HistogramCounts {
    counts: [AtomicU64; BUCKETS.len() + 1],
    sum_us: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, seconds: f64) {
        let h = &self.0;
        let i = BUCKETS
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(BUCKETS.len());
        h.counts[i].fetch_add(1, Relaxed);
        h.sum_us.fetch_add((seconds.max(0.0) * 1e6) as u64, Relaxed);
        h.count.fetch_add(1, Relaxed);
    }
}

impl EncodeMetric for Histogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let h = &self.0;
        // Per bucket, not cumulative: the encoder adds them up; the last bound is +Inf.
        let mut buckets = [(f64::INFINITY, 0); BUCKETS.len() + 1];
        for (i, b) in buckets.iter_mut().enumerate() {
            *b = (
                BUCKETS.get(i).copied().unwrap_or(f64::INFINITY),
                h.counts[i].load(Relaxed),
            );
        }
        encoder.encode_histogram::<NoLabelSet>(
            h.sum_us.load(Relaxed) as f64 / 1e6,
            h.count.load(Relaxed),
            &buckets,
            None,
        )
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

type Pair = [(&'static str, &'static str); 2];

/// A counter family with two labels. Label values are `&'static str`, so only names fixed in
/// the code (source names, outcomes, reasons) can become series: cardinality is bounded by
/// construction. A lookup takes the family's read lock; these count documents and refusals,
/// not events.
#[derive(Debug, Clone)]
pub struct Labeled {
    keys: [&'static str; 2],
    family: Family<Pair, Counter>,
}

impl Labeled {
    fn new(keys: [&'static str; 2]) -> Self {
        Labeled {
            keys,
            family: Family::default(),
        }
    }

    fn labels(&self, [a, b]: [&'static str; 2]) -> Pair {
        [(self.keys[0], a), (self.keys[1], b)]
    }

    pub fn add(&self, labels: [&'static str; 2], n: u64) {
        self.family.get_or_create(&self.labels(labels)).inc_by(n);
    }

    pub fn get(&self, labels: [&'static str; 2]) -> u64 {
        self.family.get(&self.labels(labels)).map_or(0, |c| c.get())
    }
}

#[derive(Debug)]
pub struct Metrics {
    /// Vendor documents received, by source and outcome (accepted, rejected, replayed).
    pub documents: Labeled,
    /// Webhook deliveries refused before reading, by source and reason (signature, ip, ...).
    pub webhook_auth_failures: Labeled,
    /// Codes no mapping knew, by source and kind (status, reason).
    pub unmapped_codes: Labeled,
    pub events_accepted: Counter,
    pub events_duplicate: Counter,
    pub events_applied: Counter,
    /// Events applied at start-up from the log (accepted before a restart).
    pub events_recovered: Counter,
    pub state_changes: Counter,
    pub queue_depth: CountGauge,
    pub append_commits: Counter,
    pub apply_commits: Counter,
    pub store_errors: Counter,
    /// Alerts raised by deadlines that came due.
    pub alerts_raised: Counter,
    /// Deadlines the detector is waiting for.
    pub deadlines_pending: CountGauge,
    /// Estimated heap bytes of the detector's in-memory timer index (it lives on the writer
    /// thread, so this gauge is how anyone else sees its size).
    pub timer_index_bytes: CountGauge,
    /// TLS handshakes that failed or timed out (counted by the server's accept loop).
    pub tls_handshake_failures: Counter,
    /// Connections and requests the HTTP edge cut or refused, by scope (connection, request)
    /// and reason (over_capacity, head_timeout, idle, uri_too_long, body_timeout, ...).
    pub edge_refusals: Labeled,
    /// Connections open now (plain and TLS).
    pub connections_open: CountGauge,
    /// Dashboard login passwords verified (a dummy verification for an unknown user included):
    /// the work the login throttle bounds.
    pub login_password_checks: Counter,
    /// Dashboard logins refused by the throttle, before any password check.
    pub login_throttled: Counter,
    /// Every reason's series, created up front so a scrape shows each one from the start.
    rejected_family: Family<[(&'static str, &'static str); 1], Counter>,
    /// Each reason's counter out of `rejected_family`, in `Rejection::ALL`'s order: a refusal
    /// is one atomic increment, with no label hashing or lock.
    rejected: [Counter; Rejection::ALL.len()],
    /// Receipt of the request to the state change being visible.
    pub e2e_latency: Histogram,
    pub append_latency: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        let rejected_family = Family::<[(&'static str, &'static str); 1], Counter>::default();
        let rejected =
            Rejection::ALL.map(|r| rejected_family.get_or_create_owned(&[("reason", r.label())]));
        Metrics {
            documents: Labeled::new(["source", "outcome"]),
            webhook_auth_failures: Labeled::new(["source", "reason"]),
            unmapped_codes: Labeled::new(["source", "kind"]),
            events_accepted: Counter::default(),
            events_duplicate: Counter::default(),
            events_applied: Counter::default(),
            events_recovered: Counter::default(),
            state_changes: Counter::default(),
            queue_depth: CountGauge::default(),
            append_commits: Counter::default(),
            apply_commits: Counter::default(),
            store_errors: Counter::default(),
            alerts_raised: Counter::default(),
            deadlines_pending: CountGauge::default(),
            timer_index_bytes: CountGauge::default(),
            tls_handshake_failures: Counter::default(),
            edge_refusals: Labeled::new(["scope", "reason"]),
            connections_open: CountGauge::default(),
            login_password_checks: Counter::default(),
            login_throttled: Counter::default(),
            rejected_family,
            rejected,
            e2e_latency: Histogram::default(),
            append_latency: Histogram::default(),
        }
    }
}

impl Metrics {
    pub fn reject(&self, why: Rejection, events: u64) {
        // `Rejection::ALL` lists the variants in declaration order (a test holds it to that).
        self.rejected[why as usize].inc_by(events.max(1));
    }

    pub fn rejected(&self, why: Rejection) -> u64 {
        self.rejected[why as usize].get()
    }

    /// Registers every family into the process's registry (the binary calls this once, at
    /// wiring). The registry holds clones that share these metrics' values. Names are given
    /// without `_total`, which the encoder adds to counters; help texts without their final
    /// period, which the registry adds.
    pub fn register(&self, registry: &mut Registry) {
        let r = registry;
        r.register(
            "waypost_documents",
            "Vendor documents received, by source and outcome",
            self.documents.family.clone(),
        );
        r.register(
            "waypost_webhook_auth_failures",
            "Webhook deliveries refused by authentication, by source and reason",
            self.webhook_auth_failures.family.clone(),
        );
        r.register(
            "waypost_unmapped_codes",
            "Vendor codes no mapping knew (events quarantined), by source and kind",
            self.unmapped_codes.family.clone(),
        );
        let counters = [
            (
                "waypost_login_password_checks",
                "Dashboard login passwords verified (unknown users' dummy verifications included)",
                &self.login_password_checks,
            ),
            (
                "waypost_login_throttled",
                "Dashboard logins refused by the throttle without a password check",
                &self.login_throttled,
            ),
            (
                "waypost_events_accepted",
                "Events durably accepted",
                &self.events_accepted,
            ),
            (
                "waypost_events_duplicate",
                "Events received again and not stored twice",
                &self.events_duplicate,
            ),
            (
                "waypost_events_applied",
                "Events folded into the current state",
                &self.events_applied,
            ),
            (
                "waypost_events_recovered",
                "Events accepted before a restart and applied at start-up",
                &self.events_recovered,
            ),
            (
                "waypost_state_changes",
                "Visible changes of an order's state",
                &self.state_changes,
            ),
            (
                "waypost_append_commits",
                "Group commits of the event log",
                &self.append_commits,
            ),
            (
                "waypost_apply_commits",
                "Commits of the projection",
                &self.apply_commits,
            ),
            (
                "waypost_store_errors",
                "Store operations that failed",
                &self.store_errors,
            ),
            (
                "waypost_deadline_alerts",
                "Alerts raised when a rule's deadline came due",
                &self.alerts_raised,
            ),
        ];
        for (name, help, counter) in counters {
            r.register(name, help, counter.clone());
        }
        r.register(
            "waypost_deadlines_pending",
            "Rule deadlines waiting to come due",
            self.deadlines_pending.clone(),
        );
        r.register(
            "waypost_timer_index_bytes",
            "Estimated memory of the in-memory index of pending deadlines",
            self.timer_index_bytes.clone(),
        );
        r.register(
            "waypost_tls_handshake_failures",
            "TLS handshakes that failed or timed out",
            self.tls_handshake_failures.clone(),
        );
        r.register(
            "waypost_edge_refusals",
            "Connections and requests the HTTP edge refused or cut, by scope and reason",
            self.edge_refusals.family.clone(),
        );
        r.register(
            "waypost_connections_open",
            "HTTP connections open now",
            self.connections_open.clone(),
        );
        r.register(
            "waypost_events_rejected",
            "Events (or requests, when unparsable) refused, by reason",
            self.rejected_family.clone(),
        );
        r.register(
            "waypost_queue_depth",
            "Events accepted and not yet applied",
            self.queue_depth.clone(),
        );
        r.register(
            "waypost_status_update_latency_seconds",
            "From receipt of the request to the state change being visible",
            self.e2e_latency.clone(),
        );
        r.register(
            "waypost_append_seconds",
            "Duration of one group commit of the log",
            self.append_latency.clone(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::encoding::prometheus_text::encode;

    fn scrape(m: &Metrics) -> String {
        let mut registry = Registry::default();
        m.register(&mut registry);
        let mut text = String::new();
        encode(&mut text, &registry).unwrap_or_else(|e| panic!("{e}"));
        text
    }

    #[test]
    fn renders_cumulative_buckets() {
        let m = Metrics::default();
        m.e2e_latency.observe(0.003);
        m.e2e_latency.observe(0.2);
        m.reject(Rejection::InvalidEvent, 3);
        let text = scrape(&m);
        for line in [
            "waypost_status_update_latency_seconds_bucket{le=\"0.0005\"} 0",
            "waypost_status_update_latency_seconds_bucket{le=\"0.005\"} 1",
            "waypost_status_update_latency_seconds_bucket{le=\"0.25\"} 2",
            "waypost_status_update_latency_seconds_bucket{le=\"10\"} 2",
            "waypost_status_update_latency_seconds_bucket{le=\"+Inf\"} 2",
            "waypost_status_update_latency_seconds_sum 0.203",
            "waypost_status_update_latency_seconds_count 2",
            "waypost_events_rejected_total{reason=\"invalid_event\"} 3",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
        assert_eq!(
            text.matches("waypost_status_update_latency_seconds_bucket{le=\"+Inf\"}")
                .count(),
            1,
            "{text}"
        );
    }

    #[test]
    fn names_types_and_help_are_those_scraped_before() {
        let m = Metrics::default();
        m.events_accepted.inc_by(5);
        m.queue_depth.set(2);
        m.documents.add(["easypost", "accepted"], 2);
        m.edge_refusals.add(["connection", "idle"], 1);
        let text = scrape(&m);
        for line in [
            "# HELP waypost_events_accepted_total Events durably accepted.",
            "# TYPE waypost_events_accepted_total counter",
            "waypost_events_accepted_total 5",
            "# TYPE waypost_queue_depth gauge",
            "waypost_queue_depth 2",
            "# TYPE waypost_documents_total counter",
            "waypost_documents_total{source=\"easypost\",outcome=\"accepted\"} 2",
            "waypost_edge_refusals_total{scope=\"connection\",reason=\"idle\"} 1",
            "# TYPE waypost_status_update_latency_seconds histogram",
            "waypost_deadline_alerts_total 0",
            "waypost_connections_open 0",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
        // Every reason has its series from the start, at zero.
        for r in Rejection::ALL {
            let line = format!(
                "waypost_events_rejected_total{{reason=\"{}\"}} 0",
                r.label()
            );
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
        assert!(
            !text.contains(".."),
            "help texts end in one period:\n{text}"
        );
    }

    #[test]
    fn each_rejection_counts_in_its_own_series() {
        for (i, r) in Rejection::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i, "Rejection::ALL is in declaration order");
        }
        let m = Metrics::default();
        m.reject(Rejection::TooLarge, 0);
        m.reject(Rejection::Throttled, 4);
        assert_eq!(m.rejected(Rejection::TooLarge), 1);
        assert_eq!(m.rejected(Rejection::Throttled), 4);
        assert_eq!(m.rejected(Rejection::Forbidden), 0);
        // The registry's view and the handles are the same counters.
        let text = scrape(&m);
        assert!(
            text.contains("waypost_events_rejected_total{reason=\"throttled\"} 4\n"),
            "{text}"
        );
    }
}
