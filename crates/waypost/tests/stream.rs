//! `/v1/stream`: live changes, and a resume with `Last-Event-ID` that neither skips nor repeats.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use common::*;
use serde_json::Value;
use std::time::Duration;

#[tokio::test]
async fn stream_sends_live_changes_and_resumes_exactly_after_last_event_id() {
    let s = spawn_server().await;
    let key = s.key("acme", "ingest,read");
    let mut live = Sse::connect(&s, &key, None).await;
    for i in 0..5 {
        let r = s
            .post_events(
                &key,
                &ev(&format!("s{i}"), &format!("ST-{i}"), "packed", &at(i)),
            )
            .await;
        assert_eq!(r.status, 202);
    }
    let first = live.collect_until(|c| c.len() == 5).await;
    let orders: Vec<&str> = first
        .iter()
        .map(|c| c.data["order_id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(orders, ["ST-0", "ST-1", "ST-2", "ST-3", "ST-4"]);
    for (i, c) in first.iter().enumerate() {
        assert_eq!(c.event, "change");
        assert_eq!(c.data["seq"], c.id);
        assert_eq!(c.data["tenant"], "acme");
        assert_eq!(c.data["status"], "packed");
        assert_eq!(c.data["previous_status"], Value::Null);
        assert_eq!(c.data["events"][0]["event_id"], format!("s{i}"));
        assert_eq!(c.data["events"][0]["source"], "wms");
    }
    assert!(
        first.windows(2).all(|w| w[0].id < w[1].id),
        "{:?}",
        ids(&first)
    );
    drop(live);

    // While nobody listens: two new orders and a change of an old one.
    for (id, order, status, t) in [
        ("s5", "ST-5", "packed", 5),
        ("s6", "ST-6", "packed", 6),
        ("s7", "ST-0", "cancelled", 50),
    ] {
        assert_eq!(
            s.post_events(&key, &ev(id, order, status, &at(t)))
                .await
                .status,
            202
        );
    }
    s.wait_for_status(&key, "ST-0", "cancelled").await;
    s.wait_for_status(&key, "ST-6", "packed").await;

    let mut resumed = Sse::connect(&s, &key, Some(first[1].id)).await;
    let got = resumed.collect_until(|c| c.len() == 6).await;
    let want_head: Vec<u64> = first[2..].iter().map(|c| c.id).collect();
    assert_eq!(ids(&got)[..3], want_head[..], "{:?}", ids(&got));
    let tail: Vec<(&str, &str)> = got[3..]
        .iter()
        .map(|c| {
            (
                c.data["order_id"].as_str().unwrap_or(""),
                c.data["status"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        tail,
        [
            ("ST-5", "packed"),
            ("ST-6", "packed"),
            ("ST-0", "cancelled")
        ]
    );
    assert_eq!(got[5].data["previous_status"], "packed");
    assert!(got.windows(2).all(|w| w[0].id < w[1].id), "{:?}", ids(&got));
    if let Some(extra) = resumed.next(Duration::from_millis(300)).await {
        panic!("a change came twice or from nowhere: {extra:?}");
    }
    // And then live again.
    assert_eq!(
        s.post_events(&key, &ev("s8", "ST-8", "picked", &at(8)))
            .await
            .status,
        202
    );
    let c = resumed
        .next(WAIT)
        .await
        .expect("live change after the backlog");
    assert_eq!(c.data["order_id"], "ST-8");
    assert!(c.id > got[5].id);
}

#[tokio::test]
async fn a_bad_last_event_id_is_a_problem() {
    let s = spawn_server().await;
    let key = s.key("acme", "read");
    for bad in ["abc", "-1", "1.5"] {
        let r = s
            .http
            .get(s.url("/v1/stream"))
            .bearer_auth(&key)
            .header("Last-Event-ID", bad)
            .send()
            .await
            .expect("GET /v1/stream");
        Resp::read(r).await.assert_problem(400);
    }
}

/// A resume from the start that spans several backlog pages (the server reads 1000 at a time)
/// while new changes keep coming: every change exactly once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_across_backlog_pages_while_changes_keep_coming() {
    let s = spawn_server().await;
    let key = s.key("acme", "ingest,read");
    let batch = |from: usize, to: usize| -> Value {
        Value::Array(
            (from..to)
                .map(|i| ev(&format!("p{i}"), &format!("PG-{i}"), "packed", &at(0)))
                .collect(),
        )
    };
    for (from, to) in [(0, 700), (700, 1400)] {
        assert_eq!(s.post_events(&key, &batch(from, to)).await.status, 202);
    }
    s.wait_for_status(&key, "PG-1399", "packed").await;

    let mut sse = Sse::connect(&s, &key, Some(0)).await;
    let more = async {
        for k in 0..10 {
            let from = 1400 + 20 * k;
            assert_eq!(
                s.post_events(&key, &batch(from, from + 20)).await.status,
                202
            );
        }
    };
    let (got, ()) = tokio::join!(sse.collect_until(|c| c.len() >= 1600), more);
    let seqs = ids(&got);
    let want: Vec<u64> = (1..=1600).collect();
    assert_eq!(seqs, want, "changes skipped, repeated or out of order");
    for (i, c) in got.iter().enumerate() {
        assert_eq!(c.data["order_id"], format!("PG-{i}"));
    }
    if let Some(extra) = sse.next(Duration::from_millis(300)).await {
        panic!("a change came twice: {extra:?}");
    }
}
