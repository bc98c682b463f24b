//! The registration-time half of the SSRF guard: a webhook URL is refused when its host
//! resolves to an address the policy forbids (loopback, private, link-local, CGNAT,
//! metadata...) outside the operator's allow-list. The dispatcher checks every connection
//! again (DNS may answer differently later: rebinding), so this check is for a clear error at
//! the door, not the only line of defence.

use std::net::IpAddr;
use std::time::Duration;
use waypost_notify::AddressPolicy;

/// How long a registration waits for DNS before refusing the URL.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Default)]
pub struct NotifyGuard {
    pub policy: AddressPolicy,
}

impl NotifyGuard {
    pub fn new(policy: AddressPolicy) -> Self {
        NotifyGuard { policy }
    }

    /// Every address `url`'s host resolves to must be allowed. The error says which address
    /// and why, or why the URL could not be resolved.
    pub async fn check_url(&self, url: &str) -> Result<(), String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        let host = parsed
            .host()
            .ok_or_else(|| format!("{url:?} names no host"))?;
        let port = parsed.port_or_known_default().unwrap_or(443);
        let addrs: Vec<IpAddr> = match host {
            url::Host::Ipv4(ip) => vec![IpAddr::V4(ip)],
            url::Host::Ipv6(ip) => vec![IpAddr::V6(ip)],
            url::Host::Domain(name) => {
                let lookup = tokio::net::lookup_host((name, port));
                match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
                    Ok(Ok(found)) => found.map(|a| a.ip()).collect(),
                    Ok(Err(e)) => return Err(format!("{name:?} does not resolve: {e}")),
                    Err(_) => {
                        return Err(format!(
                            "{name:?} did not resolve within {} s",
                            RESOLVE_TIMEOUT.as_secs()
                        ));
                    }
                }
            }
        };
        if addrs.is_empty() {
            return Err(format!("{url:?} resolves to no address"));
        }
        for ip in addrs {
            self.policy.check(ip).map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}
