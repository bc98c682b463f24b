//! The catalogue and stock the gates consult. Stock arriving (a CSV import, the API, the WMS
//! feed's inventory messages) clears the backorders it can now serve: each goes back into the
//! flow as `pending`, with an audit line.

use crate::writer::Job;
use crate::{DeskError, OrderDesk};
use serde::Serialize;
use waypost_domain::TenantId;
use waypost_orders::Order;
use waypost_store::{CatalogueItem, IntakeStatus, StatusChange, StockLevel, StoreError};

/// What a stock update did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StockApplied {
    /// Levels that changed (older counts than the stored ones are ignored).
    pub changed: usize,
    /// Backordered orders that the new stock released into the flow.
    pub released: Vec<String>,
}

impl OrderDesk {
    /// Adds or renames SKUs in the tenant's catalogue.
    pub async fn put_catalogue(
        &self,
        tenant: &TenantId,
        items: Vec<CatalogueItem>,
    ) -> Result<usize, DeskError> {
        if let Some(bad) = items.iter().find(|i| i.sku.trim().is_empty()) {
            return Err(DeskError::Invalid(format!(
                "a catalogue item has an empty sku (title {:?}); every item needs one",
                bad.title
            )));
        }
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.lanes().send_wait(Job::Catalogue {
            tenant: tenant.clone(),
            items,
            reply,
        })?;
        Ok(rx.await.map_err(|_| DeskError::ShuttingDown)??)
    }

    /// Sets stock levels, then releases the backorders they can now serve.
    pub async fn put_stock(
        &self,
        tenant: &TenantId,
        levels: Vec<StockLevel>,
    ) -> Result<StockApplied, DeskError> {
        if let Some(bad) = levels
            .iter()
            .find(|l| l.sku.trim().is_empty() || l.warehouse.trim().is_empty())
        {
            return Err(DeskError::Invalid(format!(
                "a stock level needs a sku and a warehouse (got sku {:?}, warehouse {:?})",
                bad.sku, bad.warehouse
            )));
        }
        let skus: Vec<String> = levels.iter().map(|l| l.sku.clone()).collect();
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.lanes().send_wait(Job::Stock {
            tenant: tenant.clone(),
            levels,
            reply,
        })?;
        let changed = rx.await.map_err(|_| DeskError::ShuttingDown)??;
        let reads = self.reads().clone();
        let t = tenant.clone();
        let waiting = tokio::task::spawn_blocking(move || reads.intake_waiting_for(&t, &skus))
            .await
            .map_err(|e| DeskError::Invalid(format!("backorder read failed: {e}")))??;
        let mut released = Vec::new();
        for order_id in waiting {
            if self.release_if_served(tenant, &order_id).await? {
                released.push(order_id);
            }
        }
        Ok(StockApplied { changed, released })
    }

    /// Releases a backordered order when stock now covers every line.
    async fn release_if_served(
        &self,
        tenant: &TenantId,
        order_id: &str,
    ) -> Result<bool, DeskError> {
        let row = self.current(tenant, order_id).await?;
        if row.status != IntakeStatus::Backordered {
            return Ok(false);
        }
        let order: Order = serde_json::from_str(&row.body).map_err(|e| {
            DeskError::Invalid(format!("order {order_id} in the book cannot be read: {e}"))
        })?;
        let skus: Vec<String> = order
            .placed
            .lines
            .iter()
            .filter_map(|l| l.sku.clone())
            .collect();
        let reads = self.reads().clone();
        let t = tenant.clone();
        let facts = tokio::task::spawn_blocking(move || reads.sku_facts(&t, &skus))
            .await
            .map_err(|e| DeskError::Invalid(format!("stock read failed: {e}")))??;
        let short = crate::settings::BookCatalogue::new(facts).short_skus(&order);
        if !short.is_empty() {
            return Ok(false);
        }
        let change = StatusChange {
            order_id: order_id.to_string(),
            version: row.version,
            status: IntakeStatus::Accepted,
            decision: None,
            findings: None,
            impact: None,
            waiting_for: Some(vec![]),
            actor: "stock".into(),
            action: "stock_arrived".into(),
            detail: "stock now covers every line".into(),
            false_positive: false,
            at: self.now(),
        };
        match self.change(tenant, change).await {
            Ok(()) => {}
            Err(DeskError::Store(StoreError::Conflict { .. })) => return Ok(false),
            Err(e) => return Err(e),
        }
        let row = self.current(tenant, order_id).await?;
        self.emit_row(tenant, &row).await?;
        Ok(true)
    }
}
