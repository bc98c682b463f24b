//! The projection: each order's current state, folded from its events by the pure
//! `waypost-projection` and stored with the partition's checkpoint in one transaction.

use crate::*;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use waypost_domain::{Event, OrderView, TenantId};

/// The projection's write side.
pub trait ProjectionStore: Send {
    /// Folds stored events of `partition` into the projection and advances that partition's
    /// checkpoint, in one transaction. Events at or below the checkpoint are skipped, so
    /// re-delivery is harmless. Every event must belong to `partition`.
    fn apply(
        &mut self,
        partition: Partition,
        events: &[StoredEvent],
        now: Timestamp,
    ) -> Result<Vec<Change>, StoreError>;
    /// `apply`, and in the same transaction the outbox rows `planner` returns for each visible
    /// change (ignored when their `msg_id` is already stored, or when their endpoint is not
    /// their tenant's): a state change and the notifications it triggers commit together or not
    /// at all. A planned row of another tenant than its change's is refused (nothing written).
    fn apply_with(
        &mut self,
        partition: Partition,
        events: &[StoredEvent],
        now: Timestamp,
        planner: &mut dyn OutboxPlanner,
    ) -> Result<Vec<Change>, StoreError>;
    /// Orders of `partition` not in a closed status (`Status::is_closed`), in key order after
    /// `after`, at most `limit`: what the rules re-scan after a reload or a restart.
    fn open_orders(
        &mut self,
        partition: Partition,
        after: Option<(&TenantId, &str)>,
        limit: usize,
    ) -> Result<Vec<(TenantId, String)>, StoreError>;
    /// What the rules see of an order now: the order itself (track "") and each shipment.
    /// Empty when the order is unknown.
    fn subject_facts(
        &mut self,
        tenant: &TenantId,
        order_id: &str,
    ) -> Result<Vec<SubjectFacts>, StoreError>;
}

/// Reads of the projection and of the change stream.
///
/// Changes are numbered per tenant (`Change::seq`), densely, by the transaction that applies
/// them; a stream resumed from a number (`changes_after`) continues with the next one whichever
/// process wrote it, so a resume id stays valid across restarts and writers.
pub trait OrderReads: Send + Sync {
    fn order(&self, tenant: &TenantId, order_id: &str) -> Result<Option<OrderRecord>, StoreError>;
    fn timeline(&self, tenant: &TenantId, order_id: &str)
    -> Result<Vec<TimelineEntry>, StoreError>;
    fn orders(
        &self,
        tenant: &TenantId,
        filter: &OrderFilter,
    ) -> Result<Vec<OrderRecord>, StoreError>;
    fn shipment(
        &self,
        tenant: &TenantId,
        tracking: &str,
    ) -> Result<Option<ShipmentRecord>, StoreError>;
    /// The order a tracking number belongs to, if any event has named it.
    fn order_for_tracking(
        &self,
        tenant: &TenantId,
        tracking: &str,
    ) -> Result<Option<String>, StoreError>;
    fn changes_after(
        &self,
        tenant: &TenantId,
        after: Seq,
        limit: usize,
    ) -> Result<Vec<Change>, StoreError>;
    /// The tenant's last change number (0 before its first): changes are numbered per tenant,
    /// so nothing a tenant reads counts another's.
    fn last_seq(&self, tenant: &TenantId) -> Result<Seq, StoreError>;
    /// The order's customer-link token, if the order exists.
    fn tracking_token(
        &self,
        tenant: &TenantId,
        order_id: &str,
    ) -> Result<Option<String>, StoreError>;
    /// The order a customer-link token belongs to.
    fn tracking_link(&self, token: &str) -> Result<Option<(TenantId, String)>, StoreError>;
}

/// One entry of an order's timeline.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub seq: Seq,
    pub received_at: Timestamp,
    pub event: Event,
}

#[derive(Debug, Clone)]
pub struct OrderRecord {
    pub view: OrderView,
    pub version: Seq,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub status: Option<String>,
    pub carrier: Option<String>,
    pub updated_since: Option<Timestamp>,
    /// Resume after this version (exclusive).
    pub after_version: Option<Seq>,
    pub limit: usize,
}

#[derive(Debug, Clone)]
pub struct ShipmentRecord {
    pub order_id: String,
    pub shipment: waypost_domain::ShipmentView,
}
