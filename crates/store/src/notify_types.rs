//! What the store keeps for notifications (in SQLite, `crates/store-sqlite/migrations/0006_notify.sql`): endpoints,
//! subscriptions, customers' contact preferences, the transactional outbox with its attempt
//! log, and the SMS spend per tenant and day. Plain rows: specs, triggers and filters are the
//! notification crate's JSON, which the store keeps without reading.

use crate::Seq;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use waypost_domain::TenantId;
pub use waypost_projection::{NewOutbox, OrderAttrs};

/// A registered destination: a webhook URL, an email or an SMS recipient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointRow {
    pub id: i64,
    pub tenant: TenantId,
    pub name: String,
    /// `webhook`, `email` or `sms`.
    pub kind: String,
    /// The endpoint's spec as JSON (waypost-notify's `EndpointSpec`).
    pub spec: String,
    pub enabled: bool,
    /// Why it was disabled (`410 Gone from ...`, or an operator's words).
    pub disabled_reason: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Which transitions go to which endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionRow {
    pub id: i64,
    pub tenant: TenantId,
    pub name: String,
    pub endpoint_id: i64,
    /// JSON array of trigger names (`"shipped"`, `"alert.raised"`...).
    pub triggers: String,
    /// JSON object (waypost-notify's `Filter`).
    pub filter: String,
    pub enabled: bool,
    pub created_at: Timestamp,
}

/// A customer's contact details and preferences, keyed by the customer id orders carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactRow {
    pub tenant: TenantId,
    pub customer_id: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub locale: Option<String>,
    /// Channel kinds the customer opted out of (`email`, `sms`, `webhook`).
    pub opted_out: Vec<String>,
    pub updated_at: Timestamp,
}

/// States of an outbox row. `pending` is the only one the dispatcher reads.
pub const OUTBOX_STATES: [&str; 5] = ["pending", "sent", "dead", "skipped", "superseded"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxRow {
    pub id: i64,
    pub tenant: TenantId,
    pub order_id: String,
    pub seq: Seq,
    pub subscription_id: i64,
    pub endpoint_id: i64,
    pub kind: String,
    pub trigger: String,
    pub msg_id: String,
    pub payload: String,
    pub state: String,
    pub attempts: u32,
    pub next_at: Timestamp,
    pub created_at: Timestamp,
    pub done_at: Option<Timestamp>,
    pub last_code: Option<u16>,
    pub last_error: Option<String>,
}

/// One delivery attempt, as the delivery log shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptRow {
    pub outbox_id: i64,
    /// 1 for the first attempt.
    pub n: u32,
    pub started_at: Timestamp,
    pub latency_ms: u64,
    /// HTTP status or SMTP reply code, when the receiver answered.
    pub code: Option<u16>,
    pub error: Option<String>,
}

/// What the dispatcher reports back; `outbox_mark` writes a batch in one transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OutboxMark {
    Sent {
        id: i64,
        attempt: AttemptRow,
    },
    /// Failed; try again at `next`.
    Retry {
        id: i64,
        attempt: AttemptRow,
        next: Timestamp,
    },
    /// Not sent now, without an attempt (quiet hours, an open breaker): try at `next`.
    Defer {
        id: i64,
        next: Timestamp,
    },
    /// Given up: a dead letter, with its attempt log.
    Dead {
        id: i64,
        attempt: Option<AttemptRow>,
    },
    /// Deliberately not sent (opted out, spend cap reached, endpoint disabled), with why.
    Skipped {
        id: i64,
        why: String,
    },
    EndpointDisabled {
        endpoint_id: i64,
        reason: String,
    },
    /// The endpoint is back: its pending rows are due now instead of at their backoff.
    EndpointRecovered {
        endpoint_id: i64,
        now: Timestamp,
    },
    SpendAdd {
        tenant: TenantId,
        /// The tenant's local calendar day, `YYYY-MM-DD`.
        day: String,
        segments: u64,
        cents: u64,
    },
}

/// One notification of an order with every attempt at it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryLogEntry {
    pub row: OutboxRow,
    pub attempts: Vec<AttemptRow>,
}
