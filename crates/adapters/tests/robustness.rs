//! Robustness of every vendor parser: whatever bytes arrive (a partner's bug, a truncated
//! upload, an attacker), parsing and normalizing must return promptly, without panicking, with
//! output proportional to the input, and every refusal must say where the document is wrong.
//!
//! Three layers, all run by plain `cargo test` on stable:
//! - arbitrary bytes, small and up to 64 KiB, per source;
//! - structure-aware mutations of the labelled corpus (truncation, spliced spans, fragments of
//!   JSON/XML/X12, altered timestamps, deep nesting, huge numbers, non-ASCII, invalid UTF-8),
//!   through both `Source::parse` and `normalize`;
//! - a replay of every corpus document and every file in `fuzz/corpus/<target>/`, so what the
//!   cargo-fuzz targets found stays covered in CI without a nightly toolchain.
//!
//! Inputs that once broke a parser are kept as named regression tests at the end.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use waypost_adapters::{AdapterError, MappingTable, Source, UnmappedKind, normalize};
use waypost_domain::{Event, EventId, OrderId, Status, TrackingNumber};

// The fuzz targets' own checks, shared so a replayed corpus file is judged exactly as the
// fuzzer judged it.
#[path = "../fuzz/fuzz_targets/common/mod.rs"]
mod fuzz_common;
#[path = "robustness/inputs.rs"]
mod inputs;
#[path = "robustness/mutations.rs"]
mod mutations;

use inputs::{MAX_ARBITRARY, arbitrary_bytes, pathological};
use mutations::{apply, mutation};

/// Cases per source and property: enough to find shallow bugs on every run while keeping the
/// whole file within a few seconds of debug-build time per source.
const CASES: u32 = 256;
/// Generous for a debug build: real documents take microseconds; a hang takes forever.
const TIME_LIMIT: Duration = Duration::from_secs(1);

/// [`TIME_LIMIT`] per started 64 KiB: mutations (two 10,000-level nestings) can grow a document
/// to a few hundred kB, and parsing is meant to be linear, not constant.
fn time_limit(len: usize) -> Duration {
    let units = u32::try_from(len.div_ceil(MAX_ARBITRARY).max(1)).unwrap_or(u32::MAX);
    TIME_LIMIT.saturating_mul(units)
}

// ---------------------------------------------------------------------------------------------
// Inputs on disk.

fn adapters_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The fuzz target (and `fuzz/corpus/` directory) of a source: its module name.
fn target_name(source: Source) -> String {
    source.name().replace('-', "_")
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// The labelled corpus documents of a source (not their labels).
fn corpus_docs(source: Source) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = adapters_dir().join("corpus").join(source.name());
    files_in(&dir)
        .into_iter()
        .chain(files_in(&dir.join("synthetic")))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            !name.ends_with(".expected.jsonl")
                && !name.ends_with(".origin.toml")
                && !name.starts_with('.')
        })
        .map(|p| {
            let bytes = fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

fn fuzz_corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    files_in(&adapters_dir().join("fuzz").join("corpus").join(target))
        .into_iter()
        .map(|p| {
            let bytes = fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The properties every input must satisfy.

fn fail(what: String) -> TestCaseError {
    TestCaseError::fail(what)
}

/// Short, printable description of an input for failure messages.
fn show(doc: &[u8]) -> String {
    let head = &doc[..doc.len().min(160)];
    format!("{} bytes: {:?}", doc.len(), String::from_utf8_lossy(head))
}

/// `Source::parse`: returns within the time limit, output bounded by the input, and a refusal
/// names where and what.
fn check_parse(source: Source, doc: &[u8]) -> Result<(), TestCaseError> {
    let started = Instant::now();
    let result = source.parse(doc);
    let took = started.elapsed();
    if took > time_limit(doc.len()) {
        return Err(fail(format!(
            "{source}: parse took {took:?} on {}",
            show(doc)
        )));
    }
    match result {
        Ok(parsed) => {
            // Every report is written somewhere in the document: more reports than bytes would
            // mean the parser multiplies its input (memory blow-up on a crafted document).
            let reports = parsed.observations.len() + parsed.unreadable.len();
            if reports > fuzz_common::max_reports(doc.len()) {
                return Err(fail(format!(
                    "{source}: {reports} observations from {}",
                    show(doc)
                )));
            }
        }
        Err(e) => {
            if e.message.trim().is_empty() {
                return Err(fail(format!(
                    "{source}: empty error message on {}",
                    show(doc)
                )));
            }
            if e.path.trim().is_empty() {
                return Err(fail(format!(
                    "{source}: error without a path ({e}) on {}",
                    show(doc)
                )));
            }
            // What operators see: `path: message`.
            if e.to_string() != format!("{}: {}", e.path, e.message) {
                return Err(fail(format!("{source}: error display {e}")));
            }
        }
    }
    Ok(())
}

/// What any normalized event must be: its ids as the domain checks them, serializable and
/// read back unchanged, `unknown` exactly when a status code was not mapped.
fn check_event(source: Source, event: &Event, unmapped_status: bool) -> Result<(), String> {
    if event.source.as_str() != source.name() {
        return Err(format!("source {}", event.source));
    }
    EventId::new(event.event_id.as_str()).map_err(|e| format!("event id: {e}"))?;
    OrderId::new(event.order_id.as_str()).map_err(|e| format!("order id: {e}"))?;
    if let Some(t) = &event.tracking_number {
        TrackingNumber::new(t.as_str()).map_err(|e| format!("tracking number: {e}"))?;
    }
    if event.raw_code.is_none() {
        return Err("no raw code".into());
    }
    if unmapped_status != (event.status == Status::Unknown) {
        return Err(format!(
            "status {} with unmapped status = {unmapped_status}",
            event.status
        ));
    }
    if event.status == Status::Unknown && event.reason.is_some() {
        return Err("a reason on an unknown status".into());
    }
    let json = serde_json::to_string(event).map_err(|e| format!("serialize: {e}"))?;
    let mut back: Event =
        serde_json::from_str(&json).map_err(|e| format!("read back: {e}: {json}"))?;
    // Attributes are vendor numbers kept as JSON, and serde_json (without its float_roundtrip
    // feature) may read `1e-34` back one ulp off: only the typed fields must survive exactly.
    let mut typed = event.clone();
    typed.attributes.clear();
    back.attributes.clear();
    let json = serde_json::to_string(&typed).map_err(|e| format!("serialize: {e}"))?;
    let again = serde_json::to_string(&back).map_err(|e| format!("serialize again: {e}"))?;
    if again != json {
        return Err(format!("round trip changed the event:\n{json}\n{again}"));
    }
    Ok(())
}

/// `normalize`: either valid events or an error that names the source and what is wrong.
/// The time zone data (boundary polygons, gazetteer) loads once per process, on the first local
/// time placed; that one-time cost is not the document's.
fn warm_zone_data() {
    static WARM: std::sync::Once = std::sync::Once::new();
    WARM.call_once(|| {
        let place = waypost_domain::Location {
            city: Some("Ottawa".into()),
            region: Some("ON".into()),
            country: Some("CA".into()),
            ..waypost_domain::Location::default()
        };
        let _ = waypost_adapters::zone::of_place(&place);
        let _ = waypost_adapters::zone::at(45.4, -75.7);
    });
}

fn check_normalize(source: Source, table: &MappingTable, doc: &[u8]) -> Result<(), TestCaseError> {
    warm_zone_data();
    let started = Instant::now();
    let result = normalize(source, doc, table);
    let took = started.elapsed();
    if took > time_limit(doc.len()) {
        return Err(fail(format!(
            "{source}: normalize took {took:?} on {}",
            show(doc)
        )));
    }
    match result {
        Ok(doc_out) => {
            for p in &doc_out.unreadable {
                if p.path.trim().is_empty() || p.message.trim().is_empty() {
                    return Err(fail(format!(
                        "{source}: an unreadable event without path or reason ({p}) in {}",
                        show(doc)
                    )));
                }
            }
            for (i, n) in doc_out.events.iter().enumerate() {
                let unmapped_status = n.unmapped.iter().any(|u| u.kind == UnmappedKind::Status);
                check_event(source, &n.event, unmapped_status).map_err(|why| {
                    fail(format!("{source}: event {i}: {why}; input {}", show(doc)))
                })?;
            }
        }
        Err(e) => {
            let shown = e.to_string();
            let prefix = format!("{} document: ", source.name());
            let detail = shown.strip_prefix(&prefix).unwrap_or("");
            let ok = match &e {
                AdapterError::Parse { error, .. } => {
                    !error.path.trim().is_empty() && !error.message.trim().is_empty()
                }
                AdapterError::Unreadable { problems, .. } => problems
                    .iter()
                    .all(|p| !p.path.trim().is_empty() && !p.message.trim().is_empty()),
            };
            if !ok || detail.trim().is_empty() {
                return Err(fail(format!(
                    "{source}: unclear error {shown:?} on {}",
                    show(doc)
                )));
            }
        }
    }
    Ok(())
}

fn runner() -> TestRunner {
    // ROBUSTNESS_CASES=20000 searches longer locally; CI keeps the default.
    let cases = std::env::var("ROBUSTNESS_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(CASES);
    TestRunner::new(Config {
        cases,
        // Failures are kept by hand as named regression tests below, in the file's own words.
        failure_persistence: None,
        ..Config::default()
    })
}

// ---------------------------------------------------------------------------------------------
// Arbitrary bytes.

fn arbitrary_bytes_never_break(source: Source) {
    let table = source.builtin_table().unwrap();
    runner()
        .run(&arbitrary_bytes(), |doc| {
            check_parse(source, &doc)?;
            check_normalize(source, &table, &doc)
        })
        .unwrap_or_else(|e| panic!("{source}: {e}"));
}

// ---------------------------------------------------------------------------------------------
// Structure-aware mutations of the corpus.

fn mutated_corpus_never_breaks(source: Source) {
    let docs = corpus_docs(source);
    assert!(!docs.is_empty(), "{source}: no corpus to mutate");
    let table = source.builtin_table().unwrap();
    let strategy = (any::<Index>(), prop::collection::vec(mutation(), 1..5));
    runner()
        .run(&strategy, |(which, mutations)| {
            let (path, original) = &docs[which.index(docs.len())];
            let mut doc = original.clone();
            for m in &mutations {
                apply(&mut doc, m);
            }
            check_parse(source, &doc)
                .and_then(|()| check_normalize(source, &table, &doc))
                .map_err(|e| fail(format!("{}: {mutations:?}: {e}", path.display())))
        })
        .unwrap_or_else(|e| panic!("{source}: {e}"));
}

// ---------------------------------------------------------------------------------------------
// One module of tests per source, so a failure names the parser and sources run in parallel.

macro_rules! robustness {
    ($($module:ident => $source:expr),+ $(,)?) => {$(
        mod $module {
            use super::*;

            #[test]
            fn arbitrary_bytes() {
                arbitrary_bytes_never_break($source);
            }

            #[test]
            fn mutated_corpus() {
                mutated_corpus_never_breaks($source);
            }

            #[test]
            fn pathological_shapes() {
                let table = $source.builtin_table().unwrap();
                for (name, doc) in pathological() {
                    check_parse($source, &doc)
                        .and_then(|()| check_normalize($source, &table, &doc))
                        .unwrap_or_else(|e| panic!("{}: {name}: {e}", $source));
                }
            }

            #[test]
            fn corpus_and_fuzz_corpus_replay() {
                let table = $source.builtin_table().unwrap();
                let mut docs = corpus_docs($source);
                docs.extend(fuzz_corpus(&target_name($source)));
                for (path, doc) in &docs {
                    check_parse($source, doc)
                        .and_then(|()| check_normalize($source, &table, doc))
                        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                    // Exactly what the fuzz target runs on this input.
                    fuzz_common::parser($source, doc);
                }
            }
        }
    )+};
}

robustness! {
    ups => Source::Ups,
    fedex => Source::Fedex,
    usps => Source::Usps,
    dhl => Source::Dhl,
    canadapost => Source::CanadaPost,
    royalmail => Source::RoyalMail,
    dpd => Source::Dpd,
    gls => Source::Gls,
    australiapost => Source::AustraliaPost,
    purolator => Source::Purolator,
    easypost => Source::EasyPost,
    aftership => Source::AfterShip,
    shippo => Source::Shippo,
    x12_214 => Source::X12_214,
    x12_856 => Source::X12_856,
    wms => Source::Wms,
}

#[test]
fn every_source_has_a_test_module_and_a_fuzz_target() {
    // The macro list above and the fuzz targets are written by hand; a new source must get
    // both.
    let targets = adapters_dir().join("fuzz").join("fuzz_targets");
    for source in Source::ALL {
        let file = targets.join(format!("{}.rs", target_name(source)));
        assert!(
            file.is_file(),
            "{source}: no fuzz target {}",
            file.display()
        );
        assert!(
            !fuzz_corpus(&target_name(source)).is_empty(),
            "{source}: no seed corpus"
        );
    }
    assert_eq!(
        Source::ALL.len(),
        16,
        "add the new source to robustness! above"
    );
}

/// The declarative adapter's fuzz corpus and every shipped format's labelled documents, judged
/// as the `declarative` fuzz target judges them.
#[test]
fn declarative_fuzz_corpus_replays() {
    let mut docs = fuzz_corpus("declarative");
    assert!(!docs.is_empty(), "declarative: no seed corpus");
    for f in waypost_adapters::declarative::builtin_formats() {
        for p in files_in(&adapters_dir().join("corpus").join(&f.format.source)) {
            if p.extension().is_some_and(|e| e == "json" || e == "xml") {
                let bytes = fs::read(&p).unwrap();
                docs.push((p, bytes));
            }
        }
    }
    for (_, doc) in &docs {
        fuzz_common::declarative(doc);
    }
}

// ---------------------------------------------------------------------------------------------
// Webhook signatures.

#[test]
fn signature_fuzz_corpus_replay() {
    for (path, data) in fuzz_corpus("signature") {
        // The fuzz target's own assertions (no panic, errors safe to log).
        fuzz_common::signature(&data);
        let _ = path;
    }
}

#[test]
fn signature_arbitrary_inputs() {
    runner()
        .run(&prop::collection::vec(any::<u8>(), 0..2048), |data| {
            let started = Instant::now();
            fuzz_common::signature(&data);
            prop_assert!(started.elapsed() < TIME_LIMIT);
            Ok(())
        })
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Inputs that once broke a parser, kept verbatim (the corpus files they came from, as mutated).

/// Every XML source, every input: an error, never a panic or a hang.
fn refused_by_xml_sources(doc: &[u8]) {
    for source in [Source::CanadaPost, Source::Purolator] {
        let table = source.builtin_table().unwrap();
        check_parse(source, doc)
            .and_then(|()| check_normalize(source, &table, doc))
            .unwrap_or_else(|e| panic!("{source}: {e}"));
        assert!(source.parse(doc).is_err(), "{source}");
    }
}

#[test]
fn regression_doctype_inside_element_text() {
    // corpus/canadapost/synthetic/06 with `<!DOCTYPE a [<!ENTITY e "x">]>` spliced into an event time:
    // quick-xml 0.38's deserializer reached `unreachable!()` (two text events in a row).
    let original = fs::read(
        adapters_dir().join("corpus/canadapost/synthetic/06-weather-delay-newfoundland.xml"),
    )
    .unwrap();
    let text = String::from_utf8(original).unwrap();
    let mutated = text.replacen(
        "<event-time>14:10:00</event-time>",
        "<event-time>1<!DOCTYPE a [<!ENTITY e \"x\">]>4:10:00</event-time>",
        1,
    );
    assert_ne!(
        mutated, text,
        "the corpus document changed; pick another event time"
    );
    refused_by_xml_sources(mutated.as_bytes());
    refused_by_xml_sources(b"<a><b>x<!doctype y>z</b></a>");
}

#[test]
fn regression_nameless_root_element() {
    // Found by arbitrary bytes: quick-xml reads `< x>` as an element named "", and the root's
    // name was the error path, so the refusal named no place (": expected a SOAP Envelope").
    for doc in [
        &b"< 1b /#5gn4Ee3i[e>"[..],
        b"<?xml vective-exists>\n  <archive-exists/x>",
    ] {
        refused_by_xml_sources(doc);
    }
}

#[test]
fn regression_x12_856_orders_sharing_a_pack() {
    // The 64 KiB pathological shape "x12 one pack many orders" (one pack HL with 2,400 MAN*CP
    // tracking numbers above 2,400 order HLs) made 4,288,115 observations, gigabytes of
    // memory, with quadratic de-duplication on top. Now refused, promptly, naming the set.
    let (_, doc) = pathological()
        .into_iter()
        .find(|(name, _)| *name == "x12 one pack many orders")
        .unwrap();
    let started = Instant::now();
    let err = Source::X12_856.parse(&doc).unwrap_err();
    assert!(started.elapsed() < TIME_LIMIT);
    assert_eq!(err.path, "segment 3 (ST)", "{err}");
    assert!(err.message.contains("orders sharing packs"), "{err}");
}
