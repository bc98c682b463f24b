//! The API end to end against the real binary: ingest, the state it leads to, queries. The
//! change stream is in `stream.rs`; arrival order and copies in `ordering.rs`.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use common::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;

#[tokio::test]
async fn happy_path_keeps_a_timeline_with_raw_codes_and_both_timestamps() {
    let s = spawn_server().await;
    let key = s.key("acme", "ingest,read");
    let started = jiff::Timestamp::now();

    let warehouse = json!([
        ev("w1", "SO-1", "pending", "2025-01-10T03:00:00-05:00"),
        ev("w2", "SO-1", "packed", "2025-01-10T04:30:00-05:00"),
    ]);
    let r = s.post_events(&key, &warehouse).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body, json!({"accepted": 2, "duplicates": 0}));
    let o = s.wait_for_status(&key, "SO-1", "packed").await;
    assert_eq!(o["shipments"], json!([]));

    let mut shipped = carrier_ev(
        "u1",
        "SO-1",
        "1Z001",
        "shipped",
        "2025-01-10T18:00:00+01:00",
    );
    shipped["raw_code"] = json!("OR");
    shipped["raw_description"] = json!("Origin Scan");
    shipped["location"] = json!({"city": "Louisville", "region": "KY", "country": "us"});
    let mut transit = carrier_ev("u2", "SO-1", "1Z001", "in_transit", "2025-01-11T02:00:00Z");
    transit["raw_code"] = json!("AR");
    let mut delivered = carrier_ev(
        "u3",
        "SO-1",
        "1Z001",
        "delivered",
        "2025-01-11T09:15:00-08:00",
    );
    delivered["raw_code"] = json!("D");
    delivered["raw_description"] = json!("Delivered, front door");
    delivered["location"] =
        json!({"city": "Portland", "region": "OR", "country": "US", "lat": 45.5, "lon": -122.6});
    // Sent newest first: the timeline is ordered by when things happened, not by arrival.
    let r = s
        .post_events(&key, &json!([delivered, transit, shipped]))
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body, json!({"accepted": 3, "duplicates": 0}));

    let o = s.wait_for_status(&key, "SO-1", "delivered").await;
    assert_eq!(o["order_id"], "SO-1");
    assert_eq!(o["regression"], false);
    assert_eq!(o["status_at"], "2025-01-11T09:15:00-08:00");
    assert!(o["version"].as_u64().is_some_and(|v| v > 0), "{o}");
    let ship = &o["shipments"][0];
    assert_eq!(o["shipments"].as_array().map(Vec::len), Some(1), "{o}");
    assert_eq!(ship["tracking_number"], "1Z001");
    assert_eq!(ship["carrier"], "UPS");
    assert_eq!(ship["status"], "delivered");
    assert_eq!(ship["location"]["city"], "Portland");

    let tl = o["timeline"].as_array().expect("timeline");
    let got: Vec<(&str, &str, &str)> = tl
        .iter()
        .map(|t| {
            let s = |k: &str| t[k].as_str().unwrap_or("-");
            (s("event_id"), s("status"), s("occurred_at"))
        })
        .collect();
    assert_eq!(
        got,
        [
            ("w1", "pending", "2025-01-10T03:00:00-05:00"),
            ("w2", "packed", "2025-01-10T04:30:00-05:00"),
            ("u1", "shipped", "2025-01-10T18:00:00+01:00"),
            ("u2", "in_transit", "2025-01-11T02:00:00Z"),
            ("u3", "delivered", "2025-01-11T09:15:00-08:00"),
        ]
    );
    assert_eq!(tl[2]["raw_code"], "OR");
    assert_eq!(tl[2]["raw_description"], "Origin Scan");
    assert_eq!(tl[2]["source"], "ups");
    assert_eq!(tl[2]["tracking_number"], "1Z001");
    assert_eq!(tl[2]["location"]["country"], "US");
    assert_eq!(tl[4]["raw_code"], "D");
    assert_eq!(tl[4]["raw_description"], "Delivered, front door");
    assert_eq!(tl[0]["raw_code"], Value::Null);
    let now = jiff::Timestamp::now();
    for t in tl {
        let received: jiff::Timestamp = t["received_at"]
            .as_str()
            .expect("received_at")
            .parse()
            .expect("RFC 3339");
        assert!(
            received >= started - jiff::SignedDuration::from_secs(1) && received <= now,
            "{t}"
        );
    }
    // Every visible change was timed from receipt to visibility.
    // One scrape for both: the publisher may still be observing the last changes after they
    // became visible, so two scrapes can disagree.
    let text = s.metrics().await;
    let count = metric_in(&text, "waypost_status_update_latency_seconds_count");
    assert!(count >= 2.0, "latency histogram count {count}");
    let inf = metric_in(
        &text,
        "waypost_status_update_latency_seconds_bucket{le=\"+Inf\"}",
    );
    assert_eq!(inf, count);
}

#[tokio::test]
async fn progress_after_delivery_is_applied_and_flagged_as_regression() {
    let s = spawn_server().await;
    let key = s.key("acme", "ingest,read");
    let r = s
        .post_events(
            &key,
            &json!([
                carrier_ev("r1", "REG", "1ZR", "delivered", &at(100)),
                carrier_ev("r2", "REG", "1ZR", "in_transit", &at(160)),
                // An old scan arriving late is history, not a regression.
                carrier_ev("l1", "LATE", "1ZL", "delivered", &at(100)),
                carrier_ev("l2", "LATE", "1ZL", "in_transit", &at(40)),
            ]),
        )
        .await;
    assert_eq!(r.status, 202);
    let o = s.wait_for_status(&key, "REG", "in_transit").await;
    assert_eq!(o["regression"], true, "{o}");
    assert_eq!(o["shipments"][0]["regression"], true, "{o}");
    let o = s.wait_for_status(&key, "LATE", "delivered").await;
    assert_eq!(o["regression"], false, "{o}");
    assert_eq!(o["timeline"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn multi_shipment_order_is_partially_shipped_then_partially_delivered() {
    let s = spawn_server().await;
    let key = s.key("acme", "ingest,read");
    let post = |body: Value| {
        let (s, key) = (&s, &key);
        async move {
            let r = s.post_events(key, &body).await;
            assert_eq!(r.status, 202, "{}", r.body);
        }
    };
    post(json!([
        ev("m0", "MULTI", "packed", &at(0)),
        carrier_ev("ma1", "MULTI", "1ZA", "shipped", &at(10)),
        carrier_ev("mb1", "MULTI", "1ZB", "label_created", &at(12)),
    ]))
    .await;
    let o = s.wait_for_status(&key, "MULTI", "partially_shipped").await;
    assert_eq!(o["shipments"].as_array().map(Vec::len), Some(2), "{o}");
    post(json!([
        carrier_ev("ma2", "MULTI", "1ZA", "delivered", &at(100)),
        carrier_ev("mb2", "MULTI", "1ZB", "in_transit", &at(90)),
    ]))
    .await;
    let o = s
        .wait_for_status(&key, "MULTI", "partially_delivered")
        .await;
    let by_track: Vec<(&str, &str)> = o["shipments"]
        .as_array()
        .expect("shipments")
        .iter()
        .map(|sh| {
            (
                sh["tracking_number"].as_str().unwrap_or(""),
                sh["status"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(by_track, [("1ZA", "delivered"), ("1ZB", "in_transit")]);
    post(carrier_ev("mb3", "MULTI", "1ZB", "delivered", &at(200))).await;
    s.wait_for_status(&key, "MULTI", "delivered").await;
}

async fn all_pages(s: &Server, key: &str, query: &str) -> (Vec<String>, usize) {
    let (mut ids, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
    loop {
        let mut path = format!("/v1/orders?{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let r = s.get(key, &path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        pages += 1;
        for o in r.body["orders"].as_array().expect("orders") {
            ids.push(o["order_id"].as_str().expect("order_id").to_string());
        }
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return (ids, pages),
        }
        assert!(pages < 100, "pagination does not end");
    }
}

#[tokio::test]
async fn list_filters_by_status_and_carrier_and_pages_through_every_order_once() {
    let s = spawn_server().await;
    let key = s.key("acme", "ingest,read");
    let mut batch = Vec::new();
    let (mut delivered, mut fedex) = (BTreeSet::new(), BTreeSet::new());
    for i in 0..23 {
        let id = format!("L-{i:02}");
        let e = match i % 3 {
            0 => {
                delivered.insert(id.clone());
                carrier_ev(
                    &format!("e{i}"),
                    &id,
                    &format!("1Z{i}"),
                    "delivered",
                    &at(i),
                )
            }
            1 => {
                fedex.insert(id.clone());
                let mut e = carrier_ev(
                    &format!("e{i}"),
                    &id,
                    &format!("FX{i}"),
                    "in_transit",
                    &at(i),
                );
                e["source"] = json!("fedex");
                e["carrier"] = json!("FedEx");
                e
            }
            _ => ev(&format!("e{i}"), &id, "pending", &at(i)),
        };
        batch.push(e);
    }
    assert_eq!(s.post_events(&key, &Value::Array(batch)).await.status, 202);
    s.wait_for_status(&key, "L-22", "in_transit").await;
    s.wait_for_status(&key, "L-21", "delivered").await;

    let (ids, _) = all_pages(&s, &key, "status=delivered").await;
    assert_eq!(ids.iter().cloned().collect::<BTreeSet<_>>(), delivered);
    assert_eq!(ids.len(), delivered.len());
    for q in ["carrier=fedex", "carrier=FedEx"] {
        let (ids, _) = all_pages(&s, &key, q).await;
        assert_eq!(ids.iter().cloned().collect::<BTreeSet<_>>(), fedex, "{q}");
    }
    let (ids, _) = all_pages(&s, &key, "carrier=ups&status=in_transit").await;
    assert!(ids.is_empty(), "{ids:?}");
    let (ids, _) = all_pages(&s, &key, "updated_since=2200-01-01T00:00:00Z").await;
    assert!(ids.is_empty(), "{ids:?}");
    let (ids, _) = all_pages(&s, &key, "updated_since=2000-01-01T00:00:00%2B02:00").await;
    assert_eq!(ids.len(), 23);

    let (ids, pages) = all_pages(&s, &key, "limit=5").await;
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), 23, "{ids:?}");
    assert_eq!(unique.len(), 23, "an order came twice: {ids:?}");
    assert_eq!(pages, 5);

    for bad in [
        "status=teleported",
        "limit=0",
        "limit=501",
        "cursor=bm9wZQ",
        "updated_since=yesterday",
    ] {
        s.get(&key, &format!("/v1/orders?{bad}"))
            .await
            .assert_problem(400);
    }
}

/// A syntactically valid instant outside what the store can index (before 1677 or after 2262)
/// is the caller's mistake or simply matches nothing; it must not be a 500.
#[tokio::test]
async fn updated_since_far_from_now_is_not_an_internal_error() {
    let s = spawn_server().await;
    let key = s.key("acme", "ingest,read");
    assert_eq!(
        s.post_events(&key, &ev("u1", "U-1", "packed", &at(0)))
            .await
            .status,
        202
    );
    s.wait_for_status(&key, "U-1", "packed").await;
    for (t, want) in [("2999-01-01T00:00:00Z", 0), ("1600-01-01T00:00:00Z", 1)] {
        let r = s.get(&key, &format!("/v1/orders?updated_since={t}")).await;
        match r.status {
            200 => assert_eq!(
                r.body["orders"].as_array().map(Vec::len),
                Some(want),
                "{t}: {}",
                r.body
            ),
            _ => r.assert_problem(400),
        }
    }
}

#[tokio::test]
async fn shipment_lookup_by_tracking_number() {
    let s = spawn_server().await;
    let key = s.key("acme", "ingest,read");
    let mut e = carrier_ev("s1", "SHIP-1", "1ZSHIP", "out_for_delivery", &at(5));
    e["service"] = json!("Ground");
    e["location"] = json!({"city": "Boise", "country": "US"});
    assert_eq!(s.post_events(&key, &e).await.status, 202);
    s.wait_for_status(&key, "SHIP-1", "out_for_delivery").await;
    let r = s.get(&key, "/v1/shipments/1ZSHIP").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["order_id"], "SHIP-1");
    assert_eq!(r.body["tracking_number"], "1ZSHIP");
    assert_eq!(r.body["status"], "out_for_delivery");
    assert_eq!(r.body["carrier"], "UPS");
    assert_eq!(r.body["service"], "Ground");
    assert_eq!(r.body["location"]["city"], "Boise");
    s.get(&key, "/v1/shipments/1ZNOPE")
        .await
        .assert_problem(404);
    s.get(&key, "/v1/orders/NOPE").await.assert_problem(404);
}
