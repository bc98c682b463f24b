//! Translation tables for the tracking page, one TOML file per language under `i18n/`,
//! compiled in and parsed once. A missing key falls back to English, then to the key itself, so
//! a half-translated table never breaks the page (a test keeps the tables complete).

use std::collections::HashMap;
use std::sync::LazyLock;

/// The languages with a table, English first (the fallback).
pub const LANGUAGES: [&str; 4] = ["en", "de", "fr", "es"];

const SOURCES: [(&str, &str); 4] = [
    ("en", include_str!("../i18n/en.toml")),
    ("de", include_str!("../i18n/de.toml")),
    ("fr", include_str!("../i18n/fr.toml")),
    ("es", include_str!("../i18n/es.toml")),
];

/// A language's table: `section.key` → text, and the month names for dates.
#[derive(Debug, Default)]
pub(crate) struct Table {
    pub(crate) texts: HashMap<String, String>,
    pub(crate) months: Vec<String>,
}

static TABLES: LazyLock<HashMap<&'static str, Table>> = LazyLock::new(|| {
    SOURCES
        .iter()
        .map(|(lang, src)| (*lang, parse(src)))
        .collect()
});

fn parse(src: &str) -> Table {
    // The files are ours and checked by the tests; an unreadable one degrades to English.
    let value: toml::Table = toml::from_str(src).unwrap_or_default();
    let mut table = Table::default();
    for (section, entries) in &value {
        match entries {
            toml::Value::Table(entries) => {
                for (key, text) in entries {
                    if let toml::Value::String(s) = text {
                        table.texts.insert(format!("{section}.{key}"), s.clone());
                    }
                }
            }
            toml::Value::Array(items) if section == "months" => {
                table.months = items
                    .iter()
                    .filter_map(|m| m.as_str().map(str::to_owned))
                    .collect();
            }
            _ => {}
        }
    }
    table
}

pub(crate) fn table(lang: &str) -> &'static Table {
    let tables = &*TABLES;
    tables
        .get(lang)
        .or_else(|| tables.get("en"))
        .unwrap_or_else(|| {
            static EMPTY: LazyLock<Table> = LazyLock::new(Table::default);
            &EMPTY
        })
}

/// The text of `key` (`section.name`) in `lang`, else in English, else the key.
pub(crate) fn text(lang: &str, key: &str) -> String {
    table(lang)
        .texts
        .get(key)
        .or_else(|| table("en").texts.get(key))
        .cloned()
        .unwrap_or_else(|| key.to_owned())
}

/// The language to render in: `?lang=` when it names a supported language (or a regional
/// variant of one, `de-AT`), else the best of `Accept-Language` by q-value, else English.
pub fn pick_language(query_lang: Option<&str>, accept_language: Option<&str>) -> &'static str {
    if let Some(lang) = query_lang.and_then(supported) {
        return lang;
    }
    let Some(header) = accept_language else {
        return "en";
    };
    let mut best: Option<(f32, usize, &'static str)> = None;
    for (i, part) in header.split(',').enumerate() {
        let mut bits = part.split(';');
        let tag = bits.next().unwrap_or("").trim();
        let q = bits
            .filter_map(|b| b.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if q <= 0.0 {
            continue;
        }
        if let Some(lang) = supported(tag) {
            // Higher q wins; on a tie the earlier entry does.
            if best.is_none_or(|(bq, _, _)| q > bq) {
                best = Some((q, i, lang));
            }
        }
    }
    best.map_or("en", |(_, _, lang)| lang)
}

fn supported(tag: &str) -> Option<&'static str> {
    let primary = tag.split(['-', '_']).next()?.trim().to_ascii_lowercase();
    LANGUAGES.iter().copied().find(|l| *l == primary)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every canonical status of the taxonomy, and the stages and troubles of the customer view.
    pub(crate) const STATUSES: [&str; 22] = [
        "pending",
        "allocated",
        "picked",
        "packed",
        "label_created",
        "shipped",
        "in_transit",
        "out_for_delivery",
        "available_for_pickup",
        "delivered",
        "delayed",
        "attempt_failed",
        "exception",
        "on_hold",
        "backordered",
        "returning",
        "returned",
        "cancelled",
        "lost",
        "unknown",
        "partially_shipped",
        "partially_delivered",
    ];
    const STAGES: [&str; 6] = [
        "ordered",
        "processing",
        "shipped",
        "in_transit",
        "out_for_delivery",
        "delivered",
    ];
    const TROUBLES: [&str; 10] = [
        "delayed",
        "attempt_failed",
        "exception",
        "on_hold",
        "backordered",
        "returning",
        "returned",
        "cancelled",
        "lost",
        "unknown",
    ];

    #[test]
    fn every_status_stage_and_trouble_has_a_label_in_every_language() {
        for lang in LANGUAGES {
            let t = table(lang);
            for s in STATUSES {
                assert!(
                    t.texts.contains_key(&format!("status.{s}")),
                    "{lang}: status.{s}"
                );
            }
            for s in STAGES {
                assert!(
                    t.texts.contains_key(&format!("stage.{s}")),
                    "{lang}: stage.{s}"
                );
            }
            for s in TROUBLES {
                assert!(
                    t.texts.contains_key(&format!("trouble.{s}")),
                    "{lang}: trouble.{s}"
                );
            }
            assert_eq!(t.months.len(), 12, "{lang}: months");
        }
    }

    #[test]
    fn every_language_has_every_english_key() {
        let en = &table("en").texts;
        assert!(en.len() > 40);
        for lang in LANGUAGES {
            for key in en.keys() {
                assert!(table(lang).texts.contains_key(key), "{lang}: {key}");
            }
        }
    }

    #[test]
    fn translations_differ_from_english() {
        for lang in ["de", "fr", "es"] {
            assert_ne!(text(lang, "ui.heading"), text("en", "ui.heading"), "{lang}");
        }
    }

    #[test]
    fn the_query_wins_then_accept_language_then_english() {
        assert_eq!(pick_language(Some("de"), Some("fr")), "de");
        assert_eq!(pick_language(Some("es-MX"), None), "es");
        assert_eq!(pick_language(Some("xx"), Some("fr-CA,fr;q=0.9")), "fr");
        assert_eq!(pick_language(None, Some("ja, de;q=0.5, es;q=0.8")), "es");
        assert_eq!(pick_language(None, Some("de;q=0, fr;q=0.1")), "fr");
        assert_eq!(pick_language(None, Some("ja, zh")), "en");
        assert_eq!(pick_language(None, None), "en");
        assert_eq!(pick_language(Some(""), Some("")), "en");
        assert_eq!(pick_language(Some("DE"), None), "de");
    }

    #[test]
    fn an_unknown_language_reads_english() {
        assert_eq!(
            text("xx", "status.delivered"),
            text("en", "status.delivered")
        );
        assert_eq!(text("en", "no.such_key"), "no.such_key");
    }
}
