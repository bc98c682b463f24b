//! Carrier connectors against a stand-in partner on loopback: tokens, batching, rate limits,
//! retries, the breaker, timeouts and the schedule, seen from outside.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Fault, config, eventually, serve, tenant};
use std::sync::Arc;
use std::time::Duration;
use waypost_adapters::Source;
use waypost_connectors::{
    BreakerState, ConnectorConfig, Connectors, HealthState, MemoryStateStore, Target,
};
use waypost_domain::Status;

fn target(n: &str, status: Status) -> Target {
    Target {
        tracking_number: n.to_owned(),
        status,
        // Entered its status a day ago: due at once.
        status_at: jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24),
        promised_at: None,
    }
}

fn start(cfg: ConnectorConfig, sink: &Arc<common::TestSink>) -> Connectors {
    Connectors::start(
        vec![cfg],
        sink.clone(),
        Arc::new(MemoryStateStore::default()),
        common::clocks(),
    )
    .unwrap()
}

/// Out for delivery: polled at `fast`, which the tests set short.
fn fast(mut cfg: ConnectorConfig, every: Duration) -> ConnectorConfig {
    cfg.schedule.fast = every;
    cfg
}

/// Paused time: four hours of polling every 15 minutes run in an instant.
#[tokio::test(start_paused = true)]
async fn ups_token_is_fetched_once_and_refreshed_before_it_expires() {
    let server = serve().await;
    // UPS's real lifetime: 14399 s, about four hours; refreshed at 80 %, after 3 h 12 min.
    server.state.lock().unwrap().token_lifetime_secs = 14_399;
    server.state.lock().unwrap().known.insert("1ZA".into());
    let cfg = config(&server, Source::Ups);
    let sink = Arc::new(common::TestSink::default());
    let c = start(cfg, &sink);
    assert_eq!(
        c.track(
            &tenant(),
            Source::Ups,
            target("1ZA", Status::OutForDelivery)
        ),
        1
    );
    tokio::time::sleep(Duration::from_secs(3 * 3_600)).await;
    assert_eq!(
        server.tokens_issued(),
        1,
        "one token for every request so far"
    );
    let early = server.requests("/ups/track");
    assert!(early.len() >= 12, "polled every 15 min: {}", early.len());
    assert!(early.iter().all(|r| r.bearer.as_deref() == Some("tok-1")));
    tokio::time::sleep(Duration::from_secs(3_600)).await;
    assert_eq!(server.tokens_issued(), 2, "refreshed once");
    {
        let s = server.state.lock().unwrap();
        assert_eq!(
            s.unauthorized, 0,
            "no request ever carried an expired token"
        );
        let refreshed_after = s.issued_at[1] - s.issued_at[0];
        assert!(
            refreshed_after >= Duration::from_secs(11_519)
                && refreshed_after < Duration::from_secs(14_399),
            "refreshed after {refreshed_after:?}, at 80 % of the lifetime"
        );
    }
    let all = server.requests("/ups/track");
    assert!(
        all.last()
            .is_some_and(|r| r.bearer.as_deref() == Some("tok-2"))
    );
    let h = &c.snapshot()[0];
    assert_eq!(h.retries, 0, "no request was refused for an expired token");
    assert_eq!(h.tokens_refreshed, 2);
    assert_eq!(h.last_60m.errors, 0);
    assert_eq!(sink.doc_count(), all.len());
    c.shutdown().await;
}

#[tokio::test]
async fn a_401_refreshes_the_token_once_and_asks_again() {
    let server = serve().await;
    server.state.lock().unwrap().known.insert("9400A".into());
    let sink = Arc::new(common::TestSink::default());
    let c = start(config(&server, Source::Usps), &sink);
    server.push_faults([Fault::Unauthorized]);
    c.track(
        &tenant(),
        Source::Usps,
        target("9400A", Status::OutForDelivery),
    );
    assert!(eventually(Duration::from_secs(5), || sink.doc_count() == 1).await);
    let reqs = server.requests("/usps/track");
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].bearer.as_deref(), Some("tok-1"));
    assert_eq!(reqs[1].bearer.as_deref(), Some("tok-2"));
    assert_eq!(server.tokens_issued(), 2);
    let h = &c.snapshot()[0];
    assert_eq!(h.breaker, BreakerState::Closed);
    assert_eq!(
        h.last_5m.errors, 0,
        "an expired token is not a partner error"
    );
    c.shutdown().await;
}

#[tokio::test]
async fn bad_credentials_are_an_error_naming_the_refusal() {
    let server = serve().await;
    let mut cfg = config(&server, Source::Ups);
    cfg.credentials.client_id = Some("acme-ups-wrong".into());
    cfg.max_retries = 0;
    let sink = Arc::new(common::TestSink::default());
    let c = start(cfg, &sink);
    c.track(
        &tenant(),
        Source::Ups,
        target("1ZA", Status::OutForDelivery),
    );
    assert!(
        eventually(Duration::from_secs(5), || c.snapshot()[0].last_5m.errors
            >= 1)
        .await
    );
    assert!(
        server.requests("/ups/track").is_empty(),
        "no track request without a token"
    );
    c.shutdown().await;
}

#[tokio::test]
async fn fedex_asks_about_at_most_30_numbers_per_request() {
    let server = serve().await;
    let sink = Arc::new(common::TestSink::default());
    let c = start(config(&server, Source::Fedex), &sink);
    let numbers: Vec<String> = (0..75).map(|i| format!("7946{i:08}")).collect();
    for n in &numbers {
        c.track(&tenant(), Source::Fedex, target(n, Status::OutForDelivery));
    }
    let all_asked = || {
        let asked: std::collections::BTreeSet<String> = server
            .requests("/fedex/track")
            .into_iter()
            .flat_map(|r| r.numbers)
            .collect();
        asked.len() == 75
    };
    assert!(eventually(Duration::from_secs(5), all_asked).await);
    let reqs = server.requests("/fedex/track");
    assert!(
        reqs.iter().all(|r| r.numbers.len() <= 30),
        "sizes: {:?}",
        reqs.iter().map(|r| r.numbers.len()).collect::<Vec<_>>()
    );
    assert!(
        reqs.len() <= 4,
        "batched, not one by one: {} requests",
        reqs.len()
    );
    assert!(eventually(Duration::from_secs(5), || sink.doc_count() >= 3).await);
    // Three batches went out at once, all needing a token: one token request (single-flight).
    assert_eq!(server.tokens_issued(), 1);
    c.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_429_holds_every_request_until_retry_after() {
    let server = serve().await;
    server
        .state
        .lock()
        .unwrap()
        .known
        .extend(["JD1".into(), "JD2".into()]);
    let sink = Arc::new(common::TestSink::default());
    let mut cfg = config(&server, Source::Dhl);
    cfg.concurrency = 1;
    let c = start(cfg, &sink);
    server.push_faults([Fault::TooMany {
        retry_after_secs: 30,
    }]);
    c.track(
        &tenant(),
        Source::Dhl,
        target("JD1", Status::OutForDelivery),
    );
    c.track(
        &tenant(),
        Source::Dhl,
        target("JD2", Status::OutForDelivery),
    );
    assert!(eventually(Duration::from_secs(120), || sink.doc_count() == 2).await);
    let reqs = server.requests("/dhl/track");
    assert_eq!(reqs.len(), 3);
    for later in &reqs[1..] {
        let gap = later.at - reqs[0].at;
        assert!(
            gap >= Duration::from_secs(30),
            "a request {gap:?} after the 429"
        );
    }
    let h = &c.snapshot()[0];
    assert_eq!(h.throttled, 1);
    assert!(h.rate_limited_waits >= 1);
    assert_eq!(h.breaker, BreakerState::Closed, "a 429 is not a failure");
    c.shutdown().await;
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_then_succeed() {
    let server = serve().await;
    server.state.lock().unwrap().known.insert("JD1".into());
    let sink = Arc::new(common::TestSink::default());
    let mut cfg = config(&server, Source::Dhl);
    cfg.breaker_failures = 10;
    let c = start(cfg, &sink);
    server.push_faults([Fault::Status(503), Fault::Status(500), Fault::Status(502)]);
    c.track(
        &tenant(),
        Source::Dhl,
        target("JD1", Status::OutForDelivery),
    );
    assert!(eventually(Duration::from_secs(5), || sink.doc_count() == 1).await);
    let reqs = server.requests("/dhl/track");
    assert_eq!(reqs.len(), 4);
    for pair in reqs.windows(2) {
        // Full jitter never waits less than a tenth of the base (20 ms here).
        assert!(pair[1].at - pair[0].at >= Duration::from_millis(2));
    }
    let h = &c.snapshot()[0];
    assert_eq!(h.retries, 3);
    assert_eq!((h.last_5m.requests, h.last_5m.errors), (4, 3));
    assert_eq!(h.state, HealthState::Degraded);
    let mut registry = prometheus_client::registry::Registry::default();
    waypost_connectors::metrics::register(&mut registry, &c);
    let mut text = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut text, &registry).unwrap();
    for line in [
        "waypost_connector_retries_total{connector=\"dhl-acme\"} 3",
        "waypost_connector_requests_total{connector=\"dhl-acme\"} 4",
        "waypost_connector_state{connector=\"dhl-acme\",state=\"degraded\"} 1",
        "waypost_connector_state{connector=\"dhl-acme\",state=\"healthy\"} 0",
        "waypost_connector_error_rate_5m{connector=\"dhl-acme\"} 0.75",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line} missing from\n{text}"
        );
    }
    c.shutdown().await;
}

#[tokio::test]
async fn the_breaker_opens_shows_circuit_open_then_a_trial_closes_it() {
    let server = serve().await;
    server.state.lock().unwrap().known.insert("JD1".into());
    let sink = Arc::new(common::TestSink::default());
    let mut cfg = config(&server, Source::Dhl);
    cfg.max_retries = 2;
    cfg.breaker_failures = 3;
    cfg.breaker_cool_off = Duration::from_millis(600);
    let c = start(cfg, &sink);
    server.push_faults([Fault::Status(503), Fault::Status(503), Fault::Status(503)]);
    c.track(
        &tenant(),
        Source::Dhl,
        target("JD1", Status::OutForDelivery),
    );
    assert!(
        eventually(Duration::from_secs(5), || c.snapshot()[0].breaker
            == BreakerState::Open)
        .await
    );
    let h = &c.snapshot()[0];
    assert_eq!(h.state, HealthState::CircuitOpen);
    assert_eq!(h.breaker_opened, 1);
    let failed = server.requests("/dhl/track").len();
    assert_eq!(failed, 3, "the third failure opened it: no fourth attempt");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        server.requests("/dhl/track").len(),
        3,
        "nothing sent while open"
    );
    assert!(eventually(Duration::from_secs(5), || sink.doc_count() == 1).await);
    let h = &c.snapshot()[0];
    assert_eq!(h.breaker, BreakerState::Closed);
    assert_eq!((h.breaker_opened, h.breaker_closed), (1, 1));
    assert_ne!(h.state, HealthState::CircuitOpen);
    let reqs = server.requests("/dhl/track");
    assert!(
        reqs[3].at - reqs[2].at >= Duration::from_millis(600),
        "the trial waited the cool-off"
    );
    c.shutdown().await;
}

#[tokio::test]
async fn a_hung_request_times_out_and_is_retried() {
    let server = serve().await;
    server.state.lock().unwrap().known.insert("JD1".into());
    let sink = Arc::new(common::TestSink::default());
    let mut cfg = config(&server, Source::Dhl);
    cfg.timeout = Duration::from_millis(300);
    let c = start(cfg, &sink);
    server.push_faults([Fault::Hang(Duration::from_secs(30))]);
    let t0 = std::time::Instant::now();
    c.track(
        &tenant(),
        Source::Dhl,
        target("JD1", Status::OutForDelivery),
    );
    assert!(eventually(Duration::from_secs(5), || sink.doc_count() == 1).await);
    assert!(
        t0.elapsed() < Duration::from_secs(3),
        "did not wait for the hang"
    );
    let h = &c.snapshot()[0];
    assert_eq!(h.timeouts, 1);
    assert_eq!(h.retries, 1);
    c.shutdown().await;
}

#[tokio::test]
async fn not_found_is_healthy_and_a_final_status_stops_polling() {
    let server = serve().await;
    let sink = Arc::new(common::TestSink::default());
    let c = start(
        fast(config(&server, Source::Ups), Duration::from_millis(50)),
        &sink,
    );
    c.track(
        &tenant(),
        Source::Ups,
        target("1ZNEW", Status::OutForDelivery),
    );
    assert!(eventually(Duration::from_secs(5), || c.snapshot()[0].not_found >= 3).await);
    let h = &c.snapshot()[0];
    assert_eq!(h.last_5m.errors, 0);
    assert_eq!(h.state, HealthState::Healthy);
    assert_eq!(sink.doc_count(), 0, "a not-found answer is not a document");
    c.track(&tenant(), Source::Ups, target("1ZNEW", Status::Delivered));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before = server.requests("/ups/track").len();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        server.requests("/ups/track").len(),
        before,
        "delivered: no more polls"
    );
    assert_eq!(c.snapshot()[0].tracked, 0);
    c.shutdown().await;
}

#[tokio::test]
async fn a_garbled_answer_is_a_dead_letter_and_the_number_is_asked_again() {
    let server = serve().await;
    server.state.lock().unwrap().known.insert("1ZA".into());
    let sink = Arc::new(common::TestSink::default());
    let c = start(config(&server, Source::Ups), &sink);
    server.push_faults([Fault::Garbled]);
    c.track(
        &tenant(),
        Source::Ups,
        target("1ZA", Status::OutForDelivery),
    );
    assert!(eventually(Duration::from_secs(5), || sink.doc_count() == 1).await);
    let h = &c.snapshot()[0];
    assert_eq!(h.dead_letters, 1);
    assert_eq!(*sink.rejected.lock().unwrap(), 1);
    c.shutdown().await;
}

#[tokio::test]
async fn a_tenant_without_a_connector_for_the_carrier_takes_nothing() {
    let server = serve().await;
    let sink = Arc::new(common::TestSink::default());
    let c = start(config(&server, Source::Dhl), &sink);
    let other = waypost_domain::TenantId::new("beta").unwrap();
    assert_eq!(
        c.track(&other, Source::Dhl, target("JD1", Status::InTransit)),
        0
    );
    assert_eq!(
        c.track(&tenant(), Source::Ups, target("1Z", Status::InTransit)),
        0
    );
    c.shutdown().await;
}

#[test]
fn starting_outside_a_runtime_is_an_error_not_a_panic() {
    let cfg = ConnectorConfig::new("dhl-acme", tenant(), Source::Dhl, "http://127.0.0.1:9/dhl");
    let mut cfg = cfg;
    cfg.credentials.api_key = Some(waypost_connectors::Secret::new("k"));
    let sink = Arc::new(common::TestSink::default());
    let got = Connectors::start(
        vec![cfg],
        sink,
        Arc::new(MemoryStateStore::default()),
        common::clocks(),
    );
    assert!(matches!(
        got,
        Err(waypost_connectors::StartError::NoRuntime)
    ));
}

#[tokio::test]
async fn a_bad_entry_is_refused_at_start_naming_its_field() {
    let server = serve().await;
    let mut cfg = config(&server, Source::Fedex);
    cfg.batch_size = Some(31);
    let sink = Arc::new(common::TestSink::default());
    let got = Connectors::start(
        vec![cfg],
        sink,
        Arc::new(MemoryStateStore::default()),
        common::clocks(),
    );
    let e = got.err().unwrap().to_string();
    assert!(e.contains("fedex-acme") && e.contains("batch_size"), "{e}");
}

/// Paused time: two hours of polling in an instant. Trouble and the last mile are asked about
/// every 15 minutes, calm transit hourly, a label just printed not yet, a day-old delivery
/// once (its last look).
#[tokio::test(start_paused = true)]
async fn polling_follows_each_shipments_status() {
    let server = serve().await;
    server
        .state
        .lock()
        .unwrap()
        .known
        .extend(["OFD", "EXC", "TRANSIT", "LABEL", "DONE"].map(String::from));
    let sink = Arc::new(common::TestSink::default());
    let c = start(config(&server, Source::Dhl), &sink);
    let now = jiff::Timestamp::now();
    for (n, status, hours_ago) in [
        ("OFD", Status::OutForDelivery, 24),
        ("EXC", Status::Exception, 24),
        ("TRANSIT", Status::InTransit, 24),
        ("LABEL", Status::LabelCreated, 0),
        ("DONE", Status::Delivered, 24),
    ] {
        let t = Target {
            tracking_number: n.to_owned(),
            status,
            status_at: now - jiff::SignedDuration::from_hours(hours_ago),
            promised_at: None,
        };
        c.track(&tenant(), Source::Dhl, t);
    }
    tokio::time::sleep(Duration::from_secs(2 * 3_600 + 60)).await;
    let count = |n: &str| {
        server
            .requests("/dhl/track")
            .iter()
            .filter(|r| r.numbers == [n.to_owned()])
            .count()
    };
    // Due at once (their status is a day old), then every 15 min / every hour.
    assert_eq!(count("OFD"), 9);
    assert_eq!(count("EXC"), 9);
    assert_eq!(count("TRANSIT"), 3);
    assert_eq!(count("LABEL"), 0, "printed just now: first poll after 4 h");
    assert_eq!(
        count("DONE"),
        1,
        "delivered a day ago: its one last look is due at once, then never again"
    );
    assert_eq!(c.snapshot()[0].tracked, 4);
    c.shutdown().await;
}
