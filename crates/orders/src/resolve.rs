//! Placing a channel's order in its tenant: which account sent it, its Waypost order id, the
//! promise when the payload has none, its priority. All of it from the tenant's account
//! settings, which are data (`[[accounts]]` in the orders settings file).

use crate::model::{Channel, ChannelOrder, Derived, Hint, Order, Priority};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use std::collections::BTreeMap;

/// One account: a store, marketplace seller or trading partner of the tenant on one channel.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The account's name in Waypost (profile layers, metrics, the queue): `[a-z0-9_.-]`.
    pub id: String,
    pub channel: Channel,
    /// The references payloads name this account by (`acme.myshopify.com`, the Woo site URL,
    /// `stores/abc123`, `A2EXAMPLE/ATVPDKIKX0DER`, an ISA sender id). An order whose reference
    /// no account lists goes to the channel's account with no `refs`, if there is one.
    #[serde(default)]
    pub refs: Vec<String>,
    /// How the Waypost order id is made: `{display_id}`, `{external_id}` and `{account}`
    /// are replaced. A payload that carries an order id (the generic schema) keeps its own.
    #[serde(default = "default_order_id")]
    pub order_id: String,
    /// Promise by service level, as a duration from the order's creation (`"2d"`, `"36h"`);
    /// `default` applies to service levels not listed.
    #[serde(default)]
    pub sla: BTreeMap<String, String>,
    /// Service levels (as sent, compared case-insensitively) that make an order high priority.
    #[serde(default)]
    pub express_services: Vec<String>,
    /// Tags and customer groups that make a customer a VIP (and the order high priority).
    #[serde(default)]
    pub vip_tags: Vec<String>,
    #[serde(default)]
    pub vip_groups: Vec<String>,
    /// Marketplace SLAs: every order of this account is high priority (Amazon Prime sellers).
    #[serde(default)]
    pub all_high_priority: bool,
    /// The currency of orders whose payload names none (X12 without `CUR`).
    #[serde(default)]
    pub currency: Option<String>,
    /// Secrets the channel signs this account's webhooks with (Shopify, WooCommerce), newest
    /// first while rotating: `env:NAME`, `file:/path`, or the secret itself. The service
    /// resolves them; they never appear in messages.
    #[serde(default)]
    pub webhook_secrets: Vec<String>,
    /// An X12 trading partner's agreement: which PO1 id qualifiers name the SKU, in preference
    /// order (default VP, BP, UP, MG, CB), and how many decimals prices sent without a point
    /// carry.
    #[serde(default)]
    pub x12: Option<X12Agreement>,
}

/// How a trading partner's 850s are read (`[accounts.x12]`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct X12Agreement {
    #[serde(default)]
    pub sku_qualifiers: Vec<String>,
    #[serde(default)]
    pub implied_decimals: Option<u32>,
}

impl X12Agreement {
    /// The reader's options under this agreement.
    pub fn options(&self) -> crate::channels::x12::X12Options {
        let mut o = crate::channels::x12::X12Options::default();
        if !self.sku_qualifiers.is_empty() {
            o.sku_qualifiers = self.sku_qualifiers.clone();
        }
        o.implied_decimals = self.implied_decimals;
        o
    }
}

fn default_order_id() -> String {
    "{display_id}".to_string()
}

/// A duration written as a number and a unit: `90m`, `36h`, `2d`.
pub fn parse_span(s: &str) -> Option<SignedDuration> {
    let s = s.trim();
    let unit = s.chars().last()?;
    let n: i64 = s[..s.len() - unit.len_utf8()].trim().parse().ok()?;
    let secs = match unit {
        'm' => n.checked_mul(60)?,
        'h' => n.checked_mul(3600)?,
        'd' => n.checked_mul(86_400)?,
        _ => return None,
    };
    (secs > 0).then(|| SignedDuration::from_secs(secs))
}

impl Account {
    /// Every problem with this account's settings at once, each naming the field.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if waypost_domain::SourceName::new(self.id.clone()).is_err() {
            out.push(format!(
                "accounts.{}.id: must match [a-z0-9][a-z0-9_.-]*",
                self.id
            ));
        }
        if self.channel.family() != self.channel {
            out.push(format!(
                "accounts.{}.channel: {} uploads take the {} channel's accounts; write channel = \"{}\"",
                self.id,
                self.channel,
                self.channel.family(),
                self.channel.family()
            ));
        }
        for (level, span) in &self.sla {
            if parse_span(span).is_none() {
                out.push(format!(
                    "accounts.{}.sla.{level}: {span:?} is not a duration like \"2d\", \"36h\" or \"90m\"",
                    self.id
                ));
            }
        }
        if !self.order_id.contains('{') {
            out.push(format!(
                "accounts.{}.order_id: {:?} names no field, so every order would get the same id; use {{display_id}} or {{external_id}}",
                self.id, self.order_id
            ));
        }
        out
    }

    fn sla_for(&self, service: Option<&str>) -> Option<(String, SignedDuration)> {
        let by_service = service.and_then(|s| {
            self.sla
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(s))
                .map(|(k, v)| (k.clone(), v))
        });
        let (level, span) =
            by_service.or_else(|| self.sla.get("default").map(|v| ("default".to_string(), v)))?;
        Some((level, parse_span(span)?))
    }
}

/// The tenant's accounts, looked up by channel and reference.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Accounts {
    list: Vec<Account>,
}

/// Why an order could not be placed in an account.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error(
        "no {channel} account lists {reference:?} in its refs, and no {channel} account without refs takes the rest; add it to an [[accounts]] entry of the orders settings"
    )]
    UnknownAccount { channel: Channel, reference: String },
    #[error("the order's id came out empty from the account's order_id template {template:?}")]
    EmptyOrderId { template: String },
}

impl Accounts {
    pub fn new(list: Vec<Account>) -> Self {
        Accounts { list }
    }

    pub fn iter(&self) -> impl Iterator<Item = &Account> {
        self.list.iter()
    }

    pub fn get(&self, id: &str) -> Option<&Account> {
        self.list.iter().find(|a| a.id == id)
    }

    /// The account a payload's reference names on `channel`: the one listing it, else the
    /// channel's catch-all (no `refs`).
    pub fn find(&self, channel: Channel, reference: Option<&str>) -> Option<&Account> {
        let listed = reference.and_then(|r| {
            self.list.iter().find(|a| {
                a.channel == channel.family() && a.refs.iter().any(|x| x.eq_ignore_ascii_case(r))
            })
        });
        listed.or_else(|| {
            self.list
                .iter()
                .find(|a| a.channel == channel.family() && a.refs.is_empty())
        })
    }

    /// Places `placed` in its account. `account` forces one (an import run for a named
    /// account); otherwise the payload's reference decides.
    pub fn resolve(
        &self,
        channel: Channel,
        placed: ChannelOrder,
        account: Option<&str>,
    ) -> Result<Order, ResolveError> {
        let acct = match account {
            Some(id) => self.get(id).filter(|a| a.channel == channel.family()),
            None => self.find(channel, placed.account_ref.as_deref()),
        };
        let Some(acct) = acct else {
            return Err(ResolveError::UnknownAccount {
                channel,
                reference: account
                    .map(str::to_string)
                    .or_else(|| placed.account_ref.clone())
                    .unwrap_or_default(),
            });
        };
        resolve_in(acct, channel, placed)
    }
}

/// Places an order in `acct`.
pub fn resolve_in(
    acct: &Account,
    channel: Channel,
    mut placed: ChannelOrder,
) -> Result<Order, ResolveError> {
    let order_id = match placed.order_id.clone().filter(|s| !s.trim().is_empty()) {
        Some(id) => id,
        None => {
            let display = placed
                .display_id
                .clone()
                .unwrap_or_else(|| placed.external_id.clone());
            acct.order_id
                .replace("{display_id}", &display)
                .replace("{external_id}", &placed.external_id)
                .replace("{account}", &acct.id)
        }
    };
    if order_id.trim().is_empty() {
        return Err(ResolveError::EmptyOrderId {
            template: acct.order_id.clone(),
        });
    }
    if placed.currency.is_none() {
        placed.currency = acct.currency.clone();
    }
    if let Some(a) = placed.ship_to.as_mut() {
        geocode(a);
    }
    let (promised_at, promise_from) = match placed.promised_at {
        Some(t) => (Some(t), Derived::Payload),
        None => match (
            placed.created_at,
            acct.sla_for(placed.service_level.as_deref()),
        ) {
            (Some(created), Some((level, span))) => (
                created.checked_add(span).ok(),
                Derived::Settings(format!("account {} SLA for {level:?}: {span:#}", acct.id)),
            ),
            _ => (None, Derived::Missing),
        },
    };
    let mut because = Vec::new();
    if acct.all_high_priority {
        because.push(format!("account {} is a marketplace SLA account", acct.id));
    }
    if let Some(s) = placed.service_level.as_deref()
        && acct
            .express_services
            .iter()
            .any(|e| e.eq_ignore_ascii_case(s))
    {
        because.push(format!("service level {s:?} is express"));
    }
    for h in &placed.hints {
        if matches!(h, Hint::Prime | Hint::Premium) {
            because.push(format!("channel flag {h:?}"));
        }
    }
    let vip_tag = placed
        .tags
        .iter()
        .find(|t| acct.vip_tags.iter().any(|v| v.eq_ignore_ascii_case(t)));
    let vip_group = placed
        .customer
        .group
        .as_ref()
        .filter(|g| acct.vip_groups.iter().any(|v| v == *g));
    let customer_tier = if let Some(t) = vip_tag {
        because.push(format!("tag {t:?} marks a VIP"));
        Some("vip".to_string())
    } else if let Some(g) = vip_group {
        because.push(format!("customer group {g:?} is VIP"));
        Some("vip".to_string())
    } else {
        None
    };
    let priority = if because.is_empty() {
        Priority::Standard
    } else {
        Priority::High
    };
    Ok(Order {
        channel,
        account: acct.id.clone(),
        order_id,
        placed,
        promised_at,
        promise_from,
        priority,
        priority_because: because,
        customer_tier,
    })
}

/// Gives a ship-to without coordinates those of its postal code or city, from the embedded
/// gazetteer, so the map shows the order from its first minute. Coordinates the channel sent
/// are kept.
fn geocode(a: &mut crate::model::Address) {
    if a.lat.is_some() && a.lon.is_some() {
        return;
    }
    let loc = waypost_domain::Location {
        city: a.city.clone(),
        region: a.region.clone(),
        postal_code: a.postal_code.clone(),
        country: a.country.clone(),
        lat: None,
        lon: None,
    };
    if let Some(p) = waypost_geo::Gazetteer::embedded().locate(&loc) {
        a.lat = Some(p.lat);
        a.lon = Some(p.lon);
    }
}

/// Convenience for tests and readers' docs: a timestamp from RFC 3339.
pub fn ts(s: &str) -> Option<Timestamp> {
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Line;

    fn shop() -> Account {
        Account {
            id: "acme-shop".into(),
            channel: Channel::Shopify,
            refs: vec!["acme.myshopify.com".into()],
            order_id: "{display_id}".into(),
            sla: [
                ("default".into(), "5d".into()),
                ("Express".into(), "1d".into()),
            ]
            .into_iter()
            .collect(),
            express_services: vec!["express".into()],
            vip_tags: vec!["VIP".into()],
            vip_groups: vec![],
            all_high_priority: false,
            currency: None,
            webhook_secrets: vec![],
            x12: None,
        }
    }

    fn placed() -> ChannelOrder {
        ChannelOrder {
            account_ref: Some("ACME.myshopify.com".into()),
            external_id: "450789469".into(),
            display_id: Some("#1001".into()),
            created_at: ts("2024-03-01T10:00:00Z"),
            service_level: Some("Express".into()),
            lines: vec![Line {
                sku: Some("A".into()),
                quantity: 2.into(),
                unit_price: Some("9.50".parse().unwrap_or_default()),
                ..Line::default()
            }],
            ..ChannelOrder::default()
        }
    }

    #[test]
    fn the_account_sla_gives_the_promise_and_express_the_priority() {
        let accts = Accounts::new(vec![shop()]);
        let o = accts
            .resolve(Channel::Shopify, placed(), None)
            .expect("resolves");
        assert_eq!(o.account, "acme-shop");
        assert_eq!(o.order_id, "#1001");
        assert_eq!(o.promised_at, ts("2024-03-02T10:00:00Z"));
        assert!(matches!(o.promise_from, Derived::Settings(_)));
        assert_eq!(o.priority, Priority::High);
        assert_eq!(o.value(), Some("19.00".parse().unwrap_or_default()));
    }

    #[test]
    fn a_ship_to_without_coordinates_is_geocoded_and_sent_ones_are_kept() {
        let accts = Accounts::new(vec![shop()]);
        let mut p = placed();
        p.ship_to = Some(crate::model::Address {
            city: Some("Newark".into()),
            region: Some("NJ".into()),
            postal_code: Some("07102".into()),
            country: Some("US".into()),
            ..crate::model::Address::default()
        });
        let o = accts
            .resolve(Channel::Shopify, p.clone(), None)
            .expect("resolves");
        let a = o.placed.ship_to.expect("ship-to");
        assert!(a.lat.is_some_and(|l| (40.0..41.5).contains(&l)), "{a:?}");
        if let Some(s) = p.ship_to.as_mut() {
            s.lat = Some(1.0);
            s.lon = Some(2.0);
        }
        let o = accts.resolve(Channel::Shopify, p, None).expect("resolves");
        assert_eq!(o.placed.ship_to.and_then(|a| a.lat), Some(1.0));
    }

    #[test]
    fn an_unknown_shop_is_named() {
        let mut a = shop();
        a.channel = Channel::Woocommerce;
        let err = Accounts::new(vec![a])
            .resolve(Channel::Shopify, placed(), None)
            .expect_err("no shopify account");
        assert!(err.to_string().contains("ACME.myshopify.com"), "{err}");
    }

    #[test]
    fn the_hash_ignores_reader_notes_but_not_content() {
        let accts = Accounts::new(vec![shop()]);
        let a = accts.resolve(Channel::Shopify, placed(), None).expect("a");
        let mut p = placed();
        p.read_notes.push(crate::model::ReadNote {
            at: "x".into(),
            note: "y".into(),
        });
        let b = accts.resolve(Channel::Shopify, p, None).expect("b");
        assert_eq!(a.content_hash(), b.content_hash());
        let mut p = placed();
        p.lines[0].quantity = 3.into();
        let c = accts.resolve(Channel::Shopify, p, None).expect("c");
        assert_ne!(a.content_hash(), c.content_hash());
    }

    #[test]
    fn settings_problems_are_all_reported() {
        let mut a = shop();
        a.id = "Bad Id".into();
        a.sla.insert("x".into(), "soon".into());
        a.order_id = "fixed".into();
        assert_eq!(a.problems().len(), 3, "{:?}", a.problems());
    }
}
