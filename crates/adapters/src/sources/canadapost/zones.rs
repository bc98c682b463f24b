//! Where Canadian carriers' local times sit. Canada Post names a zone per event (`EDT`, `HNE`,
//! sometimes a country, sometimes nothing); Purolator names only a depot. Both are turned into
//! exact offsets here, from the zone the vendor names or, failing that, from the province or
//! country the event happened in: never from a default.

use jiff::tz::Offset;

/// A zone abbreviation as Canada Post writes it, English or French, to its fixed offset. The
/// abbreviation already says whether daylight time applied, so no zone rules are involved.
pub(crate) fn abbreviation_offset(abbr: &str) -> Option<Offset> {
    let minutes = match abbr.trim().to_ascii_uppercase().as_str() {
        "NST" | "HNT" => -210,
        "NDT" | "HAT" => -150,
        "AST" | "HNA" => -240,
        "ADT" | "HAA" => -180,
        "EST" | "HNE" => -300,
        "EDT" | "HAE" => -240,
        "CST" | "HNC" => -360,
        "CDT" | "HAC" => -300,
        "MST" | "HNR" => -420,
        "MDT" | "HAR" => -360,
        "PST" | "HNP" => -480,
        "PDT" | "HAP" => -420,
        "AKST" => -540,
        "AKDT" => -480,
        "HST" => -600,
        "GMT" | "UTC" | "UT" | "Z" => 0,
        _ => return None,
    };
    Offset::from_seconds(minutes * 60).ok()
}

/// The IANA zone of a Canadian province or territory (its most populous zone: parts of
/// Ontario, Quebec and BC differ, but carriers' facilities sit in these).
pub(crate) fn province_zone(code: &str) -> Option<&'static str> {
    Some(match code.trim().to_ascii_uppercase().as_str() {
        "NL" => "America/St_Johns",
        "NS" | "PE" => "America/Halifax",
        "NB" => "America/Moncton",
        "QC" | "ON" => "America/Toronto",
        "MB" => "America/Winnipeg",
        "SK" => "America/Regina",
        "AB" => "America/Edmonton",
        "BC" => "America/Vancouver",
        "YT" => "America/Whitehorse",
        "NT" => "America/Yellowknife",
        "NU" => "America/Iqaluit",
        _ => return None,
    })
}

/// A province or territory code as Canadian carriers write it, as today's two-letter code:
/// Purolator still names Quebec depots `PQ`, older feeds write Newfoundland `NF`.
pub(crate) fn province_code(code: &str) -> Option<&'static str> {
    const CODES: [&str; 13] = [
        "NL", "NS", "PE", "NB", "QC", "ON", "MB", "SK", "AB", "BC", "YT", "NT", "NU",
    ];
    let upper = code.trim().to_ascii_uppercase();
    match upper.as_str() {
        "PQ" => Some("QC"),
        "NF" => Some("NL"),
        u => CODES.iter().find(|c| **c == u).copied(),
    }
}

pub(crate) fn is_province(code: &str) -> bool {
    province_zone(code).is_some()
}

/// The province of a Canadian postal code, from its first letter (Canada Post's forward
/// sortation areas). `X` covers both NT and NU; it is given as NT, whose zone rules match
/// Iqaluit's only in part, so it is refused instead.
pub(crate) fn postal_province(postal: &str) -> Option<&'static str> {
    Some(match postal.trim().chars().next()?.to_ascii_uppercase() {
        'A' => "NL",
        'B' => "NS",
        'C' => "PE",
        'E' => "NB",
        'G' | 'H' | 'J' => "QC",
        'K' | 'L' | 'M' | 'N' | 'P' => "ON",
        'R' => "MB",
        'S' => "SK",
        'T' => "AB",
        'V' => "BC",
        'Y' => "YT",
        _ => return None,
    })
}

/// The zone of a country that keeps one civil time throughout, by ISO alpha-2. Countries with
/// several zones (US, AU, BR, MX, RU...) are absent on purpose: the country alone does not say
/// which.
pub(crate) fn single_zone_country(alpha2: &str) -> Option<&'static str> {
    Some(match alpha2 {
        "GB" => "Europe/London",
        "IE" => "Europe/Dublin",
        "FR" => "Europe/Paris",
        "DE" => "Europe/Berlin",
        "NL" => "Europe/Amsterdam",
        "BE" => "Europe/Brussels",
        "LU" => "Europe/Luxembourg",
        "IT" => "Europe/Rome",
        "CH" => "Europe/Zurich",
        "AT" => "Europe/Vienna",
        "SE" => "Europe/Stockholm",
        "NO" => "Europe/Oslo",
        "DK" => "Europe/Copenhagen",
        "FI" => "Europe/Helsinki",
        "PL" => "Europe/Warsaw",
        "CZ" => "Europe/Prague",
        "HU" => "Europe/Budapest",
        "GR" => "Europe/Athens",
        "IS" => "Atlantic/Reykjavik",
        "IL" => "Asia/Jerusalem",
        "AE" => "Asia/Dubai",
        "IN" => "Asia/Kolkata",
        "CN" => "Asia/Shanghai",
        "HK" => "Asia/Hong_Kong",
        "TW" => "Asia/Taipei",
        "JP" => "Asia/Tokyo",
        "KR" => "Asia/Seoul",
        "SG" => "Asia/Singapore",
        "TH" => "Asia/Bangkok",
        "PH" => "Asia/Manila",
        "ZA" => "Africa/Johannesburg",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abbreviations_in_both_languages() {
        assert_eq!(
            abbreviation_offset("EDT").map(|o| o.seconds()),
            Some(-4 * 3600)
        );
        assert_eq!(
            abbreviation_offset("hne").map(|o| o.seconds()),
            Some(-5 * 3600)
        );
        assert_eq!(
            abbreviation_offset("NST").map(|o| o.seconds()),
            Some(-12600)
        );
        assert!(abbreviation_offset("XYZ").is_none());
        assert_eq!(postal_province("K1A 0B1"), Some("ON"));
        assert_eq!(postal_province("X0A 0H0"), None);
    }
}
