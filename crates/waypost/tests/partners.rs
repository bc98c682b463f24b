//! Partners end to end: the simulated world against the real binary (`waypost simulate
//! --verify` under the chaos profile), and a polled partner's health as operators see it at
//! `/v1/sources` while it goes down and comes back.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::Value;
use std::time::{Duration, Instant};

#[test]
fn a_chaotic_world_ends_exactly_as_the_truth_says() {
    let dir = tempfile::tempdir().unwrap();
    let truth = dir.path().join("truth.jsonl");
    let out = std::process::Command::new(BIN)
        .args([
            "simulate", "--verify", "--orders", "40", "--seed", "7", "--faults", "chaos",
            "--speed", "2880", "--settle", "90s", "--truth",
        ])
        .arg(&truth)
        .env("WAYPOST_LOG", "error")
        .env("WAYPOST_SERVER__DATA_DIR", dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(report["orders"], 40, "{report}");
    assert_eq!(report["final_state_matches"], 40, "{report}");
    assert_eq!(report["history_matches"], 40, "{report}");
    assert_eq!(report["accuracy"], 1.0, "{report}");
    // The chaos really happened: partners failed, the webhook outage dropped pushes...
    assert!(report["faults"]["error"].as_u64().unwrap() > 0, "{report}");
    assert!(
        report["pushes_skipped_outage"].as_u64().unwrap() > 0,
        "{report}"
    );
    // ...and only what the simulator broke on purpose became a dead letter.
    assert!(
        report["dead_letters"].as_u64().unwrap() <= report["malformed_served"].as_u64().unwrap(),
        "{report}"
    );
    assert!(
        report["status_latency_ms"]["events_measured"]
            .as_u64()
            .unwrap()
            > 0
    );
    // Orders through the sales channels beside the world: every planted bad one caught by
    // the right check, no good one held or rejected, nothing acknowledged lost.
    assert_eq!(report["intake_expected"], 60, "{report}");
    for zero in [
        "intake_lost",
        "intake_held_wrong",
        "intake_rejected_wrong",
        "intake_accepted_wrong",
        "intake_unanswered",
    ] {
        assert_eq!(report[zero], 0, "{zero}: {report}");
    }
    for some in [
        "intake_accepted",
        "intake_held_right",
        "intake_rejected_right",
        "intake_cancelled",
    ] {
        assert!(report[some].as_u64().unwrap() > 0, "{some}: {report}");
    }
    let lines = std::fs::read_to_string(&truth).unwrap();
    assert_eq!(lines.lines().count(), 40);
    let first: Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert!(
        first["history"].is_object() && first["status"].is_string(),
        "{first}"
    );
}

/// A feed that answers `{"events": []}`: a healthy, idle WMS.
async fn serve_wms(listener: tokio::net::TcpListener) {
    let app = axum::Router::new().route(
        "/wms/v1/events",
        axum::routing::get(|| async {
            axum::Json(serde_json::json!({"events": [], "next_cursor": "c0", "has_more": false}))
        }),
    );
    axum::serve(listener, app).await.unwrap();
}

async fn source(s: &Server, key: &str) -> Value {
    let r = s.get(key, "/v1/sources").await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "wms-acme")
        .cloned()
        .unwrap_or_else(|| panic!("no wms-acme in {}", r.body))
}

async fn wait_until(s: &Server, key: &str, within: Duration, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let h = source(s, key).await;
        if ok(&h) {
            return h;
        }
        assert!(Instant::now() < deadline, "not reached: {h}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_partner_going_down_opens_its_breaker_and_recovers() {
    // A port with nobody behind it yet: the partner is down.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = format!(
        r#"
[[connectors]]
name = "wms-acme"
tenant = "acme"
source = "wms"
base_url = "http://127.0.0.1:{port}/wms"
credentials = {{ api_key = "k" }}
interval = "1s"
catch_up_interval = "1s"
timeout = "1s"
max_retries = 2
backoff_base = "10ms"
backoff_cap = "50ms"
breaker_failures = 3
breaker_cool_off = "1s"
"#
    );
    let s = spawn_server_with_config(&config).await;
    let key = s.key("acme", "read");
    // Down is seen within a few polling intervals, and the breaker opens.
    let h = wait_until(&s, &key, Duration::from_secs(10), |h| {
        h["state"] == "circuit_open"
    })
    .await;
    assert_eq!(h["kind"], "poll");
    assert_eq!(h["breaker"], "open", "{h}");
    assert!(h["last_5m"]["errors"].as_u64().unwrap() >= 3, "{h}");
    assert!(h["last_success_at"].is_null(), "{h}");
    let metrics = s.metrics().await;
    assert!(
        metrics.contains("connector=\"wms-acme\""),
        "connector metrics missing:\n{metrics}"
    );
    // One registry, one answer: the engine's families and the connectors' side by side, each
    // family described once.
    for line in [
        "waypost_connector_state{connector=\"wms-acme\",state=\"circuit_open\"} 1",
        "# TYPE waypost_connector_requests_total counter",
        "# TYPE waypost_events_accepted_total counter",
        "waypost_events_rejected_total{reason=\"too_large\"} 0",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "{line} missing from\n{metrics}"
        );
    }
    for family in ["waypost_connector_requests_total", "waypost_queue_depth"] {
        let described = format!("# TYPE {family} ");
        assert_eq!(metrics.matches(&described).count(), 1, "{metrics}");
    }
    // Another tenant sees none of it.
    let other = s.get(&s.key("globex", "read"), "/v1/sources").await;
    assert_eq!(other.body["items"], serde_json::json!([]), "{}", other.body);

    // The partner comes back: after the cool-off a trial succeeds and the breaker closes.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    tokio::spawn(serve_wms(listener));
    let h = wait_until(&s, &key, Duration::from_secs(15), |h| {
        h["breaker"] == "closed" && h["last_success_at"].is_string()
    })
    .await;
    // Closed again; the failures still weigh on the 5-minute error rate for a while.
    assert!(
        matches!(h["state"].as_str(), Some("healthy" | "degraded")),
        "{h}"
    );
    assert!(h["breaker_opened"].as_u64().unwrap() >= 1, "{h}");
}

#[tokio::test]
async fn a_separately_run_engine_is_verified_against_the_world() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let world = [
        "--orders",
        "15",
        "--seed",
        "11",
        "--speed",
        "8640",
        "--tenants",
        "acme",
        "--sim-listen",
        listen.as_str(),
    ];
    let out = std::process::Command::new(BIN)
        .args(["simulate", "--print-config"])
        .args(world)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = String::from_utf8(out.stdout).unwrap();
    assert!(
        config.contains("[[connectors]]") && config.contains("[[webhooks]]"),
        "{config}"
    );
    // The engine runs on its own, configured for the world, before the world exists.
    let s = spawn_server_with_config(&config).await;
    let key = s.key("acme", "read");
    let mut verify = std::process::Command::new(BIN);
    verify
        .args(["simulate", "--verify", "--engine", &s.base, "--key", &key])
        .args(["--settle", "60s"])
        .args(world)
        .env("WAYPOST_LOG", "error");
    let out = tokio::task::spawn_blocking(move || verify.output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        s.log_text()
    );
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(report["orders"], 15, "{report}");
    assert_eq!(report["accuracy"], 1.0, "{report}");
}
