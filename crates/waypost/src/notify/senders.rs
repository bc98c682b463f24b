//! `[notify.smtp]`, `[notify.sms]` and the templates folder, turned into what the dispatcher
//! and the notification crate take.

use super::config::{SmsSection, SmtpSection};
use anyhow::{Context as _, bail};
use std::path::Path;
use std::time::Duration;
use waypost_dispatch::{SmsConfig, SmsProvider, SmtpConfig};
use waypost_notify::{TemplateKey, Templates};

pub fn smtp(s: &SmtpSection) -> anyhow::Result<SmtpConfig> {
    Ok(SmtpConfig {
        host: s.host.clone(),
        port: s.port,
        mode: s.mode.parse()?,
        username: s.username.clone(),
        password: s.password.clone(),
        from: s.from.clone(),
        reply_to: s.reply_to.clone(),
        list_unsubscribe: None,
        timeout: Duration::from_millis(s.timeout_ms),
        hello_name: None,
    })
}

pub fn sms(s: &SmsSection) -> anyhow::Result<SmsConfig> {
    let provider = match s.provider.as_str() {
        "twilio" => SmsProvider::Twilio {
            base_url: s
                .base_url
                .clone()
                .unwrap_or_else(|| "https://api.twilio.com".into()),
            account_sid: s.account_sid.clone().context("account_sid")?,
            auth_token: s.auth_token.clone().context("auth_token")?,
            from: s.from.clone(),
        },
        "http" => SmsProvider::Http {
            url: s.url.clone().context("url")?,
            method: s.method.clone().unwrap_or_else(|| "POST".into()),
            headers: s
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            body_template: s.body.clone().context("body")?,
            content_type: s
                .content_type
                .clone()
                .unwrap_or_else(|| "application/json".into()),
            from: s.from.clone(),
        },
        other => bail!("provider {other:?} is not twilio or http"),
    };
    Ok(SmsConfig {
        provider,
        timeout: Duration::from_millis(s.timeout_ms),
    })
}

/// Every `<scope>/<trigger>.<part>` file under `dir`, compiled and trial-rendered: a bad
/// template stops the start with its file named, not the first message that uses it.
pub fn load_templates(dir: &Path) -> anyhow::Result<Templates> {
    let mut files = Vec::new();
    let scopes = std::fs::read_dir(dir)
        .with_context(|| format!("notify.templates: reading {}", dir.display()))?;
    for scope in scopes {
        let scope = scope?;
        if !scope.file_type()?.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(scope.path())? {
            let file = file?;
            let path = file.path();
            let rel = format!(
                "{}/{}",
                scope.file_name().to_string_lossy(),
                file.file_name().to_string_lossy()
            );
            let key = TemplateKey::from_path(&rel)
                .with_context(|| format!("notify.templates: {}", path.display()))?;
            let source = std::fs::read_to_string(&path)
                .with_context(|| format!("notify.templates: reading {}", path.display()))?;
            files.push((key, source));
        }
    }
    Templates::load(files).map_err(|e| anyhow::anyhow!("notify.templates: {e}"))
}
