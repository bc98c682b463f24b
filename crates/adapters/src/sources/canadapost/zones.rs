//! Canadian carriers' zone abbreviations and provinces. Canada Post names a zone per event
//! (`EDT`, `HNE`: an exact offset, read here), sometimes a country, sometimes nothing; Purolator
//! names only a depot. When no exact offset is given the parsers give the event its place
//! (province, postal code, country) and normalization takes the zone from it: never a default.

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
    province_code(code).is_some()
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
        assert_eq!(province_code("pq"), Some("QC"));
        assert!(is_province("NL") && !is_province("NY"));
    }
}
