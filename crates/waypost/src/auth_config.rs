//! `[auth.login]` (the dashboard login throttle) and `[proxy]` (whose `X-Forwarded-For` names
//! the real client), turned into the API's settings; and the device-cookie secret, kept in the
//! data directory so known devices stay known across restarts.

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;
use std::time::Duration;
use waypost_api::auth::device::DeviceKey;
use waypost_api::auth::throttle::Limits;
use waypost_api::client_addr::{ForwardedHeader, TrustedProxies};

/// The file in the data directory that holds the device-cookie secret.
pub const DEVICE_KEY_FILE: &str = "device.key";
/// The file in the data directory that holds the key of the public ids: lose it and every id
/// a client kept names nothing.
pub const IDS_KEY_FILE: &str = "ids.key";

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    pub login: LoginConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoginConfig {
    /// The sliding window every budget counts over.
    pub window_secs: u64,
    /// The first delay once the free attempts are used; it doubles with each further attempt.
    pub base_delay_ms: u64,
    pub max_delay_secs: u64,
    /// Accounts, devices and addresses each tracked at once (memory stays bounded).
    pub tracked_keys: usize,
    /// How long a browser stays a known device of an account after its last login there.
    pub device_cookie_days: u64,
    /// One account, from anywhere but a known device of it.
    pub account: BudgetConfig,
    /// One account from one of its known devices (the `waypost_device` cookie).
    pub device: BudgetConfig,
    /// One client address; only failures for accounts that exist count.
    pub address: BudgetConfig,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetConfig {
    /// Attempts (failed or in flight) per window before the key is refused outright.
    pub max_attempts: u32,
    /// Attempts per window with no delay between them.
    pub free_attempts: u32,
}

impl Default for LoginConfig {
    fn default() -> Self {
        let d = waypost_api::auth::LoginSettings::default();
        let budget = |l: Limits| BudgetConfig {
            max_attempts: l.max_failures,
            free_attempts: l.delay_after,
        };
        LoginConfig {
            window_secs: d.window.as_secs(),
            base_delay_ms: u64::try_from(d.account.base_delay.as_millis()).unwrap_or(1000),
            max_delay_secs: d.account.max_delay.as_secs(),
            tracked_keys: d.capacity,
            device_cookie_days: d.device_lifetime.as_secs() / 86_400,
            account: budget(d.account),
            device: budget(d.device),
            address: budget(d.address),
        }
    }
}

impl LoginConfig {
    pub fn validate(&self) -> anyhow::Result<()> {
        if !(1..=86_400).contains(&self.window_secs) {
            bail!(
                "auth.login.window_secs must be from 1 to 86400 (a day), got {}",
                self.window_secs
            );
        }
        if self.max_delay_secs > self.window_secs {
            bail!(
                "auth.login.max_delay_secs ({}) must not exceed auth.login.window_secs ({})",
                self.max_delay_secs,
                self.window_secs
            );
        }
        if self.base_delay_ms > self.max_delay_secs.saturating_mul(1000) {
            bail!(
                "auth.login.base_delay_ms ({}) must not exceed auth.login.max_delay_secs ({}) in milliseconds",
                self.base_delay_ms,
                self.max_delay_secs
            );
        }
        if !(100..=10_000_000).contains(&self.tracked_keys) {
            bail!(
                "auth.login.tracked_keys must be from 100 to 10000000, got {}",
                self.tracked_keys
            );
        }
        if !(1..=3650).contains(&self.device_cookie_days) {
            bail!(
                "auth.login.device_cookie_days must be from 1 to 3650, got {}",
                self.device_cookie_days
            );
        }
        for (name, b) in [
            ("account", self.account),
            ("device", self.device),
            ("address", self.address),
        ] {
            if !(1..=10_000).contains(&b.max_attempts) {
                bail!(
                    "auth.login.{name}.max_attempts must be from 1 to 10000, got {}",
                    b.max_attempts
                );
            }
            if b.free_attempts > b.max_attempts {
                bail!(
                    "auth.login.{name}.free_attempts ({}) must not exceed its max_attempts ({})",
                    b.free_attempts,
                    b.max_attempts
                );
            }
        }
        Ok(())
    }

    /// The API's settings, with the device-cookie secret read from (or made in) `data_dir`.
    pub fn settings(&self, data_dir: &Path) -> anyhow::Result<waypost_api::auth::LoginSettings> {
        let limits = |b: BudgetConfig| Limits {
            max_failures: b.max_attempts,
            delay_after: b.free_attempts,
            base_delay: Duration::from_millis(self.base_delay_ms),
            max_delay: Duration::from_secs(self.max_delay_secs),
        };
        Ok(waypost_api::auth::LoginSettings {
            window: Duration::from_secs(self.window_secs),
            account: limits(self.account),
            device: limits(self.device),
            address: limits(self.address),
            capacity: self.tracked_keys,
            device_key: device_key(data_dir)?,
            device_lifetime: Duration::from_secs(self.device_cookie_days * 86_400),
        })
    }
}

/// Reads the device-cookie secret, or makes one (readable by this user only) the first time.
fn device_key(data_dir: &Path) -> anyhow::Result<DeviceKey> {
    let secret = secret_file(
        data_dir,
        DEVICE_KEY_FILE,
        "a device-cookie secret",
        "every browser then logs in as a new device",
    )?;
    Ok(DeviceKey::new(secret))
}

/// The key of the public ids (`waypost_api::public_id`), read from (or made in) `data_dir`.
pub fn public_ids(data_dir: &Path) -> anyhow::Result<waypost_api::public_id::PublicIds> {
    let key = secret_file(
        data_dir,
        IDS_KEY_FILE,
        "the public-id key",
        "every document, endpoint, subscription and notification id clients hold then names nothing",
    )?;
    Ok(waypost_api::public_id::PublicIds::new(key))
}

/// Reads a secret of `N` bytes kept in `data_dir/file`, or makes a random one (readable by
/// this user only) the first time; `what` and `lost` (what deleting it costs) name it in errors.
fn secret_file<const N: usize>(
    data_dir: &Path,
    file: &str,
    what: &str,
    lost: &str,
) -> anyhow::Result<[u8; N]> {
    let path = data_dir.join(file);
    let mut secret = [0u8; N];
    match std::fs::read(&path) {
        Ok(bytes) if bytes.len() == N => {
            secret.copy_from_slice(&bytes);
            return Ok(secret);
        }
        Ok(bytes) => bail!(
            "{} holds {} bytes, not the {N} of {what}: restore it from a backup, or delete it to make a new one ({lost})",
            path.display(),
            bytes.len()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut secret);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(&path) {
        Ok(mut f) => {
            f.write_all(&secret)
                .and_then(|()| f.sync_all())
                .with_context(|| format!("writing {}", path.display()))?;
            Ok(secret)
        }
        // Another process made it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            secret_file(data_dir, file, what, lost)
        }
        Err(e) => Err(e).with_context(|| format!("creating {}", path.display())),
    }
}

/// `[proxy]`: the reverse proxies in front of this server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProxyConfig {
    /// Addresses or CIDR blocks of proxies whose forwarding header is believed.
    pub trusted: Vec<String>,
    /// `x-forwarded-for` or `forwarded` (RFC 7239): the one header those proxies set.
    pub header: String,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            trusted: Vec::new(),
            header: "x-forwarded-for".into(),
        }
    }
}

impl ProxyConfig {
    pub fn trusted_proxies(&self) -> anyhow::Result<TrustedProxies> {
        let nets = self
            .trusted
            .iter()
            .map(|n| n.parse().map_err(|e| anyhow::anyhow!("proxy.trusted: {e}")))
            .collect::<anyhow::Result<_>>()?;
        let header = match self.header.to_ascii_lowercase().as_str() {
            "x-forwarded-for" => ForwardedHeader::XForwardedFor,
            "forwarded" => ForwardedHeader::Forwarded,
            other => {
                bail!("proxy.header must be \"x-forwarded-for\" or \"forwarded\", got {other:?}")
            }
        };
        Ok(TrustedProxies { nets, header })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_bad_values_are_named() {
        LoginConfig::default()
            .validate()
            .unwrap_or_else(|e| panic!("{e}"));
        let mut c = LoginConfig::default();
        c.account.free_attempts = c.account.max_attempts + 1;
        let e = c
            .validate()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("auth.login.account.free_attempts"), "{e}");
        let bad = ProxyConfig {
            trusted: vec!["10.0.0.0/33".into()],
            ..ProxyConfig::default()
        };
        assert!(bad.trusted_proxies().is_err());
        let bad = ProxyConfig {
            header: "x-real-ip".into(),
            ..ProxyConfig::default()
        };
        assert!(bad.trusted_proxies().is_err());
    }

    #[test]
    fn the_device_secret_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let tenant = waypost_domain::TenantId::new("acme").unwrap_or_else(|e| panic!("{e}"));
        let first = device_key(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let (_, cookie) = first.issue(&tenant, "a@acme.io").unwrap_or_default();
        let again = device_key(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert!(again.verify(&cookie, &tenant, "a@acme.io").is_some());
        std::fs::write(dir.path().join(DEVICE_KEY_FILE), b"short").unwrap_or_default();
        assert!(device_key(dir.path()).is_err());
    }

    #[test]
    fn the_ids_key_is_made_once_private_and_kept() {
        use waypost_api::public_id::IdKind;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let first = public_ids(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let id = first.encode(IdKind::Endpoint, 7);
        let again = public_ids(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again.decode(IdKind::Endpoint, &id), Some(7));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let meta =
                std::fs::metadata(dir.path().join(IDS_KEY_FILE)).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        }
        let other = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let elsewhere = public_ids(other.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(elsewhere.encode(IdKind::Endpoint, 7), id);
        std::fs::write(dir.path().join(IDS_KEY_FILE), b"short").unwrap_or_default();
        let e = public_ids(dir.path())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("ids.key") && e.contains("public-id key"), "{e}");
    }
}
