//! Rows the operations dashboard and the customer tracking page read (`ReadStore`'s dashboard
//! methods; `crates/store-sqlite/migrations/0008_dashboard.sql`).

use jiff::Timestamp;

/// Filters of the dashboard's summary; `None` matches every order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DashboardFilter {
    /// An order status (`OrderStatus` as text).
    pub status: Option<String>,
    /// A carrier, compared lower-cased and whole (as `GET /v1/orders` does).
    pub carrier: Option<String>,
    pub warehouse: Option<String>,
    pub channel: Option<String>,
}

/// Counts over one tenant's orders matching a [`DashboardFilter`]. Each breakdown is sorted by
/// count, largest first (then by key); a `None` key counts orders without that value. An order
/// with several carriers counts once under each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DashboardSummary {
    pub total: u64,
    /// Matching orders not delivered, returned, cancelled or lost.
    pub active: u64,
    /// The tenant's alerts that are not resolved (filters do not apply).
    pub alerts_open: u64,
    pub by_status: Vec<(Option<String>, u64)>,
    pub by_carrier: Vec<(Option<String>, u64)>,
    pub by_warehouse: Vec<(Option<String>, u64)>,
    pub by_channel: Vec<(Option<String>, u64)>,
}

/// One active order with a known position, as the map draws it.
#[derive(Debug, Clone, PartialEq)]
pub struct MapPoint {
    pub order_id: String,
    pub status: String,
    pub lat: f64,
    pub lon: f64,
    pub carrier: Option<String>,
    pub warehouse: Option<String>,
    pub dest_lat: Option<f64>,
    pub dest_lon: Option<f64>,
    /// When the order last changed visibly.
    pub updated_at: Timestamp,
}

/// A warehouse that active orders name; its position is the mean of their shipments' known
/// origins (`None` when none is known).
#[derive(Debug, Clone, PartialEq)]
pub struct WarehouseRow {
    pub name: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub active_orders: u64,
}

/// One delivered shipment, for the carrier scorecards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeRow {
    pub order_id: String,
    pub tracking_number: String,
    pub carrier: Option<String>,
    /// `CC` or `CC-REGION`.
    pub origin: Option<String>,
    pub destination: Option<String>,
    /// Its earliest `shipped` or `in_transit` event, if any.
    pub shipped_at: Option<Timestamp>,
    /// Its earliest `delivered` event.
    pub delivered_at: Timestamp,
    pub promised_at: Option<Timestamp>,
}
