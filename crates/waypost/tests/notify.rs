//! Notifications end to end against the real binary, webhooks side (`docs/notifications.md`):
//! signed with every secret, delivered once each and in order, logged with every attempt;
//! SSRF refusals at registration; retries, dead letters and their replay with the same id;
//! `Retry-After`; `410 Gone`; redirects; timeouts; alerts. SMS and email are in
//! `notify_channels.rs`, outages and crashes in `notify_recovery.rs`, managing settings (API
//! checks, tenancy, the CLI) in `notify_manage.rs`.
#![allow(clippy::unwrap_used)]

mod common;
mod notify_common;

use base64::Engine as _;
use common::*;
use hmac::{Hmac, Mac};
use notify_common::*;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

const FLOW: [&str; 3] = ["shipped", "in_transit", "delivered"];

fn secret(fill: u8) -> String {
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode([fill; 32])
    )
}

/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` with `secret`, computed here.
fn expected_signature(secret: &str, hit: &Hit) -> String {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(hit.id().as_bytes());
    mac.update(b".");
    mac.update(hit.header("webhook-timestamp").as_bytes());
    mac.update(b".");
    mac.update(&hit.body);
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

fn statuses(hits: &[Hit]) -> Vec<String> {
    hits.iter()
        .map(|h| {
            h.json()["data"]["status"]
                .as_str()
                .unwrap_or("?")
                .to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_signed_delivered_once_in_order_and_logged() {
    let s = spawn_server_with_config(&config(RETRY, "")).await;
    let key = s.key("acme", SCOPES);
    let rotating = Receiver::start().await;
    let plain = Receiver::start().await;
    let (new, old) = (secret(7), secret(9));
    let (a, _) = add_webhook(&s, &key, &rotating.url, Some(vec![&new, &old])).await;
    let (b, made) = add_webhook(&s, &key, &plain.url, None).await;
    assert_eq!(made.len(), 1, "one secret made");
    assert!(made[0].starts_with("whsec_"), "{made:?}");
    // The made secret is shown once, never again.
    let shown = call(&s, &key, "GET", &format!("/v1/notify/endpoints/{b}"), None).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert!(!shown.body.to_string().contains(&made[0]), "{}", shown.body);
    subscribe(&s, &key, &a, &FLOW).await;
    subscribe(&s, &key, &b, &FLOW).await;

    // Four events, one per request: the second in_transit changes nothing, notifies nobody.
    let steps = [
        ("shipped", 0),
        ("in_transit", 10),
        ("in_transit", 20),
        ("delivered", 30),
    ];
    for (i, (status, minute)) in steps.iter().enumerate() {
        post_ok(
            &s,
            &key,
            json!([ev(&format!("w{i}"), "W-1", status, &at(*minute))]),
        )
        .await;
        s.wait_for_status(&key, "W-1", status).await;
    }
    let got_a = rotating.wait_accepted(3, WAIT).await;
    let got_b = plain.wait_accepted(3, WAIT).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(rotating.hits().len(), 3, "{:?}", statuses(&rotating.hits()));
    assert_eq!(plain.hits().len(), 3, "{:?}", statuses(&plain.hits()));
    assert_eq!(statuses(&got_a), FLOW);
    assert_eq!(statuses(&got_b), FLOW);

    let now = jiff::Timestamp::now().as_second();
    for (hits, secrets) in [(&got_a, vec![new.clone(), old.clone()]), (&got_b, made)] {
        let ids: HashSet<&str> = hits.iter().map(Hit::id).collect();
        assert_eq!(ids.len(), 3, "one id per notification");
        for h in hits {
            assert!(h.id().starts_with("msg_"), "webhook-id {:?}", h.id());
            let ts: i64 = h.header("webhook-timestamp").parse().unwrap();
            assert!((now - ts).abs() < 300, "timestamp {ts}, now {now}");
            let sigs: Vec<&str> = h.header("webhook-signature").split(' ').collect();
            let want: Vec<String> = secrets.iter().map(|s| expected_signature(s, h)).collect();
            assert_eq!(sigs, want, "one signature per secret, newest first");
            assert_eq!(h.json()["type"], "order.status_changed");
            assert_eq!(h.json()["data"]["order_id"], "W-1");
            assert_eq!(h.json()["data"]["tenant"], "acme");
        }
    }
    assert_eq!(got_a[1].json()["data"]["previous_status"], "shipped");

    // The delivery log: six notifications, each sent at its first attempt, code and latency.
    let log = log_of(&s, &key, "W-1").await;
    assert_eq!(log.len(), 6, "{log:#?}");
    let by_id: HashMap<&str, &Value> = log
        .iter()
        .map(|n| (n["msg_id"].as_str().unwrap(), n))
        .collect();
    for h in got_a.iter().chain(&got_b) {
        let n = by_id
            .get(h.id())
            .unwrap_or_else(|| panic!("{} not logged", h.id()));
        assert_eq!(n["state"], "sent", "{n}");
        assert_eq!(n["kind"], "webhook", "{n}");
        assert_eq!(n["attempts"], 1, "{n}");
        let tries = n["attempt_log"].as_array().unwrap();
        assert_eq!(tries.len(), 1, "{n}");
        assert_eq!(tries[0]["code"], 200, "{n}");
        assert!(tries[0]["latency_ms"].is_u64(), "{n}");
    }
    let one = &log[0];
    let r = s
        .get(&key, &format!("/v1/notify/notifications/{}", id_of(one)))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["msg_id"], one["msg_id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssrf_refused_at_registration_unless_allowed() {
    let open = Receiver::start().await;
    let s = spawn_server_with_config("[notify]\nenabled = true\n").await;
    let key = s.key("acme", SCOPES);
    for url in [
        open.url.clone(),
        format!("http://localhost:{}/", open.port),
        "http://169.254.169.254/latest/meta-data/".to_string(),
        "http://10.0.0.1/".to_string(),
        "http://[::1]:8080/".to_string(),
        "https://100.64.0.1/".to_string(),
    ] {
        let body = json!({"name": "x", "kind": "webhook", "url": url});
        let r = call(&s, &key, "POST", "/v1/notify/endpoints", Some(body)).await;
        r.assert_problem(422);
        assert_eq!(r.error_fields(), vec!["url"], "{url}: {}", r.body);
    }
    let r = call(&s, &key, "GET", "/v1/notify/endpoints", None).await;
    assert_eq!(r.body["endpoints"], json!([]), "nothing registered");
    drop(s);

    let mut s = spawn_server_with_config(&config(RETRY, "")).await;
    let key = s.key("acme", SCOPES);
    let (ep, _) = add_webhook(&s, &key, &open.url, None).await;
    add_webhook(&s, &key, &format!("http://localhost:{}/", open.port), None).await;
    // Allowing loopback allows nothing else.
    let body = json!({"name": "x", "kind": "webhook", "url": "http://169.254.169.254/"});
    let r = call(&s, &key, "POST", "/v1/notify/endpoints", Some(body)).await;
    r.assert_problem(422);
    assert_eq!(r.error_fields(), vec!["url"], "{}", r.body);

    // Checked again at every connection: the allow-list withdrawn, the stored URL is not
    // reached.
    subscribe(&s, &key, &ep, &["shipped"]).await;
    let cfg = "[notify]\nretry = [\"200ms\"]\n";
    std::fs::write(s.dir.join("waypost.toml"), cfg).unwrap();
    s.restart().await;
    post_ok(&s, &key, json!([ev("s1", "S-1", "shipped", &at(0))])).await;
    let log = wait_log(&s, &key, "S-1", WAIT, |l| {
        l.len() == 1 && l[0]["state"] != "pending"
    })
    .await;
    assert_eq!(log[0]["state"], "dead", "{log:#?}");
    assert!(
        log[0]["last_error"]
            .as_str()
            .unwrap_or("")
            .contains("127.0.0.1"),
        "{log:#?}"
    );
    assert!(open.hits().is_empty(), "a forbidden address was reached");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_not_followed() {
    let s = spawn_server_with_config(&config("retry = [\"200ms\"]", "")).await;
    let key = s.key("acme", SCOPES);
    let target = Receiver::start().await;
    let r = Receiver::start().await;
    let to = target.url.clone();
    r.script(|s| {
        s.default = 307;
        s.location = Some(to);
    });
    let (ep, _) = add_webhook(&s, &key, &r.url, None).await;
    subscribe(&s, &key, &ep, &["shipped"]).await;
    post_ok(&s, &key, json!([ev("x1", "X-1", "shipped", &at(0))])).await;
    let log = wait_log(&s, &key, "X-1", WAIT, |l| {
        l.len() == 1 && l[0]["state"] == "dead"
    })
    .await;
    assert_eq!(log[0]["attempts"], 2, "{log:#?}");
    assert_eq!(log[0]["attempt_log"][0]["code"], 307, "{log:#?}");
    assert_eq!(r.hits().len(), 2);
    assert!(target.hits().is_empty(), "a redirect was followed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_receiver_dead_letters_then_replays_with_the_same_id() {
    let s = spawn_server_with_config(&config("retry = [\"200ms\", \"300ms\"]", "")).await;
    let key = s.key("acme", SCOPES);
    let r = Receiver::start().await;
    r.script(|s| s.default = 500);
    let (ep, _) = add_webhook(&s, &key, &r.url, None).await;
    subscribe(&s, &key, &ep, &["shipped"]).await;
    post_ok(&s, &key, json!([ev("d1", "D-1", "shipped", &at(0))])).await;

    let log = wait_log(&s, &key, "D-1", WAIT, |l| {
        l.len() == 1 && l[0]["state"] == "dead"
    })
    .await;
    let dead = &log[0];
    let codes: Vec<&Value> = dead["attempt_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["code"])
        .collect();
    assert_eq!(codes, [&json!(500), &json!(500), &json!(500)], "{dead:#}");
    assert_eq!(dead["attempts"], 3, "{dead:#}");
    let tried = r.hits();
    assert_eq!(tried.len(), 3);
    let msg = dead["msg_id"].as_str().unwrap();
    assert!(
        tried.iter().all(|h| h.id() == msg),
        "every attempt carries the same id"
    );

    let listed = s.get(&key, "/v1/notify/dead-letters").await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let ids: Vec<&Value> = listed.body["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["id"])
        .collect();
    assert_eq!(ids, [&dead["id"]], "{}", listed.body);
    let printed = json_lines(&cli(&s, &key, &["dead-letters"]));
    assert_eq!(printed.len(), 1, "{printed:?}");
    assert_eq!(printed[0]["id"], dead["id"]);
    assert_eq!(printed[0]["state"], "dead");

    // Fixed, replayed from the CLI: delivered with the same webhook-id.
    r.script(|s| s.default = 200);
    let id = id_of(dead);
    let out = cli(&s, &key, &["dead-letters", "--replay", &id]);
    assert!(out.contains("\"replayed\":1"), "{out}");
    let got = r.wait_accepted(1, WAIT).await;
    assert_eq!(got[0].id(), msg);
    let log = wait_log(&s, &key, "D-1", WAIT, |l| l[0]["state"] == "sent").await;
    assert_eq!(log.len(), 1, "{log:#?}");
    let listed = s.get(&key, "/v1/notify/dead-letters").await;
    assert_eq!(listed.body["notifications"], json!([]), "{}", listed.body);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(r.accepted().len(), 1, "sent once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured() {
    let s = spawn_server_with_config(&config(RETRY, "")).await;
    let key = s.key("acme", SCOPES);
    let r = Receiver::start().await;
    r.script(|s| {
        s.queue.push_back(429);
        s.retry_after = Some(1);
    });
    let (ep, _) = add_webhook(&s, &key, &r.url, None).await;
    subscribe(&s, &key, &ep, &["shipped"]).await;
    post_ok(&s, &key, json!([ev("r1", "R-1", "shipped", &at(0))])).await;
    let hits = r.wait(WAIT, |h| h.len() >= 2).await;
    assert_eq!(hits[0].code, 429);
    assert_eq!(hits[1].code, 200);
    assert_eq!(hits[0].id(), hits[1].id());
    let gap = hits[1].at - hits[0].at;
    assert!(
        gap >= Duration::from_millis(950),
        "retried after {gap:?}, asked 1 s"
    );
    let log = wait_log(&s, &key, "R-1", WAIT, |l| l[0]["state"] == "sent").await;
    assert_eq!(log[0]["attempt_log"][0]["code"], 429, "{log:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gone_disables_the_endpoint_until_enabled_again() {
    let s = spawn_server_with_config(&config(RETRY, "")).await;
    let key = s.key("acme", SCOPES);
    let r = Receiver::start().await;
    r.script(|s| s.queue.push_back(410));
    let (ep, secrets) = add_webhook(&s, &key, &r.url, None).await;
    subscribe(&s, &key, &ep, &["shipped"]).await;

    post_ok(&s, &key, json!([ev("g1", "G-1", "shipped", &at(0))])).await;
    let log = wait_log(&s, &key, "G-1", WAIT, |l| {
        l.len() == 1 && l[0]["state"] == "dead"
    })
    .await;
    assert_eq!(log[0]["attempt_log"][0]["code"], 410, "{log:#?}");
    let deadline = Instant::now() + WAIT;
    let endpoint = loop {
        let e = call(&s, &key, "GET", &format!("/v1/notify/endpoints/{ep}"), None).await;
        if e.body["enabled"] == false {
            break e.body;
        }
        assert!(Instant::now() < deadline, "never disabled: {}", e.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let reason = endpoint["disabled_reason"].as_str().unwrap_or("");
    assert!(reason.contains("410"), "{endpoint}");

    post_ok(&s, &key, json!([ev("g2", "G-2", "shipped", &at(0))])).await;
    let log = wait_log(&s, &key, "G-2", WAIT, |l| {
        l.len() == 1 && l[0]["state"] != "pending"
    })
    .await;
    assert_eq!(log[0]["state"], "skipped", "{log:#?}");
    assert!(log[0].to_string().contains("disabled"), "{log:#?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(r.hits().len(), 1, "nothing sent to a disabled endpoint");

    let body = json!({"name": "back", "kind": "webhook", "url": r.url, "secrets": secrets, "enabled": true});
    let put = call(
        &s,
        &key,
        "PUT",
        &format!("/v1/notify/endpoints/{ep}"),
        Some(body),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.body["enabled"], true, "{}", put.body);
    assert!(put.body["disabled_reason"].is_null(), "{}", put.body);
    post_ok(&s, &key, json!([ev("g3", "G-3", "shipped", &at(0))])).await;
    let got = r.wait_accepted(1, WAIT).await;
    assert_eq!(got[0].json()["data"]["order_id"], "G-3");
    wait_log(&s, &key, "G-3", WAIT, |l| {
        l.len() == 1 && l[0]["state"] == "sent"
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_raised_notifies_its_subscribers() {
    let rules = "[[rules]]\nname = \"carrier-exception\"\nkind = \"event\"\nstatuses = [\"exception\"]\nseverity = \"critical\"\n";
    let s = spawn_server_with_config(&format!("{rules}\n{}", config(RETRY, ""))).await;
    let key = s.key("acme", SCOPES);
    let r = Receiver::start().await;
    let (ep, _) = add_webhook(&s, &key, &r.url, None).await;
    subscribe(&s, &key, &ep, &["alert.raised"]).await;
    post_ok(&s, &key, json!([ev("a1", "AL-1", "shipped", &at(0))])).await;
    s.wait_for_status(&key, "AL-1", "shipped").await;
    post_ok(&s, &key, json!([ev("a2", "AL-1", "exception", &at(10))])).await;
    let deadline = Instant::now() + WAIT;
    loop {
        let alerts = s.get(&key, "/v1/alerts").await;
        if alerts.body["alerts"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no alert raised: {}",
            alerts.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got = r.wait_accepted(1, WAIT).await;
    let body = got[0].json();
    assert_eq!(body["type"], "alert.raised", "{body}");
    assert_eq!(body["data"]["order_id"], "AL-1", "{body}");
    assert_eq!(body["data"]["rule"], "carrier-exception", "{body}");
    assert_eq!(body["data"]["severity"], "critical", "{body}");
    // The same rule triggering again on the open alert opens nothing: no second notification.
    post_ok(&s, &key, json!([ev("a3", "AL-1", "exception", &at(20))])).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(r.hits().len(), 1, "only the alert, once");
    let log = log_of(&s, &key, "AL-1").await;
    assert_eq!(log.len(), 1, "{log:#?}");
    assert_eq!(log[0]["trigger"], "alert.raised");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_retry_and_a_deleted_endpoint_sends_nothing_more() {
    let s = spawn_server_with_config(&config(RETRY, "")).await;
    let key = s.key("acme", SCOPES);
    // Per-endpoint timeout: a receiver slower than it is a failed attempt, retried.
    let slow = Receiver::start().await;
    slow.script(|s| s.delay = Duration::from_millis(1500));
    let body = json!({"name": "slow", "kind": "webhook", "url": slow.url, "timeout_ms": 300});
    let r = call(&s, &key, "POST", "/v1/notify/endpoints", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["timeout_ms"], 300, "{}", r.body);
    let ep = id_of(&r.body);
    subscribe(&s, &key, &ep, &["shipped", "delivered"]).await;
    post_ok(&s, &key, json!([ev("t1", "TO-1", "shipped", &at(0))])).await;
    let log = wait_log(&s, &key, "TO-1", WAIT, |l| {
        l.len() == 1 && l[0]["attempts"].as_u64().unwrap_or(0) >= 2
    })
    .await;
    let first = &log[0]["attempt_log"][0];
    assert!(first["code"].is_null(), "{log:#?}");
    assert!(
        first["error"].as_str().unwrap_or("").contains("timed out"),
        "{log:#?}"
    );
    assert!(first["latency_ms"].as_u64().unwrap() < 1200, "{log:#?}");

    // Deleted while its notifications wait: they are skipped, never sent.
    post_ok(&s, &key, json!([ev("t2", "TO-1", "delivered", &at(10))])).await;
    s.wait_for_status(&key, "TO-1", "delivered").await;
    let del = call(
        &s,
        &key,
        "DELETE",
        &format!("/v1/notify/endpoints/{ep}"),
        None,
    )
    .await;
    assert_eq!(del.status, 204, "{}", del.body);
    let sent_before = slow.hits().len();
    let log = wait_log(&s, &key, "TO-1", WAIT, |l| {
        l.iter().all(|n| n["state"] != "pending")
    })
    .await;
    assert!(log.iter().all(|n| n["state"] == "skipped"), "{log:#?}");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    // At most the attempt in flight at the deletion ends; nothing new starts.
    assert!(slow.hits().len() <= sent_before + 1, "sent after deletion");
    let subs = call(&s, &key, "GET", "/v1/notify/subscriptions", None).await;
    assert_eq!(subs.body["subscriptions"], json!([]), "{}", subs.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dead_letter_replays_with_the_cli() {
    let s = spawn_server_with_config(&config("retry = [\"200ms\"]", "")).await;
    let key = s.key("acme", SCOPES);
    let r = Receiver::start().await;
    r.script(|s| s.default = 500);
    let (ep, _) = add_webhook(&s, &key, &r.url, None).await;
    subscribe(&s, &key, &ep, &["shipped"]).await;
    let orders = ["DL-1", "DL-2", "DL-3"];
    let events: Vec<Value> = orders
        .iter()
        .map(|o| ev(&format!("e-{o}"), o, "shipped", &at(0)))
        .collect();
    post_ok(&s, &key, Value::Array(events)).await;
    for o in orders {
        wait_log(&s, &key, o, WAIT, |l| {
            l.len() == 1 && l[0]["state"] == "dead"
        })
        .await;
    }
    assert_eq!(json_lines(&cli(&s, &key, &["dead-letters"])).len(), 3);
    let failed: std::collections::BTreeSet<String> =
        r.hits().iter().map(|h| h.id().to_string()).collect();
    r.script(|s| s.default = 200);
    let out = cli(&s, &key, &["dead-letters", "--all"]);
    assert!(out.contains("\"replayed\":3"), "{out}");
    r.wait_accepted(3, WAIT).await;
    let delivered: std::collections::BTreeSet<String> =
        r.accepted().iter().map(|h| h.id().to_string()).collect();
    assert_eq!(delivered, failed, "replayed under their own ids");
    assert!(cli(&s, &key, &["dead-letters"]).trim().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_dead_letter_gets_its_retries_again() {
    let s = spawn_server_with_config(&config("retry = [\"200ms\"]", "")).await;
    let key = s.key("acme", SCOPES);
    let r = Receiver::start().await;
    r.script(|s| s.default = 500);
    let (ep, _) = add_webhook(&s, &key, &r.url, None).await;
    subscribe(&s, &key, &ep, &["shipped"]).await;
    post_ok(&s, &key, json!([ev("rp1", "RP-1", "shipped", &at(0))])).await;
    let log = wait_log(&s, &key, "RP-1", WAIT, |l| {
        l.len() == 1 && l[0]["state"] == "dead"
    })
    .await;
    // Back, but with one more hiccup: the replay's first attempt fails, its retry succeeds.
    r.script(|s| {
        s.default = 200;
        s.queue.push_back(503);
    });
    let id = id_of(&log[0]);
    let rep = call(
        &s,
        &key,
        "POST",
        &format!("/v1/notify/notifications/{id}/replay"),
        None,
    )
    .await;
    assert_eq!(rep.status, 202, "{}", rep.body);
    let log = wait_log(&s, &key, "RP-1", WAIT, |l| l[0]["state"] != "pending").await;
    assert_eq!(log[0]["state"], "sent", "{log:#?}");
    let codes: Vec<&Value> = log[0]["attempt_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["code"])
        .collect();
    assert_eq!(
        codes,
        [&json!(500), &json!(500), &json!(503), &json!(200)],
        "{log:#?}"
    );
}
