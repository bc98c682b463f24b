//! Business calendars: which instants are working time, and when a span of working time that
//! starts at an instant has elapsed.
//!
//! A calendar is a zone, the working weekdays, one window per working day (`08:00-18:00`, civil
//! time in the zone) and holiday dates. Working time is *elapsed* time inside the windows: on a
//! DST day an 08:00-18:00 window around the change holds 9 or 11 real hours, because that is how
//! long the warehouse was actually open. The windows are a fixed set of disjoint intervals on
//! the timeline, so [`Calendar::add`] is "walk forward, counting only time inside a window",
//! which makes it monotone and additive by construction (the proptests check it).

use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use std::collections::BTreeSet;

/// Minutes in a civil day: an `hours` end of `24:00` is the next midnight.
const DAY_MINUTES: u16 = 24 * 60;

/// How many civil days one [`Calendar::add`] may walk before it gives up and answers "never"
/// (`Timestamp::MAX`). Validation keeps real rules far below it (at most two years of working
/// time); the bound only stops a pathological input from spinning.
const MAX_DAYS_WALKED: u32 = 400 * 366;

/// Why a calendar definition is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("a calendar needs at least one working day")]
    NoWorkingDays,
    #[error("{0:?} is not a window: expected \"HH:MM-HH:MM\" like \"08:00-18:00\"")]
    HoursSyntax(String),
    #[error("window {0:?} ends at or before it starts (overnight windows are not supported)")]
    HoursEmpty(String),
}

/// A working calendar. Cheap to clone (the zone is shared).
#[derive(Debug, Clone)]
pub struct Calendar {
    zone: TimeZone,
    /// Indexed by `Weekday::to_monday_zero_offset`.
    days: [bool; 7],
    start_min: u16,
    /// Exclusive; may be [`DAY_MINUTES`].
    end_min: u16,
    holidays: BTreeSet<Date>,
}

impl Calendar {
    /// A calendar from parsed parts. `hours` is `"HH:MM-HH:MM"`; the end may be `24:00`.
    pub fn new(
        zone: TimeZone,
        days: &[Weekday],
        hours: &str,
        holidays: impl IntoIterator<Item = Date>,
    ) -> Result<Calendar, CalendarError> {
        let (start_min, end_min) = parse_hours(hours)?;
        let mut mask = [false; 7];
        for d in days {
            mask[weekday_index(*d)] = true;
        }
        if !mask.iter().any(|d| *d) {
            return Err(CalendarError::NoWorkingDays);
        }
        Ok(Calendar {
            zone,
            days: mask,
            start_min,
            end_min,
            holidays: holidays.into_iter().collect(),
        })
    }

    /// Every instant is working time: [`Calendar::add`] is plain addition.
    pub fn always_open() -> Calendar {
        Calendar {
            zone: TimeZone::UTC,
            days: [true; 7],
            start_min: 0,
            end_min: DAY_MINUTES,
            holidays: BTreeSet::new(),
        }
    }

    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }

    /// Nominal working time in a week without holidays (ignores DST): used by validation to
    /// refuse a rule whose duration would take years of this calendar.
    pub fn nominal_week(&self) -> SignedDuration {
        let days = self.days.iter().filter(|d| **d).count() as i64;
        SignedDuration::from_mins(days * i64::from(self.end_min - self.start_min))
    }

    /// Is `date` a working day (a working weekday and not a holiday)?
    pub fn is_working_day(&self, date: Date) -> bool {
        self.days[weekday_index(date.weekday())] && !self.holidays.contains(&date)
    }

    /// Is `t` inside a working window?
    pub fn is_working(&self, t: Timestamp) -> bool {
        let date = self.zone.to_datetime(t).date();
        if !self.is_working_day(date) {
            return false;
        }
        matches!(self.window(date), Some((s, e)) if s <= t && t < e)
    }

    /// The instant at which `working` time, counted only inside working windows, has elapsed
    /// after `start`. A start outside the windows counts from the next window; a zero or
    /// negative `working` is `start` itself. An answer beyond the representable range (or past
    /// a walk of 400 years of days) is `Timestamp::MAX`, meaning never.
    pub fn add(&self, start: Timestamp, working: SignedDuration) -> Timestamp {
        if working <= SignedDuration::ZERO {
            return start;
        }
        let mut remaining = working;
        let mut result = Timestamp::MAX;
        self.walk(start, |from, end| {
            let avail = end.duration_since(from);
            if remaining <= avail {
                result = from.checked_add(remaining).unwrap_or(Timestamp::MAX);
                return false;
            }
            remaining -= avail;
            true
        });
        result
    }

    /// Working time inside `[from, to)`; zero if `to <= from`.
    pub fn working_between(&self, from: Timestamp, to: Timestamp) -> SignedDuration {
        let mut total = SignedDuration::ZERO;
        if to <= from {
            return total;
        }
        self.walk(from, |a, b| {
            if a >= to {
                return false;
            }
            total = total.saturating_add(b.min(to).duration_since(a));
            b < to
        });
        total
    }

    /// Calls `visit(from, end)` for each piece of working window at or after `start`, in time
    /// order, until it returns false. The cursor only moves forward, so even in a zone that
    /// skipped a civil day (Samoa, 2011) no instant is visited twice.
    fn walk(&self, start: Timestamp, mut visit: impl FnMut(Timestamp, Timestamp) -> bool) {
        let mut cursor = start;
        let mut date = self.zone.to_datetime(start).date();
        for _ in 0..MAX_DAYS_WALKED {
            if self.is_working_day(date) {
                let Some((ws, we)) = self.window(date) else {
                    return;
                };
                let from = ws.max(cursor);
                if from < we {
                    if !visit(from, we) {
                        return;
                    }
                    cursor = we;
                }
            }
            date = match date.tomorrow() {
                Ok(d) => d,
                Err(_) => return,
            };
        }
    }

    /// The instants a working day's window opens and closes. A civil time that does not exist
    /// (spring gap) moves forward and a repeated one (autumn) takes the earlier instant: jiff's
    /// "compatible" rule, the same as RFC 5545 and java.time.
    fn window(&self, date: Date) -> Option<(Timestamp, Timestamp)> {
        let start = self.instant(date, self.start_min)?;
        let end = self.instant(date, self.end_min)?;
        Some((start, end))
    }

    fn instant(&self, date: Date, minute: u16) -> Option<Timestamp> {
        let dt: DateTime = if minute >= DAY_MINUTES {
            date.tomorrow()
                .ok()?
                .to_datetime(jiff::civil::Time::midnight())
        } else {
            let (h, m) = ((minute / 60) as i8, (minute % 60) as i8);
            date.at(h, m, 0, 0)
        };
        self.zone.to_ambiguous_timestamp(dt).compatible().ok()
    }
}

fn weekday_index(d: Weekday) -> usize {
    d.to_monday_zero_offset() as usize
}

/// `mon`..`sun`, or the full English name, case-insensitive.
pub fn parse_weekday(s: &str) -> Option<Weekday> {
    let s = s.trim().to_ascii_lowercase();
    let all = [
        ("mon", "monday", Weekday::Monday),
        ("tue", "tuesday", Weekday::Tuesday),
        ("wed", "wednesday", Weekday::Wednesday),
        ("thu", "thursday", Weekday::Thursday),
        ("fri", "friday", Weekday::Friday),
        ("sat", "saturday", Weekday::Saturday),
        ("sun", "sunday", Weekday::Sunday),
    ];
    all.into_iter()
        .find(|(short, long, _)| s == *short || s == *long)
        .map(|(_, _, d)| d)
}

/// `"08:00-18:00"` to minutes since midnight; the end may be `24:00`.
pub fn parse_hours(s: &str) -> Result<(u16, u16), CalendarError> {
    let bad = || CalendarError::HoursSyntax(s.to_string());
    let (a, b) = s.split_once('-').ok_or_else(bad)?;
    let start = parse_hhmm(a.trim()).ok_or_else(bad)?;
    let end = parse_hhmm(b.trim()).ok_or_else(bad)?;
    if start >= DAY_MINUTES {
        return Err(bad());
    }
    if end <= start {
        return Err(CalendarError::HoursEmpty(s.to_string()));
    }
    Ok((start, end))
}

fn parse_hhmm(s: &str) -> Option<u16> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) => Some(DAY_MINUTES),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn chicago_weekdays() -> Calendar {
        let tz = jiff::tz::TimeZoneDatabase::bundled()
            .get("America/Chicago")
            .unwrap();
        let days = [
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
        ];
        Calendar::new(tz, &days, "08:00-18:00", [date(2026, 12, 25)]).unwrap()
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn counts_only_working_hours() {
        let cal = chicago_weekdays();
        // Friday 2026-11-27 16:00 CST (22:00Z) + 4h: 2h Friday, 2h Monday from 08:00.
        let due = cal.add(at("2026-11-27T22:00:00Z"), SignedDuration::from_hours(4));
        assert_eq!(due, at("2026-11-30T16:00:00Z")); // Monday 10:00 CST
        // Starting on a Sunday counts from Monday's opening.
        let due = cal.add(at("2026-11-29T12:00:00Z"), SignedDuration::from_mins(30));
        assert_eq!(due, at("2026-11-30T14:30:00Z"));
    }

    #[test]
    fn skips_holidays() {
        let cal = chicago_weekdays();
        // Thursday 2026-12-24 17:00 CST + 2h: 1h Thursday, Friday is Christmas, 1h Monday.
        let due = cal.add(at("2026-12-24T23:00:00Z"), SignedDuration::from_hours(2));
        assert_eq!(due, at("2026-12-28T15:00:00Z"));
    }

    #[test]
    fn a_dst_day_has_real_hours() {
        let tz = jiff::tz::TimeZoneDatabase::bundled()
            .get("America/Chicago")
            .unwrap();
        // A 00:00-06:00 window on 2026-03-08 (spring forward at 02:00) holds 5 real hours.
        let cal = Calendar::new(tz, &[Weekday::Sunday], "00:00-06:00", []).unwrap();
        let open = at("2026-03-08T06:00:00Z"); // 00:00 CST
        assert_eq!(
            cal.working_between(open, at("2026-03-09T00:00:00Z")),
            SignedDuration::from_hours(5)
        );
        // So 6h of work spills into the next Sunday.
        assert_eq!(
            cal.add(open, SignedDuration::from_hours(6)),
            at("2026-03-15T06:00:00Z") // 01:00 CDT on the 15th
        );
    }

    #[test]
    fn always_open_is_plain_addition() {
        let cal = Calendar::always_open();
        let s = at("2026-01-01T10:11:12.5Z");
        let w = SignedDuration::from_hours(100);
        assert_eq!(cal.add(s, w), s.checked_add(w).unwrap());
        assert!(cal.is_working(s));
    }

    #[test]
    fn is_working_respects_window_edges() {
        let cal = chicago_weekdays();
        assert!(cal.is_working(at("2026-11-30T14:00:00Z"))); // Mon 08:00 CST
        assert!(!cal.is_working(at("2026-12-01T00:00:00Z"))); // Mon 18:00 CST
        assert!(!cal.is_working(at("2026-12-25T16:00:00Z"))); // Christmas
    }

    #[test]
    fn saturates_instead_of_overflowing() {
        let cal = chicago_weekdays();
        let late = Timestamp::MAX
            .checked_sub(SignedDuration::from_hours(1))
            .unwrap();
        assert_eq!(
            cal.add(late, SignedDuration::from_hours(48)),
            Timestamp::MAX
        );
    }

    #[test]
    fn hours_and_days_parse_strictly() {
        assert_eq!(parse_hours("08:00-18:00"), Ok((480, 1080)));
        assert_eq!(parse_hours("00:00-24:00"), Ok((0, 1440)));
        assert!(matches!(
            parse_hours("18:00-08:00"),
            Err(CalendarError::HoursEmpty(_))
        ));
        for bad in ["8-18", "08:00", "08:60-09:00", "24:00-24:00", "8:00-18:00"] {
            assert!(parse_hours(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_weekday("Mon"), Some(Weekday::Monday));
        assert_eq!(parse_weekday("sunday"), Some(Weekday::Sunday));
        assert_eq!(parse_weekday("mo"), None);
        assert!(matches!(
            Calendar::new(TimeZone::UTC, &[], "08:00-18:00", []),
            Err(CalendarError::NoWorkingDays)
        ));
    }
}
