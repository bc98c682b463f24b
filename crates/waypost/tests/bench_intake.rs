//! `waypost bench intake`, small: a real server in a child process, a mixed-channel day of
//! 300 orders through the order channels, and the report's contract on its last line.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use common::BIN;
use serde_json::Value;
use std::process::Command;

#[test]
fn a_small_day_loses_nothing_and_reports_every_key() {
    let out = Command::new(BIN)
        .args(["bench", "intake", "--json", "--orders", "300"])
        .output()
        .expect("run waypost bench intake");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let r: Value = serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {last}\n{stderr}"));
    for key in [
        "offered",
        "accepted",
        "held",
        "rejected",
        "lost",
        "rate_multiplier",
        "latency_ms",
        "peak_rss_mb",
    ] {
        assert!(r.get(key).is_some(), "{key} missing from {r}");
    }
    for p in ["high", "standard"] {
        for q in ["p50", "p99"] {
            assert!(r["latency_ms"][p][q].is_number(), "{p}.{q} in {r}");
        }
    }
    assert_eq!(r["offered"], 300, "{r}");
    assert_eq!(r["lost"], 0, "{r}\n{stderr}");
    assert_eq!(r["unexpected"], 0, "{r}\n{stderr}");
    assert_eq!(r["errors"], 0, "{r}\n{stderr}");
    assert_eq!(r["rate_multiplier"], 10.0);
    let (a, h, j) = (
        r["accepted"].as_u64().unwrap(),
        r["held"].as_u64().unwrap(),
        r["rejected"].as_u64().unwrap(),
    );
    assert_eq!(a + h + j, 300, "{r}");
    assert!(
        h > 0 && j > 0,
        "planted bad orders are held and rejected: {r}"
    );
}
