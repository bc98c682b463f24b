//! Notification planning: the planner turns a visible change into outbox rows, called by the
//! backend inside the transaction that stores the change (so a change and its notifications
//! commit together).

use crate::rows::{Change, Seq};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use waypost_domain::{OrderView, TenantId};

/// What events' attributes said of an order, as the notification planner sees it (each field
/// the latest by event time; tags the union of every event's).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrderAttrs {
    pub channel: Option<String>,
    pub warehouse: Option<String>,
    pub order_value: Option<f64>,
    pub customer_id: Option<String>,
    pub customer_email: Option<String>,
    pub customer_phone: Option<String>,
    pub tags: Vec<String>,
    /// Not from attributes: the carriers of the order's shipments, from the folded state
    /// after the change (sorted, distinct), for subscriptions filtered by carrier.
    pub carriers: Vec<String>,
    /// Not from attributes: the promised delivery, from the folded state, RFC 3339.
    pub promised_at: Option<String>,
}

/// A notification to write to the outbox. `msg_id` is the idempotency key: a second row with
/// the same one is ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewOutbox {
    pub tenant: TenantId,
    pub order_id: String,
    /// The change's seq (or the alert's id for an alert's notification).
    pub seq: Seq,
    pub subscription_id: i64,
    pub endpoint_id: i64,
    pub kind: String,
    pub trigger: String,
    pub msg_id: String,
    /// What is sent, frozen at plan time, as JSON.
    pub payload: String,
    /// When it may first go out (normally the change's time).
    pub not_before: Timestamp,
}

/// Turns a visible state change into the notifications it triggers; called by `apply_with`
/// inside its transaction, so it must not block or fail.
pub trait OutboxPlanner {
    /// Whether `plan` may return rows for this change. `false` spares `apply_with` reading the
    /// order's attributes; the default asks for every change.
    fn wants(&mut self, change: &Change) -> bool {
        let _ = change;
        true
    }
    fn plan(&mut self, change: &Change, attrs: &OrderAttrs) -> Vec<NewOutbox>;
}

/// Plans nothing: plain `apply`.
pub struct NoOutbox;

impl OutboxPlanner for NoOutbox {
    fn wants(&mut self, _: &Change) -> bool {
        false
    }
    fn plan(&mut self, _: &Change, _: &OrderAttrs) -> Vec<NewOutbox> {
        Vec::new()
    }
}

/// The notifications `change` triggers. `kept` is what the backend keeps of the order's
/// attributes, this batch's included ([`crate::AttrUpdate`] written first); the parts that come
/// from the folded state (carriers, promised delivery) are taken from `view`, the order after
/// the change. Ask [`OutboxPlanner::wants`] before loading `kept`: most changes notify nobody.
pub fn plan(
    planner: &mut dyn OutboxPlanner,
    change: &Change,
    view: &OrderView,
    mut kept: OrderAttrs,
) -> Vec<NewOutbox> {
    let mut carriers: Vec<String> = view
        .shipments
        .iter()
        .filter_map(|s| s.carrier.clone())
        .collect();
    carriers.sort_unstable();
    carriers.dedup();
    kept.carriers = carriers;
    kept.promised_at = view.promised_at.map(|t| t.to_string());
    planner.plan(change, &kept)
}
