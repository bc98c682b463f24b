//! How each tenant's partners may deliver vendor documents: the signature scheme and secrets of
//! every (tenant, source) webhook endpoint, its IP allow-list, rate and size limits. Settings
//! only: the webhook route enforces them (its guards keep the token buckets and the replay
//! window).

use jiff::SignedDuration;
use std::collections::HashMap;
use std::net::IpAddr;
use std::str::FromStr;
use waypost_adapters::Source;
use waypost_adapters::signature::{Scheme, Secret};
use waypost_domain::TenantId;

/// One tenant's intake of one source.
#[derive(Debug)]
pub struct Endpoint {
    /// `None`: the partner authenticates with an API key (Bearer) or a client certificate.
    pub scheme: Option<Scheme>,
    /// Several at once while rotating: any of them verifies.
    pub secrets: Vec<Secret>,
    pub tolerance: SignedDuration,
    /// Empty: any address.
    pub allow: Vec<IpNet>,
    pub rate: Option<Rate>,
    pub max_body_bytes: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_sec: f64,
    pub burst: f64,
}

#[derive(Debug, Default)]
pub struct WebhookSettings {
    endpoints: HashMap<(TenantId, Source), Endpoint>,
}

impl WebhookSettings {
    pub fn insert(&mut self, tenant: TenantId, source: Source, endpoint: Endpoint) {
        self.endpoints.insert((tenant, source), endpoint);
    }

    pub fn endpoint(&self, tenant: &TenantId, source: Source) -> Option<&Endpoint> {
        self.endpoints.get(&(tenant.clone(), source))
    }

    /// The largest body any endpoint accepts (the route's outer limit).
    pub fn max_body_bytes(&self, default: usize) -> usize {
        self.endpoints
            .values()
            .filter_map(|e| e.max_body_bytes)
            .fold(default, usize::max)
    }
}

/// An address block: `203.0.113.0/24`, `2001:db8::/32`, or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{given:?} is not an address or a CIDR block ({why})")]
pub struct IpNetError {
    pub given: String,
    pub why: &'static str,
}

impl FromStr for IpNet {
    type Err = IpNetError;
    fn from_str(s: &str) -> Result<Self, IpNetError> {
        let err = |why| IpNetError {
            given: s.to_owned(),
            why,
        };
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| err("bad address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().map_err(|_| err("bad prefix length"))?,
            None => max,
        };
        if prefix > max {
            return Err(err("prefix longer than the address"));
        }
        Ok(IpNet { addr, prefix })
    }
}

impl IpNet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4 client seen on a dual-stack socket arrives as ::ffff:a.b.c.d.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let full = (prefix / 8) as usize;
    let rest = prefix % 8;
    if a.get(..full) != b.get(..full) {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    matches!((a.get(full), b.get(full)), (Some(x), Some(y)) if x & mask == y & mask)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cidr_blocks_match_their_addresses_only() {
        let net: IpNet = "203.0.113.0/24".parse().unwrap();
        assert!(net.contains("203.0.113.77".parse().unwrap()));
        assert!(!net.contains("203.0.114.1".parse().unwrap()));
        assert!(net.contains("::ffff:203.0.113.9".parse().unwrap()));
        let odd: IpNet = "10.0.0.0/9".parse().unwrap();
        assert!(odd.contains("10.127.0.1".parse().unwrap()));
        assert!(!odd.contains("10.128.0.1".parse().unwrap()));
        let v6: IpNet = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()));
        assert!(!v6.contains("2001:db9::1".parse().unwrap()));
        let one: IpNet = "127.0.0.1".parse().unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<IpNet>().is_err());
        assert!("nonsense".parse::<IpNet>().is_err());
    }
}
