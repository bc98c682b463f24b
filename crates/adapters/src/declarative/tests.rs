//! The declarative engine: spec errors and extraction from JSON and XML (robustness and the
//! labelled corpus are in `corpus_tests.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::MappingTable;

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

/// The event's time as normalization will place it: an instant, a local time in the vendor's
/// zone, or `local <civil>` when the place must decide.
fn shown(o: &crate::Observation) -> String {
    match (&o.occurred_at, &o.local_time) {
        (Some(t), _) => t.to_string(),
        (None, Some(l)) => match &l.zone {
            Some(z) => crate::timefmt::local_in_zone(l.civil, z)
                .map(|t| t.to_string())
                .unwrap_or_else(|| format!("local {} in {z}?", l.civil)),
            None => format!(
                "local {}{}",
                l.civil,
                if l.date_only { " date" } else { "" }
            ),
        },
        (None, None) => "none".to_owned(),
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
                let mut s = format!("{}@{}", o.mapping_key, shown(o));
                if let Some(tn) = &o.tracking_number {
                    s.push_str(&format!(" #{tn}"));
                }
                if let Some(r) = &o.reason_key {
                    s.push_str(&format!(" why={r}"));
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
reason_code = "why"
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
                    {"code": "Y", "at": "2024-07-01T09:00:00", "why": 41},
                    {"code": "Z", "at": "2024-01-01 09:00:00", "gmt": "-0500"},
                    {"code": "G", "at": "2024-01-01 09:00:00", "gmt": "GMT+8"},
                    {"code": "U", "at": "2024-01-01 09:00:00", "gmt": "UTC-05:30"},
                    {"code": "O", "at": "2024-01-01 09:00:00", "gmt": "GMT"},
                    {"code": "", "at": "2024-07-01T09:00:00"},
                    {"code": "W", "at": "yesterday"},
                    {"code": "V"}
                ]}]}"#,
                &[
                    "X:7@2024-07-01T10:00:00+02:00 #A1 Lyon",
                    "Y@2024-07-01T09:00:00+02:00 #A1 why=41",
                    "Z@2024-01-01T09:00:00-05:00 #A1",
                    "G@2024-01-01T09:00:00+08:00 #A1",
                    "U@2024-01-01T09:00:00-05:30 #A1",
                    "O@2024-01-01T09:00:00Z #A1",
                ],
                &[
                    "shipments[0].events[6].code: the event has no code",
                    "shipments[0].events[7].at: \"yesterday\" is not a time in the documented formats",
                    "shipments[0].events[8].at: the event has no time",
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
fn a_local_time_without_a_zone_is_left_to_the_place() {
    let format = MINIMAL.replace(
        "time = \"at\"",
        "time = \"at\"\nlocation = { country = \"cc\" }",
    );
    check(
        &format,
        &[(
            r#"{"id": "T1", "events": [{"code": "A", "at": "2024-08-15T15:18:10", "cc": "DE"},
                {"code": "B", "at": "2024-08-16"}, {"code": "C", "at": "2024-08-15T15:18:10 -0500"}]}"#,
            &[
                "A@local 2024-08-15T15:18:10 #T1 ?",
                "B@local 2024-08-16T00:00:00 date #T1",
                "C@2024-08-15T15:18:10-05:00 #T1",
            ],
            &[],
        )],
    );
}

#[test]
fn a_sendle_tracking_answer_without_its_reference_is_reported_not_guessed() {
    let f = builtin_format("sendle").unwrap();
    let doc = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fuzz/corpus/declarative/sendle-get-tracking-no-reference.json"
    ))
    .unwrap();
    let p = f.parse(&doc).unwrap();
    assert!(p.observations.is_empty());
    let bad: Vec<String> = p.unreadable.iter().map(ToString::to_string).collect();
    assert_eq!(
        bad,
        [
            "tracking_events[0]: the shipment names neither a tracking number nor a reference",
            "tracking_events[1]: the shipment names neither a tracking number nor a reference",
        ]
    );
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
        .map(|o| format!("{}@{}", o.mapping_key, shown(o)))
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

#[test]
fn a_place_written_as_one_text_and_a_country_the_vendor_implies() {
    let format = r#"
source = "acme"
format = "json"
[shipment]
tracking_number = "id"
[event]
path = "events[*]"
code = "code"
time = "at"
location = { text = "where", postal_code = "zip", default_country = "US" }
"#;
    let f = Format::from_toml("t.toml", format).unwrap_or_else(|e| panic!("{e}"));
    let doc = r#"{"id": "A1", "events": [
        {"code": "a", "at": "2024-07-01T10:00:00", "where": "JOHANNESBURG, South Africa"},
        {"code": "b", "at": "2024-07-01T10:00:00", "where": "Memphis, TN, US"},
        {"code": "c", "at": "2024-07-01T10:00:00", "where": "Memphis, TN"},
        {"code": "d", "at": "2024-07-01T10:00:00", "zip": "90210"},
        {"code": "e", "at": "2024-07-01T10:00:00", "where": " , "}
    ]}"#;
    let p = f.parse(doc.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let got: Vec<String> = p
        .observations
        .iter()
        .map(|o| {
            let l = o.location.clone().unwrap_or_default();
            format!(
                "{}|{}|{}|{}",
                l.city.unwrap_or_default(),
                l.region.unwrap_or_default(),
                l.postal_code.unwrap_or_default(),
                l.country.unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            "Johannesburg|||ZA",
            "Memphis|TN||US",
            "Memphis|TN||US",
            "||90210|US",
            "|||US",
        ]
    );
    let bad = format.replace("default_country = \"US\"", "default_country = \"Atlantis\"");
    let e = Format::from_toml("t.toml", &bad)
        .err()
        .map(|e| e.to_string());
    assert!(
        e.as_deref()
            .is_some_and(|e| e.contains("event.location.default_country")),
        "{e:?}"
    );
}

#[test]
fn an_answer_wrapped_as_a_string_is_read_in_place_of_its_envelope() {
    let format = r#"
source = "acme"
format = "json"
embedded = "apiResultData"
detect = ["msgData"]
[shipment]
path = "msgData.routeResps[*]"
tracking_number = "mailNo"
[event]
path = "routes[*]"
code = "opCode"
time = "acceptTime"
zone = "Asia/Shanghai"
"#;
    let inner = r#"{"success":true,"msgData":{"routeResps":[{"mailNo":"SF1","routes":[{"opCode":"80","acceptTime":"2024-10-26 06:12:43"}]}]}}"#;
    let wrapped = serde_json::json!({"apiResultCode": "A1000", "apiResultData": inner}).to_string();
    check(
        format,
        &[
            (&wrapped, &["80@2024-10-26T06:12:43+08:00 #SF1"], &[]),
            // The inner document given alone reads the same.
            (inner, &["80@2024-10-26T06:12:43+08:00 #SF1"], &[]),
        ],
    );
    let f = Format::from_toml("t.toml", format).unwrap_or_else(|e| panic!("{e}"));
    let broken = r#"{"apiResultData": "{\"msgData\": ["}"#;
    let e = f.parse(broken.as_bytes()).err().map(|e| e.to_string());
    assert!(
        e.as_deref()
            .is_some_and(|e| e.starts_with("apiResultData: not JSON inside")),
        "{e:?}"
    );
}

/// The error answers of the formats added as data, each refused whole with the vendor's words,
/// and answers that name a parcel with no events yet read as no events.
#[test]
fn the_vendors_error_answers_are_refused_with_their_message() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "amazon-shipping",
            r#"{"errors":[{"code":"InvalidInput","message":"Tracking ID is invalid","details":""}]}"#,
            "Tracking ID is invalid",
        ),
        (
            "sf-express",
            r#"{"apiResultCode":"A1000","apiResultData":"{\"success\":false,\"errorCode\":\"8152\",\"errorMsg\":\"查询的运单号不存在\",\"msgData\":{\"routeResps\":[]}}"}"#,
            "查询的运单号不存在",
        ),
        (
            "nz-post",
            r#"{"success":false,"errors":[{"code":"404","details":"Tracking reference not found"}]}"#,
            "Tracking reference not found",
        ),
        (
            "ontrac",
            "<OnTracTrackingResult><Error>Invalid tracking number</Error><Shipments/></OnTracTrackingResult>",
            "Invalid tracking number",
        ),
        (
            "aramex",
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><ShipmentTrackingResponse><Notifications><Notification><Code>ERR01</Code><Message>Invalid user name or password</Message></Notification></Notifications><HasErrors>true</HasErrors></ShipmentTrackingResponse></s:Body></s:Envelope>"#,
            "Invalid user name or password",
        ),
    ];
    for (name, doc, message) in cases {
        let f = builtin_format(name).unwrap();
        let e = f.parse(doc.as_bytes()).unwrap_err();
        assert!(e.message.contains(message), "{name}: {e}");
    }
    let empty: &[(&str, &str)] = &[
        (
            "cainiao",
            r#"{"module":[{"mailNo":"LP00000000000000","mailNoSource":"EXTERNAL","detailList":[]}],"success":true}"#,
        ),
        (
            "nz-post",
            r#"{"success":true,"results":{"tracking_reference":"CL000000000NZ","carrier":"CourierPost"}}"#,
        ),
        ("dhl-ecommerce", r#"{"packages":[]}"#),
    ];
    for (name, doc) in empty {
        let p = builtin_format(name).unwrap().parse(doc.as_bytes()).unwrap();
        assert!(
            p.observations.is_empty() && p.unreadable.is_empty(),
            "{name}"
        );
    }
}
