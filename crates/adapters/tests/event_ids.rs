//! Derived event ids are persisted and are how a re-polled history is deduplicated, so a change
//! to how a parser builds its observations must not change them. This pins the id of every event
//! of every corpus document (`tests/event_ids.txt`, one document a line); the corpus labels do not
//! carry ids, so nothing else would notice a changed digest input (a location spelled
//! differently, a code upper-cased elsewhere).
//!
//! A new corpus document needs its line: `WAYPOST_BLESS_IDS=1 cargo test -p waypost-adapters
//! --test event_ids` rewrites the file, and the diff must show only added lines. A pinned
//! document moved between `corpus/<source>/` and its `synthetic/` folder keeps its line (lines
//! name the file, not the folder).

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
    for &source in Source::all() {
        let table = source.builtin_table().unwrap();
        let dir = corpus.join(source.name());
        let mut docs: Vec<PathBuf> = [dir.clone(), dir.join("synthetic")]
            .iter()
            .filter_map(|d| fs::read_dir(d).ok())
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                !name.ends_with(".expected.jsonl")
                    && !name.ends_with(".origin.toml")
                    && !name.starts_with('.')
                    && p.is_file()
            })
            .collect();
        docs.sort_by_key(|p| p.file_name().map(ToOwned::to_owned));
        for doc in docs {
            let name = doc.file_name().unwrap().to_str().unwrap();
            let mut line = format!("{}/{name}", source.name());
            match normalize(source, &fs::read(&doc).unwrap(), &table) {
                Ok(events) => {
                    for n in events.events {
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
    let name = |l: &str| l.split(' ').next().unwrap_or("").to_owned();
    let now: std::collections::HashMap<String, &str> = got.lines().map(|l| (name(l), l)).collect();
    // Every pinned document must still be there with the same ids; documents added since are
    // listed so they get pinned, but a new document cannot change an old one's ids.
    let changed: Vec<String> = want
        .lines()
        .filter(|w| now.get(&name(w)) != Some(w))
        .map(|w| format!("  got  {:?}\n  want {w}", now.get(&name(w))))
        .collect();
    let unpinned = got.lines().count().saturating_sub(want.lines().count());
    if unpinned > 0 {
        println!("{unpinned} corpus documents are not pinned yet: run with WAYPOST_BLESS_IDS=1");
    }
    assert!(
        changed.is_empty(),
        "event ids changed ({} documents differ):\n{}",
        changed.len(),
        changed.join("\n")
    );
}
