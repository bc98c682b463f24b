//! `[metrics]`: who may scrape `/metrics` and whether its alert gauges name tenants. The
//! defaults let a Prometheus on the same host scrape with no setup and nobody else.

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use waypost_api::metrics_access::MetricsAccess;

/// The shortest token accepted: a guessable token would make the allow-list pointless.
const MIN_TOKEN_CHARS: usize = 24;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// A file holding the bearer token that opens `/metrics` from any address (one line; the
    /// surrounding whitespace is not part of it). Prometheus reads the same file with
    /// `authorization: { credentials_file: ... }`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// Addresses or CIDR blocks that may scrape without the token; the client's real address
    /// behind a `[proxy] trusted` proxy. Empty: the token only.
    pub allow: Vec<String>,
    /// Label the alert gauges with the tenant's name; otherwise they are summed over tenants.
    pub tenant_labels: bool,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            token_file: None,
            allow: vec!["127.0.0.0/8".into(), "::1".into()],
            tenant_labels: false,
        }
    }
}

impl MetricsConfig {
    /// The API's policy: the allow-list parsed, the token read and checked.
    pub fn access(&self) -> anyhow::Result<MetricsAccess> {
        let allow = self
            .allow
            .iter()
            .map(|n| n.parse().map_err(|e| anyhow::anyhow!("metrics.allow: {e}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let token = match &self.token_file {
            None => None,
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| {
                    format!(
                        "metrics.token_file: reading {} (a file holding the token that opens /metrics)",
                        path.display()
                    )
                })?;
                let token = text.trim().to_owned();
                if token.chars().count() < MIN_TOKEN_CHARS
                    || token.chars().any(|c| c.is_whitespace() || c.is_control())
                {
                    bail!(
                        "metrics.token_file: {} must hold one token of at least {MIN_TOKEN_CHARS} characters with no spaces (make one with `openssl rand -hex 32`)",
                        path.display()
                    );
                }
                Some(token)
            }
        };
        Ok(MetricsAccess::new(
            token.as_deref(),
            allow,
            self.tenant_labels,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_bad_values_are_named() {
        let ok = MetricsConfig::default().access();
        assert!(ok.is_ok(), "{ok:?}");
        let bad = MetricsConfig {
            allow: vec!["10.0.0.0/33".into()],
            ..MetricsConfig::default()
        };
        let e = bad
            .access()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("metrics.allow"), "{e}");

        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let missing = MetricsConfig {
            token_file: Some(dir.path().join("nope")),
            ..MetricsConfig::default()
        };
        let e = missing
            .access()
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(
            e.contains("metrics.token_file") && e.contains("nope"),
            "{e}"
        );

        let short = dir.path().join("short");
        std::fs::write(&short, "tooshort\n").unwrap_or_else(|e| panic!("{e}"));
        let e = MetricsConfig {
            token_file: Some(short),
            ..MetricsConfig::default()
        }
        .access()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(e.contains("at least 24 characters"), "{e}");

        let good = dir.path().join("good");
        std::fs::write(&good, "  0123456789abcdef0123456789abcdef\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let access = MetricsConfig {
            token_file: Some(good),
            ..MetricsConfig::default()
        }
        .access();
        assert!(access.is_ok(), "{access:?}");
    }
}
