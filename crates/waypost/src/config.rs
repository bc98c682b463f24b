//! Configuration: defaults, then the TOML file (`--config`), then `WAYPOST_*` environment
//! variables (`WAYPOST_SERVER__LISTEN=...`), then flags; validated before anything starts.

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use waypost_store::Durability;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[derive(Default)]
pub struct Config {
    pub server: ServerConfig,
    pub store: StoreConfig,
    pub queue: QueueConfig,
    pub limits: LimitsConfig,
    /// Timeouts and caps of the HTTP edge, before any request is authenticated.
    pub edge: waypost_edge::EdgeConfig,
    pub log: LogConfig,
    /// Per tenant and source: how partners authenticate their webhook deliveries.
    pub webhooks: Vec<waypost_intake::settings::WebhookEntry>,
    /// Folders the server watches for vendor documents dropped as files.
    pub drops: Vec<waypost_intake::settings::DropEntry>,
    pub mappings: MappingsConfig,
    pub clock: ClockConfig,
    /// Dashboard logins: the throttle's budgets and delays, device cookies.
    pub auth: crate::auth_config::AuthConfig,
    /// Reverse proxies whose `X-Forwarded-For` (or `Forwarded`) names the real client.
    pub proxy: crate::auth_config::ProxyConfig,
    /// Who may scrape `/metrics`, and whether its gauges name tenants.
    pub metrics: crate::metrics_config::MetricsConfig,
    /// Exception rules (`docs/rules.md`): `[[rules]]` entries, checked by `waypost rules check`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<toml::Table>,
    /// Business calendars the rules count working time in: `[calendars.<name>]`.
    #[serde(skip_serializing_if = "toml::Table::is_empty")]
    pub calendars: toml::Table,
    /// Notifications: SMTP, SMS gateway, SSRF allow-list, templates, tenants' quiet hours and
    /// spend caps (`docs/notifications.md`).
    pub notify: crate::notify::config::NotifyConfig,
    /// Partners' APIs the server polls (`docs/connectors.md`).
    #[serde(skip_serializing)]
    pub connectors: Vec<waypost_connectors::ConnectorConfig>,
    /// Order intake: lane sizes and each tenant's accounts and validation profiles
    /// (`docs/orders.md`).
    pub orders: crate::orders_config::OrdersConfig,
    /// Sales channels' order APIs the server polls (`docs/orders.md`).
    #[serde(skip_serializing)]
    pub order_channels: Vec<waypost_connectors::OrderChannelConfig>,
    /// The file this was read from, to read again on a reload.
    #[serde(skip)]
    pub loaded_from: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: String,
    pub data_dir: PathBuf,
    /// HTTPS (and optionally mutual TLS) when present; plain HTTP otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<waypost_edge::tls::TlsConfig>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    pub durability: Durability,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    /// Events accepted but not yet applied before intake answers 429.
    pub max_events: u64,
    /// Requests waiting for the writer before intake answers 429.
    pub max_waiting_requests: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    pub max_body_bytes: usize,
    pub max_batch: usize,
    /// Bytes of webhook and `/v1/events` bodies one tenant may have being received at once.
    pub max_tenant_body_bytes: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: String,
    /// A tracing filter, like `info` or `waypost=debug,info`.
    pub level: String,
}

/// The time of the world the events describe. The default is the system clock; a demo against
/// the partner simulator follows the simulator's accelerated one (its `--print-config` writes
/// this section), so that rules such as "pending for 4 h" mean simulated hours.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClockConfig {
    /// World seconds per real second.
    pub speed: f64,
    /// The instant at which world and real time agree. Required when `speed` is not 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<jiff::Timestamp>,
    /// A simulator's `GET /clock` to follow instead (it may start later, or restart).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follow: Option<String>,
}

impl Default for ClockConfig {
    fn default() -> Self {
        ClockConfig {
            speed: 1.0,
            origin: None,
            follow: None,
        }
    }
}

impl ClockConfig {
    /// The engine's clock. Following a URL needs a tokio runtime; it stops with `stop`.
    pub fn clock(
        &self,
        stop: tokio::sync::watch::Receiver<bool>,
    ) -> std::sync::Arc<dyn waypost_engine::Clock> {
        if let Some(url) = &self.follow {
            return crate::clock::FollowClock::start(
                url.clone(),
                std::time::Duration::from_secs(2),
                stop,
            );
        }
        match self.origin {
            Some(origin) if self.speed != 1.0 => {
                std::sync::Arc::new(crate::clock::Scaled(waypost_engine::ScaledClock {
                    origin,
                    speed: self.speed,
                }))
            }
            _ => std::sync::Arc::new(crate::clock::SystemClock),
        }
    }
}

/// Tenants' mapping-table overrides (`<dir>/<tenant>/<source>.toml`, see `mappings.rs`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MappingsConfig {
    /// Unset means `<data_dir>/mappings`: the default follows `--data-dir`.
    pub dir: Option<PathBuf>,
    /// Carriers described as data by the operator (docs/carriers-as-data.md):
    /// `<formats_dir>/<source>.toml` with its table `<source>.mapping.toml`. Unset means
    /// `<data_dir>/formats`.
    pub formats_dir: Option<PathBuf>,
    /// The description fallback for codes no table knows (docs/mapping.md): applied when its
    /// confidence is at least `description_threshold`, else the event is quarantined with the
    /// proposal. `description_fallback = false` quarantines every unknown code.
    pub description_fallback: bool,
    pub description_threshold: f32,
    /// Per tenant: `[mappings.tenants.<tenant>] description_fallback / description_threshold`.
    pub tenants: std::collections::BTreeMap<String, TenantMappingConfig>,
}

impl Default for MappingsConfig {
    fn default() -> Self {
        MappingsConfig {
            dir: None,
            formats_dir: None,
            description_fallback: true,
            description_threshold: waypost_adapters::classify::DEFAULT_THRESHOLD,
            tenants: Default::default(),
        }
    }
}

/// A tenant's own description-fallback settings; what is left out is the global setting's.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TenantMappingConfig {
    pub description_fallback: Option<bool>,
    pub description_threshold: Option<f32>,
}

impl MappingsConfig {
    /// The threshold in force for everyone (`None`: the fallback off).
    pub fn default_threshold(&self) -> Option<f32> {
        self.description_fallback
            .then_some(self.description_threshold)
    }

    /// Tenants whose setting differs from the global one, with theirs.
    pub fn tenant_thresholds(&self) -> Vec<(String, Option<f32>)> {
        self.tenants
            .iter()
            .map(|(t, c)| {
                let on = c.description_fallback.unwrap_or(self.description_fallback);
                let at = c
                    .description_threshold
                    .unwrap_or(self.description_threshold);
                (t.clone(), on.then_some(at))
            })
            .collect()
    }

    fn validate(&self) -> anyhow::Result<()> {
        let check = |what: &str, t: f32| {
            if (0.0..=1.0).contains(&t) {
                Ok(())
            } else {
                Err(anyhow::anyhow!(
                    "{what} must be a confidence from 0 to 1, got {t}"
                ))
            }
        };
        check("mappings.description_threshold", self.description_threshold)?;
        for (tenant, c) in &self.tenants {
            waypost_domain::TenantId::new(tenant.as_str())
                .map_err(|e| anyhow::anyhow!("mappings.tenants.{tenant}: {e}"))?;
            if let Some(t) = c.description_threshold {
                check(
                    &format!("mappings.tenants.{tenant}.description_threshold"),
                    t,
                )?;
            }
        }
        Ok(())
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("data"),
            tls: None,
        }
    }
}
impl Default for QueueConfig {
    fn default() -> Self {
        let e = waypost_engine::EngineConfig::default();
        QueueConfig {
            max_events: e.max_queue_events,
            max_waiting_requests: e.max_waiting_submissions,
        }
    }
}
impl Default for LimitsConfig {
    fn default() -> Self {
        let l = waypost_api::ApiLimits::default();
        LimitsConfig {
            max_body_bytes: l.max_body_bytes,
            max_batch: l.input.max_batch,
            max_tenant_body_bytes: l.max_tenant_body_bytes,
        }
    }
}
impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: "text".into(),
            level: "info".into(),
        }
    }
}

/// Flags that override the file and the environment.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct CommonFlags {
    /// A TOML config file.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Where the embedded store keeps its files.
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
}

impl Config {
    pub fn load(flags: &CommonFlags, listen: Option<&str>) -> anyhow::Result<Config> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = &flags.config {
            if !path.exists() {
                bail!("config file {} does not exist", path.display());
            }
            fig = fig.merge(Toml::file(path));
        }
        // WAYPOST_LOG is the log filter (read by main); WAYPOST_TEST_* and WAYPOST_REQUIRE_PY
        // belong to the test harness (CI sets the latter for the whole run), and
        // WAYPOST_DEMO_PASSWORD is `waypost demo --password`, and WAYPOST_URL and WAYPOST_KEY
        // name the server `waypost orders` talks to: not configuration.
        fig = fig.merge(
            Env::prefixed("WAYPOST_")
                .filter(|k| {
                    let k = k.as_str().to_ascii_lowercase();
                    k != "log"
                        && k != "require_py"
                        && k != "demo_password"
                        && k != "url"
                        && k != "key"
                        && !k.starts_with("test_")
                })
                .split("__"),
        );
        if let Some(d) = &flags.data_dir {
            fig = fig.merge(("server.data_dir", d));
        }
        if let Some(l) = listen {
            fig = fig.merge(("server.listen", l));
        }
        // Carriers described as data become sources before anything names a source (connectors
        // and webhooks do, as the configuration is read).
        let formats_dir = fig
            .extract_inner::<Option<PathBuf>>("mappings.formats_dir")
            .ok()
            .flatten()
            .or_else(|| {
                fig.extract_inner::<PathBuf>("server.data_dir")
                    .ok()
                    .map(|d| d.join("formats"))
            });
        if let Some(dir) = formats_dir {
            crate::mappings::register_formats(&dir)?;
        }
        let mut cfg: Config = fig.extract().context("invalid configuration")?;
        cfg.validate()?;
        cfg.loaded_from = flags.config.clone();
        Ok(cfg)
    }

    /// Every tenant's order-intake settings, read from their files (relative to the
    /// configuration file's folder), with every problem at once.
    pub fn order_settings(
        &self,
    ) -> anyhow::Result<Vec<(waypost_domain::TenantId, waypost_order_intake::TenantOrders)>> {
        let base = self
            .loaded_from
            .as_deref()
            .and_then(std::path::Path::parent);
        // The environment is read here, in the binary, for `env:` webhook secrets.
        self.orders
            .load(base, &|v| std::env::var(v).ok())
            .map_err(|e| anyhow::anyhow!(e))
    }

    /// The exception rules, validated: every problem of every rule at once.
    pub fn rule_set(&self) -> anyhow::Result<waypost_rules::RuleSet> {
        let mut t = toml::Table::new();
        if !self.rules.is_empty() {
            t.insert(
                "rules".into(),
                toml::Value::Array(self.rules.iter().cloned().map(toml::Value::Table).collect()),
            );
        }
        if !self.calendars.is_empty() {
            t.insert(
                "calendars".into(),
                toml::Value::Table(self.calendars.clone()),
            );
        }
        waypost_rules::RuleSet::from_table(&t).map_err(|e| anyhow::anyhow!("exception rules:\n{e}"))
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        self.listen_addr()?;
        self.rule_set()?;
        self.auth.login.validate()?;
        self.proxy.trusted_proxies()?;
        self.metrics.access()?;
        if !(self.clock.speed.is_finite() && self.clock.speed > 0.0 && self.clock.speed <= 1e6) {
            bail!(
                "clock.speed must be a positive number of world seconds per second, at most 1000000, got {}",
                self.clock.speed
            );
        }
        if let Some(url) = &self.clock.follow {
            if self.clock.origin.is_some() || self.clock.speed != 1.0 {
                bail!("clock.follow ({url}) takes the speed and origin from there: set neither");
            }
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                bail!("clock.follow must be an http(s) URL, got {url:?}");
            }
        } else if self.clock.speed != 1.0 && self.clock.origin.is_none() {
            bail!(
                "clock.origin is required when clock.speed is {}: the instant at which world and real time agree",
                self.clock.speed
            );
        }
        if self.queue.max_events < 1000 {
            bail!(
                "queue.max_events must be at least 1000, got {}",
                self.queue.max_events
            );
        }
        if self.queue.max_waiting_requests < 16 {
            bail!(
                "queue.max_waiting_requests must be at least 16, got {}",
                self.queue.max_waiting_requests
            );
        }
        if !(1..=10_000).contains(&self.limits.max_batch) {
            bail!(
                "limits.max_batch must be between 1 and 10000, got {}",
                self.limits.max_batch
            );
        }
        if self.limits.max_body_bytes < 1024 {
            bail!(
                "limits.max_body_bytes must be at least 1024, got {}",
                self.limits.max_body_bytes
            );
        }
        if self.limits.max_tenant_body_bytes < self.limits.max_body_bytes {
            bail!(
                "limits.max_tenant_body_bytes must be at least limits.max_body_bytes ({}), got {}: a tenant must be able to send one body",
                self.limits.max_body_bytes,
                self.limits.max_tenant_body_bytes
            );
        }
        self.edge.validate()?;
        waypost_connectors::validate_all(&self.connectors)?;
        self.notify.validate()?;
        self.mappings.validate()?;
        if !matches!(self.log.format.as_str(), "text" | "json") {
            bail!("log.format must be text or json, got {:?}", self.log.format);
        }
        if let Some(tls) = &self.server.tls {
            // Read and parse the files now, so a bad path or key fails at start, not at the
            // first connection.
            waypost_edge::tls::load(tls)?;
        }
        Ok(())
    }

    pub fn listen_addr(&self) -> anyhow::Result<SocketAddr> {
        self.server
            .listen
            .parse()
            .with_context(|| format!("server.listen {:?} is not HOST:PORT", self.server.listen))
    }

    pub fn data_dir(&self) -> &Path {
        &self.server.data_dir
    }

    pub fn mappings_dir(&self) -> PathBuf {
        self.mappings
            .dir
            .clone()
            .unwrap_or_else(|| self.server.data_dir.join("mappings"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod edge_tests;

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closure signature, not ours
mod tests {
    use super::*;

    #[test]
    fn layers_file_then_env_then_flags() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "w.toml",
                "[server]\nlisten = \"127.0.0.1:9000\"\n[queue]\nmax_events = 5000\n",
            )?;
            jail.set_env("WAYPOST_QUEUE__MAX_EVENTS", "7000");
            jail.set_env("WAYPOST_MAPPINGS__DIR", "/etc/waypost/mappings");
            // Not configuration: the log filter and the test harness's service URLs.
            jail.set_env("WAYPOST_LOG", "debug");
            jail.set_env("WAYPOST_TEST_PG_URL", "postgres://x");
            jail.set_env("WAYPOST_REQUIRE_PY", "1");
            jail.set_env("WAYPOST_DEMO_PASSWORD", "not configuration");
            let flags = CommonFlags {
                config: Some("w.toml".into()),
                data_dir: Some("/tmp/x".into()),
            };
            let cfg = Config::load(&flags, None).map_err(|e| e.to_string())?;
            assert_eq!(cfg.server.listen, "127.0.0.1:9000");
            assert_eq!(cfg.queue.max_events, 7000);
            assert_eq!(cfg.server.data_dir, PathBuf::from("/tmp/x"));
            assert_eq!(cfg.mappings_dir(), PathBuf::from("/etc/waypost/mappings"));
            let cfg = Config::load(&flags, Some("0.0.0.0:1")).map_err(|e| e.to_string())?;
            assert_eq!(cfg.server.listen, "0.0.0.0:1");
            Ok(())
        });
    }

    #[test]
    fn mappings_dir_follows_the_data_dir_unless_set() {
        figment::Jail::expect_with(|_jail| {
            let flags = CommonFlags {
                config: None,
                data_dir: Some("/srv/wp".into()),
            };
            let cfg = Config::load(&flags, None).map_err(|e| e.to_string())?;
            assert_eq!(cfg.mappings_dir(), PathBuf::from("/srv/wp/mappings"));
            Ok(())
        });
    }

    #[test]
    fn rejects_unknown_keys_and_bad_values() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "[server]\nlisen = \"x\"\n")?;
            let flags = CommonFlags {
                config: Some("bad.toml".into()),
                data_dir: None,
            };
            let err = Config::load(&flags, None).unwrap_err();
            assert!(format!("{err:#}").contains("lisen"), "{err:#}");
            jail.create_file("bad2.toml", "[server]\nlisten = \"nowhere\"\n")?;
            let flags = CommonFlags {
                config: Some("bad2.toml".into()),
                data_dir: None,
            };
            assert!(Config::load(&flags, None).is_err());
            Ok(())
        });
    }

    #[test]
    fn a_clock_is_the_system_one_a_scaled_one_or_followed_never_half_said() {
        let load = |jail: &mut figment::Jail, text: &str| {
            jail.create_file("c.toml", text)?;
            let flags = CommonFlags {
                config: Some("c.toml".into()),
                data_dir: None,
            };
            Ok::<_, figment::Error>(Config::load(&flags, None).map_err(|e| format!("{e:#}")))
        };
        figment::Jail::expect_with(|jail| {
            let ok = load(
                jail,
                "[clock]\nspeed = 1440.0\norigin = \"2026-11-26T15:00:00Z\"\n",
            )?;
            assert_eq!(ok.map(|c| c.clock.speed), Ok(1440.0));
            let err = load(jail, "[clock]\nspeed = 1440.0\n")?.unwrap_err();
            assert!(err.contains("clock.origin is required"), "{err}");
            let err = load(
                jail,
                "[clock]\nspeed = -1.0\norigin = \"2026-11-26T15:00:00Z\"\n",
            )?
            .unwrap_err();
            assert!(err.contains("clock.speed must be a positive"), "{err}");
            let err =
                load(jail, "[clock]\nfollow = \"http://x/clock\"\nspeed = 2.0\n")?.unwrap_err();
            assert!(err.contains("set neither"), "{err}");
            let err = load(jail, "[clock]\nfollow = \"x/clock\"\n")?.unwrap_err();
            assert!(err.contains("http(s) URL"), "{err}");
            Ok(())
        });
    }
}
