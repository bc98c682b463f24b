//! What every X12 document shares, for the 214 and 856 sources: the interchange's separators
//! (read from the fixed-width ISA header, never assumed), segments and elements, dates and times
//! with their time codes (element 623), and the zone of a place when a time has no code.

use crate::{ParseError, geo, timefmt};
use jiff::civil::DateTime;
use waypost_domain::EventTime;

/// The ISA header is fixed width: 106 characters, element separator at byte 3, component
/// separator at 104, segment terminator at 105.
const ISA_LEN: usize = 106;

/// One segment: its 1-based position in the interchange (for error paths) and its elements.
#[derive(Debug)]
pub(crate) struct Segment<'a> {
    pub index: usize,
    pub id: &'a str,
    elements: Vec<&'a str>,
}

impl<'a> Segment<'a> {
    /// Element `n` (1-based, as `AT701` is element 1), trimmed; "" when absent.
    pub fn el(&self, n: usize) -> &'a str {
        n.checked_sub(1)
            .and_then(|i| self.elements.get(i))
            .map_or("", |s| s.trim())
    }

    /// Element `n`, or `None` when absent or blank.
    pub fn opt(&self, n: usize) -> Option<&'a str> {
        Some(self.el(n)).filter(|s| !s.is_empty())
    }

    /// `segment 7 (AT7)`: where a problem is, in the words of the EDI world.
    pub fn path(&self) -> String {
        format!("segment {} ({})", self.index, self.id)
    }

    /// `segment 7 (AT7) AT705`.
    pub fn el_path(&self, n: usize) -> String {
        format!("segment {} ({}) {}{:02}", self.index, self.id, self.id, n)
    }
}

/// The transaction sets of an interchange, each as its ST's segment number and the segments
/// between its ST and SE. Envelope segments (ISA, GS, GE, IEA, TA1) are skipped; every set must
/// be of type `set` (`named` says it in errors: "a 214"), open with ST and close with SE.
pub(crate) fn transaction_sets<'s, 'a>(
    segments: &'s [Segment<'a>],
    set: &str,
    named: &str,
) -> Result<Vec<(usize, Vec<&'s Segment<'a>>)>, ParseError> {
    let mut sets = Vec::new();
    let mut current: Option<(usize, Vec<&'s Segment<'a>>)> = None;
    for seg in segments {
        match seg.id {
            "ISA" | "GS" | "GE" | "IEA" | "TA1" => {}
            "ST" => {
                if let Some((start, _)) = &current {
                    return Err(ParseError::new(
                        seg.path(),
                        format!(
                            "ST before the transaction set opened at segment {start} ended with SE"
                        ),
                    ));
                }
                if seg.el(1) != set {
                    return Err(ParseError::new(
                        seg.el_path(1),
                        format!("transaction set {:?} is not {named}", seg.el(1)),
                    ));
                }
                current = Some((seg.index, Vec::new()));
            }
            "SE" => sets.push(
                current
                    .take()
                    .ok_or_else(|| ParseError::new(seg.path(), "SE without an ST before it"))?,
            ),
            _ => current
                .as_mut()
                .ok_or_else(|| {
                    ParseError::new(seg.path(), "segment outside a transaction set (ST..SE)")
                })?
                .1
                .push(seg),
        }
    }
    if let Some((start, _)) = current {
        return Err(ParseError::new(
            format!("segment {start} (ST)"),
            "transaction set never closed by SE",
        ));
    }
    Ok(sets)
}

/// Splits an interchange into segments with the separators its ISA header declares.
pub(crate) fn segments(doc: &[u8]) -> Result<Vec<Segment<'_>>, ParseError> {
    let text = std::str::from_utf8(doc).map_err(|e| {
        ParseError::new(
            format!("byte {}", e.valid_up_to()),
            "not text: an X12 interchange is ASCII",
        )
    })?;
    let text = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    if !text.starts_with("ISA") {
        let head: String = text.chars().take(12).collect();
        return Err(ParseError::new(
            "segment 1",
            format!("an X12 interchange starts with ISA, this one with {head:?}"),
        ));
    }
    let bytes = text.as_bytes();
    let (Some(&elem), Some(&comp), Some(&term)) =
        (bytes.get(3), bytes.get(ISA_LEN - 2), bytes.get(ISA_LEN - 1))
    else {
        return Err(ParseError::new(
            "segment 1 (ISA)",
            format!(
                "ISA is {ISA_LEN} characters long, the document has {}",
                bytes.len()
            ),
        ));
    };
    for (name, b) in [("element separator", elem), ("segment terminator", term)] {
        if b.is_ascii_alphanumeric() || !b.is_ascii() || b == b' ' {
            return Err(ParseError::new(
                "segment 1 (ISA)",
                format!("{name} {:?} is not a delimiter", b as char),
            ));
        }
    }
    if elem == term || elem == comp {
        return Err(ParseError::new(
            "segment 1 (ISA)",
            "separators must differ: the ISA header is not 106 characters long",
        ));
    }
    let (elem, term) = (elem as char, term as char);
    let mut out = Vec::new();
    for raw in text.split(term) {
        // Line breaks after the terminator are common and carry nothing.
        let raw = raw.trim_matches(['\r', '\n']);
        if raw.trim().is_empty() {
            continue;
        }
        let mut parts = raw.split(elem);
        let id = parts.next().unwrap_or("").trim();
        let index = out.len() + 1;
        if id.is_empty() || id.len() > 3 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            let shown: String = raw.chars().take(20).collect();
            return Err(ParseError::new(
                format!("segment {index}"),
                format!("{shown:?} does not start with a segment id"),
            ));
        }
        let seg = Segment {
            index,
            id,
            elements: parts.collect(),
        };
        if index == 1 && seg.elements.len() != 16 {
            return Err(ParseError::new(
                "segment 1 (ISA)",
                format!(
                    "ISA has 16 elements, this one {}: the header is not 106 characters long",
                    seg.elements.len()
                ),
            ));
        }
        out.push(seg);
    }
    Ok(out)
}

/// A date `CCYYMMDD` and a time `HHMM`, `HHMMSS` or with decimal seconds (which are dropped:
/// no carrier scan is that precise).
pub(crate) fn civil(date: &str, time: &str) -> Option<DateTime> {
    let time = time.get(..time.len().min(6))?;
    let time_fmt = match time.len() {
        4 => "%H%M",
        6 => "%H%M%S",
        _ => return None,
    };
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    timefmt::civil(date, "%Y%m%d", time, time_fmt)
}

/// What a time code (element 623) says about the clock a time was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Clock {
    /// A fixed offset: standard or daylight named explicitly, or ISO's P/M hours.
    Offset(&'static str),
    /// A zone whose offset depends on the date (`CT`: standard or daylight as the day has it).
    Zone(&'static str),
    /// `LT`, or no code at all: the local time of the place the status was at.
    Local,
}

/// The X12 time codes (element 623). `None` for a code the standard does not have.
pub(crate) fn clock(code: &str) -> Option<Clock> {
    use Clock::*;
    const ISO_EAST: [&str; 12] = [
        "+01:00", "+02:00", "+03:00", "+04:00", "+05:00", "+06:00", "+07:00", "+08:00", "+09:00",
        "+10:00", "+11:00", "+12:00",
    ];
    const ISO_WEST: [&str; 12] = [
        "-12:00", "-11:00", "-10:00", "-09:00", "-08:00", "-07:00", "-06:00", "-05:00", "-04:00",
        "-03:00", "-02:00", "-01:00",
    ];
    if code.len() == 2 && code.bytes().all(|b| b.is_ascii_digit()) {
        // 01..12 are ISO P01..P12; 13..24 are M12..M01.
        let n: usize = code.parse().ok()?;
        return match n {
            1..=12 => ISO_EAST.get(n - 1).copied().map(Offset),
            13..=24 => ISO_WEST.get(n - 13).copied().map(Offset),
            _ => None,
        };
    }
    Some(match code {
        "UT" | "GM" => Offset("+00:00"),
        "ES" => Offset("-05:00"),
        "ED" => Offset("-04:00"),
        "CS" => Offset("-06:00"),
        "CD" => Offset("-05:00"),
        "MS" => Offset("-07:00"),
        "MD" => Offset("-06:00"),
        "PS" => Offset("-08:00"),
        "PD" => Offset("-07:00"),
        "AS" => Offset("-09:00"),
        "AD" => Offset("-08:00"),
        "HS" => Offset("-10:00"),
        "HD" => Offset("-09:00"),
        "TS" => Offset("-04:00"),
        "TD" => Offset("-03:00"),
        "NS" => Offset("-03:30"),
        "ND" => Offset("-02:30"),
        "ET" => Zone("America/New_York"),
        "CT" => Zone("America/Chicago"),
        "MT" => Zone("America/Denver"),
        "PT" => Zone("America/Los_Angeles"),
        "AT" => Zone("America/Anchorage"),
        // Hawaii-Aleutian time: Hawaii, where nearly all freight goes, keeps no daylight time.
        "HT" => Zone("Pacific/Honolulu"),
        "TT" => Zone("America/Halifax"),
        "NT" => Zone("America/St_Johns"),
        "LT" => Local,
        _ => return None,
    })
}

/// The zone of a place, for a local time without a time code. US states and Canadian
/// provinces take the zone most of their area and people keep (a status in El Paso, TX is read
/// as Central: a partner in a split state must send AT707); countries only when they have a
/// single zone. `None` when the place does not say enough.
pub(crate) fn zone_of(region: Option<&str>, country: Option<&str>) -> Option<&'static str> {
    let country = country.and_then(geo::country_code);
    let region = region.map(|r| r.trim().to_ascii_uppercase());
    match (country.as_deref(), region.as_deref()) {
        (Some("US") | None, Some(r)) if us_state_zone(r).is_some() => us_state_zone(r),
        (Some("CA") | None, Some(r)) if ca_province_zone(r).is_some() => ca_province_zone(r),
        (Some(c), _) => country_zone(c),
        _ => None,
    }
}

fn us_state_zone(state: &str) -> Option<&'static str> {
    Some(match state {
        "CT" | "DE" | "DC" | "FL" | "GA" | "ME" | "MD" | "MA" | "NH" | "NJ" | "NY" | "NC"
        | "OH" | "PA" | "RI" | "SC" | "VT" | "VA" | "WV" => "America/New_York",
        "MI" => "America/Detroit",
        "IN" => "America/Indiana/Indianapolis",
        "KY" => "America/Kentucky/Louisville",
        "AL" | "AR" | "IL" | "IA" | "KS" | "LA" | "MN" | "MS" | "MO" | "NE" | "ND" | "OK"
        | "SD" | "TN" | "TX" | "WI" => "America/Chicago",
        "CO" | "MT" | "NM" | "UT" | "WY" => "America/Denver",
        "ID" => "America/Boise",
        "AZ" => "America/Phoenix",
        "CA" | "NV" | "OR" | "WA" => "America/Los_Angeles",
        "AK" => "America/Anchorage",
        "HI" => "Pacific/Honolulu",
        "PR" => "America/Puerto_Rico",
        "VI" => "America/St_Thomas",
        "GU" => "Pacific/Guam",
        _ => return None,
    })
}

fn ca_province_zone(province: &str) -> Option<&'static str> {
    Some(match province {
        "ON" | "QC" => "America/Toronto",
        "NS" | "PE" => "America/Halifax",
        "NB" => "America/Moncton",
        "NL" => "America/St_Johns",
        "MB" => "America/Winnipeg",
        "SK" => "America/Regina",
        "AB" | "NT" => "America/Edmonton",
        "BC" => "America/Vancouver",
        "YT" => "America/Whitehorse",
        "NU" => "America/Iqaluit",
        _ => return None,
    })
}

fn country_zone(country: &str) -> Option<&'static str> {
    Some(match country {
        "GB" => "Europe/London",
        "IE" => "Europe/Dublin",
        "DE" => "Europe/Berlin",
        "FR" => "Europe/Paris",
        "NL" => "Europe/Amsterdam",
        "BE" => "Europe/Brussels",
        "LU" => "Europe/Luxembourg",
        "IT" => "Europe/Rome",
        "CH" => "Europe/Zurich",
        "AT" => "Europe/Vienna",
        "PL" => "Europe/Warsaw",
        "CZ" => "Europe/Prague",
        "DK" => "Europe/Copenhagen",
        "SE" => "Europe/Stockholm",
        "NO" => "Europe/Oslo",
        "FI" => "Europe/Helsinki",
        "JP" => "Asia/Tokyo",
        "KR" => "Asia/Seoul",
        "CN" => "Asia/Shanghai",
        "HK" => "Asia/Hong_Kong",
        "TW" => "Asia/Taipei",
        "SG" => "Asia/Singapore",
        "IN" => "Asia/Kolkata",
        "VN" => "Asia/Ho_Chi_Minh",
        "TH" => "Asia/Bangkok",
        "PH" => "Asia/Manila",
        "IL" => "Asia/Jerusalem",
        "AE" => "Asia/Dubai",
        _ => return None,
    })
}

/// The instant of a status: its date and time read on the clock its time code names, or, with
/// no code or `LT`, on the clock of the place (`region`, `country`) the status was at.
pub(crate) fn instant(
    date: &str,
    time: &str,
    code: &str,
    region: Option<&str>,
    country: Option<&str>,
) -> Result<EventTime, String> {
    let civil = civil(date, time)
        .ok_or_else(|| format!("date {date:?} and time {time:?} are not CCYYMMDD and HHMM[SS]"))?;
    let clock = if code.is_empty() {
        Clock::Local
    } else {
        clock(code).ok_or_else(|| format!("time code {code:?} is not an X12 time code"))?
    };
    match clock {
        Clock::Offset(o) => timefmt::local_with_offset(civil, o),
        Clock::Zone(z) => timefmt::local_in_zone(civil, z),
        Clock::Local => {
            let zone = zone_of(region, country).ok_or_else(|| {
                format!(
                    "local time {date} {time} without a time code, and the place \
                     (region {:?}, country {:?}) does not tell which zone it is in",
                    region.unwrap_or(""),
                    country.unwrap_or("")
                )
            })?;
            timefmt::local_in_zone(civil, zone)
        }
    }
    .ok_or_else(|| format!("{date} {time} does not exist on clock {code:?}"))
}

/// Carriers by Standard Carrier Alpha Code, for the names Waypost uses elsewhere; any other
/// SCAC is kept as the carrier's name, in lower case.
pub(crate) fn carrier_from_scac(scac: &str) -> Option<String> {
    let scac = scac.trim();
    if scac.is_empty() {
        return None;
    }
    Some(
        match scac.to_ascii_uppercase().as_str() {
            "UPSN" | "UPSS" | "UPGF" => "ups",
            "FDEG" | "FDE" | "FDEN" | "FXFE" | "FDXG" => "fedex",
            "USPS" => "usps",
            "DHLC" | "DHL" | "DHLG" => "dhl",
            "CNPR" => "canadapost",
            "PRLA" => "purolator",
            other => return Some(other.to_ascii_lowercase()),
        }
        .to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_come_from_the_isa_header() {
        let doc = b"ISA|00|          |00|          |ZZ|SENDER         |ZZ|RECEIVER       |240410|1430|U|00401|000000001|0|P|^!\r\nGS|QM|S|R|20240410|1430|1|X|004010!ST|214|0001!";
        let segs = segments(doc).unwrap();
        assert_eq!(segs.len(), 3);
        assert_eq!(segs[1].el(1), "QM");
        assert_eq!(segs[2].id, "ST");
        assert_eq!(segs[2].el(9), "");
    }

    #[test]
    fn a_short_or_foreign_header_is_refused() {
        let err = segments(b"ISA*00*short~").unwrap_err();
        assert!(err.path.contains("ISA"), "{err}");
        let err = segments(b"{\"json\": true}").unwrap_err();
        assert!(err.message.contains("ISA"), "{err}");
        assert!(segments(&[0xff, 0xfe]).is_err());
    }

    #[test]
    fn time_codes() {
        assert_eq!(clock("CT"), Some(Clock::Zone("America/Chicago")));
        assert_eq!(clock("ED"), Some(Clock::Offset("-04:00")));
        assert_eq!(clock("01"), Some(Clock::Offset("+01:00")));
        assert_eq!(clock("13"), Some(Clock::Offset("-12:00")));
        assert_eq!(clock("24"), Some(Clock::Offset("-01:00")));
        assert_eq!(clock("25"), None);
        assert_eq!(clock("QQ"), None);
        // Central Time follows daylight saving; Central Standard does not.
        let summer = instant("20240710", "1200", "CT", None, None).unwrap();
        assert_eq!(summer.instant.to_string(), "2024-07-10T17:00:00Z");
        let fixed = instant("20240710", "1200", "CS", None, None).unwrap();
        assert_eq!(fixed.instant.to_string(), "2024-07-10T18:00:00Z");
        let local = instant("20240110", "083015", "LT", Some("ga"), None).unwrap();
        assert_eq!(local.instant.to_string(), "2024-01-10T13:30:15Z");
        assert!(instant("20240110", "0830", "", Some("ZZ"), Some("Atlantis")).is_err());
        assert!(instant("2024011", "0830", "UT", None, None).is_err());
        assert!(instant("20240110", "2561", "UT", None, None).is_err());
    }
}
