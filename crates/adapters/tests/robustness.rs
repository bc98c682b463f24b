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

/// Cases per source and property: enough to find shallow bugs on every run while keeping the
/// whole file within a few seconds of debug-build time per source.
const CASES: u32 = 256;
/// Generous for a debug build: real documents take microseconds; a hang takes forever.
const TIME_LIMIT: Duration = Duration::from_secs(1);
const MAX_ARBITRARY: usize = 64 * 1024;

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
    files_in(&adapters_dir().join("corpus").join(source.name()))
        .into_iter()
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            !name.ends_with(".expected.jsonl") && !name.starts_with('.')
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
    if took > TIME_LIMIT {
        return Err(fail(format!(
            "{source}: parse took {took:?} on {}",
            show(doc)
        )));
    }
    match result {
        Ok(obs) => {
            // Every report is written somewhere in the document: more reports than bytes would
            // mean the parser multiplies its input (memory blow-up on a crafted document).
            if obs.len() > fuzz_common::max_reports(doc.len()) {
                return Err(fail(format!(
                    "{source}: {} observations from {}",
                    obs.len(),
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
fn check_normalize(source: Source, table: &MappingTable, doc: &[u8]) -> Result<(), TestCaseError> {
    let started = Instant::now();
    let result = normalize(source, doc, table);
    let took = started.elapsed();
    if took > TIME_LIMIT {
        return Err(fail(format!(
            "{source}: normalize took {took:?} on {}",
            show(doc)
        )));
    }
    match result {
        Ok(events) => {
            for (i, n) in events.iter().enumerate() {
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
                AdapterError::Invalid { message, .. } => !message.trim().is_empty(),
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

/// A cheap deterministic generator: proptest's per-byte strategies are too slow for 64 KiB
/// inputs in a debug build, so big inputs are drawn from a seed.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Alphabets that keep random input inside the lexer of each format for longer than uniform
/// bytes would.
const ALPHABETS: [&[u8]; 5] = [
    b"",
    b"{}[]\":,0123456789.eE+-tfnrulasx \n\\",
    b"<>/=\"' ?!-[]abcdeTrackingEvent&;#x0123456789\n",
    b"ISAGSTE*~^>:|0123456789ATMS HL\n",
    b"event_id,order_id\"\r\n0123456789-:TZ ",
];

fn big_input(seed: u64, len: usize, alphabet: usize) -> Vec<u8> {
    let mut rng = SplitMix(seed);
    let chars = ALPHABETS[alphabet % ALPHABETS.len()];
    (0..len)
        .map(|_| {
            let r = rng.next();
            if chars.is_empty() {
                r as u8
            } else {
                chars[(r % chars.len() as u64) as usize]
            }
        })
        .collect()
}

fn arbitrary_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        prop::collection::vec(any::<u8>(), 0..512),
        (any::<u64>(), 0..=MAX_ARBITRARY, 0..ALPHABETS.len())
            .prop_map(|(seed, len, alphabet)| big_input(seed, len, alphabet)),
    ]
}

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

/// Pieces of every format this crate reads, spliced anywhere: a JSON parser meeting XML is as
/// interesting as one meeting a stray brace.
const FRAGMENTS: &[&str] = &[
    // JSON
    "{",
    "}",
    "[",
    "]",
    "{}",
    "[]",
    "null",
    "\"\"",
    ",",
    ":",
    "\"x\":",
    "true",
    "-0",
    "1e999",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "\"\\\\\"",
    ",\"extra\":{\"nested\":[1,2,{\"a\":null}]}",
    "\"date\":\"2024-13-45T25:61:61+99:99\",",
    "{\"events\":[{}]}",
    // XML
    "<x/>",
    "</",
    "<",
    ">",
    "<![CDATA[ ]]>",
    "&amp;",
    "&bogus;",
    "&#0;",
    "&#x110000;",
    "<?xml version=\"1.0\"?>",
    "<!DOCTYPE a [<!ENTITY e \"x\">]>",
    "<a b=\"c\">",
    " xmlns:x=\"urn:x\"",
    "<!-- c -->",
    "<Date>2024-02-30</Date>",
    // X12
    "~",
    "*",
    "^",
    "|",
    ">",
    "ISA*00*",
    "GS*QM*A*B*20240101*1200*1*X*004010~",
    "ST*214*0001~",
    "ST*856*0001~",
    "BSN*00*X*20240101*1200~",
    "SE*1*0001~",
    "LX*1~",
    "AT7*X1*NS***20240101*1200*LT~",
    "AT7*******~",
    "HL*1**S~",
    "HL*2*1*O~",
    "HL*3*2*P~",
    "MAN*CP*1Z~",
    "PRF*PO~",
    "MS1*CITY*ST*US~",
    "DTM*011*20241399*2599*ZZ~",
    "GE*1*1~IEA*1*000000001~",
    // CSV / JSON lines
    "\n",
    "\r\n",
    "\"",
    "\"\"",
    "event_id,event_type,occurred_at,order_id\n",
];

const HUGE_NUMBERS: &[&str] = &[
    "99999999999999999999999999999999",
    "18446744073709551616",
    "-9223372036854775809",
    "1e400",
    "-1e-400",
    "1.7976931348623157e309",
    "0.0000000000000000000000000000000001",
    "000000000000000000000000000000000001",
    "-0",
    "NaN",
    "Infinity",
];

const NON_ASCII: &[&str] = &[
    "\u{e9}",
    "\u{65e5}\u{672c}",
    "\u{200b}",
    "\u{202e}",
    "\u{1f4e6}",
    "\u{feff}",
    "\u{0}",
    "\u{7f}",
    "\u{130}",
    "\u{df}",
    "\u{2028}",
];

const INVALID_UTF8: &[&[u8]] = &[
    b"\xff",
    b"\xc3",
    b"\xe6\x97",
    b"\xf0\x9f\x93",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\x80",
];

/// One edit. Positions and lengths are raw random numbers, reduced modulo the document's
/// current length when applied, so a mutation always lands inside whatever the earlier ones
/// left.
#[derive(Debug, Clone)]
enum Mutation {
    Truncate(usize),
    Delete(usize, usize),
    Duplicate(usize, usize),
    Swap(usize, usize, usize),
    ReplaceByte(usize, u8),
    Insert(usize, usize),
    TimestampDigit(usize, u8),
    DeepNesting(usize, usize),
    HugeNumber(usize, usize),
    NonAscii(usize, usize),
    InvalidUtf8(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let n = any::<usize>;
    prop_oneof![
        n().prop_map(Mutation::Truncate),
        (n(), n()).prop_map(|(a, b)| Mutation::Delete(a, b)),
        (n(), n()).prop_map(|(a, b)| Mutation::Duplicate(a, b)),
        (n(), n(), n()).prop_map(|(a, b, c)| Mutation::Swap(a, b, c)),
        (n(), any::<u8>()).prop_map(|(a, b)| Mutation::ReplaceByte(a, b)),
        (n(), n()).prop_map(|(a, b)| Mutation::Insert(a, b)),
        (n(), any::<u8>()).prop_map(|(a, b)| Mutation::TimestampDigit(a, b)),
        (n(), n()).prop_map(|(a, b)| Mutation::DeepNesting(a, b)),
        (n(), n()).prop_map(|(a, b)| Mutation::HugeNumber(a, b)),
        (n(), n()).prop_map(|(a, b)| Mutation::NonAscii(a, b)),
        (n(), n()).prop_map(|(a, b)| Mutation::InvalidUtf8(a, b)),
    ]
}

/// A span length: mostly short (a token), sometimes a large part of the document.
fn span(len: usize, raw: usize) -> usize {
    if len == 0 {
        return 0;
    }
    if raw.is_multiple_of(4) {
        (raw / 4) % len + 1
    } else {
        (raw / 4) % 32 + 1
    }
}

/// Runs of ASCII digits, as (start, end).
fn digit_runs(doc: &[u8]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut start = None;
    for (i, b) in doc.iter().enumerate() {
        match (b.is_ascii_digit(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                runs.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        runs.push((s, doc.len()));
    }
    runs
}

/// 10,000 levels of whatever nesting the formats have: JSON arrays and objects (balanced or
/// not), XML elements, and an X12 HL hierarchy where each level is the child of the previous.
fn deep(kind: usize) -> Vec<u8> {
    const LEVELS: usize = 10_000;
    match kind % 6 {
        0 => "[".repeat(LEVELS).into_bytes(),
        1 => format!("{}1{}", "[".repeat(LEVELS), "]".repeat(LEVELS)).into_bytes(),
        2 => format!("{}1{}", "{\"a\":".repeat(LEVELS), "}".repeat(LEVELS)).into_bytes(),
        3 => "<a>".repeat(LEVELS).into_bytes(),
        4 => format!("{}x{}", "<a>".repeat(LEVELS), "</a>".repeat(LEVELS)).into_bytes(),
        _ => {
            let mut s = String::from("HL*1**S~");
            for i in 2..=LEVELS {
                s.push_str(&format!("HL*{i}*{}*O~", i - 1));
            }
            s.into_bytes()
        }
    }
}

fn apply(doc: &mut Vec<u8>, m: &Mutation) {
    let len = doc.len();
    let at = |raw: usize| if len == 0 { 0 } else { raw % (len + 1) };
    match *m {
        Mutation::Truncate(p) => doc.truncate(at(p)),
        Mutation::Delete(p, l) => {
            let start = at(p);
            let end = (start + span(len, l)).min(len);
            doc.drain(start..end);
        }
        Mutation::Duplicate(p, l) => {
            let start = at(p);
            let end = (start + span(len, l)).min(len);
            let copy = doc[start..end].to_vec();
            doc.splice(end..end, copy);
        }
        Mutation::Swap(a, b, l) => {
            if len < 2 {
                return;
            }
            let (mut x, mut y) = (a % len, b % len);
            if x > y {
                std::mem::swap(&mut x, &mut y);
            }
            let l = span(len, l).min(y - x).min(len - y);
            if l == 0 {
                return;
            }
            let first = doc[x..x + l].to_vec();
            let second = doc[y..y + l].to_vec();
            doc.splice(y..y + l, first);
            doc.splice(x..x + l, second);
        }
        Mutation::ReplaceByte(p, b) => {
            if len > 0 {
                doc[p % len] = b;
            }
        }
        Mutation::Insert(p, f) => {
            let p = at(p);
            doc.splice(p..p, FRAGMENTS[f % FRAGMENTS.len()].bytes());
        }
        Mutation::TimestampDigit(p, d) => {
            // Digits in runs of two or more are dates, times, offsets and codes: where the
            // calendar arithmetic lives.
            let digits: Vec<usize> = digit_runs(doc)
                .into_iter()
                .filter(|(s, e)| e - s >= 2)
                .flat_map(|(s, e)| s..e)
                .collect();
            if let Some(&i) = digits.get(p % digits.len().max(1)) {
                doc[i] = b'0' + d % 10;
            }
        }
        Mutation::DeepNesting(p, kind) => {
            let p = at(p);
            doc.splice(p..p, deep(kind));
        }
        Mutation::HugeNumber(p, which) => {
            let huge: Vec<u8> = if which % (HUGE_NUMBERS.len() + 1) == HUGE_NUMBERS.len() {
                "9".repeat(20_000).into_bytes()
            } else {
                HUGE_NUMBERS[which % HUGE_NUMBERS.len()].as_bytes().to_vec()
            };
            let runs = digit_runs(doc);
            match runs.get(p % runs.len().max(1)) {
                Some(&(s, e)) => {
                    doc.splice(s..e, huge);
                }
                None => {
                    let p = at(p);
                    doc.splice(p..p, huge);
                }
            }
        }
        Mutation::NonAscii(p, which) => {
            let p = at(p);
            doc.splice(p..p, NON_ASCII[which % NON_ASCII.len()].bytes());
        }
        Mutation::InvalidUtf8(p, which) => {
            let p = at(p);
            doc.splice(
                p..p,
                INVALID_UTF8[which % INVALID_UTF8.len()].iter().copied(),
            );
        }
    }
}

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
// Pathological shapes, deterministic: each one at the 64 KiB the arbitrary-bytes test goes up
// to, for every source, so a quadratic corner shows up as a timeout rather than by luck.

fn pathological() -> Vec<(&'static str, Vec<u8>)> {
    const N: usize = MAX_ARBITRARY;
    let fill = |unit: &str| unit.repeat(N / unit.len()).into_bytes();
    let mut isa = b"ISA*00*          *00*          *ZZ*A              *ZZ*B              *240101*1200*U*00401*000000001*0*P*>~GS*QM*A*B*20240101*1200*1*X*004010~".to_vec();
    let mut x214 = isa.clone();
    x214.extend_from_slice(b"ST*214*0001~B10*PRO1*BOL1*SCAC~");
    while x214.len() < N {
        x214.extend_from_slice(b"LX*1~AT7*X1*NS***20240101*1200*ET~MS1*ATLANTA*GA*US~");
    }
    // Closed, so the parser reads to the end instead of stopping at the first problem.
    let close = b"SE*1*0001~GE*1*1~IEA*1*000000001~";
    x214.extend_from_slice(close);
    isa.extend_from_slice(
        b"ST*856*0001~BSN*00*S*20240101*1200~HL*1**S~DTM*011*20240101*1200*ET~HL*2*1*P~",
    );
    let mut many_packs = isa.clone();
    let mut i = 0;
    while many_packs.len() < N / 2 {
        many_packs.extend_from_slice(format!("MAN*CP*1Z{i}~").as_bytes());
        i += 1;
    }
    let mut i = 3;
    while many_packs.len() < N {
        many_packs.extend_from_slice(format!("HL*{i}*2*O~PRF*PO~").as_bytes());
        i += 1;
    }
    many_packs.extend_from_slice(close);
    vec![
        ("empty", Vec::new()),
        ("whitespace", fill(" ")),
        ("open brackets", fill("[")),
        ("open braces", fill("{\"a\":")),
        (
            "one long string",
            format!("\"{}\"", "a".repeat(N)).into_bytes(),
        ),
        (
            "many empty objects",
            format!("[{}{{}}]", "{},".repeat(N / 3)).into_bytes(),
        ),
        ("json lines of objects", fill("{}\n")),
        ("open elements", fill("<a>")),
        (
            "attributes",
            format!("<a {}/>", "b=\"c\" ".repeat(N / 6)).into_bytes(),
        ),
        ("entities", fill("&amp;")),
        ("csv commas", fill(",")),
        ("csv quotes", fill("\"")),
        ("csv newlines", fill("\n")),
        ("x12 segments", x214),
        ("x12 tildes", fill("~")),
        ("x12 one pack many orders", many_packs),
        ("nul bytes", vec![0; N]),
        ("invalid utf-8", vec![0xff; N]),
    ]
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
    // corpus/canadapost/06 with `<!DOCTYPE a [<!ENTITY e "x">]>` spliced into an event time:
    // quick-xml 0.38's deserializer reached `unreachable!()` (two text events in a row).
    let original =
        fs::read(adapters_dir().join("corpus/canadapost/06-weather-delay-newfoundland.xml"))
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
