//! A stand-in partner following `contract.md` (UPS, FedEx, USPS, DHL, WMS on one port under a
//! path prefix), with faults a test can script, and a sink that reads documents with the real
//! parsers and records what it got.
#![allow(clippy::unwrap_used, dead_code)]

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use waypost_adapters::Source;
use waypost_connectors::{Clocks, ConnectorConfig, Fetched, Ingested, Secret, Sink, SinkError};
use waypost_domain::TenantId;

pub const TENANT: &str = "acme";

/// What the partner does with the next track/feed request instead of answering normally.
#[derive(Debug, Clone)]
pub enum Fault {
    Status(u16),
    TooMany { retry_after_secs: u64 },
    Hang(Duration),
    Unauthorized,
    Garbled,
}

#[derive(Debug, Clone)]
pub struct Seen {
    pub at: Instant,
    pub path: String,
    pub numbers: Vec<String>,
    pub bearer: Option<String>,
    pub after: Option<String>,
    pub if_none_match: Option<String>,
}

#[derive(Default)]
pub struct Partner {
    pub faults: VecDeque<Fault>,
    pub requests: Vec<Seen>,
    pub tokens_issued: u32,
    /// When each token was issued, in order.
    pub issued_at: Vec<Instant>,
    /// Track requests refused for a missing, unknown or expired token.
    pub unauthorized: u32,
    pub token_lifetime_secs: u64,
    /// Tokens issued, with when each expires.
    pub valid_tokens: HashMap<String, Instant>,
    /// Tracking numbers the carrier knows.
    pub known: BTreeSet<String>,
    /// The WMS's events, in the order it recorded them.
    pub wms_events: Vec<serde_json::Value>,
}

pub type Shared = Arc<Mutex<Partner>>;

pub struct Server {
    pub base: String,
    pub state: Shared,
}

impl Server {
    pub fn url(&self, partner: &str) -> String {
        format!("{}/{partner}", self.base)
    }
    pub fn requests(&self, path_part: &str) -> Vec<Seen> {
        let s = self.state.lock().unwrap();
        s.requests
            .iter()
            .filter(|r| r.path.contains(path_part))
            .cloned()
            .collect()
    }
    pub fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state.lock().unwrap().faults.extend(faults);
    }
    pub fn tokens_issued(&self) -> u32 {
        self.state.lock().unwrap().tokens_issued
    }
}

pub async fn serve() -> Server {
    let state: Shared = Arc::new(Mutex::new(Partner {
        token_lifetime_secs: 3600,
        ..Partner::default()
    }));
    let app = Router::new()
        .route("/ups/security/v1/oauth/token", post(ups_token))
        .route("/fedex/oauth/token", post(fedex_token))
        .route("/usps/oauth2/v3/token", post(usps_token))
        .route("/ups/api/track/v1/details/{n}", get(ups_track))
        .route("/fedex/track/v1/trackingnumbers", post(fedex_track))
        .route("/usps/tracking/v3/tracking/{n}", get(usps_track))
        .route("/dhl/track/shipments", get(dhl_track))
        .route("/wms/v1/events", get(wms_feed))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server {
        base: format!("http://{addr}"),
        state,
    }
}

fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

fn issue(state: &Shared) -> (String, u64) {
    let mut s = state.lock().unwrap();
    s.tokens_issued += 1;
    let tok = format!("tok-{}", s.tokens_issued);
    let life = s.token_lifetime_secs;
    s.issued_at.push(now());
    s.valid_tokens
        .insert(tok.clone(), now() + Duration::from_secs(life));
    (tok, s.token_lifetime_secs)
}

async fn ups_token(State(state): State<Shared>, headers: HeaderMap, body: String) -> Response {
    use base64::Engine;
    let want = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("acme-ups:acme-ups-secret")
    );
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if auth != Some(want.as_str()) || body != "grant_type=client_credentials" {
        let e = r#"{"response":{"errors":[{"code":"10401","message":"ClientId is Invalid"}]}}"#;
        return (StatusCode::UNAUTHORIZED, e).into_response();
    }
    let (tok, life) = issue(&state);
    axum::Json(serde_json::json!({
        "token_type": "Bearer", "issued_at": "1700000000000", "client_id": "acme-ups",
        "access_token": tok, "expires_in": life.to_string(), "status": "approved"
    }))
    .into_response()
}

async fn fedex_token(State(state): State<Shared>, body: String) -> Response {
    let want = "grant_type=client_credentials&client_id=acme-fedex&client_secret=acme-fedex-secret";
    if body != want {
        return (StatusCode::UNAUTHORIZED, "{}").into_response();
    }
    let (tok, life) = issue(&state);
    axum::Json(serde_json::json!({
        "access_token": tok, "token_type": "bearer", "expires_in": life, "scope": "CXS"
    }))
    .into_response()
}

async fn usps_token(State(state): State<Shared>, body: String) -> Response {
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    if v["client_id"] != "acme-usps" || v["client_secret"] != "acme-usps-secret" {
        return (StatusCode::UNAUTHORIZED, "{}").into_response();
    }
    let (tok, life) = issue(&state);
    axum::Json(serde_json::json!({
        "access_token": tok, "token_type": "Bearer", "expires_in": life, "issued_at": 1
    }))
    .into_response()
}

/// Records the request, then plays the next scripted fault, if any.
async fn gate(
    state: &Shared,
    headers: &HeaderMap,
    path: &str,
    numbers: Vec<String>,
    after: Option<String>,
) -> Option<Response> {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let fault = {
        let mut s = state.lock().unwrap();
        s.requests.push(Seen {
            at: now(),
            path: path.to_owned(),
            numbers,
            bearer: bearer.clone(),
            after,
            if_none_match: headers
                .get("if-none-match")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        });
        s.faults.pop_front()
    };
    match fault {
        None => None,
        Some(Fault::Status(code)) => Some(StatusCode::from_u16(code).unwrap().into_response()),
        Some(Fault::TooMany { retry_after_secs }) => Some(
            (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", retry_after_secs.to_string())],
            )
                .into_response(),
        ),
        Some(Fault::Hang(d)) => {
            tokio::time::sleep(d).await;
            Some(StatusCode::GATEWAY_TIMEOUT.into_response())
        }
        Some(Fault::Unauthorized) => Some(StatusCode::UNAUTHORIZED.into_response()),
        Some(Fault::Garbled) => {
            Some((StatusCode::OK, "{\"trackResponse\":{\"shipm").into_response())
        }
    }
}

fn token_ok(state: &Shared, headers: &HeaderMap) -> bool {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let mut s = state.lock().unwrap();
    let ok = bearer.is_some_and(|b| s.valid_tokens.get(b).is_some_and(|exp| now() < *exp));
    if !ok {
        s.unauthorized += 1;
    }
    ok
}

/// A corpus document: among those that follow real ones, else among the hand-written ones.
fn corpus(source: &str, file: &str) -> String {
    let dir = format!("{}/../adapters/corpus/{source}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(format!("{dir}/{file}"))
        .or_else(|_| std::fs::read_to_string(format!("{dir}/synthetic/{file}")))
        .unwrap_or_else(|e| panic!("{dir}/{file}: {e}"))
}

async fn ups_track(
    State(state): State<Shared>,
    Path(n): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    assert_eq!(q.get("locale").map(String::as_str), Some("en_US"));
    assert!(headers.contains_key("transid") && headers.contains_key("transactionsrc"));
    if let Some(r) = gate(&state, &headers, "/ups/track", vec![n.clone()], None).await {
        return r;
    }
    if !token_ok(&state, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if !state.lock().unwrap().known.contains(&n) {
        let e = r#"{"response":{"errors":[{"code":"TW0001","message":"Tracking Information Not Found"}]}}"#;
        return (StatusCode::NOT_FOUND, e).into_response();
    }
    corpus("ups", "01-ground-delivered.json").into_response()
}

async fn usps_track(
    State(state): State<Shared>,
    Path(n): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = gate(&state, &headers, "/usps/track", vec![n.clone()], None).await {
        return r;
    }
    if !token_ok(&state, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if !state.lock().unwrap().known.contains(&n) {
        let e =
            r#"{"apiVersion":"v3","error":{"code":"404","message":"Tracking number not found"}}"#;
        return (StatusCode::NOT_FOUND, e).into_response();
    }
    let file = std::fs::read_dir(format!(
        "{}/../adapters/corpus/usps",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
    .filter_map(|e| e.ok())
    .map(|e| e.file_name().to_string_lossy().into_owned())
    .filter(|f| f.ends_with(".json"))
    .min()
    .unwrap();
    corpus("usps", &file).into_response()
}

async fn dhl_track(
    State(state): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let n = q.get("trackingNumber").cloned().unwrap_or_default();
    if let Some(r) = gate(&state, &headers, "/dhl/track", vec![n.clone()], None).await {
        return r;
    }
    if headers.get("dhl-api-key").and_then(|v| v.to_str().ok()) != Some("acme-dhl-key") {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if !state.lock().unwrap().known.contains(&n) {
        let e = r#"{"title":"No result found","status":404,"detail":"No shipment with given tracking number found."}"#;
        return (
            StatusCode::NOT_FOUND,
            [("content-type", "application/problem+json")],
            e,
        )
            .into_response();
    }
    corpus("dhl", "01-express-de-to-us.json").into_response()
}

async fn fedex_track(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["includeDetailedScans"], true);
    let numbers: Vec<String> = v["trackingInfo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            i["trackingNumberInfo"]["trackingNumber"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    if let Some(r) = gate(&state, &headers, "/fedex/track", numbers.clone(), None).await {
        return r;
    }
    if numbers.len() > 30 {
        return (
            StatusCode::BAD_REQUEST,
            "{\"errors\":[{\"code\":\"TOO.MANY\"}]}",
        )
            .into_response();
    }
    if !token_ok(&state, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    corpus("fedex", "09-batch-with-not-found.json").into_response()
}

#[derive(serde::Deserialize)]
struct FeedQuery {
    limit: usize,
    after: Option<String>,
}

async fn wms_feed(
    State(state): State<Shared>,
    Query(q): Query<FeedQuery>,
    headers: HeaderMap,
) -> Response {
    assert!(q.limit <= 500 && q.limit > 0);
    if let Some(r) = gate(&state, &headers, "/wms/feed", vec![], q.after.clone()).await {
        return r;
    }
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer acme-wms-key") {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let s = state.lock().unwrap();
    let from: usize = match q.after.as_deref() {
        None => 0,
        Some(c) => match c.strip_prefix('c').and_then(|n| n.parse().ok()) {
            Some(n) => n,
            None => return (StatusCode::BAD_REQUEST, "bad cursor").into_response(),
        },
    };
    let total = s.wms_events.len();
    let end = (from + q.limit).min(total);
    let etag = format!("\"{total}-{from}\"");
    if end == from && headers.get("if-none-match").and_then(|v| v.to_str().ok()) == Some(&etag) {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let page = serde_json::json!({
        "events": s.wms_events.get(from..end).unwrap_or_default(),
        "next_cursor": format!("c{end}"),
        "has_more": end < total,
    });
    ([("etag", etag)], axum::Json(page)).into_response()
}

/// One WMS event of order `i`, `minutes` after a fixed start.
pub fn wms_event(i: usize, minutes: i64) -> serde_json::Value {
    let at = "2026-03-10T06:00:00Z".parse::<jiff::Timestamp>().unwrap()
        + jiff::SignedDuration::from_mins(minutes);
    serde_json::json!({
        "event_id": format!("evt-{i:05}"),
        "event_type": if i.is_multiple_of(2) { "picked" } else { "shipped" },
        "occurred_at": at.to_string(),
        "order_id": format!("WP-{}", i / 2),
        "tracking_number": format!("1Z{i:08}"),
        "carrier": "ups",
    })
}

/// Reads each document with the real parser: unreadable ones are rejected, as the intake
/// would. Scripted answers come first.
#[derive(Default)]
pub struct TestSink {
    pub docs: Mutex<Vec<Fetched>>,
    pub event_ids: Mutex<BTreeSet<String>>,
    pub script: Mutex<VecDeque<SinkError>>,
    pub rejected: Mutex<u32>,
}

impl TestSink {
    pub fn ids(&self) -> BTreeSet<String> {
        self.event_ids.lock().unwrap().clone()
    }
    pub fn doc_count(&self) -> usize {
        self.docs.lock().unwrap().len()
    }
}

impl Sink for TestSink {
    async fn ingest(&self, doc: Fetched) -> Result<Ingested, SinkError> {
        if let Some(e) = self.script.lock().unwrap().pop_front() {
            return Err(e);
        }
        let parsed = doc.source.parse(&doc.body);
        let obs = match parsed {
            Ok(o) => o.observations,
            Err(e) => {
                *self.rejected.lock().unwrap() += 1;
                return Err(SinkError::Rejected {
                    reason: e.to_string(),
                });
            }
        };
        let newest = obs
            .iter()
            .filter_map(|o| o.occurred_at)
            .map(|t| t.instant)
            .max();
        {
            let mut ids = self.event_ids.lock().unwrap();
            for o in &obs {
                if let Some(id) = &o.vendor_event_id {
                    ids.insert(id.clone());
                }
            }
        }
        self.docs.lock().unwrap().push(doc);
        Ok(Ingested {
            events: obs.len(),
            newest_event_at: newest,
        })
    }
}

/// A connector of `source` at the stand-in, with its contract credentials and fast timings.
pub fn config(server: &Server, source: Source) -> ConnectorConfig {
    let name = source.name();
    let mut c = ConnectorConfig::new(
        &format!("{name}-acme"),
        TenantId::new(TENANT).unwrap(),
        source,
        &server.url(name),
    );
    c.credentials.client_id = Some(format!("{TENANT}-{name}"));
    c.credentials.client_secret = Some(Secret::new(format!("{TENANT}-{name}-secret")));
    c.credentials.api_key = Some(Secret::new(format!("{TENANT}-{name}-key")));
    c.rate_per_sec = 1000.0;
    c.burst = 100;
    c.timeout = Duration::from_secs(2);
    c.backoff_base = Duration::from_millis(20);
    c.backoff_cap = Duration::from_millis(200);
    c
}

pub fn tenant() -> TenantId {
    TenantId::new(TENANT).unwrap()
}

/// Polls `cond` every 10 ms until it holds or `within` passes.
pub async fn eventually(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if cond() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The real clock: a library reads none, the binary (and tests) hand it one.
struct Wall;

impl waypost_domain::Clock for Wall {
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }
}

/// The world and the wall on the real clock.
pub fn clocks() -> Clocks {
    Clocks::real(Arc::new(Wall))
}
