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
