//! `[[connectors]]`: one entry per partner account to poll. Every field has a default except
//! `name`, `tenant`, `source`, `base_url` and the credentials the partner needs. Durations are
//! written as a whole number of seconds or as a string with a unit: `"250ms"`, `"30s"`, `"15m"`,
//! `"6h"`. `validate` names the first bad field of the first bad entry.

use crate::policy::breaker::BreakerConfig;
use crate::policy::schedule::ScheduleConfig;
use serde::Deserialize;
use std::fmt;
use std::time::Duration;
use waypost_adapters::Source;
use waypost_domain::TenantId;

/// A credential. Its `Debug` never shows it, so a config can be logged.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(hidden)")
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// OAuth2 client id (UPS, FedEx, USPS).
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<Secret>,
    /// API key (DHL's `DHL-API-Key`, the WMS's bearer key).
    #[serde(default)]
    pub api_key: Option<Secret>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorConfig {
    /// Unique among connectors; shown in health and metrics (`[a-z0-9][a-z0-9_.-]*`).
    pub name: String,
    /// Whose account this is: every document fetched is ingested for this tenant.
    pub tenant: TenantId,
    /// `ups`, `fedex`, `usps`, `dhl` (tracking APIs) or `wms` (a changes feed).
    #[serde(deserialize_with = "source")]
    pub source: Source,
    /// The partner's base URL; the contract's paths are appended to it.
    pub base_url: String,
    #[serde(default)]
    pub credentials: Credentials,
    /// Sustained requests per second allowed to this partner, and the burst above it.
    #[serde(default = "d::rate")]
    pub rate_per_sec: f64,
    #[serde(default = "d::burst")]
    pub burst: u32,
    /// Per request, connect to last body byte.
    #[serde(default = "d::timeout", with = "duration")]
    pub timeout: Duration,
    /// Retries of a transient failure (connect error, timeout, 5xx, 429) within one poll.
    #[serde(default = "d::max_retries")]
    pub max_retries: u32,
    #[serde(default = "d::backoff_base", with = "duration")]
    pub backoff_base: Duration,
    #[serde(default = "d::backoff_cap", with = "duration")]
    pub backoff_cap: Duration,
    /// Consecutive failures that open the breaker.
    #[serde(default = "d::breaker_failures")]
    pub breaker_failures: u32,
    /// Error rate over `breaker_window` (with at least `breaker_min_requests`) that opens it.
    #[serde(default = "d::breaker_error_rate")]
    pub breaker_error_rate: f64,
    #[serde(default = "d::breaker_min_requests")]
    pub breaker_min_requests: u32,
    #[serde(default = "d::breaker_window", with = "duration")]
    pub breaker_window: Duration,
    /// How long an open breaker sends nothing before one trial.
    #[serde(default = "d::breaker_cool_off", with = "duration")]
    pub breaker_cool_off: Duration,
    /// Carriers: how often each shipment is polled, by status.
    #[serde(default)]
    pub schedule: ScheduleConfig,
    /// Carriers: tracking numbers per request (FedEx up to 30; the others take 1).
    #[serde(default)]
    pub batch_size: Option<usize>,
    /// Requests in flight at once to this partner.
    #[serde(default = "d::concurrency")]
    pub concurrency: usize,
    /// Refresh an OAuth2 token when this fraction of its lifetime has passed.
    #[serde(default = "d::token_refresh_at")]
    pub token_refresh_at: f64,
    /// Feed: events per page (`limit`, at most 500).
    #[serde(default = "d::page_limit")]
    pub page_limit: u32,
    /// Feed: poll period while the partner's webhooks flow.
    #[serde(default = "d::interval", with = "duration")]
    pub interval: Duration,
    /// Feed: poll period once no webhook was seen for `webhook_quiet_after`.
    #[serde(default = "d::catch_up_interval", with = "duration")]
    pub catch_up_interval: Duration,
    #[serde(default = "d::webhook_quiet_after", with = "duration")]
    pub webhook_quiet_after: Duration,
}

mod d {
    use std::time::Duration;
    pub fn rate() -> f64 {
        5.0
    }
    pub fn burst() -> u32 {
        10
    }
    pub fn timeout() -> Duration {
        Duration::from_secs(10)
    }
    pub fn max_retries() -> u32 {
        3
    }
    pub fn backoff_base() -> Duration {
        Duration::from_millis(200)
    }
    pub fn backoff_cap() -> Duration {
        Duration::from_secs(30)
    }
    pub fn breaker_failures() -> u32 {
        5
    }
    pub fn breaker_error_rate() -> f64 {
        0.5
    }
    pub fn breaker_min_requests() -> u32 {
        20
    }
    pub fn breaker_window() -> Duration {
        Duration::from_secs(60)
    }
    pub fn breaker_cool_off() -> Duration {
        Duration::from_secs(30)
    }
    pub fn concurrency() -> usize {
        4
    }
    pub fn token_refresh_at() -> f64 {
        0.8
    }
    pub fn page_limit() -> u32 {
        500
    }
    pub fn interval() -> Duration {
        Duration::from_secs(5 * 60)
    }
    pub fn catch_up_interval() -> Duration {
        Duration::from_secs(10)
    }
    pub fn webhook_quiet_after() -> Duration {
        Duration::from_secs(15 * 60)
    }
}

/// A config entry that cannot be used, naming the entry and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("connectors[{connector}].{field}: {message}")]
pub struct ConfigError {
    pub connector: String,
    pub field: &'static str,
    pub message: String,
}

/// Sources with a polling API in the partner contract: the carriers, and the WMS's feed.
pub const POLLED: [Source; 5] = {
    let [a, b, c, d] = Source::POLLED_CARRIERS;
    [a, b, c, d, Source::Wms]
};

/// Most tracking numbers one request may carry.
pub fn max_batch(source: Source) -> usize {
    match source {
        Source::Fedex => 30,
        _ => 1,
    }
}

impl ConnectorConfig {
    /// A config with every default, for tests and for building one in code.
    pub fn new(name: &str, tenant: TenantId, source: Source, base_url: &str) -> Self {
        Self {
            name: name.to_owned(),
            tenant,
            source,
            base_url: base_url.to_owned(),
            credentials: Credentials::default(),
            rate_per_sec: d::rate(),
            burst: d::burst(),
            timeout: d::timeout(),
            max_retries: d::max_retries(),
            backoff_base: d::backoff_base(),
            backoff_cap: d::backoff_cap(),
            breaker_failures: d::breaker_failures(),
            breaker_error_rate: d::breaker_error_rate(),
            breaker_min_requests: d::breaker_min_requests(),
            breaker_window: d::breaker_window(),
            breaker_cool_off: d::breaker_cool_off(),
            schedule: ScheduleConfig::default(),
            batch_size: None,
            concurrency: d::concurrency(),
            token_refresh_at: d::token_refresh_at(),
            page_limit: d::page_limit(),
            interval: d::interval(),
            catch_up_interval: d::catch_up_interval(),
            webhook_quiet_after: d::webhook_quiet_after(),
        }
    }

    pub fn batch(&self) -> usize {
        self.batch_size.unwrap_or(max_batch(self.source))
    }

    pub fn breaker(&self) -> BreakerConfig {
        BreakerConfig {
            failures: self.breaker_failures,
            error_rate: self.breaker_error_rate,
            min_requests: self.breaker_min_requests,
            window: self.breaker_window,
            cool_off: self.breaker_cool_off,
        }
    }

    fn err(&self, field: &'static str, message: impl Into<String>) -> ConfigError {
        ConfigError {
            connector: self.name.clone(),
            field,
            message: message.into(),
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if waypost_domain::SourceName::new(self.name.as_str()).is_err() {
            return Err(self.err("name", "must match [a-z0-9][a-z0-9_.-]*"));
        }
        if !POLLED.contains(&self.source) {
            return Err(self.err(
                "source",
                format!(
                    "{} has no polling API here; one of {}",
                    self.source.name(),
                    POLLED.map(Source::name).join(", ")
                ),
            ));
        }
        match reqwest::Url::parse(&self.base_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            Ok(_) => return Err(self.err("base_url", "must be an http or https URL with a host")),
            Err(e) => return Err(self.err("base_url", e.to_string())),
        }
        let c = &self.credentials;
        let filled = |s: &Option<Secret>| s.as_ref().is_some_and(|s| !s.expose().is_empty());
        match self.source {
            Source::Dhl | Source::Wms if !filled(&c.api_key) => {
                return Err(self.err("credentials.api_key", "required for this source"));
            }
            Source::Ups | Source::Fedex | Source::Usps => {
                if c.client_id.as_deref().is_none_or(str::is_empty) {
                    return Err(self.err("credentials.client_id", "required for this source"));
                }
                if !filled(&c.client_secret) {
                    return Err(self.err("credentials.client_secret", "required for this source"));
                }
            }
            _ => {}
        }
        if !(self.rate_per_sec.is_finite() && self.rate_per_sec > 0.0) {
            return Err(self.err("rate_per_sec", "must be a positive number"));
        }
        if self.burst == 0 {
            return Err(self.err("burst", "must be at least 1"));
        }
        if self.timeout.is_zero() {
            return Err(self.err("timeout", "must be positive"));
        }
        if self.backoff_base.is_zero() {
            return Err(self.err("backoff_base", "must be positive"));
        }
        if self.backoff_cap < self.backoff_base {
            return Err(self.err("backoff_cap", "must be at least backoff_base"));
        }
        if !(self.breaker_error_rate > 0.0 && self.breaker_error_rate <= 1.0) {
            return Err(self.err("breaker_error_rate", "must be in (0, 1]"));
        }
        if self.breaker_cool_off.is_zero() {
            return Err(self.err("breaker_cool_off", "must be positive"));
        }
        let s = &self.schedule;
        if s.fast.is_zero() {
            return Err(self.err("schedule.fast", "must be positive"));
        }
        if s.normal < s.fast {
            return Err(self.err("schedule.normal", "must be at least schedule.fast"));
        }
        if s.slow < s.normal {
            return Err(self.err("schedule.slow", "must be at least schedule.normal"));
        }
        let max = max_batch(self.source);
        if self.batch_size.is_some_and(|b| b == 0 || b > max) {
            return Err(self.err(
                "batch_size",
                match max {
                    1 => format!("{} takes one number per request", self.source.name()),
                    _ => format!(
                        "{} takes 1 to {max} numbers per request",
                        self.source.name()
                    ),
                },
            ));
        }
        if self.concurrency == 0 {
            return Err(self.err("concurrency", "must be at least 1"));
        }
        if !(self.token_refresh_at > 0.0 && self.token_refresh_at < 1.0) {
            return Err(self.err("token_refresh_at", "must be in (0, 1)"));
        }
        if self.page_limit == 0 || self.page_limit > 500 {
            return Err(self.err("page_limit", "must be 1 to 500"));
        }
        if self.interval.is_zero() {
            return Err(self.err("interval", "must be positive"));
        }
        if self.catch_up_interval.is_zero() || self.catch_up_interval > self.interval {
            return Err(self.err("catch_up_interval", "must be positive and at most interval"));
        }
        Ok(())
    }
}

/// Looks up an environment variable's value by name (`None`: not set).
pub type Env<'a> = dyn Fn(&str) -> Option<String> + 'a;

impl Secret {
    /// The secret itself from `env:NAME` (an environment variable, looked up by `env`) or
    /// `file:/path` (a file's contents, trimmed); any other text is the secret itself. The same
    /// forms as webhook secrets.
    pub(crate) fn resolve(&self, env: &Env<'_>) -> Result<Secret, String> {
        if let Some(var) = self.0.strip_prefix("env:") {
            env(var)
                .map(Secret)
                .ok_or_else(|| format!("environment variable {var} is not set"))
        } else if let Some(path) = self.0.strip_prefix("file:") {
            std::fs::read_to_string(path)
                .map(|t| Secret(t.trim().to_owned()))
                .map_err(|e| format!("reading {path}: {e}"))
        } else {
            Ok(self.clone())
        }
    }
}

impl ConnectorConfig {
    /// Replaces `env:`/`file:` references in the credentials by what they name, environment
    /// variables looked up by `env` (the binary passes the process's environment: a library
    /// reads none). Call before `validate`; an error names the field and the variable or file,
    /// never a secret.
    pub fn resolve_secrets(&mut self, env: &Env<'_>) -> Result<(), ConfigError> {
        let c = &self.credentials;
        let secret = c.client_secret.as_ref().map(|s| s.resolve(env)).transpose();
        let secret = secret.map_err(|m| self.err("credentials.client_secret", m))?;
        let key = c.api_key.as_ref().map(|s| s.resolve(env)).transpose();
        let key = key.map_err(|m| self.err("credentials.api_key", m))?;
        self.credentials.client_secret = secret;
        self.credentials.api_key = key;
        Ok(())
    }
}

/// Checks every entry, and that names are unique.
pub fn validate_all(configs: &[ConnectorConfig]) -> Result<(), ConfigError> {
    let mut seen = std::collections::BTreeSet::new();
    for c in configs {
        c.validate()?;
        if !seen.insert(c.name.as_str()) {
            return Err(c.err("name", "used by another connector"));
        }
    }
    Ok(())
}

fn source<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Source, D::Error> {
    let s = String::deserialize(d)?;
    s.parse().map_err(serde::de::Error::custom)
}

/// Durations as seconds (`30`) or text with a unit (`"250ms"`, `"30s"`, `"15m"`, `"6h"`).
pub mod duration {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Secs(u64),
        Text(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        match Raw::deserialize(d)? {
            Raw::Secs(s) => Ok(Duration::from_secs(s)),
            Raw::Text(t) => parse(&t).map_err(serde::de::Error::custom),
        }
    }

    pub fn parse(text: &str) -> Result<Duration, String> {
        let t = text.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let n: u64 = num
            .parse()
            .map_err(|_| format!("{text:?} is not a duration like 250ms, 30s, 15m or 6h"))?;
        let d = match unit.trim() {
            "ms" => Duration::from_millis(n),
            "" | "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            other => return Err(format!("{text:?}: unknown unit {other:?} (ms, s, m, h)")),
        };
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ups() -> ConnectorConfig {
        let mut c = ConnectorConfig::new(
            "ups-acme",
            TenantId::new("acme").expect("valid tenant"),
            Source::Ups,
            "http://127.0.0.1:9/ups",
        );
        c.credentials.client_id = Some("acme-ups".into());
        c.credentials.client_secret = Some(Secret::new("acme-ups-secret"));
        c
    }

    #[test]
    fn secrets_from_files_and_the_environment() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("ups.secret");
        std::fs::write(&path, "from-a-file\n").expect("writes");
        let mut c = ups();
        c.credentials.client_secret = Some(Secret::new(format!("file:{}", path.display())));
        c.credentials.api_key = Some(Secret::new("env:PATH"));
        let env = |name: &str| (name == "PATH").then(|| "/bin".to_owned());
        c.resolve_secrets(&env).expect("resolves");
        let got = c.credentials.client_secret.as_ref().map(Secret::expose);
        assert_eq!(got, Some("from-a-file"));
        assert_eq!(
            c.credentials.api_key.as_ref().map(Secret::expose),
            Some("/bin")
        );
        let mut c = ups();
        c.credentials.client_secret = Some(Secret::new("env:WAYPOST_SURELY_UNSET_VARIABLE"));
        let e = c.resolve_secrets(&env).expect_err("unset");
        assert_eq!(e.field, "credentials.client_secret");
        assert!(
            e.to_string().contains("WAYPOST_SURELY_UNSET_VARIABLE"),
            "{e}"
        );
    }

    #[test]
    fn durations_parse() {
        assert_eq!(duration::parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(duration::parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(duration::parse("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(duration::parse("6h"), Ok(Duration::from_secs(21_600)));
        assert_eq!(duration::parse("7"), Ok(Duration::from_secs(7)));
        assert!(duration::parse("5d").is_err());
        assert!(duration::parse("soon").is_err());
    }

    #[test]
    fn deserializes_with_defaults() {
        let c: ConnectorConfig = serde_json::from_value(serde_json::json!({
            "name": "fedex-acme", "tenant": "acme", "source": "fedex",
            "base_url": "https://apis.fedex.com",
            "credentials": {"client_id": "id", "client_secret": "s"},
            "timeout": "2s", "schedule": {"fast": "5m"}
        }))
        .expect("a valid entry");
        assert_eq!(c.timeout, Duration::from_secs(2));
        assert_eq!(c.schedule.fast, Duration::from_secs(300));
        assert_eq!(c.schedule.normal, ScheduleConfig::default().normal);
        assert_eq!(c.batch(), 30);
        assert_eq!(c.validate(), Ok(()));
        assert!(!format!("{c:?}").contains("\"s\""), "secrets never print");
    }

    #[test]
    fn unknown_fields_and_sources_are_refused() {
        let bad = serde_json::from_value::<ConnectorConfig>(serde_json::json!({
            "name": "x", "tenant": "acme", "source": "ups", "base_url": "http://h", "rate": 3
        }));
        assert!(bad.is_err());
        let bad = serde_json::from_value::<ConnectorConfig>(serde_json::json!({
            "name": "x", "tenant": "acme", "source": "pigeon", "base_url": "http://h"
        }));
        assert!(bad.err().is_some_and(|e| e.to_string().contains("pigeon")));
    }

    #[test]
    fn validate_names_the_field() {
        type Breaker = Box<dyn Fn(&mut ConnectorConfig)>;
        let cases: Vec<(&str, Breaker)> = vec![
            ("name", Box::new(|c| c.name = "Bad Name".into())),
            ("source", Box::new(|c| c.source = Source::Shippo)),
            ("base_url", Box::new(|c| c.base_url = "ftp://x".into())),
            (
                "credentials.client_secret",
                Box::new(|c| c.credentials.client_secret = None),
            ),
            ("rate_per_sec", Box::new(|c| c.rate_per_sec = 0.0)),
            ("burst", Box::new(|c| c.burst = 0)),
            ("timeout", Box::new(|c| c.timeout = Duration::ZERO)),
            (
                "backoff_cap",
                Box::new(|c| c.backoff_cap = Duration::from_millis(1)),
            ),
            ("batch_size", Box::new(|c| c.batch_size = Some(2))),
            (
                "schedule.slow",
                Box::new(|c| c.schedule.slow = Duration::from_secs(1)),
            ),
            ("page_limit", Box::new(|c| c.page_limit = 501)),
            ("token_refresh_at", Box::new(|c| c.token_refresh_at = 1.0)),
            (
                "catch_up_interval",
                Box::new(|c| c.catch_up_interval = Duration::from_secs(3600)),
            ),
        ];
        for (field, break_it) in cases {
            let mut c = ups();
            break_it(&mut c);
            let e = c.validate().expect_err(field);
            assert_eq!(e.field, field, "{e}");
        }
        let mut dhl = ups();
        dhl.source = Source::Dhl;
        assert_eq!(
            dhl.validate().map_err(|e| e.field),
            Err("credentials.api_key")
        );
        let twice = validate_all(&[ups(), ups()]).expect_err("duplicate names");
        assert_eq!(twice.field, "name");
    }
}
