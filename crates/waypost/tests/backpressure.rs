//! A small queue under a flood: intake answers 429 with Retry-After instead of queueing without
//! bound; what was acknowledged is all applied; what was refused is not stored.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use common::*;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CLIENTS: usize = 20;
const BATCHES_PER_CLIENT: usize = 3;
const ORDERS_PER_BATCH: usize = 50;
const EVENTS_PER_ORDER: usize = 10;
const STATUSES: [&str; 5] = [
    "pending",
    "packed",
    "shipped",
    "in_transit",
    "out_for_delivery",
];

fn batch(name: &str) -> Value {
    let mut events = Vec::with_capacity(ORDERS_PER_BATCH * EVENTS_PER_ORDER);
    for o in 0..ORDERS_PER_BATCH {
        for i in 0..EVENTS_PER_ORDER {
            let order = format!("{name}-{o}");
            events.push(ev(
                &format!("{order}-{i}"),
                &order,
                STATUSES[i % STATUSES.len()],
                &at(i as i64),
            ));
        }
    }
    Value::Array(events)
}

#[derive(Debug, Default)]
struct Tally {
    /// Batches acknowledged (first try or after retrying).
    acked: Vec<String>,
    /// Batches refused with 429 and given up on.
    abandoned: Vec<String>,
    /// Batches refused at least once, then retried until acknowledged.
    retried: Vec<String>,
    throttled_responses: usize,
}

/// Sends its batches; a refused batch is retried after Retry-After if `retry`, else dropped.
async fn client(s: Arc<Server>, key: String, c: usize, tally: Arc<Mutex<Tally>>) {
    for b in 0..BATCHES_PER_CLIENT {
        let name = format!("BP{c}-{b}");
        let body = batch(&name);
        let retry = (c + b).is_multiple_of(2);
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut refused = false;
        loop {
            let r = s.post_events(&key, &body).await;
            match r.status {
                202 => {
                    let n = ORDERS_PER_BATCH * EVENTS_PER_ORDER;
                    assert_eq!(r.body, json!({"accepted": n, "duplicates": 0}), "{name}");
                    let mut t = tally.lock().expect("tally");
                    t.acked.push(name.clone());
                    if refused {
                        t.retried.push(name);
                    }
                    break;
                }
                429 => {
                    r.assert_problem(429);
                    assert_eq!(r.body["type"], "urn:waypost:problem:queue-full");
                    let after: u64 = r
                        .headers
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse().ok())
                        .unwrap_or_else(|| {
                            panic!("429 without a Retry-After in seconds: {:?}", r.headers)
                        });
                    assert!((1..=60).contains(&after), "Retry-After {after}");
                    refused = true;
                    {
                        let mut t = tally.lock().expect("tally");
                        t.throttled_responses += 1;
                        if !retry {
                            t.abandoned.push(name);
                            break;
                        }
                    }
                    assert!(Instant::now() < deadline, "{name} never got through");
                    tokio::time::sleep(Duration::from_secs(after)).await;
                }
                other => panic!("{name}: unexpected {other}: {}", r.body),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_gets_429s_and_everything_acknowledged_is_applied() {
    let s = Arc::new(
        spawn_server_with(&[
            ("WAYPOST_QUEUE__MAX_EVENTS", "1000"),
            ("WAYPOST_QUEUE__MAX_WAITING_REQUESTS", "16"),
        ])
        .await,
    );
    let key = s.key("acme", "ingest,read");
    let tally = Arc::new(Mutex::new(Tally::default()));
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|c| tokio::spawn(client(s.clone(), key.clone(), c, tally.clone())))
        .collect();
    for t in tasks {
        t.await.expect("client");
    }
    let t = std::mem::take(&mut *tally.lock().expect("tally"));
    eprintln!(
        "acked {}, retried {}, abandoned {}, 429s {}",
        t.acked.len(),
        t.retried.len(),
        t.abandoned.len(),
        t.throttled_responses
    );
    assert!(
        t.throttled_responses > 0,
        "the flood never met a full queue"
    );
    assert!(!t.acked.is_empty());
    assert_eq!(
        t.acked.len() + t.abandoned.len(),
        CLIENTS * BATCHES_PER_CLIENT
    );

    // Everything acknowledged gets applied: applied catches up with accepted.
    let per_batch = (ORDERS_PER_BATCH * EVENTS_PER_ORDER) as f64;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let m = s.metrics().await;
        let accepted = metric_in(&m, "waypost_events_accepted_total");
        let applied = metric_in(&m, "waypost_events_applied_total");
        assert_eq!(accepted, per_batch * t.acked.len() as f64);
        assert_eq!(
            metric_in(&m, "waypost_events_rejected_total{reason=\"throttled\"}"),
            per_batch * t.throttled_responses as f64
        );
        if applied == accepted {
            assert_eq!(metric_in(&m, "waypost_queue_depth"), 0.0);
            break;
        }
        assert!(
            applied < accepted,
            "applied {applied} > accepted {accepted}"
        );
        assert!(
            Instant::now() < deadline,
            "applied stuck at {applied} of {accepted}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let last = ORDERS_PER_BATCH - 1;
    for name in &t.acked {
        for o in [0, last] {
            let order = s.get(&key, &format!("/v1/orders/{name}-{o}")).await;
            assert_eq!(
                order.status, 200,
                "{name}-{o} was acknowledged: {}",
                order.body
            );
            assert_eq!(
                order.body["timeline"].as_array().map(Vec::len),
                Some(EVENTS_PER_ORDER)
            );
        }
    }
    for name in &t.abandoned {
        for o in [0, last] {
            s.get(&key, &format!("/v1/orders/{name}-{o}"))
                .await
                .assert_problem(404);
        }
    }
    // The queue drained, so intake takes requests again.
    let r = s.post_events(&key, &batch("AFTER")).await;
    assert_eq!(r.status, 202, "{}", r.body);
}
