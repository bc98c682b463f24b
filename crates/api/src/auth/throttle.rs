//! Failed logins counted per key (an account, a client address) over a sliding window: after
//! `max_failures` within `window` the key is refused until its oldest failure leaves the
//! window. Memory is bounded: at most `capacity` keys, each holding at most `max_failures`
//! instants; when full, the key whose last failure is oldest goes first.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Throttle<K> {
    // A std mutex: held for a map lookup and a few instants' bookkeeping, never across an await.
    failures: Mutex<HashMap<K, VecDeque<Instant>>>,
    max_failures: usize,
    window: Duration,
    capacity: usize,
}

impl<K: Hash + Eq + Clone> Throttle<K> {
    pub fn new(max_failures: usize, window: Duration, capacity: usize) -> Self {
        Throttle {
            failures: Mutex::new(HashMap::new()),
            max_failures: max_failures.max(1),
            window,
            capacity: capacity.max(1),
        }
    }

    /// `Err(wait)` while `key` has used up its failures: how long until it may try again.
    pub fn check(&self, key: &K, now: Instant) -> Result<(), Duration> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let Some(times) = map.get_mut(key) else {
            return Ok(());
        };
        self.prune(times, now);
        if times.len() < self.max_failures {
            return Ok(());
        }
        let oldest = times.front().copied().unwrap_or(now);
        Err((oldest + self.window).saturating_duration_since(now))
    }

    /// Counts one failure of `key` at `now`.
    pub fn fail(&self, key: &K, now: Instant) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if !map.contains_key(key) && map.len() >= self.capacity {
            let window = self.window;
            map.retain(|_, t| {
                t.back()
                    .is_some_and(|last| now.duration_since(*last) < window)
            });
            if map.len() >= self.capacity
                && let Some(stalest) = map
                    .iter()
                    .min_by_key(|(_, t)| t.back().copied())
                    .map(|(k, _)| k.clone())
            {
                map.remove(&stalest);
            }
        }
        let times = map.entry(key.clone()).or_default();
        self.prune(times, now);
        times.push_back(now);
        while times.len() > self.max_failures {
            times.pop_front();
        }
    }

    /// Forgets `key`'s failures (a successful login).
    pub fn clear(&self, key: &K) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(key);
    }

    fn prune(&self, times: &mut VecDeque<Instant>, now: Instant) {
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            times.pop_front();
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.failures.lock().map(|m| m.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn the_sixth_try_within_the_window_waits_for_the_oldest_failure_to_age_out() {
        let th = Throttle::new(5, 5 * MIN, 100);
        let t0 = Instant::now();
        for i in 0..5 {
            assert_eq!(th.check(&"a", t0 + MIN * i), Ok(()));
            th.fail(&"a", t0 + MIN * i / 2);
        }
        let now = t0 + 3 * MIN;
        assert_eq!(th.check(&"a", now), Err(2 * MIN));
        assert_eq!(th.check(&"b", now), Ok(()), "another key is not affected");
        assert_eq!(th.check(&"a", t0 + 5 * MIN), Ok(()));
        th.clear(&"a");
        th.fail(&"a", now);
        assert_eq!(th.check(&"a", now), Ok(()));
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_keys() {
        let th = Throttle::new(3, MIN, 50);
        let t0 = Instant::now();
        for i in 0..10_000u32 {
            th.fail(&i, t0 + Duration::from_millis(u64::from(i)));
            th.fail(&i, t0 + Duration::from_millis(u64::from(i)));
            th.fail(&i, t0 + Duration::from_millis(u64::from(i)));
            th.fail(&i, t0 + Duration::from_millis(u64::from(i)));
        }
        assert!(th.len() <= 50, "{}", th.len());
        // The most recent keys are the ones kept.
        assert!(th.check(&9_999, t0 + Duration::from_secs(10)).is_err());
    }
}
