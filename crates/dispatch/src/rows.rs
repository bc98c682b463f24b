//! The little the dispatcher derives from the store's notification rows
//! (`waypost_store::{OutboxRow, EndpointRow, AttemptRow, OutboxMark}`, named from the store, not
//! re-exported here): fifo keys, attempt lines, the row a mark is about.

use std::time::Duration;

use jiff::Timestamp;
use waypost_store::{AttemptRow, OutboxMark, OutboxRow};

use crate::attempt::Attempt;

/// What orders one subscriber's notifications of one order: (tenant, subscription, order).
pub type FifoKey = (String, i64, String);

pub fn fifo_key(row: &OutboxRow) -> FifoKey {
    (
        row.tenant.to_string(),
        row.subscription_id,
        row.order_id.clone(),
    )
}

/// The attempt-log line of `attempt` at `row`, numbered after the row's attempts so far.
pub fn attempt_row(row: &OutboxRow, started_at: Timestamp, attempt: &Attempt) -> AttemptRow {
    AttemptRow {
        outbox_id: row.id,
        n: row.attempts.saturating_add(1),
        started_at,
        latency_ms: u64::try_from(attempt.latency.as_millis()).unwrap_or(u64::MAX),
        code: attempt.code,
        error: attempt.error.clone(),
    }
}

/// The outbox row a mark settles, if it is about one.
pub fn mark_row_id(mark: &OutboxMark) -> Option<i64> {
    match mark {
        OutboxMark::Sent { id, .. }
        | OutboxMark::Retry { id, .. }
        | OutboxMark::Defer { id, .. }
        | OutboxMark::Dead { id, .. }
        | OutboxMark::Skipped { id, .. } => Some(*id),
        _ => None,
    }
}

/// `now + d`, saturating at jiff's maximum instead of failing.
pub fn later(now: Timestamp, d: Duration) -> Timestamp {
    jiff::SignedDuration::try_from(d)
        .ok()
        .and_then(|d| now.checked_add(d).ok())
        .unwrap_or(Timestamp::MAX)
}
