//! Shopify: the REST `Order` resource (webhook bodies `orders/create`, `orders/updated`,
//! `orders/cancelled`, and REST responses wrapped as `{"order": …}` / `{"orders": […]}`) and
//! the GraphQL Admin API's `Order` (polling). Both read to the same [`ChannelOrder`]: the
//! external id is the numeric order id (the tail of the GID in GraphQL), so a webhook and a
//! poll of one order join.
//!
//! [`ChannelOrder`]: crate::model::ChannelOrder

mod graphql;
mod rest;

pub use graphql::{graphql, page_info};
pub use rest::rest;

use crate::model::ChannelState;

/// Whether a webhook body carries a valid `X-Shopify-Hmac-Sha256` (base64 HMAC-SHA256 of the
/// raw body under the app's secret, compared in constant time).
pub fn verify_hmac(body: &[u8], secret: &[u8], header_b64: &str) -> bool {
    super::signature::shopify_verify(body, secret, header_b64)
}

/// The order's state from what both APIs send: a cancel instant (with its reason), else the
/// financial status. `pending` and `authorized` stay open: Shopify merchants fulfil on
/// authorisation and capture later, so holding them would hold most orders. `voided` means
/// the authorisation was released: nothing will be paid, the order is dead.
fn state(cancelled: bool, reason: Option<String>, financial: Option<&str>) -> ChannelState {
    if cancelled {
        return ChannelState::Cancelled { reason };
    }
    match financial.map(str::to_ascii_lowercase).as_deref() {
        Some("voided") => ChannelState::Cancelled {
            reason: reason.or_else(|| Some("voided".to_string())),
        },
        _ => ChannelState::Open,
    }
}

/// A running sum of tax lines; amounts so large they overflow are refused, not wrapped.
fn add(
    cx: &crate::channels::web::Cx,
    sum: Option<rust_decimal::Decimal>,
    x: rust_decimal::Decimal,
    at: &str,
) -> Result<rust_decimal::Decimal, crate::channels::ReadError> {
    sum.unwrap_or_default()
        .checked_add(x)
        .ok_or_else(|| cx.err(at, "tax lines add up beyond any amount"))
}

/// `path.key`, or `key` at the root.
fn at(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Tags from REST's one comma-separated string: trimmed, empty ones dropped.
fn split_tags(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_info_reads_the_cursor() {
        let body = br#"{"data":{"orders":{"edges":[],"pageInfo":{"hasNextPage":true,"endCursor":"eyJsYXN0X2lkIjoxfQ=="}}}}"#;
        assert_eq!(
            page_info(body),
            Some((true, Some("eyJsYXN0X2lkIjoxfQ==".to_string())))
        );
        let last = br#"{"data":{"orders":{"edges":[],"pageInfo":{"hasNextPage":false,"endCursor":null}}}}"#;
        assert_eq!(page_info(last), Some((false, None)));
        assert_eq!(page_info(b"{}"), None);
        assert_eq!(graphql(br#"{"data":{"order":null}}"#, None), Ok(vec![]));
    }

    #[test]
    fn refusals_name_where_and_what() {
        let e = |r: crate::channels::Read| r.map_err(|e| e.to_string()).err().unwrap_or_default();
        assert_eq!(
            e(rest(br#"{"errors":"Not Found"}"#, None)),
            "shopify document, at errors: the API answered an error: \"Not Found\""
        );
        assert_eq!(
            e(rest(
                br#"{"id":1,"created_at":"2024-03-14T09:12:45"}"#,
                None
            )),
            "shopify document, at created_at: \"2024-03-14T09:12:45\" has no time zone, and this field is not documented as UTC"
        );
        assert_eq!(
            e(rest(br#"{"id":1,"line_items":[{"quantity":"two"}]}"#, None)),
            "shopify document, at line_items[0].quantity: \"two\" is not a decimal amount"
        );
        assert_eq!(
            e(graphql(
                br#"{"data":{"order":{"id":"gid://shopify/Order/abc"}}}"#,
                None
            )),
            "shopify document, at data.order.id: \"gid://shopify/Order/abc\" is not a Shopify GID with a numeric id"
        );
        assert_eq!(
            e(rest(b"{\"id\": 1,", None)),
            "shopify document, at line 1 column 9: not JSON: EOF while parsing a value"
        );
    }

    #[test]
    fn the_webhook_signature_is_checked_over_raw_bytes() {
        let body = br#"{"id":5790234411093}"#;
        let sig = crate::channels::signature::sign_b64(body, b"shpss_secret");
        assert!(verify_hmac(body, b"shpss_secret", &sig));
        assert!(!verify_hmac(
            br#"{"id": 5790234411093}"#,
            b"shpss_secret",
            &sig
        ));
    }

    #[test]
    fn tags_split_on_commas() {
        assert_eq!(split_tags(" vip, ,Léon, Noël,"), ["vip", "Léon", "Noël"]);
        assert!(split_tags("").is_empty());
    }

    #[test]
    fn authorized_is_open_and_voided_is_cancelled() {
        assert_eq!(state(false, None, Some("authorized")), ChannelState::Open);
        assert_eq!(state(false, None, Some("pending")), ChannelState::Open);
        assert_eq!(
            state(false, None, Some("VOIDED")),
            ChannelState::Cancelled {
                reason: Some("voided".into())
            }
        );
        assert_eq!(
            state(true, Some("fraud".into()), Some("paid")),
            ChannelState::Cancelled {
                reason: Some("fraud".into())
            }
        );
    }
}
