//! The rows the projection reads and produces, shared by every backend and re-exported by
//! `waypost-store` under the same names.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use waypost_domain::{Event, TenantId};

/// Position in the event log. Strictly increasing in append order.
pub type Seq = u64;

#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub seq: Seq,
    pub tenant: TenantId,
    pub event: Event,
    pub received_at: Timestamp,
}

/// A visible change of an order's state, as sent on the change stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Numbered per tenant (1, 2, 3, ... with no gap another tenant's changes could cause):
    /// the stream's event id and the order's `version` after this change.
    pub seq: Seq,
    pub tenant: String,
    pub order_id: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub regression: bool,
    /// When the engine applied it (server clock).
    pub changed_at: Timestamp,
    pub shipments: Vec<ShipmentChange>,
    /// The events applied in this change.
    pub events: Vec<ChangeCause>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShipmentChange {
    pub tracking_number: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<waypost_domain::Location>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeCause {
    pub source: String,
    pub event_id: String,
    pub status: String,
    pub occurred_at: String,
    pub received_at: Timestamp,
}

/// One order or shipment as the exception rules see it, from the folded state.
#[derive(Debug, Clone, PartialEq)]
pub struct SubjectFacts {
    /// "" for the order itself.
    pub track: String,
    /// `None` for an order whose shipments disagree (partially shipped or delivered): no
    /// single status to dwell in.
    pub status: Option<waypost_domain::Status>,
    pub reason: Option<waypost_domain::Reason>,
    /// Event time of the status-deciding event: when it entered its status, as far as known.
    pub status_since: Option<Timestamp>,
    /// Event time of its newest event of any kind.
    pub last_event_at: Option<Timestamp>,
    pub promised_at: Option<Timestamp>,
    pub carrier: Option<String>,
    pub service: Option<String>,
    /// The order's sales channel, warehouse and value, when an event named them.
    pub channel: Option<String>,
    pub warehouse: Option<String>,
    pub order_value: Option<f64>,
}
