use jiff::{SignedDuration, Timestamp};
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Duration;

/// The time of the world the events describe. The engine asks this, never the system clock,
/// so tests can hold time still and a demo can follow a simulator's accelerated day.
///
/// It is *world* time: `received_at`, change times and rule deadlines are read from it.
/// Transport concerns (a webhook signature's timestamp tolerance, rate limits, timeouts) keep
/// the real clock, because the other side of the wire keeps it too.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;

    /// World seconds per real second: 1 for the system clock, e.g. 1440 for a simulated day
    /// per minute. Durations measured on this clock are divided by it to get real ones.
    fn speed(&self) -> f64 {
        1.0
    }

    /// How long to sleep, really, until this clock reads `at` (zero if it already has). Capped,
    /// so a sleeper wakes now and then to notice a clock that is moved by hand.
    fn real_wait(&self, at: Timestamp) -> Duration {
        let world = at.duration_since(self.now()).as_secs_f64();
        if world <= 0.0 {
            return Duration::ZERO;
        }
        let speed = self.speed();
        let speed = if speed.is_finite() && speed > 0.0 {
            speed
        } else {
            1.0
        };
        Duration::from_secs_f64((world / speed).min(3600.0))
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// An accelerated world: `speed` world seconds pass per real second, and the world reads
/// `origin` at the real instant `origin`. This is the partner simulator's clock (its `/clock`
/// says both), which a demo engine follows so that "pending for 4 h" means 4 simulated hours.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScaledClock {
    pub origin: Timestamp,
    pub speed: f64,
}

impl ScaledClock {
    /// The world's time at the real instant `real`.
    pub fn at(&self, real: Timestamp) -> Timestamp {
        let elapsed = real.duration_since(self.origin).as_secs_f64();
        SignedDuration::try_from_secs_f64(elapsed * self.speed)
            .ok()
            .and_then(|d| self.origin.checked_add(d).ok())
            .unwrap_or(real)
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> Timestamp {
        self.at(Timestamp::now())
    }

    fn speed(&self) -> f64 {
        self.speed
    }
}

/// A clock moved by hand, for tests: it stands still until told otherwise.
#[derive(Debug, Clone)]
pub struct ManualClock {
    // A plain mutex: held for a copy, never across anything that waits.
    now: Arc<Mutex<Timestamp>>,
}

impl ManualClock {
    pub fn new(at: Timestamp) -> Self {
        Self {
            now: Arc::new(Mutex::new(at)),
        }
    }

    pub fn set(&self, at: Timestamp) {
        *self.now.lock() = at;
    }

    pub fn advance(&self, by: SignedDuration) {
        let mut now = self.now.lock();
        *now = now.checked_add(by).unwrap_or(*now);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.lock()
    }

    /// Nobody knows when a test will move it: look again soon.
    fn real_wait(&self, at: Timestamp) -> Duration {
        if at <= self.now() {
            Duration::ZERO
        } else {
            Duration::from_millis(5)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scaled_clock_runs_a_day_per_minute() {
        let origin: Timestamp = "2026-11-26T15:00:00Z".parse().unwrap_or_default();
        let c = ScaledClock {
            origin,
            speed: 1440.0,
        };
        assert_eq!(c.at(origin), origin);
        let minute = origin + SignedDuration::from_secs(60);
        assert_eq!(c.at(minute), origin + SignedDuration::from_hours(24));
    }

    #[test]
    fn waits_are_in_real_time() {
        let c = ScaledClock {
            origin: Timestamp::now(),
            speed: 3600.0,
        };
        // One world hour ahead is about one real second away.
        let wait = c.real_wait(c.now() + SignedDuration::from_hours(1));
        assert!(wait <= Duration::from_millis(1001), "{wait:?}");
        assert!(wait >= Duration::from_millis(900), "{wait:?}");
        assert_eq!(
            c.real_wait(c.now() - SignedDuration::from_secs(1)),
            Duration::ZERO
        );
    }

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let t: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap_or_default();
        let c = ManualClock::new(t);
        assert_eq!(c.now(), t);
        c.advance(SignedDuration::from_hours(4));
        assert_eq!(c.now(), t + SignedDuration::from_hours(4));
        assert_eq!(c.real_wait(t), Duration::ZERO);
    }
}
