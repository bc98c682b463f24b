//! Standard Webhooks (standardwebhooks.com): `{id}.{timestamp}.{body}` signed with HMAC-SHA256,
//! sent as space-separated `v1,<base64>` entries.

use base64::Engine as _;
use jiff::Timestamp;

use super::common::{self, BASE64, Tag, Window};
use super::{Headers, Scheme, Secret, SignatureError, Verified};

pub(super) const ID: &str = "webhook-id";
pub(super) const TIMESTAMP: &str = "webhook-timestamp";
pub(super) const SIGNATURE: &str = "webhook-signature";

pub(super) fn verify<H: Headers + ?Sized>(
    secrets: &[Secret],
    headers: &H,
    body: &[u8],
    window: Window,
) -> Result<Verified, SignatureError> {
    let id = common::required(headers, ID)?;
    let delivery_id = common::delivery_id(ID, id)?;
    let timestamp_text = common::required(headers, TIMESTAMP)?;
    let timestamp = common::unix_seconds(TIMESTAMP, timestamp_text)?;
    let candidates = signatures(common::required(headers, SIGNATURE)?)?;
    // The window is checked before any HMAC work: a stale replay costs us nothing.
    window.check(timestamp)?;
    // The id and timestamp are signed exactly as sent, so they are used as received, not
    // re-rendered from the parsed values.
    let parts: [&[u8]; 5] = [id.as_bytes(), b".", timestamp_text.as_bytes(), b".", body];
    let secret_index =
        common::match_secrets(&Scheme::StandardWebhooks, secrets, &parts, &candidates)?;
    Ok(Verified {
        delivery_id: Some(delivery_id),
        secret_index,
        timestamp: Some(timestamp),
    })
}

/// The `v1` signatures of the header. Entries of other versions (`v1a` is the spec's asymmetric
/// one) are skipped so a sender can add them without breaking us; an undecodable `v1` entry is
/// skipped too, as long as another one remains.
fn signatures(value: &str) -> Result<Vec<Tag>, SignatureError> {
    let entries: Vec<&str> = value.split_ascii_whitespace().collect();
    common::check_count(SIGNATURE, entries.len())?;
    let tags: Vec<Tag> = entries
        .iter()
        .filter_map(|entry| entry.split_once(','))
        .filter(|(version, _)| *version == "v1")
        .filter_map(|(_, signature)| common::decode_base64_tag(signature))
        .collect();
    if tags.is_empty() {
        return Err(common::malformed(
            SIGNATURE,
            "no v1 entry holding a base64 hmac-sha256",
        ));
    }
    Ok(tags)
}

pub(super) fn sign(key: &[u8], id: &str, body: &[u8], now: Timestamp) -> Vec<(String, String)> {
    let timestamp = now.as_second().to_string();
    let parts: [&[u8]; 5] = [id.as_bytes(), b".", timestamp.as_bytes(), b".", body];
    let signature = common::mac(key, &parts)
        .map(|tag| format!("v1,{}", BASE64.encode(tag)))
        .unwrap_or_default();
    vec![
        (ID.to_owned(), id.to_owned()),
        (TIMESTAMP.to_owned(), timestamp),
        (SIGNATURE.to_owned(), signature),
    ]
}
