//! Order intake through the real binary: every channel at once into one process, the same
//! order through two paths stored once, an edit as a new version, signed webhooks, X12
//! acknowledgments, and the governed flow over HTTP (explain, the impact queue, release with
//! its false positive, shadow counts, a profile reload and bulk re-validation).
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use common::*;
use serde_json::{Value, json};
use std::path::PathBuf;
use waypost_orders::channels::signature::sign_b64;

fn corpus(path: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../orders/corpus")
        .join(path);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

const SHOP: &str = "lumen-outfitters.myshopify.com";
const SHOP_SECRET: &str = "shpss_lumen_test_secret";
const WOO: &str = "https://candle-and-loom.example/";
const WOO_SECRET: &str = "woo-candle-secret";

const ACCOUNTS: &str = r#"
[[accounts]]
id = "lumen"
channel = "shopify"
refs = ["lumen-outfitters.myshopify.com"]
sla = { default = "5d" }
webhook_secrets = ["env:LUMEN_SECRET"]

[[accounts]]
id = "candle"
channel = "woocommerce"
refs = ["https://candle-and-loom.example/"]
webhook_secrets = ["woo-candle-secret"]
express_services = ["flat_rate"]

[[accounts]]
id = "web"
channel = "api"
sla = { default = "3d", express = "1d" }
express_services = ["express"]
vip_tags = ["vip"]
"#;

const PROFILE: &str = r#"
name = "house"
[checks.sku_known]
outcome = "hold"
"#;

const SHADOW: &str = r#"
name = "stricter"
[checks.quantity]
outcome = "reject"
max = 2
"#;

async fn server(profile: &str) -> Server {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.keep();
    std::fs::create_dir_all(dir.join("orders")).unwrap();
    std::fs::write(dir.join("orders/accounts.toml"), ACCOUNTS).unwrap();
    std::fs::write(dir.join("orders/profile.toml"), profile).unwrap();
    std::fs::write(dir.join("orders/shadow.toml"), SHADOW).unwrap();
    let config = format!(
        "[orders.tenants.acme]\naccounts = \"{d}/orders/accounts.toml\"\nprofile = \"{d}/orders/profile.toml\"\nshadow = \"{d}/orders/shadow.toml\"\n",
        d = dir.display()
    );
    spawn_server_with_config_env(&config, &[("LUMEN_SECRET", SHOP_SECRET)]).await
}

async fn send(
    s: &Server,
    path: &str,
    key: Option<&str>,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> Resp {
    let mut req = s.http.post(s.url(path)).body(body);
    for (k, v) in headers {
        req = req.header(*k, v.as_str());
    }
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    Resp::read(req.send().await.unwrap()).await
}

fn shopify_headers(body: &[u8], webhook_id: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "x-shopify-hmac-sha256",
            sign_b64(body, SHOP_SECRET.as_bytes()),
        ),
        ("x-shopify-shop-domain", SHOP.to_string()),
        ("x-shopify-topic", "orders/create".to_string()),
        ("x-shopify-webhook-id", webhook_id.to_string()),
        ("content-type", "application/json".to_string()),
    ]
}

fn result(r: &Resp, i: usize) -> &Value {
    &r.body["results"][i]
}

fn generic(order_id: &str, sku: &str, qty: u32) -> Value {
    json!({
        "order_id": order_id,
        "created_at": "2026-12-01T09:00:00Z",
        "updated_at": "2026-12-01T09:00:00Z",
        "lines": [{"sku": sku, "quantity": qty, "unit_price": "12.50"}],
        "currency": "USD",
        "customer": {"email": format!("{order_id}@example.com")},
        "ship_to": {"lines": ["1 Main St"], "city": "Newark", "region": "NJ",
                    "postal_code": "07102", "country": "US"},
        "service_level": "standard"
    })
}

#[tokio::test]
async fn every_channel_at_once_gives_one_order_each_with_the_right_versions() {
    let s = server("name = \"open\"\n").await;
    let key = s.key("acme", "ingest,read");
    let tenant = "?tenant=acme";

    // Shopify: the create webhook, signed; the same delivery again is answered unread.
    let create = corpus("shopify/orders-create.json");
    let r = send(
        &s,
        &format!("/v1/channels/shopify/orders{tenant}"),
        None,
        &shopify_headers(&create, "wh-1"),
        create.clone(),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(result(&r, 0)["order_id"], "#1042");
    assert_eq!(result(&r, 0)["account"], "lumen");
    assert_eq!(
        (
            result(&r, 0)["version"].as_i64(),
            result(&r, 0)["status"].as_str()
        ),
        (Some(1), Some("accepted"))
    );
    let again = send(
        &s,
        &format!("/v1/channels/shopify/orders{tenant}"),
        None,
        &shopify_headers(&create, "wh-1"),
        create.clone(),
    )
    .await;
    assert_eq!(result(&again, 0)["duplicate"], true);
    // The poll (GraphQL, with a key) finds the edited order: version 2; the edit's own webhook
    // after it is the same statement, stored once.
    let page = corpus("shopify/orders-page.graphql.json");
    let r = send(
        &s,
        &format!("/v1/channels/shopify/orders?store={SHOP}"),
        Some(&key),
        &[("content-type", "application/json".into())],
        page,
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let edited = r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["order_id"] == "#1042")
        .unwrap()
        .clone();
    assert_eq!(
        (edited["version"].as_i64(), edited["duplicate"].as_bool()),
        (Some(2), Some(false))
    );
    let updated = corpus("shopify/orders-updated-edit.json");
    let r = send(
        &s,
        &format!("/v1/channels/shopify/orders{tenant}"),
        None,
        &shopify_headers(&updated, "wh-2"),
        updated,
    )
    .await;
    assert_eq!(
        (
            result(&r, 0)["version"].as_i64(),
            result(&r, 0)["duplicate"].as_bool()
        ),
        (Some(2), Some(true))
    );

    // WooCommerce, signed: a list of two orders.
    let woo = corpus("woocommerce/list.json");
    let r = send(
        &s,
        &format!("/v1/channels/woocommerce/orders{tenant}"),
        None,
        &[
            (
                "x-wc-webhook-signature",
                sign_b64(&woo, WOO_SECRET.as_bytes()),
            ),
            ("x-wc-webhook-source", WOO.into()),
            ("content-type", "application/json".into()),
        ],
        woo,
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["results"].as_array().unwrap().len(), 2);
    assert_eq!(result(&r, 0)["account"], "candle");
    // Woo's `"sku": ""` line is held for a person, not guessed.
    assert_eq!(
        (
            result(&r, 0)["order_id"].as_str(),
            result(&r, 0)["status"].as_str()
        ),
        (Some("1184"), Some("held"))
    );
    assert_eq!(result(&r, 0)["because"], json!(["sku_known"]));

    // Magento with a key; X12 850 with a key, answered with its 997 and an 855.
    let r = send(
        &s,
        "/v1/channels/magento/orders?store=https://shop.example.com/",
        Some(&key),
        &[("content-type", "application/json".into())],
        corpus("magento/tutorial.json"),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(result(&r, 0)["order_id"], "000000009");
    let r = send(
        &s,
        "/v1/channels/x12/orders",
        Some(&key),
        &[("content-type", "application/edi-x12".into())],
        corpus("x12/pgw-replace.edi"),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let ack = r.body["acknowledgment"].as_str().unwrap();
    assert!(
        ack.contains("ST*997") || ack.contains("ST~997") || ack.contains("997"),
        "{ack}"
    );
    assert!(ack.contains("AK5"), "{ack}");
    assert_eq!(
        r.body["po_acknowledgments"].as_array().map(Vec::len),
        Some(1)
    );

    // Waypost's own schema, posted and then uploaded (the CSV path): one order.
    let o = generic("WEB-1", "SKU-1", 1);
    let r = s.post(&key, "/v1/orders", o.clone()).await;
    assert_eq!(
        (r.status, result(&r, 0)["version"].as_i64()),
        (200, Some(1)),
        "{:?}",
        r.body
    );
    let r = s.post(&key, "/v1/channels/csv/orders", json!([o])).await;
    assert_eq!(result(&r, 0)["duplicate"], true, "{:?}", r.body);

    // Every accepted order has started its status history, with its promise.
    for id in ["%231042", "CL-1183", "000000009", "S52001187", "WEB-1"] {
        s.wait_for_status(&key, id, "pending").await;
    }
    s.wait_for_status(&key, "1184", "on_hold").await;
    // The promise came from the account's SLA where the payload had none.
    let o = s.get(&key, "/v1/orders/WEB-1").await;
    assert_eq!(
        o.body["promised_at"], "2026-12-04T09:00:00Z",
        "{:?}",
        o.body
    );
    let explain = s.get(&key, "/v1/orders/%231042/intake").await;
    assert_eq!(explain.status, 200, "{:?}", explain.body);
    assert_eq!(explain.body["versions"].as_array().unwrap().len(), 2);
    assert_eq!(explain.body["order"]["version"], 2);
}

#[tokio::test]
async fn unsigned_or_wrongly_signed_webhooks_are_refused_unread() {
    let s = server("name = \"open\"\n").await;
    let create = corpus("shopify/orders-create.json");
    let r = send(
        &s,
        "/v1/channels/shopify/orders?tenant=acme",
        None,
        &[("x-shopify-shop-domain", SHOP.into())],
        create.clone(),
    )
    .await;
    r.assert_problem(401);
    let mut h = shopify_headers(&create, "wh-9");
    h[0].1 = sign_b64(&create, b"not the secret");
    let r = send(
        &s,
        "/v1/channels/shopify/orders?tenant=acme",
        None,
        &h,
        create.clone(),
    )
    .await;
    r.assert_problem(401);
    let r = send(
        &s,
        "/v1/channels/amazon/orders?tenant=acme",
        None,
        &[],
        b"{}".to_vec(),
    )
    .await;
    r.assert_problem(404);
    let key = s.key("acme", "read");
    let r = send(
        &s,
        "/v1/orders",
        Some(&key),
        &[("content-type", "application/json".into())],
        b"{}".to_vec(),
    )
    .await;
    r.assert_problem(403);
}

#[tokio::test]
async fn the_governed_flow_explain_queue_release_shadow_and_revalidation_over_http() {
    let s = server(PROFILE).await;
    let key = s.key("acme", "ingest,read,operate,admin");
    let put = s
        .http
        .put(s.url("/v1/catalogue"))
        .bearer_auth(&key)
        .json(&json!([{"sku": "SKU-1", "title": "Mug"}, {"sku": "SKU-2"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);

    // Unknown SKU: held by the profile in force; quantity 3 would be rejected by the shadow.
    let r = s.post(&key, "/v1/orders", generic("H-1", "NOPE", 3)).await;
    assert_eq!(result(&r, 0)["status"], "held", "{:?}", r.body);
    assert_eq!(result(&r, 0)["because"], json!(["sku_known"]));
    let mut vip = generic("H-2", "NOPE-2", 1);
    vip["tags"] = json!(["vip"]);
    vip["lines"][0]["unit_price"] = json!("400.00");
    let r = s.post(&key, "/v1/orders", vip).await;
    assert_eq!(result(&r, 0)["status"], "held");
    let ok = s.post(&key, "/v1/orders", generic("A-1", "SKU-1", 1)).await;
    assert_eq!(result(&ok, 0)["status"], "accepted");

    // The queue puts the VIP, higher-value order first, and says why.
    let q = s.get(&key, "/v1/intake/queue").await;
    assert_eq!(q.status, 200, "{:?}", q.body);
    let ids: Vec<&str> = q.body["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["order_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["H-2", "H-1"]);
    assert!(
        q.body["orders"][0]["impact_parts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["part"].as_str().unwrap().contains("vip")),
        "{:?}",
        q.body
    );

    // Explain: which rule, from which layer; the shadow's would-be decision beside it.
    let e = s.get(&key, "/v1/orders/H-1/intake").await;
    assert_eq!(e.body["decision"]["outcome"], "hold");
    let sku = e.body["decision"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "sku_known")
        .unwrap()
        .clone();
    assert_eq!(
        (sku["outcome"].as_str(), sku["layer"].as_str()),
        (Some("hold"), Some("global"))
    );
    assert_eq!(e.body["shadow"]["outcome"], "reject");
    assert_eq!(e.body["shadow_differs"], true);
    s.wait_for_status(&key, "H-1", "on_hold").await;

    // Released unchanged: into the flow, and a false positive of sku_known.
    let r = s
        .post(
            &key,
            "/v1/intake/queue/H-1/release",
            json!({"version": 1, "actor": "ana"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["status"], "accepted");
    s.wait_for_status(&key, "H-1", "pending").await;
    let stale = s
        .post(&key, "/v1/intake/queue/H-1/release", json!({"version": 1}))
        .await;
    stale.assert_problem(409);
    let g = s.get(&key, "/v1/intake/gates").await;
    let hold = g.body["enforced"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "sku_known" && c["outcome"] == "hold")
        .unwrap()
        .clone();
    assert_eq!(
        (hold["count"].as_u64(), hold["false_positives"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(hold["false_positive_rate"].as_f64(), Some(0.5));
    assert!(
        g.body["shadow"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["check"] == "quantity" && c["outcome"] == "reject")
    );

    // A profile change, reloaded without a restart, then a bulk re-validation releases H-2.
    let cfg = std::fs::read_to_string(s.dir.join("waypost.toml")).unwrap();
    let profile_path = cfg
        .lines()
        .find(|l| l.starts_with("profile"))
        .unwrap()
        .split('"')
        .nth(1)
        .unwrap()
        .to_string();
    std::fs::write(
        &profile_path,
        "name = \"relaxed\"\n[checks.sku_known]\noutcome = \"warn\"\n",
    )
    .unwrap();
    let r = s.post(&key, "/v1/admin/reload", json!({})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = s.post(&key, "/v1/intake/revalidate", json!({})).await;
    assert_eq!(
        (r.body["examined"].as_u64(), r.body["accepted"].as_u64()),
        (Some(1), Some(1)),
        "{:?}",
        r.body
    );
    s.wait_for_status(&key, "H-2", "pending").await;
    let e = s.get(&key, "/v1/orders/H-2/intake").await;
    let actions: Vec<&str> = e.body["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["received", "revalidated"]);

    // Fix: a held order corrected by a person becomes version 2 and is judged again.
    let r = s
        .post(&key, "/v1/orders", generic("H-3", "NOPE-3", 1))
        .await;
    assert_eq!(
        result(&r, 0)["status"],
        "accepted",
        "sku_known only warns now"
    );
    std::fs::write(&profile_path, PROFILE).unwrap();
    s.post(&key, "/v1/admin/reload", json!({})).await;
    let r = s
        .post(&key, "/v1/orders", generic("H-4", "NOPE-4", 1))
        .await;
    assert_eq!(result(&r, 0)["status"], "held");
    let r = s
        .post(
            &key,
            "/v1/intake/queue/H-4/fix",
            json!({"version": 1, "order": generic("H-4", "SKU-2", 1), "actor": "ana"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        (r.body["version"].as_i64(), r.body["status"].as_str()),
        (Some(2), Some("accepted"))
    );
    s.wait_for_status(&key, "H-4", "pending").await;
    let e = s.get(&key, "/v1/orders/H-4/intake").await;
    assert!(
        e.body["audit"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["actor"].as_str().unwrap().starts_with("ana via")),
        "{:?}",
        e.body["audit"]
    );
}

#[tokio::test]
async fn stockouts_and_long_holds_of_valuable_orders_raise_alerts_through_the_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.keep();
    std::fs::create_dir_all(dir.join("orders")).unwrap();
    std::fs::write(dir.join("orders/accounts.toml"), ACCOUNTS).unwrap();
    std::fs::write(dir.join("orders/profile.toml"), PROFILE).unwrap();
    let config = format!(
        r#"
[orders.tenants.acme]
accounts = "{d}/orders/accounts.toml"
profile = "{d}/orders/profile.toml"

[[rules]]
name = "stockout"
kind = "event"
statuses = ["backordered"]
reasons = ["stockout"]
subject = "order"

[[rules]]
name = "valuable-order-held"
kind = "dwell"
statuses = ["on_hold"]
after = "2s"
severity = "high"
subject = "order"
[rules.filter]
min_order_value = 100.0
"#,
        d = dir.display()
    );
    let s = spawn_server_with_config_env(&config, &[("LUMEN_SECRET", SHOP_SECRET)]).await;
    let key = s.key("acme", "ingest,read,operate");
    let put = s
        .http
        .put(s.url("/v1/catalogue"))
        .bearer_auth(&key)
        .json(&json!([{"sku": "SKU-1"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let put = s
        .http
        .put(s.url("/v1/stock"))
        .bearer_auth(&key)
        .json(&json!([{"warehouse": "EWR", "sku": "SKU-1", "available": 1}]))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    // Two wanted, one in stock: backordered, and the stockout rule raises.
    let r = s.post(&key, "/v1/orders", generic("B-1", "SKU-1", 2)).await;
    assert_eq!(result(&r, 0)["status"], "backordered", "{:?}", r.body);
    // A valuable order held for an unknown SKU: after 2 s on hold, the dwell rule raises; a
    // cheap one held alike does not.
    let mut big = generic("V-1", "NOPE", 1);
    big["lines"][0]["unit_price"] = json!("250.00");
    assert_eq!(
        result(&s.post(&key, "/v1/orders", big).await, 0)["status"],
        "held"
    );
    assert_eq!(
        result(
            &s.post(&key, "/v1/orders", generic("C-1", "NOPE-2", 1))
                .await,
            0
        )["status"],
        "held"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let alerts = loop {
        let b = s.get(&key, "/v1/alerts").await.body;
        let rules: Vec<&str> = b["alerts"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x["rule"].as_str()).collect())
            .unwrap_or_default();
        if rules.contains(&"stockout") && rules.contains(&"valuable-order-held") {
            break b;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "alerts never raised: {b}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let list = alerts["alerts"].as_array().unwrap();
    assert!(
        list.iter()
            .any(|a| a["rule"] == "valuable-order-held" && a["order_id"] == "V-1"),
        "{alerts}"
    );
    assert!(!list.iter().any(|a| a["order_id"] == "C-1"), "{alerts}");
    assert!(
        list.iter()
            .any(|a| a["rule"] == "stockout" && a["order_id"] == "B-1"),
        "{alerts}"
    );
    // Stock arrives: the backorder clears into the flow.
    let put = s
        .http
        .put(s.url("/v1/stock"))
        .bearer_auth(&key)
        .json(&json!([{"warehouse": "JFK", "sku": "SKU-1", "available": 5}]))
        .send()
        .await
        .unwrap();
    let body: Value = put.json().await.unwrap();
    assert_eq!(body["released"], json!(["B-1"]));
    s.wait_for_status(&key, "B-1", "pending").await;
}

#[tokio::test]
async fn the_readme_example_order_is_accepted() {
    let s = spawn_server().await;
    let key = s.key("acme", "ingest,read");
    let body =
        std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/order.json"))
            .unwrap();
    let r = send(
        &s,
        "/v1/orders",
        Some(&key),
        &[("content-type", "application/json".into())],
        body,
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        (
            result(&r, 0)["order_id"].as_str(),
            result(&r, 0)["status"].as_str()
        ),
        (Some("WEB-1001"), Some("accepted"))
    );
    s.wait_for_status(&key, "WEB-1001", "pending").await;
}
