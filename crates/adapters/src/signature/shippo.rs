//! Shippo with HMAC enabled: `Shippo-Auth-Signature: t=<unix seconds>,v1=<hex>` over
//! `{t}.{body}`.

use jiff::Timestamp;

use super::common::{self, Tag, Window};
use super::{Headers, Scheme, Secret, SignatureError, Verified};

pub(super) const SIGNATURE: &str = "Shippo-Auth-Signature";

pub(super) fn verify<H: Headers + ?Sized>(
    secrets: &[Secret],
    headers: &H,
    body: &[u8],
    window: Window,
) -> Result<Verified, SignatureError> {
    let (timestamp_text, candidates) = parse(common::required(headers, SIGNATURE)?)?;
    let timestamp = common::unix_seconds(SIGNATURE, timestamp_text)?;
    window.check(timestamp)?;
    let parts: [&[u8]; 3] = [timestamp_text.as_bytes(), b".", body];
    let secret_index = common::match_secrets(&Scheme::Shippo, secrets, &parts, &candidates)?;
    Ok(Verified {
        delivery_id: None,
        secret_index,
        timestamp: Some(timestamp),
    })
}

/// `t` exactly once and at least one decodable `v1`; other keys are skipped so a future
/// version can be added alongside.
fn parse(value: &str) -> Result<(&str, Vec<Tag>), SignatureError> {
    let fields: Vec<&str> = value.split(',').collect();
    // One `t` plus the signatures.
    common::check_count(SIGNATURE, fields.len().saturating_sub(1))?;
    let mut timestamp = None;
    let mut tags = Vec::new();
    for field in fields {
        let Some((key, field_value)) = field.trim().split_once('=') else {
            return Err(common::malformed(SIGNATURE, "field without key=value"));
        };
        match key {
            "t" if timestamp.is_none() => timestamp = Some(field_value),
            "t" => return Err(common::malformed(SIGNATURE, "more than one t field")),
            "v1" => tags.extend(common::decode_hex_tag(field_value)),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or_else(|| common::malformed(SIGNATURE, "no t field"))?;
    if tags.is_empty() {
        return Err(common::malformed(
            SIGNATURE,
            "no v1 field holding a hex hmac-sha256",
        ));
    }
    Ok((timestamp, tags))
}

pub(super) fn sign(key: &[u8], body: &[u8], now: Timestamp) -> Vec<(String, String)> {
    let timestamp = now.as_second().to_string();
    let value = common::mac(key, &[timestamp.as_bytes(), b".", body])
        .map(|tag| format!("t={timestamp},v1={}", hex::encode(tag)))
        .unwrap_or_default();
    vec![(SIGNATURE.to_owned(), value)]
}
