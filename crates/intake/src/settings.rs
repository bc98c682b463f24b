//! The `[[webhooks]]` and `[[drops]]` sections: webhook authentication per tenant and source,
//! and watched drop folders (the watcher itself is [`crate::drop_folder`]), checked into
//! [`WebhookSettings`] and [`DropFolder`]s. Every error names its entry, never a secret.

use crate::drop_folder::DropFolder;
use crate::webhooks::{Endpoint, IpNet, Rate, WebhookSettings};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;
use waypost_adapters::Source;
use waypost_adapters::signature::{Scheme, Secret};
use waypost_domain::TenantId;

/// An entry that cannot be used; the message names it (`webhooks[acme/ups]: scheme: ...`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SettingsError(pub String);

macro_rules! bail {
    ($($t:tt)*) => {
        return Err(SettingsError(format!($($t)*)))
    };
}

/// Looks an environment variable up (`env:NAME` secrets): the binary reads its environment.
pub type Env<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// `[[webhooks]]`: one tenant's intake of one source.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookEntry {
    pub tenant: String,
    pub source: String,
    /// Signature scheme (`standard-webhooks`, `easypost`, `easypost-v2`, `aftership`, `shopify`,
    /// `shippo`); without one, deliveries need an API key or a client certificate.
    #[serde(default)]
    pub scheme: Option<String>,
    /// Active secrets, newest first; several while rotating. Each is `env:NAME` (read from the
    /// environment), `file:/path` (read from a file), or the secret itself.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// How far the sender's signed timestamp may be from now (default per scheme: 300 s).
    #[serde(default)]
    pub tolerance_secs: Option<u64>,
    /// Addresses or CIDR blocks allowed to deliver; empty: any.
    #[serde(default)]
    pub allow_ips: Vec<String>,
    /// Sustained deliveries per second allowed (token bucket), with `burst` on top.
    #[serde(default)]
    pub rate_per_sec: Option<f64>,
    #[serde(default)]
    pub burst: Option<f64>,
    #[serde(default)]
    pub max_body_bytes: Option<usize>,
}

// Secrets must never reach a log line, so Debug is written by hand.
impl std::fmt::Debug for WebhookEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookEntry")
            .field("tenant", &self.tenant)
            .field("source", &self.source)
            .field("scheme", &self.scheme)
            .field("secrets", &format_args!("[{} hidden]", self.secrets.len()))
            .field("allow_ips", &self.allow_ips)
            .finish_non_exhaustive()
    }
}

/// `[[drops]]`: a folder whose files are vendor documents of one source for one tenant.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropEntry {
    pub dir: PathBuf,
    pub tenant: String,
    pub source: String,
    /// How often the folder is scanned (default 2 s).
    #[serde(default)]
    pub poll_ms: Option<u64>,
}

fn secret(
    entry: &WebhookEntry,
    i: usize,
    raw: &str,
    env: &Env<'_>,
) -> Result<Secret, SettingsError> {
    let what = || format!("webhooks[{}/{}].secrets[{i}]", entry.tenant, entry.source);
    let text = if let Some(var) = raw.strip_prefix("env:") {
        match env(var) {
            Some(v) => v,
            None => bail!("{}: environment variable {var} is not set", what()),
        }
    } else if let Some(path) = raw.strip_prefix("file:") {
        std::fs::read_to_string(path)
            .map_err(|e| SettingsError(format!("{}: reading {path}: {e}", what())))?
    } else {
        raw.to_owned()
    };
    Secret::from_config(&text).map_err(|e| SettingsError(format!("{}: {e}", what())))
}

/// Builds the webhook settings, failing on the first entry that is not usable; every error
/// names the entry, never a secret.
pub fn webhook_settings(
    entries: &[WebhookEntry],
    env: &Env<'_>,
) -> Result<WebhookSettings, SettingsError> {
    let ctx = |name: &str, what: &str| {
        let prefix = format!("{name}: {what}");
        move |e: &dyn std::fmt::Display| SettingsError(format!("{prefix}: {e}"))
    };
    let mut settings = WebhookSettings::default();
    let mut seen = std::collections::BTreeSet::new();
    for e in entries {
        let name = format!("webhooks[{}/{}]", e.tenant, e.source);
        let tenant = TenantId::new(e.tenant.as_str()).map_err(|x| ctx(&name, "tenant")(&x))?;
        let source: Source = e.source.parse().map_err(|x| ctx(&name, "source")(&x))?;
        if !seen.insert((tenant.clone(), source)) {
            bail!("{name}: configured twice");
        }
        let scheme = e
            .scheme
            .as_deref()
            .map(|s| s.parse::<Scheme>())
            .transpose()
            .map_err(|x| ctx(&name, "scheme")(&x))?
            .map(|s| match s {
                // Bind EasyPost v2 signatures to the route that receives them.
                Scheme::EasyPostV2 { path: None } => Scheme::EasyPostV2 {
                    path: Some(format!("/v1/webhooks/{}", source.name())),
                },
                other => other,
            });
        let secrets = e
            .secrets
            .iter()
            .enumerate()
            .map(|(i, s)| secret(e, i, s, env))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(scheme) = &scheme {
            if secrets.is_empty() {
                bail!("{name}: scheme {scheme} needs at least one secret");
            }
            for (i, s) in secrets.iter().enumerate() {
                scheme
                    .validate_secret(s)
                    .map_err(|err| SettingsError(format!("{name}: secrets[{i}]: {err}")))?;
            }
        } else if !secrets.is_empty() {
            bail!("{name}: secrets are given but no scheme says how to use them");
        }
        let tolerance = match (e.tolerance_secs, &scheme) {
            (Some(s), _) => jiff::SignedDuration::from_secs(s.min(86_400) as i64),
            (None, Some(sc)) => sc.default_tolerance(),
            (None, None) => waypost_adapters::signature::DEFAULT_TOLERANCE,
        };
        let allow = e
            .allow_ips
            .iter()
            .map(|a| a.parse::<IpNet>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|x| ctx(&name, "allow_ips")(&x))?;
        let rate = match (e.rate_per_sec, e.burst) {
            (None, None) => None,
            (Some(r), b) if r > 0.0 && b.is_none_or(|b| b >= 1.0) => Some(Rate {
                per_sec: r,
                burst: b.unwrap_or(r.max(1.0)),
            }),
            _ => bail!("{name}: rate_per_sec must be > 0 and burst >= 1"),
        };
        if e.max_body_bytes
            .is_some_and(|m| !(1024..=waypost_adapters::MAX_DOCUMENT_BYTES).contains(&m))
        {
            bail!(
                "{name}: max_body_bytes must be between 1024 and {}",
                waypost_adapters::MAX_DOCUMENT_BYTES
            );
        }
        settings.insert(
            tenant,
            source,
            Endpoint {
                scheme,
                secrets,
                tolerance,
                allow,
                rate,
                max_body_bytes: e.max_body_bytes,
            },
        );
    }
    Ok(settings)
}

/// The drop folders, checked at start.
pub fn drops(entries: &[DropEntry]) -> Result<Vec<DropFolder>, SettingsError> {
    entries
        .iter()
        .map(|d| {
            let name = format!("drops[{}]", d.dir.display());
            Ok(DropFolder {
                dir: d.dir.clone(),
                tenant: TenantId::new(d.tenant.as_str())
                    .map_err(|e| SettingsError(format!("{name}: tenant: {e}")))?,
                source: d
                    .source
                    .parse()
                    .map_err(|e: <Source as std::str::FromStr>::Err| {
                        SettingsError(format!("{name}: source: {e}"))
                    })?,
                every: Duration::from_millis(d.poll_ms.unwrap_or(2000).clamp(50, 3_600_000)),
            })
        })
        .collect()
}
