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

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("must be an RFC 3339 timestamp with an offset, like 2024-05-01T09:30:00-04:00: {0}")]
    Syntax(String),
    #[error("must carry an explicit offset (Z or ±hh:mm)")]
    NoOffset,
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
        Ok(EventTime { instant, offset })
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
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        EventTime::parse(&s).map_err(serde::de::Error::custom)
    }
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
}
