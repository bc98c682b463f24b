//! The fake SP-API: Login with Amazon's token endpoint, `getOrders` (`LastUpdatedAfter`,
//! a `NextToken` that carries the first request's filters, `LastUpdatedBefore` two minutes
//! before now) and `getOrderItems` (paged two items at a time).

use super::routes::{Params, param, parse_iso, respond};
use super::{FakeOrder, Shop, Shops, creds, docs};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use jiff::Timestamp;
use serde_json::{Value, json};

pub(super) async fn lwa(State(s): State<Shops>, body: Bytes) -> Response {
    let form: Vec<(String, String)> = url_pairs(&body);
    let ok = param(&form, "grant_type") == Some("refresh_token")
        && param(&form, "refresh_token") == Some(creds::LWA_REFRESH_TOKEN)
        && param(&form, "client_id") == Some(creds::LWA_CLIENT_ID)
        && param(&form, "client_secret") == Some(creds::LWA_CLIENT_SECRET);
    if !ok {
        return respond(
            StatusCode::BAD_REQUEST,
            &json!({"error_description": "The request has an invalid grant parameter : refresh_token", "error": "invalid_grant"}),
            &[],
        );
    }
    let now = s.now();
    let mut st = s.lock();
    st.tokens_issued += 1;
    let token = format!("Atza|IwEBI-fake-{}", st.tokens_issued);
    let exp = now
        .checked_add(jiff::SignedDuration::from_secs(s.token_ttl_secs))
        .unwrap_or(now);
    st.tokens.insert(token.clone(), exp);
    respond(
        StatusCode::OK,
        &json!({"access_token": token, "refresh_token": creds::LWA_REFRESH_TOKEN, "token_type": "bearer", "expires_in": s.token_ttl_secs}),
        &[],
    )
}

/// `application/x-www-form-urlencoded` pairs.
fn url_pairs(body: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(body);
    reqwest::Url::parse(&format!("http://x/?{text}"))
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default()
}

fn iso(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub(super) async fn amazon_orders(
    State(s): State<Shops>,
    headers: HeaderMap,
    Query(p): Params,
) -> Response {
    let limit = [("x-amzn-ratelimit-limit", s.amazon_rate_limit.clone())];
    if let Some(r) = s.gate(Shop::Amazon, &headers) {
        return r;
    }
    let invalid = |m: &str| {
        respond(
            StatusCode::BAD_REQUEST,
            &json!({"errors": [{"code": "InvalidInput", "message": m, "details": ""}]}),
            &limit,
        )
    };
    if param(&p, "MarketplaceIds") != Some(creds::AMAZON_MARKETPLACE) {
        return invalid("Invalid Input: MarketplaceIds");
    }
    // The NextToken carries the first request's filters: `since|before|offset`.
    let (since, before, offset) = match param(&p, "NextToken") {
        Some(tok) => {
            let text = B64
                .decode(tok)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .unwrap_or_default();
            let mut parts = text.split('|');
            let since = parts.next().and_then(parse_iso);
            let before = parts.next().and_then(parse_iso);
            let off = parts.next().and_then(|o| o.parse::<usize>().ok());
            match (since, before, off) {
                (Some(a), Some(b), Some(o)) => (a, b, o),
                _ => return invalid("Invalid Input: NextToken"),
            }
        }
        None => {
            let Some(since) = param(&p, "LastUpdatedAfter").and_then(parse_iso) else {
                return invalid("Either CreatedAfter or LastUpdatedAfter must be specified");
            };
            s.note_since(
                Shop::Amazon,
                param(&p, "LastUpdatedAfter").unwrap_or_default(),
            );
            // LastUpdatedBefore defaults to two minutes before now.
            let now = s.now();
            let before = now
                .checked_sub(jiff::SignedDuration::from_mins(2))
                .unwrap_or(now);
            (since, before, 0)
        }
    };
    let size: usize = param(&p, "MaxResultsPerPage")
        .and_then(|v| v.parse().ok())
        .unwrap_or(100)
        .clamp(1, 100);
    let all: Vec<FakeOrder> = s
        .changed(Shop::Amazon, since)
        .into_iter()
        .filter(|o| o.updated < before)
        .collect();
    let page: Vec<Value> = all
        .iter()
        .skip(offset)
        .take(size)
        .map(docs::amazon_order)
        .collect();
    let next = offset + page.len();
    let mut payload = json!({"Orders": page, "LastUpdatedBefore": iso(before)});
    if next < all.len() {
        payload["NextToken"] = json!(B64.encode(format!("{}|{}|{next}", iso(since), iso(before))));
    }
    respond(StatusCode::OK, &json!({ "payload": payload }), &limit)
}

pub(super) async fn amazon_items(
    State(s): State<Shops>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(p): Params,
) -> Response {
    if let Some(r) = s.gate(Shop::Amazon, &headers) {
        return r;
    }
    let limit = [("x-amzn-ratelimit-limit", "0.5".to_string())];
    let Some(o) = s
        .orders(Shop::Amazon)
        .into_iter()
        .find(|o| docs::amazon_order(o)["AmazonOrderId"] == id.as_str())
    else {
        return respond(
            StatusCode::NOT_FOUND,
            &json!({"errors": [{"code": "NotFound", "message": "Order not found", "details": ""}]}),
            &limit,
        );
    };
    // Two items a page, so NextToken paging is exercised.
    let all = docs::amazon_items(&o);
    let items = all["payload"]["OrderItems"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let offset: usize = param(&p, "NextToken")
        .and_then(|t| t.strip_prefix("items-"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let page: Vec<Value> = items.iter().skip(offset).take(2).cloned().collect();
    let mut payload = json!({"AmazonOrderId": id, "OrderItems": page});
    if offset + 2 < items.len() {
        payload["NextToken"] = json!(format!("items-{}", offset + 2));
    }
    respond(StatusCode::OK, &json!({ "payload": payload }), &limit)
}
