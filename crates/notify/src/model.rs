//! The vocabulary of notifications: channels, triggers, recipients, endpoints, subscriptions
//! and contacts, each validated once (`validate`) so the planner and the dispatcher trust them.
//! Every error names the field and the value that caused it (never a secret's value).

use crate::sms::{Phone, PhoneError};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use waypost_domain::{Status, TenantId};

/// The kind of transport a notification goes over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    Webhook,
    Email,
    Sms,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 3] = [ChannelKind::Webhook, ChannelKind::Email, ChannelKind::Sms];

    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Webhook => "webhook",
            ChannelKind::Email => "email",
            ChannelKind::Sms => "sms",
        }
    }
}

impl fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown channel kind {0:?}: expected one of webhook, email, sms")]
pub struct UnknownChannelKind(pub String);

impl FromStr for ChannelKind {
    type Err = UnknownChannelKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ChannelKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownChannelKind(s.to_string()))
    }
}

/// What makes a subscription fire: the order's status became `Status`, or an alert was raised
/// on it. Written as the status name (`"shipped"`) or `"alert.raised"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Trigger {
    Status(Status),
    AlertRaised,
}

impl Trigger {
    pub const ALERT_RAISED: &'static str = "alert.raised";

    /// Every trigger: the 20 statuses, then `alert.raised`.
    pub fn all() -> impl Iterator<Item = Trigger> {
        Status::ALL
            .into_iter()
            .map(Trigger::Status)
            .chain(std::iter::once(Trigger::AlertRaised))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Status(s) => s.as_str(),
            Trigger::AlertRaised => Self::ALERT_RAISED,
        }
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A trigger name that is none of the known ones; the message lists them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown trigger {0:?}: expected one of {list}", list = trigger_names())]
pub struct UnknownTrigger(pub String);

fn trigger_names() -> String {
    Trigger::all()
        .map(Trigger::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

impl FromStr for Trigger {
    type Err = UnknownTrigger;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == Self::ALERT_RAISED {
            return Ok(Trigger::AlertRaised);
        }
        s.parse::<Status>()
            .map(Trigger::Status)
            .map_err(|_| UnknownTrigger(s.to_string()))
    }
}

impl TryFrom<String> for Trigger {
    type Error = UnknownTrigger;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Trigger> for String {
    fn from(t: Trigger) -> String {
        t.as_str().to_string()
    }
}

/// Who an email or SMS goes to: the order's customer (from the order's attributes and their
/// contact record) or a fixed address/number given on the endpoint. Written `"customer"` or
/// the address itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Recipient {
    Customer,
    Fixed(String),
}

impl From<String> for Recipient {
    fn from(s: String) -> Self {
        if s == "customer" {
            Recipient::Customer
        } else {
            Recipient::Fixed(s)
        }
    }
}

impl From<Recipient> for String {
    fn from(r: Recipient) -> String {
        match r {
            Recipient::Customer => "customer".to_string(),
            Recipient::Fixed(s) => s,
        }
    }
}

/// A webhook signing secret, `whsec_<base64>`. Its `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    /// The secret as configured (`whsec_...`), for the signer.
    pub fn expose(&self) -> &str {
        &self.0
    }
    fn check(&self) -> Result<(), &'static str> {
        let Some(b64) = self.0.strip_prefix("whsec_") else {
            return Err("must start with whsec_");
        };
        match base64::engine::general_purpose::STANDARD.decode(b64) {
            Ok(key) if key.is_empty() => Err("key is empty"),
            Ok(_) => Ok(()),
            Err(_) => Err("the part after whsec_ is not base64"),
        }
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(whsec_***)")
    }
}

pub const DEFAULT_TIMEOUT_MS: u64 = 5_000;
/// Longest per-endpoint timeout: a slow receiver must not hold a dispatcher slot for minutes.
pub const MAX_TIMEOUT_MS: u64 = 30_000;

fn default_timeout_ms() -> u64 {
    DEFAULT_TIMEOUT_MS
}

/// Where and how to deliver, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum EndpointSpec {
    /// Every secret signs: the signature header carries one `v1,<sig>` per secret, so a
    /// receiver rotating keys accepts either.
    Webhook {
        url: String,
        secrets: Vec<WebhookSecret>,
        #[serde(default = "default_timeout_ms")]
        timeout_ms: u64,
    },
    Email {
        to: Recipient,
    },
    Sms {
        to: Recipient,
    },
}

impl EndpointSpec {
    pub fn kind(&self) -> ChannelKind {
        match self {
            EndpointSpec::Webhook { .. } => ChannelKind::Webhook,
            EndpointSpec::Email { .. } => ChannelKind::Email,
            EndpointSpec::Sms { .. } => ChannelKind::Sms,
        }
    }

    /// Checks everything that can be checked without the network: the URL (http or https,
    /// with a host), every secret, the timeout, a fixed email address or phone number.
    pub fn validate(&self) -> Result<(), ModelError> {
        match self {
            EndpointSpec::Webhook {
                url,
                secrets,
                timeout_ms,
            } => {
                check_url(url)?;
                if secrets.is_empty() {
                    return Err(ModelError::NoSecrets);
                }
                for (index, s) in secrets.iter().enumerate() {
                    s.check()
                        .map_err(|why| ModelError::InvalidSecret { index, why })?;
                }
                if *timeout_ms == 0 || *timeout_ms > MAX_TIMEOUT_MS {
                    return Err(ModelError::Timeout { value: *timeout_ms });
                }
                Ok(())
            }
            EndpointSpec::Email { to } => match to {
                Recipient::Fixed(addr) => check_email(addr),
                Recipient::Customer => Ok(()),
            },
            EndpointSpec::Sms { to } => match to {
                Recipient::Fixed(number) => Phone::parse(number)
                    .map(|_| ())
                    .map_err(|e| ModelError::Phone { field: "to", e }),
                Recipient::Customer => Ok(()),
            },
        }
    }
}

fn check_url(raw: &str) -> Result<(), ModelError> {
    let u = url::Url::parse(raw).map_err(|e| ModelError::Url {
        url: raw.to_string(),
        why: e.to_string(),
    })?;
    if u.scheme() != "http" && u.scheme() != "https" {
        return Err(ModelError::Url {
            url: raw.to_string(),
            why: format!("scheme {:?} is not http or https", u.scheme()),
        });
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(ModelError::Url {
            url: raw.to_string(),
            why: "no host".to_string(),
        });
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(ModelError::Url {
            url: raw.to_string(),
            why: "credentials in the URL are not allowed: use the signing secrets".to_string(),
        });
    }
    Ok(())
}

/// A deliberately loose check (one `@`, something on both sides, a dot in the domain, no
/// spaces or control characters): the SMTP server is the judge of the rest.
pub fn check_email(addr: &str) -> Result<(), ModelError> {
    let bad = || ModelError::Email {
        value: addr.to_string(),
    };
    let (local, domain) = addr.split_once('@').ok_or_else(bad)?;
    let ok = !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && addr.len() <= 254
        && !addr.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok { Ok(()) } else { Err(bad()) }
}

/// A configured destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub id: i64,
    pub tenant: TenantId,
    pub name: String,
    pub spec: EndpointSpec,
    pub enabled: bool,
    /// Why the dispatcher disabled it (e.g. HTTP 410), if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
}

impl Endpoint {
    pub fn kind(&self) -> ChannelKind {
        self.spec.kind()
    }
    pub fn validate(&self) -> Result<(), ModelError> {
        check_name(&self.name)?;
        self.spec.validate()
    }
}

/// Which orders a subscription is about. Each list empty = any; non-empty = the order's value
/// must be in it (tags: the order has at least one of them; carriers: at least one of the
/// order's carriers).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Filter {
    pub channels: Vec<String>,
    pub carriers: Vec<String>,
    pub tags: Vec<String>,
}

/// "Send these triggers, for orders passing this filter, to that endpoint."
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub id: i64,
    pub tenant: TenantId,
    pub name: String,
    pub endpoint_id: i64,
    pub on: Vec<Trigger>,
    #[serde(default)]
    pub filter: Filter,
    pub enabled: bool,
}

impl Subscription {
    pub fn validate(&self) -> Result<(), ModelError> {
        check_name(&self.name)?;
        if self.on.is_empty() {
            return Err(ModelError::NoTriggers {
                subscription: self.name.clone(),
            });
        }
        Ok(())
    }
}

/// Longest endpoint or subscription name.
pub const MAX_NAME_LEN: usize = 128;

fn check_name(name: &str) -> Result<(), ModelError> {
    if name.trim().is_empty() || name.len() > MAX_NAME_LEN || name.chars().any(char::is_control) {
        return Err(ModelError::Name {
            value: name.to_string(),
        });
    }
    Ok(())
}

/// What a tenant knows of one customer, and what they opted out of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub customer_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Phone>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Channels the customer refused; all three = everything.
    #[serde(default)]
    pub opted_out: Vec<ChannelKind>,
}

impl Contact {
    /// An opted-out customer is never messaged on that channel.
    pub fn opted_out(&self, kind: ChannelKind) -> bool {
        self.opted_out.contains(&kind)
    }

    pub fn validate(&self) -> Result<(), ModelError> {
        if self.customer_id.trim().is_empty() {
            return Err(ModelError::CustomerId {
                value: self.customer_id.clone(),
            });
        }
        if let Some(e) = &self.email {
            check_email(e)?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("url {url:?} is invalid: {why}")]
    Url { url: String, why: String },
    #[error("secrets: at least one whsec_ secret is required")]
    NoSecrets,
    #[error("secrets[{index}] is invalid: {why}")]
    InvalidSecret { index: usize, why: &'static str },
    #[error("timeout_ms {value} must be between 1 and {MAX_TIMEOUT_MS}")]
    Timeout { value: u64 },
    #[error("to: {value:?} is not an email address")]
    Email { value: String },
    #[error("{field}: {e}")]
    Phone {
        field: &'static str,
        #[source]
        e: PhoneError,
    },
    #[error("name {value:?} must be 1 to {MAX_NAME_LEN} bytes without control characters")]
    Name { value: String },
    #[error("subscription {subscription:?}: on must list at least one trigger")]
    NoTriggers { subscription: String },
    #[error("customer_id {value:?} must not be empty")]
    CustomerId { value: String },
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
