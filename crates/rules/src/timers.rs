//! The timer index: every pending deadline, keyed, ordered by due instant.
//!
//! An indexed 4-ary min-heap over `(due, key)` plus a map from key to heap slot. The heap gives
//! the earliest deadline in O(1) and pops in O(log n); the map lets a key's deadline be moved or
//! cancelled in O(log n) without the stale entries a lazy-deletion heap would pile up (every
//! event on a shipment reschedules its deadlines, so stale entries would soon outnumber live
//! ones). Four children per node halve the depth of a binary heap and keep siblings in one
//! cache line.
//!
//! Instants are kept as i64 nanoseconds since the Unix epoch (8 bytes instead of jiff's 16),
//! which covers 1677-09-21 to 2262-04-11; instants outside are clamped to those bounds (a
//! "never" deadline such as `Timestamp::MAX` stays never in practice). Ties pop in key order.
//!
//! Memory with `K = (u64, u16)`: 24 bytes per heap slot plus 25 per map bucket (buckets are a
//! power of two at most 7/8 full), about 75-100 MB for 1,000,000 deadlines; see
//! [`TimerIndex::approx_bytes`].

use jiff::Timestamp;
use std::collections::HashMap;
use std::hash::Hash;
use std::mem::size_of;

const ARITY: usize = 4;

fn to_nanos(t: Timestamp) -> i64 {
    let n = t.as_nanosecond();
    i64::try_from(n).unwrap_or(if n < 0 { i64::MIN } else { i64::MAX })
}

fn from_nanos(n: i64) -> Timestamp {
    // Every i64 nanosecond count is inside jiff's range, so the fallback is unreachable.
    Timestamp::from_nanosecond(i128::from(n)).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Pending deadlines by key; see the module documentation.
#[derive(Debug, Clone)]
pub struct TimerIndex<K> {
    heap: Vec<(i64, K)>,
    slot: HashMap<K, usize>,
}

impl<K: Copy + Eq + Hash + Ord> Default for TimerIndex<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Copy + Eq + Hash + Ord> TimerIndex<K> {
    pub fn new() -> Self {
        TimerIndex {
            heap: Vec::new(),
            slot: HashMap::new(),
        }
    }

    /// Room for `n` deadlines without reallocating (a rebuild knows its size).
    pub fn with_capacity(n: usize) -> Self {
        TimerIndex {
            heap: Vec::with_capacity(n),
            slot: HashMap::with_capacity(n),
        }
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Files `key`'s deadline at `due`, replacing any earlier one for the same key.
    pub fn schedule(&mut self, key: K, due: Timestamp) {
        let due = to_nanos(due);
        match self.slot.get(&key) {
            Some(&i) => {
                let old = self.heap[i].0;
                self.heap[i].0 = due;
                if due < old {
                    self.sift_up(i);
                } else {
                    self.sift_down(i);
                }
            }
            None => {
                let i = self.heap.len();
                self.heap.push((due, key));
                self.slot.insert(key, i);
                self.sift_up(i);
            }
        }
    }

    /// Removes `key`'s deadline; false if it had none.
    pub fn cancel(&mut self, key: K) -> bool {
        match self.slot.remove(&key) {
            Some(i) => {
                self.remove_slot(i);
                true
            }
            None => false,
        }
    }

    /// `key`'s pending deadline.
    pub fn get(&self, key: K) -> Option<Timestamp> {
        self.slot.get(&key).map(|&i| from_nanos(self.heap[i].0))
    }

    /// The earliest pending deadline: when the detector's timer should next wake.
    pub fn next_due(&self) -> Option<Timestamp> {
        self.heap.first().map(|e| from_nanos(e.0))
    }

    /// Removes and returns up to `max` deadlines due at or before `now`, earliest first.
    pub fn pop_due(&mut self, now: Timestamp, max: usize) -> Vec<(K, Timestamp)> {
        let now = to_nanos(now);
        let mut out = Vec::new();
        while out.len() < max {
            match self.heap.first() {
                Some(&(due, key)) if due <= now => {
                    self.slot.remove(&key);
                    self.remove_slot(0);
                    out.push((key, from_nanos(due)));
                }
                _ => break,
            }
        }
        out
    }

    /// Gives back memory after the index shrank a lot (e.g. a backlog was drained).
    pub fn shrink_to_fit(&mut self) {
        self.heap.shrink_to_fit();
        self.slot.shrink_to_fit();
    }

    /// An estimate of the heap memory held, from the real capacities: the heap's slots, and
    /// the map's buckets (std's SwissTable: a power of two of them, at most 7/8 used, one
    /// control byte each plus a group's worth of trailing control bytes).
    pub fn approx_bytes(&self) -> usize {
        let heap = self.heap.capacity() * size_of::<(i64, K)>();
        let cap = self.slot.capacity();
        let buckets = match cap {
            0 => 0,
            1..=3 => 4,
            4..=7 => 8,
            _ => (cap.saturating_mul(8) / 7).next_power_of_two(),
        };
        let map = if buckets == 0 {
            0
        } else {
            buckets * (size_of::<(K, usize)>() + 1) + 16
        };
        size_of::<Self>() + heap + map
    }

    /// Removes heap slot `i` (whose key is already out of `slot`), refilling it with the last.
    fn remove_slot(&mut self, i: usize) {
        let Some(last) = self.heap.pop() else { return };
        if i < self.heap.len() {
            self.heap[i] = last;
            if let Some(s) = self.slot.get_mut(&last.1) {
                *s = i;
            }
            // The moved entry may belong above or below its new place.
            self.sift_up(i);
            self.sift_down(i);
        }
    }

    /// Writes `entry` into heap slot `i` and records where its key now lives.
    fn place(&mut self, i: usize, entry: (i64, K)) {
        self.heap[i] = entry;
        if let Some(s) = self.slot.get_mut(&entry.1) {
            *s = i;
        }
    }

    fn sift_up(&mut self, mut i: usize) {
        let Some(&entry) = self.heap.get(i) else {
            return;
        };
        while i > 0 {
            let parent = (i - 1) / ARITY;
            let p = self.heap[parent];
            if p <= entry {
                break;
            }
            self.place(i, p);
            i = parent;
        }
        self.place(i, entry);
    }

    fn sift_down(&mut self, mut i: usize) {
        let n = self.heap.len();
        let Some(&entry) = self.heap.get(i) else {
            return;
        };
        loop {
            let first = i * ARITY + 1;
            if first >= n {
                break;
            }
            let end = (first + ARITY).min(n);
            let mut best = first;
            for c in first + 1..end {
                if self.heap[c] < self.heap[best] {
                    best = c;
                }
            }
            let b = self.heap[best];
            if b >= entry {
                break;
            }
            self.place(i, b);
            i = best;
        }
        self.place(i, entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    #[test]
    fn pops_in_due_order_and_respects_max() {
        let mut idx = TimerIndex::new();
        for (k, s) in [(1u64, 50), (2, 10), (3, 30), (4, 20), (5, 40), (6, 10)] {
            idx.schedule(k, t(s));
        }
        assert_eq!(idx.next_due(), Some(t(10)));
        assert_eq!(idx.pop_due(t(25), 2), vec![(2, t(10)), (6, t(10))]);
        assert_eq!(idx.pop_due(t(25), 10), vec![(4, t(20))]);
        assert_eq!(idx.pop_due(t(25), 10), vec![]);
        assert_eq!(idx.len(), 3);
    }

    #[test]
    fn schedule_replaces_and_cancel_removes() {
        let mut idx = TimerIndex::new();
        idx.schedule((7u64, 1u16), t(100));
        idx.schedule((7, 1), t(5));
        idx.schedule((8, 1), t(50));
        assert_eq!(idx.len(), 2);
        assert_eq!(idx.get((7, 1)), Some(t(5)));
        assert!(idx.cancel((7, 1)));
        assert!(!idx.cancel((7, 1)));
        assert_eq!(idx.next_due(), Some(t(50)));
        idx.schedule((8, 1), t(500));
        assert_eq!(idx.pop_due(t(499), 10), vec![]);
    }

    #[test]
    fn keeps_nanoseconds_and_clamps_the_far_future() {
        let mut idx = TimerIndex::new();
        let due = t(1).checked_add(SignedDuration::from_nanos(123)).unwrap();
        idx.schedule(1u8, due);
        idx.schedule(2u8, Timestamp::MAX);
        assert_eq!(idx.pop_due(due, 10), vec![(1, due)]);
        assert!(idx.pop_due(t(5_000_000_000), 10).is_empty());
        assert_eq!(
            idx.next_due().map(|d| d.as_second()),
            Some(i64::MAX / 1_000_000_000)
        );
    }

    #[test]
    fn approx_bytes_grows_with_capacity() {
        let mut idx: TimerIndex<(u64, u16)> = TimerIndex::new();
        let empty = idx.approx_bytes();
        for i in 0..1000 {
            idx.schedule((i, 0), t(i as i64));
        }
        let full = idx.approx_bytes();
        assert!(full > empty + 1000 * (24 + 24));
        assert!(full < empty + 1000 * 200);
    }
}
