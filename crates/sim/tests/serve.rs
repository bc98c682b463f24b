//! Black-box tests of the running simulator: each endpoint fetched over HTTP with reqwest, as a
//! connector would, and what it serves checked against the truth.

#![allow(clippy::unwrap_used)]

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use jiff::{SignedDuration, Timestamp};
use reqwest::Client;
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use waypost_adapters::signature::{Scheme, Secret, verify};
use waypost_adapters::{Source, normalize};
use waypost_sim::{Faults, Lanes, Outage, Sim, SimConfig, Truth};

/// The real clock (a library takes its clock; only the binary and tests read the system's).
struct Wall;

impl waypost_domain::Clock for Wall {
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }
}

fn wall() -> std::sync::Arc<dyn waypost_domain::Clock> {
    std::sync::Arc::new(Wall)
}

/// reqwest is built without its form feature; token requests are written by hand.
const FORM: &str = "application/x-www-form-urlencoded";

/// A world that started a day ago: everything in it is visible.
fn past_world(seed: u64, faults: Faults) -> SimConfig {
    SimConfig {
        seed,
        orders: 40,
        orders_per_minute: 600.0,
        speed: 600.0,
        faults,
        start: Some(Timestamp::now() - SignedDuration::from_hours(24)),
        ..SimConfig::default()
    }
}

async fn token(c: &Client, sim: &Sim, partner: &str, tenant: &str) -> String {
    let id = format!("{tenant}-{partner}");
    let secret = format!("{id}-secret");
    let base = sim.base_url(partner);
    let r = match partner {
        "ups" => c
            .post(format!("{base}/security/v1/oauth/token"))
            .basic_auth(&id, Some(&secret))
            .header("content-type", FORM)
            .body("grant_type=client_credentials"),
        "fedex" => c
            .post(format!("{base}/oauth/token"))
            .header("content-type", FORM)
            .body(format!(
                "grant_type=client_credentials&client_id={id}&client_secret={secret}"
            )),
        _ => c.post(format!("{base}/oauth2/v3/token")).json(
            &json!({"grant_type": "client_credentials", "client_id": id, "client_secret": secret}),
        ),
    };
    let r = r.send().await.unwrap();
    assert_eq!(r.status(), 200, "{partner} token");
    let v: Value = r.json().await.unwrap();
    v["access_token"].as_str().unwrap().to_owned()
}

/// One number's tracking document, raw: (status, body).
async fn track(c: &Client, sim: &Sim, carrier: &str, tenant: &str, number: &str) -> (u16, Vec<u8>) {
    let base = sim.base_url(carrier);
    let r = match carrier {
        "ups" => c
            .get(format!("{base}/api/track/v1/details/{number}?locale=en_US"))
            .bearer_auth(token(c, sim, "ups", tenant).await)
            .header("transId", "t1")
            .header("transactionSrc", "waypost"),
        "fedex" => c
            .post(format!("{base}/track/v1/trackingnumbers"))
            .bearer_auth(token(c, sim, "fedex", tenant).await)
            .json(&json!({"includeDetailedScans": true, "trackingInfo": [{"trackingNumberInfo": {"trackingNumber": number}}]})),
        "usps" => c
            .get(format!("{base}/tracking/v3/tracking/{number}?expand=DETAIL"))
            .bearer_auth(token(c, sim, "usps", tenant).await),
        _ => c
            .get(format!("{base}/track/shipments?trackingNumber={number}"))
            .header("DHL-API-Key", format!("{tenant}-dhl-key")),
    };
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

/// Every event of a tenant's WMS feed, page by page.
async fn feed(c: &Client, sim: &Sim, tenant: &str, limit: usize) -> Vec<Value> {
    let mut after: Option<String> = None;
    let mut out = Vec::new();
    loop {
        let mut url = format!("{}/v1/events?limit={limit}", sim.base_url("wms"));
        if let Some(a) = &after {
            url.push_str(&format!("&after={a}"));
        }
        let r = c
            .get(url)
            .bearer_auth(format!("{tenant}-wms-key"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let page: Value = r.json().await.unwrap();
        let events = page["events"].as_array().unwrap();
        assert!(events.len() <= limit);
        out.extend(events.iter().cloned());
        after = Some(page["next_cursor"].as_str().unwrap().to_owned());
        if !page["has_more"].as_bool().unwrap() {
            return out;
        }
    }
}

/// (stream, event id, status) of the truth's events from `source`.
fn truth_events(truths: &[Truth], tenant: &str, wms: bool) -> BTreeSet<(String, String, String)> {
    truths
        .iter()
        .filter(|t| t.tenant == tenant)
        .flat_map(|t| t.history.iter())
        .flat_map(|(stream, events)| events.iter().map(move |e| (stream, e)))
        .filter(|(_, e)| (e.source == "wms") == wms)
        .map(|(stream, e)| (stream.clone(), e.event_id.clone(), e.status.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_endpoints_serve_what_the_truth_says() {
    let sim = Sim::start(past_world(4, Faults::none()), wall())
        .await
        .unwrap();
    let c = client();
    let truths = sim.truths().to_vec();
    assert_eq!(truths.len(), 40);
    for tenant in ["acme", "globex", "initech"] {
        // The WMS feed, paged, holds every WMS event of the tenant, and nothing else.
        let events = feed(&c, &sim, tenant, 7).await;
        let table = Source::Wms.builtin_table().unwrap();
        let mut served = BTreeSet::new();
        for e in &events {
            for n in normalize(Source::Wms, e.to_string().as_bytes(), &table)
                .unwrap()
                .events
            {
                let ev = n.event;
                served.insert((
                    ev.stream().to_owned(),
                    ev.event_id.as_str().to_owned(),
                    ev.status.as_str().to_owned(),
                ));
            }
        }
        assert_eq!(served, truth_events(&truths, tenant, true), "{tenant} wms");
        // Each carrier serves every scan of the tenant's shipments.
        let mut served = BTreeSet::new();
        for t in truths.iter().filter(|t| t.tenant == tenant) {
            for s in &t.shipments {
                let (status, body) = track(&c, &sim, &s.carrier, tenant, &s.tracking_number).await;
                assert_eq!(status, 200, "{}", s.tracking_number);
                let src: Source = s.carrier.parse().unwrap();
                for n in normalize(src, &body, &src.builtin_table().unwrap())
                    .unwrap()
                    .events
                {
                    let ev = n.event;
                    served.insert((
                        ev.stream().to_owned(),
                        ev.event_id.as_str().to_owned(),
                        ev.status.as_str().to_owned(),
                    ));
                }
                // Another tenant does not see it.
                let other = if tenant == "acme" { "globex" } else { "acme" };
                let (status, body) = track(&c, &sim, &s.carrier, other, &s.tracking_number).await;
                // FedEx answers a batch with 200 and a per-number error.
                let body = String::from_utf8_lossy(&body);
                if s.carrier == "fedex" {
                    assert!(
                        status == 200 && body.contains("TRACKINGNUMBER.NOTFOUND"),
                        "{body}"
                    );
                } else {
                    assert_eq!(status, 404, "{other} {} {body}", s.carrier);
                }
            }
        }
        assert_eq!(
            served,
            truth_events(&truths, tenant, false),
            "{tenant} carriers"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("truth.jsonl");
    sim.write_truth(&path).unwrap();
    let lines: Vec<Truth> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines, truths);
    let stats = sim.stats();
    assert!(
        stats.requests["wms"] > 3 && stats.requests["ups"] > 0,
        "{stats:?}"
    );
    assert!(sim.is_done());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_not_found_batches_and_the_clock() {
    let cfg = SimConfig {
        token_ttl: Duration::from_secs(1),
        ..past_world(5, Faults::none())
    };
    let sim = Sim::start(cfg, wall()).await.unwrap();
    let c = client();
    let base = sim.base_url("ups");
    // Bad credentials and bad tokens.
    let r = c
        .post(format!("{base}/security/v1/oauth/token"))
        .basic_auth("acme-ups", Some("wrong"))
        .header("content-type", FORM)
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = c
        .get(format!("{base}/api/track/v1/details/1Z"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = c
        .get(format!(
            "{}/track/shipments?trackingNumber=1",
            sim.base_url("dhl")
        ))
        .header("DHL-API-Key", "x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = c
        .get(format!("{}/v1/events", sim.base_url("wms")))
        .bearer_auth("acme-ups-key")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // A token expires and a new one works.
    let t = token(&c, &sim, "ups", "acme").await;
    let unknown = c
        .get(format!("{base}/api/track/v1/details/1Z999AA10123456784"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body["response"]["errors"][0]["code"], "TW0001");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let r = c
        .get(format!("{base}/api/track/v1/details/1Z999AA10123456784"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "expired token");
    let t = token(&c, &sim, "ups", "acme").await;
    let r = c
        .get(format!("{base}/api/track/v1/details/1Z999AA10123456784"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // FedEx: a batch mixes found and unknown numbers; more than 30 is refused.
    let fedex: Vec<String> = sim
        .truths()
        .iter()
        .flat_map(|t| {
            t.shipments
                .iter()
                .filter(|s| s.carrier == "fedex")
                .map(move |s| (t.tenant.clone(), s.tracking_number.clone()))
        })
        .filter(|(t, _)| t == "acme")
        .map(|(_, n)| n)
        .collect();
    assert!(!fedex.is_empty());
    let t = token(&c, &sim, "fedex", "acme").await;
    let mut numbers: Vec<Value> = fedex
        .iter()
        .map(|n| json!({"trackingNumberInfo": {"trackingNumber": n}}))
        .collect();
    numbers.push(json!({"trackingNumberInfo": {"trackingNumber": "999999999999"}}));
    let r = c
        .post(format!(
            "{}/track/v1/trackingnumbers",
            sim.base_url("fedex")
        ))
        .bearer_auth(&t)
        .json(&json!({"includeDetailedScans": true, "trackingInfo": numbers}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let doc: Value = r.json().await.unwrap();
    let results = doc["output"]["completeTrackResults"].as_array().unwrap();
    assert_eq!(results.len(), fedex.len() + 1);
    assert_eq!(
        results[fedex.len()]["trackResults"][0]["error"]["code"],
        "TRACKING.TRACKINGNUMBER.NOTFOUND"
    );
    let many: Vec<Value> = (0..31)
        .map(|i| json!({"trackingNumberInfo": {"trackingNumber": format!("77{i:010}")}}))
        .collect();
    let r = c
        .post(format!(
            "{}/track/v1/trackingnumbers",
            sim.base_url("fedex")
        ))
        .bearer_auth(&t)
        .json(&json!({"trackingInfo": many}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // The feed's ETag: nothing new, 304; a bad cursor, 400.
    let url = format!("{}/v1/events?limit=500", sim.base_url("wms"));
    let r = c
        .get(&url)
        .bearer_auth("acme-wms-key")
        .send()
        .await
        .unwrap();
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    let r = c
        .get(&url)
        .bearer_auth("acme-wms-key")
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    let r = c
        .get(format!("{url}&after=garbage"))
        .bearer_auth("acme-wms-key")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // The clock runs `speed` times faster than the wall.
    let clock: Value = c
        .get(format!("{}/clock", sim.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(clock["speed"], 600.0);
    let wall: Timestamp = clock["wall"].as_str().unwrap().parse().unwrap();
    let simulated: Timestamp = clock["sim"].as_str().unwrap().parse().unwrap();
    let ratio = simulated.duration_since(sim.clock().start).as_secs_f64()
        / wall.duration_since(sim.clock().start).as_secs_f64();
    assert!((ratio - 600.0).abs() < 1.0, "{ratio}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_profile_shows_and_broken_bodies_recover() {
    let errors = Faults {
        error_rate: 1.0,
        ..Faults::none()
    };
    let sim = Sim::start(past_world(6, errors), wall()).await.unwrap();
    let c = client();
    let (status, _) = track(&c, &sim, "dhl", "acme", "1234567890").await;
    assert!([500, 502, 503].contains(&status), "{status}");
    drop(sim);

    let limited = Faults {
        rate_limit_rate: 1.0,
        retry_after_secs: 7,
        ..Faults::none()
    };
    let sim = Sim::start(past_world(6, limited), wall()).await.unwrap();
    let r = c
        .get(format!("{}/v1/events", sim.base_url("wms")))
        .bearer_auth("acme-wms-key")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "7");
    drop(sim);

    let broken = Faults {
        malformed_rate: 1.0,
        ..Faults::none()
    };
    let sim = Sim::start(past_world(6, broken), wall()).await.unwrap();
    let url = format!("{}/v1/events?limit=5", sim.base_url("wms"));
    let first = c
        .get(&url)
        .bearer_auth("acme-wms-key")
        .send()
        .await
        .unwrap();
    // No ETag on a broken page: a client must not be told 304 for it later.
    assert!(first.headers().get("etag").is_none());
    let first = first.bytes().await.unwrap();
    assert!(serde_json::from_slice::<Value>(&first).is_err());
    let second: Value = c
        .get(&url)
        .bearer_auth("acme-wms-key")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(second["events"].as_array().unwrap().len(), 5);
    assert_eq!(sim.stats().faults.get("malformed"), Some(&1));
}

/// A fake Waypost webhook endpoint: verifies each delivery and keeps what it got.
#[derive(Default)]
struct Inbox {
    ok: Vec<(String, Value)>,
    unreadable: usize,
    bad_signature: usize,
}

type Hook = (Arc<Mutex<Inbox>>, HashMap<String, String>);

async fn receive(
    State((inbox, secrets)): State<Hook>,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let tenant = q.get("tenant").cloned().unwrap_or_default();
    let secret = Secret::from_config(&secrets[&tenant]).unwrap();
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let verified = verify(
        &Scheme::StandardWebhooks,
        &[secret],
        &headers,
        &body,
        Timestamp::now(),
        SignedDuration::from_mins(5),
    );
    let mut inbox = inbox.lock().unwrap();
    if verified.is_err() {
        inbox.bad_signature += 1;
        return StatusCode::UNAUTHORIZED;
    }
    match serde_json::from_slice::<Value>(&body) {
        Ok(v) => {
            inbox.ok.push((tenant, v));
            StatusCode::OK
        }
        Err(_) => {
            inbox.unreadable += 1;
            StatusCode::UNPROCESSABLE_ENTITY
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_signed_and_skip_the_outage() {
    let faults = Faults {
        // At this speed a wall second is ten simulated hours: 30 ms to 80 ms into the world,
        // while the warehouse works on the first orders.
        outages: vec![Outage {
            start_sim_minutes: 18.0,
            duration_sim_minutes: 30.0,
        }],
        planted_malformed: 2,
        duplicate_rate: 0.1,
        ..Faults::none()
    };
    let cfg = SimConfig {
        orders: 12,
        orders_per_minute: 6000.0,
        speed: 36_000.0,
        // The demo's compressed road: the whole world is over in a few seconds.
        lanes: Lanes::DEMO,
        faults,
        start: Some(Timestamp::now()),
        ..SimConfig::default()
    };
    let mut sim = Sim::start(cfg, wall()).await.unwrap();
    let secrets: HashMap<String, String> = sim.webhooks().into_iter().collect();
    let inbox = Arc::new(Mutex::new(Inbox::default()));
    let app = axum::Router::new()
        .route("/v1/webhooks/wms", axum::routing::post(receive))
        .with_state((inbox.clone(), secrets));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let engine = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    sim.push_to(&engine).unwrap();
    eprintln!(
        "ends in {:?}",
        sim.ends_at().duration_since(Timestamp::now())
    );
    tokio::time::timeout(Duration::from_secs(60), sim.wait_done())
        .await
        .unwrap();

    let inbox = inbox.lock().unwrap();
    assert_eq!(inbox.bad_signature, 0);
    assert_eq!(inbox.unreadable, 2);
    let got: BTreeSet<String> = inbox
        .ok
        .iter()
        .map(|(_, v)| v["event_id"].as_str().unwrap().to_owned())
        .collect();
    let all: BTreeSet<String> = ["acme", "globex", "initech"]
        .iter()
        .flat_map(|t| truth_events(sim.truths(), t, true))
        .map(|(_, id, _)| id)
        .collect();
    let stats = sim.stats();
    assert!(stats.pushes_skipped_outage > 0, "{stats:?}");
    assert!(got.is_subset(&all));
    assert!(got.len() < all.len(), "the outage kept some events back");
    assert_eq!(stats.pushes_failed, 0, "{stats:?}");
    assert_eq!(stats.malformed_pushed, 2);
    assert!(sim.config_toml().contains("scheme = \"standard-webhooks\""));
}

/// An engine that answers 503 to the first delivery of every event.
async fn flaky(State(seen): State<Arc<Mutex<BTreeSet<String>>>>, headers: HeaderMap) -> StatusCode {
    let id = headers["webhook-id"].to_str().unwrap().to_owned();
    if seen.lock().unwrap().insert(id) {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_deliveries_are_retried_after_a_5xx() {
    let mut sim = Sim::start(
        SimConfig {
            orders: 5,
            push_attempts: 3,
            ..past_world(12, Faults::none())
        },
        wall(),
    )
    .await
    .unwrap();
    let seen = Arc::new(Mutex::new(BTreeSet::new()));
    let app = axum::Router::new()
        .route("/v1/webhooks/wms", axum::routing::post(flaky))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let engine = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    sim.push_to(&engine).unwrap();
    tokio::time::timeout(Duration::from_secs(60), sim.wait_done())
        .await
        .unwrap();
    let stats = sim.stats();
    let events = truth_events(sim.truths(), "acme", true).len()
        + truth_events(sim.truths(), "globex", true).len()
        + truth_events(sim.truths(), "initech", true).len();
    assert_eq!(seen.lock().unwrap().len(), events);
    assert_eq!(stats.pushes_ok as usize, events, "{stats:?}");
    assert_eq!(stats.push_retries as usize, events, "{stats:?}");
    assert_eq!(stats.pushes_failed, 0);
}

/// A client whatever TLS backend the workspace build gave reqwest (see `pusher.rs`).
fn client() -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::new()
}
