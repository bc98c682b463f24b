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

impl Event {
    /// A digest of what the event says, leaving out its id: the same scan delivered twice under
    /// two ids (a webhook and a poll, say) is one fact and is stored once.
    pub fn content_hash(&self) -> [u8; 16] {
        let mut h = Sha256::new();
        let mut field = |bytes: &[u8]| {
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        };
        field(self.source.as_str().as_bytes());
        field(self.order_id.as_str().as_bytes());
        field(
            self.tracking_number
                .as_ref()
                .map_or(&b""[..], |t| t.as_str().as_bytes()),
        );
        field(self.status.as_str().as_bytes());
        field(self.reason.map_or("", |r| r.as_str()).as_bytes());
        field(&self.occurred_at.as_nanos().to_le_bytes());
        field(self.raw_code.as_deref().unwrap_or("").as_bytes());
        field(self.raw_description.as_deref().unwrap_or("").as_bytes());
        let loc = self
            .location
            .as_ref()
            .and_then(|l| serde_json::to_vec(l).ok())
            .unwrap_or_default();
        field(&loc);
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
