//! Quiet hours: a daily window, in the customer's (or tenant's) time zone, in which no SMS or
//! email goes out; what falls in it is held until the window ends.
//!
//! The window is in civil time: "21:00-08:00" means the wall clock, so it follows daylight
//! saving time. It may wrap midnight; a window whose start equals its end is no window.
//! The end is turned into an instant for the day it falls on: when the clock skips it (spring
//! forward) the message goes at the first instant after the gap; when the clock shows it twice
//! (fall back) it goes at the first of the two that is still ahead.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};

#[derive(Debug, Clone)]
pub struct QuietHours {
    pub start: Time,
    pub end: Time,
    pub tz: TimeZone,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuietError {
    #[error("quiet hours {value:?} must look like HH:MM-HH:MM, e.g. 21:00-08:00")]
    Window { value: String },
    #[error("time zone {name:?} is unknown: {why}")]
    Zone { name: String, why: String },
}

impl QuietHours {
    /// Reads a window like `"21:00-08:00"` and an IANA zone name like `"Europe/Berlin"`
    /// (looked up in the time zone database compiled into the binary).
    pub fn parse(window: &str, tz: &str) -> Result<QuietHours, QuietError> {
        let bad = || QuietError::Window {
            value: window.to_string(),
        };
        let (a, b) = window.trim().split_once('-').ok_or_else(bad)?;
        let time = |s: &str| -> Result<Time, QuietError> {
            let s = s.trim();
            // HH:MM exactly: seconds or fractions in a config are more likely a typo.
            if s.len() != 5 || s.as_bytes().get(2) != Some(&b':') {
                return Err(bad());
            }
            s.parse::<Time>().map_err(|_| bad())
        };
        let start = time(a)?;
        let end = time(b)?;
        let tz = TimeZone::get(tz).map_err(|e| QuietError::Zone {
            name: tz.to_string(),
            why: e.to_string(),
        })?;
        Ok(QuietHours { start, end, tz })
    }

    /// Whether the window is empty (start == end): never quiet.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// None when `now` is outside the window; otherwise the instant the window ends, until
    /// which a message is held. Always later than `now`.
    pub fn release_at(&self, now: Timestamp) -> Option<Timestamp> {
        if self.is_empty() {
            return None;
        }
        let local = self.tz.to_datetime(now);
        let t = local.time();
        let today = local.date();
        let end_day = if self.start < self.end {
            // Same-day window: [start, end).
            (t >= self.start && t < self.end).then_some(today)?
        } else if t >= self.start {
            // Wrapping window, evening part: it ends tomorrow.
            today.tomorrow().ok()?
        } else if t < self.end {
            // Wrapping window, morning part: it ends today.
            today
        } else {
            return None;
        };
        self.instant_after(end_day, now)
    }

    /// The end time on `day` as an instant after `now` (see the module docs for DST).
    fn instant_after(&self, day: Date, now: Timestamp) -> Option<Timestamp> {
        let dt: DateTime = day.to_datetime(self.end);
        let amb = self.tz.to_ambiguous_timestamp(dt);
        let at = match amb.offset() {
            AmbiguousOffset::Fold { .. } => {
                let first = amb.earlier().ok()?;
                if first > now {
                    first
                } else {
                    amb.later().ok()?
                }
            }
            AmbiguousOffset::Unambiguous { .. } | AmbiguousOffset::Gap { .. } => {
                amb.compatible().ok()?
            }
        };
        // The wall clock said "quiet" but the end instant is not ahead (only possible around a
        // transition): nothing to hold for.
        (at > now).then_some(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    fn q(window: &str, tz: &str) -> QuietHours {
        QuietHours::parse(window, tz).expect("quiet hours")
    }

    #[test]
    fn parse_errors_name_the_input() {
        for bad in [
            "21:00",
            "21-08",
            "25:00-08:00",
            "21:00-08:00:00",
            "9:00-10:00",
        ] {
            let msg = QuietHours::parse(bad, "UTC").expect_err(bad).to_string();
            assert!(msg.contains(bad), "{msg}");
        }
        let msg = QuietHours::parse("21:00-08:00", "Mars/Olympus")
            .expect_err("zone")
            .to_string();
        assert!(msg.contains("Mars/Olympus"), "{msg}");
        assert!(QuietHours::parse(" 21:00 - 08:00 ", "Europe/Berlin").is_ok());
    }

    #[test]
    fn wrapping_window_in_berlin() {
        let w = q("21:00-08:00", "Europe/Berlin");
        // 22:00 CET (UTC+1) on a winter evening: held until 08:00 the next morning.
        assert_eq!(
            w.release_at(ts("2026-01-15T21:00:00Z")),
            Some(ts("2026-01-16T07:00:00Z"))
        );
        // 06:00 local: held until 08:00 today.
        assert_eq!(
            w.release_at(ts("2026-01-15T05:00:00Z")),
            Some(ts("2026-01-15T07:00:00Z"))
        );
        // 12:00 local: not quiet. The edges: start is quiet, end is not.
        assert_eq!(w.release_at(ts("2026-01-15T11:00:00Z")), None);
        assert!(w.release_at(ts("2026-01-15T20:00:00Z")).is_some());
        assert_eq!(w.release_at(ts("2026-01-15T07:00:00Z")), None);
        // Summer time (UTC+2): the same wall clock.
        assert_eq!(
            w.release_at(ts("2026-07-15T20:30:00Z")),
            Some(ts("2026-07-16T06:00:00Z"))
        );
    }

    #[test]
    fn same_day_window_and_empty_window() {
        let w = q("12:00-14:00", "UTC");
        assert_eq!(
            w.release_at(ts("2026-03-01T13:00:00Z")),
            Some(ts("2026-03-01T14:00:00Z"))
        );
        assert_eq!(w.release_at(ts("2026-03-01T14:00:00Z")), None);
        assert_eq!(w.release_at(ts("2026-03-01T11:59:59Z")), None);
        let none = q("08:00-08:00", "UTC");
        assert!(none.is_empty());
        assert_eq!(none.release_at(ts("2026-03-01T08:00:00Z")), None);
    }

    #[test]
    fn new_york_spring_forward() {
        // 2026-03-08: 02:00 EST jumps to 03:00 EDT. A window ending in the gap releases at
        // the first instant after it.
        let w = q("01:00-02:30", "America/New_York");
        let at = ts("2026-03-08T06:30:00Z"); // 01:30 EST
        let release = w.release_at(at).expect("quiet");
        assert_eq!(release, ts("2026-03-08T07:30:00Z")); // 03:30 EDT
        assert!(release > at);
        // An overnight window across the change still ends at 08:00 EDT (12:00Z, not 13:00Z).
        let night = q("22:00-08:00", "America/New_York");
        assert_eq!(
            night.release_at(ts("2026-03-08T03:30:00Z")), // 22:30 EST on the 7th
            Some(ts("2026-03-08T12:00:00Z"))
        );
    }

    #[test]
    fn new_york_fall_back() {
        // 2026-11-01: 02:00 EDT falls back to 01:00 EST; 01:30 happens twice.
        let w = q("22:00-01:30", "America/New_York");
        // First 01:15 (EDT, 05:15Z): released at the first 01:30 (05:30Z).
        assert_eq!(
            w.release_at(ts("2026-11-01T05:15:00Z")),
            Some(ts("2026-11-01T05:30:00Z"))
        );
        // Second 01:15 (EST, 06:15Z): the first 01:30 has passed; the second one (06:30Z).
        assert_eq!(
            w.release_at(ts("2026-11-01T06:15:00Z")),
            Some(ts("2026-11-01T06:30:00Z"))
        );
        // Overnight window across the change ends at 08:00 EST (13:00Z).
        let night = q("22:00-08:00", "America/New_York");
        assert_eq!(
            night.release_at(ts("2026-11-01T03:00:00Z")), // 23:00 EDT on Oct 31
            Some(ts("2026-11-01T13:00:00Z"))
        );
    }

    proptest! {
        #[test]
        fn release_is_ahead_and_within_a_day(
            secs in 1_700_000_000i64..1_900_000_000,
            sh in 0i8..24, sm in 0i8..60, eh in 0i8..24, em in 0i8..60,
            zone in proptest::sample::select(&["UTC", "Europe/Berlin", "America/New_York",
                "Australia/Lord_Howe", "Asia/Kolkata"][..]),
        ) {
            let w = QuietHours {
                start: Time::new(sh, sm, 0, 0).expect("t"),
                end: Time::new(eh, em, 0, 0).expect("t"),
                tz: TimeZone::get(zone).expect("zone"),
            };
            let now = Timestamp::from_second(secs).expect("ts");
            if let Some(r) = w.release_at(now) {
                prop_assert!(r > now);
                prop_assert!(r.duration_since(now) <= jiff::SignedDuration::from_hours(26));
            }
        }

        #[test]
        fn without_transitions_release_leaves_the_window(
            secs in 1_700_000_000i64..1_900_000_000,
            sh in 0i8..24, sm in 0i8..60, eh in 0i8..24, em in 0i8..60,
            zone in proptest::sample::select(&["UTC", "Asia/Kolkata", "Asia/Tokyo"][..]),
        ) {
            let time = |h: i8, m: i8| Time::new(h, m, 0, 0).expect("time");
            let w = QuietHours { start: time(sh, sm), end: time(eh, em), tz: TimeZone::get(zone).expect("zone") };
            let now = Timestamp::from_second(secs).expect("ts");
            match w.release_at(now) {
                Some(r) => {
                    prop_assert_eq!(w.release_at(r), None);
                    prop_assert_eq!(w.tz.to_datetime(r).time(), w.end);
                    // Quiet all the way: one minute before the release is still held.
                    let before = r - jiff::SignedDuration::from_secs(60);
                    if before > now {
                        prop_assert_eq!(w.release_at(before), Some(r));
                    }
                }
                None => {
                    let t = w.tz.to_datetime(now).time();
                    let inside = if w.start <= w.end {
                        t >= w.start && t < w.end
                    } else {
                        t >= w.start || t < w.end
                    };
                    prop_assert!(!inside);
                }
            }
        }
    }
}
