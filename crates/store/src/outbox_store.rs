//! The transactional outbox: notifications written with the change that caused them, handed
//! to the dispatcher, marked with each attempt.

use crate::*;
use jiff::Timestamp;
use waypost_domain::TenantId;

/// The outbox's write side.
pub trait OutboxStore: Send {
    /// Outbox rows that no change caused (an alert's notifications, a test send), created at
    /// their `not_before`. Returns the ids of the rows inserted; a `msg_id` already stored, or
    /// an endpoint that is not the row's tenant's, is skipped.
    fn outbox_insert(&mut self, rows: &[NewOutbox]) -> Result<Vec<i64>, StoreError>;
    /// The dispatcher's reports, in one transaction, in order. Attempts are numbered by the
    /// store (the row's attempts + 1); a report on an unknown row is passed over. Retry, Defer,
    /// Dead and Skipped change only a pending row; Sent always ends a row as sent.
    fn outbox_mark(&mut self, marks: &[OutboxMark], now: Timestamp) -> Result<(), StoreError>;
    /// A dead (or skipped) notification back to pending, due at `now`, its attempts kept.
    /// `Ok(None)` when it is not the tenant's, not dead/skipped, or its endpoint is gone.
    fn outbox_replay(
        &mut self,
        tenant: &TenantId,
        id: i64,
        now: Timestamp,
    ) -> Result<Option<OutboxRow>, StoreError>;
}

/// Reads of the outbox. Retries are timers of the order's partition: `outbox_due` and
/// `outbox_next_due` hand out one partition's rows.
pub trait OutboxReads: Send + Sync {
    /// Pending notifications of `partition` due at or before `now`, oldest first, at most
    /// `limit`, leaving out any that has an older pending one of the same (tenant,
    /// subscription, order): one order's notifications reach a subscriber in state order.
    fn outbox_due(
        &self,
        partition: Partition,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<OutboxRow>, StoreError>;
    /// When the earliest pending notification of `partition` is due, if any is pending.
    fn outbox_next_due(&self, partition: Partition) -> Result<Option<Timestamp>, StoreError>;
    fn outbox_row(&self, tenant: &TenantId, id: i64) -> Result<Option<OutboxRow>, StoreError>;
    /// One notification with its attempts; `None` when it is not the tenant's.
    fn delivery_entry(
        &self,
        tenant: &TenantId,
        id: i64,
    ) -> Result<Option<DeliveryLogEntry>, StoreError>;
    /// Every notification of an order with its attempts, oldest first.
    fn delivery_log(
        &self,
        tenant: &TenantId,
        order_id: &str,
    ) -> Result<Vec<DeliveryLogEntry>, StoreError>;
    /// Dead notifications (dead letters), with ids greater than `after`, oldest first.
    fn outbox_dead(
        &self,
        tenant: &TenantId,
        after: i64,
        limit: usize,
    ) -> Result<Vec<DeliveryLogEntry>, StoreError>;
    /// Rows per (tenant, state), for `/metrics`.
    fn outbox_counts(&self) -> Result<Vec<(String, String, u64)>, StoreError>;
    /// SMS spent by a tenant on a local day (`YYYY-MM-DD`): (segments, cents).
    fn sms_spent(&self, tenant: &TenantId, day: &str) -> Result<(u64, u64), StoreError>;
}
