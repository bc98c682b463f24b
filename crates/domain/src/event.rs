//! The canonical event: one fact from one source about one order (and, for carrier events, one
//! shipment). Vendor formats are turned into this by adapters; the core only ever sees this.

use crate::ids::{EventId, OrderId, SourceName, TrackingNumber};
use crate::status::{Reason, Status};
use crate::time::EventTime;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Location {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2, upper case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub source: SourceName,
    pub event_id: EventId,
    pub order_id: OrderId,
    pub status: Status,
    pub occurred_at: EventTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<TrackingNumber>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Location>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<Location>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promised_at: Option<EventTime>,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

/// What the content hash covers: the event without its id.
#[derive(Serialize)]
struct ContentView<'a> {
    #[serde(serialize_with = "without_id")]
    event: &'a Event,
}

fn without_id<S: serde::Serializer>(e: &&Event, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeStruct;
    let mut st = s.serialize_struct("Content", 16)?;
    st.serialize_field("source", &e.source)?;
    st.serialize_field("order_id", &e.order_id)?;
    st.serialize_field("status", &e.status)?;
    // With its offset: the offset is shown in the timeline, so it is part of what was said.
    st.serialize_field("occurred_at", &e.occurred_at)?;
    st.serialize_field("tracking_number", &e.tracking_number)?;
    st.serialize_field("carrier", &e.carrier)?;
    st.serialize_field("service", &e.service)?;
    st.serialize_field("reason", &e.reason)?;
    st.serialize_field("location", &e.location)?;
    st.serialize_field("origin", &e.origin)?;
    st.serialize_field("destination", &e.destination)?;
    st.serialize_field("raw_code", &e.raw_code)?;
    st.serialize_field("raw_description", &e.raw_description)?;
    st.serialize_field("promised_at", &e.promised_at)?;
    st.serialize_field("attributes", &e.attributes)?;
    st.end()
}

impl Event {
    /// A digest of what the event says, leaving out its id: the same scan delivered twice under
    /// two ids (a webhook and a poll, say) is one fact and is stored once.
    ///
    /// Every field but the id is covered: two reports that differ in anything that can reach the
    /// state (a promised date, a location) are two facts, or which one is kept would depend on
    /// arrival order.
    pub fn content_hash(&self) -> [u8; 16] {
        let mut h = Sha256::new();
        // The canonical JSON is deterministic: fixed field order, attributes in key order.
        let body = serde_json::to_vec(&ContentView { event: self }).unwrap_or_default();
        h.update(&body);
        let digest = h.finalize();
        let mut out = [0u8; 16];
        out.copy_from_slice(&digest[..16]);
        out
    }

    /// The shipment stream this event belongs to: its tracking number, or the order itself for
    /// warehouse events that have none yet.
    pub fn stream(&self) -> &str {
        self.tracking_number.as_ref().map_or("", |t| t.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Event {
        serde_json::from_value(serde_json::json!({
            "source": "ups", "event_id": "a", "order_id": "O", "status": "in_transit",
            "occurred_at": "2024-01-01T10:00:00-05:00", "attributes": {"b": 1, "a": 2}
        }))
        .unwrap()
    }

    #[test]
    fn content_hash_ignores_the_id_but_nothing_else() {
        let a = event();
        let mut b = a.clone();
        b.event_id = EventId::new("b").unwrap();
        assert_eq!(a.content_hash(), b.content_hash());
        b.occurred_at = crate::EventTime::parse("2024-01-01T15:00:00Z").unwrap();
        assert_ne!(
            a.content_hash(),
            b.content_hash(),
            "same instant, another offset"
        );
        let mut c = a.clone();
        c.promised_at = Some(crate::EventTime::parse("2024-01-05T00:00:00Z").unwrap());
        assert_ne!(a.content_hash(), c.content_hash());
        let mut d = a.clone();
        d.carrier = Some("ups".into());
        assert_ne!(a.content_hash(), d.content_hash());
    }

    #[test]
    fn content_hash_does_not_depend_on_attribute_order() {
        // Guards against serde_json's preserve_order feature sneaking in via another crate.
        let a = event();
        let mut b = a.clone();
        b.attributes = serde_json::from_str(r#"{"a": 2, "b": 1}"#).unwrap();
        assert_eq!(a.content_hash(), b.content_hash());
    }
}
