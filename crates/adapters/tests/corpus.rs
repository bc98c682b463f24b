//! The labelled corpus: every document under `corpus/<source>/` is normalized and compared, event
//! by event, with the labels written by hand beside it (`<name>.expected.jsonl`, one canonical
//! event per line in document order). Status, reason, instant, location, tracking number and raw
//! code must all match; the accuracy per source is printed and anything under 100 % fails.
//! Every code of every shipped table must appear somewhere in its source's corpus.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde::Deserialize;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use waypost_adapters::{Source, normalize};
use waypost_domain::{EventTime, Location, Reason, Status};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Label {
    status: Status,
    reason: Option<Reason>,
    /// With the offset the vendor implies; compared as an instant.
    occurred_at: EventTime,
    tracking_number: Option<String>,
    #[serde(default)]
    order_id: Option<String>,
    location: Option<Location>,
    raw_code: String,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

/// `(document, labels)` pairs of one source.
fn documents(source: Source) -> Vec<(PathBuf, PathBuf)> {
    let dir = corpus_dir().join(source.name());
    let Ok(entries) = fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut docs: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            !name.ends_with(".expected.jsonl") && !name.starts_with('.') && p.is_file()
        })
        .collect();
    docs.sort();
    docs.into_iter()
        .map(|d| {
            let stem = d.file_stem().unwrap().to_str().unwrap().to_owned();
            let labels = d.with_file_name(format!("{stem}.expected.jsonl"));
            (d, labels)
        })
        .collect()
}

#[test]
fn every_source_normalizes_its_corpus_exactly() {
    let mut failures = Vec::new();
    let mut report = Vec::new();
    // CORPUS_SOURCES=ups,fedex narrows the run while a source is being written.
    let only = std::env::var("CORPUS_SOURCES").ok();
    for source in Source::ALL {
        if let Some(only) = &only
            && !only.split(',').any(|s| s.trim() == source.name())
        {
            continue;
        }
        let table = source.builtin_table().unwrap();
        let docs = documents(source);
        let (mut right, mut total) = (0usize, 0usize);
        let mut keys_seen = BTreeSet::new();
        let mut reasons_seen = BTreeSet::new();
        for (doc, labels) in &docs {
            let bytes = fs::read(doc).unwrap();
            let text = fs::read_to_string(labels)
                .unwrap_or_else(|e| panic!("{}: no labels: {e}", labels.display()));
            let want: Vec<Label> = text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| {
                    serde_json::from_str(l)
                        .unwrap_or_else(|e| panic!("{}: {e}: {l}", labels.display()))
                })
                .collect();
            let got = match normalize(source, &bytes, &table) {
                Ok(got) => got,
                Err(e) => {
                    total += want.len().max(1);
                    failures.push(format!("{}: {e}", doc.display()));
                    continue;
                }
            };
            for n in &got {
                keys_seen.insert(n.mapping_key.clone());
                if let Some(r) = &n.reason_key {
                    reasons_seen.insert(r.clone());
                }
            }
            total += want.len().max(got.len());
            if want.len() != got.len() {
                failures.push(format!(
                    "{}: {} events, labels say {}",
                    doc.display(),
                    got.len(),
                    want.len()
                ));
            }
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                let e = &g.event;
                let mut wrong = Vec::new();
                if e.status != w.status {
                    wrong.push(format!("status {} != {}", e.status, w.status));
                }
                if e.reason != w.reason {
                    wrong.push(format!("reason {:?} != {:?}", e.reason, w.reason));
                }
                if e.occurred_at.instant != w.occurred_at.instant {
                    wrong.push(format!(
                        "occurred_at {} != {}",
                        e.occurred_at, w.occurred_at
                    ));
                }
                if e.tracking_number.as_ref().map(|t| t.as_str()) != w.tracking_number.as_deref() {
                    wrong.push(format!(
                        "tracking_number {:?} != {:?}",
                        e.tracking_number, w.tracking_number
                    ));
                }
                if let Some(o) = &w.order_id
                    && e.order_id.as_str() != o
                {
                    wrong.push(format!("order_id {} != {o}", e.order_id));
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
        let missing: Vec<_> = table
            .codes
            .keys()
            .filter(|k| !keys_seen.contains(*k))
            .collect();
        if !missing.is_empty() {
            failures.push(format!(
                "{source}: codes never seen in the corpus: {missing:?}"
            ));
        }
        let missing: Vec<_> = table
            .reasons
            .keys()
            .filter(|k| !reasons_seen.contains(*k))
            .collect();
        if !missing.is_empty() {
            failures.push(format!(
                "{source}: reason codes never seen in the corpus: {missing:?}"
            ));
        }
        if docs.is_empty() {
            failures.push(format!("{source}: no corpus"));
        }
        let pct = if total == 0 {
            0.0
        } else {
            100.0 * right as f64 / total as f64
        };
        report.push(format!(
            "{:<14} {:>4} documents {:>5} events {:>7.2} %",
            source.name(),
            docs.len(),
            total,
            pct
        ));
    }
    println!("corpus accuracy:\n{}", report.join("\n"));
    assert!(
        failures.is_empty(),
        "{} corpus failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
