//! A token bucket: `rate` requests per second sustained, `burst` at once. A partner's 429 with
//! `Retry-After` closes the bucket until the time it named, whatever tokens are left: the
//! partner's word beats our estimate of its limit.

use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    refilled_at: Instant,
    /// No request before this instant (a partner's `Retry-After`).
    closed_until: Option<Instant>,
}

impl TokenBucket {
    /// A full bucket. `rate` must be positive and `burst` at least 1 (the config checks both);
    /// out-of-range values are clamped rather than trusted, so the bucket never divides by zero.
    pub fn new(rate: f64, burst: u32, now: Instant) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            rate: if rate.is_finite() && rate > 0.0 {
                rate
            } else {
                1.0
            },
            burst,
            tokens: burst,
            refilled_at: now,
            closed_until: None,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now
            .saturating_duration_since(self.refilled_at)
            .as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.refilled_at = self.refilled_at.max(now);
    }

    /// Takes a token if one is there now; otherwise says how long to wait before asking again.
    pub fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        if let Some(until) = self.closed_until {
            if now < until {
                return Err(until - now);
            }
            self.closed_until = None;
        }
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            let missing = 1.0 - self.tokens;
            // Round up to the next microsecond so the caller never wakes a hair too early.
            let wait = Duration::from_secs_f64(missing / self.rate) + Duration::from_micros(1);
            Err(wait)
        }
    }

    /// The partner said to wait (429 with `Retry-After`, or a 503 with one): nothing goes out
    /// before `now + wait`, and the bucket restarts empty then so a burst does not follow.
    pub fn defer(&mut self, now: Instant, wait: Duration) {
        let until = now + wait;
        if self.closed_until.is_none_or(|u| u < until) {
            self.closed_until = Some(until);
        }
        self.tokens = 0.0;
        self.refilled_at = self.refilled_at.max(until);
    }

    /// The instant before which nothing may be sent, if the partner set one.
    pub fn closed_until(&self) -> Option<Instant> {
        self.closed_until
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn burst_then_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(2.0, 3, t0);
        for _ in 0..3 {
            assert!(b.try_take(t0).is_ok());
        }
        let wait = b.try_take(t0).expect_err("empty after the burst");
        assert!(wait <= Duration::from_millis(501) && wait >= Duration::from_millis(499));
        assert!(b.try_take(t0 + Duration::from_millis(499)).is_err());
        assert!(b.try_take(t0 + Duration::from_millis(501)).is_ok());
    }

    #[test]
    fn retry_after_closes_the_bucket_even_when_full() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(100.0, 100, t0);
        b.defer(t0, Duration::from_secs(30));
        assert_eq!(b.try_take(t0), Err(Duration::from_secs(30)));
        assert!(b.try_take(t0 + Duration::from_secs(29)).is_err());
        // Reopens empty: the first request after the wait still has to earn its token.
        assert!(b.try_take(t0 + Duration::from_secs(30)).is_err());
        assert!(b.try_take(t0 + Duration::from_millis(30_011)).is_ok());
    }

    #[test]
    fn a_shorter_retry_after_does_not_shorten_a_longer_one() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(1.0, 1, t0);
        b.defer(t0, Duration::from_secs(10));
        b.defer(t0, Duration::from_secs(1));
        assert_eq!(b.closed_until(), Some(t0 + Duration::from_secs(10)));
    }

    proptest! {
        /// Over any span, no more than `burst + rate * span` tokens are handed out, whatever the
        /// times of the asks.
        #[test]
        fn never_exceeds_rate_plus_burst(
            rate in 0.5f64..50.0,
            burst in 1u32..20,
            steps in proptest::collection::vec(0u64..200, 1..300),
        ) {
            let t0 = Instant::now();
            let mut b = TokenBucket::new(rate, burst, t0);
            let mut now = t0;
            let mut taken = 0u64;
            for ms in steps {
                now += Duration::from_millis(ms);
                if b.try_take(now).is_ok() {
                    taken += 1;
                }
            }
            let span = (now - t0).as_secs_f64();
            prop_assert!(taken as f64 <= f64::from(burst) + rate * span + 1e-6);
        }

        /// The wait it answers is enough: asking again after it succeeds.
        #[test]
        fn the_answered_wait_is_enough(rate in 0.5f64..50.0, burst in 1u32..5, n in 1usize..50) {
            let t0 = Instant::now();
            let mut b = TokenBucket::new(rate, burst, t0);
            let mut now = t0;
            for _ in 0..n {
                match b.try_take(now) {
                    Ok(()) => {}
                    Err(wait) => {
                        now += wait;
                        prop_assert!(b.try_take(now).is_ok());
                    }
                }
            }
        }

        /// Nothing is handed out before a deferral ends.
        #[test]
        fn nothing_before_retry_after(wait_ms in 1u64..100_000, probe in 0u64..100_000) {
            let t0 = Instant::now();
            let mut b = TokenBucket::new(10.0, 10, t0);
            b.defer(t0, Duration::from_millis(wait_ms));
            let at = t0 + Duration::from_millis(probe);
            if probe < wait_ms {
                prop_assert!(b.try_take(at).is_err());
            }
        }
    }
}
