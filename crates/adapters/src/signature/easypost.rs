//! EasyPost: the body-only `X-Hmac-Signature` that EasyPost's client libraries verify, and the
//! timestamped `x-hmac-signature-v2` described in EasyPost's support article (see the module
//! docs for how far that article could be checked).

use jiff::Timestamp;
use jiff::fmt::rfc2822::{DateTimeParser, DateTimePrinter};

use super::common::{self, Tag, Window};
use super::{Headers, Scheme, Secret, SignatureError, Verified};

pub(super) const LEGACY_SIGNATURE: &str = "X-Hmac-Signature";
pub(super) const V2_SIGNATURE: &str = "x-hmac-signature-v2";
pub(super) const V2_TIMESTAMP: &str = "x-timestamp";
pub(super) const V2_PATH: &str = "x-path";
const PREFIX: &str = "hmac-sha256-hex=";
/// Webhooks are always POSTed; the v2 layout includes the method, so it is fixed here rather
/// than asked of the caller.
const METHOD: &[u8] = b"POST";

static RFC2822_PARSER: DateTimeParser = DateTimeParser::new();
static RFC2822_PRINTER: DateTimePrinter = DateTimePrinter::new();

pub(super) fn verify_legacy<H: Headers + ?Sized>(
    scheme: &Scheme,
    secrets: &[Secret],
    headers: &H,
    body: &[u8],
) -> Result<Verified, SignatureError> {
    let candidate = hex_signature(
        LEGACY_SIGNATURE,
        common::required(headers, LEGACY_SIGNATURE)?,
    )?;
    let secret_index = common::match_secrets(scheme, secrets, &[body], &[candidate])?;
    // The Event's own `id` is in the body: the caller takes it from there after parsing.
    Ok(Verified {
        delivery_id: None,
        secret_index,
        timestamp: None,
    })
}

pub(super) fn verify_v2<H: Headers + ?Sized>(
    scheme: &Scheme,
    expected_path: Option<&str>,
    secrets: &[Secret],
    headers: &H,
    body: &[u8],
    window: Window,
) -> Result<Verified, SignatureError> {
    let timestamp_text = common::required(headers, V2_TIMESTAMP)?;
    let timestamp = RFC2822_PARSER
        .parse_timestamp(timestamp_text)
        .map_err(|_| common::malformed(V2_TIMESTAMP, "not an rfc 2822 date-time"))?;
    let path = common::required(headers, V2_PATH)?;
    if expected_path.is_some_and(|expected| expected != path) {
        return Err(common::malformed(
            V2_PATH,
            "signed path is not this endpoint's path",
        ));
    }
    let candidate = hex_signature(V2_SIGNATURE, common::required(headers, V2_SIGNATURE)?)?;
    window.check(timestamp)?;
    let parts: [&[u8]; 4] = [timestamp_text.as_bytes(), METHOD, path.as_bytes(), body];
    let secret_index = common::match_secrets(scheme, secrets, &parts, &[candidate])?;
    Ok(Verified {
        delivery_id: None,
        secret_index,
        timestamp: Some(timestamp),
    })
}

/// `hmac-sha256-hex=<64 hex digits>`. The prefix is what EasyPost sends; it is accepted
/// missing too, because it carries no information and some relays strip it.
fn hex_signature(header: &str, value: &str) -> Result<Tag, SignatureError> {
    let digits = match value.get(..PREFIX.len()) {
        Some(start) if start.eq_ignore_ascii_case(PREFIX) => value.get(PREFIX.len()..),
        _ => Some(value),
    };
    digits
        .and_then(common::decode_hex_tag)
        .ok_or_else(|| common::malformed(header, "expected hmac-sha256-hex= and 64 hex digits"))
}

pub(super) fn sign_legacy(key: &[u8], body: &[u8]) -> Vec<(String, String)> {
    vec![(LEGACY_SIGNATURE.to_owned(), hex_value(key, &[body]))]
}

pub(super) fn sign_v2(
    key: &[u8],
    path: &str,
    body: &[u8],
    now: Timestamp,
) -> Result<Vec<(String, String)>, SignatureError> {
    // Only years before 0 cannot be written in RFC 2822; a clock there is a caller bug worth
    // an error rather than a bogus header.
    let timestamp = RFC2822_PRINTER
        .timestamp_to_string(&now)
        .map_err(|_| common::malformed(V2_TIMESTAMP, "time cannot be written in rfc 2822"))?;
    let signature = hex_value(key, &[timestamp.as_bytes(), METHOD, path.as_bytes(), body]);
    Ok(vec![
        (V2_TIMESTAMP.to_owned(), timestamp),
        (V2_PATH.to_owned(), path.to_owned()),
        (V2_SIGNATURE.to_owned(), signature),
    ])
}

fn hex_value(key: &[u8], parts: &[&[u8]]) -> String {
    common::mac(key, parts)
        .map(|tag| format!("{PREFIX}{}", hex::encode(tag)))
        .unwrap_or_default()
}
