//! The dashboard's tables: summary counts, map positions, warehouses, delivery outcomes.

use crate::*;
use jiff::Timestamp;
use waypost_domain::TenantId;

/// Dashboard reads; kept as events apply, never by a scan at request time.
pub trait DashboardReads: Send + Sync {
    fn dashboard_summary(
        &self,
        tenant: &TenantId,
        filter: &DashboardFilter,
    ) -> Result<DashboardSummary, StoreError>;
    /// Active orders with a known position, by order id, after `after` (exclusive).
    fn map_points(
        &self,
        tenant: &TenantId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<MapPoint>, StoreError>;
    /// Warehouses named by active orders, by name.
    fn warehouses(&self, tenant: &TenantId) -> Result<Vec<WarehouseRow>, StoreError>;
    /// Shipments delivered at or after `since`, oldest delivery first.
    fn scorecards(
        &self,
        tenant: &TenantId,
        since: Timestamp,
    ) -> Result<Vec<OutcomeRow>, StoreError>;
}
