//! DHL: four tracking documents, told apart by their shape, each read by its own submodule.
//!
//! - [`unified`]: Shipment Tracking - Unified API JSON (`shipments[].events[]` with `timestamp`,
//!   `statusCode`, `status`, `description`), for every DHL business (express, parcel-de, ...).
//! - [`mydhl`]: DHL Express MyDHL API JSON, `GET /shipments/{id}/tracking`
//!   (`shipments[].shipmentTrackingNumber`, `events[]` with `date`, `time`, `GMTOffset`,
//!   `typeCode`).
//! - [`express_xml`]: DHL Express XML-PI `req:TrackingResponse` (`AWBInfo/ShipmentInfo/
//!   ShipmentEvent`).
//! - [`parcel_de_xml`]: DHL Parcel DE (Post & Paket Deutschland) tracking XML
//!   (`<data name="piece-shipment-list">` ... `<data name="piece-event" .../>`).
//!
//! Mapping keys, one table (`mappings/dhl.toml`) for all four:
//! - a DHL Express checkpoint code, wherever it comes from: `express:<code>` (`express:WC`);
//! - a unified event without one: its `statusCode` (`transit`), refined by the table's
//!   `[[patterns]]` on the event's text, which often says more ("loaded onto the delivery
//!   vehicle" under `transit`); an express event with neither: `express`;
//! - a Parcel DE XML event: `parcel-de:<ice>`, mapped by the text patterns.
//!
//! One unreadable event (a time that is no time, no code and no text) is reported with its path;
//! the others are kept. A time without offset is left as a wall-clock time (`local_time`) for
//! normalization to place by the event's location, or in Europe/Berlin for Parcel Germany, whose
//! times are documented as German time.

pub mod express_xml;
pub mod mydhl;
pub mod parcel_de_xml;
pub mod unified;
mod xml;

use crate::geo;
use crate::{ParseError, Parsed};
use jiff::civil::{Date, DateTime, Time};
use serde_json::Value;
use waypost_domain::Location;

/// Sniffs the format and reads the document. `Err` only when the document as a whole is none of
/// DHL's; an event that cannot be read is in `unreadable` with its path.
pub fn parse(doc: &[u8]) -> Result<Parsed, ParseError> {
    // A byte-order mark is not part of either syntax: neither serde_json nor the sniff wants it.
    let body = doc.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(doc);
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'<') => {
            let text = crate::sources::canadapost::utf8(body)?;
            let root = crate::sources::canadapost::root_name(text)?;
            match root.as_str() {
                "TrackingResponse" | "ErrorResponse" => express_xml::read(text),
                "data" => parcel_de_xml::read(text),
                other => Err(ParseError::new(
                    other,
                    "expected a DHL Express XML-PI <req:TrackingResponse> or a DHL Parcel DE \
                     <data name=\"piece-shipment-list\"> document",
                )),
            }
        }
        _ => {
            let value: Value = crate::jsonstr::from_json(body)
                .map_err(|e| ParseError::json(&e, "a DHL tracking response"))?;
            if mydhl::is_mydhl(&value) {
                mydhl::read(&value)
            } else {
                unified::read(&value)
            }
        }
    }
}

/// A JSON field as text: strings trimmed, numbers and booleans as written; `None` when absent,
/// null or blank.
/// What a shipment lends every event read under it.
pub(crate) struct Lent<'a> {
    pub tracking: &'a Option<String>,
    pub order_ref: &'a Option<String>,
    pub origin: &'a Option<Location>,
    pub destination: &'a Option<Location>,
    pub service: &'a Option<String>,
}

impl Lent<'_> {
    /// `read` with the shipment's facts when it could be read; else where it could not.
    pub(crate) fn add(&self, out: &mut Parsed, read: Result<crate::Observation, ParseError>) {
        match read {
            Ok(mut o) => {
                o.tracking_number.clone_from(self.tracking);
                o.order_ref.clone_from(self.order_ref);
                o.origin.clone_from(self.origin);
                o.destination.clone_from(self.destination);
                o.service.clone_from(self.service);
                out.observations.push(o);
            }
            Err(e) => out.unreadable.push(e),
        }
    }
}

pub(crate) fn jtext(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_owned),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A JSON list that may arrive as null, missing, a single object, or an array.
pub(crate) fn jlist(v: Option<&Value>) -> &[Value] {
    match v {
        Some(Value::Array(a)) => a,
        Some(v @ Value::Object(_)) => std::slice::from_ref(v),
        _ => &[],
    }
}

/// Country names DHL writes that the ISO name lookup does not know.
fn country_alias(name: &str) -> Option<&'static str> {
    let upper = name.trim().to_uppercase();
    Some(match upper.as_str() {
        "DEUTSCHLAND" => "DE",
        "ÖSTERREICH" => "AT",
        "SCHWEIZ" => "CH",
        "NIEDERLANDE" => "NL",
        "HONG KONG SAR, CHINA" | "HONG KONG SAR" | "HONG KONG" => "HK",
        "CHINA MAINLAND" | "CHINA, PEOPLES REPUBLIC" => "CN",
        "UNITED KINGDOM" | "UK" => "GB",
        "USA" | "UNITED STATES OF AMERICA" => "US",
        "KOREA, REPUBLIC OF (SOUTH K.)" | "SOUTH KOREA" => "KR",
        "UNITED ARAB EMIRATES" => "AE",
        _ => return None,
    })
}

/// A country written as a code or a name, in English or German.
pub(crate) fn country(name: &str) -> Option<String> {
    let name = name.trim();
    if name.is_empty() || name.len() > 64 {
        return None;
    }
    country_alias(name)
        .map(str::to_owned)
        .or_else(|| geo::country_code(name))
}

/// A DHL place: `LEIPZIG - GERMANY` (express), `Hamburg, Deutschland` (parcel-de),
/// `Leipzig-DE` (MyDHL service areas) or a bare city. Returns (city, country code).
pub(crate) fn split_place(place: &str) -> (&str, Option<String>) {
    let place = place.trim();
    for sep in [" - ", ", ", "-"] {
        if let Some((city, tail)) = place.rsplit_once(sep)
            && !city.trim().is_empty()
            && let Some(cc) = country(tail)
        {
            return (city.trim(), Some(cc));
        }
    }
    (place, None)
}

/// A location from a DHL place text plus optional postal code and country code fields.
///
/// When the document gives the country in its own field, the place text is only split at a
/// country name the ISO lookup knows (`LEIPZIG - GERMANY`), exactly as before DHL's own spellings
/// (`HONG KONG SAR, CHINA`) were known: the city is part of derived event ids, which must not
/// change for documents already stored. Without a country field those spellings are what gives
/// the event its country (and so its time zone).
pub(crate) fn place_location(
    place: Option<&str>,
    postal: Option<&str>,
    country_field: Option<&str>,
) -> Option<Location> {
    let field = country_field.and_then(country);
    let (city, from_place) = match (place, &field) {
        (None, _) => ("", None),
        (Some(p), Some(_)) => split_place_iso(p),
        (Some(p), None) => split_place(p),
    };
    let cc = field.or(from_place);
    let city = (!city.is_empty()).then_some(city);
    geo::location(city, None, postal, cc.as_deref())
}

/// [`split_place`] for `CITY - COUNTRY` with ISO country names only.
fn split_place_iso(place: &str) -> (&str, Option<String>) {
    let place = place.trim();
    if let Some((city, tail)) = place.rsplit_once(" - ")
        && let Some(cc) = geo::country_code(tail)
    {
        return (city.trim(), Some(cc));
    }
    (place, None)
}

/// A time DHL writes without offset as `date` + `time` fields (`2024-04-02`, `15:50:00`; the
/// time may be missing): the wall-clock time, placed later by the event's place.
pub(crate) fn date_and_time(date: &str, time: &str) -> Option<DateTime> {
    let d: Date = date.trim().parse().ok()?;
    let time = time.trim();
    if time.is_empty() {
        return Some(d.at(0, 0, 0, 0));
    }
    let t: Time = time.parse().ok()?;
    Some(d.to_datetime(t))
}

#[cfg(test)]
mod tests;
