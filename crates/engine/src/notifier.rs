//! Plans notifications on the writer thread: the shell around `waypost_notify::plan`. It keeps
//! every tenant's subscriptions and endpoints in memory (loaded at start, reloaded on every
//! change to them, which also goes through this thread), so planning inside the apply
//! transaction reads nothing.

use jiff::Timestamp;
use std::collections::HashMap;
use waypost_domain::TenantId;
use waypost_notify::{Endpoint, OrderFacts, Subscription};
use waypost_store::{
    AlertRow, Change, EndpointRow, NewOutbox, OrderAttrs, OutboxPlanner, StoreError,
    SubscriptionRow, WriteStore,
};

#[derive(Debug, Clone, Default)]
pub struct NotifyConfig {
    /// Off: nothing is planned (the tables are kept; a restart with it on plans from then on).
    pub disabled: bool,
}

pub struct Notifier {
    config: NotifyConfig,
    subscriptions: HashMap<TenantId, Vec<Subscription>>,
    endpoints: HashMap<i64, Endpoint>,
}

impl Notifier {
    pub fn new(config: NotifyConfig) -> Self {
        Notifier {
            config,
            subscriptions: HashMap::new(),
            endpoints: HashMap::new(),
        }
    }

    /// Reads every endpoint and subscription again. A stored row the notification crate cannot
    /// read (written by a newer version, say) is left out with a warning, not fatal.
    pub fn reload(&mut self, store: &mut dyn WriteStore) -> Result<(), StoreError> {
        let (endpoints, subscriptions) = store.notify_config()?;
        self.endpoints = endpoints
            .iter()
            .filter_map(|row| match endpoint_of(row) {
                Ok(e) => Some((row.id, e)),
                Err(e) => {
                    tracing::warn!(endpoint = row.id, tenant = %row.tenant, error = %e, "unreadable endpoint left out");
                    None
                }
            })
            .collect();
        self.subscriptions.clear();
        for row in &subscriptions {
            match subscription_of(row) {
                Ok(s) => self
                    .subscriptions
                    .entry(row.tenant.clone())
                    .or_default()
                    .push(s),
                Err(e) => {
                    tracing::warn!(subscription = row.id, tenant = %row.tenant, error = %e, "unreadable subscription left out");
                }
            }
        }
        Ok(())
    }

    pub fn planner(&self, now: Timestamp) -> Planner<'_> {
        Planner {
            notifier: self,
            now,
        }
    }

    /// The notifications an opened alert triggers.
    pub fn plan_alert(&self, alert: &AlertRow, now: Timestamp) -> Vec<NewOutbox> {
        let tenant = &alert.subject.tenant;
        let Some(subs) = self
            .subscriptions
            .get(tenant)
            .filter(|_| !self.config.disabled)
        else {
            return Vec::new();
        };
        let data = waypost_notify::AlertFacts {
            tenant: tenant.to_string(),
            order_id: alert.subject.order_id.clone(),
            alert_id: u64::try_from(alert.id).unwrap_or_default(),
            public_id: alert.public_id.clone(),
            rule: alert.rule.clone(),
            severity: alert.severity.clone(),
            track: alert.subject.track.clone(),
            opened_at: alert.opened_at,
            carriers: alert.carrier.iter().cloned().collect(),
            ..Default::default()
        };
        let payload = serde_json::to_string(&data).unwrap_or_default();
        let planned = waypost_notify::plan_alert(subs, &self.endpoints, &data);
        rows(
            tenant,
            &alert.subject.order_id,
            alert_seq(alert),
            planned,
            &payload,
            now,
        )
    }
}

/// An alert notification's `seq` (the outbox row's, shown in the delivery log and sent as
/// `X-Waypost-Transition`): the first 60 bits of the alert's random public id, so it tells
/// nobody how many alerts exist, and fits the store's signed integer. The internal id only
/// for a row without one, which the store never hands out.
fn alert_seq(alert: &AlertRow) -> u64 {
    alert
        .public_id
        .get(..15)
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .unwrap_or_else(|| u64::try_from(alert.id).unwrap_or_default())
}

/// A stored endpoint as the notification crate reads it; the error names what is wrong.
pub fn endpoint_of(row: &EndpointRow) -> Result<Endpoint, String> {
    let spec = serde_json::from_str(&row.spec)
        .map_err(|e| format!("endpoint {} spec {:?}: {e}", row.id, row.spec))?;
    Ok(Endpoint {
        id: row.id,
        tenant: row.tenant.clone(),
        name: row.name.clone(),
        spec,
        enabled: row.enabled,
        disabled_reason: row.disabled_reason.clone(),
    })
}

/// A stored subscription as the notification crate reads it.
pub fn subscription_of(row: &SubscriptionRow) -> Result<Subscription, String> {
    let on = serde_json::from_str(&row.triggers)
        .map_err(|e| format!("subscription {} triggers {:?}: {e}", row.id, row.triggers))?;
    let filter = serde_json::from_str(&row.filter)
        .map_err(|e| format!("subscription {} filter {:?}: {e}", row.id, row.filter))?;
    Ok(Subscription {
        id: row.id,
        tenant: row.tenant.clone(),
        name: row.name.clone(),
        endpoint_id: row.endpoint_id,
        on,
        filter,
        enabled: row.enabled,
    })
}

/// The planner one apply uses.
pub struct Planner<'a> {
    notifier: &'a Notifier,
    now: Timestamp,
}

impl OutboxPlanner for Planner<'_> {
    fn wants(&mut self, change: &Change) -> bool {
        !self.notifier.config.disabled
            && change.previous_status.as_deref() != Some(change.status.as_str())
            && TenantId::new(change.tenant.clone())
                .is_ok_and(|t| self.notifier.subscriptions.contains_key(&t))
    }

    fn plan(&mut self, change: &Change, attrs: &OrderAttrs) -> Vec<NewOutbox> {
        let Ok(tenant) = TenantId::new(change.tenant.clone()) else {
            return Vec::new();
        };
        let Some(subs) = self.notifier.subscriptions.get(&tenant) else {
            return Vec::new();
        };
        let facts = facts_of(change, attrs);
        let planned = waypost_notify::plan(subs, &self.notifier.endpoints, &facts);
        if planned.is_empty() {
            return Vec::new();
        }
        let payload = serde_json::to_string(&facts).unwrap_or_default();
        rows(
            &tenant,
            &change.order_id,
            change.seq,
            planned,
            &payload,
            self.now,
        )
    }
}

/// The outbox rows of what was planned for one change or alert.
fn rows(
    tenant: &TenantId,
    order_id: &str,
    seq: u64,
    planned: Vec<waypost_notify::Planned>,
    payload: &str,
    now: Timestamp,
) -> Vec<NewOutbox> {
    planned
        .into_iter()
        .map(|p| NewOutbox {
            tenant: tenant.clone(),
            order_id: order_id.to_owned(),
            seq,
            subscription_id: p.subscription_id,
            endpoint_id: p.endpoint_id,
            kind: p.kind.to_string(),
            trigger: p.trigger.to_string(),
            msg_id: p.msg_id,
            payload: payload.to_owned(),
            not_before: now,
        })
        .collect()
}

/// What a notification says of a change, frozen into the outbox row.
pub fn facts_of(change: &Change, attrs: &OrderAttrs) -> OrderFacts {
    OrderFacts {
        tenant: change.tenant.clone(),
        order_id: change.order_id.clone(),
        seq: change.seq,
        status: change.status.clone(),
        previous_status: change.previous_status.clone(),
        reason: change.reason.clone(),
        changed_at: Some(change.changed_at),
        shipments: change
            .shipments
            .iter()
            .map(|s| waypost_notify::ShipmentFacts {
                tracking_number: s.tracking_number.clone(),
                status: s.status.clone(),
                carrier: None,
                reason: s.reason.clone(),
                location: s.location.clone(),
            })
            .collect(),
        carriers: attrs.carriers.clone(),
        channel: attrs.channel.clone(),
        tags: attrs.tags.clone(),
        customer_id: attrs.customer_id.clone(),
        customer_email: attrs.customer_email.clone(),
        customer_phone: attrs.customer_phone.clone(),
    }
}
