//! Webhook signatures: Shopify (`X-Shopify-Hmac-Sha256`) and WooCommerce
//! (`X-WC-Webhook-Signature`) both send base64 of HMAC-SHA256 over the raw body bytes, keyed
//! with a shared secret. The check is over the bytes as received: re-serialising the JSON
//! first would change them and fail good deliveries.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Whether `header_b64` is the base64 HMAC-SHA256 of `body` under `secret`. A header that is
/// not base64 or not 32 bytes is simply not valid. The comparison is constant-time
/// (`Mac::verify_slice`), so a forger learns nothing from timing.
pub fn hmac_sha256_b64(body: &[u8], secret: &[u8], header_b64: &str) -> bool {
    let Ok(given) = STANDARD.decode(header_b64.trim().as_bytes()) else {
        return false;
    };
    // Any key length is accepted by HMAC; new_from_slice only fails for fixed-key MACs.
    let Ok(mut mac) = HmacSha256::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// The base64 HMAC-SHA256 of `body` under `secret`: what a channel would send. For tests
/// and for tools that replay deliveries.
pub fn sign_b64(body: &[u8], secret: &[u8]) -> String {
    match HmacSha256::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(body);
            STANDARD.encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// Shopify's `X-Shopify-Hmac-Sha256` over the raw body, keyed with the app's client secret
/// (or the key shown in the admin for a store-made webhook).
pub fn shopify_verify(body: &[u8], secret: &[u8], header_b64: &str) -> bool {
    hmac_sha256_b64(body, secret, header_b64)
}

/// WooCommerce's `X-WC-Webhook-Signature`: `base64_encode(hash_hmac('sha256', $body,
/// $secret, true))`, the same scheme. A site may switch the algorithm with a filter; that is
/// a configuration error, and it shows here as a signature that never verifies.
pub fn woocommerce_verify(body: &[u8], secret: &[u8], header_b64: &str) -> bool {
    hmac_sha256_b64(body, secret, header_b64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_vector_verifies() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let body = b"what do ya want for nothing?";
        let want_hex = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        let want = STANDARD.encode(hex::decode(want_hex).unwrap_or_default());
        assert_eq!(sign_b64(body, b"Jefe"), want);
        assert!(shopify_verify(body, b"Jefe", &want));
        assert!(woocommerce_verify(body, b"Jefe", &format!(" {want}\n")));
    }

    #[test]
    fn a_changed_body_key_or_header_fails() {
        let sig = sign_b64(b"{\"id\":1}", b"secret");
        assert!(!shopify_verify(b"{\"id\":2}", b"secret", &sig));
        assert!(!shopify_verify(b"{\"id\":1}", b"secret2", &sig));
        assert!(!shopify_verify(b"{\"id\":1}", b"secret", "not base64!"));
        assert!(!shopify_verify(b"{\"id\":1}", b"secret", ""));
        assert!(!shopify_verify(b"{\"id\":1}", b"secret", &sig[..20]));
    }
}
