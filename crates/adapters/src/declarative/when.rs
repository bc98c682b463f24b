//! Times as a format description says they are written: RFC 3339 with an offset in any spelling,
//! ISO without an offset (a wall-clock time, local to the event or to the vendor's documented
//! zone), a date alone, or any `strptime` pattern (`%d-%m-%Y %H:%M:%S`, `%m/%d/%Y %I:%M %p`).

use super::spec::TimeFormat;
use crate::timefmt;
use jiff::civil::DateTime;
use waypost_domain::EventTime;

/// A time read from a document.
#[derive(Debug, Clone, PartialEq)]
pub enum When {
    /// An exact instant with the offset the vendor wrote.
    At(EventTime),
    /// A wall-clock time without an offset; `date_only` when the vendor gave no clock.
    Local { civil: DateTime, date_only: bool },
}

/// Reads `text` with the first of `formats` that accepts it.
pub fn read(text: &str, formats: &[TimeFormat]) -> Option<When> {
    let text = text.trim();
    if text.is_empty() || text.len() > 64 {
        return None;
    }
    formats.iter().find_map(|f| match f {
        TimeFormat::Iso => iso(text),
        TimeFormat::Epoch { millis } => epoch(text, *millis),
        TimeFormat::Pattern {
            pattern,
            offset,
            date_only,
        } => with_pattern(text, pattern, *offset, *date_only),
    })
}

/// ISO 8601 / RFC 3339 as vendors write it, with or without an offset, or a date alone: the
/// crate's one reading of such times ([`timefmt::read`]).
fn iso(text: &str) -> Option<When> {
    Some(match timefmt::read(text)? {
        timefmt::Stamp::Exact(t) => When::At(t),
        timefmt::Stamp::Local(civil) => When::Local {
            civil,
            date_only: false,
        },
        timefmt::Stamp::Date(d) => When::Local {
            civil: d.to_datetime(jiff::civil::Time::midnight()),
            date_only: true,
        },
    })
}

/// A Unix time written as a whole number (digits only, as JSON numbers are read): an exact
/// instant, kept in UTC (the number carries no offset).
fn epoch(text: &str, millis: bool) -> Option<When> {
    if text.is_empty() || text.len() > 16 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = text.parse().ok()?;
    let instant = if millis {
        jiff::Timestamp::from_millisecond(n).ok()?
    } else {
        jiff::Timestamp::from_second(n).ok()?
    };
    Some(When::At(EventTime {
        instant,
        offset: jiff::tz::Offset::UTC,
    }))
}

fn with_pattern(text: &str, pattern: &str, offset: bool, date_only: bool) -> Option<When> {
    let tm = jiff::fmt::strtime::parse(pattern, text).ok()?;
    if offset {
        // `%Q` may name a zone rather than an offset: the zone says the offset of that instant.
        // A written offset beyond ±18:00 (jiff reads up to ±25:59) makes the time unreadable.
        let z = tm.to_zoned().ok()?;
        return EventTime::new(z.timestamp(), z.offset()).ok().map(When::At);
    }
    if date_only {
        let d = tm.to_date().ok()?;
        return Some(When::Local {
            civil: d.to_datetime(jiff::civil::Time::midnight()),
            date_only: true,
        });
    }
    Some(When::Local {
        civil: tm.to_datetime().ok()?,
        date_only: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(p: &str) -> TimeFormat {
        TimeFormat::Pattern {
            pattern: p.to_owned(),
            offset: p.contains("%z") || p.contains("%:z") || p.contains("%Q"),
            date_only: !p.contains("%H") && !p.contains("%I"),
        }
    }

    /// `(text, formats, expected)`: an instant as RFC 3339, or `local <civil>[ date]`.
    #[test]
    fn times_as_vendors_write_them() {
        let iso = [TimeFormat::Iso];
        let postnl = [pat("%d-%m-%Y %H:%M:%S%.f")];
        let us12 = [pat("%m/%d/%Y %I:%M %p"), pat("%m/%d/%Y")];
        let ms = [TimeFormat::Epoch { millis: true }];
        let secs = [TimeFormat::Epoch { millis: false }];
        let cases: &[(&str, &[TimeFormat], &str)] = &[
            ("2020-02-26T12:00:00+01:00", &iso, "2020-02-26T11:00:00Z"),
            ("2020-02-26T12:00:00+0100", &iso, "2020-02-26T11:00:00Z"),
            ("2020-02-26T12:00:00 -0500", &iso, "2020-02-26T17:00:00Z"),
            ("2015-11-23T01:04:00Z", &iso, "2015-11-23T01:04:00Z"),
            ("2024-08-15T00:00:00", &iso, "local 2024-08-15T00:00:00"),
            ("2024-08-15 09:30", &iso, "local 2024-08-15T09:30:00"),
            ("2024-08-15", &iso, "local 2024-08-15T00:00:00 date"),
            ("07-03-2018 23:20:05", &postnl, "local 2018-03-07T23:20:05"),
            (
                "07-03-2018 23:22:56.326",
                &postnl,
                "local 2018-03-07T23:22:56.326",
            ),
            ("03/07/2018 2:05 PM", &us12, "local 2018-03-07T14:05:00"),
            ("03/07/2018", &us12, "local 2018-03-07T00:00:00 date"),
            ("not a time", &iso, "none"),
            ("31-02-2018 10:00:00", &postnl, "none"),
            ("", &iso, "none"),
            ("2024-08-15T00:00:00\u{e9}", &iso, "none"),
            ("1767000000000", &ms, "2025-12-29T09:20:00Z"),
            ("1767000000", &secs, "2025-12-29T09:20:00Z"),
            ("1767000000000.5", &ms, "none"),
            ("-1767000000000", &ms, "none"),
            ("99999999999999999", &ms, "none"),
            ("9999999999999999", &ms, "none"),
            ("2025-12-29", &ms, "none"),
            ("", &secs, "none"),
            // An offset no clock shows is not read as a local time with the offset dropped.
            ("2020-02-26T12:00:00+25:00", &iso, "none"),
            ("2020-02-26T12:00:00-1830", &iso, "none"),
        ];
        for (text, formats, want) in cases {
            let got = match read(text, formats) {
                Some(When::At(t)) => t.instant.to_string(),
                Some(When::Local { civil, date_only }) => {
                    format!("local {civil}{}", if date_only { " date" } else { "" })
                }
                None => "none".to_owned(),
            };
            assert_eq!(got, *want, "{text}");
        }
    }

    #[test]
    fn a_pattern_with_an_offset_keeps_it() {
        let Some(When::At(t)) = read("2024-03-10 14:30:00 -0500", &[pat("%Y-%m-%d %H:%M:%S %z")])
        else {
            panic!()
        };
        assert_eq!(t.offset.seconds(), -5 * 3600);
        assert_eq!(t.instant.to_string(), "2024-03-10T19:30:00Z");
        let Some(When::At(t)) = read("2024-07-10 14:30 Europe/Paris", &[pat("%Y-%m-%d %H:%M %Q")])
        else {
            panic!()
        };
        assert_eq!(t.offset.seconds(), 2 * 3600);
        let z = pat("%Y-%m-%d %H:%M:%S %z");
        assert!(read("2024-03-10 14:30:00 +2500", std::slice::from_ref(&z)).is_none());
        assert!(read("2024-03-10 14:30:00 -1800", &[z]).is_some());
    }
}
