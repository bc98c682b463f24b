//! The partners' endpoints, per the contract (`docs/simulator.md`).

use super::{Shared, after, before, json_response};
use crate::faults::Fault;
use crate::stats::Counters;
use crate::vendor::{self, dhl, fedex, ups, usps, wms};
use crate::world::visible_scans;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use waypost_demo::Carrier;

type St = State<Arc<Shared>>;

/// The most numbers FedEx takes in one request.
const FEDEX_BATCH: usize = 30;
/// The most events one feed page holds.
const MAX_LIMIT: usize = 500;
const DEFAULT_LIMIT: usize = 100;

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/clock", get(clock))
        .route("/ups/security/v1/oauth/token", post(ups_token))
        .route("/ups/api/track/v1/details/{number}", get(ups_track))
        .route("/fedex/oauth/token", post(fedex_token))
        .route("/fedex/track/v1/trackingnumbers", post(fedex_track))
        .route("/usps/oauth2/v3/token", post(usps_token))
        .route("/usps/tracking/v3/tracking/{number}", get(usps_track))
        .route("/dhl/track/shipments", get(dhl_track))
        .route("/wms/v1/events", get(wms_feed))
        .with_state(shared)
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

async fn clock(State(s): St) -> Response {
    json_response(StatusCode::OK, &s.clock.json(s.now()))
}

pub(crate) fn form(body: &[u8]) -> HashMap<String, String> {
    // Token requests are tiny `a=b&c=d` forms; values never need more than `+` and `%XX`.
    let decode = |s: &str| {
        let s = s.replace('+', " ");
        let mut out = Vec::with_capacity(s.len());
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%'
                && let Some(v) = s
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
            out.push(b[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

/// Token endpoints share everything but how credentials arrive and what the answer looks like.
async fn token(
    s: &Shared,
    partner: &'static str,
    credentials: Option<(String, String)>,
    grant_ok: bool,
    answer: impl Fn(&str, u64, Timestamp) -> Value,
    refused: Value,
) -> Response {
    s.stats.request(partner);
    let key = credentials.as_ref().map_or("", |c| c.0.as_str()).to_owned();
    if let Some(r) = before(s, s.fault(&format!("{partner}.token"), &key, false)).await {
        return r;
    }
    let tenant = credentials.and_then(|(id, secret)| s.client(partner, &id, &secret));
    let (Some(tenant), true) = (tenant, grant_ok) else {
        Counters::bump(&s.stats.unauthorized);
        return json_response(StatusCode::UNAUTHORIZED, &refused);
    };
    let now = s.now();
    let token = s.issue_token(tenant, partner, now);
    json_response(
        StatusCode::OK,
        &answer(&token, s.cfg.token_ttl.as_secs(), now),
    )
}

async fn ups_token(State(s): St, headers: HeaderMap, body: Bytes) -> Response {
    let credentials = header(&headers, "authorization")
        .and_then(|a| a.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|t| t.split_once(':').map(|(a, b)| (a.to_owned(), b.to_owned())));
    let id = credentials
        .as_ref()
        .map(|c| c.0.clone())
        .unwrap_or_default();
    let grant = form(&body).get("grant_type").map(String::as_str) == Some("client_credentials");
    let answer = |token: &str, ttl: u64, now: Timestamp| {
        json!({
            "token_type": "Bearer",
            "issued_at": now.as_millisecond().to_string(),
            "client_id": id,
            "access_token": token,
            "expires_in": ttl.to_string(),
            "status": "approved",
        })
    };
    let refused = json!({"response":{"errors":[{"code":"10401","message":"ClientId is Invalid"}]}});
    token(&s, "ups", credentials, grant, answer, refused).await
}

async fn fedex_token(State(s): St, body: Bytes) -> Response {
    let f = form(&body);
    let credentials = f
        .get("client_id")
        .zip(f.get("client_secret"))
        .map(|(a, b)| (a.clone(), b.clone()));
    let grant = f.get("grant_type").map(String::as_str) == Some("client_credentials");
    let answer = |token: &str, ttl: u64, _| json!({ "access_token": token, "token_type": "bearer", "expires_in": ttl, "scope": "CXS" });
    let refused = json!({"transactionId": "", "errors": [{"code": "NOT.AUTHORIZED.ERROR", "message": "The given client credentials were not valid. Please modify your request and try again."}]});
    token(&s, "fedex", credentials, grant, answer, refused).await
}

#[derive(Deserialize)]
struct UspsTokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

async fn usps_token(State(s): St, body: Bytes) -> Response {
    let req: Option<UspsTokenRequest> = serde_json::from_slice(&body).ok();
    let grant = req.as_ref().and_then(|r| r.grant_type.as_deref()) == Some("client_credentials");
    let credentials = req.and_then(|r| r.client_id.zip(r.client_secret));
    let answer = |token: &str, ttl: u64, now: Timestamp| json!({ "access_token": token, "token_type": "Bearer", "expires_in": ttl, "issued_at": now.as_millisecond() });
    let refused =
        json!({"error": "invalid_client", "error_description": "Client authentication failed"});
    token(&s, "usps", credentials, grant, answer, refused).await
}

/// One tracking number's document as `carrier` shows it now, or `None` if the tenant has no
/// such shipment or the carrier has no scan of it yet.
fn track_one(
    s: &Shared,
    tenant: usize,
    carrier: Carrier,
    number: &str,
    now: Timestamp,
) -> Option<Value> {
    let (order, ship) = s.world.shipment(tenant, carrier, number.trim())?;
    let scans = visible_scans(ship, now);
    if scans.is_empty() {
        return None;
    }
    Some(vendor::tracking_doc(order, ship, &scans))
}

/// The single-number carriers (UPS, USPS, DHL): authenticate, fault, look up, answer.
async fn track_single(
    s: &Shared,
    carrier: Carrier,
    tenant: Option<usize>,
    number: &str,
    unauthorized: Value,
    not_found: Value,
) -> Response {
    let partner = carrier.slug();
    s.stats.request(partner);
    let Some(tenant) = tenant else {
        Counters::bump(&s.stats.unauthorized);
        return json_response(StatusCode::UNAUTHORIZED, &unauthorized);
    };
    let fault = s.fault(&format!("{partner}.track"), number, true);
    if let Some(r) = before(s, fault).await {
        return r;
    }
    match track_one(s, tenant, carrier, number, s.now()) {
        Some(doc) => after(fault, StatusCode::OK, &doc),
        None => {
            Counters::bump(&s.stats.not_found);
            let mut r = json_response(StatusCode::NOT_FOUND, &not_found);
            if carrier == Carrier::Dhl {
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/problem+json"),
                );
            }
            r
        }
    }
}

async fn ups_track(State(s): St, Path(number): Path<String>, headers: HeaderMap) -> Response {
    let tenant = s.bearer("ups", header(&headers, "authorization"), s.now());
    let unauthorized = json!({"response":{"errors":[{"code":"250002","message":"Invalid Authentication Information."}]}});
    track_single(
        &s,
        Carrier::Ups,
        tenant,
        &number,
        unauthorized,
        ups::not_found(),
    )
    .await
}

async fn usps_track(State(s): St, Path(number): Path<String>, headers: HeaderMap) -> Response {
    let tenant = s.bearer("usps", header(&headers, "authorization"), s.now());
    let unauthorized = json!({"apiVersion":"v3","error":{"code":"401","message":"Unauthorized: invalid or expired access token"}});
    track_single(
        &s,
        Carrier::Usps,
        tenant,
        &number,
        unauthorized,
        usps::not_found(),
    )
    .await
}

#[derive(Deserialize)]
struct DhlQuery {
    #[serde(rename = "trackingNumber")]
    tracking_number: Option<String>,
}

async fn dhl_track(State(s): St, Query(q): Query<DhlQuery>, headers: HeaderMap) -> Response {
    let tenant = header(&headers, "dhl-api-key").and_then(|k| s.api_key("dhl", k));
    let unauthorized = json!({"title":"Unauthorized","status":401,"detail":"Invalid API key"});
    let number = q.tracking_number.unwrap_or_default();
    track_single(
        &s,
        Carrier::Dhl,
        tenant,
        &number,
        unauthorized,
        dhl::not_found(),
    )
    .await
}

#[derive(Deserialize)]
struct FedexRequest {
    #[serde(rename = "trackingInfo")]
    tracking_info: Vec<FedexInfo>,
}

#[derive(Deserialize)]
struct FedexInfo {
    #[serde(rename = "trackingNumberInfo")]
    tracking_number_info: FedexNumber,
}

#[derive(Deserialize)]
struct FedexNumber {
    #[serde(rename = "trackingNumber")]
    tracking_number: String,
}

fn fedex_error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(
        status,
        &json!({"transactionId": "", "errors": [{"code": code, "message": message}]}),
    )
}

async fn fedex_track(State(s): St, headers: HeaderMap, body: Bytes) -> Response {
    s.stats.request("fedex");
    let Some(tenant) = s.bearer("fedex", header(&headers, "authorization"), s.now()) else {
        Counters::bump(&s.stats.unauthorized);
        return fedex_error(
            StatusCode::UNAUTHORIZED,
            "NOT.AUTHORIZED.ERROR",
            "Access token expired. Please modify your request and try again.",
        );
    };
    let numbers: Vec<String> = match serde_json::from_slice::<FedexRequest>(&body) {
        Ok(r) => r
            .tracking_info
            .into_iter()
            .map(|i| i.tracking_number_info.tracking_number)
            .collect(),
        Err(_) => {
            return fedex_error(
                StatusCode::BAD_REQUEST,
                "INVALID.INPUT.EXCEPTION",
                "Invalid field value in the input",
            );
        }
    };
    if numbers.is_empty() || numbers.len() > FEDEX_BATCH {
        return fedex_error(
            StatusCode::BAD_REQUEST,
            "TRACKING.TRACKINGNUMBER.EXCEEDED",
            "Please provide between 1 and 30 tracking numbers.",
        );
    }
    let fault = s.fault("fedex.track", &numbers.join(","), true);
    if let Some(r) = before(&s, fault).await {
        return r;
    }
    let now = s.now();
    let found: Vec<_> = numbers
        .iter()
        .map(|n| {
            let hit = s.world.shipment(tenant, Carrier::Fedex, n.trim());
            (n, hit.map(|(o, sh)| (o, sh, visible_scans(sh, now))))
        })
        .collect();
    let results: Vec<fedex::Result<'_>> = found
        .iter()
        .map(|(n, hit)| match hit {
            Some((o, sh, scans)) if !scans.is_empty() => fedex::Result::Found(o, sh, scans),
            _ => {
                Counters::bump(&s.stats.not_found);
                fedex::Result::NotFound(n)
            }
        })
        .collect();
    let transaction = header(&headers, "x-customer-transaction-id").unwrap_or("");
    after(fault, StatusCode::OK, &fedex::doc(transaction, &results))
}

#[derive(Deserialize)]
struct FeedQuery {
    limit: Option<usize>,
    after: Option<String>,
}

fn cursor(tenant: &str, position: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("c1:{tenant}:{position}"))
}

fn position(tenant: &str, cursor: &str) -> Option<usize> {
    let raw = URL_SAFE_NO_PAD.decode(cursor.trim()).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let rest = text.strip_prefix("c1:")?;
    let (t, n) = rest.rsplit_once(':')?;
    (t == tenant).then_some(())?;
    n.parse().ok()
}

async fn wms_feed(State(s): St, Query(q): Query<FeedQuery>, headers: HeaderMap) -> Response {
    s.stats.request("wms");
    let key = header(&headers, "authorization").and_then(|a| a.strip_prefix("Bearer "));
    let Some(tenant) = key.and_then(|k| s.api_key("wms", k.trim())) else {
        Counters::bump(&s.stats.unauthorized);
        return json_response(StatusCode::UNAUTHORIZED, &json!({"error": "unauthorized"}));
    };
    let Some(name) = s.world.tenants.get(tenant).map(|t| t.name.clone()) else {
        return json_response(StatusCode::UNAUTHORIZED, &json!({"error": "unauthorized"}));
    };
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return json_response(
            StatusCode::BAD_REQUEST,
            &json!({"error": format!("limit must be 1..={MAX_LIMIT}")}),
        );
    }
    let start = match q.after.as_deref() {
        None | Some("") => 0,
        Some(c) => match position(&name, c) {
            Some(p) => p,
            None => {
                return json_response(StatusCode::BAD_REQUEST, &json!({"error": "invalid cursor"}));
            }
        },
    };
    let fault = s.fault("wms.feed", &format!("{name}:{start}:{limit}"), true);
    if let Some(r) = before(&s, fault).await {
        return r;
    }
    let feed = s.world.feeds.get(tenant).map_or(&[][..], Vec::as_slice);
    let now = s.now();
    let visible = feed.partition_point(|e| e.visible_at <= now);
    let start = start.min(visible);
    let end = (start + limit).min(visible);
    // The page is a function of where it starts and ends: same ends, same page.
    let etag = format!("\"{name}-{start}-{end}\"");
    if header(&headers, "if-none-match").is_some_and(|v| v.trim() == etag) {
        let mut r = Response::new(axum::body::Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        if let Ok(v) = HeaderValue::from_str(&etag) {
            r.headers_mut().insert(header::ETAG, v);
        }
        return r;
    }
    let events: Vec<Value> = feed[start..end]
        .iter()
        .filter_map(|e| {
            let order = s.world.orders.get(e.order)?;
            Some(wms::event(order, order.wms.get(e.event)?))
        })
        .collect();
    let body = json!({
        "events": events,
        "next_cursor": cursor(&name, end),
        "has_more": end < visible,
    });
    let mut r = after(fault, StatusCode::OK, &body);
    // A broken body carries no ETag: a client that kept it would be told 304 for a page it
    // never read.
    if !matches!(fault, Fault::Truncated | Fault::Malformed)
        && let Ok(v) = HeaderValue::from_str(&etag)
    {
        r.headers_mut().insert(header::ETAG, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_and_cursors_round_trip() {
        let f = form(b"grant_type=client_credentials&client_id=acme-fedex&client_secret=a%2Bb+c");
        assert_eq!(f.get("client_id").map(String::as_str), Some("acme-fedex"));
        assert_eq!(f.get("client_secret").map(String::as_str), Some("a+b c"));
        let c = cursor("acme", 42);
        assert_eq!(position("acme", &c), Some(42));
        // A cursor is the tenant's own: another tenant's, or garbage, is refused.
        assert_eq!(position("globex", &c), None);
        assert_eq!(position("acme", "not-a-cursor"), None);
    }
}
