//! The declarative engine over data: no panic and bounded work on arbitrary and mutated
//! documents for every shipped format, and each format's labelled corpus normalized exactly.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::MappingTable;
use proptest::prelude::*;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use waypost_domain::{EventTime, Location, Reason, SourceName, Status};

// ---------------------------------------------------------------------------------------------
// Robustness: no panic, bounded time and output, on arbitrary bytes and on mutated corpus
// documents, for every shipped format.

fn corpus_dir(source: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(source)
}

fn documents(source: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(corpus_dir(source)) else {
        return Vec::new();
    };
    let mut docs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            p.is_file() && !n.starts_with('.') && (n.ends_with(".json") || n.ends_with(".xml"))
        })
        .collect();
    docs.sort();
    docs
}

fn robust(f: &Format, doc: &[u8]) -> Result<(), TestCaseError> {
    let start = Instant::now();
    let r = f.parse(doc);
    prop_assert!(
        start.elapsed() < Duration::from_secs(2),
        "slow: {} bytes",
        doc.len()
    );
    match r {
        Ok(p) => prop_assert!(p.observations.len() + p.unreadable.len() <= doc.len().max(1)),
        Err(e) => prop_assert!(!e.message.trim().is_empty()),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(doc in proptest::collection::vec(any::<u8>(), 0..2048)) {
        for f in builtin_formats().iter().map(|d| &d.format) {
            robust(f, &doc)?;
        }
    }

    #[test]
    fn mutated_corpus_documents_never_panic(
        pick in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        len in 0usize..64,
        insert in proptest::collection::vec(
            prop::sample::select(vec![&b"{"[..], b"}", b"[", b"]", b"\"", b",", b"null", b"{}",
                b"<a>", b"</a>", b"<", b"&amp;", b"\xff", b"\xc3\xa9", b"0", b"-", b":", b"[*]"]),
            0..8),
    ) {
        for f in builtin_formats().iter().map(|d| &d.format) {
            let docs = documents(&f.source);
            if docs.is_empty() {
                continue;
            }
            let mut doc = std::fs::read(pick.get(&docs)).unwrap();
            let i = at.index(doc.len() + 1);
            let end = (i + len).min(doc.len());
            let mut spliced: Vec<u8> = insert.concat();
            spliced.extend_from_slice(&doc[end..]);
            doc.truncate(i);
            doc.extend_from_slice(&spliced);
            robust(f, &doc)?;
        }
    }
}

#[test]
fn deep_and_wide_documents_stay_bounded() {
    for f in builtin_formats().iter().map(|d| &d.format) {
        for doc in [
            "[".repeat(100_000).into_bytes(),
            "{\"a\":".repeat(100_000).into_bytes(),
            "<a>".repeat(100_000).into_bytes(),
            format!("[{}0]", "0,".repeat(200_000)).into_bytes(),
            format!("<r>{}</r>", "<e/>".repeat(100_000)).into_bytes(),
        ] {
            robust(f, &doc).unwrap();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The labelled corpus of every shipped format (same label shape as `tests/corpus.rs`).

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Label {
    status: Status,
    reason: Option<Reason>,
    occurred_at: EventTime,
    tracking_number: Option<String>,
    #[serde(default)]
    order_id: Option<String>,
    location: Option<Location>,
    raw_code: String,
}

#[derive(Deserialize)]
struct Origin {
    follows: Vec<Follows>,
}

#[derive(Deserialize)]
struct Follows {
    project: String,
    path: String,
    commit: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    kept: Vec<String>,
}

/// The document's origin file names a real document (the rule of `tests/corpus.rs`).
fn check_origin(path: &std::path::Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("no origin file ({e})"))?;
    let o: Origin = toml::from_str(&text).map_err(|e| e.to_string())?;
    if o.follows.is_empty() {
        return Err("names no document it follows".into());
    }
    for f in &o.follows {
        let hex40 = f.commit.len() == 40 && f.commit.bytes().all(|b| b.is_ascii_hexdigit());
        let page = f.commit.is_empty() && f.url.starts_with("http");
        if f.project.trim().is_empty() || f.path.trim().is_empty() || !(hex40 || page) {
            return Err(
                "each [[follows]] needs project, path, and a 40-hex commit or a url".into(),
            );
        }
        if f.note.trim().is_empty() && f.kept.is_empty() {
            return Err("say which example it follows (note) or which traits it keeps".into());
        }
    }
    Ok(())
}

#[test]
fn every_shipped_format_normalizes_its_corpus_exactly() {
    let mut failures = Vec::new();
    for f in builtin_formats().iter().map(|d| &d.format) {
        let text = builtin_table_text(&f.source).unwrap();
        let table =
            MappingTable::from_toml(&format!("mappings/{}.toml", f.source), &f.source, text)
                .unwrap();
        let name = SourceName::new(f.source.as_str()).unwrap();
        let docs = documents(&f.source);
        if docs.is_empty() {
            failures.push(format!("{}: no corpus", f.source));
        }
        let mut seen = BTreeSet::new();
        let mut patterns_seen = BTreeSet::new();
        let mut reasons_seen = BTreeSet::new();
        let (mut right, mut total) = (0, 0);
        for doc in &docs {
            let stem = doc.file_stem().unwrap().to_str().unwrap();
            let labels = doc.with_file_name(format!("{stem}.expected.jsonl"));
            let origin = doc.with_file_name(format!("{stem}.origin.toml"));
            if let Err(e) = check_origin(&origin) {
                failures.push(format!("{}: {e}", origin.display()));
            }
            let want: Vec<Label> = std::fs::read_to_string(&labels)
                .unwrap_or_else(|e| panic!("{}: {e}", labels.display()))
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
                .collect();
            let parsed = match f.parse(&std::fs::read(doc).unwrap()) {
                Ok(p) => p,
                Err(e) => {
                    failures.push(format!("{}: {e}", doc.display()));
                    continue;
                }
            };
            for u in &parsed.unreadable {
                failures.push(format!("{}: unreadable {u}", doc.display()));
            }
            total += want.len().max(parsed.observations.len());
            if want.len() != parsed.observations.len() {
                failures.push(format!(
                    "{}: {} events, labels say {}",
                    doc.display(),
                    parsed.observations.len(),
                    want.len()
                ));
            }
            for (i, (o, w)) in parsed.observations.into_iter().zip(&want).enumerate() {
                let n = match o.into_event(&name, &table) {
                    Ok(n) => n,
                    Err(e) => {
                        failures.push(format!("{} event {i}: {e}", doc.display()));
                        continue;
                    }
                };
                seen.insert(n.mapping_key.clone());
                if let Some(r) = &n.reason_key {
                    reasons_seen.insert(r.clone());
                }
                if let Some(i) = table
                    .rule(&n.mapping_key, n.event.raw_description.as_deref())
                    .and_then(|r| r.pattern)
                {
                    patterns_seen.insert(i);
                }
                let e = &n.event;
                let mut wrong = Vec::new();
                if e.status != w.status {
                    wrong.push(format!("status {} != {}", e.status, w.status));
                }
                if e.reason != w.reason {
                    wrong.push(format!("reason {:?} != {:?}", e.reason, w.reason));
                }
                if e.occurred_at.instant != w.occurred_at.instant {
                    wrong.push(format!("at {} != {}", e.occurred_at, w.occurred_at));
                }
                if e.tracking_number.as_ref().map(|t| t.as_str()) != w.tracking_number.as_deref() {
                    wrong.push(format!("tracking {:?}", e.tracking_number));
                }
                if let Some(o) = &w.order_id
                    && e.order_id.as_str() != o
                {
                    wrong.push(format!("order {} != {o}", e.order_id));
                }
                if e.location != w.location {
                    wrong.push(format!("location {:?} != {:?}", e.location, w.location));
                }
                if e.raw_code.as_deref() != Some(w.raw_code.as_str()) {
                    wrong.push(format!("raw_code {:?} != {:?}", e.raw_code, w.raw_code));
                }
                if wrong.is_empty() {
                    right += 1;
                } else {
                    failures.push(format!("{} event {i}: {}", doc.display(), wrong.join("; ")));
                }
            }
        }
        let missing: Vec<_> = table.codes.keys().filter(|k| !seen.contains(*k)).collect();
        if !missing.is_empty() {
            failures.push(format!(
                "{}: codes never seen in the corpus: {missing:?}",
                f.source
            ));
        }
        let missing: Vec<_> = table
            .reasons
            .keys()
            .filter(|k| !reasons_seen.contains(*k))
            .collect();
        if !missing.is_empty() {
            failures.push(format!(
                "{}: reason codes never seen in the corpus: {missing:?}",
                f.source
            ));
        }
        let unused: Vec<_> = (0..table.patterns.len())
            .filter(|i| !patterns_seen.contains(i))
            .map(|i| table.patterns[i].text.source())
            .collect();
        if !unused.is_empty() {
            failures.push(format!(
                "{}: patterns no corpus event matched: {unused:?}",
                f.source
            ));
        }
        println!(
            "{:<10} {:>3} documents {:>4} events {right} right",
            f.source,
            docs.len(),
            total
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
