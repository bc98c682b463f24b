//! Pieces every scheme shares: key derivation, the HMAC, the constant-time search over secrets
//! and candidate signatures, header reading and the timestamp window.

use std::borrow::Cow;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::{
    Headers, MAX_DELIVERY_ID_BYTES, MAX_HEADER_BYTES, MAX_SIGNATURES, Scheme, Secret,
    SignatureError,
};

pub(super) const MAC_LEN: usize = 32;
pub(super) type Tag = [u8; MAC_LEN];

/// Standard base64 that accepts values with or without `=` padding: senders differ, and the
/// padding carries no information.
pub(super) const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The time a delivery is judged against.
#[derive(Debug, Clone, Copy)]
pub(super) struct Window {
    pub now: Timestamp,
    pub tolerance: SignedDuration,
}

impl Window {
    /// Both directions: a timestamp too far in the future is as suspicious as a stale one.
    pub fn check(&self, timestamp: Timestamp) -> Result<(), SignatureError> {
        // A negative tolerance is a configuration slip; treating it as zero keeps the check
        // meaningful instead of refusing everything or panicking in `abs`.
        let tolerance = if self.tolerance.is_negative() {
            SignedDuration::ZERO
        } else {
            self.tolerance
        };
        // Both timestamps are within jiff's range (about ±10,000 years), so the difference is
        // far from `SignedDuration::MIN` and `abs` cannot panic.
        if self.now.duration_since(timestamp).abs() > tolerance {
            return Err(SignatureError::TimestampOutOfTolerance {
                timestamp,
                now: self.now,
            });
        }
        Ok(())
    }
}

/// The HMAC key a secret gives under `scheme`. The same configured text means different bytes
/// to different senders, so the derivation belongs to the scheme, not to [`Secret`].
pub(super) fn derive_key<'s>(
    scheme: &Scheme,
    secret: &'s Secret,
) -> Result<Cow<'s, [u8]>, &'static str> {
    let raw = secret.expose();
    match scheme {
        Scheme::StandardWebhooks => match raw.strip_prefix(b"whsec_") {
            Some(encoded) => match BASE64.decode(encoded) {
                Ok(key) if !key.is_empty() => Ok(Cow::Owned(key)),
                Ok(_) => Err("whsec_ secret decodes to an empty key"),
                Err(_) => Err("whsec_ secret is not valid base64"),
            },
            None => Ok(Cow::Borrowed(raw)),
        },
        Scheme::EasyPost | Scheme::EasyPostV2 { .. } => {
            // EasyPost's libraries key the HMAC with NFKD(secret) as UTF-8. NFKD leaves ASCII
            // unchanged, so ASCII secrets are exact; anything else would need Unicode tables
            // this crate does not carry, and guessing would fail every delivery silently.
            if raw.is_ascii() {
                Ok(Cow::Borrowed(raw))
            } else {
                Err("easypost secret is not ascii (nfkd normalization is not supported)")
            }
        }
        Scheme::AfterShip { .. } | Scheme::Shopify { .. } | Scheme::Shippo => {
            Ok(Cow::Borrowed(raw))
        }
    }
}

/// HMAC-SHA256 over the concatenation of `parts` (fed piecewise, so the body is never copied).
pub(super) fn mac(key: &[u8], parts: &[&[u8]]) -> Option<Tag> {
    // HMAC takes keys of any length, so this never fails; the Option only keeps us panic-free.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).ok()?;
    for part in parts {
        mac.update(part);
    }
    Some(mac.finalize().into_bytes().into())
}

/// Finds the first secret whose MAC over `parts` equals one of `candidates`. Each comparison is
/// constant-time over the whole tag; stopping at a match reveals only which secret matched.
pub(super) fn match_secrets(
    scheme: &Scheme,
    secrets: &[Secret],
    parts: &[&[u8]],
    candidates: &[Tag],
) -> Result<usize, SignatureError> {
    let mut unusable: Option<(usize, &'static str)> = None;
    for (index, secret) in secrets.iter().enumerate() {
        let key = match derive_key(scheme, secret) {
            Ok(key) => key,
            Err(why) => {
                unusable.get_or_insert((index, why));
                continue;
            }
        };
        let Some(expected) = mac(&key, parts) else {
            unusable.get_or_insert((index, "secret cannot key hmac-sha256"));
            continue;
        };
        let mut found = subtle::Choice::from(0u8);
        for candidate in candidates {
            found |= expected.ct_eq(candidate);
        }
        if bool::from(found) {
            return Ok(index);
        }
    }
    // A broken secret is an operator problem worth naming, but only when nothing matched:
    // during a rotation the good secret must keep working.
    match unusable {
        Some((index, why)) => Err(SignatureError::InvalidSecret { index, why }),
        None => Err(SignatureError::Mismatch),
    }
}

pub(super) fn malformed(header: &str, why: &'static str) -> SignatureError {
    SignatureError::Malformed {
        header: header.to_owned(),
        why,
    }
}

/// A header that must be present: trimmed (HTTP field values carry no meaningful surrounding
/// whitespace), non-empty and within [`MAX_HEADER_BYTES`].
pub(super) fn required<'h, H: Headers + ?Sized>(
    headers: &'h H,
    name: &str,
) -> Result<&'h str, SignatureError> {
    optional(headers, name)?.ok_or_else(|| SignatureError::MissingHeader {
        name: name.to_owned(),
    })
}

/// Like [`required`], for headers a scheme can do without.
pub(super) fn optional<'h, H: Headers + ?Sized>(
    headers: &'h H,
    name: &str,
) -> Result<Option<&'h str>, SignatureError> {
    let Some(value) = headers.get(name) else {
        return Ok(None);
    };
    if value.len() > MAX_HEADER_BYTES {
        return Err(malformed(name, "value is too long"));
    }
    let value = value.trim_matches(|c: char| c == ' ' || c == '\t');
    if value.is_empty() {
        return Err(malformed(name, "value is empty"));
    }
    Ok(Some(value))
}

/// A delivery id fit for the replay store and for logs: bounded, visible ASCII only.
pub(super) fn delivery_id(header: &str, value: &str) -> Result<String, SignatureError> {
    if value.len() > MAX_DELIVERY_ID_BYTES {
        return Err(malformed(header, "delivery id is too long"));
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(malformed(
            header,
            "delivery id has characters other than visible ascii",
        ));
    }
    Ok(value.to_owned())
}

/// Unix seconds as the schemes send them: plain decimal digits, no sign.
pub(super) fn unix_seconds(header: &str, value: &str) -> Result<Timestamp, SignatureError> {
    // Twelve digits reach past the year 30000, beyond jiff's range, so longer is never valid.
    if value.is_empty() || value.len() > 12 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed(header, "timestamp is not unix seconds"));
    }
    let seconds: i64 = value
        .parse()
        .map_err(|_| malformed(header, "timestamp is not unix seconds"))?;
    Timestamp::from_second(seconds).map_err(|_| malformed(header, "timestamp is out of range"))
}

/// A base64 signature; `None` when it is not base64 of exactly one SHA-256 tag.
pub(super) fn decode_base64_tag(value: &str) -> Option<Tag> {
    // 32 bytes are 44 base64 characters; anything much longer is not worth decoding.
    if value.len() > 64 {
        return None;
    }
    BASE64.decode(value).ok()?.try_into().ok()
}

/// A hex signature; `None` when it is not hex of exactly one SHA-256 tag.
pub(super) fn decode_hex_tag(value: &str) -> Option<Tag> {
    let mut tag = [0u8; MAC_LEN];
    hex::decode_to_slice(value, &mut tag).ok()?;
    Some(tag)
}

/// Refuses more than [`MAX_SIGNATURES`] entries before any decoding happens.
pub(super) fn check_count(header: &str, count: usize) -> Result<(), SignatureError> {
    if count > MAX_SIGNATURES {
        return Err(malformed(header, "more signatures than the 8 accepted"));
    }
    Ok(())
}
