//! Counters of what the simulator served, injected and pushed. Atomics: handlers on every
//! worker thread bump them and nobody needs them consistent with each other to the request.

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of the counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Requests per partner (`ups`, `fedex`, `usps`, `dhl`, `wms`), token requests included.
    pub requests: BTreeMap<String, u64>,
    /// Faults injected per kind (`error`, `timeout`, `rate_limited`, `slow`, `truncated`,
    /// `malformed`).
    pub faults: BTreeMap<String, u64>,
    /// Requests refused for bad or expired credentials.
    pub unauthorized: u64,
    /// Tracking numbers asked for that the asker's tenant does not have (yet).
    pub not_found: u64,
    pub tokens_issued: u64,
    /// Webhook deliveries that Waypost accepted (2xx), copies included.
    pub pushes_ok: u64,
    /// Deliveries given up on (a 4xx, or still failing after every attempt).
    pub pushes_failed: u64,
    /// Attempts that failed and were retried.
    pub push_retries: u64,
    /// Events not pushed because of an outage.
    pub pushes_skipped_outage: u64,
    /// Planted malformed deliveries sent.
    pub malformed_pushed: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    // A std mutex: held for a map update only, never across an await.
    maps: Mutex<(BTreeMap<String, u64>, BTreeMap<String, u64>)>,
    pub unauthorized: AtomicU64,
    pub not_found: AtomicU64,
    pub tokens_issued: AtomicU64,
    pub pushes_ok: AtomicU64,
    pub pushes_failed: AtomicU64,
    pub push_retries: AtomicU64,
    pub pushes_skipped_outage: AtomicU64,
    pub malformed_pushed: AtomicU64,
}

impl Counters {
    pub fn request(&self, partner: &str) {
        if let Ok(mut m) = self.maps.lock() {
            *m.0.entry(partner.to_owned()).or_default() += 1;
        }
    }

    pub fn fault(&self, kind: &str) {
        if let Ok(mut m) = self.maps.lock() {
            *m.1.entry(kind.to_owned()).or_default() += 1;
        }
    }

    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Stats {
        let (requests, faults) = self
            .maps
            .lock()
            .map(|m| (m.0.clone(), m.1.clone()))
            .unwrap_or_default();
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Stats {
            requests,
            faults,
            unauthorized: get(&self.unauthorized),
            not_found: get(&self.not_found),
            tokens_issued: get(&self.tokens_issued),
            pushes_ok: get(&self.pushes_ok),
            pushes_failed: get(&self.pushes_failed),
            push_retries: get(&self.push_retries),
            pushes_skipped_outage: get(&self.pushes_skipped_outage),
            malformed_pushed: get(&self.malformed_pushed),
        }
    }
}
