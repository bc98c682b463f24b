//! The planner: which notifications one state change (or one raised alert) causes. A pure
//! function of the subscriptions, the endpoints and the facts, called by the engine inside the
//! apply transaction; what it returns goes into the outbox in the same transaction, each row
//! keyed by its [`notification_id`], so a change applied twice plans nothing twice.

use crate::model::{
    ChannelKind, Contact, Endpoint, EndpointSpec, Filter, Recipient, Subscription, Trigger,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use waypost_domain::Location;

/// What the planner sees of one state change of an order. Frozen into the outbox payload at
/// plan time: what is sent later is what was true when it was planned.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrderFacts {
    pub tenant: String,
    pub order_id: String,
    /// The change's position in the log.
    pub seq: u64,
    /// The order's new status (a shipment status, or `partially_shipped`/`partially_delivered`,
    /// which no trigger names).
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default)]
    pub carriers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_phone: Option<String>,
    #[serde(default)]
    pub shipments: Vec<ShipmentFacts>,
    /// When the engine applied the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_at: Option<jiff::Timestamp>,
}

/// One shipment of the order as the change left it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ShipmentFacts {
    pub tracking_number: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

/// What the planner sees of one raised alert, with the order's attributes the filters read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertFacts {
    pub tenant: String,
    pub order_id: String,
    /// The store's internal number: only hashed into notification ids, never sent.
    pub alert_id: u64,
    /// What the API, and so the payload, calls the alert. Absent from facts planned before
    /// public ids existed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub public_id: String,
    pub rule: String,
    pub severity: String,
    /// The tracking number the alert is about; "" for the order itself.
    #[serde(default)]
    pub track: String,
    pub opened_at: jiff::Timestamp,
    #[serde(default)]
    pub carriers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_phone: Option<String>,
}

/// One notification to write to the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Planned {
    pub subscription_id: i64,
    pub endpoint_id: i64,
    pub kind: ChannelKind,
    pub trigger: Trigger,
    /// [`notification_id`]: the idempotency key.
    pub msg_id: String,
}

impl Filter {
    /// Whether an order with these values passes. Each empty list passes everything.
    pub fn passes(&self, channel: Option<&str>, carriers: &[String], tags: &[String]) -> bool {
        let channel_ok = self.channels.is_empty()
            || channel.is_some_and(|c| self.channels.iter().any(|x| x == c));
        let carriers_ok =
            self.carriers.is_empty() || carriers.iter().any(|c| self.carriers.contains(c));
        let tags_ok = self.tags.is_empty() || tags.iter().any(|t| self.tags.contains(t));
        channel_ok && carriers_ok && tags_ok
    }
}

/// The notifications a state change causes: one per enabled subscription of the order's
/// tenant whose triggers name the new status and whose filter passes, when its endpoint is
/// enabled, of the same tenant. Nothing when the status did not change. In `subs` order.
pub fn plan(
    subs: &[Subscription],
    endpoints: &HashMap<i64, Endpoint>,
    facts: &OrderFacts,
) -> Vec<Planned> {
    if facts.previous_status.as_deref() == Some(facts.status.as_str()) {
        return Vec::new();
    }
    let Some(trigger) =
        Trigger::all().find(|t| matches!(t, Trigger::Status(s) if s.as_str() == facts.status))
    else {
        return Vec::new();
    };
    matching(
        subs,
        endpoints,
        &facts.tenant,
        trigger,
        (facts.channel.as_deref(), &facts.carriers, &facts.tags),
        |kind, sub| notification_id(&facts.tenant, &facts.order_id, facts.seq, kind, sub),
    )
}

impl AlertFacts {
    /// The id the payload carries: the public one; for facts planned before public ids
    /// existed (still pending at the upgrade), the number they were promised with.
    pub fn public_id(&self) -> String {
        if self.public_id.is_empty() {
            self.alert_id.to_string()
        } else {
            self.public_id.clone()
        }
    }
}

/// The notifications a raised alert causes: subscriptions on `alert.raised`, otherwise as
/// [`plan`]. Their ids use the alert's id in the alert domain.
pub fn plan_alert(
    subs: &[Subscription],
    endpoints: &HashMap<i64, Endpoint>,
    alert: &AlertFacts,
) -> Vec<Planned> {
    matching(
        subs,
        endpoints,
        &alert.tenant,
        Trigger::AlertRaised,
        (alert.channel.as_deref(), &alert.carriers, &alert.tags),
        |kind, sub| {
            alert_notification_id(&alert.tenant, &alert.order_id, alert.alert_id, kind, sub)
        },
    )
}

fn matching(
    subs: &[Subscription],
    endpoints: &HashMap<i64, Endpoint>,
    tenant: &str,
    trigger: Trigger,
    (channel, carriers, tags): (Option<&str>, &[String], &[String]),
    id: impl Fn(ChannelKind, i64) -> String,
) -> Vec<Planned> {
    subs.iter()
        .filter(|s| s.enabled && s.tenant.as_str() == tenant && s.on.contains(&trigger))
        .filter(|s| s.filter.passes(channel, carriers, tags))
        .filter_map(|s| {
            let e = endpoints.get(&s.endpoint_id)?;
            (e.enabled && e.tenant.as_str() == tenant).then(|| Planned {
                subscription_id: s.id,
                endpoint_id: e.id,
                kind: e.kind(),
                trigger,
                msg_id: id(e.kind(), s.id),
            })
        })
        .collect()
}

/// Whether the customer's opt-out forbids this endpoint's message. It concerns what goes to
/// the customer (a `customer` recipient) and webhooks (which carry their order); a fixed
/// address (the tenant's own team) is not the customer. Checked when planning and again
/// right before sending.
pub fn suppressed(endpoint: &Endpoint, contact: Option<&Contact>) -> bool {
    let Some(c) = contact else { return false };
    match &endpoint.spec {
        EndpointSpec::Webhook { .. } => c.opted_out(ChannelKind::Webhook),
        EndpointSpec::Email { to } | EndpointSpec::Sms { to } => {
            *to == Recipient::Customer && c.opted_out(endpoint.kind())
        }
    }
}

/// The address an email or SMS goes to: the fixed one, or the customer's from their contact
/// record, else from the order's attributes. None when there is none (the dispatcher skips).
pub fn recipient_address(
    endpoint: &Endpoint,
    contact: Option<&Contact>,
    customer_email: Option<&str>,
    customer_phone: Option<&str>,
) -> Option<String> {
    match &endpoint.spec {
        EndpointSpec::Webhook { .. } => None,
        EndpointSpec::Email {
            to: Recipient::Fixed(a),
        }
        | EndpointSpec::Sms {
            to: Recipient::Fixed(a),
        } => Some(a.clone()),
        EndpointSpec::Email {
            to: Recipient::Customer,
        } => contact
            .and_then(|c| c.email.clone())
            .or_else(|| customer_email.map(str::to_string)),
        EndpointSpec::Sms {
            to: Recipient::Customer,
        } => contact
            .and_then(|c| c.phone.as_ref().map(|p| p.to_string()))
            .or_else(|| customer_phone.map(str::to_string)),
    }
}

/// The id of the notification of one change to one subscription: `msg_` and 26 characters of
/// lowercase base32 of SHA-256 over the fields joined by 0x1f. Stable across runs and
/// machines: it is the outbox's idempotency key and the `webhook-id` receivers dedupe on.
pub fn notification_id(
    tenant: &str,
    order_id: &str,
    seq: u64,
    kind: ChannelKind,
    subscription_id: i64,
) -> String {
    hashed_id("change", tenant, order_id, seq, kind, subscription_id)
}

/// [`notification_id`] of an alert's notification: the alert's id in place of the seq, in a
/// domain of its own so it never equals a change's.
pub fn alert_notification_id(
    tenant: &str,
    order_id: &str,
    alert_id: u64,
    kind: ChannelKind,
    subscription_id: i64,
) -> String {
    hashed_id("alert", tenant, order_id, alert_id, kind, subscription_id)
}

fn hashed_id(
    domain: &str,
    tenant: &str,
    order_id: &str,
    n: u64,
    kind: ChannelKind,
    subscription_id: i64,
) -> String {
    let mut h = Sha256::new();
    let fields = [
        domain,
        tenant,
        order_id,
        &n.to_string(),
        kind.as_str(),
        &subscription_id.to_string(),
    ];
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            h.update([0x1f]);
        }
        h.update(f.as_bytes());
    }
    let digest = h.finalize();
    let mut out = String::with_capacity(30);
    out.push_str("msg_");
    out.push_str(&base32_lower(&digest[..17])[..26]);
    out
}

/// RFC 4648 base32, lowercase, no padding.
fn base32_lower(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let (mut buf, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buf = (buf << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buf >> bits) & 31) as usize]));
        }
        buf &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buf << (5 - bits)) & 31) as usize]));
    }
    out
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
