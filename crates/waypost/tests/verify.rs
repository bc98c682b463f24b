//! `waypost verify` against the real binary: on the data folder of a live server while events
//! keep arriving (it reads one snapshot, so no false mismatch), and on a tampered store (it
//! exits non-zero and names the order).
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use common::*;
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Orders kept moving by the writers; enough that one verify overlaps many of their commits.
const ORDERS: usize = 3000;
const WRITERS: usize = 4;
const BATCH: usize = 100;
/// Verify runs made while the writers post.
const RUNS: usize = 4;

fn verify(dir: &Path) -> Output {
    Command::new(BIN)
        .args(["verify", "--data-dir"])
        .arg(dir)
        .output()
        .expect("run waypost verify")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Event `n` of order `o`: a scan somewhere new, later than the last, so every event changes
/// the order's stored state.
fn scan(o: usize, n: u64) -> Value {
    let order = format!("L{o:05}");
    carrier_ev(
        &format!("{order}-{n}"),
        &order,
        &format!("T{o:05}"),
        if n == 0 { "shipped" } else { "in_transit" },
        &at(n as i64),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn verify_beside_a_live_server_reports_no_false_mismatch() {
    let s = Arc::new(spawn_server().await);
    let key = s.key("acme", "ingest,read");
    for chunk in (0..ORDERS).collect::<Vec<_>>().chunks(BATCH) {
        let body = Value::Array(chunk.iter().map(|o| scan(*o, 0)).collect());
        assert_eq!(s.post_events(&key, &body).await.status, 202);
    }
    s.wait_for_status(&key, &format!("L{:05}", ORDERS - 1), "shipped")
        .await;

    // Writers walk over every order again and again, one new scan each time.
    let stop = Arc::new(AtomicBool::new(false));
    let accepted = Arc::new(AtomicU64::new(0));
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (s, key, stop, accepted) = (s.clone(), key.clone(), stop.clone(), accepted.clone());
        writers.push(tokio::spawn(async move {
            let mut round = 1u64;
            while !stop.load(Relaxed) {
                let mine: Vec<usize> = (w..ORDERS).step_by(WRITERS).collect();
                for chunk in mine.chunks(BATCH) {
                    if stop.load(Relaxed) {
                        break;
                    }
                    let body = Value::Array(chunk.iter().map(|o| scan(*o, round)).collect());
                    let r = s.post_events(&key, &body).await;
                    assert!(
                        r.status == 202 || r.status == 429,
                        "{} {}",
                        r.status,
                        r.body
                    );
                    if r.status == 202 {
                        accepted.fetch_add(chunk.len() as u64, Relaxed);
                    }
                }
                round += 1;
            }
        }));
    }

    let mut seen = Vec::new();
    for run in 0..RUNS {
        let before = accepted.load(Relaxed);
        let dir = s.dir.clone();
        let out = tokio::task::spawn_blocking(move || verify(&dir))
            .await
            .unwrap();
        let stdout = text(&out.stdout);
        assert!(
            out.status.success(),
            "run {run}: verify failed on a live store: {stdout}\n{}",
            text(&out.stderr)
        );
        let report: Value = serde_json::from_str(stdout.trim()).expect("verify prints JSON");
        assert_eq!(report["mismatched"], 0, "run {run}: {report}");
        assert_eq!(report["mismatches"], json!([]), "run {run}: {report}");
        assert!(
            report["orders"].as_u64().unwrap() >= ORDERS as u64,
            "{report}"
        );
        seen.push((report["applied_seq"].as_u64().unwrap(), before));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    // The writers really wrote while verify read: the log grew between every two runs.
    for pair in seen.windows(2) {
        assert!(pair[1].0 > pair[0].0, "no writes between runs: {seen:?}");
    }
    assert!(
        accepted.load(Relaxed) > 0,
        "the writers got nothing accepted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_names_an_order_whose_stored_state_was_tampered_with() {
    let mut s = spawn_server().await;
    let key = s.key("acme", "ingest,read");
    let body = json!([
        ev("a1", "O1", "packed", &at(0)),
        ev("b1", "O2", "packed", &at(0)),
        ev("b2", "O2", "shipped", &at(5)),
    ]);
    assert_eq!(s.post_events(&key, &body).await.status, 202);
    s.wait_for_status(&key, "O2", "shipped").await;
    s.wait_for_status(&key, "O1", "packed").await;
    let clean = verify(&s.dir);
    assert!(clean.status.success(), "{}", text(&clean.stderr));
    s.kill();

    // O2's stored state becomes O1's: what a lost or misapplied write would leave.
    let conn = rusqlite::Connection::open(s.dir.join("waypost.db")).unwrap();
    let n = conn
        .execute(
            "UPDATE orders SET state = (SELECT state FROM orders WHERE order_id = 'O1')
             WHERE order_id = 'O2'",
            [],
        )
        .unwrap();
    assert_eq!(n, 1);
    drop(conn);

    let out = verify(&s.dir);
    assert!(!out.status.success(), "verify passed a tampered store");
    let report: Value = serde_json::from_str(text(&out.stdout).trim()).expect("JSON report");
    assert_eq!(report["mismatched"], 1, "{report}");
    assert_eq!(
        report["mismatches"],
        json!(["order acme/O2: stored state (packed) differs from a replay (shipped)"])
    );
    let stderr = text(&out.stderr);
    assert!(stderr.contains("acme/O2"), "{stderr}");
    assert!(stderr.contains("report it as a bug"), "{stderr}");
}
