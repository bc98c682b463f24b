//! Place names as comparable keys: carriers write "ST. LOUIS", GeoNames "St. Louis"; DHL "KOELN",
//! GeoNames "Köln". Both sides of a comparison go through [`key`], so the gazetteer's index and
//! the lookups agree by construction.

/// Longest input considered, in characters: a carrier's city field is a few dozen; anything
/// longer is noise and would only make the work per lookup unbounded.
const MAX_CHARS: usize = 128;

/// The comparable form of a place name: ASCII lower case, diacritics folded, punctuation and
/// spaces removed, and the abbreviations carriers use for the common prefixes spelled out.
pub(crate) fn key(name: &str) -> String {
    let mut folded = String::with_capacity(name.len());
    for c in name.chars().take(MAX_CHARS) {
        if c.is_ascii() {
            folded.push(c.to_ascii_lowercase());
        } else if let Some(s) = deunicode::deunicode_char(c) {
            folded.extend(s.chars().map(|c| c.to_ascii_lowercase()));
        }
    }
    let mut out = String::with_capacity(folded.len());
    for token in folded
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
    {
        out.push_str(expand(token));
    }
    out
}

/// "St" is "Saint" (or German "Sankt": both become the same key, "St. Gallen" = "Sankt Gallen").
fn expand(token: &str) -> &str {
    match token {
        "st" | "sankt" => "saint",
        "ste" => "sainte",
        "ft" => "fort",
        "mt" => "mount",
        other => other,
    }
}

/// German transcriptions without umlauts ("KOELN", "MUENCHEN") fold to the umlaut's base letter,
/// as [`key`] folds "ö" to "o". Only tried when the key as written finds nothing, since "ue" is
/// also ordinary spelling ("Duluth" is safe, "Puebla" is not).
pub(crate) fn without_umlaut_digraphs(key: &str) -> Option<String> {
    if !(key.contains("ae") || key.contains("oe") || key.contains("ue")) {
        return None;
    }
    Some(key.replace("ae", "a").replace("oe", "o").replace("ue", "u"))
}

/// A 64-bit hash of a country and a key. The index keeps hashes, not the keys themselves:
/// with ~140,000 names the chance that two distinct names share a hash is about 1e-9.
pub(crate) fn hash(country: [u8; 2], key: &str) -> u64 {
    // FNV-1a, then a splitmix64 finaliser to spread FNV's weak low bits.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in country.iter().chain([b'|'].iter()).chain(key.as_bytes()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_diacritics_and_punctuation() {
        assert_eq!(key("Köln"), "koln");
        assert_eq!(key("KOLN"), "koln");
        assert_eq!(key("Łódź"), "lodz");
        assert_eq!(key("Montréal"), "montreal");
        assert_eq!(key("Düsseldorf"), key("DUSSELDORF"));
        assert_eq!(key("Washington, D.C."), "washingtondc");
        assert_eq!(key("Winston-Salem"), key("WINSTON SALEM"));
        assert_eq!(key("  o'fallon "), "ofallon");
    }

    #[test]
    fn abbreviations_are_spelled_out() {
        assert_eq!(key("St. Louis"), key("SAINT LOUIS"));
        assert_eq!(key("ST LOUIS"), "saintlouis");
        assert_eq!(key("Ste-Foy"), key("Sainte Foy"));
        assert_eq!(key("Ft. Worth"), key("Fort Worth"));
        assert_eq!(key("Mt Vernon"), key("Mount Vernon"));
        assert_eq!(key("Sankt Gallen"), key("St. Gallen"));
        // "San" is its own word ("San Jose"), never "Saint".
        assert_eq!(key("San Jose"), "sanjose");
        // Only whole tokens: "Stuttgart" keeps its "st".
        assert_eq!(key("Stuttgart"), "stuttgart");
    }

    #[test]
    fn umlaut_digraphs() {
        assert_eq!(
            without_umlaut_digraphs(&key("KOELN")).as_deref(),
            Some("koln")
        );
        assert_eq!(
            without_umlaut_digraphs(&key("MUENCHEN")).as_deref(),
            Some("munchen")
        );
        assert_eq!(without_umlaut_digraphs("memphis"), None);
    }

    #[test]
    fn long_input_is_cut() {
        let long = "a".repeat(10_000);
        assert_eq!(key(&long).len(), MAX_CHARS);
    }

    #[test]
    fn hash_separates_countries() {
        assert_ne!(hash(*b"US", "paris"), hash(*b"FR", "paris"));
        assert_eq!(hash(*b"FR", "paris"), hash(*b"FR", "paris"));
    }
}
