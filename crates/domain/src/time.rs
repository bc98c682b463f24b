//! Event time: an exact instant together with the offset the source reported it in. Ordering
//! uses the instant alone; the offset is kept so the timeline shows local time as the source did.

use jiff::Timestamp;
use jiff::tz::Offset;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;

#[derive(Debug, Clone, Copy)]
pub struct EventTime {
    pub instant: Timestamp,
    pub offset: Offset,
}

/// The widest offset from UTC an event time may carry: ±18:00, inclusive.
///
/// RFC 3339's grammar allows `time-hour` up to 23 in an offset and jiff holds offsets up to
/// ±25:59:59 (its docs on `OffsetHours`: the range exists for POSIX TZ strings, which need 25
/// hours, not for timestamps; Temporal stops below 24). No clock on Earth has been set beyond
/// -12:00..+14:00 since Kiribati's move in 1995, so anything past ±18:00 is a sender's bug, not
/// a place. java.time's `ZoneOffset` draws the line at ±18:00 "to prevent any problems with
/// that range being extended, yet still provide validation", and so do we: such a time would
/// otherwise be stored and re-sent to every subscriber as it came.
pub const MAX_OFFSET_SECONDS: i32 = 18 * 3600;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("must be an RFC 3339 timestamp with an offset, like 2024-05-01T09:30:00-04:00: {0}")]
    Syntax(String),
    #[error("must carry an explicit offset (Z or ±hh:mm)")]
    NoOffset,
    #[error(
        "has the offset {0}, beyond what any clock uses; offsets from -18:00 to +18:00 are accepted"
    )]
    OffsetOutOfRange(String),
}

/// Whether an offset is one an event time may carry (see [`MAX_OFFSET_SECONDS`]).
pub fn offset_in_range(offset: Offset) -> bool {
    offset.seconds().abs() <= MAX_OFFSET_SECONDS
}

impl EventTime {
    pub fn parse(s: &str) -> Result<Self, TimeError> {
        // RFC 3339 demands an offset; jiff's Timestamp parser would accept `Z` or an offset, but
        // we also need the offset itself, so parse it as a fixed-offset zoned time.
        let s = s.trim();
        if s.len() < 20 || s.len() > 40 {
            return Err(TimeError::Syntax(format!("{s:?} has an impossible length")));
        }
        let instant: Timestamp = s
            .parse()
            .map_err(|e: jiff::Error| TimeError::Syntax(e.to_string()))?;
        let tail = &s[19..];
        let offset = if tail.ends_with('Z') || tail.ends_with('z') {
            Offset::UTC
        } else {
            let pos = tail.rfind(['+', '-']).ok_or(TimeError::NoOffset)?;
            parse_offset(&tail[pos..]).ok_or(TimeError::NoOffset)?
        };
        if !offset_in_range(offset) {
            return Err(TimeError::OffsetOutOfRange(offset_text(offset)));
        }
        Ok(EventTime { instant, offset })
    }

    /// An instant in an offset, refused when the offset is beyond ±18:00: for callers that
    /// build a time from parts (a vendor's civil time and its separate offset field).
    pub fn new(instant: Timestamp, offset: Offset) -> Result<Self, TimeError> {
        if offset_in_range(offset) {
            Ok(EventTime { instant, offset })
        } else {
            Err(TimeError::OffsetOutOfRange(offset_text(offset)))
        }
    }

    pub fn utc(instant: Timestamp) -> Self {
        EventTime {
            instant,
            offset: Offset::UTC,
        }
    }

    /// Nanoseconds since the Unix epoch: the sortable form the stores index.
    pub fn as_nanos(&self) -> i128 {
        self.instant.as_nanosecond()
    }
}

fn parse_offset(s: &str) -> Option<Offset> {
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let body = &s[1..];
    let (h, m) = match body.len() {
        5 if body.as_bytes()[2] == b':' => (&body[..2], &body[3..]),
        4 => (&body[..2], &body[2..]),
        _ => return None,
    };
    let h: i32 = h.parse().ok()?;
    let m: i32 = m.parse().ok()?;
    Offset::from_seconds(sign * (h * 3600 + m * 60)).ok()
}

/// `+25:00`, `-18:30`: how an offset is written in messages.
fn offset_text(offset: Offset) -> String {
    let secs = offset.seconds();
    let sign = if secs < 0 { '-' } else { '+' };
    let abs = secs.unsigned_abs();
    format!("{sign}{:02}:{:02}", abs / 3600, (abs % 3600) / 60)
}

impl fmt::Display for EventTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dt = self.offset.to_datetime(self.instant);
        let secs = self.offset.seconds();
        let (sign, abs) = if secs < 0 { ('-', -secs) } else { ('+', secs) };
        write!(f, "{}", dt.strftime("%Y-%m-%dT%H:%M:%S"))?;
        let nanos = dt.subsec_nanosecond();
        if nanos != 0 {
            let frac = format!("{nanos:09}");
            write!(f, ".{}", frac.trim_end_matches('0'))?;
        }
        if secs == 0 {
            f.write_str("Z")
        } else {
            write!(f, "{sign}{:02}:{:02}", abs / 3600, (abs % 3600) / 60)
        }
    }
}

impl PartialEq for EventTime {
    fn eq(&self, other: &Self) -> bool {
        self.instant == other.instant && self.offset == other.offset
    }
}
impl Eq for EventTime {}
impl PartialOrd for EventTime {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for EventTime {
    fn cmp(&self, other: &Self) -> Ordering {
        self.instant
            .cmp(&other.instant)
            .then_with(|| self.offset.seconds().cmp(&other.offset.seconds()))
    }
}

impl Serialize for EventTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
impl<'de> Deserialize<'de> for EventTime {
    /// Reads what [`EventTime`]'s `Serialize` wrote, which is how the stores keep it. An
    /// offset beyond ±18:00 still reads here: rows written before that bound was enforced must
    /// stay readable (a store that cannot read its own log is worse than an odd offset). Input
    /// goes through [`EventTime::parse`], which refuses it.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match EventTime::parse(&s) {
            Err(TimeError::OffsetOutOfRange(_)) => parse_unbounded(&s),
            other => other,
        }
        .map_err(serde::de::Error::custom)
    }
}

/// [`EventTime::parse`] without the ±18:00 bound (jiff's own ±25:59:59 still holds).
fn parse_unbounded(s: &str) -> Result<EventTime, TimeError> {
    let s = s.trim();
    let instant: Timestamp = s
        .parse()
        .map_err(|e: jiff::Error| TimeError::Syntax(e.to_string()))?;
    let tail = s.get(19..).ok_or(TimeError::NoOffset)?;
    let pos = tail.rfind(['+', '-']).ok_or(TimeError::NoOffset)?;
    let offset = parse_offset(&tail[pos..]).ok_or(TimeError::NoOffset)?;
    Ok(EventTime { instant, offset })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_offset_and_the_instant() {
        let t = EventTime::parse("2024-05-01T09:30:00-04:00").unwrap();
        assert_eq!(t.offset.seconds(), -4 * 3600);
        assert_eq!(t.instant.to_string(), "2024-05-01T13:30:00Z");
        assert_eq!(t.to_string(), "2024-05-01T09:30:00-04:00");
        let z = EventTime::parse("2024-05-01T13:30:00.250Z").unwrap();
        assert_eq!(
            z.instant,
            t.instant + jiff::SignedDuration::from_millis(250)
        );
        assert_eq!(z.to_string(), "2024-05-01T13:30:00.25Z");
        let india = EventTime::parse("2024-05-01T19:00:00+05:30").unwrap();
        assert_eq!(india.instant, t.instant);
        assert_eq!(india.to_string(), "2024-05-01T19:00:00+05:30");
    }

    #[test]
    fn rejects_times_without_offsets_and_garbage() {
        assert!(EventTime::parse("2024-05-01T09:30:00").is_err());
        assert!(EventTime::parse("2024-05-01").is_err());
        assert!(EventTime::parse("yesterday at noon, more or less").is_err());
        assert!(EventTime::parse("2024-13-01T09:30:00Z").is_err());
    }

    #[test]
    fn offsets_beyond_eighteen_hours_are_refused_and_named() {
        for ok in [
            "2024-05-01T09:30:00+18:00",
            "2024-05-01T09:30:00-18:00",
            "2024-05-01T09:30:00+14:00",
            "2024-05-01T09:30:00-1200",
        ] {
            assert!(EventTime::parse(ok).is_ok(), "{ok}");
        }
        for (bad, named) in [
            ("2024-05-01T09:30:00+25:00", "+25:00"),
            ("2024-05-01T09:30:00-25:59", "-25:59"),
            ("2024-05-01T09:30:00+18:01", "+18:01"),
            ("2024-05-01T09:30:00-1900", "-19:00"),
        ] {
            let e = EventTime::parse(bad).unwrap_err();
            assert_eq!(e, TimeError::OffsetOutOfRange(named.into()), "{bad}");
            let msg = e.to_string();
            assert!(
                msg.contains(named) && msg.contains("-18:00 to +18:00"),
                "{msg}"
            );
        }
    }

    #[test]
    fn stored_times_beyond_the_bound_still_read_but_new_ones_are_refused() {
        let stored: EventTime = serde_json::from_str("\"2024-05-01T09:30:00+25:00\"").unwrap();
        assert_eq!(stored.offset.seconds(), 25 * 3600);
        assert_eq!(stored.to_string(), "2024-05-01T09:30:00+25:00");
        assert!(EventTime::new(stored.instant, stored.offset).is_err());
        assert!(serde_json::from_str::<EventTime>("\"2024-05-01T09:30:00\"").is_err());
    }
}
