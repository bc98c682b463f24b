//! Nothing one tenant (or an anonymous caller) reads reveals another tenant: `/metrics` is the
//! operator's and names no tenant by default; change numbers and order versions count per
//! tenant; alert ids are random; a key that may only act on alerts gets no alert details.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use common::*;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::{Duration, Instant};

const TOKEN: &str = "metrics-token-0123456789abcdef0123456789";

/// An event rule: every exception opens an alert at once.
const RULES: &str = r#"
[[rules]]
name = "carrier-exception"
kind = "event"
statuses = ["exception"]
severity = "critical"
"#;

async fn get_metrics(s: &Server, headers: &[(&str, &str)]) -> Resp {
    let mut req = s.http.get(s.url("/metrics"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    Resp::read(req.send().await.unwrap()).await
}

/// The tenant's alerts once `n` are listed.
async fn alerts(s: &Server, key: &str, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + WAIT;
    loop {
        let r = s.get(key, "/v1/alerts?status=all&limit=100").await;
        let a = r.body["alerts"].as_array().cloned().unwrap_or_default();
        if a.len() >= n {
            return a;
        }
        assert!(
            Instant::now() < deadline,
            "{n} alerts never listed: {}",
            r.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn exception(id: &str, order: &str, minute: i64) -> Value {
    let mut e = carrier_ev(id, order, &format!("1Z{order}"), "exception", &at(minute));
    e["carrier"] = "ups".into();
    e
}

#[tokio::test]
async fn metrics_need_the_token_or_an_allowed_client_address() {
    let secrets = tempfile::tempdir().unwrap();
    let token_file = secrets.path().join("metrics.token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    // The test's client is 127.0.0.1, here a trusted proxy: the allow-list is held against the
    // address it forwards for.
    let s = spawn_server_with_config(&format!(
        "[metrics]\nallow = [\"203.0.113.0/24\"]\ntoken_file = \"{}\"\n\n[proxy]\ntrusted = [\"127.0.0.1\", \"::1\"]\n",
        token_file.display()
    ))
    .await;
    let admin = s.key("acme", "admin");
    let bearer = format!("Bearer {TOKEN}");
    let api_key = format!("Bearer {admin}");

    for (what, headers) in [
        ("nothing", vec![]),
        (
            "a client outside the list",
            vec![("x-forwarded-for", "198.51.100.1")],
        ),
        (
            "a wrong token",
            vec![("authorization", "Bearer not-the-metrics-token")],
        ),
        (
            "an admin API key",
            vec![("authorization", api_key.as_str())],
        ),
        (
            "a wrong token from an allowed client",
            vec![
                ("authorization", "Bearer nope"),
                ("x-forwarded-for", "203.0.113.9"),
            ],
        ),
    ] {
        let r = get_metrics(&s, &headers).await;
        r.assert_problem(401);
        assert!(r.headers.contains_key("www-authenticate"), "{what}");
        assert!(
            !r.body.to_string().contains("waypost_"),
            "{what}: {}",
            r.body
        );
    }
    let r = get_metrics(&s, &[]).await;
    let detail = r.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("[metrics] allow") && detail.contains("127.0.0.1"),
        "{detail}"
    );

    for (what, headers) in [
        ("the token", vec![("authorization", bearer.as_str())]),
        (
            "an allowed client",
            vec![("x-forwarded-for", "203.0.113.9")],
        ),
    ] {
        let r = get_metrics(&s, &headers).await;
        assert_eq!(r.status, 200, "{what}: {}", r.body);
        assert!(r.content_type().starts_with("text/plain"), "{what}");
        let text = r.body.as_str().unwrap();
        assert!(text.contains("waypost_events_accepted_total"), "{what}");
    }
    let text = get_metrics(&s, &[("authorization", bearer.as_str())]).await;
    // The five refusals above, and the one whose detail was read.
    assert_eq!(
        metric_in(
            text.body.as_str().unwrap(),
            "waypost_events_rejected_total{reason=\"unauthorized\"}"
        ),
        6.0
    );
}

#[tokio::test]
async fn metrics_are_local_by_default_and_name_no_tenant() {
    let s = spawn_server_with_config(RULES).await;
    let a = s.key("acme", "ingest,read");
    let b = s.key("globex", "ingest,read");
    for (key, order) in [(&a, "A1"), (&a, "A2"), (&b, "B1")] {
        let r = s.post_events(key, &exception(order, order, 0)).await;
        assert_eq!(r.status, 202, "{}", r.body);
    }
    alerts(&s, &a, 2).await;
    alerts(&s, &b, 1).await;

    // Loopback scrapes with no setup...
    let text = s.metrics().await;
    assert_eq!(
        metric_in(
            &text,
            "waypost_alerts{status=\"open\",severity=\"critical\"}"
        ),
        3.0
    );
    assert!(!text.contains("tenant="), "{text}");
    assert!(!text.contains("acme") && !text.contains("globex"), "{text}");
    // ...but not through a proxy that is not trusted: the client behind it is unknown.
    let r = get_metrics(&s, &[("x-forwarded-for", "127.0.0.1")]).await;
    r.assert_problem(401);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("[proxy] trusted"),
        "{}",
        r.body
    );
    let r = get_metrics(&s, &[("forwarded", "for=192.0.2.60")]).await;
    r.assert_problem(401);
}

#[tokio::test]
async fn tenant_labels_are_the_operators_choice() {
    let s = spawn_server_with_config(&format!("{RULES}\n[metrics]\ntenant_labels = true\n")).await;
    let a = s.key("acme", "ingest,read");
    assert_eq!(
        s.post_events(&a, &exception("x", "A1", 0)).await.status,
        202
    );
    alerts(&s, &a, 1).await;
    let text = s.metrics().await;
    assert_eq!(
        metric_in(
            &text,
            "waypost_alerts{tenant=\"acme\",status=\"open\",severity=\"critical\"}"
        ),
        1.0
    );
}

#[tokio::test]
async fn each_tenant_counts_its_own_changes_and_versions() {
    let s = spawn_server().await;
    let a = s.key("acme", "ingest,read");
    let b = s.key("globex", "ingest,read");
    // Interleaved: acme is busier, globex's numbers must not show it.
    let statuses = ["picked", "packed", "shipped"];
    for (i, st) in statuses.iter().enumerate() {
        for k in 0..3 {
            let order = format!("A{k}");
            let r = s
                .post_events(&a, &ev(&format!("a{i}-{k}"), &order, st, &at(i as i64)))
                .await;
            assert_eq!(r.status, 202);
            s.wait_for_status(&a, &order, st).await;
        }
        let r = s
            .post_events(&b, &ev(&format!("b{i}"), "B", st, &at(i as i64)))
            .await;
        assert_eq!(r.status, 202);
        s.wait_for_status(&b, "B", st).await;
    }
    // globex's stream from the start: 1, 2, 3, whatever acme did in between.
    let mut b_all = Sse::connect(&s, &b, Some(0)).await;
    let got = b_all.collect_until(|c| c.len() == 3).await;
    assert_eq!(ids(&got), [1, 2, 3]);
    assert_eq!(
        got.iter()
            .map(|c| c.data["seq"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(s.get(&b, "/v1/orders/B").await.body["version"], 3);
    let mut a_all = Sse::connect(&s, &a, Some(0)).await;
    let got = a_all.collect_until(|c| c.len() == 9).await;
    assert_eq!(ids(&got), (1..=9).collect::<Vec<u64>>());
    // Resuming in the middle of one's own numbering.
    let mut b_rest = Sse::connect(&s, &b, Some(2)).await;
    let c = b_rest.next(WAIT).await.unwrap();
    assert_eq!((c.id, c.data["status"].as_str()), (3, Some("shipped")));
    if let Some(c) = b_rest.next(Duration::from_millis(300)).await {
        panic!("after 3 of 3: {c:?}");
    }
    // A live subscriber from now goes on from its tenant's last number.
    let mut b_live = Sse::connect(&s, &b, None).await;
    assert_eq!(
        s.post_events(&b, &ev("b9", "B", "delivered", &at(9)))
            .await
            .status,
        202
    );
    assert_eq!(b_live.next(WAIT).await.unwrap().id, 4);
    // The listing's cursor walks the tenant's versions.
    let r = s.get(&a, "/v1/orders?limit=2").await;
    let versions: Vec<u64> = r.body["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, [7, 8], "{}", r.body);
    let cursor = r.body["next_cursor"].as_str().unwrap();
    let r = s
        .get(&a, &format!("/v1/orders?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(r.body["orders"][0]["version"], 9, "{}", r.body);
}

#[tokio::test]
async fn alert_ids_are_random_and_operate_alone_gets_a_minimal_answer() {
    let s = spawn_server_with_config(RULES).await;
    let writer = s.key("acme", "ingest,read");
    let desk = s.key("acme", "operate");
    let operator = s.key("acme", "read,operate");
    let other = s.key("globex", "ingest,read,operate");
    let mut sse = Sse::connect(&s, &writer, None).await;
    for i in 0..6 {
        let order = format!("O{i}");
        let r = s.post_events(&writer, &exception(&order, &order, i)).await;
        assert_eq!(r.status, 202, "{}", r.body);
    }
    assert_eq!(
        s.post_events(&other, &exception("g", "G", 0)).await.status,
        202
    );
    let listed = alerts(&s, &writer, 6).await;
    let theirs = alerts(&s, &other, 1).await;
    let ids: Vec<&str> = listed.iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 6, "{ids:?}");
    for id in &ids {
        assert_eq!(id.len(), 32, "{id}");
        assert!(
            id.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')),
            "{id}"
        );
    }
    // Nothing sequential about them: no two share their first 8 digits.
    let prefixes: HashSet<&str> = ids.iter().map(|i| &i[..8]).collect();
    assert_eq!(prefixes.len(), 6, "{ids:?}");
    // The stream names alerts the same way.
    let seen = sse
        .collect_until(|c| c.iter().filter(|m| m.event == "alert").count() >= 6)
        .await;
    for m in seen.iter().filter(|m| m.event == "alert") {
        assert!(ids.contains(&m.data["id"].as_str().unwrap()), "{}", m.data);
    }

    // Integer ids, as alerts had, are no alert of anyone's; another tenant's id neither.
    for n in 1..=7 {
        s.get(&writer, &format!("/v1/alerts/{n}"))
            .await
            .assert_problem(404);
        s.post(&operator, &format!("/v1/alerts/{n}/ack"), json!({}))
            .await
            .assert_problem(404);
    }
    let foreign = theirs[0]["id"].as_str().unwrap();
    s.get(&writer, &format!("/v1/alerts/{foreign}"))
        .await
        .assert_problem(404);
    let r = s
        .post(&operator, &format!("/v1/alerts/{foreign}/ack"), json!({}))
        .await;
    r.assert_problem(404);
    assert!(
        r.body["detail"].as_str().unwrap().contains(foreign),
        "{}",
        r.body
    );

    // operate alone: may act, sees only what changed.
    s.get(&desk, "/v1/alerts").await.assert_problem(403);
    s.get(&desk, &format!("/v1/alerts/{}", ids[0]))
        .await
        .assert_problem(403);
    let r = s
        .post(&desk, &format!("/v1/alerts/{}/ack", ids[0]), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut keys: Vec<&str> = r
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "assignee",
            "id",
            "resolved_at",
            "snoozed_until",
            "status",
            "version"
        ],
        "{}",
        r.body
    );
    assert_eq!(
        (r.body["id"].as_str(), r.body["status"].as_str()),
        (Some(ids[0]), Some("acknowledged"))
    );
    let r = s
        .post(
            &desk,
            &format!("/v1/alerts/{}/resolve", ids[1]),
            json!({"note": "called the carrier"}),
        )
        .await;
    assert_eq!(r.body["status"], "resolved", "{}", r.body);
    for field in [
        "order_id",
        "summary",
        "carrier",
        "order_value",
        "rule",
        "resolution",
    ] {
        assert!(r.body.get(field).is_none(), "{field} in {}", r.body);
    }
    // With read too, the whole alert, as before.
    let r = s
        .post(&operator, &format!("/v1/alerts/{}/ack", ids[2]), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["order_id"].as_str().map(|o| o.starts_with('O')),
        Some(true)
    );
    assert_eq!(r.body["carrier"], "ups");
}

/// Whether `id` is `prefix` and 16 lowercase hex digits: opaque, not a row number.
fn is_public_id(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix).is_some_and(|hex| {
        hex.len() == 16 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

async fn call(s: &Server, key: &str, method: reqwest::Method, path: &str) -> Resp {
    let r = s
        .http
        .request(method, s.url(path))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    Resp::read(r).await
}

#[tokio::test]
async fn document_and_notification_ids_reveal_no_shared_counter() {
    let s = spawn_server_with_config("[notify]\nallow_networks = [\"127.0.0.0/8\"]\n").await;
    let scopes = "ingest,read,admin";
    let (acme, globex) = (s.key("acme", scopes), s.key("globex", scopes));
    // Interleaved, so row numbers shared by the tenants would go 1 (acme), 2 (globex), 3 (acme).
    let mut endpoints = Vec::new();
    for (n, key) in [&acme, &globex, &acme].into_iter().enumerate() {
        let body = format!("{{\"output\": [truncated {n}");
        let r = s
            .http
            .post(s.url("/v1/webhooks/fedex"))
            .bearer_auth(key)
            .body(body)
            .send()
            .await
            .unwrap();
        Resp::read(r).await.assert_problem(422);
        let hook = json!({"name": format!("hook {n}"), "kind": "webhook",
                          "url": format!("http://127.0.0.1:9/hook{n}")});
        let ep = s.post(key, "/v1/notify/endpoints", hook).await;
        assert_eq!(ep.status, 201, "{}", ep.body);
        endpoints.push(ep.body["id"].as_str().unwrap().to_owned());
    }
    let listed = |key: &str| {
        let (s, key) = (&s, key.to_owned());
        async move {
            let r = s.get(&key, "/v1/dead-letters").await;
            assert_eq!(r.status, 200, "{}", r.body);
            r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let (mine, theirs) = (listed(&acme).await, listed(&globex).await);
    assert_eq!((mine.len(), theirs.len()), (2, 1), "{mine:?} {theirs:?}");
    for id in mine.iter().chain(&theirs) {
        assert!(is_public_id(id, "doc_"), "{id}");
    }
    for id in &endpoints {
        assert!(is_public_id(id, "ep_"), "{id}");
    }
    let all: HashSet<&String> = mine.iter().chain(&theirs).chain(&endpoints).collect();
    assert_eq!(all.len(), 6, "ids repeat: {all:?}");
    // The page cursor is an id too, not the row number.
    let page = s.get(&acme, "/v1/dead-letters?limit=1").await;
    let cursor = page.body["next_cursor"].as_str().unwrap();
    assert!(is_public_id(cursor, "doc_"), "{}", page.body);
    let next = s
        .get(&acme, &format!("/v1/dead-letters?limit=1&cursor={cursor}"))
        .await;
    assert_eq!(
        next.body["items"][0]["id"],
        mine[1].as_str(),
        "{}",
        next.body
    );
    s.get(&acme, "/v1/dead-letters?cursor=1")
        .await
        .assert_problem(400);

    // Another tenant's id, a row number, or an id of another kind names nothing: 404, as an
    // unknown id does.
    let foreign_doc = &theirs[0];
    let foreign_ep = &endpoints[1];
    let get = reqwest::Method::GET;
    for path in [
        format!("/v1/documents/{foreign_doc}"),
        "/v1/documents/1".to_owned(),
        "/v1/documents/2".to_owned(),
        format!("/v1/documents/{}", endpoints[0]),
        format!("/v1/notify/endpoints/{foreign_ep}"),
        "/v1/notify/endpoints/1".to_owned(),
        "/v1/notify/endpoints/2".to_owned(),
        format!("/v1/notify/endpoints/{}", mine[0]),
        "/v1/notify/notifications/1".to_owned(),
    ] {
        call(&s, &acme, get.clone(), &path)
            .await
            .assert_problem(404);
    }
    let replay = format!("/v1/dead-letters/{foreign_doc}/replay");
    call(&s, &acme, reqwest::Method::POST, &replay)
        .await
        .assert_problem(404);
    let delete = format!("/v1/notify/endpoints/{foreign_ep}");
    call(&s, &acme, reqwest::Method::DELETE, &delete)
        .await
        .assert_problem(404);
    let sub = json!({"name": "theirs", "endpoint_id": foreign_ep, "on": ["shipped"]});
    s.post(&acme, "/v1/notify/subscriptions", sub)
        .await
        .assert_problem(404);
    // Their own ids work, and a subscription names its endpoint by its public id.
    let doc = s.get(&acme, &format!("/v1/documents/{}", mine[0])).await;
    assert_eq!(doc.body["id"], mine[0].as_str(), "{}", doc.body);
    let sub = json!({"name": "mine", "endpoint_id": endpoints[0], "on": ["shipped"]});
    let made = s.post(&acme, "/v1/notify/subscriptions", sub).await;
    assert_eq!(made.status, 201, "{}", made.body);
    assert!(is_public_id(made.body["id"].as_str().unwrap(), "sub_"));
    assert_eq!(made.body["endpoint_id"], endpoints[0].as_str());
    // A notification's id, and the ids it carries, are opaque too, and only its tenant's.
    let test = format!("/v1/notify/endpoints/{}/test", endpoints[0]);
    let sent = call(&s, &acme, reqwest::Method::POST, &test).await;
    assert_eq!(sent.status, 202, "{}", sent.body);
    let nid = sent.body["id"].as_str().unwrap();
    assert!(is_public_id(nid, "ntf_"), "{}", sent.body);
    assert_eq!(sent.body["endpoint_id"], endpoints[0].as_str());
    assert!(is_public_id(
        sent.body["subscription_id"].as_str().unwrap(),
        "sub_"
    ));
    let path = format!("/v1/notify/notifications/{nid}");
    assert_eq!(s.get(&acme, &path).await.status, 200);
    s.get(&globex, &path).await.assert_problem(404);
    s.get(&acme, "/v1/notify/dead-letters?after=1")
        .await
        .assert_problem(400);
}
