//! Event times in every offset a clock may show parse and print back as they came; offsets
//! beyond ±18:00 never parse.

use jiff::Timestamp;
use jiff::tz::Offset;
use proptest::prelude::*;
use waypost_domain::{EventTime, TimeError};

/// `instant` written in `offset_minutes` as RFC 3339 with whole seconds, the way senders do.
fn written(instant: Timestamp, offset_minutes: i32) -> String {
    let secs = offset_minutes * 60;
    let dt = Offset::from_seconds(secs)
        .expect("offset within jiff's range")
        .to_datetime(instant);
    let sign = if secs < 0 { '-' } else { '+' };
    let abs = offset_minutes.unsigned_abs();
    format!(
        "{}{sign}{:02}:{:02}",
        dt.strftime("%Y-%m-%dT%H:%M:%S"),
        abs / 60,
        abs % 60
    )
}

/// 2000-01-01 .. 2100-01-01, whole seconds.
fn instant() -> impl Strategy<Value = Timestamp> {
    (946_684_800i64..4_102_444_800).prop_map(|s| Timestamp::from_second(s).expect("in range"))
}

proptest! {
    #[test]
    fn any_offset_in_range_parses_and_round_trips(at in instant(), minutes in -18 * 60..=18 * 60i32) {
        let text = written(at, minutes);
        let t = EventTime::parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(t.instant, at);
        prop_assert_eq!(t.offset.seconds(), minutes * 60);
        // Zero prints as `Z`; every other offset comes back as written.
        if minutes != 0 {
            prop_assert_eq!(t.to_string(), text.clone());
        }
        let again = EventTime::parse(&t.to_string()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(again, t);
    }

    #[test]
    fn any_offset_beyond_is_refused(
        at in instant(),
        minutes in (18 * 60 + 1)..=(25 * 60 + 59i32),
        negative in any::<bool>(),
    ) {
        let minutes = if negative { -minutes } else { minutes };
        let text = written(at, minutes);
        let refused = matches!(EventTime::parse(&text), Err(TimeError::OffsetOutOfRange(_)));
        prop_assert!(refused, "{} was not refused for its offset", text);
    }
}
