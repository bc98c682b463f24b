//! The event log: what was received, durable before it is acknowledged, split into partitions
//! that each have one consumer.

use crate::*;
use std::sync::Arc;
use waypost_domain::TenantId;

/// The log's write side. `append` is durable when it returns (or once [`LogSync::sync`]
/// returns) and idempotent; events are read back per partition, in `seq` order.
pub trait EventLog: Send {
    /// How the log spreads orders over partitions. One partition unless the backend says
    /// otherwise; every event of an order is in the order's partition.
    fn partitioning(&self) -> Partitioning {
        Partitioning::SINGLE
    }
    /// Appends the submissions in one transaction (group commit). One outcome each. Durable on
    /// return, or once [`EventLog::log_sync`]'s `sync` returns, if the store has one.
    fn append(&mut self, batch: &[Submission]) -> Result<Vec<AppendOutcome>, StoreError>;
    /// How far `apply` has consumed `partition` of the log (its checkpoint).
    fn applied_seq(&mut self, partition: Partition) -> Result<Seq, StoreError>;
    /// Stored events of `partition` after `after`, in seq order: the recovery path after a
    /// restart.
    fn events_after(
        &mut self,
        partition: Partition,
        after: Seq,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError>;
    /// A store whose `append` commits without waiting for the disk returns how to wait for it:
    /// the caller runs [`LogSync::sync`] (on another thread, while it goes on applying) before it
    /// acknowledges or publishes anything the append made. `None`: `append` is durable on return.
    fn log_sync(&self) -> Option<Arc<dyn LogSync>> {
        None
    }
}

/// Makes everything appended so far durable.
pub trait LogSync: Send + Sync {
    fn sync(&self) -> Result<(), StoreError>;
}

/// What the log kept of the documents it could not map: unmapped codes and dead letters.
pub trait DocumentReads: Send + Sync {
    fn unmapped(
        &self,
        tenant: &TenantId,
        filter: &UnmappedFilter,
    ) -> Result<Vec<UnmappedRecord>, StoreError>;
    fn document(&self, tenant: &TenantId, id: i64) -> Result<Option<DocumentRecord>, StoreError>;
    /// Rejected documents not yet replayed, oldest first, with ids greater than `after`.
    fn rejected(
        &self,
        tenant: &TenantId,
        after: i64,
        limit: usize,
    ) -> Result<Vec<DocumentRecord>, StoreError>;
    /// Open dead letters (rejected, not replayed) per source and origin, of every tenant when
    /// `tenant` is `None`.
    fn dead_letter_counts(
        &self,
        tenant: Option<&TenantId>,
    ) -> Result<Vec<(String, DeadLetterCount)>, StoreError>;
}
