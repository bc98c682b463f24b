//! Wire types of the API, with their OpenAPI schemas. Converted from domain and store types at
//! the edge, so the domain can change inside without changing what clients see.

mod alerts;
pub mod dashboard;
pub mod notify;
pub mod orders;
pub use alerts::*;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use waypost_domain::{EventTime, Location, OrderView, ShipmentView};
use waypost_store::{OrderRecord, TimelineEntry};

/// A location as carriers report it; coordinates when known.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LocationDto {
    #[schema(max_length = 1024)]
    pub city: Option<String>,
    #[schema(max_length = 1024)]
    pub region: Option<String>,
    #[schema(max_length = 32)]
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[schema(pattern = "^[A-Za-z]{2}$")]
    pub country: Option<String>,
    #[schema(minimum = -90, maximum = 90)]
    pub lat: Option<f64>,
    #[schema(minimum = -180, maximum = 180)]
    pub lon: Option<f64>,
}

impl From<&Location> for LocationDto {
    fn from(l: &Location) -> Self {
        LocationDto {
            city: l.city.clone(),
            region: l.region.clone(),
            postal_code: l.postal_code.clone(),
            country: l.country.clone(),
            lat: l.lat,
            lon: l.lon,
        }
    }
}

/// A canonical event, as the generic source sends it. Unknown fields are rejected.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    /// Who reports it: a lower-case slug like `wms-east` or `ups`.
    #[schema(pattern = "^[a-z0-9][a-z0-9_.-]*$", max_length = 128)]
    pub source: String,
    /// The source's own id of the event; with `source`, unique per tenant.
    #[schema(min_length = 1, max_length = 128)]
    pub event_id: String,
    #[schema(min_length = 1, max_length = 128)]
    pub order_id: String,
    /// One of the canonical statuses.
    #[schema(value_type = StatusName)]
    pub status: String,
    /// When it happened, RFC 3339 with an offset.
    #[schema(format = DateTime, example = "2026-11-26T09:30:00-05:00")]
    pub occurred_at: String,
    /// Carrier events carry one; warehouse events do not.
    #[schema(min_length = 1, max_length = 128)]
    pub tracking_number: Option<String>,
    #[schema(max_length = 64)]
    pub carrier: Option<String>,
    #[schema(max_length = 128)]
    pub service: Option<String>,
    /// Why, from the reason vocabulary.
    #[schema(value_type = Option<ReasonName>)]
    pub reason: Option<String>,
    pub location: Option<LocationDto>,
    pub origin: Option<LocationDto>,
    pub destination: Option<LocationDto>,
    #[schema(max_length = 128)]
    pub raw_code: Option<String>,
    #[schema(max_length = 1024)]
    pub raw_description: Option<String>,
    #[schema(format = DateTime)]
    pub promised_at: Option<String>,
    /// Free attributes (channel, warehouse, SKU lines...), at most 8 KiB of JSON.
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<serde_json::Value>,
}

/// The canonical statuses (docs/taxonomy.md). Mirrors `waypost_domain::Status`; a test keeps
/// the two equal.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusName {
    Pending,
    Allocated,
    Picked,
    Packed,
    LabelCreated,
    Shipped,
    InTransit,
    OutForDelivery,
    AvailableForPickup,
    Delivered,
    Delayed,
    AttemptFailed,
    Exception,
    OnHold,
    Backordered,
    Returning,
    Returned,
    Cancelled,
    Lost,
    Unknown,
}

/// The reason vocabulary. Mirrors `waypost_domain::Reason`; a test keeps the two equal.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReasonName {
    Weather,
    Volume,
    MissedConnection,
    AddressIssue,
    RecipientUnavailable,
    Refused,
    Damaged,
    Customs,
    HeldAtFacility,
    Payment,
    FraudReview,
    Stockout,
    CarrierCapacity,
    Mechanical,
    NaturalDisaster,
    CustomerRequest,
    BusinessClosed,
    AccessIssue,
    Other,
}

/// One event or a batch of up to 1000.
// Documentation only: the handler parses the JSON itself. `untagged` makes the schema a bare
// event object or an array of them, which is what the server takes.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum IngestBody {
    One(Box<EventInput>),
    Many(Vec<EventInput>),
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IngestReceipt {
    /// Newly stored events.
    pub accepted: usize,
    /// Events already stored before (same source and id, or same content): changed nothing.
    pub duplicates: usize,
}

/// What became of one vendor document.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct DocumentReceipt {
    /// Events the document held.
    pub events: usize,
    /// Newly stored.
    pub accepted: usize,
    /// Already stored (same source and id, or same content).
    pub duplicates: usize,
    /// Events stored with status `unknown` and quarantined: see `GET /v1/unmapped`.
    pub unmapped: usize,
    /// Events of the document that could not be read (a time that cannot be placed, a missing
    /// code): the others were stored, and the document is kept at `/v1/dead-letters` with
    /// these paths, to be replayed after a fix.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<String>,
    /// The delivery id was already taken: nothing was done.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replayed: bool,
    /// When the newest event of the document happened: how far behind its sender is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub newest_event_at: Option<jiff::Timestamp>,
}

impl From<waypost_intake::DocumentReceipt> for DocumentReceipt {
    fn from(r: waypost_intake::DocumentReceipt) -> Self {
        DocumentReceipt {
            events: r.events,
            accepted: r.accepted,
            duplicates: r.duplicates,
            unmapped: r.unmapped,
            unreadable: r.unreadable,
            replayed: r.replayed,
            newest_event_at: r.newest_event_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ShipmentDto {
    pub tracking_number: String,
    pub status: String,
    pub reason: Option<String>,
    /// When the status-deciding event happened.
    pub status_at: Option<String>,
    pub carrier: Option<String>,
    pub service: Option<String>,
    /// Last known location.
    pub location: Option<LocationDto>,
    pub location_at: Option<String>,
    pub origin: Option<LocationDto>,
    pub destination: Option<LocationDto>,
    pub promised_at: Option<String>,
    /// A progress event arrived after a terminal one.
    pub regression: bool,
}

fn time(t: Option<EventTime>) -> Option<String> {
    t.map(|t| t.to_string())
}

impl From<&ShipmentView> for ShipmentDto {
    fn from(s: &ShipmentView) -> Self {
        ShipmentDto {
            tracking_number: s.tracking_number.clone(),
            status: s.status.to_string(),
            reason: s.reason.map(|r| r.to_string()),
            status_at: time(s.status_at),
            carrier: s.carrier.clone(),
            service: s.service.clone(),
            location: s.location.as_ref().map(Into::into),
            location_at: time(s.location_at),
            origin: s.origin.as_ref().map(Into::into),
            destination: s.destination.as_ref().map(Into::into),
            promised_at: time(s.promised_at),
            regression: s.regression,
        }
    }
}

/// One event of an order's history, with both the canonical and the source's raw code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TimelineItem {
    pub source: String,
    pub event_id: String,
    pub status: String,
    pub reason: Option<String>,
    pub tracking_number: Option<String>,
    pub raw_code: Option<String>,
    pub raw_description: Option<String>,
    /// When it happened, in the source's own offset.
    pub occurred_at: String,
    /// When Waypost received it.
    pub received_at: String,
    pub location: Option<LocationDto>,
    #[schema(value_type = Object)]
    pub attributes: serde_json::Value,
}

impl From<&TimelineEntry> for TimelineItem {
    fn from(t: &TimelineEntry) -> Self {
        let e = &t.event;
        TimelineItem {
            source: e.source.to_string(),
            event_id: e.event_id.to_string(),
            status: e.status.to_string(),
            reason: e.reason.map(|r| r.to_string()),
            tracking_number: e.tracking_number.as_ref().map(|t| t.to_string()),
            raw_code: e.raw_code.clone(),
            raw_description: e.raw_description.clone(),
            occurred_at: e.occurred_at.to_string(),
            received_at: t.received_at.to_string(),
            location: e.location.as_ref().map(Into::into),
            attributes: serde_json::Value::Object(e.attributes.clone()),
        }
    }
}

/// An order's current state.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderSummary {
    pub order_id: String,
    /// A canonical status, or `partially_shipped` / `partially_delivered`.
    pub status: String,
    pub reason: Option<String>,
    pub status_at: Option<String>,
    /// When Waypost last changed this order's state.
    pub updated_at: String,
    /// Increases with every change of this order; the stream's change seq.
    pub version: u64,
    pub regression: bool,
    pub location: Option<LocationDto>,
    pub promised_at: Option<String>,
    pub shipments: Vec<ShipmentDto>,
}

impl OrderSummary {
    pub fn from_record(r: &OrderRecord) -> Self {
        let v: &OrderView = &r.view;
        OrderSummary {
            order_id: v.order_id.clone(),
            status: v.status.to_string(),
            reason: v.reason.map(|r| r.to_string()),
            status_at: time(v.status_at),
            updated_at: r.updated_at.to_string(),
            version: r.version,
            regression: v.regression,
            location: v.location.as_ref().map(Into::into),
            promised_at: time(v.promised_at),
            shipments: v.shipments.iter().map(Into::into).collect(),
        }
    }
}

/// An order with its full history.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderDetail {
    #[serde(flatten)]
    pub order: OrderSummary,
    /// Every event, by the time it happened.
    pub timeline: Vec<TimelineItem>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderPage {
    pub orders: Vec<OrderSummary>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ShipmentDetail {
    pub order_id: String,
    #[serde(flatten)]
    pub shipment: ShipmentDto,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::PartialSchema;
    use waypost_domain::{Reason, Status};

    #[test]
    fn documented_vocabularies_match_the_domain() {
        let doc = |v: serde_json::Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect()
        };
        let schema = |s: utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>| {
            serde_json::to_value(s).unwrap()
        };
        let statuses = doc(schema(StatusName::schema())["enum"].clone());
        let want: Vec<String> = Status::ALL.iter().map(|s| s.to_string()).collect();
        assert_eq!(statuses, want);
        let reasons = doc(schema(ReasonName::schema())["enum"].clone());
        let want: Vec<String> = Reason::ALL.iter().map(|s| s.to_string()).collect();
        assert_eq!(reasons, want);
    }

    #[test]
    fn documented_event_fields_match_the_parser() {
        let v = serde_json::to_value(EventInput::schema()).unwrap();
        let mut fields: Vec<String> = v["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        fields.sort();
        let mut want: Vec<String> = waypost_domain::input::FIELDS
            .iter()
            .map(|s| s.to_string())
            .collect();
        want.sort();
        assert_eq!(fields, want);
    }
}
