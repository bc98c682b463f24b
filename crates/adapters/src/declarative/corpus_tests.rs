//! The declarative engine over data: no panic and bounded work on arbitrary and mutated
//! documents for every shipped format. Each format's labelled corpus is checked with every
//! other source's, by `tests/corpus.rs` (declared formats are sources).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use proptest::prelude::*;
use std::path::PathBuf;
use std::time::{Duration, Instant};

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
