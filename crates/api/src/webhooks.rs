//! How each tenant's partners may deliver vendor documents: the signature scheme and secrets of
//! every (tenant, source) endpoint, its IP allow-list, rate and size limits, and the in-memory
//! guards that enforce them (token buckets, the replay window of delivery ids).

use jiff::SignedDuration;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};
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

/// Per-endpoint token buckets and the window of delivery ids already taken.
#[derive(Default)]
pub struct Guards {
    // std mutexes: held for a map lookup, never across an await.
    buckets: Mutex<HashMap<(TenantId, Source), Bucket>>,
    seen: Mutex<ReplayWindow>,
    /// Each tenant's body bytes being read now (webhooks and `/v1/events`).
    pub bodies: std::sync::Arc<crate::body_budget::TenantBodies>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Guards {
    /// Takes one token; `Err(seconds)` says when the next one is due.
    pub fn take(&self, tenant: &TenantId, source: Source, rate: Rate) -> Result<(), u64> {
        let now = Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        let b = buckets.entry((tenant.clone(), source)).or_insert(Bucket {
            tokens: rate.burst,
            at: now,
        });
        let elapsed = now.duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate.per_sec).min(rate.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - b.tokens) / rate.per_sec.max(f64::MIN_POSITIVE);
            Err(wait.ceil().clamp(1.0, 3600.0) as u64)
        }
    }

    /// Whether this delivery id was already taken within the window.
    pub fn seen(&self, tenant: &TenantId, source: Source, id: &str) -> bool {
        self.seen
            .lock()
            .map(|mut w| w.contains(&(tenant.clone(), source, id.to_owned()), Instant::now()))
            .unwrap_or(false)
    }

    /// Records a delivery id once its events are durable.
    pub fn remember(&self, tenant: &TenantId, source: Source, id: &str, window: Duration) {
        if let Ok(mut w) = self.seen.lock() {
            w.insert(
                (tenant.clone(), source, id.to_owned()),
                Instant::now(),
                window,
            );
        }
    }
}

type DeliveryKey = (TenantId, Source, String);

/// Delivery ids seen lately. A signed timestamp older than the tolerance is refused anyway, so
/// ids need keeping only that long; the count is bounded so a flood cannot grow it without end.
#[derive(Default)]
struct ReplayWindow {
    expiry: VecDeque<(Instant, DeliveryKey)>,
    ids: HashMap<DeliveryKey, Instant>,
}

const MAX_REMEMBERED: usize = 200_000;

impl ReplayWindow {
    fn purge(&mut self, now: Instant) {
        while let Some((at, _)) = self.expiry.front() {
            if *at > now && self.expiry.len() <= MAX_REMEMBERED {
                break;
            }
            if let Some((at, key)) = self.expiry.pop_front()
                && self.ids.get(&key) == Some(&at)
            {
                self.ids.remove(&key);
            }
        }
    }

    fn contains(&mut self, key: &DeliveryKey, now: Instant) -> bool {
        self.purge(now);
        // Windows differ per endpoint, so the queue's order is not expiry order: each id is
        // checked against its own deadline.
        self.ids.get(key).is_some_and(|until| *until > now)
    }

    fn insert(&mut self, key: DeliveryKey, now: Instant, window: Duration) {
        let until = now + window;
        self.ids.insert(key.clone(), until);
        self.expiry.push_back((until, key));
        self.purge(now);
    }
}

#[cfg(test)]
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

    #[test]
    fn buckets_allow_the_burst_then_throttle() {
        let g = Guards::default();
        let t = TenantId::new("t").unwrap();
        let rate = Rate {
            per_sec: 0.5,
            burst: 3.0,
        };
        for _ in 0..3 {
            assert!(g.take(&t, Source::Ups, rate).is_ok());
        }
        assert_eq!(g.take(&t, Source::Ups, rate), Err(2));
        // Another source has its own bucket.
        assert!(g.take(&t, Source::Fedex, rate).is_ok());
    }

    #[test]
    fn delivery_ids_are_remembered_within_the_window() {
        let g = Guards::default();
        let t = TenantId::new("t").unwrap();
        assert!(!g.seen(&t, Source::EasyPost, "d1"));
        g.remember(&t, Source::EasyPost, "d1", Duration::from_secs(600));
        assert!(g.seen(&t, Source::EasyPost, "d1"));
        assert!(!g.seen(&t, Source::Shippo, "d1"));
        assert!(!g.seen(&TenantId::new("u").unwrap(), Source::EasyPost, "d1"));
        g.remember(&t, Source::EasyPost, "d2", Duration::ZERO);
        assert!(!g.seen(&t, Source::EasyPost, "d2"));
    }
}
