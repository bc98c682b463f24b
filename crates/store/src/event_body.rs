//! What the log keeps of an event beyond its indexed columns. Source, id, order, tracking number
//! and status are columns already (they are what the log is searched and deduplicated by);
//! writing them again in the body was a third of the log's bytes.

use crate::StoreError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use waypost_domain::{
    Event, EventId, EventTime, Location, OrderId, Reason, SourceName, TrackingNumber,
};

#[derive(Serialize)]
struct Out<'a> {
    occurred_at: &'a EventTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    carrier: &'a Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service: &'a Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: &'a Option<Reason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: &'a Option<Location>,
    #[serde(skip_serializing_if = "Option::is_none")]
    origin: &'a Option<Location>,
    #[serde(skip_serializing_if = "Option::is_none")]
    destination: &'a Option<Location>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw_code: &'a Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw_description: &'a Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    promised_at: &'a Option<EventTime>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    attributes: &'a Map<String, Value>,
}

// Unknown fields are ignored, so the whole-event bodies of earlier versions read too.
#[derive(Deserialize)]
struct In {
    occurred_at: EventTime,
    #[serde(default)]
    carrier: Option<String>,
    #[serde(default)]
    service: Option<String>,
    #[serde(default)]
    reason: Option<Reason>,
    #[serde(default)]
    location: Option<Location>,
    #[serde(default)]
    origin: Option<Location>,
    #[serde(default)]
    destination: Option<Location>,
    #[serde(default)]
    raw_code: Option<String>,
    #[serde(default)]
    raw_description: Option<String>,
    #[serde(default)]
    promised_at: Option<EventTime>,
    #[serde(default)]
    attributes: Map<String, Value>,
}

pub(crate) fn encode(e: &Event) -> Result<String, StoreError> {
    serde_json::to_string(&Out {
        occurred_at: &e.occurred_at,
        carrier: &e.carrier,
        service: &e.service,
        reason: &e.reason,
        location: &e.location,
        origin: &e.origin,
        destination: &e.destination,
        raw_code: &e.raw_code,
        raw_description: &e.raw_description,
        promised_at: &e.promised_at,
        attributes: &e.attributes,
    })
    .map_err(|e| StoreError::Corrupt {
        what: "event",
        detail: e.to_string(),
    })
}

/// The columns of one `events` row, in the order [`decode`] takes them.
pub const COLUMNS: &str = "source, event_id, order_id, track, status, body";

pub struct Columns {
    pub source: String,
    pub event_id: String,
    pub order_id: String,
    pub track: String,
    pub status: String,
    pub body: String,
}

pub fn decode(c: Columns) -> Result<Event, StoreError> {
    let bad = |what: &'static str, e: &dyn std::fmt::Display| StoreError::Corrupt {
        what,
        detail: e.to_string(),
    };
    let b: In = serde_json::from_str(&c.body).map_err(|e| bad("event body", &e))?;
    Ok(Event {
        source: SourceName::new(c.source).map_err(|e| bad("event source", &e))?,
        event_id: EventId::new(c.event_id).map_err(|e| bad("event id", &e))?,
        order_id: OrderId::new(c.order_id).map_err(|e| bad("event order", &e))?,
        status: c.status.parse().map_err(|e| bad("event status", &e))?,
        occurred_at: b.occurred_at,
        tracking_number: if c.track.is_empty() {
            None
        } else {
            Some(TrackingNumber::new(c.track).map_err(|e| bad("event tracking number", &e))?)
        },
        carrier: b.carrier,
        service: b.service,
        reason: b.reason,
        location: b.location,
        origin: b.origin,
        destination: b.destination,
        raw_code: b.raw_code,
        raw_description: b.raw_description,
        promised_at: b.promised_at,
        attributes: b.attributes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_and_body_give_back_the_event_and_old_bodies_still_read() {
        let e: Event = serde_json::from_value(serde_json::json!({
            "source": "ups", "event_id": "a", "order_id": "O", "status": "exception",
            "reason": "weather", "occurred_at": "2024-01-01T10:00:00-05:00",
            "tracking_number": "1Z", "location": {"city": "Atlanta"}, "attributes": {"k": 1}
        }))
        .unwrap();
        let cols = |body: String| Columns {
            source: "ups".into(),
            event_id: "a".into(),
            order_id: "O".into(),
            track: "1Z".into(),
            status: "exception".into(),
            body,
        };
        let body = encode(&e).unwrap();
        assert!(!body.contains("\"order_id\""), "{body}");
        assert_eq!(decode(cols(body)).unwrap(), e);
        assert_eq!(decode(cols(serde_json::to_string(&e).unwrap())).unwrap(), e);
    }
}
