//! The client's real address. Behind a reverse proxy (the documented way to serve TLS in front
//! of plain HTTP) every connection comes from the proxy, so limits keyed by address would
//! treat all users as one. A proxy the operator lists as trusted appends the address it saw
//! to `X-Forwarded-For` (or `Forwarded`, whichever is configured): the header is walked right
//! to left, skipping trusted proxies, and the first address that is not one is the client.
//!
//! Everything left of that is whatever the client wrote, so it is never used; and the header
//! of a peer that is not a trusted proxy is ignored altogether (anyone can send one). Only the
//! configured header is read: a proxy that sets one passes the other through as the client
//! sent it.

use crate::AppState;
use crate::webhooks::IpNet;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

/// Which header trusted proxies record the client in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2`.
    #[default]
    XForwardedFor,
    /// RFC 7239: `Forwarded: for=client, for="[2001:db8::1]:4711"`.
    Forwarded,
}

/// The proxies whose word on the client's address is taken.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    pub nets: Vec<IpNet>,
    pub header: ForwardedHeader,
}

impl TrustedProxies {
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(ip))
    }

    /// The client's address, given the connection's `peer` and the request's headers.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let name = match self.header {
            ForwardedHeader::XForwardedFor => "x-forwarded-for",
            ForwardedHeader::Forwarded => "forwarded",
        };
        // Several header lines are one list, in order.
        let hops: Vec<&str> = headers
            .get_all(name)
            .iter()
            .flat_map(|v| v.to_str().unwrap_or("").split(','))
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            let parsed = match self.header {
                ForwardedHeader::XForwardedFor => parse_node(hop),
                ForwardedHeader::Forwarded => forwarded_for(hop).and_then(parse_node),
            };
            // A hop that is not an address (`unknown`, an obfuscated name, garbage) ends the
            // walk: what lies left of it cannot be vouched for, so the last proxy that spoke
            // is the client as far as we know.
            let Some(ip) = parsed else {
                return client;
            };
            client = ip;
            if !self.trusts(ip) {
                return ip;
            }
        }
        client
    }
}

/// The `for=` value of one `Forwarded` element (`for=x;proto=https;by=y`).
fn forwarded_for(element: &str) -> Option<&str> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("for")
            .then_some(value.trim())
    })
}

/// An address as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`,
/// `[2001:db8::1]:4711`, any of them in quotes.
fn parse_node(s: &str) -> Option<IpAddr> {
    let s = s.trim().trim_matches('"');
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some(sa.ip());
    }
    s.strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|ip| ip.parse().ok())
}

/// The client's address (see the module's notes), `None` when the server did not record the
/// connection's peer (an in-process test).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl ClientAddr {
    pub fn ip(&self) -> Option<IpAddr> {
        self.0
    }
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(a)| a.ip());
        Ok(ClientAddr(
            peer.map(|p| state.proxies.client(p, &parts.headers)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn proxies(nets: &[&str], header: ForwardedHeader) -> TrustedProxies {
        TrustedProxies {
            nets: nets
                .iter()
                .map(|n| n.parse().unwrap_or_else(|e| panic!("{e}")))
                .collect(),
            header,
        }
    }

    fn headers(name: &'static str, values: &[&'static str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(name, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn the_rightmost_address_that_is_not_a_trusted_proxy_is_the_client() {
        let p = proxies(&["10.0.0.0/8"], ForwardedHeader::XForwardedFor);
        let proxy = ip("10.0.0.2");
        let cases: &[(&[&'static str], &str)] = &[
            (&[], "10.0.0.2"),
            (&["203.0.113.7"], "203.0.113.7"),
            // The client wrote the first entry itself: it is not believed.
            (&["1.1.1.1, 203.0.113.7, 10.0.0.9"], "203.0.113.7"),
            (&["1.1.1.1", "203.0.113.7, 10.0.0.9"], "203.0.113.7"),
            (&["203.0.113.7:4711"], "203.0.113.7"),
            (&["[2001:db8::1]:80"], "2001:db8::1"),
            (&["2001:db8::1"], "2001:db8::1"),
            // Every hop trusted: the leftmost is as far as anyone can see.
            (&["10.1.1.1, 10.2.2.2"], "10.1.1.1"),
            // Garbage ends the walk at the last proxy that spoke.
            (&["203.0.113.7, nonsense, 10.0.0.9"], "10.0.0.9"),
            (&["unknown"], "10.0.0.2"),
        ];
        for (values, want) in cases {
            let got = p.client(proxy, &headers("x-forwarded-for", values));
            assert_eq!(got, ip(want), "{values:?}");
        }
    }

    #[test]
    fn an_untrusted_peers_header_is_ignored() {
        let p = proxies(&["10.0.0.0/8"], ForwardedHeader::XForwardedFor);
        let h = headers("x-forwarded-for", &["203.0.113.7"]);
        assert_eq!(p.client(ip("198.51.100.1"), &h), ip("198.51.100.1"));
        let none = TrustedProxies::default();
        assert_eq!(none.client(ip("10.0.0.2"), &h), ip("10.0.0.2"));
    }

    #[test]
    fn only_the_configured_header_is_read() {
        let xff = proxies(&["10.0.0.0/8"], ForwardedHeader::XForwardedFor);
        let fwd = proxies(&["10.0.0.0/8"], ForwardedHeader::Forwarded);
        let mut h = headers(
            "forwarded",
            &[r#"for=1.1.1.1, for="[2001:db8::7]:4711";proto=https, For=10.0.0.5;by=10.0.0.2"#],
        );
        h.append("x-forwarded-for", HeaderValue::from_static("198.51.100.9"));
        let proxy = ip("10.0.0.2");
        assert_eq!(fwd.client(proxy, &h), ip("2001:db8::7"));
        assert_eq!(xff.client(proxy, &h), ip("198.51.100.9"));
        let obfuscated = headers("forwarded", &["for=_hidden, for=10.0.0.5"]);
        assert_eq!(fwd.client(proxy, &obfuscated), ip("10.0.0.5"));
    }
}
