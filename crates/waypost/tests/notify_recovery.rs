//! Notifications end to end against the real binary, recovery side (`docs/notifications.md`):
//! a receiver outage loses nothing and repeats nothing; a recovered endpoint gets its backlog
//! at once, in order; the fault point between send and mark re-sends with the same id only;
//! `kill -9` mid stream re-sends nothing already marked sent.
#![allow(clippy::unwrap_used)]

mod common;
mod notify_common;

use common::*;
use notify_common::*;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

const FLOW: [&str; 3] = ["shipped", "in_transit", "delivered"];

/// Accepted hits per (order, status): the distinct ids, and how often each was accepted.
fn tally(hits: &[Hit]) -> HashMap<(String, String), Vec<String>> {
    let mut out: HashMap<(String, String), Vec<String>> = HashMap::new();
    for h in hits.iter().filter(|h| h.accepted()) {
        let d = &h.json()["data"];
        let k = (
            d["order_id"].as_str().unwrap().to_string(),
            d["status"].as_str().unwrap().to_string(),
        );
        out.entry(k).or_default().push(h.id().to_string());
    }
    out
}

/// Per order, the statuses in the order they were first accepted.
fn arrival_order(hits: &[Hit]) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    let mut seen = HashSet::new();
    for h in hits.iter().filter(|h| h.accepted()) {
        if !seen.insert(h.id().to_string()) {
            continue;
        }
        let d = &h.json()["data"];
        out.entry(d["order_id"].as_str().unwrap().to_string())
            .or_default()
            .push(d["status"].as_str().unwrap().to_string());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_loses_nothing_and_repeats_nothing() {
    // Long enough (about 13 s of retries) that no first notification dies during the outage.
    let retry = format!(
        "retry = [\"200ms\", \"400ms\", \"800ms\"{}]",
        ", \"1s\"".repeat(12)
    );
    let s = spawn_server_with_config(&config(&retry, "")).await;
    let key = s.key("acme", SCOPES);
    let r = Receiver::start().await;
    let (ep, _) = add_webhook(&s, &key, &r.url, None).await;
    subscribe(&s, &key, &ep, &FLOW).await;
    r.set_down(true);
    let orders: Vec<String> = (0..20).map(|i| format!("OUT-{i:02}")).collect();
    for (step, status) in FLOW.iter().enumerate() {
        for o in &orders {
            let e = ev(&format!("{o}-{step}"), o, status, &at(step as i64 * 10));
            post_ok(&s, &key, json!([e])).await;
        }
    }
    for o in &orders {
        s.wait_for_status(&key, o, "delivered").await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        r.hits().iter().any(|h| h.code == 503),
        "tried during the outage"
    );
    assert!(r.accepted().is_empty());
    r.set_down(false);
    let all = r
        .wait(Duration::from_secs(15), |h| {
            h.iter()
                .filter(|h| h.accepted())
                .map(Hit::id)
                .collect::<HashSet<_>>()
                .len()
                >= 60
        })
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let all = {
        let later = r.hits();
        assert!(later.len() >= all.len());
        later
    };
    let t = tally(&all);
    assert_eq!(t.len(), 60, "every notification delivered");
    for (k, ids) in &t {
        assert_eq!(ids.len(), 1, "{k:?} accepted {} times: {ids:?}", ids.len());
    }
    for (o, seen) in arrival_order(&all) {
        assert_eq!(seen, FLOW, "order {o} out of order");
    }
    for o in orders.iter().take(3) {
        let log = log_of(&s, &key, o).await;
        assert_eq!(log.len(), 3, "{log:#?}");
        assert!(log.iter().all(|n| n["state"] == "sent"), "{log:#?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fault_point_after_send_resends_the_same_id_once() {
    let mut s = spawn_server_with_config_env(
        &config(RETRY, ""),
        &[("WAYPOST_TEST_FAULT", "notify-after-send")],
    )
    .await;
    let key = s.key("acme", SCOPES);
    let r = Receiver::start().await;
    let (ep, _) = add_webhook(&s, &key, &r.url, None).await;
    subscribe(&s, &key, &ep, &["shipped"]).await;
    post_ok(&s, &key, json!([ev("f1", "F-1", "shipped", &at(0))])).await;
    let first = r.wait_accepted(1, WAIT).await;
    let x = first[0].id().to_string();
    let deadline = Instant::now() + WAIT;
    while !s.exited() {
        assert!(
            Instant::now() < deadline,
            "the fault point did not abort the server"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(s.log_text().contains("fault point"), "{}", s.log_text());

    s.set_envs(&[]);
    s.start().await;
    let again = r.wait_accepted(2, WAIT).await;
    assert_eq!(again[1].id(), x, "re-sent with the same id");
    let log = wait_log(&s, &key, "F-1", WAIT, |l| {
        l.len() == 1 && l[0]["state"] == "sent"
    })
    .await;
    assert_eq!(log[0]["msg_id"], x.as_str());
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(r.hits().len(), 2, "marked sent: not sent a third time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_stream_loses_nothing_and_repeats_only_same_ids() {
    let mut s = spawn_server_with_config(&config(RETRY, "")).await;
    let key = s.key("acme", SCOPES);
    let r = Receiver::start().await;
    // A slow receiver, so the kill lands among sends in flight.
    r.script(|s| s.delay = Duration::from_millis(40));
    let (ep, _) = add_webhook(&s, &key, &r.url, None).await;
    subscribe(&s, &key, &ep, &FLOW).await;
    let orders: Vec<String> = (0..15).map(|i| format!("K-{i:02}")).collect();
    let mut events = Vec::new();
    for (step, status) in FLOW.iter().enumerate() {
        for o in &orders {
            events.push(ev(&format!("{o}-{step}"), o, status, &at(step as i64 * 10)));
        }
    }
    let cut = 20 + (rand::random::<u64>() % 10) as usize;
    for e in &events[..cut] {
        post_ok(&s, &key, json!([e])).await;
    }
    // Killed at a random point once some, not all, have arrived: sends are in flight.
    let some = cut / 3 + (rand::random::<u64>() % 6) as usize;
    r.wait(WAIT, |h| h.len() >= some).await;
    let before = r.hits().len();
    s.kill();
    s.start().await;
    for e in &events[cut..] {
        post_ok(&s, &key, json!([e])).await;
    }
    // Events posted before the kill were acknowledged, hence durable: all 45 notify.
    r.wait(Duration::from_secs(15), |h| tally(h).len() >= 45)
        .await;
    let deadline = Instant::now() + WAIT;
    loop {
        let mut pending = 0;
        for o in &orders {
            pending += log_of(&s, &key, o)
                .await
                .iter()
                .filter(|n| n["state"] != "sent")
                .count();
        }
        if pending == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{pending} never marked sent");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("killed after {before} requests of {cut} notifications");
    let t = tally(&r.hits());
    assert_eq!(t.len(), 45);
    for (k, ids) in &t {
        let distinct: HashSet<&String> = ids.iter().collect();
        assert_eq!(
            distinct.len(),
            1,
            "{k:?} arrived under several ids: {ids:?}"
        );
    }
    for (o, seen) in arrival_order(&r.hits()) {
        assert_eq!(seen, FLOW, "order {o} out of order");
    }
    // Everything is marked sent: a crash now re-sends nothing.
    let count = r.hits().len();
    s.kill();
    s.start().await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        r.hits().len(),
        count,
        "something marked sent was sent again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recovered_endpoint_gets_its_backlog_at_once_in_order() {
    // Retries far apart: without the breaker's recovery the backlog would wait a minute.
    let cfg = config("retry = [\"300ms\", \"60s\", \"60s\"]", "");
    let s = spawn_server_with_config(&cfg).await;
    let key = s.key("acme", SCOPES);
    let r = Receiver::start().await;
    let (ep, _) = add_webhook(&s, &key, &r.url, None).await;
    subscribe(&s, &key, &ep, &FLOW).await;
    r.set_down(true);
    let orders: Vec<String> = (0..10).map(|i| format!("BK-{i:02}")).collect();
    for (step, status) in FLOW.iter().take(2).enumerate() {
        for o in &orders {
            let e = ev(&format!("{o}-{step}"), o, status, &at(step as i64 * 10));
            post_ok(&s, &key, json!([e])).await;
        }
    }
    // Each order's first notification tried and failed (the second waits behind it).
    for o in &orders {
        wait_log(&s, &key, o, WAIT, |l| {
            l.len() == 2 && l[0]["attempts"].as_u64().unwrap_or(0) >= 1
        })
        .await;
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    r.set_down(false);
    let back = Instant::now();
    // New traffic probes the endpoint; its success makes the whole backlog due.
    post_ok(
        &s,
        &key,
        json!([ev("probe", "BK-PROBE", "shipped", &at(0))]),
    )
    .await;
    r.wait(Duration::from_secs(10), |h| tally(h).len() >= 21)
        .await;
    let took = back.elapsed();
    println!("backlog delivered {took:?} after the receiver came back");
    assert!(took < Duration::from_secs(10), "backlog took {took:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let all = r.hits();
    for (k, ids) in tally(&all) {
        assert_eq!(ids.len(), 1, "{k:?} accepted {} times", ids.len());
    }
    for (o, seen) in arrival_order(&all) {
        if o != "BK-PROBE" {
            assert_eq!(seen, FLOW[..2], "order {o} out of order");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_stop_marks_what_it_sent() {
    let mut s = spawn_server_with_config(&config(RETRY, "")).await;
    let key = s.key("acme", SCOPES);
    let r = Receiver::start().await;
    r.script(|s| s.delay = Duration::from_millis(700));
    let (ep, _) = add_webhook(&s, &key, &r.url, None).await;
    subscribe(&s, &key, &ep, &["shipped"]).await;
    post_ok(&s, &key, json!([ev("g1", "GS-1", "shipped", &at(0))])).await;
    // The request has arrived and is being answered: stop the server now.
    r.wait(WAIT, |h| !h.is_empty()).await;
    let pid = s.pid().unwrap().to_string();
    let st = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(st.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    while !s.exited() {
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    s.start().await;
    let log = wait_log(&s, &key, "GS-1", WAIT, |l| {
        l.len() == 1 && l[0]["state"] != "pending"
    })
    .await;
    assert_eq!(log[0]["state"], "sent", "{log:#?}");
    assert_eq!(log[0]["attempts"], 1, "{log:#?}");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(r.hits().len(), 1, "sent again after a graceful stop");
}
