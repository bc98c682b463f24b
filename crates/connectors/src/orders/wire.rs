//! Each channel's polling contract: the request for one page of orders changed since an
//! instant, and what the page says (its orders, read by `waypost_orders::channels`, and how
//! to ask for the next). Everything vendor-specific about order polling lives here; the
//! readers stay pure and the loop in `poller` stays the same for every channel.

use super::config::{OrderChannelConfig, PolledChannel};
use crate::partner::WireError;
use jiff::Timestamp;
use reqwest::header::{ACCEPT, HeaderMap};
use reqwest::{Client, RequestBuilder, Url};
use serde_json::Value;
use waypost_orders::ChannelOrder;
use waypost_orders::channels::{ReadError, amazon, magento, shopify, woocommerce};

/// Where a page is asked from: the first of the window, or the channel's own next-page token
/// (a GraphQL cursor, a page number, Amazon's `NextToken`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ask {
    First,
    Next(String),
}

/// One page of the order list, read.
#[derive(Debug)]
pub(crate) struct OrderPage {
    pub orders: Vec<ChannelOrder>,
    /// BigCommerce lists orders without lines: their raw bodies, for the per-order fetches.
    pub raw: Vec<Value>,
    pub next: Option<String>,
    /// The instant the channel says the list is complete up to (Amazon `LastUpdatedBefore`).
    pub complete_to: Option<Timestamp>,
}

/// Why a page could not be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PageError {
    /// Shopify's GraphQL throttle: a 200 whose `errors` say `THROTTLED`.
    #[error("throttled by the channel")]
    Throttled,
    #[error(transparent)]
    Read(#[from] ReadError),
}

/// The fields `waypost_orders::channels::shopify::graphql` reads, and no more (a query's
/// cost grows with its fields and `first`).
const SHOPIFY_QUERY: &str = "query Orders($first: Int!, $after: String, $query: String) { \
orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) { \
edges { cursor node { id name createdAt updatedAt test cancelledAt cancelReason \
displayFinancialStatus displayFulfillmentStatus currencyCode email phone note tags \
totalPriceSet { shopMoney { amount currencyCode } } \
currentTotalPriceSet { shopMoney { amount currencyCode } } \
customer { id email phone firstName lastName displayName } \
risks { level message } \
shippingAddress { name firstName lastName company address1 address2 city zip province \
provinceCode countryCodeV2 phone latitude longitude } \
shippingLine { title code } \
lineItems(first: 100) { edges { node { id sku name title quantity currentQuantity \
originalUnitPriceSet { shopMoney { amount currencyCode } } \
taxLines { priceSet { shopMoney { amount currencyCode } } } \
variant { id } product { id } } } } } } \
pageInfo { hasNextPage endCursor } } }";

fn url(cfg: &OrderChannelConfig, segments: &[&str]) -> Result<Url, WireError> {
    let err = || WireError::Url {
        base: cfg.base_url.clone(),
        path: segments.join("/"),
    };
    let mut u = Url::parse(&cfg.base_url).map_err(|_| err())?;
    u.path_segments_mut()
        .map_err(|()| err())?
        .pop_if_empty()
        .extend(segments);
    Ok(u)
}

pub(crate) fn secret(s: &Option<crate::config::Secret>) -> &str {
    s.as_ref().map_or("", |s| s.expose())
}

/// The channel's credentials on a request (Amazon's access token is passed in).
pub(crate) fn authorize(
    cfg: &OrderChannelConfig,
    r: RequestBuilder,
    token: Option<&str>,
) -> RequestBuilder {
    let c = &cfg.credentials;
    match cfg.channel {
        PolledChannel::Shopify => r.header("X-Shopify-Access-Token", secret(&c.access_token)),
        PolledChannel::Woocommerce => {
            r.basic_auth(secret(&c.consumer_key), Some(secret(&c.consumer_secret)))
        }
        PolledChannel::Magento => r.bearer_auth(secret(&c.bearer_token)),
        PolledChannel::Bigcommerce => r
            .header("X-Auth-Token", secret(&c.auth_token))
            .header(ACCEPT, "application/json"),
        PolledChannel::Amazon => r.header("x-amz-access-token", token.unwrap_or_default()),
    }
}

/// An instant as the channels' filters want it: RFC 3339 UTC, whole seconds.
fn iso(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The request for one page of orders updated at or after `since`.
pub(crate) fn list_request(
    http: &Client,
    cfg: &OrderChannelConfig,
    since: Timestamp,
    ask: &Ask,
    token: Option<&str>,
) -> Result<RequestBuilder, WireError> {
    let n = cfg.page_size.to_string();
    let page = match ask {
        Ask::First => "1",
        Ask::Next(p) => p.as_str(),
    };
    let r = match cfg.channel {
        PolledChannel::Shopify => {
            let after = match ask {
                Ask::First => Value::Null,
                Ask::Next(c) => Value::String(c.clone()),
            };
            let body = serde_json::json!({
                "query": SHOPIFY_QUERY,
                "variables": {
                    "first": cfg.page_size,
                    "after": after,
                    "query": format!("updated_at:>='{}'", iso(since)),
                }
            });
            let u = url(cfg, &["admin", "api", &cfg.api_version, "graphql.json"])?;
            http.post(u).json(&body)
        }
        PolledChannel::Woocommerce => http
            .get(url(cfg, &["wp-json", "wc", "v3", "orders"])?)
            .query(&[
                ("modified_after", iso(since).as_str()),
                ("dates_are_gmt", "true"),
                ("orderby", "modified"),
                ("order", "asc"),
                ("per_page", &n),
                ("page", page),
            ]),
        PolledChannel::Magento => {
            let u = url(cfg, &["rest", &cfg.store_code, "V1", "orders"])?;
            let f = "searchCriteria[filter_groups][0][filters][0]";
            let since = since.strftime("%Y-%m-%d %H:%M:%S").to_string();
            http.get(u).query(&[
                (format!("{f}[field]"), "updated_at"),
                (format!("{f}[value]"), &since),
                (format!("{f}[condition_type]"), "gteq"),
                ("searchCriteria[sortOrders][0][field]".into(), "updated_at"),
                ("searchCriteria[sortOrders][0][direction]".into(), "ASC"),
                ("searchCriteria[pageSize]".into(), &n),
                ("searchCriteria[currentPage]".into(), page),
            ])
        }
        PolledChannel::Amazon => {
            let mut q = vec![("MarketplaceIds", cfg.marketplace_ids.join(","))];
            match ask {
                // With a NextToken, the other filters must be the first request's: Amazon
                // keeps them in the token.
                Ask::Next(t) => q.push(("NextToken", t.clone())),
                Ask::First => {
                    q.push(("LastUpdatedAfter", iso(since)));
                    q.push(("MaxResultsPerPage", n.clone()));
                }
            }
            http.get(url(cfg, &["orders", "v0", "orders"])?).query(&q)
        }
        PolledChannel::Bigcommerce => http.get(url(cfg, &["v2", "orders"])?).query(&[
            ("min_date_modified", iso(since).as_str()),
            ("sort", "date_modified:asc"),
            ("limit", &n),
            ("page", page),
        ]),
    };
    Ok(authorize(cfg, r, token))
}

/// Amazon `getOrderItems` for one order.
pub(crate) fn items_request(
    http: &Client,
    cfg: &OrderChannelConfig,
    order_id: &str,
    next: Option<&str>,
    token: Option<&str>,
) -> Result<RequestBuilder, WireError> {
    let u = url(cfg, &["orders", "v0", "orders", order_id, "orderItems"])?;
    let mut r = http.get(u);
    if let Some(t) = next {
        r = r.query(&[("NextToken", t)]);
    }
    Ok(authorize(cfg, r, token))
}

/// BigCommerce `GET /v2/orders/{id}` and its sub-resources (`part`: `None`, `products`,
/// `shipping_addresses`).
pub(crate) fn bigcommerce_request(
    http: &Client,
    cfg: &OrderChannelConfig,
    order_id: u64,
    part: Option<&str>,
) -> Result<RequestBuilder, WireError> {
    let id = order_id.to_string();
    let mut segs = vec!["v2", "orders", id.as_str()];
    if let Some(p) = part {
        segs.push(p);
    }
    let mut r = http.get(url(cfg, &segs)?);
    if part.is_some() {
        r = r.query(&[("limit", "250")]);
    }
    Ok(authorize(cfg, r, None))
}

/// Reads a page of the list, and how to ask for the next.
pub(crate) fn read_page(
    cfg: &OrderChannelConfig,
    ask: &Ask,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<OrderPage, PageError> {
    let reference = cfg.reference();
    let reference = reference.as_deref();
    let page_no = match ask {
        Ask::First => 1,
        Ask::Next(p) => p.parse::<u64>().unwrap_or(1),
    };
    let plain = |orders| OrderPage {
        orders,
        raw: Vec::new(),
        next: None,
        complete_to: None,
    };
    Ok(match cfg.channel {
        PolledChannel::Shopify => {
            if shopify_throttled(body) {
                return Err(PageError::Throttled);
            }
            let mut p = plain(shopify::graphql(body, reference)?);
            p.next = match shopify::page_info(body) {
                Some((true, Some(cursor))) => Some(cursor),
                _ => None,
            };
            p
        }
        PolledChannel::Woocommerce => {
            let mut p = plain(woocommerce::read(body, reference)?);
            let total_pages = headers
                .get("x-wp-totalpages")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(0);
            p.next = (page_no < total_pages).then(|| (page_no + 1).to_string());
            p
        }
        PolledChannel::Magento => {
            let mut p = plain(magento::read(body, reference)?);
            // Magento answers the last page again for any page past the end: stop by count.
            let total = serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|v| v.get("total_count").and_then(Value::as_u64))
                .unwrap_or(0);
            let seen = page_no.saturating_mul(u64::from(cfg.page_size));
            p.next = (seen < total && !p.orders.is_empty()).then(|| (page_no + 1).to_string());
            p
        }
        PolledChannel::Amazon => {
            let a = amazon::orders(body, reference)?;
            OrderPage {
                orders: a.orders,
                raw: Vec::new(),
                next: a.next_token,
                complete_to: a.last_updated_before,
            }
        }
        PolledChannel::Bigcommerce => {
            // 204 with no body is an empty list.
            let raw: Vec<Value> = if body.iter().all(u8::is_ascii_whitespace) {
                Vec::new()
            } else {
                match serde_json::from_slice::<Value>(body) {
                    Ok(Value::Array(a)) => a,
                    Ok(_) => {
                        return Err(ReadError::new("bigcommerce", "orders", "not an array").into());
                    }
                    Err(e) => {
                        return Err(ReadError::new(
                            "bigcommerce",
                            "orders",
                            format!("not JSON: {e}"),
                        )
                        .into());
                    }
                }
            };
            let full = raw.len() >= cfg.page_size as usize;
            OrderPage {
                orders: Vec::new(),
                next: full.then(|| (page_no + 1).to_string()),
                raw,
                complete_to: None,
            }
        }
    })
}

/// Whether a GraphQL answer is Shopify's throttle (`errors[].extensions.code == THROTTLED`).
fn shopify_throttled(body: &[u8]) -> bool {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    v.get("errors").and_then(Value::as_array).is_some_and(|es| {
        es.iter()
            .any(|e| e.pointer("/extensions/code").and_then(Value::as_str) == Some("THROTTLED"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;
    use waypost_domain::TenantId;

    fn cfg(channel: PolledChannel, base: &str) -> OrderChannelConfig {
        let mut c =
            OrderChannelConfig::new("x", TenantId::new("acme").expect("tenant"), channel, base);
        c.credentials.access_token = Some(Secret::new("shpat"));
        c.credentials.consumer_key = Some(Secret::new("ck"));
        c.credentials.consumer_secret = Some(Secret::new("cs"));
        c.credentials.bearer_token = Some(Secret::new("mg"));
        c.credentials.auth_token = Some(Secret::new("bc"));
        c.marketplace_ids = vec!["ATVPDKIKX0DER".into()];
        c.seller_id = Some("A3TV".into());
        c
    }

    fn since() -> Timestamp {
        "2026-11-20T08:00:00.5Z".parse().expect("ts")
    }

    #[test]
    fn list_urls_follow_each_api() {
        let http = crate::runtime::http_client().expect("client");
        let build = |c: &OrderChannelConfig, ask: &Ask| {
            list_request(&http, c, since(), ask, Some("Atza|t"))
                .expect("builds")
                .build()
                .expect("request")
        };
        let r = build(
            &cfg(PolledChannel::Woocommerce, "http://h/shop/"),
            &Ask::Next("3".into()),
        );
        assert_eq!(
            r.url().as_str(),
            "http://h/shop/wp-json/wc/v3/orders?modified_after=2026-11-20T08%3A00%3A00Z&dates_are_gmt=true&orderby=modified&order=asc&per_page=50&page=3"
        );
        assert!(
            r.headers()["authorization"]
                .to_str()
                .expect("ascii")
                .starts_with("Basic ")
        );
        let r = build(&cfg(PolledChannel::Amazon, "http://h/sp"), &Ask::First);
        assert_eq!(
            r.url().as_str(),
            "http://h/sp/orders/v0/orders?MarketplaceIds=ATVPDKIKX0DER&LastUpdatedAfter=2026-11-20T08%3A00%3A00Z&MaxResultsPerPage=50"
        );
        assert_eq!(r.headers()["x-amz-access-token"], "Atza|t");
        let r = build(&cfg(PolledChannel::Magento, "http://h/m"), &Ask::First);
        let q = r.url().query().expect("query");
        assert!(q.contains("condition_type%5D=gteq"), "{q}");
        assert!(q.contains("2026-11-20+08%3A00%3A00"), "{q}");
        assert_eq!(r.headers()["authorization"], "Bearer mg");
        let r = build(
            &cfg(PolledChannel::Bigcommerce, "http://h/stores/abc"),
            &Ask::First,
        );
        assert!(
            r.url()
                .as_str()
                .starts_with("http://h/stores/abc/v2/orders?min_date_modified=")
        );
        assert_eq!(r.headers()["x-auth-token"], "bc");
        let r = build(&cfg(PolledChannel::Shopify, "http://h/s"), &Ask::First);
        assert_eq!(
            r.url().as_str(),
            "http://h/s/admin/api/2025-01/graphql.json"
        );
        assert_eq!(r.headers()["x-shopify-access-token"], "shpat");
    }

    #[test]
    fn references_default_from_the_base_url() {
        assert_eq!(
            cfg(
                PolledChannel::Bigcommerce,
                "https://api.bigcommerce.com/stores/3xa9/v2"
            )
            .reference()
            .as_deref(),
            Some("stores/3xa9")
        );
        assert_eq!(
            cfg(PolledChannel::Shopify, "https://lumen.myshopify.com")
                .reference()
                .as_deref(),
            Some("lumen.myshopify.com")
        );
        assert_eq!(
            cfg(PolledChannel::Amazon, "http://h")
                .reference()
                .as_deref(),
            Some("A3TV")
        );
    }

    #[test]
    fn shopify_throttle_is_told_apart() {
        let t = br#"{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED"}}]}"#;
        assert!(shopify_throttled(t));
        assert!(!shopify_throttled(br#"{"errors":[{"message":"bad"}]}"#));
        let c = cfg(PolledChannel::Shopify, "http://h");
        assert!(matches!(
            read_page(&c, &Ask::First, &HeaderMap::new(), t),
            Err(PageError::Throttled)
        ));
    }

    proptest::proptest! {
        /// Any bytes, and any corruption of a real page, read as a page or an error: never a
        /// panic, whatever the channel or the paging headers.
        #[test]
        fn pages_never_panic(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048),
            cut in 0usize..4096,
            flip in proptest::prelude::any::<u8>(),
            pages in proptest::prelude::any::<u32>(),
        ) {
            let docs: [&[u8]; 4] = [
                include_bytes!("../../../orders/corpus/shopify/orders-page.graphql.json"),
                include_bytes!("../../../orders/corpus/woocommerce/list.json"),
                include_bytes!("../../../orders/corpus/magento/search.json"),
                include_bytes!("../../../orders/corpus/amazon/prime-unshipped.orders.json"),
            ];
            let mut headers = HeaderMap::new();
            headers.insert("x-wp-totalpages", pages.to_string().parse().expect("a header value"));
            for ch in [
                PolledChannel::Shopify,
                PolledChannel::Woocommerce,
                PolledChannel::Magento,
                PolledChannel::Amazon,
                PolledChannel::Bigcommerce,
            ] {
                let c = cfg(ch, "http://h/stores/abc");
                for ask in [Ask::First, Ask::Next("7".into()), Ask::Next("x".into())] {
                    let _ = read_page(&c, &ask, &headers, &bytes);
                    for d in docs {
                        let mut m = d.to_vec();
                        if !m.is_empty() {
                            let at = cut % m.len();
                            m[at] ^= flip;
                            let _ = read_page(&c, &ask, &headers, &m);
                            m.truncate(at);
                            let _ = read_page(&c, &ask, &headers, &m);
                        }
                    }
                }
            }
        }
    }
}
