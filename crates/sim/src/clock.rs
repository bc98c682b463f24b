//! The simulated clock. `speed` simulated seconds pass per wall second, from the world's
//! start, at which simulated and wall time agree. Events are stamped in simulated time (three
//! days in transit read as three days), so an engine that checks their times follows this
//! clock: `[clock] follow = "<url>/clock"` in Waypost's config, which `Sim::config_toml`
//! writes (or `speed` and `origin`, which `waypost simulate` sets for its embedded engine).

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SimClock {
    /// Wall-clock start of the world, which is also simulated time zero.
    pub start: Timestamp,
    /// Simulated seconds per wall second.
    pub speed: f64,
}

impl SimClock {
    /// The simulated instant at wall-clock instant `wall`.
    pub fn sim_time(&self, wall: Timestamp) -> Timestamp {
        let elapsed = wall.duration_since(self.start).as_secs_f64();
        let sim = SignedDuration::try_from_secs_f64(elapsed * self.speed).unwrap_or_default();
        self.start.checked_add(sim).unwrap_or(wall)
    }

    /// The wall-clock instant at which `sim_minutes` simulated minutes have passed.
    pub fn wall_time(&self, sim_minutes: f64) -> Timestamp {
        let secs = sim_minutes * 60.0 / self.speed;
        let d = SignedDuration::try_from_secs_f64(secs).unwrap_or_default();
        self.start.checked_add(d).unwrap_or(self.start)
    }

    /// The wall-clock instant at which the simulated clock reads `sim`.
    pub fn wall_at(&self, sim: Timestamp) -> Timestamp {
        let secs = sim.duration_since(self.start).as_secs_f64() / self.speed;
        let d = SignedDuration::try_from_secs_f64(secs).unwrap_or_default();
        self.start.checked_add(d).unwrap_or(self.start)
    }

    /// The body of `GET /clock`.
    pub fn json(&self, wall: Timestamp) -> serde_json::Value {
        serde_json::json!({
            "wall": wall,
            "sim": self.sim_time(wall),
            "start": self.start,
            "speed": self.speed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_per_minute() {
        let start: Timestamp = "2026-11-26T15:00:00Z"
            .parse()
            .unwrap_or(Timestamp::UNIX_EPOCH);
        let c = SimClock {
            start,
            speed: 1440.0,
        };
        let later = start + SignedDuration::from_secs(60);
        assert_eq!(c.sim_time(later), start + SignedDuration::from_hours(24));
        assert_eq!(c.sim_time(start), start);
        assert_eq!(c.wall_time(1440.0), later);
        assert_eq!(c.wall_at(start + SignedDuration::from_hours(24)), later);
    }
}
