//! Counters and histograms, rendered as Prometheus text. Labels are a fixed, small set so their
//! cardinality is bounded whatever the input.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
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

/// Upper bounds in seconds, from 0.5 ms to 10 s.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0,
];

#[derive(Default)]
pub struct Histogram {
    counts: [AtomicU64; BUCKETS.len() + 1],
    sum_us: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, seconds: f64) {
        let i = BUCKETS
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(BUCKETS.len());
        self.counts[i].fetch_add(1, Relaxed);
        self.sum_us
            .fetch_add((seconds.max(0.0) * 1e6) as u64, Relaxed);
        self.count.fetch_add(1, Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cum = 0;
        for (i, b) in BUCKETS.iter().enumerate() {
            cum += self.counts[i].load(Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {cum}");
        }
        cum += self.counts[BUCKETS.len()].load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cum}");
        let _ = writeln!(out, "{name}_sum {}", self.sum_us.load(Relaxed) as f64 / 1e6);
        let _ = writeln!(out, "{name}_count {}", self.count.load(Relaxed));
    }
}

/// A counter family with two labels. Labels are `&'static str`, so only names fixed in the code
/// (source names, outcomes) can become series: cardinality is bounded by construction.
#[derive(Default)]
pub struct Labeled {
    // A std mutex around a tiny map: held for one increment, never across an await.
    values: Mutex<BTreeMap<[&'static str; 2], u64>>,
}

impl Labeled {
    pub fn add(&self, labels: [&'static str; 2], n: u64) {
        if let Ok(mut v) = self.values.lock() {
            *v.entry(labels).or_default() += n;
        }
    }

    pub fn get(&self, labels: [&'static str; 2]) -> u64 {
        self.values
            .lock()
            .map(|v| v.get(&labels).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    fn render(&self, out: &mut String, name: &str, help: &str, label_names: [&str; 2]) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        if let Ok(v) = self.values.lock() {
            for ([a, b], n) in v.iter() {
                let _ = writeln!(
                    out,
                    "{name}{{{}=\"{a}\",{}=\"{b}\"}} {n}",
                    label_names[0], label_names[1]
                );
            }
        }
    }
}

#[derive(Default)]
pub struct Metrics {
    /// Vendor documents received, by source and outcome (accepted, rejected, replayed).
    pub documents: Labeled,
    /// Webhook deliveries refused before reading, by source and reason (signature, ip, ...).
    pub webhook_auth_failures: Labeled,
    /// Codes no mapping knew, by source and kind (status, reason).
    pub unmapped_codes: Labeled,
    pub events_accepted: AtomicU64,
    pub events_duplicate: AtomicU64,
    pub events_applied: AtomicU64,
    /// Events applied at start-up from the log (accepted before a restart).
    pub events_recovered: AtomicU64,
    pub state_changes: AtomicU64,
    pub queue_depth: AtomicU64,
    pub append_commits: AtomicU64,
    pub apply_commits: AtomicU64,
    pub store_errors: AtomicU64,
    /// Alerts raised by deadlines that came due.
    pub alerts_raised: AtomicU64,
    /// Deadlines the detector is waiting for.
    pub deadlines_pending: AtomicU64,
    /// Estimated heap bytes of the detector's in-memory timer index (it lives on the writer
    /// thread, so this gauge is how anyone else sees its size).
    pub timer_index_bytes: AtomicU64,
    /// TLS handshakes that failed or timed out (counted by the server's accept loop).
    pub tls_handshake_failures: AtomicU64,
    /// Connections and requests the HTTP edge cut or refused, by scope (connection, request)
    /// and reason (over_capacity, head_timeout, idle, uri_too_long, body_timeout, ...).
    pub edge_refusals: Labeled,
    /// Connections open now (plain and TLS).
    pub connections_open: AtomicU64,
    /// Dashboard login passwords verified (a dummy verification for an unknown user included):
    /// the work the login throttle bounds.
    pub login_password_checks: AtomicU64,
    /// Dashboard logins refused by the throttle, before any password check.
    pub login_throttled: AtomicU64,
    rejected: [AtomicU64; Rejection::ALL.len()],
    /// Receipt of the request to the state change being visible.
    pub e2e_latency: Histogram,
    pub append_latency: Histogram,
}

impl Metrics {
    pub fn reject(&self, why: Rejection, events: u64) {
        let i = Rejection::ALL.iter().position(|r| *r == why).unwrap_or(0);
        self.rejected[i].fetch_add(events.max(1), Relaxed);
    }

    pub fn rejected(&self, why: Rejection) -> u64 {
        let i = Rejection::ALL.iter().position(|r| *r == why).unwrap_or(0);
        self.rejected[i].load(Relaxed)
    }

    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        self.documents.render(
            &mut out,
            "waypost_documents_total",
            "Vendor documents received, by source and outcome.",
            ["source", "outcome"],
        );
        self.webhook_auth_failures.render(
            &mut out,
            "waypost_webhook_auth_failures_total",
            "Webhook deliveries refused by authentication, by source and reason.",
            ["source", "reason"],
        );
        self.unmapped_codes.render(
            &mut out,
            "waypost_unmapped_codes_total",
            "Vendor codes no mapping knew (events quarantined), by source and kind.",
            ["source", "kind"],
        );
        let counter = |out: &mut String, name: &str, help: &str, v: &AtomicU64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                v.load(Relaxed)
            );
        };
        counter(
            &mut out,
            "waypost_login_password_checks_total",
            "Dashboard login passwords verified (unknown users' dummy verifications included).",
            &self.login_password_checks,
        );
        counter(
            &mut out,
            "waypost_login_throttled_total",
            "Dashboard logins refused by the throttle without a password check.",
            &self.login_throttled,
        );
        counter(
            &mut out,
            "waypost_events_accepted_total",
            "Events durably accepted.",
            &self.events_accepted,
        );
        counter(
            &mut out,
            "waypost_events_duplicate_total",
            "Events received again and not stored twice.",
            &self.events_duplicate,
        );
        counter(
            &mut out,
            "waypost_events_applied_total",
            "Events folded into the current state.",
            &self.events_applied,
        );
        counter(
            &mut out,
            "waypost_events_recovered_total",
            "Events accepted before a restart and applied at start-up.",
            &self.events_recovered,
        );
        counter(
            &mut out,
            "waypost_state_changes_total",
            "Visible changes of an order's state.",
            &self.state_changes,
        );
        counter(
            &mut out,
            "waypost_append_commits_total",
            "Group commits of the event log.",
            &self.append_commits,
        );
        counter(
            &mut out,
            "waypost_apply_commits_total",
            "Commits of the projection.",
            &self.apply_commits,
        );
        counter(
            &mut out,
            "waypost_store_errors_total",
            "Store operations that failed.",
            &self.store_errors,
        );
        counter(
            &mut out,
            "waypost_deadline_alerts_total",
            "Alerts raised when a rule's deadline came due.",
            &self.alerts_raised,
        );
        let _ = writeln!(
            out,
            "# HELP waypost_deadlines_pending Rule deadlines waiting to come due.\n# TYPE waypost_deadlines_pending gauge\nwaypost_deadlines_pending {}",
            self.deadlines_pending.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP waypost_timer_index_bytes Estimated memory of the in-memory index of pending deadlines.\n# TYPE waypost_timer_index_bytes gauge\nwaypost_timer_index_bytes {}",
            self.timer_index_bytes.load(Relaxed)
        );
        counter(
            &mut out,
            "waypost_tls_handshake_failures_total",
            "TLS handshakes that failed or timed out.",
            &self.tls_handshake_failures,
        );
        self.edge_refusals.render(
            &mut out,
            "waypost_edge_refusals_total",
            "Connections and requests the HTTP edge refused or cut, by scope and reason.",
            ["scope", "reason"],
        );
        let _ = writeln!(
            out,
            "# HELP waypost_connections_open HTTP connections open now.\n# TYPE waypost_connections_open gauge\nwaypost_connections_open {}",
            self.connections_open.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP waypost_events_rejected_total Events (or requests, when unparsable) refused, by reason.\n# TYPE waypost_events_rejected_total counter"
        );
        for (i, r) in Rejection::ALL.iter().enumerate() {
            let _ = writeln!(
                out,
                "waypost_events_rejected_total{{reason=\"{}\"}} {}",
                r.label(),
                self.rejected[i].load(Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP waypost_queue_depth Events accepted and not yet applied.\n# TYPE waypost_queue_depth gauge\nwaypost_queue_depth {}",
            self.queue_depth.load(Relaxed)
        );
        self.e2e_latency.render(
            &mut out,
            "waypost_status_update_latency_seconds",
            "From receipt of the request to the state change being visible.",
        );
        self.append_latency.render(
            &mut out,
            "waypost_append_seconds",
            "Duration of one group commit of the log.",
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_cumulative_buckets() {
        let m = Metrics::default();
        m.e2e_latency.observe(0.003);
        m.e2e_latency.observe(0.2);
        m.reject(Rejection::InvalidEvent, 3);
        let text = m.render();
        assert!(
            text.contains("waypost_status_update_latency_seconds_bucket{le=\"0.005\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("waypost_status_update_latency_seconds_bucket{le=\"0.25\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("waypost_status_update_latency_seconds_count 2"),
            "{text}"
        );
        assert!(
            text.contains("waypost_events_rejected_total{reason=\"invalid_event\"} 3"),
            "{text}"
        );
    }
}
