//! Login attempts counted per key (an account, an account on a known device, a client
//! address) over a sliding window. An attempt is *reserved* before its password is checked,
//! under the same lock that decides whether it may go ahead, so however many requests arrive
//! at once at most `max_failures` guesses per key and window are checked. A reservation is
//! then settled: refunded (the login succeeded, or it did not count against this key) or kept
//! as a failure. One dropped unsettled (the client hung up mid-check) counts as a failure: its
//! password may well have been checked.
//!
//! Past `delay_after` attempts in the window, each further attempt must also wait a delay
//! since the key's previous one, doubling each time up to `max_delay`: a burst gets its first
//! few guesses and then one at a time, further and further apart.
//!
//! Memory is bounded: at most `capacity` keys, each holding at most `max_failures` instants.
//! When full, a key with nothing in the window goes first, else the one whose last attempt is
//! oldest (never one with an attempt in flight). Evicting a live key forgets its failures, but
//! filling the map costs `capacity` password checks (tens of milliseconds of a core each), so
//! it is not a cheap way round a lock.
//!
//! Time is an input (`now`): the caller reads the clock, the tests choose it.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How many attempts one key may make, and how fast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Attempts (failed or in flight) within the window before the key is refused outright.
    pub max_failures: u32,
    /// Attempts within the window that need no delay between them.
    pub delay_after: u32,
    /// The first delay; each further attempt waits twice the one before.
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Limits {
    /// The wait between the previous attempt and the next, with `n` attempts in the window.
    fn delay(&self, n: u32) -> Duration {
        let Some(k) = n.checked_sub(self.delay_after) else {
            return Duration::ZERO;
        };
        // 2^k overflows quickly: past 2^20 any base delay exceeds a sane maximum.
        let factor = 1u32 << k.min(20);
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }
}

#[derive(Debug, Default)]
struct Bucket {
    /// Reservation instants: failed attempts still in the window, and those in flight.
    attempts: Vec<Attempt>,
    /// The last reservation granted: the delay counts from it.
    last: Option<Instant>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Attempt {
    at: Instant,
    pending: bool,
}

pub struct Throttle<K> {
    // A std mutex: held for a map lookup and a few instants' bookkeeping, never across an
    // await; the whole decision (may this attempt go ahead?) and the reservation happen under
    // it, which is what makes concurrent attempts count.
    buckets: Mutex<HashMap<K, Bucket>>,
    limits: Limits,
    window: Duration,
    capacity: usize,
}

/// A reserved attempt. Settle it with [`Reservation::refund`] or [`Reservation::fail`];
/// dropped unsettled, it counts as a failure.
pub struct Reservation<K: Hash + Eq + Clone> {
    throttle: Arc<Throttle<K>>,
    key: K,
    at: Instant,
    settled: bool,
}

impl<K: Hash + Eq + Clone> Reservation<K> {
    /// The attempt does not count (the login succeeded, or it is not this key's failure).
    pub fn refund(mut self) {
        self.settled = true;
        self.throttle.settle(&self.key, self.at, false);
    }

    /// The attempt counts as a failure for the rest of the window.
    pub fn fail(mut self) {
        self.settled = true;
        self.throttle.settle(&self.key, self.at, true);
    }
}

impl<K: Hash + Eq + Clone> Drop for Reservation<K> {
    fn drop(&mut self) {
        if !self.settled {
            self.throttle.settle(&self.key, self.at, true);
        }
    }
}

impl<K: Hash + Eq + Clone> Throttle<K> {
    pub fn new(limits: Limits, window: Duration, capacity: usize) -> Self {
        Throttle {
            buckets: Mutex::new(HashMap::new()),
            limits: Limits {
                max_failures: limits.max_failures.max(1),
                ..limits
            },
            window,
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Bucket>> {
        // A panic while holding the lock leaves consistent data (every change is one push or
        // one field write), so a poisoned lock is still used.
        self.buckets.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `Err(wait)` if an attempt for `key` at `now` would be refused: how long until it may
    /// try. Reserves nothing.
    pub fn check(&self, key: &K, now: Instant) -> Result<(), Duration> {
        let mut map = self.lock();
        match map.get_mut(key) {
            Some(bucket) => self.admit(bucket, now),
            None => Ok(()),
        }
    }

    /// Reserves an attempt for `key` at `now`, or `Err(wait)`: how long until it may try.
    pub fn reserve(self: &Arc<Self>, key: &K, now: Instant) -> Result<Reservation<K>, Duration> {
        let mut map = self.lock();
        if !map.contains_key(key) && map.len() >= self.capacity {
            self.evict(&mut map, now);
        }
        let bucket = map.entry(key.clone()).or_default();
        self.admit(bucket, now)?;
        bucket.attempts.push(Attempt {
            at: now,
            pending: true,
        });
        bucket.last = Some(now);
        Ok(Reservation {
            throttle: self.clone(),
            key: key.clone(),
            at: now,
            settled: false,
        })
    }

    /// Forgets `key`'s failures (its owner logged in), keeping attempts still in flight.
    pub fn clear(&self, key: &K) {
        let mut map = self.lock();
        if let Some(bucket) = map.get_mut(key) {
            bucket.attempts.retain(|a| a.pending);
            if bucket.attempts.is_empty() {
                map.remove(key);
            }
        }
    }

    /// Prunes `bucket` and decides whether an attempt at `now` may go ahead.
    fn admit(&self, bucket: &mut Bucket, now: Instant) -> Result<(), Duration> {
        let window = self.window;
        bucket
            .attempts
            .retain(|a| a.pending || now.saturating_duration_since(a.at) < window);
        let n = u32::try_from(bucket.attempts.len()).unwrap_or(u32::MAX);
        if n >= self.limits.max_failures {
            // The oldest failure leaving the window frees a place; with every place in flight,
            // one settles within a password check: try again in a second.
            let wait = bucket
                .attempts
                .iter()
                .filter(|a| !a.pending)
                .map(|a| window.saturating_sub(now.saturating_duration_since(a.at)))
                .min()
                .unwrap_or(Duration::from_secs(1));
            return Err(wait.max(Duration::from_millis(1)));
        }
        // With `n` attempts in the window, the next waits `delay(n)` since the previous one.
        let delay = self.limits.delay(n);
        match bucket.last.map(|last| last.checked_add(delay)) {
            Some(Some(ready)) if ready > now => Err(ready - now),
            Some(None) => Err(delay),
            _ => Ok(()),
        }
    }

    fn settle(&self, key: &K, at: Instant, failed: bool) {
        let mut map = self.lock();
        let Some(bucket) = map.get_mut(key) else {
            return;
        };
        if let Some(i) = bucket.attempts.iter().position(|a| a.pending && a.at == at) {
            if failed {
                bucket.attempts[i].pending = false;
            } else {
                bucket.attempts.swap_remove(i);
            }
        }
        if bucket.attempts.is_empty() && !failed {
            map.remove(key);
        }
    }

    /// Makes room for one key: first drops keys with nothing in the window, then the live key
    /// whose last attempt is oldest. Keys with an attempt in flight stay.
    fn evict(&self, map: &mut HashMap<K, Bucket>, now: Instant) {
        let window = self.window;
        map.retain(|_, b| {
            b.attempts
                .iter()
                .any(|a| a.pending || now.saturating_duration_since(a.at) < window)
        });
        if map.len() < self.capacity {
            return;
        }
        let stalest = map
            .iter()
            .filter(|(_, b)| b.attempts.iter().all(|a| !a.pending))
            .min_by_key(|(_, b)| b.last)
            .map(|(k, _)| k.clone());
        if let Some(k) = stalest {
            map.remove(&k);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
#[path = "throttle_tests.rs"]
mod tests;
