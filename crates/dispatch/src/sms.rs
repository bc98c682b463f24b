//! SMS through an HTTP gateway: Twilio's Messages API (or anything speaking it), or a generic
//! templated request.
//!
//! The gateway is the operator's configuration, not a tenant's, so its URL is not put through
//! the SSRF policy (a gateway on the private network is legitimate); redirects are still never
//! followed. Every request carries `X-Waypost-Notification-Id` for the gateway's idempotency.
//!
//! Verdicts: 2xx delivered; 400, 404, 413 and 422 refused (the gateway refuses *this* message,
//! e.g. Twilio's 400 for an unroutable number); everything else, 401 and 403 included (our
//! credentials: an operator fixes them and the message still goes), is retried.

use std::fmt;
use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::{Method, Url};

use crate::attempt::{Attempt, Verdict, short};
use crate::email::percent_encode;
use crate::webhook::error_chain;

/// The header carrying our notification id.
pub const HEADER_NOTIFICATION_ID: &str = "X-Waypost-Notification-Id";

/// Most bytes of a failed response's body kept for the delivery log.
const ERROR_BODY_BYTES: usize = 512;

/// Which gateway, and how to talk to it (config `[notify.sms]`).
#[derive(Clone)]
pub enum SmsProvider {
    /// `POST {base_url}/2010-04-01/Accounts/{account_sid}/Messages.json`, form `To`, `From`,
    /// `Body`, basic auth `account_sid:auth_token`.
    Twilio {
        /// `https://api.twilio.com` for Twilio itself.
        base_url: String,
        account_sid: String,
        auth_token: String,
        from: String,
    },
    /// Any gateway: `url` and `body_template` may hold `{{to}}`, `{{from}}`, `{{body}}` and
    /// `{{id}}` (the notification id). In the body, values are JSON-escaped (without quotes:
    /// write `"{{to}}"`) when `content_type` is JSON, form-encoded otherwise; in the URL they
    /// are percent-encoded.
    Http {
        url: String,
        method: String,
        headers: Vec<(String, String)>,
        body_template: String,
        content_type: String,
        from: String,
    },
}

impl fmt::Debug for SmsProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SmsProvider::Twilio {
                base_url,
                account_sid,
                from,
                ..
            } => f
                .debug_struct("Twilio")
                .field("base_url", base_url)
                .field("account_sid", account_sid)
                .field("auth_token", &"***")
                .field("from", from)
                .finish(),
            SmsProvider::Http {
                url,
                method,
                content_type,
                from,
                headers,
                ..
            } => f
                .debug_struct("Http")
                .field("url", url)
                .field("method", method)
                // Header values often hold API keys.
                .field(
                    "headers",
                    &headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
                )
                .field("content_type", content_type)
                .field("from", from)
                .finish(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SmsConfig {
    pub provider: SmsProvider,
    /// Bound on the whole request.
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsError {
    #[error("cannot build the sms http client: {0}")]
    Client(String),
    #[error("invalid sms gateway url {url:?}: {why}")]
    Url { url: String, why: String },
    #[error("invalid sms gateway method {0:?}")]
    Method(String),
    #[error("invalid sms gateway header {name:?}: {why}")]
    Header { name: String, why: String },
    #[error("sms template {field}: unknown placeholder {{{{{name}}}}} (known: to, from, body, id)")]
    Placeholder { field: &'static str, name: String },
    #[error("sms template {field}: unclosed {{{{")]
    Unclosed { field: &'static str },
    #[error("{to:?} is not an E.164 phone number (+ and 8 to 15 digits, the first not 0)")]
    Phone { to: String },
}

/// One SMS to send, rendered already.
#[derive(Debug, Clone, Copy)]
pub struct SmsMessage<'a> {
    pub to: &'a str,
    pub body: &'a str,
    /// The notification id.
    pub msg_id: &'a str,
    /// What it tells of, also sent as headers (`X-Waypost-Tenant`, `X-Waypost-Order`,
    /// `X-Waypost-Transition`, `X-Waypost-Trigger`) so a gateway can log and deduplicate.
    pub tenant: &'a str,
    pub order_id: &'a str,
    pub transition: u64,
    pub trigger: &'a str,
}

#[derive(Clone)]
pub struct SmsSender {
    client: reqwest::Client,
    config: SmsConfig,
}

impl SmsSender {
    /// Checks the configuration (URL, method, headers, template placeholders) once, here.
    pub fn new(config: SmsConfig) -> Result<SmsSender, SmsError> {
        match &config.provider {
            SmsProvider::Twilio { base_url, .. } => {
                parse_url(base_url)?;
            }
            SmsProvider::Http {
                url,
                method,
                headers,
                body_template,
                ..
            } => {
                scan(url, "url", |_| String::new())?;
                scan(body_template, "body_template", |_| String::new())?;
                let sample = scan(url, "url", |_| "x".to_owned())?;
                parse_url(&sample).map_err(|_| SmsError::Url {
                    url: url.clone(),
                    why: "not an http(s) url".to_owned(),
                })?;
                parse_method(method)?;
                for (name, value) in headers {
                    header(name, value)?;
                }
            }
        }
        let builder = reqwest::Client::builder()
            .user_agent(concat!("Waypost/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none());
        #[cfg(feature = "tls")]
        let builder = builder
            .tls_backend_preconfigured(crate::tls::client_config().map_err(SmsError::Client)?);
        let client = builder
            .build()
            .map_err(|e| SmsError::Client(error_chain(&e)))?;
        Ok(SmsSender { client, config })
    }

    /// One attempt. Never fails: what went wrong is in the [`Attempt`].
    pub async fn send(&self, msg: &SmsMessage<'_>) -> Attempt {
        let started = Instant::now();
        if !is_e164(msg.to) {
            return Attempt::refused(SmsError::Phone {
                to: msg.to.to_owned(),
            });
        }
        let request = match self.request(msg) {
            Ok(r) => r,
            Err(e) => return Attempt::refused(e),
        };
        let request = request
            .timeout(self.config.timeout)
            .header(HEADER_NOTIFICATION_ID, msg.msg_id)
            .header("X-Waypost-Tenant", msg.tenant)
            .header("X-Waypost-Order", msg.order_id)
            .header("X-Waypost-Transition", msg.transition.to_string())
            .header("X-Waypost-Trigger", msg.trigger);
        match request.send().await {
            Ok(response) => judge(response, started).await,
            Err(e) if e.is_timeout() => Attempt::retry(
                None,
                started.elapsed(),
                format!("timed out after {} ms", self.config.timeout.as_millis()),
            ),
            Err(e) => Attempt::retry(None, started.elapsed(), error_chain(&e)),
        }
    }

    fn request(&self, msg: &SmsMessage<'_>) -> Result<reqwest::RequestBuilder, SmsError> {
        match &self.config.provider {
            SmsProvider::Twilio {
                base_url,
                account_sid,
                auth_token,
                from,
            } => {
                let url = format!(
                    "{}/2010-04-01/Accounts/{}/Messages.json",
                    base_url.trim_end_matches('/'),
                    percent_encode(account_sid)
                );
                Ok(self
                    .client
                    .post(parse_url(&url)?)
                    .basic_auth(account_sid, Some(auth_token))
                    .form(&[("To", msg.to), ("From", from), ("Body", msg.body)]))
            }
            SmsProvider::Http {
                url,
                method,
                headers,
                body_template,
                content_type,
                from,
            } => {
                let values = Values { msg, from };
                let url = scan(url, "url", |name| percent_encode(values.get(name)))?;
                let json = is_json(content_type);
                let body = scan(body_template, "body_template", |name| {
                    let value = values.get(name);
                    if json {
                        json_escape(value)
                    } else {
                        percent_encode(value)
                    }
                })?;
                let mut builder = self
                    .client
                    .request(parse_method(method)?, parse_url(&url)?)
                    .header(CONTENT_TYPE, content_type.as_str())
                    .body(body);
                for (name, value) in headers {
                    let (name, value) = header(name, value)?;
                    builder = builder.header(name, value);
                }
                Ok(builder)
            }
        }
    }
}

struct Values<'a> {
    msg: &'a SmsMessage<'a>,
    from: &'a str,
}

impl Values<'_> {
    fn get(&self, name: &str) -> &str {
        match name {
            "to" => self.msg.to,
            "from" => self.from,
            "body" => self.msg.body,
            "id" => self.msg.msg_id,
            _ => "",
        }
    }
}

/// `+`, then 8 to 15 digits, the first not `0` (E.164's shape, not its number plan).
pub fn is_e164(text: &str) -> bool {
    let Some(digits) = text.strip_prefix('+') else {
        return false;
    };
    (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// The one place templates are rendered: replaces every `{{ name }}` with `value(name)`,
/// refusing unknown names and an unclosed `{{`. Swappable for minijinja without touching
/// callers.
pub fn scan(
    template: &str,
    field: &'static str,
    mut value: impl FnMut(&str) -> String,
) -> Result<String, SmsError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or(SmsError::Unclosed { field })?;
        let name = after[..close].trim();
        if !matches!(name, "to" | "from" | "body" | "id") {
            return Err(SmsError::Placeholder {
                field,
                name: name.to_owned(),
            });
        }
        out.push_str(&value(name));
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
        || essence.to_ascii_lowercase().ends_with("+json")
}

/// The JSON string literal of `value` without its quotes.
fn json_escape(value: &str) -> String {
    let quoted = serde_json::Value::String(value.to_owned()).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}

fn parse_url(text: &str) -> Result<Url, SmsError> {
    let url = Url::parse(text).map_err(|e| SmsError::Url {
        url: text.to_owned(),
        why: e.to_string(),
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(SmsError::Url {
            url: text.to_owned(),
            why: "scheme must be http or https".to_owned(),
        });
    }
    Ok(url)
}

fn parse_method(text: &str) -> Result<Method, SmsError> {
    Method::from_bytes(text.to_ascii_uppercase().as_bytes())
        .map_err(|_| SmsError::Method(text.to_owned()))
}

fn header(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), SmsError> {
    let err = |why: String| SmsError::Header {
        name: name.to_owned(),
        why,
    };
    let n = HeaderName::from_bytes(name.as_bytes()).map_err(|e| err(e.to_string()))?;
    let v = HeaderValue::from_str(value).map_err(|e| err(e.to_string()))?;
    Ok((n, v))
}

/// 2xx delivered; 400, 404, 413, 422 refused; anything else retried.
pub fn verdict_of(status: u16) -> Verdict {
    match status {
        200..=299 => Verdict::Delivered,
        400 | 404 | 413 | 422 => Verdict::Refused,
        _ => Verdict::Retry,
    }
}

async fn judge(mut response: reqwest::Response, started: Instant) -> Attempt {
    let code = response.status().as_u16();
    let verdict = verdict_of(code);
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let error = if verdict == Verdict::Delivered {
        None
    } else {
        let mut bytes = Vec::new();
        while bytes.len() < ERROR_BODY_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
                _ => break,
            }
        }
        bytes.truncate(ERROR_BODY_BYTES);
        Some(short(&format!(
            "http {code}: {}",
            String::from_utf8_lossy(&bytes)
        )))
    };
    Attempt {
        verdict,
        code: Some(code),
        latency: started.elapsed(),
        retry_after,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164() {
        for ok in [
            "+14155552671",
            "+4915112345678",
            "+12345678",
            "+123456789012345",
        ] {
            assert!(is_e164(ok), "{ok}");
        }
        for bad in [
            "14155552671",
            "+0415555267",
            "+1234567",
            "+1234567890123456",
            "+1 415 555 2671",
            "+",
            "",
        ] {
            assert!(!is_e164(bad), "{bad}");
        }
    }

    #[test]
    fn templates() {
        let out = scan("a {{to}} b {{ body }}", "t", |n| n.to_uppercase()).expect("render");
        assert_eq!(out, "a TO b BODY");
        assert_eq!(
            scan("{{nope}}", "body_template", |_| String::new()),
            Err(SmsError::Placeholder {
                field: "body_template",
                name: "nope".to_owned()
            })
        );
        assert!(matches!(
            scan("x {{to", "url", |_| String::new()),
            Err(SmsError::Unclosed { field: "url" })
        ));
        assert_eq!(json_escape("a\"b\\\n"), "a\\\"b\\\\\\n");
        assert!(is_json("application/json; charset=utf-8"));
        assert!(is_json("application/vnd.api+json"));
        assert!(!is_json("application/x-www-form-urlencoded"));
    }

    #[test]
    fn config_errors_name_the_field() {
        let http = |url: &str, body: &str, method: &str| SmsConfig {
            provider: SmsProvider::Http {
                url: url.to_owned(),
                method: method.to_owned(),
                headers: vec![],
                body_template: body.to_owned(),
                content_type: "application/json".to_owned(),
                from: "W".to_owned(),
            },
            timeout: Duration::from_secs(1),
        };
        assert!(matches!(
            SmsSender::new(http("http://x.test/{{bad}}", "", "POST")).err(),
            Some(SmsError::Placeholder { field: "url", .. })
        ));
        assert!(matches!(
            SmsSender::new(http("ftp://x.test/", "", "POST")).err(),
            Some(SmsError::Url { .. })
        ));
        assert!(matches!(
            SmsSender::new(http("http://x.test/", "", "PO ST")).err(),
            Some(SmsError::Method(_))
        ));
        assert!(
            SmsSender::new(http(
                "http://x.test/?to={{to}}",
                "{\"b\":\"{{body}}\"}",
                "put"
            ))
            .is_ok()
        );
    }

    #[test]
    fn verdicts() {
        assert_eq!(verdict_of(201), Verdict::Delivered);
        assert_eq!(verdict_of(400), Verdict::Refused);
        assert_eq!(verdict_of(401), Verdict::Retry);
        assert_eq!(verdict_of(429), Verdict::Retry);
        assert_eq!(verdict_of(503), Verdict::Retry);
    }

    #[test]
    fn token_never_prints() {
        let p = SmsProvider::Twilio {
            base_url: "https://api.twilio.com".to_owned(),
            account_sid: "AC1".to_owned(),
            auth_token: "sekrit".to_owned(),
            from: "+15005550006".to_owned(),
        };
        assert!(!format!("{p:?}").contains("sekrit"));
    }
}
