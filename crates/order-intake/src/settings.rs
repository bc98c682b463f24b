//! A tenant's order-intake settings: its accounts and its validation profiles (in force and
//! shadow), read from TOML text and validated whole: every problem at once, each naming its
//! file, path and line.

use std::collections::BTreeMap;
use waypost_orders::gates::{Catalogue, Profile, Profiles};
use waypost_orders::{Account, Accounts, Channel, Decimal, Order};
use waypost_store::SkuFacts;

/// What one tenant's orders are judged with.
#[derive(Clone, PartialEq)]
pub struct TenantOrders {
    pub accounts: Accounts,
    pub profiles: Profiles,
    /// Each account's resolved webhook secrets ([`TenantOrders::resolve_secrets`]).
    secrets: BTreeMap<String, Vec<Vec<u8>>>,
}

// Secrets must never reach a log line, so Debug is written by hand.
impl std::fmt::Debug for TenantOrders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantOrders")
            .field("accounts", &self.accounts)
            .field("profiles", &self.profiles)
            .field(
                "secrets",
                &format_args!("[{} accounts]", self.secrets.len()),
            )
            .finish()
    }
}

impl Default for TenantOrders {
    /// One catch-all account per channel, named after it (`shopify`, `api`, ...), and the
    /// built-in profile: a tenant that configured nothing can still take orders.
    fn default() -> Self {
        TenantOrders {
            accounts: Accounts::new(
                Channel::ALL
                    .into_iter()
                    .filter(|c| c.family() == *c)
                    .map(catch_all)
                    .collect(),
            ),
            profiles: Profiles::default(),
            secrets: BTreeMap::new(),
        }
    }
}

fn catch_all(channel: Channel) -> Account {
    Account {
        id: channel.as_str().to_string(),
        channel,
        refs: vec![],
        order_id: "{display_id}".into(),
        sla: BTreeMap::new(),
        express_services: vec![],
        vip_tags: vec![],
        vip_groups: vec![],
        all_high_priority: false,
        currency: None,
        webhook_secrets: vec![],
        x12: None,
    }
}

/// Settings that cannot be used, with every problem found.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{} problem(s) in the order-intake settings:\n  {}", problems.len(), problems.join("\n  "))]
pub struct SettingsError {
    pub problems: Vec<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountsFile {
    #[serde(default)]
    accounts: Vec<Account>,
}

impl TenantOrders {
    /// Reads an accounts file (`[[accounts]]`), a profile and an optional shadow profile.
    /// `names` are the files' names for messages. Channels without an account keep their
    /// catch-all.
    pub fn parse(
        accounts: Option<(&str, &str)>,
        profile: Option<(&str, &str)>,
        shadow: Option<(&str, &str)>,
    ) -> Result<TenantOrders, SettingsError> {
        let mut problems = Vec::new();
        let mut list = Vec::new();
        if let Some((name, text)) = accounts {
            match toml::from_str::<AccountsFile>(text) {
                Ok(f) => {
                    for a in &f.accounts {
                        problems.extend(a.problems().into_iter().map(|p| format!("{name}: {p}")));
                    }
                    let mut seen = std::collections::BTreeSet::new();
                    for a in &f.accounts {
                        if !seen.insert(a.id.clone()) {
                            problems.push(format!("{name}: account {:?} is listed twice", a.id));
                        }
                    }
                    list = f.accounts;
                }
                Err(e) => problems.push(format!("{name}: {}", e.to_string().trim_end())),
            }
        }
        for c in Channel::ALL.into_iter().filter(|c| c.family() == *c) {
            if !list.iter().any(|a| a.channel == c && a.refs.is_empty())
                && !list.iter().any(|a| a.id == c.as_str())
            {
                list.push(catch_all(c));
            }
        }
        let mut parse_profile = |file: Option<(&str, &str)>| -> Option<Profile> {
            let (name, text) = file?;
            match Profile::parse(text) {
                Ok(p) => Some(p),
                Err(ps) => {
                    problems.extend(ps.into_iter().map(|p| format!("{name}: {p}")));
                    None
                }
            }
        };
        let in_force = parse_profile(profile).unwrap_or_default();
        let shadow = parse_profile(shadow);
        if !problems.is_empty() {
            return Err(SettingsError { problems });
        }
        Ok(TenantOrders {
            accounts: Accounts::new(list),
            profiles: Profiles { in_force, shadow },
            secrets: BTreeMap::new(),
        })
    }

    /// Reads every account's `webhook_secrets` (`env:NAME` through `env`, `file:/path` from
    /// disk, else the text itself). Every unusable one is reported, named by account and index,
    /// never by value.
    pub fn resolve_secrets(
        &mut self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), SettingsError> {
        let mut problems = Vec::new();
        let mut out = BTreeMap::new();
        for a in self.accounts.iter() {
            let mut list = Vec::new();
            for (i, raw) in a.webhook_secrets.iter().enumerate() {
                let what = format!("accounts.{}.webhook_secrets[{i}]", a.id);
                let text = if let Some(var) = raw.strip_prefix("env:") {
                    match env(var) {
                        Some(v) => v,
                        None => {
                            problems.push(format!("{what}: environment variable {var} is not set"));
                            continue;
                        }
                    }
                } else if let Some(path) = raw.strip_prefix("file:") {
                    match std::fs::read_to_string(path) {
                        Ok(t) => t,
                        Err(e) => {
                            problems.push(format!("{what}: reading {path}: {e}"));
                            continue;
                        }
                    }
                } else {
                    raw.clone()
                };
                let text = text.trim();
                if text.is_empty() {
                    problems.push(format!("{what}: the secret is empty"));
                    continue;
                }
                list.push(text.as_bytes().to_vec());
            }
            if !list.is_empty() {
                out.insert(a.id.clone(), list);
            }
        }
        if !problems.is_empty() {
            return Err(SettingsError { problems });
        }
        self.secrets = out;
        Ok(())
    }

    /// The secrets a webhook of `channel` naming `reference` may be signed with: its
    /// account's (the one listing the reference, else the channel's catch-all).
    pub fn webhook_secrets(&self, channel: Channel, reference: Option<&str>) -> &[Vec<u8>] {
        self.accounts
            .find(channel, reference)
            .and_then(|a| self.secrets.get(&a.id))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Whether any account of `channel` takes signed webhooks.
    pub fn takes_signed(&self, channel: Channel) -> bool {
        self.accounts
            .iter()
            .any(|a| a.channel == channel && self.secrets.contains_key(&a.id))
    }
}

/// The book's answer about an order's SKUs, as the gates ask it.
pub(crate) struct BookCatalogue {
    facts: SkuFacts,
}

impl BookCatalogue {
    pub fn new(facts: SkuFacts) -> Self {
        BookCatalogue { facts }
    }

    /// SKUs of `order` whose stock (where tracked) is below what the order asks.
    pub fn short_skus(&self, order: &Order) -> Vec<String> {
        let mut want: BTreeMap<&str, Decimal> = BTreeMap::new();
        for l in &order.placed.lines {
            if let Some(s) = l.sku.as_deref() {
                *want.entry(s).or_default() += l.quantity;
            }
        }
        want.into_iter()
            .filter(|(sku, q)| self.available(sku).is_some_and(|a| a < *q))
            .map(|(s, _)| s.to_string())
            .collect()
    }
}

impl Catalogue for BookCatalogue {
    fn known(&self, sku: &str) -> Option<bool> {
        self.facts
            .has_catalogue
            .then(|| self.facts.known.iter().any(|k| k == sku))
    }

    fn available(&self, sku: &str) -> Option<Decimal> {
        self.facts
            .available
            .iter()
            .find(|(s, _)| s == sku)
            .and_then(|(_, n)| Decimal::try_from(*n).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_reported_with_its_file() {
        let err = TenantOrders::parse(
            Some((
                "acme-accounts.toml",
                "[[accounts]]\nid = \"Bad\"\nchannel = \"shopify\"\nsla = { default = \"soon\" }\n",
            )),
            Some(("acme-profile.toml", "[checks.nope]\noutcome = \"hold\"\n")),
            None,
        )
        .expect_err("three problems");
        assert!(err.problems.len() >= 3, "{err}");
        assert!(err.problems.iter().all(|p| p.starts_with("acme-")), "{err}");
    }

    #[test]
    fn a_tenant_without_settings_takes_every_channel() {
        let t = TenantOrders::default();
        for c in Channel::ALL {
            assert!(t.accounts.find(c, Some("anything")).is_some(), "{c}");
        }
    }
}
