//! Rolling counts of a partner's answers over the last 5 and 60 minutes, kept as 60 one-minute
//! buckets (fixed memory whatever the traffic), with latency as a coarse histogram per bucket.
//!
//! The state, from the 5-minute window and the breaker:
//! - `circuit_open`: the breaker is open or half-open;
//! - `down`: at least [`DOWN_MIN_REQUESTS`] requests and an error rate of at least
//!   [`DOWN_ERROR_RATE`];
//! - `degraded`: an error rate of at least [`DEGRADED_ERROR_RATE`], or a p95 latency of at
//!   least [`DEGRADED_P95_MS`];
//! - `healthy` otherwise, including when there was nothing to ask.

use crate::policy::breaker::BreakerState;
use serde::Serialize;
use std::time::{Duration, Instant};

pub const DOWN_MIN_REQUESTS: u64 = 3;
pub const DOWN_ERROR_RATE: f64 = 0.9;
pub const DEGRADED_ERROR_RATE: f64 = 0.1;
pub const DEGRADED_P95_MS: u64 = 5_000;

/// Upper bounds of the latency buckets, in milliseconds; the last catches everything above.
const BOUNDS_MS: [u64; 14] = [
    5,
    10,
    25,
    50,
    100,
    250,
    500,
    1_000,
    2_500,
    5_000,
    10_000,
    30_000,
    60_000,
    u64::MAX,
];
const MINUTES: usize = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    Healthy,
    Degraded,
    Down,
    CircuitOpen,
}

impl HealthState {
    /// The name operators see (the same as the serialized form).
    pub fn as_str(self) -> &'static str {
        match self {
            HealthState::Healthy => "healthy",
            HealthState::Degraded => "degraded",
            HealthState::Down => "down",
            HealthState::CircuitOpen => "circuit_open",
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Minute {
    /// Minutes since the window's origin; a slot holding another minute is stale.
    index: u64,
    ok: u64,
    errors: u64,
    latency: [u64; BOUNDS_MS.len()],
}

/// Counts over one window, as reported.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WindowStats {
    pub requests: u64,
    pub errors: u64,
    /// errors / requests, 0 when there were none.
    pub error_rate: f64,
    /// Latency percentiles in ms (the bucket's upper bound; `None` without requests).
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
    pub p99_ms: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct HealthWindow {
    origin: Instant,
    minutes: [Minute; MINUTES],
}

impl HealthWindow {
    pub fn new(now: Instant) -> Self {
        Self {
            origin: now,
            minutes: [Minute {
                index: u64::MAX,
                ..Minute::default()
            }; MINUTES],
        }
    }

    fn index(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.origin).as_secs() / 60
    }

    /// Records one answer (or failure to get one) and how long it took.
    pub fn record(&mut self, now: Instant, ok: bool, latency: Duration) {
        let index = self.index(now);
        let slot = &mut self.minutes[(index % MINUTES as u64) as usize];
        if slot.index != index {
            *slot = Minute {
                index,
                ..Minute::default()
            };
        }
        if ok {
            slot.ok += 1;
        } else {
            slot.errors += 1;
        }
        let ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        let b = BOUNDS_MS.iter().position(|&b| ms <= b).unwrap_or(0);
        slot.latency[b] += 1;
    }

    /// The last `minutes` minutes, the current one included.
    pub fn stats(&self, now: Instant, minutes: u64) -> WindowStats {
        let current = self.index(now);
        let oldest = current.saturating_sub(minutes.saturating_sub(1));
        let mut ok = 0;
        let mut errors = 0;
        let mut hist = [0u64; BOUNDS_MS.len()];
        for m in &self.minutes {
            if m.index != u64::MAX && m.index >= oldest && m.index <= current {
                ok += m.ok;
                errors += m.errors;
                for (h, c) in hist.iter_mut().zip(m.latency) {
                    *h += c;
                }
            }
        }
        let requests = ok + errors;
        let pct = |q: f64| -> Option<u64> {
            if requests == 0 {
                return None;
            }
            // The rank of the q-th sample, 1-based; ceil so p99 of 10 samples is the 10th.
            let rank = ((q * requests as f64).ceil() as u64).max(1);
            let mut seen = 0;
            for (i, c) in hist.iter().enumerate() {
                seen += c;
                if seen >= rank {
                    return Some(BOUNDS_MS[i]);
                }
            }
            BOUNDS_MS.last().copied()
        };
        WindowStats {
            requests,
            errors,
            error_rate: if requests == 0 {
                0.0
            } else {
                errors as f64 / requests as f64
            },
            p50_ms: pct(0.50),
            p95_ms: pct(0.95),
            p99_ms: pct(0.99),
        }
    }

    /// The state, by the thresholds in the module's documentation.
    pub fn state(&self, now: Instant, breaker: BreakerState) -> HealthState {
        if breaker != BreakerState::Closed {
            return HealthState::CircuitOpen;
        }
        let w = self.stats(now, 5);
        if w.requests >= DOWN_MIN_REQUESTS && w.error_rate >= DOWN_ERROR_RATE {
            HealthState::Down
        } else if (w.requests > 0 && w.error_rate >= DEGRADED_ERROR_RATE)
            || w.p95_ms.is_some_and(|p| p >= DEGRADED_P95_MS)
        {
            HealthState::Degraded
        } else {
            HealthState::Healthy
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn windows_forget_old_minutes() {
        let t0 = Instant::now();
        let mut h = HealthWindow::new(t0);
        h.record(t0, false, 20 * MS);
        h.record(t0 + Duration::from_secs(4 * 60), true, 20 * MS);
        let t = t0 + Duration::from_secs(6 * 60);
        h.record(t, true, 20 * MS);
        let five = h.stats(t, 5);
        assert_eq!((five.requests, five.errors), (2, 0));
        let hour = h.stats(t, 60);
        assert_eq!((hour.requests, hour.errors), (3, 1));
        let much_later = t0 + Duration::from_secs(3 * 3600);
        assert_eq!(h.stats(much_later, 60).requests, 0);
    }

    #[test]
    fn percentiles_are_bucket_bounds() {
        let t0 = Instant::now();
        let mut h = HealthWindow::new(t0);
        for _ in 0..98 {
            h.record(t0, true, 30 * MS);
        }
        h.record(t0, true, 700 * MS);
        h.record(t0, true, 7_000 * MS);
        let s = h.stats(t0, 5);
        assert_eq!(s.p50_ms, Some(50));
        assert_eq!(s.p95_ms, Some(50));
        assert_eq!(s.p99_ms, Some(1_000));
    }

    #[test]
    fn names_are_the_serialized_forms() {
        use crate::policy::breaker::BreakerState as B;
        for h in [
            HealthState::Healthy,
            HealthState::Degraded,
            HealthState::Down,
            HealthState::CircuitOpen,
        ] {
            assert_eq!(serde_json::to_value(h).ok(), Some(h.as_str().into()));
        }
        for b in [B::Closed, B::Open, B::HalfOpen] {
            assert_eq!(serde_json::to_value(b).ok(), Some(b.as_str().into()));
        }
    }

    #[test]
    fn states_follow_the_documented_thresholds() {
        let t0 = Instant::now();
        let mut h = HealthWindow::new(t0);
        assert_eq!(h.state(t0, BreakerState::Closed), HealthState::Healthy);
        for _ in 0..9 {
            h.record(t0, true, 10 * MS);
        }
        h.record(t0, false, 10 * MS);
        assert_eq!(h.state(t0, BreakerState::Closed), HealthState::Degraded);
        assert_eq!(h.state(t0, BreakerState::Open), HealthState::CircuitOpen);
        assert_eq!(
            h.state(t0, BreakerState::HalfOpen),
            HealthState::CircuitOpen
        );
        let t1 = t0 + Duration::from_secs(10 * 60);
        for _ in 0..3 {
            h.record(t1, false, 10 * MS);
        }
        assert_eq!(h.state(t1, BreakerState::Closed), HealthState::Down);
        let t2 = t1 + Duration::from_secs(10 * 60);
        h.record(t2, true, 6_000 * MS);
        assert_eq!(h.state(t2, BreakerState::Closed), HealthState::Degraded);
    }

    proptest! {
        /// The 5-minute window never counts more than the 60-minute one, and the 60-minute one
        /// counts exactly the records of its last hour.
        #[test]
        fn windows_nest(records in proptest::collection::vec((0u64..7_200, any::<bool>()), 0..300)) {
            let t0 = Instant::now();
            let mut h = HealthWindow::new(t0);
            let mut sorted = records.clone();
            sorted.sort();
            for (s, ok) in &sorted {
                h.record(t0 + Duration::from_secs(*s), *ok, MS);
            }
            let end_s = sorted.last().map_or(0, |(s, _)| *s);
            let end = t0 + Duration::from_secs(end_s);
            let five = h.stats(end, 5);
            let hour = h.stats(end, 60);
            prop_assert!(five.requests <= hour.requests);
            prop_assert!(five.errors <= hour.errors);
            let first_minute = (end_s / 60).saturating_sub(59);
            let want = sorted.iter().filter(|(s, _)| s / 60 >= first_minute).count() as u64;
            prop_assert_eq!(hour.requests, want);
        }
    }
}
