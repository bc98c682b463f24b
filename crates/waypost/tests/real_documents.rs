//! Black-box tests of what real carrier documents need from the intake (issue 15): one odd
//! event never sinks the rest of its document, and a code no table knows is mapped from the
//! vendor's words (marked so) or held with a proposal that one call turns into the tenant's
//! mapping.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Resp, spawn_server_with_config};
use serde_json::{Value, json};

/// A UPS Track API response with the given activities (type, code, description, date).
fn ups_doc(tracking: &str, activities: &[(&str, &str, &str, &str)]) -> Vec<u8> {
    let acts: Vec<Value> = activities
        .iter()
        .map(|(kind, code, text, date)| {
            json!({
                "location": { "address": { "city": "NEWARK", "stateProvince": "NJ", "countryCode": "US" } },
                "status": { "type": kind, "description": text, "code": code },
                "date": date, "time": "101500", "gmtOffset": "-04:00"
            })
        })
        .collect();
    serde_json::to_vec(&json!({
        "trackResponse": { "shipment": [ { "package": [ { "trackingNumber": tracking, "activity": acts } ] } ] }
    }))
    .unwrap()
}

async fn post(s: &common::Server, key: &str, path: &str, body: Vec<u8>) -> Resp {
    let r = s
        .http
        .post(s.url(path))
        .bearer_auth(key)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    Resp::read(r).await
}

#[tokio::test]
async fn one_unreadable_event_keeps_the_others_and_its_document() {
    let s = spawn_server_with_config("").await;
    let key = s.key("acme", "ingest,read,admin");
    // The second activity's date is a typo no real scan has (the year 3000).
    let doc = ups_doc(
        "1Z999AA10000000001",
        &[
            ("I", "OR", "Origin Scan", "20240410"),
            ("I", "AR", "Arrived at Facility", "30000411"),
        ],
    );
    let r = post(&s, &key, "/v1/webhooks/ups", doc.clone()).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["accepted"], 1, "{}", r.body);
    let unreadable = r.body["unreadable"].as_array().unwrap();
    assert_eq!(unreadable.len(), 1, "{}", r.body);
    assert!(
        unreadable[0].as_str().unwrap().contains("event 1"),
        "{}",
        r.body
    );
    s.wait_for_status(&key, "1Z999AA10000000001", "shipped")
        .await;
    // The document is kept as a dead letter that says which event and why.
    let dead = s.get(&key, "/v1/dead-letters").await;
    let items = dead.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", dead.body);
    let problem = items[0]["problem"].as_str().unwrap();
    assert!(
        problem.contains("1 of 2 events could not be read") && problem.contains("plausible"),
        "{problem}"
    );
    // The same document again: the readable event is a duplicate, the letter one more attempt.
    let r = post(&s, &key, "/v1/webhooks/ups", doc).await;
    assert_eq!(
        (r.body["accepted"].clone(), r.body["duplicates"].clone()),
        (json!(0), json!(1))
    );
    let dead = s.get(&key, "/v1/dead-letters").await;
    assert_eq!(
        dead.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        dead.body
    );
}

#[tokio::test]
async fn unknown_codes_are_read_from_their_text_or_held_with_a_proposal_to_accept() {
    let s =
        spawn_server_with_config("[mappings.tenants.globex]\ndescription_fallback = false\n").await;
    let doc = |t: &str| {
        ups_doc(
            t,
            &[
                ("I", "OR", "Origin Scan", "20240410"),
                ("ZZ", "Q7", "Out For Delivery Today", "20240411"),
            ],
        )
    };

    // acme has the fallback at its default threshold: the text decides, and says so.
    let acme = s.key("acme", "ingest,read");
    let r = post(&s, &acme, "/v1/webhooks/ups", doc("1Z999AA10000000002")).await;
    assert_eq!(
        (r.status, r.body["unmapped"].clone()),
        (202, json!(0)),
        "{}",
        r.body
    );
    let order = s
        .wait_for_status(&acme, "1Z999AA10000000002", "out_for_delivery")
        .await;
    let by_text = order["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["raw_code"] == "Q7")
        .cloned()
        .unwrap_or_else(|| panic!("{order}"));
    assert_eq!(
        by_text["attributes"]["mapped_by"], "description",
        "{by_text}"
    );

    // globex turned it off: the event is quarantined, with the proposal.
    let globex = s.key("globex", "ingest,read,operate");
    let r = post(&s, &globex, "/v1/webhooks/ups", doc("1Z999AA10000000003")).await;
    assert_eq!(r.body["unmapped"], 1, "{}", r.body);
    s.wait_for_status(&globex, "1Z999AA10000000003", "shipped")
        .await;
    let q = s.get(&globex, "/v1/unmapped").await;
    let item = &q.body["items"][0];
    assert_eq!(item["code"], "ZZ", "{}", q.body);
    assert_eq!(item["proposal"]["status"], "out_for_delivery", "{}", q.body);

    // Accepting needs the operate scope, and names a quarantined code.
    let reader = s.key("globex", "read");
    post(&s, &reader, "/v1/unmapped/ups/ZZ/accept", Vec::new())
        .await
        .assert_problem(403);
    post(&s, &globex, "/v1/unmapped/ups/NOPE/accept", Vec::new())
        .await
        .assert_problem(404);
    let r = post(&s, &globex, "/v1/unmapped/ups/ZZ/accept", Vec::new()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (r.body["from"].clone(), r.body["remap"]["remapped"].clone()),
        (json!("proposal"), json!(1))
    );
    s.wait_for_status(&globex, "1Z999AA10000000003", "out_for_delivery")
        .await;
    // The mapping is the tenant's own now: the next document with the code maps by code.
    let file = std::fs::read_to_string(s.dir.join("data/mappings/globex/ups.toml"))
        .or_else(|_| std::fs::read_to_string(r.body["file"].as_str().unwrap()))
        .unwrap();
    assert!(file.contains("out_for_delivery"), "{file}");
    let r = post(&s, &globex, "/v1/webhooks/ups", doc("1Z999AA10000000004")).await;
    assert_eq!(r.body["unmapped"], 0, "{}", r.body);
    // acme's tables are untouched by globex's mapping.
    let q = s.get(&acme, "/v1/unmapped").await;
    assert_eq!(q.body["items"], json!([]), "{}", q.body);
}

#[tokio::test]
async fn a_given_status_can_be_accepted_instead_of_the_proposal() {
    let s = spawn_server_with_config("[mappings]\ndescription_fallback = false\n").await;
    let key = s.key("acme", "ingest,read,operate");
    let doc = ups_doc(
        "1Z999AA10000000005",
        &[("ZY", "Q8", "Mystery scan", "20240410")],
    );
    let r = post(&s, &key, "/v1/webhooks/ups", doc).await;
    assert_eq!(r.body["unmapped"], 1, "{}", r.body);
    // Nothing in "Mystery scan" proposes a status: accepting needs one.
    post(&s, &key, "/v1/unmapped/ups/ZY/accept", Vec::new())
        .await
        .assert_problem(409);
    let bad = serde_json::to_vec(&json!({"status": "teleported"})).unwrap();
    post(&s, &key, "/v1/unmapped/ups/ZY/accept", bad)
        .await
        .assert_problem(400);
    let body = serde_json::to_vec(&json!({"status": "in_transit"})).unwrap();
    let r = post(&s, &key, "/v1/unmapped/ups/ZY/accept", body).await;
    assert_eq!(
        (r.status, r.body["from"].clone()),
        (200, json!("given")),
        "{}",
        r.body
    );
    s.wait_for_status(&key, "1Z999AA10000000005", "in_transit")
        .await;
}
