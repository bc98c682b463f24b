//! Jittered exponential backoff ("full jitter"): the n-th retry waits a uniformly random time in
//! `[0, min(cap, base * 2^n)]`. Full jitter spreads the retries of many clients that failed
//! together, so a partner coming back is not hit by a synchronized wave. The randomness is
//! passed in, so tests choose it.

use rand::Rng;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration) -> Self {
        Self {
            base,
            cap: cap.max(base),
        }
    }

    /// The ceiling of the wait before retry number `attempt` (0 = first retry).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        // 2^attempt overflows quickly; past 2^30 the cap has long been reached anyway.
        let factor = 1u32 << attempt.min(30);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The wait before retry number `attempt`, drawn from `rng`. Never zero when `base` is
    /// not: a retry at once would land in the same failure.
    pub fn delay(&self, attempt: u32, rng: &mut impl Rng) -> Duration {
        let ceiling = self.ceiling(attempt);
        let floor = (self.base / 10).min(ceiling);
        if ceiling <= floor {
            return ceiling;
        }
        let nanos = rng.random_range(floor.as_nanos()..=ceiling.as_nanos());
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn ceilings_double_then_cap() {
        let b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let got: Vec<u128> = (0..6).map(|n| b.ceiling(n).as_millis()).collect();
        assert_eq!(got, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn jitter_spreads_the_waits() {
        let b = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
        let mut rng = StdRng::seed_from_u64(7);
        let waits: std::collections::BTreeSet<Duration> =
            (0..20).map(|_| b.delay(4, &mut rng)).collect();
        assert!(
            waits.len() > 15,
            "full jitter gives different waits: {waits:?}"
        );
    }

    proptest! {
        #[test]
        fn delay_is_within_floor_and_ceiling(
            base_ms in 1u64..5_000,
            cap_ms in 1u64..600_000,
            attempt in 0u32..64,
            seed in any::<u64>(),
        ) {
            let b = Backoff::new(Duration::from_millis(base_ms), Duration::from_millis(cap_ms));
            let mut rng = StdRng::seed_from_u64(seed);
            let d = b.delay(attempt, &mut rng);
            prop_assert!(d <= b.ceiling(attempt));
            prop_assert!(d <= b.cap);
            prop_assert!(d > Duration::ZERO);
        }

        #[test]
        fn ceilings_never_decrease(base_ms in 1u64..5_000, cap_ms in 1u64..600_000, n in 0u32..63) {
            let b = Backoff::new(Duration::from_millis(base_ms), Duration::from_millis(cap_ms));
            prop_assert!(b.ceiling(n) <= b.ceiling(n + 1));
        }
    }
}
