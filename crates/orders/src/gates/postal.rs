//! Postal code shapes by country, from the data table `data/postal.toml` (sources in
//! `data/SOURCES.md`). Templates, not regular expressions: `9` a digit, `A` a letter, any other
//! character itself; simple enough to read in the table and to match in linear time.

use std::collections::BTreeMap;
use std::sync::OnceLock;

const TABLE: &str = include_str!("../../data/postal.toml");

fn table() -> &'static BTreeMap<String, Vec<String>> {
    static PARSED: OnceLock<BTreeMap<String, Vec<String>>> = OnceLock::new();
    // The table is compiled in and a test parses it, so the fallback never shows in practice;
    // an empty table only makes every country "unknown" (pass with a note), never a panic.
    PARSED.get_or_init(|| toml::from_str(TABLE).unwrap_or_default())
}

/// The templates for `country` (ISO 3166-1 alpha-2, upper case), or `None` when the table
/// does not list it.
pub fn postal_templates(country: &str) -> Option<&'static [String]> {
    table().get(country).map(Vec::as_slice)
}

/// Whether `code` has one of the shapes of `templates`. Case is ignored; a template's spaces
/// may be left out of the code (`sw1a1aa`), but no other character is.
pub fn postal_matches(code: &str, templates: &[String]) -> bool {
    let code = code.trim().to_ascii_uppercase();
    let squeezed: String = code.chars().filter(|c| *c != ' ').collect();
    templates.iter().any(|t| {
        fits(&code, t)
            || (t.contains(' ')
                && fits(
                    &squeezed,
                    &t.chars().filter(|c| *c != ' ').collect::<String>(),
                ))
    })
}

fn fits(code: &str, template: &str) -> bool {
    code.chars().count() == template.chars().count()
        && code.chars().zip(template.chars()).all(|(c, t)| match t {
            '9' => c.is_ascii_digit(),
            'A' => c.is_ascii_uppercase(),
            other => c == other,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_parses_and_lists_iso2_countries() {
        let t: BTreeMap<String, Vec<String>> = toml::from_str(TABLE).expect("postal.toml parses");
        assert!(t.len() >= 20, "{} countries", t.len());
        for (c, templates) in &t {
            assert!(
                c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()),
                "{c}"
            );
            assert!(!templates.is_empty(), "{c}");
        }
    }

    #[test]
    fn shapes() {
        let us = postal_templates("US").expect("US");
        for ok in ["20500", "20500-0003", "205000003"] {
            assert!(postal_matches(ok, us), "{ok}");
        }
        for bad in ["2050", "20500-03", "ABCDE", "20500 0003"] {
            assert!(!postal_matches(bad, us), "{bad}");
        }
        let ca = postal_templates("CA").expect("CA");
        assert!(postal_matches("K1A 0B1", ca));
        assert!(postal_matches("k1a0b1", ca));
        assert!(!postal_matches("K1A-0B1", ca));
        let gb = postal_templates("GB").expect("GB");
        for ok in [
            "SW1A 1AA", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT", "W1A 0AX",
        ] {
            assert!(postal_matches(ok, gb), "{ok}");
        }
        assert!(!postal_matches("SW1A", gb));
        let nl = postal_templates("NL").expect("NL");
        assert!(postal_matches("1012 AB", nl) && postal_matches("1012AB", nl));
        assert!(postal_templates("ZZ").is_none());
    }
}
