//! Time as an input. Libraries take a [`Clock`]; only the binary holds one that reads the
//! system's time (`crates/waypost/src/clock.rs`), so tests can hold time still and a demo can
//! follow a simulator's accelerated day. The trait lives here, at the bottom of the house, so
//! that every crate can take one without depending upward.

use jiff::{SignedDuration, Timestamp};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A source of the current time.
///
/// The engine's clock is *world* time: `received_at`, change times and rule deadlines are read
/// from it. Transport concerns (a webhook signature's timestamp, session expiry, an HTTP
/// `Retry-After` date) take the binary's wall clock instead, which is the same trait.
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

/// A clock moved by hand, for tests: it stands still until told otherwise.
#[derive(Debug, Clone)]
pub struct ManualClock {
    // A std mutex: held for a copy, never across anything that waits.
    now: Arc<Mutex<Timestamp>>,
}

impl ManualClock {
    pub fn new(at: Timestamp) -> Self {
        Self {
            now: Arc::new(Mutex::new(at)),
        }
    }

    pub fn set(&self, at: Timestamp) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }

    pub fn advance(&self, by: SignedDuration) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now = now.checked_add(by).unwrap_or(*now);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
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

/// An accelerated world: `speed` world seconds pass per real second, and the world reads
/// `origin` at the real instant `origin`. This is the partner simulator's clock (its `/clock`
/// says both), which a demo engine follows so that "pending for 4 h" means 4 simulated hours.
/// Pure: [`ScaledClock::at`] maps a real instant to the world's; the binary's clock supplies
/// the real instant.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap_or_default()
    }

    #[test]
    fn a_scaled_clock_runs_a_day_per_minute() {
        let origin = t("2026-11-26T15:00:00Z");
        let c = ScaledClock {
            origin,
            speed: 1440.0,
        };
        assert_eq!(c.at(origin), origin);
        let minute = origin + SignedDuration::from_secs(60);
        assert_eq!(c.at(minute), origin + SignedDuration::from_hours(24));
    }

    /// A clock at a fixed instant that runs at `speed`, to check `real_wait`'s default.
    struct Fast(Timestamp, f64);

    impl Clock for Fast {
        fn now(&self) -> Timestamp {
            self.0
        }
        fn speed(&self) -> f64 {
            self.1
        }
    }

    #[test]
    fn waits_are_in_real_time() {
        let now = t("2026-11-26T15:00:00Z");
        let c = Fast(now, 3600.0);
        // One world hour ahead is one real second away.
        let wait = c.real_wait(now + SignedDuration::from_hours(1));
        assert_eq!(wait, Duration::from_secs(1));
        assert_eq!(
            c.real_wait(now - SignedDuration::from_secs(1)),
            Duration::ZERO
        );
        // A speed that makes no sense counts as real time; a long wait is capped.
        let odd = Fast(now, f64::NAN);
        assert_eq!(
            odd.real_wait(now + SignedDuration::from_hours(5)),
            Duration::from_secs(3600)
        );
    }

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let start = t("2026-01-01T00:00:00Z");
        let c = ManualClock::new(start);
        assert_eq!(c.now(), start);
        c.advance(SignedDuration::from_hours(4));
        assert_eq!(c.now(), start + SignedDuration::from_hours(4));
        assert_eq!(c.real_wait(start), Duration::ZERO);
        c.set(start);
        assert_eq!(c.now(), start);
    }
}
