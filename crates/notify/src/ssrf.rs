//! Which addresses a webhook may be delivered to. A tenant configures the URL, so without a
//! check a webhook is a way to make the server call its own admin ports, the cloud's metadata
//! service or the office network (SSRF). The dispatcher runs [`AddressPolicy::check`] on every
//! address the name resolves to, at connect time, so a name that re-resolves to an inner
//! address later (DNS rebinding) is refused too.
//!
//! Refused: loopback, private (RFC 1918, fc00::/7, fec0::/10), link-local (169.254/16,
//! fe80::/10), carrier-grade NAT (100.64/10), cloud metadata (169.254.169.254, fd00:ec2::254,
//! 100.100.100.200), unspecified, multicast, broadcast, "this network" (0/8), IETF protocol
//! assignments (192.0.0/24), benchmarking (198.18/15), documentation and reserved (240/4)
//! ranges. An IPv6 address that carries an IPv4 one (mapped, compatible, NAT64, 6to4) is judged
//! by the IPv4 address. An allow-listed subnet (an on-premises receiver) overrides all of it.

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    Loopback,
    Private,
    LinkLocal,
    Cgnat,
    Metadata,
    Unspecified,
    Multicast,
    Broadcast,
    ThisNetwork,
    IetfProtocol,
    Benchmarking,
    Documentation,
    Reserved,
}

impl AddressClass {
    pub fn as_str(self) -> &'static str {
        match self {
            AddressClass::Loopback => "loopback",
            AddressClass::Private => "private",
            AddressClass::LinkLocal => "link-local",
            AddressClass::Cgnat => "cgnat",
            AddressClass::Metadata => "metadata",
            AddressClass::Unspecified => "unspecified",
            AddressClass::Multicast => "multicast",
            AddressClass::Broadcast => "broadcast",
            AddressClass::ThisNetwork => "this-network",
            AddressClass::IetfProtocol => "ietf-protocol",
            AddressClass::Benchmarking => "benchmarking",
            AddressClass::Documentation => "documentation",
            AddressClass::Reserved => "reserved",
        }
    }
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused address, naming it and its class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("address {addr} is refused: {class} addresses are not delivered to")]
pub struct Refused {
    pub addr: IpAddr,
    pub class: AddressClass,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("allow-listed subnet {value:?} is not an address/prefix (e.g. 10.1.0.0/16)")]
pub struct BadSubnet {
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    pub allow: Vec<IpNet>,
}

impl AddressPolicy {
    /// A policy allowing these subnets (`"10.1.0.0/16"`, `"fd12::/64"`, or a bare address).
    pub fn with_allowed<S: AsRef<str>>(allow: &[S]) -> Result<Self, BadSubnet> {
        let allow = allow
            .iter()
            .map(|s| {
                let s = s.as_ref().trim();
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| BadSubnet {
                        value: s.to_string(),
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { allow })
    }

    pub fn check(&self, ip: IpAddr) -> Result<(), Refused> {
        let embedded = match ip {
            IpAddr::V6(v6) => embedded_v4(v6).map(IpAddr::V4),
            IpAddr::V4(_) => None,
        };
        let allowed = |a: IpAddr| self.allow.iter().any(|n| n.contains(&a));
        if allowed(ip) || embedded.is_some_and(allowed) {
            return Ok(());
        }
        let class = match (ip, embedded) {
            (_, Some(IpAddr::V4(v4))) => class_v4(v4),
            (IpAddr::V4(v4), _) => class_v4(v4),
            (IpAddr::V6(v6), _) => class_v6(v6),
        };
        match class {
            Some(class) => Err(Refused { addr: ip, class }),
            None => Ok(()),
        }
    }
}

fn net4(a: [u8; 4], len: u8) -> Ipv4Net {
    Ipv4Net::new(Ipv4Addr::from(a), len).unwrap_or_default()
}

fn net6(a: Ipv6Addr, len: u8) -> Ipv6Net {
    Ipv6Net::new(a, len).unwrap_or_default()
}

fn class_v4(ip: Ipv4Addr) -> Option<AddressClass> {
    use AddressClass::*;
    let o = ip.octets();
    // Most specific first: the metadata addresses sit inside link-local and CGNAT.
    let table: [(Ipv4Net, AddressClass); 16] = [
        (net4([169, 254, 169, 254], 32), Metadata),
        (net4([100, 100, 100, 200], 32), Metadata),
        (net4([255, 255, 255, 255], 32), Broadcast),
        (net4([0, 0, 0, 0], 32), Unspecified),
        (net4([0, 0, 0, 0], 8), ThisNetwork),
        (net4([127, 0, 0, 0], 8), Loopback),
        (net4([10, 0, 0, 0], 8), Private),
        (net4([172, 16, 0, 0], 12), Private),
        (net4([192, 168, 0, 0], 16), Private),
        (net4([169, 254, 0, 0], 16), LinkLocal),
        (net4([100, 64, 0, 0], 10), Cgnat),
        (net4([192, 0, 0, 0], 24), IetfProtocol),
        (net4([198, 18, 0, 0], 15), Benchmarking),
        (net4([224, 0, 0, 0], 4), Multicast),
        (net4([240, 0, 0, 0], 4), Reserved),
        (net4([192, 0, 2, 0], 24), Documentation),
    ];
    if let Some((_, c)) = table.iter().find(|(n, _)| n.contains(&ip)) {
        return Some(*c);
    }
    let doc = (o[0], o[1], o[2]) == (198, 51, 100) || (o[0], o[1], o[2]) == (203, 0, 113);
    doc.then_some(Documentation)
}

fn class_v6(ip: Ipv6Addr) -> Option<AddressClass> {
    use AddressClass::*;
    let seg = ip.segments();
    let metadata = Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254);
    let table: [(Ipv6Net, AddressClass); 9] = [
        (net6(metadata, 128), Metadata),
        (net6(Ipv6Addr::UNSPECIFIED, 128), Unspecified),
        (net6(Ipv6Addr::LOCALHOST, 128), Loopback),
        (net6(Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7), Private),
        (
            net6(Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10),
            Private,
        ),
        (
            net6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10),
            LinkLocal,
        ),
        (
            net6(Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8),
            Multicast,
        ),
        (
            net6(Ipv6Addr::new(0x2001, 0x0db8, 0, 0, 0, 0, 0, 0), 32),
            Documentation,
        ),
        // Discard-only (RFC 6666).
        (
            net6(Ipv6Addr::new(0x0100, 0, 0, 0, 0, 0, 0, 0), 64),
            Reserved,
        ),
    ];
    if let Some((_, c)) = table.iter().find(|(n, _)| n.contains(&ip)) {
        return Some(*c);
    }
    // Anything else in ::/8 (besides the forms that embed IPv4, handled before) is reserved.
    (seg[0] & 0xff00 == 0).then_some(Reserved)
}

/// The IPv4 address an IPv6 one stands for: IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible
/// (`::a.b.c.d`, deprecated but still routed by some stacks), NAT64 (`64:ff9b::a.b.c.d`) and
/// 6to4 (`2002:AABB:CCDD::`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = || Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    if s[..6] == [0, 0, 0, 0, 0, 0] && !(s[6] == 0 && s[7] <= 1) {
        return Some(low());
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(low());
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(p: &AddressPolicy, s: &str) -> Result<(), AddressClass> {
        p.check(s.parse().expect("address")).map_err(|r| r.class)
    }

    #[test]
    fn every_class_is_refused() {
        use AddressClass::*;
        let p = AddressPolicy::default();
        let table: &[(&str, AddressClass)] = &[
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("::1", Loopback),
            ("10.0.0.1", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("192.168.1.1", Private),
            ("fc00::1", Private),
            ("fd12:3456::1", Private),
            ("fec0::1", Private),
            ("169.254.1.1", LinkLocal),
            ("fe80::1", LinkLocal),
            ("100.64.0.1", Cgnat),
            ("100.127.255.255", Cgnat),
            ("169.254.169.254", Metadata),
            ("100.100.100.200", Metadata),
            ("fd00:ec2::254", Metadata),
            ("0.0.0.0", Unspecified),
            ("::", Unspecified),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("ff02::1", Multicast),
            ("255.255.255.255", Broadcast),
            ("0.1.2.3", ThisNetwork),
            ("192.0.0.8", IetfProtocol),
            ("198.18.0.1", Benchmarking),
            ("198.19.255.255", Benchmarking),
            ("192.0.2.1", Documentation),
            ("198.51.100.7", Documentation),
            ("203.0.113.9", Documentation),
            ("2001:db8::1", Documentation),
            ("240.0.0.1", Reserved),
            ("100::1", Reserved),
        ];
        for (addr, class) in table {
            assert_eq!(check(&p, addr), Err(*class), "{addr}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        let p = AddressPolicy::default();
        for addr in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "198.20.0.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert_eq!(check(&p, addr), Ok(()), "{addr}");
        }
    }

    #[test]
    fn ipv6_forms_of_ipv4_are_judged_by_the_ipv4() {
        use AddressClass::*;
        let p = AddressPolicy::default();
        assert_eq!(check(&p, "::ffff:127.0.0.1"), Err(Loopback));
        assert_eq!(check(&p, "::ffff:169.254.169.254"), Err(Metadata));
        assert_eq!(check(&p, "::ffff:10.1.2.3"), Err(Private));
        assert_eq!(check(&p, "::10.1.2.3"), Err(Private));
        assert_eq!(check(&p, "::127.0.0.1"), Err(Loopback));
        assert_eq!(check(&p, "64:ff9b::a9fe:a9fe"), Err(Metadata));
        assert_eq!(check(&p, "2002:c0a8:0101::1"), Err(Private));
        let e = p
            .check("::ffff:127.0.0.1".parse().expect("ip"))
            .expect_err("refused");
        assert_eq!(
            e.to_string(),
            "address ::ffff:127.0.0.1 is refused: loopback addresses are not delivered to"
        );
    }

    #[test]
    fn allow_list_overrides() {
        let p = AddressPolicy::with_allowed(&["10.1.0.0/16", "fd12::/16", "127.0.0.1"])
            .expect("policy");
        assert_eq!(check(&p, "10.1.2.3"), Ok(()));
        assert_eq!(check(&p, "::ffff:10.1.2.3"), Ok(()));
        assert_eq!(check(&p, "fd12::1"), Ok(()));
        assert_eq!(check(&p, "127.0.0.1"), Ok(()));
        assert_eq!(check(&p, "127.0.0.2"), Err(AddressClass::Loopback));
        assert_eq!(check(&p, "10.2.0.1"), Err(AddressClass::Private));
        let e = AddressPolicy::with_allowed(&["10.1.0.0/33"]).expect_err("bad");
        assert!(e.to_string().contains("10.1.0.0/33"));
    }
}
