//! Wire types of the operations dashboard (`routes/dashboard.rs`) and of the customer's
//! tracking view (`routes/track.rs`). The customer's types carry only what a customer may see:
//! no raw codes, payloads, attributes or contacts, by construction.

use serde::Serialize;
use utoipa::ToSchema;

/// One bucket of a breakdown; `key` is null for orders without that value.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CountDto {
    pub key: Option<String>,
    pub count: u64,
}

/// Counts over the tenant's orders that match the filters; lists sorted by count, largest
/// first. An order with several carriers counts under each.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DashboardSummaryDto {
    pub total: u64,
    /// Orders not delivered, returned, cancelled or lost.
    pub active: u64,
    /// The tenant's alerts not resolved (the filters do not apply).
    pub alerts_open: u64,
    pub by_status: Vec<CountDto>,
    /// Carriers lower-cased.
    pub by_carrier: Vec<CountDto>,
    pub by_warehouse: Vec<CountDto>,
    pub by_channel: Vec<CountDto>,
}

/// An active order at its latest known position.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MapPointDto {
    pub order_id: String,
    pub status: String,
    pub lat: f64,
    pub lon: f64,
    pub carrier: Option<String>,
    pub warehouse: Option<String>,
    pub dest_lat: Option<f64>,
    pub dest_lon: Option<f64>,
    /// When the order last changed (RFC 3339).
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MapPage {
    pub points: Vec<MapPointDto>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// A warehouse active orders name. Its position is the mean of those orders' known shipment
/// origins; null when none is known.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WarehouseDto {
    pub name: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub active_orders: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WarehousePage {
    pub warehouses: Vec<WarehouseDto>,
}

/// Transit time (delivered minus first shipped/in-transit event), hours, nearest rank.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct TransitHours {
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LaneScore {
    /// `CC` or `CC-REGION`; null when unknown.
    pub origin: Option<String>,
    pub destination: Option<String>,
    pub delivered: u64,
    pub on_time_rate: Option<f64>,
    pub transit_hours: Option<TransitHours>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CarrierScore {
    /// Null for shipments no event named a carrier for.
    pub carrier: Option<String>,
    pub delivered: u64,
    /// Delivered at or before the promise.
    pub on_time: u64,
    pub late: u64,
    pub no_promise: u64,
    /// on_time / (on_time + late); null when no delivery had a promise.
    pub on_time_rate: Option<f64>,
    pub transit_hours: Option<TransitHours>,
    pub lanes: Vec<LaneScore>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DailyScore {
    /// UTC day of delivery, `YYYY-MM-DD`.
    pub day: String,
    pub carrier: Option<String>,
    pub delivered: u64,
    pub on_time_rate: Option<f64>,
}

/// Carrier performance over the shipments delivered since `since`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ScorecardsDto {
    pub since: String,
    pub carriers: Vec<CarrierScore>,
    pub daily: Vec<DailyScore>,
}

/// An order's customer page.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrackingLinkDto {
    /// 32 lowercase hex characters.
    pub token: String,
    /// `/track/<token>`, on this server.
    pub path: String,
    /// `<notify.public_url>/track/<token>`; null when no public URL is configured.
    pub url: Option<String>,
}

/// What went wrong, in customer terms; null when nothing did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Trouble {
    Delayed,
    AttemptFailed,
    Exception,
    OnHold,
    Backordered,
    Returning,
    Returned,
    Cancelled,
    Lost,
}

/// A place as a customer sees it (no postal code: the page shows a town, not an address).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PublicPlace {
    pub city: Option<String>,
    pub region: Option<String>,
    pub country: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PublicEventPlace {
    pub city: Option<String>,
    pub region: Option<String>,
    pub country: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PublicShipment {
    pub carrier: Option<String>,
    pub tracking_number: String,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PublicEvent {
    /// A canonical status.
    pub status: String,
    /// RFC 3339 with the event's own offset.
    pub occurred_at: String,
    pub location: Option<PublicEventPlace>,
}

/// The tenant's branding, from `[notify.tenants.<t>]`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct BrandDto {
    pub name: Option<String>,
    pub logo_url: Option<String>,
    pub color: Option<String>,
}

/// The customer's view of one order (`GET /v1/track/{token}`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PublicTracking {
    pub order_id: String,
    /// The order's canonical status.
    pub status: String,
    /// Index into `stages` of how far the order got.
    #[schema(minimum = 0, maximum = 5)]
    pub stage: u8,
    pub stages: Vec<String>,
    pub trouble: Option<Trouble>,
    pub promised_at: Option<String>,
    pub delivered_at: Option<String>,
    pub updated_at: Option<String>,
    pub location: Option<PublicPlace>,
    pub shipments: Vec<PublicShipment>,
    /// Newest first.
    pub events: Vec<PublicEvent>,
    pub brand: BrandDto,
}
