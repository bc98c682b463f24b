//! Tenants are walled off from each other, and keys are checked: scopes, unknown and revoked keys.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use common::*;
use serde_json::json;
use std::process::Command;
use std::time::Duration;

#[tokio::test]
async fn another_tenant_cannot_see_an_order_its_shipment_or_its_changes() {
    let s = spawn_server().await;
    let a = s.key("acme", "ingest,read");
    let b = s.key("globex", "ingest,read");
    let mut b_live = Sse::connect(&s, &b, None).await;
    let mut a_live = Sse::connect(&s, &a, None).await;

    let r = s
        .post_events(
            &a,
            &carrier_ev("a1", "A-1", "1ZSECRET", "in_transit", &at(0)),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    s.wait_for_status(&a, "A-1", "in_transit").await;
    assert_eq!(s.get(&a, "/v1/shipments/1ZSECRET").await.status, 200);

    s.get(&b, "/v1/orders/A-1").await.assert_problem(404);
    s.get(&b, "/v1/shipments/1ZSECRET")
        .await
        .assert_problem(404);
    let list = s.get(&b, "/v1/orders").await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["orders"], json!([]), "{}", list.body);
    for q in [
        "status=in_transit",
        "carrier=ups",
        "updated_since=2000-01-01T00:00:00Z",
    ] {
        let r = s.get(&b, &format!("/v1/orders?{q}")).await;
        assert_eq!(r.body["orders"], json!([]), "{q}: {}", r.body);
    }

    // B's own change comes after A's in the log; B must see it first and nothing of A's.
    assert_eq!(
        s.post_events(&b, &ev("b1", "B-1", "packed", &at(1)))
            .await
            .status,
        202
    );
    let c = b_live.next(WAIT).await.expect("B's own change");
    assert_eq!(
        (c.data["tenant"].as_str(), c.data["order_id"].as_str()),
        (Some("globex"), Some("B-1"))
    );
    let c = a_live.next(WAIT).await.expect("A's own change");
    assert_eq!(c.data["order_id"], "A-1");
    if let Some(c) = a_live.next(Duration::from_millis(200)).await {
        panic!("A saw another tenant's change: {c:?}");
    }

    // Replaying from the start shows each tenant only its own changes.
    let mut b_all = Sse::connect(&s, &b, Some(0)).await;
    let c = b_all.next(WAIT).await.expect("B's backlog");
    assert_eq!(c.data["order_id"], "B-1");
    if let Some(c) = b_all.next(Duration::from_millis(300)).await {
        panic!("B's backlog holds a foreign change: {c:?}");
    }
    let mut a_all = Sse::connect(&s, &a, Some(0)).await;
    assert_eq!(
        a_all.next(WAIT).await.expect("A's backlog").data["order_id"],
        "A-1"
    );
    if let Some(c) = a_all.next(Duration::from_millis(300)).await {
        panic!("A's backlog holds a foreign change: {c:?}");
    }
}

#[tokio::test]
async fn the_same_source_and_event_id_in_two_tenants_is_not_a_duplicate() {
    let s = spawn_server().await;
    let a = s.key("acme", "ingest,read");
    let b = s.key("globex", "ingest,read");
    let e = carrier_ev("shared-1", "SAME", "1ZSAME", "shipped", &at(0));
    for key in [&a, &b] {
        let r = s.post_events(key, &e).await;
        assert_eq!(
            r.body,
            json!({"accepted": 1, "duplicates": 0}),
            "{}",
            r.body
        );
    }
    let r = s.post_events(&a, &e).await;
    assert_eq!(r.body, json!({"accepted": 0, "duplicates": 1}));
    for key in [&a, &b] {
        let o = s.wait_for_status(key, "SAME", "shipped").await;
        assert_eq!(o["timeline"].as_array().map(Vec::len), Some(1), "{o}");
    }
    // Each tenant can move its own copy on.
    let r = s
        .post_events(
            &b,
            &carrier_ev("shared-2", "SAME", "1ZSAME", "delivered", &at(9)),
        )
        .await;
    assert_eq!(r.status, 202);
    s.wait_for_status(&b, "SAME", "delivered").await;
    assert_eq!(s.get(&a, "/v1/orders/SAME").await.body["status"], "shipped");
}

#[tokio::test]
async fn scopes_are_enforced() {
    let s = spawn_server().await;
    let ingest_only = s.key("acme", "ingest");
    let read_only = s.key("acme", "read");
    let admin = s.key("acme", "admin");

    let r = s
        .post_events(&read_only, &ev("x1", "FORBIDDEN", "packed", &at(0)))
        .await;
    r.assert_problem(403);
    assert!(
        r.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("ingest")),
        "{}",
        r.body
    );

    let r = s
        .post_events(
            &ingest_only,
            &carrier_ev("i1", "ING", "1ZING", "packed", &at(0)),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    for path in [
        "/v1/orders/ING",
        "/v1/orders",
        "/v1/shipments/1ZING",
        "/v1/stream",
    ] {
        let r = s.get(&ingest_only, path).await;
        r.assert_problem(403);
    }

    // Admin implies both; the refused event was never stored.
    assert_eq!(
        s.post_events(&admin, &ev("x2", "ADMIN", "picked", &at(1)))
            .await
            .status,
        202
    );
    s.wait_for_status(&read_only, "ADMIN", "picked").await;
    s.wait_for_status(&admin, "ING", "packed").await;
    s.get(&admin, "/v1/orders/FORBIDDEN")
        .await
        .assert_problem(404);
    assert_eq!(
        s.metric("waypost_events_rejected_total{reason=\"forbidden\"}")
            .await,
        5.0
    );
}

#[tokio::test]
async fn missing_malformed_and_unknown_keys_are_unauthorized() {
    let s = spawn_server().await;
    let good = s.key("acme", "ingest,read");
    let unknown = format!("wp_{}", "A".repeat(43));
    let headers: [Option<String>; 6] = [
        None,
        Some("Basic YWxhZGRpbjpvcGVuc2VzYW1l".into()),
        Some("Bearer".into()),
        Some("Bearer nonsense".into()),
        Some(format!("Bearer {unknown}")),
        Some(format!("Bearer {}x", good)),
    ];
    let body = ev("k1", "K-1", "packed", &at(0));
    let mut refused = 0.0;
    for h in &headers {
        for post in [true, false] {
            let mut req = if post {
                s.http.post(s.url("/v1/events")).json(&body)
            } else {
                s.http.get(s.url("/v1/orders/K-1"))
            };
            if let Some(h) = h {
                req = req.header("Authorization", h);
            }
            let r = Resp::read(req.send().await.expect("request")).await;
            r.assert_problem(401);
            assert!(
                r.headers.contains_key("www-authenticate"),
                "{h:?}: {:?}",
                r.headers
            );
            refused += 1.0;
        }
    }
    assert_eq!(
        s.metric("waypost_events_rejected_total{reason=\"unauthorized\"}")
            .await,
        refused
    );
    // Nothing was stored, and the good key still works.
    assert_eq!(
        s.post_events(&good, &ev("k2", "K-2", "packed", &at(0)))
            .await
            .status,
        202
    );
    s.wait_for_status(&good, "K-2", "packed").await;
    s.get(&good, "/v1/orders/K-1").await.assert_problem(404);
    // Operations endpoints need no key.
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(
            s.http.get(s.url(path)).send().await.expect("ops").status(),
            200,
            "{path}"
        );
    }
}

fn waypost(args: &[&str], dir: &std::path::Path) -> String {
    let out = Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .output()
        .expect("run waypost");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn a_revoked_key_is_refused() {
    let mut s = spawn_server().await;
    let doomed = waypost(
        &["keys", "create", "--tenant", "initech", "--label", "doomed"],
        &s.dir,
    );
    let doomed = doomed.trim();
    let other = s.key("initech", "ingest,read");
    let r = s
        .post_events(doomed, &ev("r1", "R-1", "packed", &at(0)))
        .await;
    assert_eq!(r.status, 202);
    s.wait_for_status(doomed, "R-1", "packed").await;

    let list = waypost(&["keys", "list", "--tenant", "initech"], &s.dir);
    let line = list
        .lines()
        .find(|l| l.ends_with("\tdoomed"))
        .expect("the doomed key is listed");
    let id = line.split('\t').next().expect("key id");
    waypost(&["keys", "revoke", id], &s.dir);
    let list = waypost(&["keys", "list", "--tenant", "initech"], &s.dir);
    assert_eq!(
        list.lines().filter(|l| l.ends_with("\trevoked")).count(),
        1,
        "{list}"
    );

    // Keys are cached for up to 30 s; a fresh process on the same data must refuse it at once.
    s.restart().await;
    let r = s.get(doomed, "/v1/orders/R-1").await;
    r.assert_problem(401);
    assert!(
        r.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("revoked")),
        "{}",
        r.body
    );
    s.post_events(doomed, &ev("r2", "R-2", "packed", &at(0)))
        .await
        .assert_problem(401);
    let kept = s.get(&other, "/v1/orders/R-1").await;
    assert_eq!(
        kept.status, 200,
        "the other key must keep working: {}",
        kept.body
    );
    assert_eq!(kept.body["status"], "packed", "data survives the restart");
}
