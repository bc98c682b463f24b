//! The SSRF guard of outbound HTTP: every address a request may connect to passes one check.
//!
//! A tenant chooses its webhook URL, so without this a tenant could make us POST to our own
//! loopback, the cloud metadata service or the private network. The check runs where the
//! connection is made, not where the URL is read: the DNS resolver handed to reqwest filters
//! every address it resolves (so a name that resolves to a public address when configured and to
//! 127.0.0.1 when used — DNS rebinding — is still refused), and [`check_url`] checks IP-literal
//! hosts, which reqwest connects to without asking the resolver.
//!
//! The policy itself is a closure, [`AddressCheck`], so this crate does not decide which ranges
//! are private: the binary wires it to waypost-notify's `AddressPolicy::check`.

use std::error::Error as StdError;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// The policy: `Ok` lets the address be connected to, `Err(why)` refuses it.
pub type AddressCheck = Arc<dyn Fn(IpAddr) -> Result<(), String> + Send + Sync>;

/// A check that allows every address. For tests and for deployments that put the SSRF
/// boundary elsewhere (an egress proxy); never the default.
pub fn allow_all() -> AddressCheck {
    Arc::new(|_| Ok(()))
}

/// The addresses were refused by the policy. Found again in reqwest's error chain by
/// [`refusal_in`], so an SSRF refusal is told apart from an ordinary connect failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Refused {
    /// The host as written in the URL.
    pub host: String,
    /// Every refused address with the policy's reason.
    pub addresses: Vec<(IpAddr, String)>,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "address policy refused {}:", self.host)?;
        for (i, (ip, why)) in self.addresses.iter().enumerate() {
            let sep = if i == 0 { " " } else { "; " };
            write!(f, "{sep}{ip} ({why})")?;
        }
        Ok(())
    }
}

/// A name that resolved to no address at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{host} resolved to no address")]
pub struct NoAddress {
    pub host: String,
}

/// Keeps the addresses `check` allows; errs naming every refused one when none is left.
pub fn filter(
    host: &str,
    addrs: impl IntoIterator<Item = SocketAddr>,
    check: &AddressCheck,
) -> Result<Vec<SocketAddr>, Refused> {
    let mut allowed = Vec::new();
    let mut refused = Vec::new();
    for addr in addrs {
        match check(addr.ip()) {
            Ok(()) => allowed.push(addr),
            Err(why) => refused.push((addr.ip(), why)),
        }
    }
    if allowed.is_empty() && !refused.is_empty() {
        return Err(Refused {
            host: host.to_owned(),
            addresses: refused,
        });
    }
    Ok(allowed)
}

/// Checks the host of `url` when it is an IP literal (the resolver never sees those).
pub fn check_url(url: &Url, check: &AddressCheck) -> Result<(), Refused> {
    // `host_str` writes IPv6 literals in brackets; a name does not parse as an address.
    let Some(host) = url.host_str() else {
        return Ok(());
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let Ok(ip) = bare.parse::<IpAddr>() else {
        return Ok(());
    };
    check(ip).map_err(|why| Refused {
        host: ip.to_string(),
        addresses: vec![(ip, why)],
    })
}

/// The policy's refusal somewhere in `err`'s source chain, if that is what failed.
pub fn refusal_in<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a Refused> {
    let mut cur: Option<&'a (dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(refused) = e.downcast_ref::<Refused>() {
            return Some(refused);
        }
        cur = e.source();
    }
    None
}

/// reqwest's resolver: the system resolver (tokio's `lookup_host`, getaddrinfo on the blocking
/// pool) followed by [`filter`].
#[derive(Clone)]
pub struct CheckedResolver {
    check: AddressCheck,
}

impl CheckedResolver {
    pub fn new(check: AddressCheck) -> CheckedResolver {
        CheckedResolver { check }
    }
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let check = self.check.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // Port 0: reqwest puts the URL's port (or the scheme's) in place of it.
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if found.is_empty() {
                return Err(Box::new(NoAddress { host }) as Box<dyn StdError + Send + Sync>);
            }
            let allowed = filter(&host, found, &check)?;
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_loopback() -> AddressCheck {
        Arc::new(|ip: IpAddr| {
            if ip.is_loopback() {
                Err("loopback".to_owned())
            } else {
                Ok(())
            }
        })
    }

    #[test]
    fn filter_keeps_allowed_and_names_refused() {
        let check = no_loopback();
        let a: SocketAddr = "127.0.0.1:80".parse().expect("addr");
        let b: SocketAddr = "93.184.216.34:80".parse().expect("addr");
        assert_eq!(filter("x", [a, b], &check), Ok(vec![b]));
        let err = filter("x", [a], &check).expect_err("all refused");
        assert_eq!(
            err.to_string(),
            "address policy refused x: 127.0.0.1 (loopback)"
        );
    }

    #[test]
    fn ip_literals_are_checked() {
        let check = no_loopback();
        let url = Url::parse("http://127.0.0.1:8080/hook").expect("url");
        assert!(check_url(&url, &check).is_err());
        let url = Url::parse("http://[::1]/hook").expect("url");
        assert!(check_url(&url, &check).is_err());
        let url = Url::parse("http://localhost/hook").expect("url");
        assert!(check_url(&url, &check).is_ok(), "names are the resolver's");
    }

    #[tokio::test]
    async fn resolver_refuses_localhost() {
        let resolver = CheckedResolver::new(no_loopback());
        let name: Name = "localhost".parse().expect("name");
        let err = match resolver.resolve(name).await {
            Ok(_) => panic!("localhost must be refused"),
            Err(e) => e,
        };
        let refused = refusal_in(err.as_ref()).expect("a refusal");
        assert_eq!(refused.host, "localhost");
        assert!(refused.addresses.iter().all(|(ip, _)| ip.is_loopback()));
    }
}
