//! `[notify]`: how notifications leave (SMTP server, SMS gateway), the SSRF allow-list,
//! templates, and each tenant's quiet hours, SMS spend cap and brand (`docs/notifications.md`).
//! Endpoints and subscriptions are data, managed through the API, not configuration.

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use waypost_dispatch::{SmsConfig, SmsProvider, SmtpConfig, TenantRules};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// Off: no notification is planned or sent.
    pub enabled: bool,
    /// Networks webhooks may reach although they are private, loopback, link-local, CGNAT or
    /// metadata addresses (CIDR, e.g. `10.20.0.0/16`). Empty: none.
    pub allow_networks: Vec<String>,
    /// Template overrides: `<dir>/<tenant or default>/<trigger>.{subject,txt,html,sms}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub templates: Option<PathBuf>,
    /// The public base of customers' tracking links: templates get
    /// `tracking_url = {public_url}/track/{token}`, the order's customer page (its random link
    /// token). None: no links.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// Sends in flight at once, over every endpoint.
    pub concurrency: usize,
    /// Sends in flight at once to one endpoint.
    pub per_endpoint: usize,
    /// Delays before each retry (`5s`, `5m`, ...); the last is measured from the first attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry: Option<Vec<String>>,
    /// Consecutive failures after which an endpoint is left alone for `breaker_cool_off`
    /// (then probed with one notification).
    pub breaker_failures: u32,
    /// How long a tripped endpoint is left alone (`30s`, `2m`, `500ms`).
    pub breaker_cool_off: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp: Option<SmtpSection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms: Option<SmsSection>,
    /// Per tenant: `[notify.tenants.<tenant>]`.
    pub tenants: BTreeMap<String, TenantSection>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            enabled: true,
            allow_networks: Vec::new(),
            templates: None,
            public_url: None,
            concurrency: 64,
            per_endpoint: 8,
            retry: None,
            breaker_failures: 5,
            breaker_cool_off: "30s".into(),
            smtp: None,
            sms: None,
            tenants: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSection {
    pub host: String,
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    /// `starttls` (the default), `tls` (implicit, port 465) or `none` (a local relay only).
    #[serde(default = "default_smtp_mode")]
    pub mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// The From address, e.g. `Acme Orders <orders@acme.example>`.
    pub from: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_smtp_port() -> u16 {
    587
}
fn default_smtp_mode() -> String {
    "starttls".into()
}
fn default_timeout_ms() -> u64 {
    10_000
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsSection {
    /// `twilio` (the built-in, Twilio-compatible request) or `http` (a templated request).
    pub provider: String,
    /// The sender number or id.
    pub from: String,
    /// Twilio: the API base (default `https://api.twilio.com`), account SID and auth token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_token: Option<String>,
    /// http: the URL, method, headers, body template (`{{to}}`, `{{from}}`, `{{body}}`,
    /// `{{id}}`) and its content type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// What one segment costs, in cents (for the daily spend caps).
    #[serde(default = "default_segment_cents")]
    pub cents_per_segment: u64,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_segment_cents() -> u64 {
    1
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TenantSection {
    /// The tenant's IANA time zone (quiet hours and the spend cap's day): default UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// `HH:MM-HH:MM` in the tenant's zone: SMS wait until it ends (email and webhooks don't).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<String>,
    /// Most SMS spend per local day, in cents. Past it SMS are skipped and logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms_daily_cap_cents: Option<u64>,
    /// The name, logo URL and colour emails show.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand_logo: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand_color: Option<String>,
}

impl NotifyConfig {
    pub fn validate(&self) -> anyhow::Result<()> {
        self.address_policy()?;
        if let Some(u) = &self.public_url {
            let parsed =
                url::Url::parse(u).map_err(|e| anyhow::anyhow!("notify.public_url {u:?}: {e}"))?;
            if !matches!(parsed.scheme(), "https" | "http") {
                bail!("notify.public_url must be an http(s) URL, got {u:?}");
            }
        }
        if !(1..=4096).contains(&self.concurrency) {
            bail!(
                "notify.concurrency must be 1 to 4096, got {}",
                self.concurrency
            );
        }
        if !(1..=256).contains(&self.per_endpoint) {
            bail!(
                "notify.per_endpoint must be 1 to 256, got {}",
                self.per_endpoint
            );
        }
        self.retry_policy()?;
        if self.breaker_failures == 0 {
            bail!("notify.breaker_failures must be at least 1");
        }
        self.breaker_cool_off()?;
        if let Some(s) = &self.smtp {
            if !matches!(s.mode.as_str(), "starttls" | "tls" | "none") {
                bail!(
                    "notify.smtp.mode must be starttls, tls or none, got {:?}",
                    s.mode
                );
            }
            if s.username.is_some() != s.password.is_some() {
                bail!("notify.smtp: username and password go together");
            }
        }
        if let Some(s) = &self.sms {
            match s.provider.as_str() {
                "twilio" if s.account_sid.is_none() || s.auth_token.is_none() => {
                    bail!("notify.sms: the twilio provider needs account_sid and auth_token")
                }
                "http" if s.url.is_none() || s.body.is_none() => {
                    bail!("notify.sms: the http provider needs url and body")
                }
                "twilio" | "http" => {}
                other => bail!("notify.sms.provider must be twilio or http, got {other:?}"),
            }
        }
        for (tenant, t) in &self.tenants {
            waypost_domain::TenantId::new(tenant.clone())
                .map_err(|e| anyhow::anyhow!("notify.tenants.{tenant}: {e}"))?;
            self.tenant_rules(tenant, t)
                .with_context(|| format!("notify.tenants.{tenant}"))?;
        }
        Ok(())
    }

    pub fn address_policy(&self) -> anyhow::Result<waypost_notify::AddressPolicy> {
        waypost_notify::AddressPolicy::with_allowed(&self.allow_networks)
            .map_err(|e| anyhow::anyhow!("notify.allow_networks: {e}"))
    }

    pub fn retry_policy(&self) -> anyhow::Result<waypost_notify::RetryPolicy> {
        match &self.retry {
            None => Ok(waypost_notify::RetryPolicy::default()),
            Some(steps) => {
                let mut out = Vec::new();
                for s in steps {
                    let d = retry_step(s)?;
                    out.push(d);
                }
                if out.is_empty() {
                    bail!("notify.retry must list at least one delay");
                }
                Ok(waypost_notify::RetryPolicy {
                    steps: out,
                    horizon: None,
                })
            }
        }
    }

    pub fn breaker_cool_off(&self) -> anyhow::Result<std::time::Duration> {
        retry_step(&self.breaker_cool_off).context("notify.breaker_cool_off")
    }

    /// A tenant's quiet hours and spend cap, checked.
    pub fn tenant_rules(&self, _tenant: &str, t: &TenantSection) -> anyhow::Result<TenantRules> {
        let zone = t.timezone.as_deref().unwrap_or("UTC");
        let tz =
            jiff::tz::TimeZone::get(zone).map_err(|e| anyhow::anyhow!("timezone {zone:?}: {e}"))?;
        let quiet = t
            .quiet_hours
            .as_deref()
            .map(|q| waypost_notify::QuietHours::parse(q, zone).map_err(anyhow::Error::from))
            .transpose()?;
        let cents = self.sms.as_ref().map_or(1, |s| s.cents_per_segment);
        let cap = t
            .sms_daily_cap_cents
            .map(|per_day| waypost_notify::SpendCap {
                per_day_cents: per_day,
                cents_per_segment: cents,
                tz: tz.clone(),
            });
        Ok(TenantRules {
            quiet,
            cap,
            brand: t.brand_name.clone(),
        })
    }
}

/// One retry delay: a duration like `5s`, `5m`, `2h` (the rules' syntax) or milliseconds,
/// `200ms` (short schedules for tests and local receivers).
fn retry_step(s: &str) -> anyhow::Result<std::time::Duration> {
    let d = match s.trim().strip_suffix("ms") {
        Some(ms) if !ms.is_empty() && ms.bytes().all(|b| b.is_ascii_digit()) => ms
            .parse::<u64>()
            .map(std::time::Duration::from_millis)
            .map_err(|e| anyhow::anyhow!("notify.retry: {s:?}: {e}"))?,
        _ => {
            let d = waypost_rules::parse_duration(s)
                .map_err(|e| anyhow::anyhow!("notify.retry: {s:?}: {e}"))?;
            std::time::Duration::try_from(d).unwrap_or_default()
        }
    };
    if d.is_zero() {
        bail!("notify.retry: {s:?} must be positive");
    }
    Ok(d)
}

/// The test-only fault point (`WAYPOST_TEST_FAULT=notify-after-send`): the process dies right
/// after a receiver accepted a notification and before its mark is written.
pub const FAULT_AFTER_SEND: &str = "notify-after-send";

impl NotifyConfig {
    /// What the dispatcher is started with. `fault` is `WAYPOST_TEST_FAULT`, read by the caller.
    pub fn settings(
        &self,
        fault: Option<&str>,
    ) -> anyhow::Result<waypost_dispatch::wired::Settings> {
        let mut tenants = std::collections::HashMap::new();
        for (name, t) in &self.tenants {
            tenants.insert(name.clone(), self.tenant_rules(name, t)?);
        }
        let templates = match &self.templates {
            Some(dir) => waypost_dispatch::load_templates(dir)?,
            None => waypost_notify::Templates::builtin(),
        };
        let tracking_url = self.public_url.clone().map(|base| {
            Arc::new(move |token: &str| waypost_api::tracking_url(&base, token))
                as waypost_dispatch::TrackingUrl
        });
        Ok(waypost_dispatch::wired::Settings {
            address_policy: self.address_policy()?,
            smtp: self
                .smtp
                .as_ref()
                .map(SmtpSection::to_config)
                .transpose()
                .context("notify.smtp")?,
            sms: self
                .sms
                .as_ref()
                .map(SmsSection::to_config)
                .transpose()
                .context("notify.sms")?,
            retry: self.retry_policy()?,
            tenants,
            templates,
            tracking_url,
            concurrency: self.concurrency,
            per_endpoint: self.per_endpoint,
            breaker_failures: self.breaker_failures,
            breaker_cool_off: self.breaker_cool_off()?,
            abort_after_send: fault == Some(FAULT_AFTER_SEND),
        })
    }
}

impl SmtpSection {
    /// The section as the SMTP sender takes it.
    pub fn to_config(&self) -> anyhow::Result<SmtpConfig> {
        Ok(SmtpConfig {
            host: self.host.clone(),
            port: self.port,
            mode: self.mode.parse()?,
            username: self.username.clone(),
            password: self.password.clone(),
            from: self.from.clone(),
            reply_to: self.reply_to.clone(),
            list_unsubscribe: None,
            timeout: Duration::from_millis(self.timeout_ms),
            hello_name: None,
        })
    }
}

impl SmsSection {
    /// The section as the SMS sender takes it.
    pub fn to_config(&self) -> anyhow::Result<SmsConfig> {
        let provider = match self.provider.as_str() {
            "twilio" => SmsProvider::Twilio {
                base_url: self
                    .base_url
                    .clone()
                    .unwrap_or_else(|| "https://api.twilio.com".into()),
                account_sid: self.account_sid.clone().context("account_sid")?,
                auth_token: self.auth_token.clone().context("auth_token")?,
                from: self.from.clone(),
            },
            "http" => SmsProvider::Http {
                url: self.url.clone().context("url")?,
                method: self.method.clone().unwrap_or_else(|| "POST".into()),
                headers: self
                    .headers
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                body_template: self.body.clone().context("body")?,
                content_type: self
                    .content_type
                    .clone()
                    .unwrap_or_else(|| "application/json".into()),
                from: self.from.clone(),
            },
            other => bail!("provider {other:?} is not twilio or http"),
        };
        Ok(SmsConfig {
            provider,
            timeout: Duration::from_millis(self.timeout_ms),
        })
    }
}
