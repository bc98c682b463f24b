//! Each partner's HTTP contract (`contract.md`): how to get a token, how to ask about tracking
//! numbers, how to read a WMS feed page, and which 404 means "no such number" rather than a
//! broken endpoint. Everything vendor-specific about the wire lives here.

use crate::config::ConnectorConfig;
use reqwest::header::{AUTHORIZATION, IF_NONE_MATCH};
use reqwest::{Client, RequestBuilder, StatusCode, Url};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::time::Duration;
use waypost_adapters::Source;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("base_url {base:?} cannot take the path {path:?}")]
    Url { base: String, path: String },
    #[error("token answer unreadable: {0}")]
    Token(String),
    #[error("feed page unreadable: {0}")]
    Page(String),
}

/// Whether requests carry an OAuth2 bearer token that must be fetched first.
pub fn uses_oauth(source: Source) -> bool {
    source.polled_with_oauth()
}

/// `base_url` with `segments` appended, each percent-encoded (a tracking number is data, not
/// a path).
fn url(cfg: &ConnectorConfig, segments: &[&str]) -> Result<Url, WireError> {
    let err = || WireError::Url {
        base: cfg.base_url.clone(),
        path: segments.join("/"),
    };
    let mut u = Url::parse(&cfg.base_url).map_err(|_| err())?;
    u.path_segments_mut()
        .map_err(|()| err())?
        .pop_if_empty()
        .extend(segments);
    Ok(u)
}

fn client_id(cfg: &ConnectorConfig) -> &str {
    cfg.credentials.client_id.as_deref().unwrap_or_default()
}

fn client_secret(cfg: &ConnectorConfig) -> &str {
    cfg.credentials
        .client_secret
        .as_ref()
        .map_or("", |s| s.expose())
}

fn api_key(cfg: &ConnectorConfig) -> &str {
    cfg.credentials.api_key.as_ref().map_or("", |s| s.expose())
}

/// The OAuth2 client-credentials request of the partner: UPS wants HTTP basic auth and a form,
/// FedEx the credentials in the form, USPS a JSON body.
pub fn token_request(http: &Client, cfg: &ConnectorConfig) -> Result<RequestBuilder, WireError> {
    Ok(match cfg.source {
        Source::Ups => http
            .post(url(cfg, &["security", "v1", "oauth", "token"])?)
            .basic_auth(client_id(cfg), Some(client_secret(cfg)))
            .form(&[("grant_type", "client_credentials")]),
        Source::Fedex => http.post(url(cfg, &["oauth", "token"])?).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id(cfg)),
            ("client_secret", client_secret(cfg)),
        ]),
        _ => http
            .post(url(cfg, &["oauth2", "v3", "token"])?)
            .json(&serde_json::json!({
                "grant_type": "client_credentials",
                "client_id": client_id(cfg),
                "client_secret": client_secret(cfg),
            })),
    })
}

/// A token answer: the token and its lifetime. UPS sends `expires_in` as a string of seconds,
/// the others as a number; both are read.
pub fn parse_token(body: &[u8]) -> Result<(String, Duration), WireError> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Secs {
        Number(u64),
        Text(String),
    }
    #[derive(Deserialize)]
    struct Answer {
        access_token: String,
        expires_in: Option<Secs>,
    }
    let a: Answer = serde_json::from_slice(body).map_err(|e| WireError::Token(format!("{e}")))?;
    if a.access_token.is_empty() {
        return Err(WireError::Token("access_token is empty".into()));
    }
    let secs = match a.expires_in {
        Some(Secs::Number(n)) => n,
        Some(Secs::Text(t)) => t
            .trim()
            .parse()
            .map_err(|_| WireError::Token(format!("expires_in {t:?} is not a number")))?,
        // No lifetime given: assume a short one rather than keep a token for ever.
        None => 300,
    };
    Ok((a.access_token, Duration::from_secs(secs)))
}

/// One tracking request for `numbers` (one number except FedEx, up to 30).
pub fn track_request(
    http: &Client,
    cfg: &ConnectorConfig,
    numbers: &[String],
    token: Option<&str>,
    trans_id: u64,
) -> Result<RequestBuilder, WireError> {
    let first = numbers.first().map_or("", String::as_str);
    let bearer = format!("Bearer {}", token.unwrap_or_default());
    Ok(match cfg.source {
        Source::Ups => http
            .get(url(cfg, &["api", "track", "v1", "details", first])?)
            .query(&[("locale", "en_US"), ("returnSignature", "false")])
            .header(AUTHORIZATION, bearer)
            .header("transId", format!("wp{trans_id:016x}"))
            .header("transactionSrc", "waypost"),
        Source::Fedex => {
            let info: Vec<_> = numbers
                .iter()
                .map(|n| serde_json::json!({"trackingNumberInfo": {"trackingNumber": n}}))
                .collect();
            http.post(url(cfg, &["track", "v1", "trackingnumbers"])?)
                .header(AUTHORIZATION, bearer)
                .json(&serde_json::json!({"includeDetailedScans": true, "trackingInfo": info}))
        }
        Source::Usps => http
            .get(url(cfg, &["tracking", "v3", "tracking", first])?)
            .query(&[("expand", "DETAIL")])
            .header(AUTHORIZATION, bearer),
        _ => http
            .get(url(cfg, &["track", "shipments"])?)
            .query(&[("trackingNumber", first)])
            .header("DHL-API-Key", api_key(cfg)),
    })
}

/// One page of the WMS changes feed after `cursor` (from the beginning without one).
pub fn feed_request(
    http: &Client,
    cfg: &ConnectorConfig,
    cursor: Option<&str>,
    etag: Option<&str>,
) -> Result<RequestBuilder, WireError> {
    let mut u = url(cfg, &["v1", "events"])?;
    {
        let mut q = u.query_pairs_mut();
        q.append_pair("limit", &cfg.page_limit.to_string());
        if let Some(c) = cursor {
            q.append_pair("after", c);
        }
    }
    let mut r = http
        .get(u)
        .header(AUTHORIZATION, format!("Bearer {}", api_key(cfg)));
    if let Some(tag) = etag {
        r = r.header(IF_NONE_MATCH, tag);
    }
    Ok(r)
}

/// A feed page with its events left as raw JSON: they go to the sink as the document, byte
/// for byte.
#[derive(Debug, Deserialize)]
pub struct Page {
    pub events: Box<RawValue>,
    pub next_cursor: String,
    #[serde(default)]
    pub has_more: bool,
}

impl Page {
    pub fn parse(body: &[u8]) -> Result<Self, WireError> {
        let p: Page = serde_json::from_slice(body).map_err(|e| WireError::Page(e.to_string()))?;
        if !p.events.get().trim_start().starts_with('[') {
            return Err(WireError::Page("events is not an array".into()));
        }
        Ok(p)
    }

    /// Whether the page holds no event (`[]`, with any spacing).
    pub fn is_empty(&self) -> bool {
        let inner = self.events.get().trim();
        inner
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .is_some_and(|s| s.trim().is_empty())
    }
}

/// A 404 that says "no such tracking number" in the partner's own words. Any other 404 (a
/// wrong base URL, a moved endpoint) is a partner error: it must not look healthy.
pub fn is_not_found(source: Source, status: StatusCode, body: &[u8]) -> bool {
    if status != StatusCode::NOT_FOUND {
        return false;
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return false;
    };
    match source {
        Source::Ups => v["response"]["errors"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["code"] == "TW0001")),
        Source::Usps => v["error"]["code"] == "404" || v["error"]["code"] == 404,
        Source::Dhl => v["status"] == 404,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;
    use waypost_domain::TenantId;

    fn cfg(source: Source, base: &str) -> ConnectorConfig {
        let mut c = ConnectorConfig::new(
            "x",
            TenantId::new("acme").expect("valid tenant"),
            source,
            base,
        );
        c.credentials.client_id = Some("acme-ups".into());
        c.credentials.client_secret = Some(Secret::new("s3"));
        c.credentials.api_key = Some(Secret::new("k"));
        c
    }

    #[test]
    fn urls_follow_the_contract() {
        let http = crate::runtime::http_client().expect("a client");
        let ups = cfg(Source::Ups, "http://127.0.0.1:1/ups/");
        let r = track_request(&http, &ups, &["1Z 9/9".into()], Some("t"), 7)
            .expect("builds")
            .build()
            .expect("a request");
        assert_eq!(
            r.url().as_str(),
            "http://127.0.0.1:1/ups/api/track/v1/details/1Z%209%2F9?locale=en_US&returnSignature=false"
        );
        assert_eq!(r.headers()["authorization"], "Bearer t");
        assert_eq!(r.headers()["transactionSrc"], "waypost");
        let dhl = cfg(Source::Dhl, "http://h/dhl");
        let r = track_request(&http, &dhl, &["JD1".into()], None, 0)
            .expect("builds")
            .build()
            .expect("a request");
        assert_eq!(
            r.url().as_str(),
            "http://h/dhl/track/shipments?trackingNumber=JD1"
        );
        assert_eq!(r.headers()["DHL-API-Key"], "k");
        let wms = cfg(Source::Wms, "http://h/wms");
        let r = feed_request(&http, &wms, Some("c 1"), Some("\"e\""))
            .expect("builds")
            .build()
            .expect("a request");
        assert_eq!(
            r.url().as_str(),
            "http://h/wms/v1/events?limit=500&after=c+1"
        );
        assert_eq!(r.headers()["if-none-match"], "\"e\"");
        let r = token_request(&http, &cfg(Source::Usps, "http://h/usps"))
            .expect("builds")
            .build()
            .expect("a request");
        assert_eq!(r.url().as_str(), "http://h/usps/oauth2/v3/token");
    }

    #[test]
    fn token_lifetimes_as_string_or_number() {
        let ups =
            br#"{"token_type":"Bearer","issued_at":"1","access_token":"a","expires_in":"14399"}"#;
        assert_eq!(
            parse_token(ups),
            Ok(("a".to_owned(), Duration::from_secs(14_399)))
        );
        let fedex =
            br#"{"access_token":"b","token_type":"bearer","expires_in":3599,"scope":"CXS"}"#;
        assert_eq!(
            parse_token(fedex),
            Ok(("b".to_owned(), Duration::from_secs(3_599)))
        );
        assert!(parse_token(br#"{"access_token":"c","expires_in":"soon"}"#).is_err());
        assert!(parse_token(b"<html>").is_err());
    }

    #[test]
    fn pages_keep_events_raw() {
        let p = Page::parse(br#"{"events":[{"event_id":"e1"}, {"event_id":"e2"}],"next_cursor":"c9","has_more":true}"#)
            .expect("a page");
        assert_eq!(p.events.get(), r#"[{"event_id":"e1"}, {"event_id":"e2"}]"#);
        assert!(p.has_more && !p.is_empty());
        let empty =
            Page::parse(br#"{"events":[ ],"next_cursor":"c9","has_more":false}"#).expect("a page");
        assert!(empty.is_empty());
        assert!(Page::parse(br#"{"events":{},"next_cursor":"c"}"#).is_err());
        assert!(Page::parse(br#"{"events":[{"event_id":"#).is_err());
    }

    #[test]
    fn only_the_partners_own_not_found_counts() {
        let nf = StatusCode::NOT_FOUND;
        let ups = br#"{"response":{"errors":[{"code":"TW0001","message":"Tracking Information Not Found"}]}}"#;
        assert!(is_not_found(Source::Ups, nf, ups));
        assert!(!is_not_found(Source::Ups, nf, b"Not Found"));
        let usps =
            br#"{"apiVersion":"v3","error":{"code":"404","message":"Tracking number not found"}}"#;
        assert!(is_not_found(Source::Usps, nf, usps));
        let dhl = br#"{"title":"No result found","status":404,"detail":"No shipment"}"#;
        assert!(is_not_found(Source::Dhl, nf, dhl));
        assert!(!is_not_found(Source::Dhl, StatusCode::OK, dhl));
        assert!(!is_not_found(Source::Wms, nf, dhl));
    }
}
