//! The plainest scheme: base64 HMAC-SHA256 of the raw body in one header (AfterShip, Shopify),
//! plus Shopify's optional, unsigned delivery-id and timestamp headers.

use base64::Engine as _;

use super::common::{self, BASE64, Tag, Window};
use super::{Headers, Scheme, Secret, SignatureError, Verified};

pub(super) fn verify<H: Headers + ?Sized>(
    scheme: &Scheme,
    header: &str,
    secrets: &[Secret],
    headers: &H,
    body: &[u8],
) -> Result<Verified, SignatureError> {
    let candidate = base64_signature(header, common::required(headers, header)?)?;
    let secret_index = common::match_secrets(scheme, secrets, &[body], &[candidate])?;
    Ok(Verified {
        delivery_id: None,
        secret_index,
        timestamp: None,
    })
}

/// Header names of a Shopify-style scheme.
pub(super) struct ShopifyHeaders<'a> {
    pub signature: &'a str,
    pub id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
}

pub(super) fn verify_shopify<H: Headers + ?Sized>(
    scheme: &Scheme,
    names: ShopifyHeaders<'_>,
    secrets: &[Secret],
    headers: &H,
    body: &[u8],
    window: Window,
) -> Result<Verified, SignatureError> {
    let candidate = base64_signature(names.signature, common::required(headers, names.signature)?)?;
    let delivery_id = match names.id {
        Some(name) => common::optional(headers, name)?
            .map(|value| common::delivery_id(name, value))
            .transpose()?,
        None => None,
    };
    let timestamp = match names.timestamp {
        Some(name) => match common::optional(headers, name)? {
            Some(value) => Some(
                value
                    .parse::<jiff::Timestamp>()
                    .map_err(|_| common::malformed(name, "not an rfc 3339 timestamp"))?,
            ),
            None => None,
        },
        None => None,
    };
    // Not signed, so this only catches stale or misconfigured senders, not a forger; still
    // worth refusing what the partner itself marks as too old.
    if let Some(timestamp) = timestamp {
        window.check(timestamp)?;
    }
    let secret_index = common::match_secrets(scheme, secrets, &[body], &[candidate])?;
    Ok(Verified {
        delivery_id,
        secret_index,
        timestamp,
    })
}

fn base64_signature(header: &str, value: &str) -> Result<Tag, SignatureError> {
    common::decode_base64_tag(value)
        .ok_or_else(|| common::malformed(header, "expected a base64 hmac-sha256"))
}

pub(super) fn sign(key: &[u8], header: &str, body: &[u8]) -> Vec<(String, String)> {
    let signature = common::mac(key, &[body])
        .map(|tag| BASE64.encode(tag))
        .unwrap_or_default();
    vec![(header.to_owned(), signature)]
}
