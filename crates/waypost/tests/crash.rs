//! kill -9 during sustained ingest loses nothing that was acknowledged, and leaves a projection
//! that a replay of the log reproduces.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use common::*;
use futures::StreamExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CLIENTS: usize = 4;
const BATCH: usize = 50;
/// Ingest stops (by the kill) after this long, or once this many orders were acknowledged.
const INGEST_FOR: Duration = Duration::from_secs(2);
const MAX_ORDERS_PER_ROUND: usize = 3000;
/// At most this many orders are read back per check.
const SAMPLE: usize = 4000;

const PROGRESS: [&str; 6] = [
    "pending",
    "packed",
    "shipped",
    "in_transit",
    "out_for_delivery",
    "delivered",
];

/// An order whose events were all acknowledged with a 202, and the status they must lead to.
#[derive(Debug, Clone)]
struct Acked {
    order_id: String,
    event_ids: BTreeSet<String>,
    status: String,
}

/// Every event of an order, in one batch, so an acknowledged order is known in full. Statuses
/// progress with time (a `delayed` may come in between); the latest event decides the state.
fn order_events(rng: &mut StdRng, order_id: &str) -> (Vec<Value>, Acked) {
    let k = rng.random_range(2..=PROGRESS.len());
    let mut statuses: Vec<&str> = PROGRESS[..k].to_vec();
    if k >= 4 && rng.random_bool(0.3) {
        statuses.insert(3, "delayed");
    }
    let start = rng.random_range(0..100_000);
    let track = format!("T-{order_id}");
    let events: Vec<Value> = statuses
        .iter()
        .enumerate()
        .map(|(i, st)| {
            let id = format!("{order_id}-e{i}");
            let t = at(start + 10 * i as i64);
            let mut e = if i < 2 {
                ev(&id, order_id, st, &t)
            } else {
                carrier_ev(&id, order_id, &track, st, &t)
            };
            if *st == "delayed" {
                e["reason"] = json!("weather");
            }
            e
        })
        .collect();
    let acked = Acked {
        order_id: order_id.to_string(),
        event_ids: events
            .iter()
            .map(|e| e["event_id"].as_str().unwrap_or("").to_string())
            .collect(),
        status: statuses[statuses.len() - 1].to_string(),
    };
    (events, acked)
}

struct Shared {
    acked: Mutex<Vec<Acked>>,
    count: AtomicUsize,
    stop: AtomicBool,
}

/// Posts batches until stopped or the server goes away; records what was acknowledged.
async fn client(base: String, key: String, round: usize, c: usize, shared: Arc<Shared>) {
    let http = plain_client();
    let mut rng = StdRng::seed_from_u64((round * 100 + c) as u64);
    let mut last: Option<(Vec<Value>, Vec<Acked>)> = None;
    let mut n = 0;
    while !shared.stop.load(Relaxed) {
        let (mut batch, orders, again) = match last.take() {
            // Now and then the previous batch again, as a retrying sender would.
            Some((b, o)) if rng.random_bool(0.15) => (b, o, true),
            _ => {
                let (mut batch, mut orders) = (Vec::new(), Vec::new());
                while batch.len() < BATCH {
                    let (evs, a) = order_events(&mut rng, &format!("K{round}-C{c}-{n}"));
                    n += 1;
                    batch.extend(evs);
                    orders.push(a);
                }
                (batch, orders, false)
            }
        };
        let fresh = batch.len();
        if rng.random_bool(0.2) {
            let copy = batch[rng.random_range(0..batch.len())].clone();
            batch.push(copy);
        }
        let sent = http
            .post(format!("{base}/v1/events"))
            .bearer_auth(&key)
            .json(&batch)
            .send()
            .await;
        let Ok(resp) = sent else { return };
        let status = resp.status().as_u16();
        let Ok(body) = resp.json::<Value>().await else {
            return;
        };
        assert_eq!(status, 202, "{body}");
        let (accepted, dups) = (
            body["accepted"].as_u64().unwrap_or(0),
            body["duplicates"].as_u64().unwrap_or(0),
        );
        assert_eq!((accepted + dups) as usize, batch.len(), "{body}");
        assert!(accepted as usize <= fresh, "{body}");
        if again {
            assert_eq!(accepted, 0, "a batch sent again was stored again: {body}");
        } else {
            shared.count.fetch_add(orders.len(), Relaxed);
            shared
                .acked
                .lock()
                .expect("acked")
                .extend(orders.iter().cloned());
        }
        batch.truncate(fresh);
        last = Some((batch, orders));
    }
}

/// Runs the clients, then SIGKILLs the server while their requests are in flight.
async fn ingest_and_kill(s: &mut Server, key: &str, round: usize) -> Vec<Acked> {
    let shared = Arc::new(Shared {
        acked: Mutex::new(Vec::new()),
        count: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
    });
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|c| {
            tokio::spawn(client(
                s.base.clone(),
                key.to_string(),
                round,
                c,
                shared.clone(),
            ))
        })
        .collect();
    let started = Instant::now();
    while started.elapsed() < INGEST_FOR && shared.count.load(Relaxed) < MAX_ORDERS_PER_ROUND {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    s.kill();
    shared.stop.store(true, Relaxed);
    for t in tasks {
        t.await.expect("client task");
    }
    let acked = std::mem::take(&mut *shared.acked.lock().expect("acked"));
    assert!(
        acked.len() > 100,
        "too little was ingested to test anything: {} orders",
        acked.len()
    );
    eprintln!(
        "round {round}: {} orders acknowledged in {:?}",
        acked.len(),
        started.elapsed()
    );
    acked
}

/// `waypost verify`: exits 0 and reports no mismatch. Returns the report.
fn verify(s: &Server) -> Value {
    let out = Command::new(BIN)
        .args(["verify", "--data-dir"])
        .arg(&s.dir)
        .output()
        .expect("run waypost verify");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "verify failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(stdout.trim()).expect("verify prints JSON");
    assert_eq!(report["mismatches"], json!([]), "{report}");
    report
}

/// Every acknowledged order holds exactly its events and the state they lead to.
async fn check(s: &Server, key: &str, acked: &[Acked]) {
    let step = acked.len().div_ceil(SAMPLE).max(1);
    let sample: Vec<&Acked> = acked.iter().step_by(step).collect();
    let checked = futures::stream::iter(sample.iter().map(|a| async move {
        let o = s.wait_for_status(key, &a.order_id, &a.status).await;
        let got: Vec<&str> = o["timeline"]
            .as_array()
            .expect("timeline")
            .iter()
            .filter_map(|t| t["event_id"].as_str())
            .collect();
        let set: BTreeSet<String> = got.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            set, a.event_ids,
            "order {} lost or gained events",
            a.order_id
        );
        assert_eq!(
            got.len(),
            a.event_ids.len(),
            "order {} stored an event twice: {got:?}",
            a.order_id
        );
    }))
    .buffer_unordered(8)
    .count()
    .await;
    assert_eq!(checked, sample.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_during_ingest_loses_nothing_acknowledged() {
    let mut s = spawn_server().await;
    let key = s.key("acme", "ingest,read");
    let mut all = Vec::new();
    for round in 0..2 {
        let acked = ingest_and_kill(&mut s, &key, round).await;
        // The store as the crash left it: the projection matches a replay up to its checkpoint.
        let crashed = verify(&s);
        assert!(
            crashed["applied_seq"].as_u64() <= crashed["last_seq"].as_u64(),
            "{crashed}"
        );
        all.extend(acked);

        s.start().await;
        // Ready means recovered: nothing accepted is left unapplied.
        assert_eq!(s.metric("waypost_queue_depth").await, 0.0);
        check(&s, &key, &all).await;
    }
    // Once idle, the checkpoint is at the end of the log and a replay agrees with everything.
    let report = verify(&s);
    assert_eq!(report["applied_seq"], report["last_seq"], "{report}");
    let orders = report["orders"].as_u64().unwrap_or(0) as usize;
    assert!(
        orders >= all.len(),
        "{orders} orders in the store, {} acknowledged",
        all.len()
    );
    // And the restarted server takes new events.
    assert_eq!(
        s.post_events(&key, &ev("after", "AFTER", "packed", &at(0)))
            .await
            .status,
        202
    );
    s.wait_for_status(&key, "AFTER", "packed").await;
}
