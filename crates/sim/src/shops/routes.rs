//! The fake channels' HTTP: auth, throttling, the incremental filters and the paging of each
//! API, as the vendors document them. Documents come from `docs`.

use super::{FakeOrder, Shop, Shops, creds};
use super::{amazon, docs};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use jiff::Timestamp;
use serde_json::{Value, json};

pub(super) type Params = Query<Vec<(String, String)>>;

pub(super) fn router(shops: Shops) -> Router {
    Router::new()
        .route("/shopify/admin/api/{version}/graphql.json", post(shopify))
        .route("/woocommerce/wp-json/wc/v3/orders", get(woo))
        .route("/magento/rest/{store}/V1/orders", get(magento))
        .route("/amazon/auth/o2/token", post(amazon::lwa))
        .route("/amazon/orders/v0/orders", get(amazon::amazon_orders))
        .route(
            "/amazon/orders/v0/orders/{id}/orderItems",
            get(amazon::amazon_items),
        )
        .route("/bigcommerce/stores/{hash}/v2/orders", get(bc_list))
        .route("/bigcommerce/stores/{hash}/v2/orders/{id}", get(bc_order))
        .route(
            "/bigcommerce/stores/{hash}/v2/orders/{id}/{part}",
            get(bc_part),
        )
        .with_state(shops)
}

pub(super) fn respond(
    status: StatusCode,
    body: &Value,
    headers: &[(&'static str, String)],
) -> Response {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for (k, v) in headers {
        if let Ok(v) = HeaderValue::from_str(v) {
            r.headers_mut().insert(*k, v);
        }
    }
    r
}

pub(super) fn param<'a>(p: &'a [(String, String)], key: &str) -> Option<&'a str> {
    p.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

impl Shops {
    /// Counts the request; answers the channel's refusal when its credential is wrong, or its
    /// throttle when one is scripted.
    pub(super) fn gate(&self, shop: Shop, headers: &HeaderMap) -> Option<Response> {
        let now = self.now();
        let ok = match shop {
            Shop::Shopify => {
                header_str(headers, "x-shopify-access-token") == Some(creds::SHOPIFY_TOKEN)
            }
            Shop::Woocommerce => header_str(headers, "authorization")
                .and_then(|a| a.strip_prefix("Basic "))
                .and_then(|b| B64.decode(b.trim()).ok())
                .is_some_and(|d| {
                    d == format!("{}:{}", creds::WOO_KEY, creds::WOO_SECRET).as_bytes()
                }),
            Shop::Magento => {
                header_str(headers, "authorization")
                    == Some(format!("Bearer {}", creds::MAGENTO_TOKEN).as_str())
            }
            Shop::Bigcommerce => {
                header_str(headers, "x-auth-token") == Some(creds::BIGCOMMERCE_TOKEN)
            }
            Shop::Amazon => header_str(headers, "x-amz-access-token")
                .is_some_and(|t| self.lock().tokens.get(t).is_some_and(|exp| *exp > now)),
        };
        let mut st = self.lock();
        let stats = st.stats.entry(shop).or_default();
        stats.requests += 1;
        if !ok {
            stats.unauthorized += 1;
            return Some(match shop {
                Shop::Shopify => respond(
                    StatusCode::UNAUTHORIZED,
                    &json!({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}),
                    &[],
                ),
                Shop::Woocommerce => respond(
                    StatusCode::UNAUTHORIZED,
                    &json!({"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list resources.", "data": {"status": 401}}),
                    &[],
                ),
                Shop::Magento => respond(
                    StatusCode::UNAUTHORIZED,
                    &json!({"message": "The consumer isn't authorized to access %resources.", "parameters": {"resources": "Magento_Sales::actions_view"}}),
                    &[],
                ),
                Shop::Bigcommerce => respond(
                    StatusCode::UNAUTHORIZED,
                    &json!({"status": 401, "title": "No valid credentials were found in this request", "type": "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"}),
                    &[],
                ),
                // SP-API refuses a missing or expired access token with 403 `Unauthorized`.
                Shop::Amazon => respond(
                    StatusCode::FORBIDDEN,
                    &json!({"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.", "details": "The access token you provided has expired."}]}),
                    &[],
                ),
            });
        }
        let left = st.throttle.entry(shop).or_default();
        if *left == 0 {
            return None;
        }
        *left -= 1;
        st.stats.entry(shop).or_default().throttled += 1;
        Some(match shop {
            // GraphQL's throttle is a 200 whose errors say THROTTLED, with the bucket's state.
            Shop::Shopify => respond(
                StatusCode::OK,
                &json!({"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
                        "extensions": {"cost": {"requestedQueryCost": 252, "actualQueryCost": null, "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 12, "restoreRate": 100.0}}}}),
                &[],
            ),
            Shop::Amazon => respond(
                StatusCode::TOO_MANY_REQUESTS,
                &json!({"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource.", "details": ""}]}),
                &[("x-amzn-ratelimit-limit", self.amazon_rate_limit.clone())],
            ),
            Shop::Bigcommerce => respond(
                StatusCode::TOO_MANY_REQUESTS,
                &json!({"status": 429, "title": "Too many requests"}),
                &[
                    ("x-rate-limit-requests-left", "0".into()),
                    ("x-rate-limit-requests-quota", "150".into()),
                    ("x-rate-limit-time-window-ms", "30000".into()),
                    ("x-rate-limit-time-reset-ms", "1000".into()),
                ],
            ),
            Shop::Woocommerce | Shop::Magento => respond(
                StatusCode::TOO_MANY_REQUESTS,
                &json!({"message": "Too Many Requests"}),
                &[("retry-after", "1".into())],
            ),
        })
    }

    pub(super) fn note_since(&self, shop: Shop, since: &str) {
        let mut st = self.lock();
        st.stats
            .entry(shop)
            .or_default()
            .since
            .push(since.to_owned());
    }

    /// The orders updated at or after `since`, oldest update first.
    pub(super) fn changed(&self, shop: Shop, since: Timestamp) -> Vec<FakeOrder> {
        let mut v: Vec<FakeOrder> = self
            .orders(shop)
            .into_iter()
            .filter(|o| o.updated >= since)
            .collect();
        v.sort_by_key(|o| (o.updated, o.id));
        v
    }
}

fn bad_request(msg: &str) -> Response {
    respond(StatusCode::BAD_REQUEST, &json!({"message": msg}), &[])
}

pub(super) fn parse_iso(s: &str) -> Option<Timestamp> {
    s.trim().parse().ok()
}

async fn shopify(State(s): State<Shops>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = s.gate(Shop::Shopify, &headers) {
        return r;
    }
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return bad_request("body is not JSON");
    };
    let vars = &req["variables"];
    let first = vars["first"].as_u64().unwrap_or(50).clamp(1, 250) as usize;
    let filter = vars["query"].as_str().unwrap_or_default();
    // `updated_at:>='2026-11-20T08:00:00Z'` (quotes optional).
    let since = filter
        .strip_prefix("updated_at:>=")
        .map(|v| v.trim_matches(|c| c == '\'' || c == '"'))
        .and_then(parse_iso)
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let after = vars["after"].as_str().and_then(|c| {
        let raw = B64.decode(c).ok()?;
        let text = String::from_utf8(raw).ok()?;
        let (secs, id) = text.split_once(':')?;
        Some((secs.parse::<i64>().ok()?, id.parse::<u64>().ok()?))
    });
    if after.is_none() {
        s.note_since(Shop::Shopify, filter);
    }
    let all = s.changed(Shop::Shopify, since);
    let rest: Vec<&FakeOrder> = all
        .iter()
        .filter(|o| after.is_none_or(|(t, id)| (o.updated.as_second(), o.id) > (t, id)))
        .collect();
    let page = &rest[..rest.len().min(first)];
    let cursor = |o: &FakeOrder| B64.encode(format!("{}:{}", o.updated.as_second(), o.id));
    let edges: Vec<Value> = page
        .iter()
        .map(|o| json!({"cursor": cursor(o), "node": docs::shopify_node(o)}))
        .collect();
    let body = json!({
        "data": {"orders": {"edges": edges, "pageInfo": {
            "hasNextPage": rest.len() > page.len(),
            "endCursor": page.last().map(|o| cursor(o)),
        }}},
        "extensions": {"cost": {"requestedQueryCost": 252, "actualQueryCost": 12,
            "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1988, "restoreRate": 100.0}}}
    });
    respond(StatusCode::OK, &body, &[])
}

async fn woo(State(s): State<Shops>, headers: HeaderMap, Query(p): Params) -> Response {
    if let Some(r) = s.gate(Shop::Woocommerce, &headers) {
        return r;
    }
    let per_page: usize = param(&p, "per_page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    if !(1..=100).contains(&per_page) {
        return respond(
            StatusCode::BAD_REQUEST,
            &json!({"code": "rest_invalid_param", "message": "Invalid parameter(s): per_page", "data": {"status": 400}}),
            &[],
        );
    }
    let page: usize = param(&p, "page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let raw = param(&p, "modified_after").unwrap_or_default();
    if page == 1 {
        s.note_since(Shop::Woocommerce, raw);
    }
    // Without `dates_are_gmt=true` the filter is in the site's time (UTC-7 here).
    let gmt = param(&p, "dates_are_gmt") == Some("true");
    let since = jiff::civil::DateTime::strptime("%Y-%m-%dT%H:%M:%S", raw.trim_end_matches('Z'))
        .ok()
        .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp())
        .map(|t| {
            if gmt {
                t
            } else {
                t.checked_add(jiff::SignedDuration::from_hours(7))
                    .unwrap_or(t)
            }
        })
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let all = s.changed(Shop::Woocommerce, since);
    let pages = all.len().div_ceil(per_page);
    let list: Vec<Value> = all
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(docs::woo_order)
        .collect();
    respond(
        StatusCode::OK,
        &Value::Array(list),
        &[
            ("x-wp-total", all.len().to_string()),
            ("x-wp-totalpages", pages.to_string()),
        ],
    )
}

async fn magento(
    State(s): State<Shops>,
    Path(_store): Path<String>,
    headers: HeaderMap,
    Query(p): Params,
) -> Response {
    if let Some(r) = s.gate(Shop::Magento, &headers) {
        return r;
    }
    let f = "searchCriteria[filter_groups][0][filters][0]";
    let field = param(&p, &format!("{f}[field]"));
    let cond = param(&p, &format!("{f}[condition_type]"));
    let value = param(&p, &format!("{f}[value]")).unwrap_or_default();
    let since = match (field, cond) {
        (Some("updated_at"), Some("gteq")) => {
            jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", value)
                .ok()
                .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
                .map(|z| z.timestamp())
        }
        _ => None,
    }
    .unwrap_or(Timestamp::UNIX_EPOCH);
    let size: usize = param(&p, "searchCriteria[pageSize]")
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
        .max(1);
    let asked: usize = param(&p, "searchCriteria[currentPage]")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    if asked == 1 {
        s.note_since(Shop::Magento, value);
    }
    let all = s.changed(Shop::Magento, since);
    // Magento answers the last page again for any page past the end.
    let last = all.len().div_ceil(size).max(1);
    let page = asked.min(last);
    let items: Vec<Value> = all
        .iter()
        .skip((page - 1) * size)
        .take(size)
        .map(docs::magento_order)
        .collect();
    let body = json!({
        "items": items,
        "search_criteria": {
            "filter_groups": [{"filters": [{"field": "updated_at", "value": value, "condition_type": "gteq"}]}],
            "page_size": size,
            "current_page": asked,
        },
        "total_count": all.len(),
    });
    respond(StatusCode::OK, &body, &[])
}

fn bc_base(hash: &str) -> String {
    format!("https://api.bigcommerce.com/stores/{hash}")
}

fn bc_since(v: &str) -> Option<Timestamp> {
    parse_iso(v).or_else(|| {
        jiff::fmt::rfc2822::DateTimeParser::new()
            .parse_timestamp(v)
            .ok()
    })
}

fn no_content() -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::NO_CONTENT;
    r
}

async fn bc_list(
    State(s): State<Shops>,
    Path(hash): Path<String>,
    headers: HeaderMap,
    Query(p): Params,
) -> Response {
    if let Some(r) = s.gate(Shop::Bigcommerce, &headers) {
        return r;
    }
    if hash != creds::BIGCOMMERCE_STORE {
        return respond(
            StatusCode::NOT_FOUND,
            &json!([{"status": 404, "message": "Store not found."}]),
            &[],
        );
    }
    let raw = param(&p, "min_date_modified").unwrap_or_default();
    let since = bc_since(raw).unwrap_or(Timestamp::UNIX_EPOCH);
    let limit: usize = param(&p, "limit")
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
        .clamp(1, 250);
    let page: usize = param(&p, "page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    if page == 1 {
        s.note_since(Shop::Bigcommerce, raw);
    }
    let list: Vec<Value> = s
        .changed(Shop::Bigcommerce, since)
        .iter()
        .skip((page - 1) * limit)
        .take(limit)
        .map(|o| docs::bc_order(o, &bc_base(&hash)))
        .collect();
    if list.is_empty() {
        return no_content();
    }
    respond(
        StatusCode::OK,
        &Value::Array(list),
        &[("x-rate-limit-requests-left", "149".into())],
    )
}

fn bc_find(s: &Shops, id: &str) -> Option<FakeOrder> {
    let id: u64 = id.parse().ok()?;
    s.orders(Shop::Bigcommerce).into_iter().find(|o| o.id == id)
}

fn bc_not_found() -> Response {
    respond(
        StatusCode::NOT_FOUND,
        &json!([{"status": 404, "message": "The requested resource was not found."}]),
        &[],
    )
}

async fn bc_order(
    State(s): State<Shops>,
    Path((hash, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = s.gate(Shop::Bigcommerce, &headers) {
        return r;
    }
    match bc_find(&s, &id) {
        Some(o) => respond(StatusCode::OK, &docs::bc_order(&o, &bc_base(&hash)), &[]),
        None => bc_not_found(),
    }
}

async fn bc_part(
    State(s): State<Shops>,
    Path((_hash, id, part)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = s.gate(Shop::Bigcommerce, &headers) {
        return r;
    }
    let Some(o) = bc_find(&s, &id) else {
        return bc_not_found();
    };
    match part.as_str() {
        "products" => respond(StatusCode::OK, &docs::bc_products(&o), &[]),
        "shipping_addresses" => respond(StatusCode::OK, &docs::bc_addresses(&o), &[]),
        _ => bc_not_found(),
    }
}
