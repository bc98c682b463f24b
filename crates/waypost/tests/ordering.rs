//! The invariant of the taxonomy: the state after a set of events is the same whatever order,
//! and however many copies, they arrive in.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use common::*;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde_json::{Value, json};

/// The state only, without what legitimately differs between two orders fed the same facts.
fn state_of(o: &Value) -> Value {
    let mut o = o.clone();
    let m = o.as_object_mut().expect("order object");
    for k in ["order_id", "version", "updated_at"] {
        m.remove(k);
    }
    let tl: Vec<Value> = m["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .map(|t| {
            json!([
                t["status"],
                t["occurred_at"],
                t["tracking_number"],
                t["raw_code"]
            ])
        })
        .collect();
    m.insert("timeline".into(), Value::Array(tl));
    o
}

fn history(order: &str, prefix: &str) -> Vec<Value> {
    let id = |n: u32| format!("{prefix}{n}");
    let mut shipped = carrier_ev(&id(4), order, "1ZA", "shipped", &at(90));
    shipped["raw_code"] = json!("OR");
    let mut delayed = carrier_ev(&id(5), order, "1ZA", "delayed", &at(150));
    delayed["reason"] = json!("weather");
    let mut delivered = carrier_ev(&id(8), order, "1ZA", "delivered", &at(240));
    delivered["location"] = json!({"city": "Reno", "country": "US"});
    vec![
        ev(&id(1), order, "pending", &at(0)),
        ev(&id(2), order, "packed", &at(30)),
        carrier_ev(&id(3), order, "1ZA", "label_created", &at(60)),
        shipped,
        delayed,
        carrier_ev(&id(6), order, "1ZA", "in_transit", &at(120)),
        carrier_ev(&id(7), order, "1ZA", "out_for_delivery", &at(200)),
        delivered,
        carrier_ev(&id(9), order, "1ZB", "shipped", &at(100)),
        carrier_ev(&id(10), order, "1ZB", "delivered", &at(230)),
    ]
}

#[tokio::test]
async fn arrival_order_and_copies_do_not_change_the_final_state() {
    let s = spawn_server().await;
    let key = s.key("acme", "ingest,read");

    // In order, one request per event.
    let a = history("IN-ORDER", "a");
    let n = a.len();
    for e in &a {
        let r = s.post_events(&key, e).await;
        assert_eq!(r.body, json!({"accepted": 1, "duplicates": 0}));
    }

    // Shuffled, with copies inside the batch and a copy of one fact under another event id.
    let b = history("SHUFFLED", "b");
    let mut batch = b.clone();
    batch.shuffle(&mut rand::rngs::StdRng::seed_from_u64(7));
    batch.push(b[3].clone());
    batch.insert(0, b[7].clone());
    batch.insert(4, b[0].clone());
    let mut same_content = b[5].clone();
    same_content["event_id"] = json!("b5-again-via-poll");
    batch.push(same_content);
    let r = s.post_events(&key, &Value::Array(batch.clone())).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body, json!({"accepted": n, "duplicates": 4}));
    // The whole batch again: nothing new.
    let r = s.post_events(&key, &Value::Array(batch.clone())).await;
    assert_eq!(r.body, json!({"accepted": 0, "duplicates": batch.len()}));

    let want = state_of(&s.wait_for_status(&key, "IN-ORDER", "delivered").await);
    assert_eq!(want["timeline"].as_array().map(Vec::len), Some(n));
    let got = s.wait_for(&key, "SHUFFLED", |o| state_of(o) == want).await;
    assert_eq!(state_of(&got), want);

    let m = s.metrics().await;
    assert_eq!(
        metric_in(&m, "waypost_events_accepted_total"),
        (2 * n) as f64
    );
    assert_eq!(
        metric_in(&m, "waypost_events_duplicate_total"),
        (4 + batch.len()) as f64
    );
}

/// Two reports of one scan that differ in what they add (here the promised date) are two
/// facts, or, if the server treats them as one, it must pick the same one whatever arrives
/// first. Either way both orders below must end in the same state.
#[tokio::test]
async fn reports_differing_only_in_details_give_the_same_state_in_any_order() {
    let s = spawn_server().await;
    let key = s.key("acme", "ingest,read");
    let report = |id: &str, order: &str, promised: &str| {
        let mut e = carrier_ev(id, order, "1ZP", "in_transit", &at(60));
        e["promised_at"] = json!(promised);
        e
    };
    let (early, late) = ("2025-01-20T17:00:00Z", "2025-01-25T17:00:00Z");
    for (order, first, second) in [
        ("FWD", report("f1", "FWD", early), report("f2", "FWD", late)),
        ("REV", report("r2", "REV", late), report("r1", "REV", early)),
    ] {
        for e in [first, second] {
            assert_eq!(s.post_events(&key, &e).await.status, 202, "{order}");
        }
    }
    let fwd = state_of(&s.wait_for_status(&key, "FWD", "in_transit").await);
    let rev = state_of(&s.wait_for_status(&key, "REV", "in_transit").await);
    assert_eq!(
        fwd, rev,
        "the promised date depends on which report arrived first"
    );
}
