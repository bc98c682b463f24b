//! Who may read `/metrics`. The scrape names sources, alert counts and, when the operator asks
//! for it, tenants: it is the operator's, not any tenant's, so no API key (a tenant's) opens
//! it. Two ways in, either enough:
//!
//! - the metrics token (`[metrics] token_file`) as `Authorization: Bearer <token>`;
//! - a client address in the allow-list (`[metrics] allow`, loopback by default, so a
//!   Prometheus on the same host scrapes out of the box). The address is the real client's
//!   ([`ClientAddr`]: a trusted proxy's forwarding header is honoured). A request that carries
//!   a forwarding header from a peer that is *not* a trusted proxy came through a proxy we were
//!   not told about (a local nginx, say): its peer address is the proxy's, loopback most
//!   likely, and says nothing of the client, so the allow-list does not apply to it.
//!
//! Credentials that are sent and wrong are refused even from an allowed address, as everywhere
//! else: a scraper with a stale token should fail loudly, not pass by luck of where it runs.

use crate::client_addr::ClientAddr;
use crate::problem::Problem;
use crate::webhooks::IpNet;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use sha2::{Digest, Sha256};

/// Headers through which a proxy says whom it forwards for.
const FORWARDING_HEADERS: [&str; 3] = ["x-forwarded-for", "forwarded", "x-real-ip"];

/// The `/metrics` access policy and rendering choice.
#[derive(Clone)]
pub struct MetricsAccess {
    /// SHA-256 of the token: the token itself is not kept, so it cannot be printed.
    token_hash: Option<[u8; 32]>,
    allow: Vec<IpNet>,
    /// Label alert gauges with the tenant (`[metrics] tenant_labels`); otherwise they are
    /// summed over tenants.
    pub tenant_labels: bool,
}

impl std::fmt::Debug for MetricsAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsAccess")
            .field("token", &self.token_hash.map(|_| "<set>"))
            .field("allow", &self.allow)
            .field("tenant_labels", &self.tenant_labels)
            .finish()
    }
}

impl Default for MetricsAccess {
    /// Loopback only, no token, no tenant labels.
    fn default() -> Self {
        MetricsAccess::new(None, loopback(), false)
    }
}

/// `127.0.0.0/8` and `::1`: the default allow-list.
pub fn loopback() -> Vec<IpNet> {
    ["127.0.0.0/8", "::1/128"]
        .iter()
        .filter_map(|n| n.parse().ok())
        .collect()
}

impl MetricsAccess {
    /// `token`: the bearer token that opens `/metrics` from anywhere, if any.
    pub fn new(token: Option<&str>, allow: Vec<IpNet>, tenant_labels: bool) -> Self {
        MetricsAccess {
            token_hash: token.map(|t| Sha256::digest(t.as_bytes()).into()),
            allow,
            tenant_labels,
        }
    }

    /// Allows the request or says, as a 401 problem, what would let it in.
    pub fn check(
        &self,
        client: ClientAddr,
        peer_is_trusted_proxy: bool,
        headers: &HeaderMap,
    ) -> Result<(), Problem> {
        if let Some(value) = headers.get(AUTHORIZATION) {
            let sent = value
                .to_str()
                .ok()
                .and_then(|v| {
                    v.strip_prefix("Bearer ")
                        .or_else(|| v.strip_prefix("bearer "))
                })
                .map(str::trim);
            return match (sent, &self.token_hash) {
                (Some(t), Some(want)) => {
                    let got: [u8; 32] = Sha256::digest(t.as_bytes()).into();
                    if crate::auth::session::constant_time_eq(&got, want) {
                        Ok(())
                    } else {
                        Err(Problem::unauthorized(
                            "that is not the metrics token ([metrics] token_file)",
                        ))
                    }
                }
                (None, _) => Err(Problem::unauthorized(
                    "the Authorization header must be `Bearer <metrics token>`",
                )),
                (Some(_), None) => Err(Problem::unauthorized(
                    "this server has no metrics token ([metrics] token_file); API keys do not open /metrics",
                )),
            };
        }
        let proxied_unknown =
            !peer_is_trusted_proxy && FORWARDING_HEADERS.iter().any(|h| headers.contains_key(*h));
        if !proxied_unknown
            && let Some(ip) = client.ip()
            && self.allow.iter().any(|n| n.contains(ip))
        {
            return Ok(());
        }
        let why = match client.ip() {
            _ if proxied_unknown => {
                "the request came through a proxy that is not in [proxy] trusted".to_string()
            }
            Some(ip) => format!("{ip} is not in [metrics] allow"),
            None => "the client's address is unknown".to_string(),
        };
        Err(Problem::unauthorized(format!(
            "/metrics needs the metrics token as `Authorization: Bearer <token>` \
             ([metrics] token_file) or a client address in [metrics] allow; {why}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use std::net::IpAddr;

    fn ip(s: &str) -> ClientAddr {
        ClientAddr(Some(
            s.parse::<IpAddr>().unwrap_or_else(|e| panic!("{s}: {e}")),
        ))
    }

    fn with(name: &'static str, value: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_static(value));
        h
    }

    #[test]
    fn loopback_is_in_by_default_and_nothing_else() {
        let a = MetricsAccess::default();
        assert!(a.check(ip("127.0.0.1"), false, &HeaderMap::new()).is_ok());
        assert!(a.check(ip("::1"), false, &HeaderMap::new()).is_ok());
        assert!(
            a.check(ip("::ffff:127.0.0.1"), false, &HeaderMap::new())
                .is_ok()
        );
        let e = a
            .check(ip("192.0.2.7"), false, &HeaderMap::new())
            .err()
            .map(|p| p.detail)
            .unwrap_or_default();
        assert!(e.contains("192.0.2.7 is not in [metrics] allow"), "{e}");
        assert!(a.check(ClientAddr(None), false, &HeaderMap::new()).is_err());
    }

    #[test]
    fn a_forwarded_request_from_an_untrusted_peer_is_not_local() {
        let a = MetricsAccess::default();
        for h in FORWARDING_HEADERS {
            let e = a
                .check(ip("127.0.0.1"), false, &with(h, "192.0.2.7"))
                .err()
                .map(|p| p.detail)
                .unwrap_or_default();
            assert!(e.contains("not in [proxy] trusted"), "{h}: {e}");
        }
        // A trusted proxy's client address is what the allow-list is held against.
        assert!(
            a.check(ip("127.0.0.1"), true, &with("x-forwarded-for", "127.0.0.1"))
                .is_ok()
        );
        assert!(
            a.check(ip("192.0.2.7"), true, &with("x-forwarded-for", "192.0.2.7"))
                .is_err()
        );
    }

    #[test]
    fn the_token_opens_from_anywhere_and_a_wrong_one_nowhere() {
        let a = MetricsAccess::new(Some("s3cret-token-of-the-operator"), loopback(), false);
        let bearer = |v: &'static str| with("authorization", v);
        assert!(
            a.check(
                ip("192.0.2.7"),
                false,
                &bearer("Bearer s3cret-token-of-the-operator")
            )
            .is_ok()
        );
        assert!(
            a.check(ip("192.0.2.7"), false, &bearer("Bearer wrong"))
                .is_err()
        );
        assert!(
            a.check(ip("127.0.0.1"), false, &bearer("Bearer wrong"))
                .is_err()
        );
        assert!(
            a.check(ip("127.0.0.1"), false, &bearer("Basic eDp5"))
                .is_err()
        );
        let none = MetricsAccess::default();
        let e = none
            .check(ip("127.0.0.1"), false, &bearer("Bearer wp_someapikey"))
            .err()
            .map(|p| p.detail)
            .unwrap_or_default();
        assert!(e.contains("no metrics token"), "{e}");
        assert!(!format!("{a:?}").contains("s3cret"));
    }

    #[test]
    fn an_empty_allow_list_needs_the_token() {
        let a = MetricsAccess::new(None, Vec::new(), false);
        assert!(a.check(ip("127.0.0.1"), false, &HeaderMap::new()).is_err());
    }
}
