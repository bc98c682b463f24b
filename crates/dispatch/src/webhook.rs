//! Webhooks: a signed JSON POST (Standard Webhooks) to a tenant's URL.
//!
//! **Invariants:** redirects are never followed (a 3xx is a failed attempt: following it would
//! let a receiver send us, signed, anywhere); every address connected to passed the
//! [`AddressCheck`] (names through [`CheckedResolver`], IP literals through [`ssrf::check_url`]);
//! proxies from the environment are ignored, since a proxy would make the check see the
//! proxy's address instead of the receiver's.

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use reqwest::Url;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use waypost_adapters::signature::{self, Scheme, Secret, SignatureError};

use crate::attempt::{Attempt, Verdict, short};
use crate::ssrf::{self, AddressCheck, CheckedResolver};

/// Most bytes of a failed response's body kept for the delivery log.
const ERROR_BODY_BYTES: usize = 512;

/// The header names of Standard Webhooks.
pub const HEADER_ID: &str = "webhook-id";
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
pub const HEADER_SIGNATURE: &str = "webhook-signature";

/// A webhook that cannot be sent as asked, or a client that cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("cannot build the webhook http client: {0}")]
    Client(String),
    #[error("invalid webhook url {url:?}: {why}")]
    Url { url: String, why: String },
    #[error("webhook {msg_id} has no signing secret")]
    NoSecrets { msg_id: String },
    #[error("webhook secret {index} cannot sign: {source}")]
    Secret {
        index: usize,
        source: SignatureError,
    },
    #[error(transparent)]
    Refused(#[from] ssrf::Refused),
}

/// One webhook to send.
#[derive(Debug, Clone, Copy)]
pub struct WebhookRequest<'a> {
    pub url: &'a str,
    /// The notification id: `webhook-id`, the receiver's idempotency key.
    pub msg_id: &'a str,
    /// Every active secret signs (one `v1,` entry each), so a receiver can rotate.
    pub secrets: &'a [Secret],
    /// The JSON envelope, sent byte for byte as signed.
    pub body: &'a [u8],
    /// `webhook-timestamp`: real time, when the attempt is made.
    pub timestamp: Timestamp,
    /// Bound on the whole attempt: connect, send, response and its body.
    pub timeout: Duration,
}

/// Sends webhooks. Cheap to clone; connections are pooled per host.
#[derive(Clone)]
pub struct WebhookSender {
    client: reqwest::Client,
    check: AddressCheck,
}

impl WebhookSender {
    /// A sender whose every connection passes `check`.
    pub fn new(check: AddressCheck) -> Result<WebhookSender, WebhookError> {
        let client = http_client(check.clone())?;
        Ok(WebhookSender { client, check })
    }

    /// One attempt. Never fails: what went wrong is in the [`Attempt`].
    pub async fn send(&self, req: &WebhookRequest<'_>) -> Attempt {
        let started = Instant::now();
        let prepared = match self.prepare(req) {
            Ok(p) => p,
            Err(e) => return Attempt::refused(e),
        };
        let (url, headers) = prepared;
        let mut builder = self
            .client
            .post(url)
            .timeout(req.timeout)
            .header(CONTENT_TYPE, "application/json")
            .body(req.body.to_vec());
        for (name, value) in headers {
            builder = builder.header(name, value);
        }
        match builder.send().await {
            Ok(response) => judge(response, started).await,
            Err(e) => failed(&e, req.timeout, started.elapsed()),
        }
    }

    fn prepare(
        &self,
        req: &WebhookRequest<'_>,
    ) -> Result<(Url, Vec<(String, String)>), WebhookError> {
        let url = parse_url(req.url)?;
        ssrf::check_url(&url, &self.check)?;
        let headers = signature_headers(req.msg_id, req.secrets, req.body, req.timestamp)?;
        Ok((url, headers))
    }
}

/// An `http` or `https` URL with a host and no credentials.
pub fn parse_url(text: &str) -> Result<Url, WebhookError> {
    let bad = |why: &str| WebhookError::Url {
        url: text.to_owned(),
        why: why.to_owned(),
    };
    let url = Url::parse(text).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("scheme must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("credentials in the url are not allowed"));
    }
    Ok(url)
}

/// The three Standard Webhooks headers for `body`: `webhook-signature` holds one
/// `v1,<base64>` entry per secret, space separated, all over the same id and timestamp.
pub fn signature_headers(
    msg_id: &str,
    secrets: &[Secret],
    body: &[u8],
    timestamp: Timestamp,
) -> Result<Vec<(String, String)>, WebhookError> {
    if secrets.is_empty() {
        return Err(WebhookError::NoSecrets {
            msg_id: msg_id.to_owned(),
        });
    }
    let mut signatures = Vec::with_capacity(secrets.len());
    let mut rest = Vec::new();
    for (index, secret) in secrets.iter().enumerate() {
        let headers = signature::sign(&Scheme::StandardWebhooks, secret, msg_id, body, timestamp)
            .map_err(|source| WebhookError::Secret { index, source })?;
        for (name, value) in headers {
            if name == HEADER_SIGNATURE {
                signatures.push(value);
            } else if index == 0 {
                rest.push((name, value));
            }
        }
    }
    rest.push((HEADER_SIGNATURE.to_owned(), signatures.join(" ")));
    Ok(rest)
}

fn http_client(check: AddressCheck) -> Result<reqwest::Client, WebhookError> {
    let builder = reqwest::Client::builder()
        .user_agent(concat!("Waypost/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(Arc::new(CheckedResolver::new(check)))
        .pool_idle_timeout(Duration::from_secs(60));
    #[cfg(feature = "tls")]
    let builder = builder
        .tls_backend_preconfigured(crate::tls::client_config().map_err(WebhookError::Client)?);
    builder
        .build()
        .map_err(|e| WebhookError::Client(error_chain(&e)))
}

/// Classifies an HTTP answer: 2xx delivered, 410 gone, anything else retried.
pub fn verdict_of(status: u16) -> Verdict {
    match status {
        200..=299 => Verdict::Delivered,
        410 => Verdict::Gone,
        _ => Verdict::Retry,
    }
}

async fn judge(mut response: reqwest::Response, started: Instant) -> Attempt {
    let status = response.status();
    let code = status.as_u16();
    let verdict = verdict_of(code);
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let error = if verdict == Verdict::Delivered {
        None
    } else if status.is_redirection() {
        let to = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("?");
        Some(short(&format!(
            "http {code}: redirect to {to} not followed"
        )))
    } else {
        let body = body_prefix(&mut response).await;
        Some(short(&format!("http {code}: {body}")))
    };
    Attempt {
        verdict,
        code: Some(code),
        latency: started.elapsed(),
        retry_after,
        error,
    }
}

/// The start of a failed response's body, for the log; read errors end it quietly.
async fn body_prefix(response: &mut reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < ERROR_BODY_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    bytes.truncate(ERROR_BODY_BYTES);
    String::from_utf8_lossy(&bytes).into_owned()
}

fn failed(e: &reqwest::Error, timeout: Duration, latency: Duration) -> Attempt {
    if let Some(refused) = ssrf::refusal_in(e) {
        return Attempt::refused(refused).with_latency(latency);
    }
    let why = if e.is_timeout() {
        format!("timed out after {} ms", timeout.as_millis())
    } else if e.is_connect() {
        format!("connect: {}", error_chain(e))
    } else {
        error_chain(e)
    };
    Attempt::retry(None, latency, why)
}

/// reqwest's own message is terse ("error sending request"); the cause is in the chain.
pub(crate) fn error_chain(e: &(dyn StdError + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(inner) = cur {
        let text = inner.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        cur = inner.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(parse_url("https://example.com/hook").is_ok());
        for bad in [
            "ftp://example.com/",
            "not a url",
            "https://user:pw@example.com/",
            "file:///etc/passwd",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn verdicts() {
        assert_eq!(verdict_of(200), Verdict::Delivered);
        assert_eq!(verdict_of(204), Verdict::Delivered);
        assert_eq!(verdict_of(410), Verdict::Gone);
        for code in [301, 302, 400, 404, 429, 500, 503] {
            assert_eq!(verdict_of(code), Verdict::Retry, "{code}");
        }
    }

    #[test]
    fn one_signature_per_secret() {
        let a = Secret::from_config("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("secret");
        let b = Secret::from_config("whsec_c2Vjb25kIHNlY3JldA==").expect("secret");
        let ts: Timestamp = "2026-01-01T00:00:00Z".parse().expect("ts");
        let headers = signature_headers("msg_1", &[a, b], b"{}", ts).expect("signed");
        let get = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
                .expect("header")
        };
        assert_eq!(get(HEADER_ID), "msg_1");
        assert_eq!(get(HEADER_TIMESTAMP), ts.as_second().to_string());
        let sig = get(HEADER_SIGNATURE);
        let entries: Vec<&str> = sig.split(' ').collect();
        assert_eq!(entries.len(), 2);
        assert!(entries.iter().all(|e| e.starts_with("v1,")));
        assert_ne!(entries[0], entries[1]);
        assert_eq!(headers.len(), 3);
    }

    #[test]
    fn no_secret_and_bad_secret_are_errors() {
        let ts = Timestamp::UNIX_EPOCH;
        assert!(matches!(
            signature_headers("m", &[], b"", ts),
            Err(WebhookError::NoSecrets { .. })
        ));
        let bad = Secret::from_config("whsec_!!!").expect("secret");
        assert!(matches!(
            signature_headers("m", &[bad], b"", ts),
            Err(WebhookError::Secret { index: 0, .. })
        ));
    }
}
