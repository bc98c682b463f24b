//! Managing notifications against the real binary (`docs/notifications.md`, "API and CLI"):
//! subscriptions' filters, tenants kept apart, scopes, bad settings refused naming the field,
//! and `waypost notify` (endpoints, subscriptions, contacts, test sends, the delivery log).
#![allow(clippy::unwrap_used)]

mod common;
mod notify_common;

use common::*;
use notify_common::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_filter_and_tenants_are_apart() {
    let s = spawn_server_with_config(&config(RETRY, "")).await;
    let key = s.key("acme", SCOPES);
    let other = s.key("globex", SCOPES);
    let r = Receiver::start().await;
    let (ep, _) = add_webhook(&s, &key, &r.url, None).await;
    let body = json!({"name": "web only", "endpoint_id": &ep, "on": ["shipped"],
                      "channels": ["web"], "tags": ["vip"]});
    let sub = call(&s, &key, "POST", "/v1/notify/subscriptions", Some(body)).await;
    assert_eq!(sub.status, 201, "{}", sub.body);
    let attrs = |channel: &str, tags: Value| json!({"channel": channel, "tags": tags});
    post_ok(
        &s,
        &key,
        json!([
            event(
                "t1",
                "T-STORE",
                "shipped",
                0,
                attrs("store", json!(["vip"]))
            ),
            event("t2", "T-PLAIN", "shipped", 0, attrs("web", json!([]))),
            event(
                "t3",
                "T-VIP",
                "shipped",
                0,
                attrs("web", json!(["vip", "gift"]))
            ),
        ]),
    )
    .await;
    let got = r.wait_accepted(1, WAIT).await;
    assert_eq!(got[0].json()["data"]["order_id"], "T-VIP");
    s.wait_for_status(&key, "T-STORE", "shipped").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(r.hits().len(), 1, "filters not applied");
    assert!(log_of(&s, &key, "T-STORE").await.is_empty());

    // Another tenant sees none of it and can change none of it.
    let eps = call(&s, &other, "GET", "/v1/notify/endpoints", None).await;
    assert_eq!(eps.body["endpoints"], json!([]), "{}", eps.body);
    let e = call(
        &s,
        &other,
        "GET",
        &format!("/v1/notify/endpoints/{ep}"),
        None,
    )
    .await;
    assert_eq!(e.status, 404, "{}", e.body);
    let logs = s.get(&other, "/v1/orders/T-VIP/notifications").await;
    assert!(
        logs.status == 404 || logs.body["notifications"] == json!([]),
        "{}",
        logs.body
    );
    let nid = id_of(&log_of(&s, &key, "T-VIP").await[0]);
    let n = s
        .get(&other, &format!("/v1/notify/notifications/{nid}"))
        .await;
    assert_eq!(n.status, 404, "{}", n.body);
    let del = call(
        &s,
        &other,
        "DELETE",
        &format!("/v1/notify/endpoints/{ep}"),
        None,
    )
    .await;
    assert_eq!(del.status, 404, "{}", del.body);
    // Reading is not changing: a read-only key may not add endpoints.
    let reader = s.key("acme", "read");
    let body = json!({"name": "x", "kind": "webhook", "url": r.url});
    let denied = call(&s, &reader, "POST", "/v1/notify/endpoints", Some(body)).await;
    assert_eq!(denied.status, 403, "{}", denied.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_manages_endpoints_subscriptions_contacts_and_reads_the_log() {
    let s = spawn_server_with_config(&config(RETRY, "")).await;
    let key = s.key("acme", SCOPES);
    let r = Receiver::start().await;
    let added: Value = serde_json::from_str(&cli(
        &s,
        &key,
        &[
            "endpoints",
            "add",
            "--name",
            "portal",
            "--kind",
            "webhook",
            "--webhook-url",
            &r.url,
        ],
    ))
    .unwrap();
    let ep = id_of(&added);
    assert_eq!(
        added["new_secrets"].as_array().map(Vec::len),
        Some(1),
        "{added}"
    );
    let listed = json_lines(&cli(&s, &key, &["endpoints", "list"]));
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["id"], ep);
    assert_eq!(listed[0]["url"], r.url.as_str());

    let ep_s = ep.clone();
    let sub: Value = serde_json::from_str(&cli(
        &s,
        &key,
        &[
            "subscriptions",
            "add",
            "--name",
            "ship",
            "--endpoint",
            &ep_s,
            "--on",
            "shipped,delivered",
        ],
    ))
    .unwrap();
    let sub_id = id_of(&sub);
    assert_eq!(sub["on"], json!(["shipped", "delivered"]), "{sub}");
    let subs = json_lines(&cli(&s, &key, &["subscriptions", "list"]));
    assert_eq!(subs.len(), 1, "{subs:?}");
    assert_eq!(subs[0]["id"], sub_id);

    // A test send: the receiver gets it, the CLI says how it went.
    let tested: Value =
        serde_json::from_str(&cli(&s, &key, &["endpoints", "test", &ep_s])).unwrap();
    assert_eq!(tested["state"], "sent", "{tested}");
    let hits = r.wait_accepted(1, WAIT).await;
    assert_eq!(hits[0].id(), tested["msg_id"].as_str().unwrap());

    let set: Value = serde_json::from_str(&cli(
        &s,
        &key,
        &[
            "contacts",
            "set",
            "c9",
            "--email",
            "ann@example.com",
            "--phone",
            "+14155550123",
            "--opt-out",
            "sms",
        ],
    ))
    .unwrap();
    assert_eq!(set["opted_out"], json!(["sms"]), "{set}");
    let shown: Value = serde_json::from_str(&cli(&s, &key, &["contacts", "show", "c9"])).unwrap();
    assert_eq!(shown["email"], "ann@example.com");
    assert_eq!(shown["phone"], "+14155550123");
    assert_eq!(shown["opted_out"], json!(["sms"]));

    post_ok(&s, &key, json!([ev("c1", "CL-1", "shipped", &at(0))])).await;
    r.wait_accepted(2, WAIT).await;
    let deadline = Instant::now() + WAIT;
    let log = loop {
        let log = json_lines(&cli(&s, &key, &["log", "CL-1"]));
        if log.len() == 1 && log[0]["state"] == "sent" {
            break log;
        }
        assert!(
            Instant::now() < deadline,
            "log never shows it sent: {log:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(log[0]["attempt_log"][0]["code"], 200, "{log:?}");

    // Unsubscribed: the next transition notifies nobody.
    cli(&s, &key, &["subscriptions", "rm", &sub_id.to_string()]);
    assert!(json_lines(&cli(&s, &key, &["subscriptions", "list"])).is_empty());
    post_ok(&s, &key, json!([ev("c2", "CL-1", "delivered", &at(10))])).await;
    s.wait_for_status(&key, "CL-1", "delivered").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(r.hits().len(), 2);
    assert_eq!(json_lines(&cli(&s, &key, &["log", "CL-1"])).len(), 1);
    cli(&s, &key, &["endpoints", "rm", &ep_s]);
    assert!(json_lines(&cli(&s, &key, &["endpoints", "list"])).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_settings_are_refused_naming_the_field() {
    let s = spawn_server_with_config(&config(RETRY, "")).await;
    let key = s.key("acme", SCOPES);
    let r = Receiver::start().await;
    let post = |body: Value| {
        let (s, key) = (&s, &key);
        async move { call(s, key, "POST", "/v1/notify/endpoints", Some(body)).await }
    };
    let cases = [
        (
            json!({"name": "e", "kind": "email", "to": "not an address"}),
            "to",
        ),
        (json!({"name": "p", "kind": "sms", "to": "555-1234"}), "to"),
        (
            json!({"name": "k", "kind": "pigeon", "to": "customer"}),
            "kind",
        ),
        (
            json!({"name": "w", "kind": "webhook", "url": r.url, "secrets": ["hunter2"]}),
            "secrets",
        ),
        (
            json!({"name": "w", "kind": "webhook", "url": "ftp://127.0.0.1/x"}),
            "url",
        ),
    ];
    for (body, field) in cases {
        let resp = post(body.clone()).await;
        resp.assert_problem(422);
        assert!(
            resp.error_fields().iter().any(|f| f == field),
            "{body}: {}",
            resp.body
        );
        assert!(
            !resp.body.to_string().contains("hunter2"),
            "a secret echoed: {}",
            resp.body
        );
    }
    let (ep, _) = add_webhook(&s, &key, &r.url, None).await;
    let sub = |body: Value| {
        let (s, key) = (&s, &key);
        async move { call(s, key, "POST", "/v1/notify/subscriptions", Some(body)).await }
    };
    let resp = sub(json!({"name": "s", "endpoint_id": &ep, "on": ["teleported"]})).await;
    resp.assert_problem(422);
    assert!(
        resp.error_fields().iter().any(|f| f.starts_with("on")),
        "{}",
        resp.body
    );
    let resp = sub(json!({"name": "s", "endpoint_id": 4242, "on": ["shipped"]})).await;
    assert!(resp.status == 404 || resp.status == 422, "{}", resp.body);
    let contact = |body: Value| {
        let (s, key) = (&s, &key);
        async move { call(s, key, "PUT", "/v1/notify/contacts/c1", Some(body)).await }
    };
    let resp = contact(json!({"phone": "12345"})).await;
    resp.assert_problem(422);
    assert!(
        resp.error_fields().iter().any(|f| f == "phone"),
        "{}",
        resp.body
    );
    let resp = contact(json!({"opted_out": ["carrier-pigeon"]})).await;
    resp.assert_problem(422);
    assert!(
        resp.error_fields()
            .iter()
            .any(|f| f.starts_with("opted_out")),
        "{}",
        resp.body
    );
    // A test send: stored, logged, delivered like any notification.
    let test = call(
        &s,
        &key,
        "POST",
        &format!("/v1/notify/endpoints/{ep}/test"),
        None,
    )
    .await;
    assert_eq!(test.status, 202, "{}", test.body);
    let got = r.wait_accepted(1, WAIT).await;
    assert_eq!(got[0].id(), test.body["msg_id"].as_str().unwrap());
    assert_eq!(got[0].json()["type"], "order.status_changed");
}
