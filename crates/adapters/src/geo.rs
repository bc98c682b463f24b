//! Locations as vendors write them, normalized: country to ISO 3166-1 alpha-2 (from a name,
//! alpha-3 or alpha-2, via the `celes` crate's ISO 3166 table, MIT/Apache-2.0), region codes and
//! postal codes upper-cased, shouting city names (`NEW YORK`) put in title case, empty fields
//! dropped.

use std::str::FromStr;
use std::sync::OnceLock;
use waypost_domain::Location;

/// ISO 3166-1 alpha-2 for a country as a vendor wrote it: `US`, `USA`, `United States`,
/// `united kingdom`, `GB`. `None` when no country matches: the caller keeps nothing rather than
/// a wrong country.
pub fn country_code(s: &str) -> Option<String> {
    let s = s.trim();
    if s.is_empty() || s.len() > 64 {
        return None;
    }
    // Fast path for what almost every carrier sends, an alpha-2 code: no allocation but the
    // result. Anything it does not settle takes the general path below, unchanged.
    if let [a, b] = s.as_bytes()
        && a.is_ascii_alphabetic()
        && b.is_ascii_alphabetic()
    {
        let upper = [a.to_ascii_uppercase(), b.to_ascii_uppercase()];
        let index = usize::from(upper[0] - b'A') * 26 + usize::from(upper[1] - b'A');
        if upper != *b"UK"
            && let Some(Some(alpha2)) = alpha2_table().get(index)
        {
            return Some((*alpha2).to_owned());
        }
    }
    // Common spellings the ISO short names do not cover.
    let alias = match s.to_ascii_uppercase().as_str() {
        "UK" | "UNITED KINGDOM" | "GREAT BRITAIN" | "ENGLAND" | "SCOTLAND" | "WALES"
        | "NORTHERN IRELAND" => Some("GB"),
        "USA" | "U.S.A." | "U.S." | "UNITED STATES" | "UNITED STATES OF AMERICA" => Some("US"),
        _ => None,
    };
    if let Some(a) = alias {
        return Some(a.to_owned());
    }
    let upper = s.to_ascii_uppercase();
    let country = if upper.len() == 2 {
        celes::Country::from_alpha2(&upper).ok()
    } else if upper.len() == 3 && upper.chars().all(|c| c.is_ascii_alphabetic()) {
        celes::Country::from_alpha3(&upper).ok()
    } else {
        None
    }
    .or_else(|| celes::Country::from_str(s).ok())
    .or_else(|| celes::Country::from_str(&s.replace([' ', '-'], "")).ok())?;
    Some(country.alpha2.to_owned())
}

/// celes' answer for every pair of letters `AA`..`ZZ`, worked out once: the alpha-2 fast path is
/// then a table read instead of a case-folding perfect-hash lookup per address.
fn alpha2_table() -> &'static [Option<&'static str>; 26 * 26] {
    static TABLE: OnceLock<[Option<&'static str>; 26 * 26]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = [None; 26 * 26];
        for (first, row) in (b'A'..=b'Z').zip(table.chunks_mut(26)) {
            for (second, slot) in (b'A'..=b'Z').zip(row) {
                if let Ok(code) = std::str::from_utf8(&[first, second])
                    && let Ok(c) = celes::Country::from_alpha2(code)
                {
                    *slot = Some(c.alpha2);
                }
            }
        }
        table
    })
}

/// A location from its parts; `None` when every part is empty.
pub fn location(
    city: Option<&str>,
    region: Option<&str>,
    postal_code: Option<&str>,
    country: Option<&str>,
) -> Option<Location> {
    let clean = |s: Option<&str>| s.map(squeeze_spaces).filter(|s| !s.is_empty());
    let loc = Location {
        city: clean(city).map(|c| {
            if c.chars().any(char::is_lowercase) {
                c
            } else {
                city_case(&c)
            }
        }),
        region: clean(region).map(|mut r| {
            if r.len() <= 3 {
                r.make_ascii_uppercase();
            }
            r
        }),
        postal_code: clean(postal_code).map(|mut p| {
            p.make_ascii_uppercase();
            p
        }),
        country: country.and_then(country_code),
        lat: None,
        lon: None,
    };
    if loc.city.is_none()
        && loc.region.is_none()
        && loc.postal_code.is_none()
        && loc.country.is_none()
    {
        None
    } else {
        Some(loc)
    }
}

/// Locations already built from the same parts, for a document that names a few places over and
/// over (a tracking history passes a handful of facilities, each scan repeating the address).
/// The parts are compared as written and [`location`] is a function of them alone, so a hit gives
/// exactly what building it again would.
pub struct LocationCache<'a> {
    seen: Vec<([Option<&'a str>; 4], Option<Location>)>,
}

impl<'a> LocationCache<'a> {
    /// Enough for one history; past it places are built uncached, so a document naming thousands
    /// of places costs a bounded scan more per lookup, never a growing one.
    const CAPACITY: usize = 16;

    pub fn new() -> Self {
        LocationCache { seen: Vec::new() }
    }

    /// [`location`], remembered.
    pub fn location(
        &mut self,
        city: Option<&'a str>,
        region: Option<&'a str>,
        postal_code: Option<&'a str>,
        country: Option<&'a str>,
    ) -> Option<Location> {
        let key = [city, region, postal_code, country];
        if let Some((_, hit)) = self.seen.iter().find(|(k, _)| *k == key) {
            return hit.clone();
        }
        let built = location(city, region, postal_code, country);
        if self.seen.len() < Self::CAPACITY {
            self.seen.push((key, built.clone()));
        }
        built
    }
}

impl Default for LocationCache<'_> {
    fn default() -> Self {
        Self::new()
    }
}

/// Words separated by single spaces, ends trimmed. Usually the text is already like that and is
/// copied once; only text with runs of spaces, tabs or other white space is split and joined.
fn squeeze_spaces(s: &str) -> String {
    let t = s.trim();
    let mut prev_space = false;
    let simple = t.chars().all(|c| {
        let ok = !c.is_whitespace() || (c == ' ' && !prev_space);
        prev_space = c == ' ';
        ok
    });
    if simple {
        t.to_owned()
    } else {
        t.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// `NEW YORK` -> `New York`, `ST. LOUIS` -> `St. Louis`; a name with any lower case letter is
/// left as the vendor wrote it (`McAllen` stays).
pub fn city_case(s: &str) -> String {
    if s.chars().any(char::is_lowercase) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    if s.is_ascii() {
        // The same rule a byte at a time: for ASCII, `is_alphabetic` and the case mappings
        // are the ASCII ones, and this runs for most scans of most carriers.
        for b in s.bytes() {
            if b.is_ascii_alphabetic() {
                let b = if start {
                    b.to_ascii_uppercase()
                } else {
                    b.to_ascii_lowercase()
                };
                out.push(char::from(b));
                start = false;
            } else {
                out.push(char::from(b));
                start = matches!(b, b' ' | b'-' | b'/' | b'(');
            }
        }
        return out;
    }
    for c in s.chars() {
        if c.is_alphabetic() {
            if start {
                out.extend(c.to_uppercase());
            } else {
                out.extend(c.to_lowercase());
            }
            start = false;
        } else {
            out.push(c);
            start = c == ' ' || c == '-' || c == '/' || c == '(';
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_in_their_many_spellings() {
        for (given, want) in [
            ("US", "US"),
            ("us", "US"),
            ("USA", "US"),
            ("United States", "US"),
            ("CAN", "CA"),
            ("Canada", "CA"),
            ("GB", "GB"),
            ("United Kingdom", "GB"),
            ("UK", "GB"),
            ("DEU", "DE"),
            ("Germany", "DE"),
            ("AU", "AU"),
        ] {
            assert_eq!(country_code(given).as_deref(), Some(want), "{given}");
        }
        assert_eq!(country_code("Atlantis"), None);
        assert_eq!(country_code(""), None);
    }

    #[test]
    fn locations_are_cleaned() {
        let l = location(
            Some("  NEW   YORK "),
            Some("ny"),
            Some("10001"),
            Some("USA"),
        )
        .unwrap();
        assert_eq!(l.city.as_deref(), Some("New York"));
        assert_eq!(l.region.as_deref(), Some("NY"));
        assert_eq!(l.country.as_deref(), Some("US"));
        assert_eq!(city_case("ST. LOUIS"), "St. Louis");
        assert_eq!(city_case("WINSTON-SALEM"), "Winston-Salem");
        assert_eq!(city_case("McAllen"), "McAllen");
        assert_eq!(
            city_case("KÖLN-ÜBERSEE (OST)/NORD"),
            "Köln-Übersee (Ost)/Nord"
        );
        assert_eq!(city_case("O'HARE 2ND ST.(A)"), "O'hare 2nd St.(A)");
        assert!(location(Some(" "), None, Some(""), None).is_none());
        for (given, want) in [
            ("a b", "a b"),
            (" a  b ", "a b"),
            ("a\tb", "a b"),
            ("a \u{a0}b", "a b"),
            ("", ""),
        ] {
            assert_eq!(squeeze_spaces(given), want, "{given:?}");
        }
        assert_eq!(country_code("uk").as_deref(), Some("GB"));
        assert_eq!(country_code("de").as_deref(), Some("DE"));
        assert_eq!(country_code("XX"), None);
    }

    #[test]
    fn the_alpha2_table_agrees_with_celes() {
        for a in b'a'..=b'z' {
            for b in b'A'..=b'Z' {
                let code = String::from_utf8(vec![a, b]).unwrap();
                let upper = code.to_ascii_uppercase();
                let want = match upper.as_str() {
                    "UK" => Some("GB".to_owned()),
                    _ => celes::Country::from_alpha2(&upper)
                        .ok()
                        .map(|c| c.alpha2.to_owned()),
                };
                assert_eq!(country_code(&code), want, "{code}");
            }
        }
    }

    #[test]
    fn the_cache_gives_what_building_gives() {
        let mut cache = LocationCache::new();
        let parts = [
            [Some("NEW  YORK"), Some("ny"), Some("10001"), Some("USA")],
            [Some("NEW YORK"), Some("ny"), Some("10001"), Some("USA")],
            [None, None, None, Some("Atlantis")],
            [Some("Köln"), None, Some("51147"), Some("de")],
        ];
        for round in 0..3 {
            for [c, r, p, k] in parts {
                assert_eq!(cache.location(c, r, p, k), location(c, r, p, k), "{round}");
            }
        }
        let names: Vec<String> = (0..40).map(|i| format!("City {i}")).collect();
        for n in names.iter().chain(&names) {
            let want = location(Some(n), None, None, Some("US"));
            assert_eq!(cache.location(Some(n), None, None, Some("US")), want);
        }
    }
}
