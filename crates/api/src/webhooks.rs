//! The in-memory guards that enforce each webhook endpoint's settings (token buckets, the
//! replay window of delivery ids). The settings themselves are the intake's
//! (`waypost_intake::webhooks`), re-exported here for the routes.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use waypost_adapters::Source;
use waypost_domain::TenantId;

pub use waypost_intake::webhooks::{Endpoint, IpNet, IpNetError, Rate, WebhookSettings};

/// Per-endpoint token buckets and the window of delivery ids already taken.
#[derive(Default)]
pub struct Guards {
    // std mutexes: held for a map lookup, never across an await.
    buckets: Mutex<HashMap<(TenantId, Source), Bucket>>,
    seen: Mutex<ReplayWindow>,
    /// Each tenant's body bytes being read now (webhooks and `/v1/events`).
    pub bodies: std::sync::Arc<crate::body_budget::TenantBodies>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Guards {
    /// Takes one token; `Err(seconds)` says when the next one is due.
    pub fn take(&self, tenant: &TenantId, source: Source, rate: Rate) -> Result<(), u64> {
        let now = Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        let b = buckets.entry((tenant.clone(), source)).or_insert(Bucket {
            tokens: rate.burst,
            at: now,
        });
        let elapsed = now.duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate.per_sec).min(rate.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - b.tokens) / rate.per_sec.max(f64::MIN_POSITIVE);
            Err(wait.ceil().clamp(1.0, 3600.0) as u64)
        }
    }

    /// Whether this delivery id was already taken within the window.
    pub fn seen(&self, tenant: &TenantId, source: Source, id: &str) -> bool {
        self.seen
            .lock()
            .map(|mut w| w.contains(&(tenant.clone(), source, id.to_owned()), Instant::now()))
            .unwrap_or(false)
    }

    /// Records a delivery id once its events are durable.
    pub fn remember(&self, tenant: &TenantId, source: Source, id: &str, window: Duration) {
        if let Ok(mut w) = self.seen.lock() {
            w.insert(
                (tenant.clone(), source, id.to_owned()),
                Instant::now(),
                window,
            );
        }
    }
}

type DeliveryKey = (TenantId, Source, String);

/// Delivery ids seen lately. A signed timestamp older than the tolerance is refused anyway, so
/// ids need keeping only that long; the count is bounded so a flood cannot grow it without end.
#[derive(Default)]
struct ReplayWindow {
    expiry: VecDeque<(Instant, DeliveryKey)>,
    ids: HashMap<DeliveryKey, Instant>,
}

const MAX_REMEMBERED: usize = 200_000;

impl ReplayWindow {
    fn purge(&mut self, now: Instant) {
        while let Some((at, _)) = self.expiry.front() {
            if *at > now && self.expiry.len() <= MAX_REMEMBERED {
                break;
            }
            if let Some((at, key)) = self.expiry.pop_front()
                && self.ids.get(&key) == Some(&at)
            {
                self.ids.remove(&key);
            }
        }
    }

    fn contains(&mut self, key: &DeliveryKey, now: Instant) -> bool {
        self.purge(now);
        // Windows differ per endpoint, so the queue's order is not expiry order: each id is
        // checked against its own deadline.
        self.ids.get(key).is_some_and(|until| *until > now)
    }

    fn insert(&mut self, key: DeliveryKey, now: Instant, window: Duration) {
        let until = now + window;
        self.ids.insert(key.clone(), until);
        self.expiry.push_back((until, key));
        self.purge(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_allow_the_burst_then_throttle() {
        let g = Guards::default();
        let t = TenantId::new("t").unwrap();
        let rate = Rate {
            per_sec: 0.5,
            burst: 3.0,
        };
        for _ in 0..3 {
            assert!(g.take(&t, Source::Ups, rate).is_ok());
        }
        assert_eq!(g.take(&t, Source::Ups, rate), Err(2));
        // Another source has its own bucket.
        assert!(g.take(&t, Source::Fedex, rate).is_ok());
    }

    #[test]
    fn delivery_ids_are_remembered_within_the_window() {
        let g = Guards::default();
        let t = TenantId::new("t").unwrap();
        assert!(!g.seen(&t, Source::EasyPost, "d1"));
        g.remember(&t, Source::EasyPost, "d1", Duration::from_secs(600));
        assert!(g.seen(&t, Source::EasyPost, "d1"));
        assert!(!g.seen(&t, Source::Shippo, "d1"));
        assert!(!g.seen(&TenantId::new("u").unwrap(), Source::EasyPost, "d1"));
        g.remember(&t, Source::EasyPost, "d2", Duration::ZERO);
        assert!(!g.seen(&t, Source::EasyPost, "d2"));
    }
}
