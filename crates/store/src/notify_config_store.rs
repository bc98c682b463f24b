//! Where notifications go and whom they may reach: endpoints, subscriptions, contacts.

use crate::*;
use jiff::Timestamp;
use waypost_domain::TenantId;

/// Configuration writes, made through the single writer so the planner sees them in order.
pub trait NotifyConfigStore: Send {
    /// Creates an endpoint (id 0 in `row`) or replaces the one with `row.id` (keeping its
    /// creation time); the stored row. A name the tenant already uses is
    /// [`StoreError::Duplicate`]; an id that is not the tenant's, [`StoreError::NotFound`].
    fn put_endpoint(&mut self, row: &EndpointRow) -> Result<EndpointRow, StoreError>;
    /// Deletes an endpoint and its subscriptions, and skips its pending notifications (why:
    /// "endpoint deleted", done at `now`); false when it is not the tenant's.
    fn delete_endpoint(
        &mut self,
        tenant: &TenantId,
        id: i64,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// As [`NotifyConfigStore::put_endpoint`]; its endpoint must be the tenant's (else `NotFound`).
    fn put_subscription(&mut self, row: &SubscriptionRow) -> Result<SubscriptionRow, StoreError>;
    fn delete_subscription(&mut self, tenant: &TenantId, id: i64) -> Result<bool, StoreError>;
    /// Creates or replaces the customer's contact row; opt-outs are channel kinds.
    fn put_contact(&mut self, row: &ContactRow) -> Result<ContactRow, StoreError>;
    /// Every endpoint and subscription of every tenant: the planner's start-up load.
    fn notify_config(&mut self) -> Result<(Vec<EndpointRow>, Vec<SubscriptionRow>), StoreError>;
    /// One customer's contact row (the planner's opt-out check).
    fn contact(
        &mut self,
        tenant: &TenantId,
        customer_id: &str,
    ) -> Result<Option<ContactRow>, StoreError>;
}

/// Configuration reads.
pub trait NotifyConfigReads: Send + Sync {
    fn endpoints(&self, tenant: &TenantId) -> Result<Vec<EndpointRow>, StoreError>;
    fn endpoint(&self, tenant: &TenantId, id: i64) -> Result<Option<EndpointRow>, StoreError>;
    fn subscriptions(&self, tenant: &TenantId) -> Result<Vec<SubscriptionRow>, StoreError>;
    fn contacts(
        &self,
        tenant: &TenantId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ContactRow>, StoreError>;
    fn contact_of(
        &self,
        tenant: &TenantId,
        customer_id: &str,
    ) -> Result<Option<ContactRow>, StoreError>;
}
