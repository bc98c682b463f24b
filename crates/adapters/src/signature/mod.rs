//! Webhook signature schemes: is this POST really from the partner it claims to be from?
//!
//! Pure functions only: the caller passes the headers, the raw body exactly as received, the
//! tenant's active secrets and the current time. Nothing here touches the network, the clock or
//! the replay store; [`verify`] returns the delivery id (when the scheme signs one) and the
//! timestamp so the caller can do replay detection itself.
//!
//! # Schemes and where they are documented
//!
//! | config name         | variant                    | signature header          | signed bytes                                 | encoding |
//! |---------------------|----------------------------|---------------------------|----------------------------------------------|----------|
//! | `standard-webhooks` | [`Scheme::StandardWebhooks`] | `webhook-signature`     | `{webhook-id}.{webhook-timestamp}.{body}`    | base64, `v1,` entries |
//! | `easypost`          | [`Scheme::EasyPost`]       | `X-Hmac-Signature`        | `{body}`                                     | `hmac-sha256-hex=` + hex |
//! | `easypost-v2`       | [`Scheme::EasyPostV2`]     | `x-hmac-signature-v2`     | `{x-timestamp}POST{x-path}{body}`            | `hmac-sha256-hex=` + hex |
//! | `aftership`         | [`Scheme::AfterShip`]      | `aftership-hmac-sha256`   | `{body}`                                     | base64 |
//! | `shopify`           | [`Scheme::Shopify`]        | `X-Shopify-Hmac-Sha256`   | `{body}`                                     | base64 |
//! | `shippo`            | [`Scheme::Shippo`]         | `Shippo-Auth-Signature`   | `{t}.{body}`                                 | `t=…,v1=` + hex |
//!
//! All of them are HMAC-SHA256. Sources (read for this module; no code or test vectors copied):
//!
//! - **Standard Webhooks**: the specification at <https://www.standardwebhooks.com/> (headers
//!   `webhook-id`, `webhook-timestamp` in unix seconds, `webhook-signature` holding
//!   space-separated `v1,<base64>` entries; secrets serialized as `whsec_<base64>`; a tolerance
//!   on the timestamp, five minutes in the reference libraries).
//! - **EasyPost**: "Webhooks" API reference and "Webhooks Guide" on docs.easypost.com (HMAC with
//!   the `webhook_secret`, sent in `X-Hmac-Signature`), and the `validate_webhook()` helper of
//!   EasyPost's official client libraries, which is what the docs point to: the secret is NFKD
//!   normalized and UTF-8 encoded, the digest is hex behind `hmac-sha256-hex=`. EasyPost's
//!   support article "Webhook HMAC Validation" (support.easypost.com, article 39826034964237)
//!   describes a newer, timestamped variant: headers `x-timestamp` (RFC 2822, e.g.
//!   `Tue, 19 Aug 2025 20:37:09 -0000`), `x-path` (the request path, part of the signature) and
//!   `x-hmac-signature-v2`, with a tolerance window against replays. The stored copy of that
//!   article we could read stops before the byte layout; the layout implemented here
//!   (timestamp, method, path and body concatenated without separators, hex digest) is the one
//!   independent integrations use. That is why it is a separate, opt-in variant: confirm it
//!   against a real delivery before switching a tenant to `easypost-v2`.
//! - **AfterShip**: "Webhook Signature" in the AfterShip Tracking docs
//!   (aftership.com/docs/tracking/webhook/webhook-signature): header `aftership-hmac-sha256`,
//!   base64 HMAC-SHA256 of the body with the account's webhook secret. AfterShip Returns and
//!   Warranty send the same digest under `as-signature-hmac-sha256`: configure
//!   `Scheme::AfterShip { header }` for those. (Returns organizations created before
//!   2022-10-25 use `am-webhook-signature: hmac-sha256=…`, not supported here.)
//! - **Shopify**: "Verify webhook deliveries" on shopify.dev
//!   (/docs/apps/build/webhooks/verify-deliveries): base64 HMAC-SHA256 of the raw body in
//!   `X-Shopify-Hmac-SHA256`, keyed with the app's client secret; duplicates are detected with
//!   `X-Shopify-Webhook-Id`. `X-Shopify-Triggered-At` (RFC 3339) is used for the tolerance when
//!   present.
//! - **Shippo**: "Webhook security" on docs.goshippo.com (/docs/tracking/webhooksecurity) offers
//!   three protections: an IP allowlist, a self-generated token in the webhook URL, and HMAC,
//!   which is not self-service (Shippo enables it per account on request). With HMAC enabled,
//!   deliveries carry `Shippo-Auth-Signature: t=<unix seconds>,v1=<hex>` over `{t}.{body}`;
//!   the stored docs page cuts off inside the HMAC section, so that layout is corroborated by
//!   several independent integrations rather than read from Shippo's page. Tenants without
//!   Shippo HMAC must rely on the URL token (or basic auth), which the integrator checks
//!   outside this module.
//!
//! # What is and is not authenticated
//!
//! Only the bytes listed under "signed bytes" are protected. In particular the Shopify delivery
//! id and `X-Shopify-Triggered-At`, and EasyPost's legacy scheme as a whole, carry no signed
//! timestamp: a captured delivery can be replayed with fresh unsigned headers, so the replay
//! store must key EasyPost and AfterShip deliveries on the id inside the (verified) body, and
//! treat Shopify's id as a dedup key for honest retries, not as replay protection.
//!
//! # Delivery ids
//!
//! [`Verified::delivery_id`] is `webhook-id` for Standard Webhooks and the configured id header
//! for Shopify. EasyPost, AfterShip and Shippo put the event id inside the body (`id` of the
//! EasyPost Event, for instance), so they return `None` and the caller uses the body's id after
//! parsing the verified body.

mod body_hmac;
mod common;
mod easypost;
mod headers;
mod secret;
mod shippo;
mod standard;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_common;
#[cfg(test)]
mod tests_prop;

use core::fmt;
use core::str::FromStr;

use jiff::{SignedDuration, Timestamp};

pub use headers::Headers;
pub use secret::{MAX_SECRET_BYTES, Secret, SecretError};

/// Most signatures parsed from one header; more is refused as malformed, so a hostile header
/// cannot make us decode and compare without bound (real senders send one, two while rotating).
pub const MAX_SIGNATURES: usize = 8;
/// Longest header value read; anything longer is malformed. Real values are under 600 bytes.
pub const MAX_HEADER_BYTES: usize = 2048;
/// Longest delivery id accepted, since it becomes a key in the replay store.
pub const MAX_DELIVERY_ID_BYTES: usize = 256;
/// Most secrets tried for one delivery: rotation needs two or three; every extra secret costs
/// one pass of HMAC over the body.
pub const MAX_SECRETS: usize = 8;
/// The replay window of Standard Webhooks' reference libraries, also used for Shippo and
/// EasyPost v2.
pub const DEFAULT_TOLERANCE: SignedDuration = SignedDuration::from_mins(5);

/// How a partner signs its webhooks. Each variant cites its source in the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    /// Standard Webhooks 1.0: `webhook-id`, `webhook-timestamp`, `webhook-signature`.
    StandardWebhooks,
    /// EasyPost as its client libraries verify it: `X-Hmac-Signature: hmac-sha256-hex=<hex>`
    /// over the body. No timestamp is signed.
    EasyPost,
    /// EasyPost's timestamped variant (`x-timestamp`, `x-path`, `x-hmac-signature-v2`).
    /// `path`, when set, must equal `x-path`, which binds a delivery to the route that received
    /// it (`/v1/webhooks/easypost`); [`sign`] uses it as `x-path` (default `/`).
    EasyPostV2 { path: Option<String> },
    /// AfterShip: base64 HMAC of the body in `header` (Tracking: `aftership-hmac-sha256`).
    AfterShip { header: String },
    /// Shopify-style: base64 HMAC of the body in `header`; optional unsigned delivery-id and
    /// RFC 3339 timestamp headers.
    Shopify {
        header: String,
        id_header: Option<String>,
        timestamp_header: Option<String>,
    },
    /// Shippo with HMAC enabled: `Shippo-Auth-Signature: t=<secs>,v1=<hex>` over `{t}.{body}`.
    Shippo,
}

impl Scheme {
    /// AfterShip Tracking's header.
    pub fn aftership() -> Scheme {
        Scheme::AfterShip {
            header: "aftership-hmac-sha256".to_owned(),
        }
    }

    /// Shopify's own header names.
    pub fn shopify() -> Scheme {
        Scheme::Shopify {
            header: "X-Shopify-Hmac-Sha256".to_owned(),
            id_header: Some("X-Shopify-Webhook-Id".to_owned()),
            timestamp_header: Some("X-Shopify-Triggered-At".to_owned()),
        }
    }

    /// The config name (inverse of [`FromStr`] for the default form of each scheme).
    pub fn name(&self) -> &'static str {
        match self {
            Scheme::StandardWebhooks => "standard-webhooks",
            Scheme::EasyPost => "easypost",
            Scheme::EasyPostV2 { .. } => "easypost-v2",
            Scheme::AfterShip { .. } => "aftership",
            Scheme::Shopify { .. } => "shopify",
            Scheme::Shippo => "shippo",
        }
    }

    /// A tolerance suited to the scheme. Five minutes, except Shopify: `X-Shopify-Triggered-At`
    /// is when the event happened and Shopify retries for four hours, so a five-minute window
    /// would refuse every retry. Schemes without a timestamp ignore the tolerance.
    pub fn default_tolerance(&self) -> SignedDuration {
        match self {
            Scheme::Shopify { .. } => SignedDuration::from_hours(5),
            _ => DEFAULT_TOLERANCE,
        }
    }

    /// Checks at configuration time that `secret` can key this scheme (a `whsec_` secret must
    /// be valid base64; EasyPost secrets must be ASCII), so a bad secret is found before the
    /// first delivery fails.
    pub fn validate_secret(&self, secret: &Secret) -> Result<(), SignatureError> {
        common::derive_key(self, secret)
            .map(|_| ())
            .map_err(|why| SignatureError::InvalidSecret { index: 0, why })
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A config name that is not a known scheme.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown signature scheme {0:?}: expected one of standard-webhooks, easypost, easypost-v2, aftership, shopify, shippo"
)]
pub struct UnknownScheme(pub String);

impl FromStr for Scheme {
    type Err = UnknownScheme;

    fn from_str(s: &str) -> Result<Scheme, UnknownScheme> {
        match s.trim().to_ascii_lowercase().as_str() {
            "standard-webhooks" => Ok(Scheme::StandardWebhooks),
            "easypost" => Ok(Scheme::EasyPost),
            "easypost-v2" => Ok(Scheme::EasyPostV2 { path: None }),
            "aftership" => Ok(Scheme::aftership()),
            "shopify" => Ok(Scheme::shopify()),
            "shippo" => Ok(Scheme::Shippo),
            _ => Err(UnknownScheme(s.to_owned())),
        }
    }
}

/// A delivery that passed verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The partner's id for this delivery, when the scheme carries one in a header (see the
    /// module docs); `None` means "use the id inside the body".
    pub delivery_id: Option<String>,
    /// Which of the configured secrets matched, so operators can see when the old one stops
    /// being used during a rotation.
    pub secret_index: usize,
    /// The sender's timestamp, when the scheme carries one (it was checked against the
    /// tolerance).
    pub timestamp: Option<Timestamp>,
}

/// Why a delivery was refused. Every message is safe to log: it names headers and static
/// reasons, never secret material, expected MACs or header values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing header {name}")]
    MissingHeader { name: String },
    #[error("malformed header {header}: {why}")]
    Malformed { header: String, why: &'static str },
    #[error("timestamp {timestamp} is outside the tolerance around now ({now})")]
    TimestampOutOfTolerance {
        timestamp: Timestamp,
        now: Timestamp,
    },
    #[error("signature does not match any configured secret")]
    Mismatch,
    #[error("no webhook secret configured")]
    NoSecrets,
    #[error("{count} webhook secrets configured, at most {max} are tried")]
    TooManySecrets { count: usize, max: usize },
    /// A configured secret cannot key this scheme. Only reported when no other secret matched.
    #[error("webhook secret {index} is unusable: {why}")]
    InvalidSecret { index: usize, why: &'static str },
}

/// The configuration's part of every check: at least one secret, and not so many that one
/// request could make us compute more MACs than a rotation needs.
fn check_secrets(secrets: &[Secret]) -> Result<(), SignatureError> {
    if secrets.is_empty() {
        return Err(SignatureError::NoSecrets);
    }
    if secrets.len() > MAX_SECRETS {
        return Err(SignatureError::TooManySecrets {
            count: secrets.len(),
            max: MAX_SECRETS,
        });
    }
    Ok(())
}

/// Verifies one delivery against the tenant's active secrets (any may match: rotation without
/// downtime). `body` must be the raw bytes as received; `tolerance` bounds the distance between
/// the sender's timestamp and `now` in both directions (see [`Scheme::default_tolerance`]).
pub fn verify<H: Headers + ?Sized>(
    scheme: &Scheme,
    secrets: &[Secret],
    headers: &H,
    body: &[u8],
    now: Timestamp,
    tolerance: SignedDuration,
) -> Result<Verified, SignatureError> {
    // Configuration problems first: they are the same for every request.
    check_secrets(secrets)?;
    let window = common::Window { now, tolerance };
    match scheme {
        Scheme::StandardWebhooks => standard::verify(secrets, headers, body, window),
        Scheme::EasyPost => easypost::verify_legacy(scheme, secrets, headers, body),
        Scheme::EasyPostV2 { path } => {
            easypost::verify_v2(scheme, path.as_deref(), secrets, headers, body, window)
        }
        Scheme::AfterShip { header } => body_hmac::verify(scheme, header, secrets, headers, body),
        Scheme::Shopify {
            header,
            id_header,
            timestamp_header,
        } => body_hmac::verify_shopify(
            scheme,
            body_hmac::ShopifyHeaders {
                signature: header,
                id: id_header.as_deref(),
                timestamp: timestamp_header.as_deref(),
            },
            secrets,
            headers,
            body,
            window,
        ),
        Scheme::Shippo => shippo::verify(secrets, headers, body, window),
    }
}

/// The headers a delivery must carry for `scheme` to be verifiable at all. The server checks
/// them ([`precheck`]) before it reads a body, so a request that cannot be a signed delivery
/// costs no body buffer.
pub fn required_headers(scheme: &Scheme) -> Vec<&str> {
    match scheme {
        Scheme::StandardWebhooks => vec![standard::ID, standard::TIMESTAMP, standard::SIGNATURE],
        Scheme::EasyPost => vec![easypost::LEGACY_SIGNATURE],
        Scheme::EasyPostV2 { .. } => {
            vec![
                easypost::V2_TIMESTAMP,
                easypost::V2_PATH,
                easypost::V2_SIGNATURE,
            ]
        }
        Scheme::AfterShip { header } => vec![header.as_str()],
        Scheme::Shopify { header, .. } => vec![header.as_str()],
        Scheme::Shippo => vec![shippo::SIGNATURE],
    }
}

/// What [`verify`] would refuse without looking at the body: no secrets (or too many), or a
/// required header missing or over-long. `Ok` means only that the delivery is worth reading.
pub fn precheck<H: Headers + ?Sized>(
    scheme: &Scheme,
    secrets: &[Secret],
    headers: &H,
) -> Result<(), SignatureError> {
    check_secrets(secrets)?;
    for name in required_headers(scheme) {
        common::required(headers, name)?;
    }
    Ok(())
}

/// The headers a sender adds for `body`: used by tests and by our own outbound notifications
/// (Standard Webhooks). `id` is the delivery id where the scheme sends one (Standard Webhooks,
/// Shopify) and is ignored otherwise.
pub fn sign(
    scheme: &Scheme,
    secret: &Secret,
    id: &str,
    body: &[u8],
    now: Timestamp,
) -> Result<Vec<(String, String)>, SignatureError> {
    let key = common::derive_key(scheme, secret)
        .map_err(|why| SignatureError::InvalidSecret { index: 0, why })?;
    let headers = match scheme {
        Scheme::StandardWebhooks => standard::sign(&key, id, body, now),
        Scheme::EasyPost => easypost::sign_legacy(&key, body),
        Scheme::EasyPostV2 { path } => {
            easypost::sign_v2(&key, path.as_deref().unwrap_or("/"), body, now)?
        }
        Scheme::AfterShip { header } => body_hmac::sign(&key, header, body),
        Scheme::Shopify {
            header,
            id_header,
            timestamp_header,
        } => {
            let mut out = body_hmac::sign(&key, header, body);
            if let Some(name) = id_header {
                out.push((name.clone(), id.to_owned()));
            }
            if let Some(name) = timestamp_header {
                out.push((name.clone(), now.to_string()));
            }
            out
        }
        Scheme::Shippo => shippo::sign(&key, body, now),
    };
    Ok(headers)
}
