//! Vendors' ways of writing a time, turned into exact instants. Each returns `None` rather than
//! guessing: a local time with no offset and no zone is only accepted by [`local_in_zone`], where
//! the caller says which zone the vendor documents.

use crate::LocalTime;
use jiff::civil::{Date, DateTime};
use jiff::tz::{Offset, TimeZone};
use waypost_domain::time::TimeError;
use waypost_domain::{EventTime, MAX_OFFSET_SECONDS};

/// A vendor's time as written: an exact instant, a wall-clock time without an offset, or a date.
#[derive(Debug, Clone, PartialEq)]
pub enum Stamp {
    Exact(EventTime),
    Local(DateTime),
    Date(Date),
}

impl Stamp {
    /// The observation's two time fields: `occurred_at` for an exact instant, `local_time` (zone
    /// inferred from the place, or `zone` when the vendor documents one) otherwise.
    pub fn split(self, zone: Option<&str>) -> (Option<EventTime>, Option<LocalTime>) {
        let mut local = match self {
            Stamp::Exact(t) => return (Some(t), None),
            Stamp::Local(civil) => LocalTime::new(civil),
            Stamp::Date(d) => LocalTime::date(d),
        };
        local.zone = zone.map(str::to_owned);
        (None, Some(local))
    }
}

/// Any ISO-like time a vendor writes: with an offset in any spelling (see [`with_offset`]),
/// without one (`2024-08-15T00:00:00`, `2024-08-15 13:05`), or a bare date (`2024-08-15`).
///
/// A time whose offset is beyond ±18:00 is `None`: no clock shows it, so it is a vendor's bug,
/// and reading it as a local time with the offset dropped would invent an instant. The caller
/// reports that event unreadable; the rest of the document stands.
pub fn read(s: &str) -> Option<Stamp> {
    match exact(s) {
        Ok(t) => return Some(Stamp::Exact(t)),
        Err(TimeError::OffsetOutOfRange(_)) => return None,
        Err(_) => {}
    }
    let s = s.trim();
    if !s.is_ascii() || s.len() > 40 {
        return None;
    }
    // jiff reads a date out of a date-time too; only a bare `YYYY-MM-DD` is a date.
    if s.len() == 10
        && let Ok(d) = s.parse::<Date>()
    {
        return Some(Stamp::Date(d));
    }
    s.replacen(' ', "T", 1)
        .parse::<DateTime>()
        .ok()
        .map(Stamp::Local)
}

/// RFC 3339 and its common near-misses: `2024-04-10T14:30:00-04:00`, `...-0400`, `...Z`,
/// fractional seconds, a space instead of `T`.
/// An offset beyond ±18:00 is `None`, like any other unreadable time.
pub fn with_offset(s: &str) -> Option<EventTime> {
    exact(s).ok()
}

/// [`with_offset`], telling an offset out of range apart from a time that has none.
fn exact(s: &str) -> Result<EventTime, TimeError> {
    let s = s.trim();
    // Byte slicing below is only sound on ASCII; no vendor writes a time in anything else.
    if s.len() > 64 || !s.is_ascii() {
        return Err(TimeError::Syntax(
            "not an ASCII time of at most 64 bytes".into(),
        ));
    }
    let mut norm = s.to_owned();
    // `2024-04-10T15:18:10 -0500`: FedEx's developer-portal samples put a space before the
    // offset.
    if let Some(i) = norm.rfind(' ')
        && norm[i + 1..].starts_with(['+', '-'])
    {
        norm.remove(i);
    }
    if !norm.contains('T') {
        norm = norm.replacen(' ', "T", 1);
    }
    // `-0400` -> `-04:00`: the domain parser wants the colon form.
    let bytes = norm.as_bytes();
    if bytes.len() > 5 {
        let tail = &norm[norm.len() - 5..];
        let t = tail.as_bytes();
        if (t[0] == b'+' || t[0] == b'-') && t[1..].iter().all(u8::is_ascii_digit) {
            norm.insert(norm.len() - 2, ':');
        }
    }
    EventTime::parse(&norm)
}

/// A civil date-time in a named IANA zone (`America/Chicago`): the offset is the zone's on that
/// day. An ambiguous time (the repeated hour in autumn) takes the earlier instant, as carriers'
/// scanners do; a time in the spring gap moves forward.
pub fn local_in_zone(civil: DateTime, zone: &str) -> Option<EventTime> {
    let tz = TimeZone::get(zone).ok()?;
    let zoned = civil.to_zoned(tz).ok()?;
    Some(EventTime {
        instant: zoned.timestamp(),
        offset: zoned.offset(),
    })
}

/// A civil date-time with an offset given separately (`-05:00`, `-0500`, `-5`, `+05:30`).
pub fn local_with_offset(civil: DateTime, offset: &str) -> Option<EventTime> {
    let offset = parse_offset(offset)?;
    let instant = offset.to_timestamp(civil).ok()?;
    Some(EventTime { instant, offset })
}

/// A civil date-time that the vendor documents as UTC.
pub fn utc(civil: DateTime) -> Option<EventTime> {
    let instant = Offset::UTC.to_timestamp(civil).ok()?;
    Some(EventTime::utc(instant))
}

/// `-05:00`, `-0500`, `-05`, `-5`, `+5:30`, `Z`.
pub fn parse_offset(s: &str) -> Option<Offset> {
    let s = s.trim();
    if !s.is_ascii() || s.len() > 8 {
        return None;
    }
    if s == "Z" || s == "z" {
        return Some(Offset::UTC);
    }
    let (sign, body) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        b'0'..=b'9' => (1, s),
        _ => return None,
    };
    let (h, m) = match body.split_once(':') {
        Some((h, m)) => (h, m),
        None if body.len() == 4 => (&body[..2], &body[2..]),
        None if body.len() <= 2 => (body, "0"),
        None => return None,
    };
    if h.is_empty() || h.len() > 2 || m.len() > 2 {
        return None;
    }
    let h: i32 = h.parse().ok()?;
    let m: i32 = m.parse().ok()?;
    let secs = h * 3600 + m * 60;
    if m > 59 || secs > MAX_OFFSET_SECONDS {
        return None;
    }
    Offset::from_seconds(sign * secs).ok()
}

/// A civil date and time from separate fields in the given `strptime` formats
/// (`("20240410", "%Y%m%d")`, `("143000", "%H%M%S")`).
pub fn civil(date: &str, date_fmt: &str, time: &str, time_fmt: &str) -> Option<DateTime> {
    let d = jiff::civil::Date::strptime(date_fmt, date.trim()).ok()?;
    let t = jiff::civil::Time::strptime(time_fmt, time.trim()).ok()?;
    Some(d.to_datetime(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_in_all_their_spellings() {
        for s in [
            "2024-04-10T14:30:00-04:00",
            "2024-04-10T14:30:00-0400",
            "2024-04-10 14:30:00-04:00",
        ] {
            let t = with_offset(s).unwrap();
            assert_eq!(t.instant.to_string(), "2024-04-10T18:30:00Z", "{s}");
            assert_eq!(t.offset.seconds(), -4 * 3600);
        }
        assert!(with_offset("2024-04-10T14:30:00").is_none());
        assert_eq!(parse_offset("-5").unwrap().seconds(), -5 * 3600);
        assert_eq!(parse_offset("+05:30").unwrap().seconds(), 5 * 3600 + 1800);
        assert!(parse_offset("+99").is_none());
        assert_eq!(parse_offset("-18:00").unwrap().seconds(), -18 * 3600);
        assert!(parse_offset("+18:30").is_none());
        // Multi-byte characters where digits are expected must not panic on a byte slice.
        assert!(with_offset("2024-04-10T14:30:00\u{e9}0000").is_none());
        assert!(with_offset("2024-04-10T14:30:\u{e9}1234").is_none());
        assert!(parse_offset("+1\u{e9}2").is_none());
    }

    #[test]
    fn read_tells_exact_local_and_date() {
        let t = |s: &str| read(s).unwrap();
        assert!(
            matches!(t("2024-08-15T15:18:10 -0500"), Stamp::Exact(e) if e.offset.seconds() == -5 * 3600)
        );
        assert!(matches!(t("2024-08-15T15:18:10Z"), Stamp::Exact(_)));
        assert!(matches!(t("2024-08-15T00:00:00"), Stamp::Local(d) if d.hour() == 0));
        assert!(matches!(t("2024-08-15 13:05"), Stamp::Local(d) if d.minute() == 5));
        assert!(matches!(t("2024-08-15T13:05:00.123"), Stamp::Local(_)));
        assert!(matches!(t("2024-08-15"), Stamp::Date(_)));
        assert!(read("15.08.2024").is_none());
        assert!(read("yesterday").is_none());
        let (exact, local) = t("2024-08-15").split(Some("Europe/Berlin"));
        assert!(exact.is_none());
        let local = local.unwrap();
        assert!(local.date_only && local.zone.as_deref() == Some("Europe/Berlin"));
    }

    #[test]
    fn twelve_hour_clocks_and_month_names() {
        let c = civil("May 21, 2024", "%B %d, %Y", "2:05 pm", "%I:%M %p").unwrap();
        assert_eq!(c.to_string(), "2024-05-21T14:05:00");
    }

    #[test]
    fn zones_follow_daylight_saving() {
        let summer = civil("20240710", "%Y%m%d", "120000", "%H%M%S").unwrap();
        let winter = civil("20240110", "%Y%m%d", "120000", "%H%M%S").unwrap();
        let s = local_in_zone(summer, "America/Chicago").unwrap();
        let w = local_in_zone(winter, "America/Chicago").unwrap();
        assert_eq!(s.offset.seconds(), -5 * 3600);
        assert_eq!(w.offset.seconds(), -6 * 3600);
        assert!(local_in_zone(summer, "Mars/Olympus").is_none());
    }

    #[test]
    fn separate_offset_and_utc() {
        let c = civil("2024-04-10", "%Y-%m-%d", "14:30", "%H:%M").unwrap();
        let t = local_with_offset(c, "-0500").unwrap();
        assert_eq!(t.instant.to_string(), "2024-04-10T19:30:00Z");
        assert_eq!(utc(c).unwrap().instant.to_string(), "2024-04-10T14:30:00Z");
    }

    #[test]
    fn offsets_beyond_eighteen_hours_are_unreadable_not_local() {
        for s in [
            "2024-08-15T15:18:10+25:00",
            "2024-08-15T15:18:10-1901",
            "2024-08-15 15:18:10 +2500",
        ] {
            assert_eq!(read(s), None, "{s}");
            assert_eq!(with_offset(s), None, "{s}");
        }
        assert!(matches!(
            read("2024-08-15T15:18:10+18:00"),
            Some(Stamp::Exact(_))
        ));
        let c = civil("2024-04-10", "%Y-%m-%d", "14:30", "%H:%M").unwrap();
        assert!(local_with_offset(c, "+19").is_none());
        assert!(local_with_offset(c, "-18:00").is_some());
    }
}
