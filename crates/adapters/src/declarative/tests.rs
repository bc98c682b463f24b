//! The declarative engine: spec errors, extraction from JSON and XML, robustness, and the
//! labelled corpus of every shipped format.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::MappingTable;
use proptest::prelude::*;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use waypost_domain::{EventTime, Location, Reason, SourceName, Status};

const MINIMAL: &str = r#"
source = "acme"
format = "json"
[shipment]
tracking_number = "id"
[event]
path = "events[*]"
code = "code"
time = "at"
"#;

#[test]
fn every_shipped_format_parses_and_has_its_table() {
    for (name, text, table) in BUILTIN {
        let f = Format::from_toml(&format!("formats/{name}.toml"), text)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.source, name);
        let t = MappingTable::from_toml(&format!("mappings/{name}.toml"), name, table)
            .unwrap_or_else(|e| panic!("{e}"));
        let problems = t.check(name);
        assert!(problems.is_empty(), "{name}: {problems:?}");
    }
    assert_eq!(builtin_formats().len(), BUILTIN.len());
    assert!(builtin_format("postnl").is_some() && builtin_format("ups").is_none());
}

/// `(description with one line changed, the error it must give)`.
#[test]
fn spec_errors_name_the_file_and_key() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "format = \"json\"",
            "format = \"yaml\"",
            "format f.toml: format: \"yaml\"",
        ),
        (
            "source = \"acme\"",
            "source = \"ups\"",
            "source: \"ups\" is a built-in source",
        ),
        (
            "source = \"acme\"",
            "source = \"Acme Co\"",
            "source: \"Acme Co\" is not a source name",
        ),
        (
            "path = \"events[*]\"",
            "path = \"events[\"",
            "event.path: unclosed '['",
        ),
        (
            "path = \"events[*]\"",
            "path = []",
            "event.path: needs at least one path",
        ),
        (
            "code = \"code\"",
            "code = []",
            "event.code: needs a non-empty path",
        ),
        ("time = \"at\"", "", "event.time: an event needs `time`"),
        (
            "time = \"at\"",
            "time = \"at\"\ndate = \"d\"",
            "event.time: give either",
        ),
        (
            "time = \"at\"",
            "time = \"at\"\nzone = \"Mars/Olympus\"",
            "event.zone: \"Mars/Olympus\"",
        ),
        (
            "time = \"at\"",
            "time = \"at\"\ntime_formats = [\"dd-MM-yyyy\"]",
            "event.time_formats[0]",
        ),
        (
            "time = \"at\"",
            "time = \"at\"\ntime_formats = [\"%H:%M\"]",
            "has no full date",
        ),
        (
            "time = \"at\"",
            "time = \"at\"\ntime_formats = [\"%Y-%m-%d %J\"]",
            "event.time_formats[0]",
        ),
        (
            "time = \"at\"",
            "time = \"at\"\nlocation = { town = \"x\" }",
            "unknown field `town`",
        ),
        (
            "time = \"at\"",
            "time = \"at\"\nlocation = { city = \"a[x y]\" }",
            "event.location.city",
        ),
        (
            "tracking_number = \"id\"",
            "tracking_number = \"id\"\nwhat = 1",
            "unknown field `what`",
        ),
        (
            "format = \"json\"",
            "format = \"json\"\ncarrier = \" \"",
            "carrier: must not be empty",
        ),
        (
            "format = \"json\"",
            "format = \"json\"\ndetect = [\"a..b\"]",
            "detect[0]: empty step",
        ),
        (
            "time = \"at\"",
            "time = \"at\"\ncode_case = \"upper\"",
            "event.code_case: \"upper\"",
        ),
    ];
    assert!(Format::from_toml("f.toml", MINIMAL).is_ok());
    for (from, to, want) in cases {
        let text = MINIMAL.replacen(from, to, 1);
        let err = match Format::from_toml("f.toml", &text) {
            Ok(_) => panic!("{to:?} was accepted"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(want), "{to:?}: {err}");
        assert!(err.starts_with("format f.toml: "), "{err}");
    }
}

/// A description and documents over it, each with the observations and unreadable events
/// it must give (`code @ instant` and `path: reason`).
fn check(format: &str, cases: &[(&str, &[&str], &[&str])]) {
    let f = Format::from_toml("t.toml", format).unwrap_or_else(|e| panic!("{e}"));
    for (doc, want, want_bad) in cases {
        let p = f
            .parse(doc.as_bytes())
            .unwrap_or_else(|e| panic!("{doc}: {e}"));
        let got: Vec<String> = p
            .observations
            .iter()
            .map(|o| {
                let t = o.occurred_at.map(|t| t.to_string()).unwrap_or_default();
                let mut s = format!("{}@{t}", o.mapping_key);
                if let Some(tn) = &o.tracking_number {
                    s.push_str(&format!(" #{tn}"));
                }
                if let Some(l) = &o.location {
                    s.push_str(&format!(" {}", l.city.as_deref().unwrap_or("?")));
                }
                s
            })
            .collect();
        assert_eq!(got, *want, "{doc}");
        let bad: Vec<String> = p.unreadable.iter().map(ToString::to_string).collect();
        assert_eq!(bad, *want_bad, "{doc}");
    }
}

#[test]
fn json_events_with_every_tolerance() {
    let format = r#"
source = "acme"
format = "json"
[shipment]
path = ["shipments[*]", "shipment"]
tracking_number = ["barcode", "main"]
[event]
path = ["events[*]", "event"]
code = ["code", "sub"]
time = ["at", "when"]
offset = "gmt"
zone = "Europe/Paris"
location = { city = "place.city", country = "place.cc" }
"#;
    check(
        format,
        &[
            (
                r#"{"shipments": [{"barcode": "A1", "events": [
                    {"code": "X", "sub": 7, "at": "2024-07-01T10:00:00+02:00", "place": {"city": "Lyon", "cc": "FR"}},
                    {"code": "Y", "at": "2024-07-01T09:00:00"},
                    {"code": "Z", "at": "2024-01-01 09:00:00", "gmt": "-0500"},
                    {"code": "", "at": "2024-07-01T09:00:00"},
                    {"code": "W", "at": "yesterday"},
                    {"code": "V"}
                ]}]}"#,
                &[
                    "X:7@2024-07-01T10:00:00+02:00 #A1 Lyon",
                    "Y@2024-07-01T09:00:00+02:00 #A1",
                    "Z@2024-01-01T09:00:00-05:00 #A1",
                ],
                &[
                    "shipments[0].events[3].code: the event has no code",
                    "shipments[0].events[4].at: \"yesterday\" is not a time in the documented formats",
                    "shipments[0].events[5].at: the event has no time",
                ],
            ),
            // A single object where an array is documented, a number as the tracking number,
            // `{}` and null as absent values.
            (
                r#"{"shipment": {"barcode": {}, "main": 123, "event": {"code": "D", "when": "2024-03-31", "place": null}}}"#,
                &["D@2024-03-31T00:00:00+01:00 #123"],
                &[],
            ),
            (r#"{"shipments": []}"#, &[], &[]),
            (
                r#"{"shipments": [{"events": [{"code": "D", "at": "2024-03-31T10:00:00Z"}]}]}"#,
                &[],
                &[
                    "shipments[0].events[0]: the shipment names neither a tracking number nor a reference",
                ],
            ),
        ],
    );
}

#[test]
fn xml_events_with_attributes_and_split_date_and_clock() {
    let format = r#"
source = "acme-xml"
format = "xml"
detect = ["TrackResponse"]
[shipment]
path = "TrackResponse.Item[*]"
tracking_number = "@id"
[event]
path = "Events.Event[@kind=scan]"
code = "Code"
description = "Text"
date = "Date"
clock = "Time"
time_formats = ["%m/%d/%Y %I:%M %p", "%m/%d/%Y"]
zone = "America/Chicago"
location = { city = "Place.@city" }
"#;
    check(
        format,
        &[(
            r#"<?xml version="1.0"?><ns:TrackResponse xmlns:ns="urn:x">
                <ns:Item id="9400"><Events>
                  <Event kind="scan"><Code>DL</Code><Text>Delivered &amp; signed</Text>
                    <Date>07/04/2024</Date><Time>2:05 PM</Time><Place city="Austin"/></Event>
                  <Event kind="note"><Code>NOTE</Code></Event>
                  <Event kind="scan"><Code>AC</Code><Date>07/03/2024</Date></Event>
                  <Event kind="scan"><Code>BAD</Code><Date>13/45/2024</Date></Event>
                </Events></ns:Item>
                <ns:Item id="9401"><Events><Event kind="scan"><Code>X</Code>
                  <Date>01/02/2024</Date><Time>11:00 AM</Time></Event></Events></ns:Item>
              </ns:TrackResponse>"#,
            &[
                "DL@2024-07-04T14:05:00-05:00 #9400 Austin",
                "AC@2024-07-03T00:00:00-05:00 #9400",
                "X@2024-01-02T11:00:00-06:00 #9401",
            ],
            &[
                "TrackResponse.Item[0].Events.Event[3].Date: \"13/45/2024\" is not a time in the documented formats",
            ],
        )],
    );
    let f = Format::from_toml("t.toml", format).unwrap();
    let e = f.parse(b"<Other/>").unwrap_err().to_string();
    assert!(e.contains("has none of [\"TrackResponse\"]"), "{e}");
    let e = f.parse(b"<TrackResponse><a></b>").unwrap_err().to_string();
    assert!(e.starts_with("byte "), "{e}");
}

#[test]
fn a_vendor_error_document_is_refused_with_its_message() {
    let f = builtin_format("laposte").unwrap();
    let doc = r#"{"lang":"fr_FR","scope":"open","returnCode":104,"returnMessage":"Numéro de suivi inconnu","idShip":"6A00000000000"}"#.as_bytes();
    let e = f.parse(doc).unwrap_err();
    assert_eq!(e.path, "returnCode");
    assert!(e.message.contains("Numéro de suivi inconnu"), "{e}");
    assert!(f.parse(b"[1, 2").is_err());
}

#[test]
fn one_bad_time_in_a_real_format_loses_only_that_event() {
    let f = builtin_format("postnl").unwrap();
    let doc = br#"{"CompleteStatus": {"Shipment": {"Barcode": "3SDEVC1", "Reference": {},
        "Status": {"TimeStamp": "08-03-2018 10:00:00", "StatusCode": "11"},
        "OldStatus": [
          {"TimeStamp": "08-03-2018 10:00:00", "StatusCode": "11"},
          {"TimeStamp": "07-03-2018 23:22:56.326", "StatusCode": "99"},
          {"TimeStamp": "08-03-2018 07:00:00", "StatusCode": {}},
          {"TimeStamp": "31-02-2024 25:00:00", "StatusCode": "5"},
          {"TimeStamp": "07-03-2018 23:20:05", "StatusCode": 2}]}}}"#;
    let p = f.parse(doc).unwrap();
    let got: Vec<String> = p
        .observations
        .iter()
        .map(|o| format!("{}@{}", o.mapping_key, o.occurred_at.unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            "11@2018-03-08T10:00:00+01:00",
            "2@2018-03-07T23:20:05+01:00"
        ]
    );
    let bad: Vec<String> = p.unreadable.iter().map(ToString::to_string).collect();
    assert_eq!(
        bad,
        [
            "CompleteStatus.Shipment.OldStatus[2].StatusCode: the event has no code",
            "CompleteStatus.Shipment.OldStatus[3].TimeStamp: \"31-02-2024 25:00:00\" is not a time in the documented formats",
        ]
    );
}

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
        for f in builtin_formats() {
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
        for f in builtin_formats() {
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
    for f in builtin_formats() {
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

#[test]
fn every_shipped_format_normalizes_its_corpus_exactly() {
    let mut failures = Vec::new();
    for f in builtin_formats() {
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
        let (mut right, mut total) = (0, 0);
        for doc in &docs {
            let stem = doc.file_stem().unwrap().to_str().unwrap();
            let labels = doc.with_file_name(format!("{stem}.expected.jsonl"));
            let origin = doc.with_file_name(format!("{stem}.origin.toml"));
            if !origin.is_file() {
                failures.push(format!("{}: no origin file", doc.display()));
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
        println!(
            "{:<10} {:>3} documents {:>4} events {right} right",
            f.source,
            docs.len(),
            total
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
