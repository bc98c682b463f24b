//! What a vendor document says, before any mapping: the parsers' output. Keeping the vendor's
//! codes untouched here is what lets a quarantined event be re-normalized once a mapping exists.

use crate::ParseError;
use crate::classify::{Classifier, Proposal};
use crate::mapping::{MappedBy, MappingTable};
use crate::zone;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use waypost_domain::{
    Event, EventId, EventTime, Location, OrderId, Reason, SourceName, Status, TrackingNumber,
};

/// One status report, as the vendor gave it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observation {
    /// The key looked up in the source's mapping table. Usually the vendor's status code; some
    /// sources combine two fields (`"X:AG"`) when the code alone is ambiguous.
    pub mapping_key: String,
    /// An optional second code looked up in the table's `[reasons]` (EDI AT7-02, say).
    pub reason_key: Option<String>,
    /// The vendor's code as shown to people (kept in the timeline).
    pub raw_code: String,
    pub raw_description: Option<String>,
    /// The exact instant, when the vendor gives an offset (or UTC). When it gives a wall-clock
    /// time only, this is `None` and [`Observation::local_time`] holds it.
    pub occurred_at: Option<EventTime>,
    /// A wall-clock time without an offset: placed in the vendor's documented zone, else in the
    /// zone of the event's place (see [`crate::zone`]); an event that neither places is
    /// unreadable, never guessed.
    pub local_time: Option<LocalTime>,
    pub tracking_number: Option<String>,
    /// The merchant's order number when the document carries one (a reference field).
    pub order_ref: Option<String>,
    /// The vendor's own id of this report, when it has one; otherwise one is derived from what
    /// the report says, so the same report polled twice gets the same id.
    pub vendor_event_id: Option<String>,
    pub carrier: Option<String>,
    pub service: Option<String>,
    pub location: Option<Location>,
    pub origin: Option<Location>,
    pub destination: Option<Location>,
    pub promised_at: Option<EventTime>,
    pub attributes: Map<String, Value>,
}

/// A vendor's wall-clock time that carries no offset.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LocalTime {
    pub civil: jiff::civil::DateTime,
    /// The IANA zone the vendor documents for this time (`Europe/Berlin` for DHL Parcel DE's
    /// German times), when it documents one; otherwise the event's place decides.
    pub zone: Option<String>,
    /// The vendor gave a date and no time of day (`civil` is then midnight).
    pub date_only: bool,
}

impl LocalTime {
    pub fn new(civil: jiff::civil::DateTime) -> Self {
        LocalTime {
            civil,
            zone: None,
            date_only: false,
        }
    }

    pub fn in_zone(civil: jiff::civil::DateTime, zone: &str) -> Self {
        LocalTime {
            civil,
            zone: Some(zone.to_owned()),
            date_only: false,
        }
    }

    pub fn date(date: jiff::civil::Date) -> Self {
        LocalTime {
            civil: date.to_datetime(jiff::civil::Time::midnight()),
            zone: None,
            date_only: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnmappedKind {
    Status,
    Reason,
}

/// A code the table did not know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmappedCode {
    pub kind: UnmappedKind,
    pub code: String,
}

/// One canonical event and what normalization could not map in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalized {
    pub event: Event,
    /// The key the status was looked up by (kept so coverage of a table can be measured).
    pub mapping_key: String,
    pub reason_key: Option<String>,
    /// Empty when every code was known. A non-empty list means: quarantine for review.
    pub unmapped: Vec<UnmappedCode>,
    /// True when the order id is the tracking number because the document named no order.
    pub order_from_tracking: bool,
    /// How the status was decided; `None` when it was not (status `unknown`).
    pub mapped_by: Option<MappedBy>,
    /// For an event left `unknown`: what the description fallback read in the vendor's text,
    /// under the tenant's threshold (or with the fallback off), for a person to accept.
    pub proposal: Option<Proposal>,
}

/// One document's events, and the events in it that could not be read, each with where.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NormalizedDoc {
    pub events: Vec<Normalized>,
    pub unreadable: Vec<ParseError>,
}

impl Observation {
    pub(crate) fn into_event(
        self,
        source: &SourceName,
        table: &MappingTable,
    ) -> Result<Normalized, String> {
        let mut attributes = self.attributes;
        let occurred_at = match (self.occurred_at, &self.local_time) {
            (Some(t), _) => t,
            (None, Some(local)) => place_local_time(local, self.location.as_ref(), &mut attributes)
                .map_err(|why| format!("code {:?}: {why}", self.raw_code))?,
            (None, None) => return Err(format!("code {:?} has no time", self.raw_code)),
        };
        let mut unmapped = Vec::new();
        let mut proposal = None;
        let (status, mut reason, mapped_by) =
            match table.lookup(&self.mapping_key, self.raw_description.as_deref()) {
                Some((m, by)) => (m.status, m.reason, Some(by)),
                None => {
                    let read = self
                        .raw_description
                        .as_deref()
                        .and_then(|t| Classifier::builtin().classify(t));
                    match read {
                        Some(p)
                            if table
                                .description_threshold
                                .is_some_and(|t| p.confidence >= t) =>
                        {
                            attributes.insert("mapped_by".into(), "description".into());
                            attributes.insert(
                                "mapping_confidence".into(),
                                Value::from(f64::from(p.confidence)),
                            );
                            (p.status, p.reason, Some(MappedBy::Description))
                        }
                        read => {
                            unmapped.push(UnmappedCode {
                                kind: UnmappedKind::Status,
                                code: self.mapping_key.clone(),
                            });
                            proposal = read;
                            (Status::Unknown, None, None)
                        }
                    }
                }
            };
        if let Some(key) = &self.reason_key {
            match table.reason(key) {
                // A reason code that says something beats the status code's default reason.
                Some(r) => reason = r.reason.or(reason),
                None => unmapped.push(UnmappedCode {
                    kind: UnmappedKind::Reason,
                    code: key.clone(),
                }),
            }
        }
        // The observation's own strings become the ids when they need no trimming (nearly
        // always): no copy, and no string dropped right after copying it.
        let tracking_number = self
            .tracking_number
            .and_then(trimmed)
            .map(|t| {
                TrackingNumber::from_string(t)
                    .map_err(|(e, t)| format!("tracking number {t:?}: {e}"))
            })
            .transpose()?;
        let order_ref = self.order_ref.and_then(trimmed);
        let (order_id, order_from_tracking) = match (order_ref, &tracking_number) {
            (Some(o), _) => (
                OrderId::from_string(o).map_err(|(e, o)| format!("order {o:?}: {e}"))?,
                false,
            ),
            (None, Some(t)) => (
                OrderId::new(t.as_str()).map_err(|e| format!("order {:?}: {e}", t.as_str()))?,
                true,
            ),
            (None, None) => {
                return Err(format!(
                    "code {:?} names neither an order nor a tracking number",
                    self.raw_code
                ));
            }
        };
        let event_id = match &self.vendor_event_id {
            Some(id) => EventId::new(id.as_str()).map_err(|e| format!("event id {id:?}: {e}"))?,
            None => derived_id(
                order_id.as_str(),
                tracking_number.as_ref().map(|t| t.as_str()),
                &self.raw_code,
                &occurred_at,
                self.location.as_ref(),
            ),
        };
        let event = Event {
            source: source.clone(),
            event_id,
            order_id,
            status,
            occurred_at,
            tracking_number,
            carrier: self.carrier,
            service: self.service,
            reason: reason.filter(|_| status != Status::Unknown),
            location: self.location,
            origin: self.origin,
            destination: self.destination,
            raw_code: Some(self.raw_code),
            raw_description: self.raw_description,
            promised_at: self.promised_at,
            attributes,
        };
        Ok(Normalized {
            event,
            mapping_key: self.mapping_key,
            reason_key: self.reason_key,
            unmapped,
            order_from_tracking,
            mapped_by,
            proposal,
        })
    }
}

/// The instant of a wall-clock time: in the vendor's documented zone, else in the zone its place
/// settles. The event records that its offset was inferred, and from what
/// (`attributes.time_inferred`), so nobody mistakes it for an offset the vendor sent.
fn place_local_time(
    local: &LocalTime,
    place: Option<&Location>,
    attributes: &mut Map<String, Value>,
) -> Result<EventTime, String> {
    let placed = match &local.zone {
        Some(name) => {
            let zone = jiff::tz::TimeZone::get(name)
                .map_err(|_| format!("time zone {name:?} is not in the time zone database"))?;
            zone::PlacedZone {
                name: name.clone(),
                zone,
                basis: zone::ZoneBasis::Vendor,
            }
        }
        None => place.and_then(zone::of_place).ok_or_else(|| {
            format!(
                "local time {} has no offset, and its place ({}) settles no time zone",
                local.civil,
                describe(place)
            )
        })?,
    };
    // An ambiguous wall-clock time (the repeated autumn hour) takes the earlier instant, as
    // carriers' scanners do; one in the spring gap moves forward.
    let zoned = local
        .civil
        .to_zoned(placed.zone.clone())
        .map_err(|e| format!("local time {} in {}: {e}", local.civil, placed.name))?;
    let mut note = Map::new();
    note.insert("zone".into(), Value::String(placed.name));
    note.insert("from".into(), Value::String(placed.basis.as_str().into()));
    if local.date_only {
        note.insert("date_only".into(), Value::Bool(true));
    }
    attributes.insert("time_inferred".into(), Value::Object(note));
    Ok(EventTime {
        instant: zoned.timestamp(),
        offset: zoned.offset(),
    })
}

fn describe(place: Option<&Location>) -> String {
    let Some(l) = place else {
        return "none given".into();
    };
    let parts: Vec<&str> = [&l.city, &l.region, &l.postal_code, &l.country]
        .into_iter()
        .filter_map(|p| p.as_deref())
        .collect();
    if parts.is_empty() {
        "none given".into()
    } else {
        parts.join(", ")
    }
}

/// `s` trimmed, `None` when blank; its own buffer when there is nothing to trim.
fn trimmed(s: String) -> Option<String> {
    let t = crate::jsonstr::trim(&s);
    if t.is_empty() {
        None
    } else if t.len() == s.len() {
        Some(s)
    } else {
        Some(t.to_owned())
    }
}

/// An id for a report that has none: a digest of what identifies a scan. A poll that returns the
/// same history again yields the same ids, so it is deduplicated by id, not only by content.
fn derived_id(
    order: &str,
    tracking: Option<&str>,
    code: &str,
    at: &EventTime,
    location: Option<&Location>,
) -> EventId {
    let mut h = Sha256::new();
    for part in [order, tracking.unwrap_or(""), code] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.update(at.as_nanos().to_le_bytes());
    if let Some(l) = location {
        for part in [&l.city, &l.region, &l.postal_code, &l.country] {
            h.update(part.as_deref().unwrap_or("").as_bytes());
            h.update([0]);
        }
    }
    let digest = h.finalize();
    // Written into one buffer of the final size: this runs for most events of most sources.
    let mut id = String::with_capacity(2 + 24);
    id.push_str("d-");
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in &digest[..12] {
        id.push(char::from(HEX[usize::from(b >> 4)]));
        id.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    // Hex of a digest is never empty, too long or control: the constructor cannot fail.
    EventId::new(id).unwrap_or_else(|_| unreachable!("derived ids are short hex"))
}

/// Canonical reason parsed from a string; for tests and the corpus labels.
pub fn reason_from_str(s: &str) -> Option<Reason> {
    s.parse().ok()
}
