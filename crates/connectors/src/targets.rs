//! The shipments a carrier connector polls, each with its next due time, in a queue ordered by
//! that time so finding what is due costs a log, not a scan of every shipment. Pure: both
//! clocks come in as arguments (the monotonic one for due times, the world's one for the
//! schedule's "how long in this status").

use crate::policy::schedule::{ScheduleConfig, Tracked};
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

/// The world's time and pace: the system clock, or a simulator's accelerated one. Schedule
/// ages are world durations; due times are real, so what is left of a world duration is
/// divided by `speed` before it is added to the monotonic clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct World {
    pub at: jiff::Timestamp,
    /// World seconds per real second.
    pub speed: f64,
}

impl From<jiff::Timestamp> for World {
    fn from(at: jiff::Timestamp) -> Self {
        World { at, speed: 1.0 }
    }
}

impl World {
    fn real(self, world: Duration) -> Duration {
        if self.speed.is_finite() && self.speed > 0.0 {
            world.div_f64(self.speed)
        } else {
            world
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    tracked: Tracked,
    /// In the queue at this time; `None` while in flight.
    due: Option<Instant>,
    last_polled: Option<Instant>,
}

#[derive(Debug)]
pub struct Targets {
    schedule: ScheduleConfig,
    entries: HashMap<String, Entry>,
    queue: BTreeSet<(Instant, String)>,
}

/// How a poll of one number ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Polled {
    /// Answered (found or not): next poll by the schedule.
    Done,
    /// Not answered: try again at this time.
    RetryAt(Instant),
}

impl Targets {
    pub fn new(schedule: ScheduleConfig) -> Self {
        Self {
            schedule,
            entries: HashMap::new(),
            queue: BTreeSet::new(),
        }
    }

    /// When a shipment is next due by the schedule, counted from its last poll or, never
    /// polled, from when it entered its status (so a start-up scan does not poll everything at
    /// once unless everything is overdue). `None`: final, never again.
    fn due_by_schedule(&self, e: &Entry, now: Instant, world: World) -> Option<Instant> {
        if e.tracked.status.is_closed() {
            return self
                .schedule
                .final_look(&e.tracked, world.at)
                .map(|d| now + world.real(d));
        }
        let interval = self.schedule.interval(&e.tracked, world.at)?;
        Some(match e.last_polled {
            Some(at) => (at + interval).max(now).min(now + interval),
            None => {
                let age = world.at.duration_since(e.tracked.status_at);
                let age = world.real(Duration::try_from(age).unwrap_or(Duration::ZERO));
                now + interval.saturating_sub(age)
            }
        })
    }

    fn enqueue(&mut self, number: &str, due: Option<Instant>) {
        let Some(e) = self.entries.get_mut(number) else {
            return;
        };
        if let Some(old) = e.due.take() {
            self.queue.remove(&(old, number.to_owned()));
        }
        if let Some(at) = due {
            e.due = Some(at);
            self.queue.insert((at, number.to_owned()));
        }
    }

    /// Adds a shipment or updates what is known of it. A final status leaves one last look
    /// (`after_final` after it), then polling stops. Returns whether it is (still) tracked.
    pub fn upsert(
        &mut self,
        number: &str,
        tracked: Tracked,
        now: Instant,
        wall: impl Into<World>,
    ) -> bool {
        let wall = wall.into();
        if tracked.status.is_closed() && self.schedule.final_look(&tracked, wall.at).is_none() {
            self.remove(number);
            return false;
        }
        let in_flight = match self.entries.get_mut(number) {
            Some(e) => {
                e.tracked = tracked;
                e.due.is_none()
            }
            None => {
                self.entries.insert(
                    number.to_owned(),
                    Entry {
                        tracked,
                        due: None,
                        last_polled: None,
                    },
                );
                false
            }
        };
        // One in flight is rescheduled when its poll ends, with what is known then.
        if !in_flight {
            let due = self
                .entries
                .get(number)
                .and_then(|e| self.due_by_schedule(e, now, wall));
            self.enqueue(number, due);
        }
        true
    }

    pub fn remove(&mut self, number: &str) {
        if let Some(e) = self.entries.remove(number)
            && let Some(at) = e.due
        {
            self.queue.remove(&(at, number.to_owned()));
        }
    }

    /// Takes up to `max` numbers due at `now`, earliest first; they are in flight until
    /// [`Targets::finish`].
    pub fn take_due(&mut self, now: Instant, max: usize) -> Vec<String> {
        let mut out = Vec::new();
        while out.len() < max {
            let Some((at, number)) = self.queue.first().cloned() else {
                break;
            };
            if at > now {
                break;
            }
            self.queue.remove(&(at, number.clone()));
            if let Some(e) = self.entries.get_mut(&number) {
                e.due = None;
            }
            out.push(number);
        }
        out
    }

    /// Ends a poll. A number untracked meanwhile stays gone.
    pub fn finish(&mut self, number: &str, outcome: Polled, now: Instant, wall: impl Into<World>) {
        let wall = wall.into();
        let Some(e) = self.entries.get_mut(number) else {
            return;
        };
        let due = match outcome {
            // The last look at a final shipment has been taken.
            Polled::Done
                if e.tracked.status.is_closed()
                    && self
                        .schedule
                        .final_look(&e.tracked, wall.at)
                        .is_none_or(|d| d.is_zero()) =>
            {
                None
            }
            Polled::Done => {
                e.last_polled = Some(now);
                let e = e.clone();
                self.due_by_schedule(&e, now, wall)
            }
            Polled::RetryAt(at) => Some(at),
        };
        match due {
            Some(_) => self.enqueue(number, due),
            None => self.remove(number),
        }
    }

    /// The earliest due time of any number not in flight.
    pub fn next_due(&self) -> Option<Instant> {
        self.queue.first().map(|(at, _)| *at)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn in_flight(&self) -> usize {
        self.entries.len() - self.queue.len()
    }

    /// Numbers whose due time has passed.
    pub fn overdue(&self, now: Instant) -> usize {
        self.queue.iter().take_while(|(at, _)| *at <= now).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use waypost_domain::Status;

    fn wall() -> jiff::Timestamp {
        "2026-03-10T12:00:00Z".parse().expect("a valid timestamp")
    }

    fn tracked(status: Status, age_s: i64) -> Tracked {
        Tracked {
            status,
            status_at: wall() - jiff::SignedDuration::from_secs(age_s),
            promised_at: None,
        }
    }

    #[test]
    fn due_by_status_then_by_last_poll() {
        let s = ScheduleConfig::default();
        let t0 = Instant::now();
        let mut t = Targets::new(s);
        // In transit for two hours: overdue (normal = 1 h), due now.
        assert!(t.upsert("A", tracked(Status::InTransit, 7_200), t0, wall()));
        // Out for delivery for five minutes: due in ten (fast = 15 min).
        t.upsert("B", tracked(Status::OutForDelivery, 300), t0, wall());
        let no_last_look = ScheduleConfig {
            after_final: Duration::ZERO,
            ..ScheduleConfig::default()
        };
        let mut stopped = Targets::new(no_last_look);
        assert!(!stopped.upsert("C", tracked(Status::Delivered, 0), t0, wall()));
        assert!(stopped.is_empty());
        assert_eq!(t.take_due(t0, 10), vec!["A".to_owned()]);
        assert_eq!(t.in_flight(), 1);
        assert_eq!(t.next_due(), Some(t0 + Duration::from_secs(600)));
        t.finish("A", Polled::Done, t0, wall());
        assert_eq!(
            t.take_due(t0 + Duration::from_secs(600), 10),
            vec!["B".to_owned()]
        );
        assert_eq!(
            t.take_due(t0 + Duration::from_secs(3_600), 10),
            vec!["A".to_owned()]
        );
    }

    #[test]
    fn a_final_update_leaves_one_last_look_even_in_flight() {
        let t0 = Instant::now();
        let day = Duration::from_secs(24 * 3600);
        let mut t = Targets::new(ScheduleConfig::default());
        t.upsert("A", tracked(Status::InTransit, 7_200), t0, wall());
        assert_eq!(t.take_due(t0, 1).len(), 1);
        t.upsert("A", tracked(Status::Delivered, 0), t0, wall());
        t.finish("A", Polled::Done, t0, wall());
        // One look a day after the delivery, for scans the carrier posts late...
        assert_eq!(t.next_due(), Some(t0 + day));
        let later = wall() + jiff::SignedDuration::from_secs(24 * 3600);
        assert_eq!(t.take_due(t0 + day, 1), vec!["A".to_owned()]);
        t.finish("A", Polled::Done, t0 + day, later);
        // ...and no more.
        assert!(t.is_empty());
        assert_eq!(t.next_due(), None);
    }

    #[test]
    fn an_update_to_a_faster_status_brings_the_poll_forward() {
        let t0 = Instant::now();
        let mut t = Targets::new(ScheduleConfig::default());
        t.upsert("A", tracked(Status::InTransit, 7_200), t0, wall());
        t.take_due(t0, 1);
        t.finish("A", Polled::Done, t0, wall());
        assert_eq!(t.next_due(), Some(t0 + Duration::from_secs(3_600)));
        t.upsert("A", tracked(Status::Exception, 0), t0, wall());
        assert_eq!(t.next_due(), Some(t0 + Duration::from_secs(900)));
    }

    #[test]
    fn retry_at_overrides_the_schedule() {
        let t0 = Instant::now();
        let mut t = Targets::new(ScheduleConfig::default());
        t.upsert("A", tracked(Status::InTransit, 7_200), t0, wall());
        t.take_due(t0, 1);
        t.finish(
            "A",
            Polled::RetryAt(t0 + Duration::from_secs(5)),
            t0,
            wall(),
        );
        assert_eq!(t.next_due(), Some(t0 + Duration::from_secs(5)));
    }

    proptest! {
        /// The queue and the entries agree whatever the operations: every tracked number is
        /// either queued once or in flight, and nothing final is tracked.
        #[test]
        fn queue_and_entries_agree(
            ops in proptest::collection::vec((0u8..4, 0usize..6, 0usize..20, 0u64..7_200), 1..200),
        ) {
            let t0 = Instant::now();
            let mut t = Targets::new(ScheduleConfig::default());
            let mut now = t0;
            let mut flying: BTreeSet<String> = BTreeSet::new();
            for (op, n, status, secs) in ops {
                let number = format!("N{n}");
                now += Duration::from_secs(secs);
                let wall = wall() + jiff::SignedDuration::from_secs((now - t0).as_secs() as i64);
                match op {
                    0 => {
                        let st = Status::ALL[status % Status::ALL.len()];
                        t.upsert(&number, tracked(st, 60), now, wall);
                    }
                    1 => { t.remove(&number); flying.remove(&number); }
                    2 => { for n in t.take_due(now, 3) { flying.insert(n); } }
                    _ => {
                        if flying.remove(&number) {
                            t.finish(&number, Polled::Done, now, wall);
                        }
                    }
                }
                prop_assert_eq!(t.in_flight(), flying.len());
                prop_assert_eq!(t.queue.len() + flying.len(), t.entries.len());
                // A final shipment is only ever kept for its one last look.
                for (_, e) in t.entries.iter() {
                    if e.tracked.status.is_closed() {
                        prop_assert!(t.schedule.final_look(&e.tracked, wall).is_some());
                    }
                }
            }
        }
    }
}
