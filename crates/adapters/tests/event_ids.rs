//! Derived event ids are persisted and are how a re-polled history is deduplicated, so a change
//! to how a parser builds its observations must not change them. This pins the id of every event
//! of every corpus document (`tests/event_ids.txt`, one document a line); the corpus labels do not
//! carry ids, so nothing else would notice a changed digest input (a location spelled
//! differently, a code upper-cased elsewhere).
//!
//! A new corpus document needs its line: `WAYPOST_BLESS_IDS=1 cargo test -p waypost-adapters
//! --test event_ids` rewrites the file, and the diff must show only added lines.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};
use waypost_adapters::{Source, normalize};

fn pinned_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/event_ids.txt")
}

/// `<source>/<file> <id> <id> ...` for every corpus document, sorted; a document that does not
/// normalize is listed with `error`.
fn current() -> String {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut lines = Vec::new();
    for source in Source::ALL {
        let table = source.builtin_table().unwrap();
        let Ok(entries) = fs::read_dir(corpus.join(source.name())) else {
            continue;
        };
        let mut docs: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                !name.ends_with(".expected.jsonl") && !name.starts_with('.') && p.is_file()
            })
            .collect();
        docs.sort();
        for doc in docs {
            let name = doc.file_name().unwrap().to_str().unwrap();
            let mut line = format!("{}/{name}", source.name());
            match normalize(source, &fs::read(&doc).unwrap(), &table) {
                Ok(events) => {
                    for n in events {
                        line.push(' ');
                        line.push_str(n.event.event_id.as_str());
                    }
                }
                Err(_) => line.push_str(" error"),
            }
            lines.push(line);
        }
    }
    lines.join("\n") + "\n"
}

#[test]
fn corpus_event_ids_do_not_change() {
    let got = current();
    if std::env::var_os("WAYPOST_BLESS_IDS").is_some() {
        fs::write(pinned_file(), &got).unwrap();
        return;
    }
    let want = fs::read_to_string(pinned_file()).expect("tests/event_ids.txt");
    let changed: Vec<String> = got
        .lines()
        .zip(want.lines())
        .filter(|(g, w)| g != w)
        .map(|(g, w)| format!("  got  {g}\n  want {w}"))
        .collect();
    assert!(
        changed.is_empty() && got.lines().count() == want.lines().count(),
        "event ids changed ({} documents differ, {} lines now, {} pinned):\n{}",
        changed.len(),
        got.lines().count(),
        want.lines().count(),
        changed.join("\n")
    );
}
