//! `waypost normalize`, `waypost mappings` and `waypost bench --normalize`, through the real
//! binary. No server runs here.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use common::BIN;
use serde_json::Value;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A hand-written corpus document (`corpus/<source>/synthetic/<name>` for `<source>/<name>`).
fn corpus(path: &str) -> PathBuf {
    let (source, name) = path.split_once('/').unwrap_or(("", path));
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../adapters/corpus")
        .join(source)
        .join("synthetic")
        .join(name)
}

/// Runs the binary on a throwaway data directory (so no override from the caller's machine is
/// picked up), with `stdin` piped in.
fn waypost(args: &[&str], data_dir: &Path, stdin: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("WAYPOST_MAPPINGS__DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run waypost");
    // Fed from a thread: a large input and a large output would otherwise each wait for the
    // other pipe to drain.
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        // The child may exit before reading everything (an unknown source): not an error here.
        let _ = input.write_all(&stdin);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn json_lines(out: &Output) -> Vec<Value> {
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn a_corpus_file_comes_out_as_canonical_events() {
    let dir = tempfile::tempdir().unwrap();
    let file = corpus("ups/01-ground-delivered.json");
    let out = waypost(
        &["normalize", "--source", "ups", file.to_str().unwrap()],
        dir.path(),
        b"",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let events = json_lines(&out);
    assert_eq!(events.len(), 7);
    let delivered = &events[0];
    assert_eq!(delivered["status"], "delivered");
    assert_eq!(delivered["reason"], Value::Null);
    assert_eq!(delivered["occurred_at"], "2024-04-11T12:04:35-07:00");
    assert_eq!(delivered["tracking_number"], "1Z81WV380316886897");
    assert_eq!(delivered["order_id"], "PO-1001");
    assert_eq!(delivered["raw_code"], "FS");
    assert_eq!(delivered["raw_description"], "DELIVERED");
    assert_eq!(delivered["location"]["city"], "Newark");
    assert_eq!(delivered["location"]["country"], "US");
    assert_eq!(delivered["source"], "ups");
    for e in &events {
        for field in [
            "status",
            "reason",
            "occurred_at",
            "tracking_number",
            "raw_code",
            "raw_description",
            "location",
        ] {
            assert!(e.get(field).is_some(), "{field} missing from {e}");
        }
        assert!(e.get("unmapped").is_none(), "{e}");
    }
    assert_eq!(events[6]["status"], "label_created");
}

#[test]
fn lines_from_stdin_with_stats() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = Vec::new();
    for name in ["01-ground-delivered.json", "02-multi-package-winter.json"] {
        let doc: Value =
            serde_json::from_slice(&std::fs::read(corpus(&format!("ups/{name}"))).unwrap())
                .unwrap();
        input.extend(serde_json::to_vec(&doc).unwrap());
        input.extend(b"\n\n");
    }
    let out = waypost(
        &["normalize", "--source", "ups", "--lines", "--stats"],
        dir.path(),
        &input,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(json_lines(&out).len(), 7 + 4);
    let stderr = text(&out.stderr);
    let stats: Value = serde_json::from_str(stderr.lines().last().unwrap()).unwrap();
    assert_eq!(stats["documents"], 2);
    assert_eq!(stats["events"], 11);
    assert_eq!(stats["failed"], 0);
    assert!(stats["documents_per_sec"].is_number(), "{stats}");
    assert!(stats["seconds"].is_number(), "{stats}");
}

#[test]
fn an_unknown_source_lists_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let out = waypost(&["normalize", "--source", "upz"], dir.path(), b"{}");
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    for name in ["upz", "ups", "fedex", "x12-214", "wms"] {
        assert!(stderr.contains(name), "{name} missing from {stderr}");
    }
}

#[test]
fn a_broken_document_fails_naming_where_and_the_rest_still_come_out() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"trackResponse":{"shipment":[{"package":[{"trackingNumber":"1Z1","activity":[{"status":{"type":"I","code":"AR"},"date":"2024-04-10","time":"120000","gmtOffset":"-05:00"}]}]}]}}"#,
    )
    .unwrap();
    let good = corpus("ups/01-ground-delivered.json");
    let out = waypost(
        &[
            "normalize",
            "--source",
            "ups",
            bad.to_str().unwrap(),
            good.to_str().unwrap(),
        ],
        dir.path(),
        b"",
    );
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("bad.json"), "{stderr}");
    assert!(
        stderr.contains("trackResponse.shipment[0].package[0].activity[0].date"),
        "{stderr}"
    );
    assert_eq!(
        json_lines(&out).len(),
        7,
        "the good file is still normalized"
    );

    // With --lines the line number is named.
    let out = waypost(
        &["normalize", "--source", "ups", "--lines"],
        dir.path(),
        b"{\"trackResponse\":{\"shipment\":[]}}\nnot json\n",
    );
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("stdin: line 2"), "{stderr}");
}

fn write_override(root: &Path, tenant: &str, source: &str, body: &str) -> PathBuf {
    let dir = root.join(tenant);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{source}.toml"));
    std::fs::write(&path, format!("source = \"{source}\"\n[codes]\n{body}\n")).unwrap();
    path
}

#[test]
fn a_tenant_override_changes_that_tenant_only() {
    let dir = tempfile::tempdir().unwrap();
    // The default overrides directory: <data_dir>/mappings.
    write_override(
        &dir.path().join("mappings"),
        "acme",
        "ups",
        r#""I:OT" = { status = "in_transit", description = "Out For Delivery Today (acme counts it as transit)" }"#,
    );
    let file = corpus("ups/01-ground-delivered.json");
    let file = file.to_str().unwrap();
    let status_of_ot = |extra: &[&str]| {
        let mut args = vec!["normalize", "--source", "ups", file];
        args.extend_from_slice(extra);
        let out = waypost(&args, dir.path(), b"");
        assert!(out.status.success(), "{}", text(&out.stderr));
        let events = json_lines(&out);
        let ot = events.iter().find(|e| e["raw_code"] == "OT").unwrap();
        ot["status"].as_str().unwrap().to_owned()
    };
    assert_eq!(status_of_ot(&["--tenant", "acme"]), "in_transit");
    assert_eq!(status_of_ot(&["--tenant", "globex"]), "out_for_delivery");
    assert_eq!(status_of_ot(&[]), "out_for_delivery");

    let out = waypost(
        &[
            "mappings", "show", "--source", "ups", "--tenant", "acme", "--json",
        ],
        dir.path(),
        b"",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let ot = json_lines(&out)
        .into_iter()
        .find(|l| l["code"] == "I:OT")
        .unwrap();
    assert_eq!(ot["status"], "in_transit");
}

#[test]
fn mappings_check_passes_clean_tables_and_names_a_bad_override() {
    let dir = tempfile::tempdir().unwrap();
    let overrides = dir.path().join("overrides");
    write_override(
        &overrides,
        "acme",
        "fedex",
        r#""ZZ" = { status = "lost", description = "Lost in the depot" }"#,
    );
    let out = waypost(
        &["mappings", "check", "--dir", overrides.to_str().unwrap()],
        dir.path(),
        b"",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("ups: ") && l.ends_with(", ok")),
        "{stdout}"
    );
    assert!(stdout.contains("acme/fedex"), "{stdout}");

    let bad = write_override(
        &overrides,
        "acme",
        "ups",
        r#""D" = { status = "teleported", description = "Beamed up" }"#,
    );
    let out = waypost(
        &["mappings", "check", "--dir", overrides.to_str().unwrap()],
        dir.path(),
        b"",
    );
    assert!(!out.status.success());
    let stdout = text(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.contains("teleported"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(line.starts_with(bad.to_str().unwrap()), "{line}");
    assert!(line.contains("code \"D\""), "{line}");

    // The same broken override stops `normalize` for anyone: half a mapping set is refused.
    let env_out = Command::new(BIN)
        .args(["normalize", "--source", "ups", "--data-dir"])
        .arg(dir.path())
        .env("WAYPOST_MAPPINGS__DIR", &overrides)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!env_out.status.success());
    assert!(
        text(&env_out.stderr).contains("teleported"),
        "{}",
        text(&env_out.stderr)
    );
}

#[test]
fn bench_normalize_prints_its_report() {
    let dir = tempfile::tempdir().unwrap();
    let emitted = dir.path().join("docs.jsonl");
    let out = waypost(
        &[
            "bench",
            "--normalize",
            "ups",
            "--documents",
            "2000",
            "--json",
            "--emit-documents",
            emitted.to_str().unwrap(),
        ],
        dir.path(),
        b"",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(report["benchmark"], "normalize");
    assert_eq!(report["source"], "ups");
    assert_eq!(report["documents"], 2000);
    let events = report["events"].as_u64().unwrap();
    assert!((3 * 2000..=8 * 2000).contains(&events), "{report}");
    for key in ["seconds", "documents_per_sec_per_core", "events_per_sec"] {
        assert!(report[key].is_number(), "{key}: {report}");
    }

    // The emitted documents are what `normalize --lines` reads, with the same events.
    let docs = std::fs::read(&emitted).unwrap();
    assert_eq!(docs.iter().filter(|b| **b == b'\n').count(), 2000);
    let out = waypost(
        &["normalize", "--source", "ups", "--lines", "--stats"],
        dir.path(),
        &docs,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(json_lines(&out).len() as u64, events);
}
