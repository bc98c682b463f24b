//! The dispatcher's view of the store's notification rows.
//!
//! These mirror `waypost_store::{OutboxRow, EndpointRow, AttemptRow, OutboxMark}`
//! (`crates/store/src/notify_types.rs`) field for field, minus what the dispatcher never reads,
//! so this crate builds without the store. The binary maps them 1:1 (`tenant` is the
//! `TenantId`'s text, `seq` the store's `Seq`); the names are the store's.

use std::time::Duration;

use jiff::Timestamp;

use crate::attempt::Attempt;

/// A pending outbox row that is due (`OutboxRow`).
#[derive(Debug, Clone, PartialEq)]
pub struct DueRow {
    pub id: i64,
    pub tenant: String,
    pub order_id: String,
    pub seq: u64,
    pub subscription_id: i64,
    pub endpoint_id: i64,
    /// `webhook`, `email` or `sms`.
    pub kind: String,
    pub trigger: String,
    pub msg_id: String,
    /// What is sent, frozen at plan time, as JSON.
    pub payload: String,
    /// Attempts made so far.
    pub attempts: u32,
    pub next_at: Timestamp,
}

impl DueRow {
    /// The per-order FIFO key: at most one row per key is in flight, and rows of a key go out
    /// in id order (the store's `outbox_due` returns only the oldest pending one per key).
    pub fn fifo_key(&self) -> FifoKey {
        (
            self.tenant.clone(),
            self.subscription_id,
            self.order_id.clone(),
        )
    }
}

/// (tenant, subscription id, order id).
pub type FifoKey = (String, i64, String);

/// A destination (`EndpointRow`).
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub id: i64,
    pub tenant: String,
    pub name: String,
    pub kind: String,
    /// waypost-notify's `EndpointSpec` as JSON.
    pub spec: String,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
}

/// One attempt as the delivery log keeps it (`AttemptRow`).
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptLog {
    pub outbox_id: i64,
    /// 1 for the first attempt.
    pub n: u32,
    pub started_at: Timestamp,
    pub latency_ms: u64,
    pub code: Option<u16>,
    pub error: Option<String>,
}

impl AttemptLog {
    pub fn of(row: &DueRow, started_at: Timestamp, attempt: &Attempt) -> AttemptLog {
        AttemptLog {
            outbox_id: row.id,
            n: row.attempts.saturating_add(1),
            started_at,
            latency_ms: u64::try_from(attempt.latency.as_millis()).unwrap_or(u64::MAX),
            code: attempt.code,
            error: attempt.error.clone(),
        }
    }
}

/// What the dispatcher reports (`OutboxMark`); the engine's writer writes a batch in one
/// transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum Mark {
    Sent {
        id: i64,
        attempt: AttemptLog,
    },
    Retry {
        id: i64,
        attempt: AttemptLog,
        next: Timestamp,
    },
    /// Not sent now, without an attempt (quiet hours, an open breaker).
    Defer {
        id: i64,
        next: Timestamp,
    },
    Dead {
        id: i64,
        attempt: Option<AttemptLog>,
    },
    Skipped {
        id: i64,
        why: String,
    },
    EndpointDisabled {
        endpoint_id: i64,
        reason: String,
    },
    /// The endpoint's breaker closed again: its pending rows are due now.
    EndpointRecovered {
        endpoint_id: i64,
        now: Timestamp,
    },
    SpendAdd {
        tenant: String,
        day: String,
        segments: u64,
        cents: u64,
    },
}

impl Mark {
    /// The outbox row the mark settles, if it is about one.
    pub fn row_id(&self) -> Option<i64> {
        match self {
            Mark::Sent { id, .. }
            | Mark::Retry { id, .. }
            | Mark::Defer { id, .. }
            | Mark::Dead { id, .. }
            | Mark::Skipped { id, .. } => Some(*id),
            _ => None,
        }
    }
}

/// `now + d`, saturating at jiff's maximum instead of failing.
pub fn later(now: Timestamp, d: Duration) -> Timestamp {
    jiff::SignedDuration::try_from(d)
        .ok()
        .and_then(|d| now.checked_add(d).ok())
        .unwrap_or(Timestamp::MAX)
}
