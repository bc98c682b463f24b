//! The dashboard's JSON API and the customer tracking view, against the real binary: summary
//! counts with filters, the map's pages and tenancy, warehouses, carrier scorecards on a
//! hand-built history, customer links and the public view, and the link notifications carry.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;
mod notify_common;

use common::*;
use notify_common::{RETRY, Receiver, SCOPES, add_endpoint, config, subscribe};
use serde_json::{Value, json};

fn place(city: &str, cc: &str, region: &str, lat: f64, lon: f64) -> Value {
    json!({"city": city, "country": cc, "region": region, "lat": lat, "lon": lon})
}

/// A carrier event with a position, a warehouse and a channel.
fn located(
    id: &str,
    order: &str,
    status: &str,
    carrier: &str,
    warehouse: Option<&str>,
    channel: &str,
    location: Option<Value>,
) -> Value {
    let mut e = carrier_ev(id, order, &format!("1Z{order}"), status, &at(0));
    e["carrier"] = json!(carrier);
    let mut attrs = json!({"channel": channel});
    if let Some(w) = warehouse {
        attrs["warehouse"] = json!(w);
    }
    e["attributes"] = attrs;
    if let Some(l) = location {
        e["location"] = l;
        e["origin"] = place("Newark", "US", "NJ", 40.7, -74.2);
        e["destination"] = place("Houston", "US", "TX", 29.8, -95.4);
    }
    e
}

fn chicago() -> Option<Value> {
    Some(place("Chicago", "US", "IL", 41.88, -87.63))
}

async fn post(s: &Server, key: &str, body: Value) {
    let r = s.post_events(key, &body).await;
    assert!(r.status < 300, "{} {}", r.status, r.body);
}

fn counts(v: &Value) -> Vec<(Value, u64)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| (c["key"].clone(), c["count"].as_u64().unwrap()))
        .collect()
}

fn is_problem(r: &Resp, status: u16) {
    assert_eq!(r.status, status, "{}", r.body);
    assert!(
        r.content_type().starts_with("application/problem+json"),
        "{:?}",
        r.headers
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summary_map_and_warehouses_count_the_callers_orders() {
    let s = spawn_server().await;
    let key = s.key("acme", "ingest,read");
    let other = s.key("globex", "ingest,read");
    post(
        &s,
        &key,
        json!([
            located(
                "e1",
                "A1",
                "in_transit",
                "UPS",
                Some("EWR"),
                "web",
                chicago()
            ),
            located(
                "e2",
                "A2",
                "in_transit",
                "FedEx",
                Some("EWR"),
                "store",
                chicago()
            ),
            located(
                "e3",
                "A3",
                "delivered",
                "UPS",
                Some("LAX"),
                "web",
                chicago()
            ),
            located("e4", "A4", "packed", "UPS", Some("LAX"), "web", None),
            located(
                "e5",
                "A5",
                "out_for_delivery",
                "DHL",
                None,
                "web",
                chicago()
            ),
        ]),
    )
    .await;
    post(
        &s,
        &other,
        json!([located(
            "g1",
            "B1",
            "in_transit",
            "UPS",
            Some("EWR"),
            "web",
            chicago()
        )]),
    )
    .await;
    s.wait_for_status(&key, "A5", "out_for_delivery").await;
    s.wait_for_status(&other, "B1", "in_transit").await;

    let r = s.get(&key, "/v1/dashboard/summary").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (r.body["total"].as_u64(), r.body["active"].as_u64()),
        (Some(5), Some(4))
    );
    assert_eq!(r.body["alerts_open"].as_u64(), Some(0));
    assert_eq!(counts(&r.body["by_status"])[0], (json!("in_transit"), 2));
    assert_eq!(
        counts(&r.body["by_carrier"]),
        [(json!("ups"), 3), (json!("dhl"), 1), (json!("fedex"), 1)]
    );
    assert_eq!(
        counts(&r.body["by_warehouse"]),
        [(json!("EWR"), 2), (json!("LAX"), 2), (Value::Null, 1)]
    );
    assert_eq!(
        counts(&r.body["by_channel"]),
        [(json!("web"), 4), (json!("store"), 1)]
    );

    let r = s
        .get(&key, "/v1/dashboard/summary?carrier=ups&channel=web")
        .await;
    assert_eq!(
        (r.body["total"].as_u64(), r.body["active"].as_u64()),
        (Some(3), Some(2))
    );
    let r = s
        .get(&key, "/v1/dashboard/summary?warehouse=LAX&status=packed")
        .await;
    assert_eq!(r.body["total"].as_u64(), Some(1), "{}", r.body);
    is_problem(
        &s.get(&key, "/v1/dashboard/summary?status=teleported").await,
        400,
    );

    // The map: active orders with a position, by id, a page at a time; never globex's.
    let r = s.get(&key, "/v1/map/orders?limit=2").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ids = |b: &Value| -> Vec<String> {
        b["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["order_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&r.body), ["A1", "A2"]);
    let p = &r.body["points"][0];
    assert_eq!(
        (p["lat"].as_f64(), p["lon"].as_f64()),
        (Some(41.88), Some(-87.63))
    );
    assert_eq!(
        (p["dest_lat"].as_f64(), p["dest_lon"].as_f64()),
        (Some(29.8), Some(-95.4))
    );
    assert_eq!(
        (p["carrier"].as_str(), p["warehouse"].as_str()),
        (Some("UPS"), Some("EWR"))
    );
    assert_eq!(p["status"], "in_transit");
    assert!(p["updated_at"].as_str().unwrap().ends_with('Z'), "{p}");
    let cursor = r.body["next_cursor"].as_str().unwrap().to_string();
    let r = s
        .get(&key, &format!("/v1/map/orders?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(ids(&r.body), ["A5"]);
    assert_eq!(r.body["next_cursor"], Value::Null);
    let all = s.get(&key, "/v1/map/orders").await;
    assert_eq!(ids(&all.body), ["A1", "A2", "A5"]);
    // A last page that is exactly full says it is the last.
    let exact = s.get(&key, "/v1/map/orders?limit=3").await;
    assert_eq!(ids(&exact.body), ["A1", "A2", "A5"]);
    assert_eq!(exact.body["next_cursor"], Value::Null);
    let theirs = s.get(&other, "/v1/map/orders").await;
    assert_eq!(ids(&theirs.body), ["B1"]);
    for bad in [
        "limit=0",
        "limit=10001",
        "limit=x",
        "cursor=bm90LWEtY3Vyc29y",
    ] {
        is_problem(&s.get(&key, &format!("/v1/map/orders?{bad}")).await, 400);
    }

    let r = s.get(&key, "/v1/map/warehouses").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let w = r.body["warehouses"].as_array().unwrap();
    assert_eq!(w.len(), 2, "{}", r.body);
    assert_eq!(
        (w[0]["name"].as_str(), w[0]["active_orders"].as_u64()),
        (Some("EWR"), Some(2))
    );
    assert_eq!(
        (w[0]["lat"].as_f64(), w[0]["lon"].as_f64()),
        (Some(40.7), Some(-74.2))
    );
    assert_eq!(
        (w[1]["name"].as_str(), w[1]["active_orders"].as_u64()),
        (Some("LAX"), Some(1))
    );
    assert_eq!(w[1]["lat"], Value::Null, "A4 has no known origin");

    // Without a key: 401.
    let r = s.http.get(s.url("/v1/map/orders")).send().await.unwrap();
    assert_eq!(r.status(), 401);
}

/// A shipment's history hours after `base`: shipped, in transit, delivered, with a promise.
fn shipment(
    order: &str,
    carrier: &str,
    base: jiff::Timestamp,
    shipped_h: i64,
    delivered_h: i64,
    promised_h: Option<i64>,
) -> Vec<Value> {
    let h = |n: i64| (base + jiff::SignedDuration::from_hours(n)).to_string();
    let mk = |n: &str, status: &str, t: String| {
        let mut e = carrier_ev(
            &format!("{order}-{n}"),
            order,
            &format!("T{order}"),
            status,
            &t,
        );
        e["carrier"] = json!(carrier);
        e["origin"] = json!({"city": "Reno", "region": "NV", "country": "US"});
        e["destination"] = json!({"city": "Austin", "region": "TX", "country": "US"});
        if let Some(p) = promised_h {
            e["promised_at"] = json!(h(p));
        }
        e
    };
    vec![
        mk("s", "shipped", h(shipped_h)),
        mk("t", "in_transit", h(shipped_h + 1)),
        mk("d", "delivered", h(delivered_h)),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scorecards_rate_and_rank_a_known_history() {
    let s = spawn_server().await;
    let key = s.key("acme", "ingest,read");
    let base = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * 5);
    let old = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * 60);
    let mut evs = Vec::new();
    // ups: transit 10, 20, 30 hours; promises kept, kept, missed.
    evs.extend(shipment("S1", "ups", base, 0, 10, Some(12)));
    evs.extend(shipment("S2", "ups", base, 0, 20, Some(20)));
    evs.extend(shipment("S3", "ups", base, 0, 30, Some(29)));
    // dhl: no promise.
    evs.extend(shipment("S4", "dhl", base, 0, 5, None));
    // Delivered 60 days ago: outside the default window.
    evs.extend(shipment("S5", "ups", old, 0, 100, Some(200)));
    post(&s, &key, json!(evs)).await;
    s.wait_for_status(&key, "S5", "delivered").await;
    s.wait_for_status(&key, "S4", "delivered").await;

    let r = s.get(&key, "/v1/carriers/scorecards").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let c = r.body["carriers"].as_array().unwrap();
    assert_eq!(c.len(), 2, "{}", r.body);
    let ups = &c[0];
    assert_eq!(ups["carrier"], "ups");
    assert_eq!(
        [
            &ups["delivered"],
            &ups["on_time"],
            &ups["late"],
            &ups["no_promise"]
        ],
        [&json!(3), &json!(2), &json!(1), &json!(0)]
    );
    assert_eq!(ups["on_time_rate"].as_f64(), Some(0.6667));
    assert_eq!(
        ups["transit_hours"],
        json!({"p50": 20.0, "p90": 30.0, "p95": 30.0})
    );
    let lanes = ups["lanes"].as_array().unwrap();
    assert_eq!(lanes.len(), 1);
    assert_eq!(
        (
            lanes[0]["origin"].as_str(),
            lanes[0]["destination"].as_str()
        ),
        (Some("US-NV"), Some("US-TX"))
    );
    assert_eq!(lanes[0]["delivered"], 3);
    let dhl = &c[1];
    assert_eq!(
        (dhl["carrier"].as_str(), dhl["no_promise"].as_u64()),
        (Some("dhl"), Some(1))
    );
    assert_eq!(dhl["on_time_rate"], Value::Null);
    assert_eq!(dhl["transit_hours"]["p50"], 5.0);
    let daily_total: u64 = r.body["daily"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["delivered"].as_u64().unwrap())
        .sum();
    assert_eq!(daily_total, 4);
    assert!(r.body["since"].as_str().unwrap().ends_with('Z'));

    let wide = s.get(&key, "/v1/carriers/scorecards?days=90").await;
    assert_eq!(wide.body["carriers"][0]["delivered"], 4, "{}", wide.body);
    for bad in ["days=0", "days=366", "days=-1", "days=1.5"] {
        is_problem(
            &s.get(&key, &format!("/v1/carriers/scorecards?{bad}")).await,
            400,
        );
    }
    let other = s.key("globex", "read");
    let theirs = s.get(&other, "/v1/carriers/scorecards?days=365").await;
    assert_eq!(theirs.body["carriers"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_customer_view_shows_the_order_and_nothing_internal() {
    let cfg = config(
        "public_url = \"https://track.example.com/\"",
        "[notify.tenants.acme]\nbrand_name = \"Acme Goods\"\nbrand_color = \"#ff6600\"\n",
    );
    let s = spawn_server_with_config(&cfg).await;
    let key = s.key("acme", "ingest,read");
    let mut placed = ev("p1", "C-1", "packed", &at(0));
    placed["raw_code"] = json!("WMS-PK-SECRET");
    placed["raw_description"] = json!("internal note");
    placed["attributes"] =
        json!({"customer_email": "ann@example.com", "order_value": 99.5, "warehouse": "EWR-7"});
    let mut moving = carrier_ev(
        "c1",
        "C-1",
        "1ZC1",
        "in_transit",
        "2025-01-10T10:00:00-05:00",
    );
    moving["raw_code"] = json!("UPS-IT-XYZ");
    moving["location"] = json!({"city": "Chicago", "region": "IL", "country": "US", "postal_code": "60601", "lat": 41.88, "lon": -87.63});
    moving["promised_at"] = json!("2025-01-12T18:00:00-05:00");
    let mut late = carrier_ev("c2", "C-1", "1ZC1", "delayed", "2025-01-10T12:00:00-05:00");
    late["reason"] = json!("weather");
    post(&s, &key, json!([placed, moving, late])).await;
    s.wait_for_status(&key, "C-1", "delayed").await;

    let r = s.get(&key, "/v1/orders/C-1/tracking-link").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token = r.body["token"].as_str().unwrap().to_string();
    assert_eq!(token.len(), 32);
    assert!(token.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
    assert_eq!(r.body["path"], format!("/track/{token}"));
    assert_eq!(
        r.body["url"],
        format!("https://track.example.com/track/{token}")
    );
    // Stable.
    let again = s.get(&key, "/v1/orders/C-1/tracking-link").await;
    assert_eq!(again.body["token"], token.as_str());
    is_problem(&s.get(&key, "/v1/orders/nope/tracking-link").await, 404);
    let other = s.key("globex", "read");
    is_problem(&s.get(&other, "/v1/orders/C-1/tracking-link").await, 404);

    // No key needed; the token is the key.
    let resp = s
        .http
        .get(s.url(&format!("/v1/track/{token}")))
        .send()
        .await
        .unwrap();
    let r = Resp::read(resp).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.headers["cache-control"], "no-store");
    assert_eq!(r.headers["referrer-policy"], "no-referrer");
    let b = &r.body;
    assert_eq!(b["order_id"], "C-1");
    assert_eq!(b["status"], "delayed");
    assert_eq!(b["trouble"], "delayed");
    assert_eq!(b["stage"], 3, "in transit before the delay: {b}");
    assert_eq!(b["stages"].as_array().unwrap().len(), 6);
    assert_eq!(b["promised_at"], "2025-01-12T18:00:00-05:00");
    assert_eq!(b["delivered_at"], Value::Null);
    assert_eq!(b["updated_at"], "2025-01-10T12:00:00-05:00");
    assert_eq!(b["location"]["city"], "Chicago");
    assert_eq!(
        b["shipments"],
        json!([{"carrier": "UPS", "tracking_number": "1ZC1", "status": "delayed"}])
    );
    let statuses: Vec<&str> = b["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["delayed", "in_transit", "packed"],
        "newest first"
    );
    assert_eq!(
        b["events"][1]["location"],
        json!({"city": "Chicago", "region": "IL", "country": "US"})
    );
    assert_eq!(
        b["brand"],
        json!({"name": "Acme Goods", "logo_url": null, "color": "#ff6600"})
    );
    let text = b.to_string();
    for secret in [
        "WMS-PK-SECRET",
        "UPS-IT-XYZ",
        "internal note",
        "ann@example.com",
        "99.5",
        "EWR-7",
        "60601",
        "weather",
        "acme\"",
        "attributes",
        "raw_code",
        "source",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }

    for bad in ["0".repeat(32), "abc".to_string(), token.to_uppercase()] {
        let resp = s
            .http
            .get(s.url(&format!("/v1/track/{bad}")))
            .send()
            .await
            .unwrap();
        let r = Resp::read(resp).await;
        is_problem(&r, 404);
        assert_eq!(r.headers["cache-control"], "no-store");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_link_to_the_customer_page() {
    let gateway = Receiver::start().await;
    let sms = format!(
        "[notify.sms]\nprovider = \"http\"\nfrom = \"Acme\"\nurl = \"http://127.0.0.1:{}/send\"\n\
         content_type = \"application/json\"\n\
         body = '{{\"to\": \"{{{{to}}}}\", \"text\": \"{{{{body}}}}\"}}'\n",
        gateway.port
    );
    let keys = format!("{RETRY}\npublic_url = \"https://track.example.com/\"");
    let s = spawn_server_with_config(&config(&keys, &sms)).await;
    let key = s.key("acme", SCOPES);
    let ep = add_endpoint(&s, &key, "sms", "customer").await;
    subscribe(&s, &key, &ep, &["shipped"]).await;
    let mut e = ev("n1", "N-1", "shipped", &at(0));
    e["attributes"] = json!({"customer_id": "c1", "customer_phone": "+14155550101"});
    post(&s, &key, json!([e])).await;
    let got = gateway.wait_accepted(1, WAIT).await;
    let text = got[0].json()["text"].as_str().unwrap_or("").to_string();
    let token = s.get(&key, "/v1/orders/N-1/tracking-link").await.body["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        text.contains(&format!("https://track.example.com/track/{token}")),
        "{text}"
    );
}
