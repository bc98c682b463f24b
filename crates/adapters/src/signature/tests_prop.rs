//! Property tests: whatever the body and secret, what a scheme signs it accepts, and any single
//! flipped bit in the body is refused.

use base64::Engine as _;
use jiff::Timestamp;
use proptest::prelude::*;

use super::*;

const T0: i64 = 1_718_000_000;

fn schemes() -> Vec<Scheme> {
    vec![
        Scheme::StandardWebhooks,
        Scheme::EasyPost,
        Scheme::EasyPostV2 {
            path: Some("/v1/webhooks/easypost".to_owned()),
        },
        Scheme::aftership(),
        Scheme::shopify(),
        Scheme::Shippo,
    ]
}

/// A secret each scheme accepts: printable ASCII text, or for Standard Webhooks the `whsec_`
/// form of random key bytes half of the time.
fn make_secret(scheme: &Scheme, text: &str, key: &[u8], whsec: bool) -> Option<Secret> {
    let configured = match scheme {
        Scheme::StandardWebhooks if whsec => format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(key)
        ),
        _ => text.to_owned(),
    };
    Secret::from_config(&configured).ok()
}

fn run(
    scheme: &Scheme,
    secret: &Secret,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Verified, SignatureError> {
    let now = Timestamp::from_second(T0).map_err(|_| SignatureError::NoSecrets)?;
    verify(
        scheme,
        std::slice::from_ref(secret),
        headers,
        body,
        now,
        scheme.default_tolerance(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn sign_then_verify_round_trips(
        which in 0usize..6,
        body in proptest::collection::vec(any::<u8>(), 0..512),
        text in "[!-~]{1,64}",
        key in proptest::collection::vec(any::<u8>(), 1..64),
        whsec in any::<bool>(),
        id in "[A-Za-z0-9_-]{1,40}",
        skew in -300i64..=300,
    ) {
        let scheme = &schemes()[which];
        let secret = make_secret(scheme, &text, &key, whsec);
        prop_assume!(secret.is_some());
        let secret = secret.unwrap_or_else(|| unreachable!());
        let when = Timestamp::from_second(T0 + skew).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let headers = sign(scheme, &secret, &id, &body, when)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let verified = run(scheme, &secret, &headers, &body);
        prop_assert!(verified.is_ok(), "{}: {:?}", scheme, verified);
        if let Ok(v) = verified {
            match scheme {
                Scheme::StandardWebhooks | Scheme::Shopify { .. } => {
                    prop_assert_eq!(v.delivery_id.as_deref(), Some(id.as_str()));
                }
                _ => prop_assert_eq!(v.delivery_id, None),
            }
        }
    }

    #[test]
    fn any_single_bit_flip_in_the_body_is_refused(
        which in 0usize..6,
        body in proptest::collection::vec(any::<u8>(), 1..512),
        text in "[!-~]{1,64}",
        position in any::<proptest::sample::Index>(),
        bit in 0u8..8,
    ) {
        let scheme = &schemes()[which];
        let secret = make_secret(scheme, &text, b"unused", false);
        prop_assume!(secret.is_some());
        let secret = secret.unwrap_or_else(|| unreachable!());
        let when = Timestamp::from_second(T0).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let headers = sign(scheme, &secret, "delivery", &body, when)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut flipped = body.clone();
        let i = position.index(flipped.len());
        if let Some(byte) = flipped.get_mut(i) {
            *byte ^= 1 << bit;
        }
        prop_assert_eq!(run(scheme, &secret, &headers, &flipped), Err(SignatureError::Mismatch));
    }

    /// Arbitrary header values never panic and never verify.
    #[test]
    fn garbage_headers_are_refused_without_panicking(
        which in 0usize..6,
        values in proptest::collection::vec("\\PC{0,80}", 4),
        body in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let scheme = &schemes()[which];
        let names = [
            "webhook-id", "webhook-timestamp", "webhook-signature", "X-Hmac-Signature",
            "x-timestamp", "x-path", "x-hmac-signature-v2", "aftership-hmac-sha256",
            "X-Shopify-Hmac-Sha256", "X-Shopify-Webhook-Id", "X-Shopify-Triggered-At",
            "Shippo-Auth-Signature",
        ];
        let headers: Vec<(String, String)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| ((*n).to_owned(), values[i % values.len()].clone()))
            .collect();
        let secret = Secret::from_config("garbage-test-secret").map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(run(scheme, &secret, &headers, &body).is_err());
    }
}
