//! Business calendar arithmetic as properties: monotone, additive, never faster than the wall
//! clock, plain addition when always open, and inverse to `working_between`. Zones include DST
//! (Chicago, London), a 30-minute DST (Lord Howe) and none (Kolkata).
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZoneDatabase;
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use waypost_rules::Calendar;

const ZONES: [&str; 5] = [
    "UTC",
    "America/Chicago",
    "Europe/London",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
];
const DAYS: [Weekday; 7] = [
    Weekday::Monday,
    Weekday::Tuesday,
    Weekday::Wednesday,
    Weekday::Thursday,
    Weekday::Friday,
    Weekday::Saturday,
    Weekday::Sunday,
];

fn arb_calendar() -> impl Strategy<Value = Calendar> {
    (
        0..ZONES.len(),
        1u8..128,                               // weekday mask, never empty
        0u16..(24 * 4),                         // start, quarter hours
        1u16..(24 * 4),                         // length, quarter hours (clamped to the day)
        prop::collection::vec(0i64..800, 0..6), // holidays, days after 2025-01-01
    )
        .prop_map(|(z, mask, start, len, hol)| {
            let tz = TimeZoneDatabase::bundled().get(ZONES[z]).unwrap();
            let days: Vec<Weekday> = (0..7)
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| DAYS[i])
                .collect();
            let start_min = start * 15;
            let end_min = (start_min + len * 15).min(24 * 60);
            let hm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
            let hours = format!("{}-{}", hm(start_min), hm(end_min));
            let base = Date::new(2025, 1, 1).unwrap();
            let holidays = hol
                .into_iter()
                .map(|d| base.checked_add(jiff::Span::new().days(d)).unwrap());
            Calendar::new(tz, &days, &hours, holidays).unwrap()
        })
}

/// An instant in 2025-2027, to the second, sometimes with nanoseconds.
fn arb_instant() -> impl Strategy<Value = Timestamp> {
    (
        1_735_689_600i64..1_798_761_600,
        prop_oneof![Just(0i32), 0i32..1_000_000_000],
    )
        .prop_map(|(s, n)| Timestamp::new(s, n).unwrap())
}

/// Up to ~3 weeks of working time, often round.
fn arb_working() -> impl Strategy<Value = SignedDuration> {
    prop_oneof![
        (0i64..500).prop_map(SignedDuration::from_hours),
        (0i64..500 * 3600).prop_map(SignedDuration::from_secs),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn monotone_in_start(cal in arb_calendar(), a in arb_instant(), b in arb_instant(), w in arb_working()) {
        let (s1, s2) = (a.min(b), a.max(b));
        prop_assert!(cal.add(s1, w) <= cal.add(s2, w));
    }

    #[test]
    fn monotone_in_duration(cal in arb_calendar(), s in arb_instant(), a in arb_working(), b in arb_working()) {
        let (w1, w2) = (a.min(b), a.max(b));
        prop_assert!(cal.add(s, w1) <= cal.add(s, w2));
    }

    #[test]
    fn additive(cal in arb_calendar(), s in arb_instant(), a in arb_working(), b in arb_working()) {
        prop_assert_eq!(cal.add(s, a + b), cal.add(cal.add(s, a), b));
    }

    #[test]
    fn never_before_plain_addition(cal in arb_calendar(), s in arb_instant(), w in arb_working()) {
        prop_assert!(cal.add(s, w) >= s.checked_add(w).unwrap());
    }

    #[test]
    fn working_between_inverts_add(cal in arb_calendar(), s in arb_instant(), w in arb_working()) {
        let due = cal.add(s, w);
        prop_assert_eq!(cal.working_between(s, due), w);
    }

    #[test]
    fn always_open_is_plain_addition(s in arb_instant(), w in arb_working()) {
        prop_assert_eq!(Calendar::always_open().add(s, w), s.checked_add(w).unwrap());
    }

    #[test]
    fn a_24h_every_day_calendar_in_any_zone_is_plain_addition(z in 0..ZONES.len(), s in arb_instant(), w in arb_working()) {
        let tz = TimeZoneDatabase::bundled().get(ZONES[z]).unwrap();
        let cal = Calendar::new(tz, &DAYS, "00:00-24:00", []).unwrap();
        prop_assert_eq!(cal.add(s, w), s.checked_add(w).unwrap());
    }
}
