//! The JSON a webhook receives, in the Standard Webhooks envelope: `type`, `timestamp` (when
//! the event happened, RFC 3339) and `data`. `docs/schemas/notification.json` is its JSON
//! Schema and the contract with receivers; a test checks these builders against it.
//!
//! Optional fields are sent as `null` rather than left out, so every payload of a type has the
//! same keys.

use crate::plan::{AlertFacts, OrderFacts};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use waypost_domain::Location;

pub const ORDER_STATUS_CHANGED: &str = "order.status_changed";
pub const ALERT_RAISED: &str = "alert.raised";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    #[serde(rename = "type")]
    pub event_type: String,
    pub timestamp: Timestamp,
    pub data: T,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusChanged {
    pub tenant: String,
    pub order_id: String,
    pub seq: u64,
    pub status: String,
    pub previous_status: Option<String>,
    pub reason: Option<String>,
    pub carriers: Vec<String>,
    pub shipments: Vec<Shipment>,
    pub changed_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shipment {
    pub tracking_number: String,
    pub status: String,
    pub reason: Option<String>,
    pub location: Option<Location>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRaised {
    pub tenant: String,
    pub order_id: String,
    /// The alert's public id (what the API calls it), not the store's internal number.
    pub alert_id: String,
    pub rule: String,
    pub severity: String,
    /// The tracking number the alert is about; null for the order itself.
    pub track: Option<String>,
    pub opened_at: Timestamp,
}

/// The payload of a state change. Its time is the change's (`changed_at`), or `now` for facts
/// that lack it, so every retry of one notification sends the same body.
pub fn status_changed(facts: &OrderFacts, now: Timestamp) -> Envelope<StatusChanged> {
    let at = facts.changed_at.unwrap_or(now);
    Envelope {
        event_type: ORDER_STATUS_CHANGED.to_string(),
        timestamp: at,
        data: StatusChanged {
            tenant: facts.tenant.clone(),
            order_id: facts.order_id.clone(),
            seq: facts.seq,
            status: facts.status.clone(),
            previous_status: facts.previous_status.clone(),
            reason: facts.reason.clone(),
            carriers: facts.carriers.clone(),
            shipments: facts
                .shipments
                .iter()
                .map(|s| Shipment {
                    tracking_number: s.tracking_number.clone(),
                    status: s.status.clone(),
                    reason: s.reason.clone(),
                    location: s.location.clone(),
                })
                .collect(),
            changed_at: at,
        },
    }
}

/// The payload of a raised alert, timed by its opening.
pub fn alert_raised(alert: &AlertFacts) -> Envelope<AlertRaised> {
    Envelope {
        event_type: ALERT_RAISED.to_string(),
        timestamp: alert.opened_at,
        data: AlertRaised {
            tenant: alert.tenant.clone(),
            order_id: alert.order_id.clone(),
            alert_id: alert.public_id(),
            rule: alert.rule.clone(),
            severity: alert.severity.clone(),
            track: (!alert.track.is_empty()).then(|| alert.track.clone()),
            opened_at: alert.opened_at,
        },
    }
}

/// The body bytes of an envelope, as sent and signed.
pub fn to_body<T: Serialize>(envelope: &Envelope<T>) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(envelope)
}

#[cfg(test)]
#[path = "payload_tests.rs"]
mod tests;
