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
//! One unreadable event (a time that cannot be placed, no code and no text) is reported with its
//! path; the others are kept. A document is refused only when nothing in it can be read.

pub mod express_xml;
pub mod mydhl;
pub mod parcel_de_xml;
pub mod unified;
mod xml;

use crate::geo;
use crate::timefmt;
use crate::{Observation, ParseError};
use jiff::civil::DateTime;
use serde_json::Value;
use waypost_domain::{EventTime, Location};

/// What a document gave: the events read, and the ones that could not be.
#[derive(Default)]
pub(crate) struct Read {
    pub observations: Vec<Observation>,
    pub unreadable: Vec<ParseError>,
}

impl Read {
    /// The document's result: its events when any could be read (or none were there); the first
    /// reason otherwise.
    fn finish(mut self) -> Result<Vec<Observation>, ParseError> {
        if self.observations.is_empty() && !self.unreadable.is_empty() {
            return Err(self.unreadable.swap_remove(0));
        }
        Ok(self.observations)
    }
}

pub fn parse(doc: &[u8]) -> Result<Vec<Observation>, ParseError> {
    read(doc)?.finish()
}

/// Sniffs the format and reads the document.
pub(crate) fn read(doc: &[u8]) -> Result<Read, ParseError> {
    let start = doc
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(doc)
        .iter()
        .position(|b| !b.is_ascii_whitespace());
    match start.map(|i| doc[i..].first().copied()) {
        Some(Some(b'<')) => {
            let text = crate::sources::canadapost::utf8(doc)?;
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
            let value: Value = crate::jsonstr::from_json(doc)
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
pub(crate) fn place_location(
    place: Option<&str>,
    postal: Option<&str>,
    country_field: Option<&str>,
) -> Option<Location> {
    let (city, from_place) = match place {
        Some(p) => split_place(p),
        None => ("", None),
    };
    let cc = country_field.and_then(country).or(from_place);
    let city = (!city.is_empty()).then_some(city);
    geo::location(city, None, postal, cc.as_deref())
}

/// Zones of countries that keep one civil time, for times DHL sends without an offset.
pub(crate) fn country_zone(country: &str) -> Option<&'static str> {
    Some(match country {
        "DE" => "Europe/Berlin",
        "NL" => "Europe/Amsterdam",
        "BE" => "Europe/Brussels",
        "FR" => "Europe/Paris",
        "GB" => "Europe/London",
        "IE" => "Europe/Dublin",
        "IT" => "Europe/Rome",
        "AT" => "Europe/Vienna",
        "CH" => "Europe/Zurich",
        "DK" => "Europe/Copenhagen",
        "SE" => "Europe/Stockholm",
        "NO" => "Europe/Oslo",
        "FI" => "Europe/Helsinki",
        "PL" => "Europe/Warsaw",
        "CZ" => "Europe/Prague",
        "SK" => "Europe/Bratislava",
        "HU" => "Europe/Budapest",
        "SI" => "Europe/Ljubljana",
        "HR" => "Europe/Zagreb",
        "RO" => "Europe/Bucharest",
        "BG" => "Europe/Sofia",
        "GR" => "Europe/Athens",
        "LU" => "Europe/Luxembourg",
        "LT" => "Europe/Vilnius",
        "LV" => "Europe/Riga",
        "EE" => "Europe/Tallinn",
        "TR" => "Europe/Istanbul",
        "IL" => "Asia/Jerusalem",
        "AE" => "Asia/Dubai",
        "SA" => "Asia/Riyadh",
        "IN" => "Asia/Kolkata",
        "CN" => "Asia/Shanghai",
        "HK" => "Asia/Hong_Kong",
        "SG" => "Asia/Singapore",
        "JP" => "Asia/Tokyo",
        "KR" => "Asia/Seoul",
        "TW" => "Asia/Taipei",
        "TH" => "Asia/Bangkok",
        "VN" => "Asia/Ho_Chi_Minh",
        "PH" => "Asia/Manila",
        "ZA" => "Africa/Johannesburg",
        _ => return None,
    })
}

/// A wall-clock time without offset, placed in `zone` (the one the vendor documents) or else in
/// the zone of the event's country when that country keeps one time. Refused, never guessed.
pub(crate) fn local_time(
    civil: DateTime,
    zone: Option<&str>,
    location: Option<&Location>,
    path: &str,
    shown: &str,
) -> Result<EventTime, ParseError> {
    let country = location.and_then(|l| l.country.as_deref());
    let zone = zone
        .or_else(|| country.and_then(country_zone))
        .ok_or_else(|| {
            ParseError::new(
                path,
                format!(
                    "{shown:?} has no offset and the event's place ({}) does not fix one zone",
                    country.unwrap_or("none")
                ),
            )
        })?;
    timefmt::local_in_zone(civil, zone)
        .ok_or_else(|| ParseError::new(path, format!("{shown:?} is not a time in {zone}")))
}

/// An ISO 8601 local date-time (`2018-08-03T00:00:00`, minutes only, or a date alone).
pub(crate) fn civil_iso(s: &str) -> Option<DateTime> {
    if !s.is_ascii() || s.len() > 40 {
        return None;
    }
    if let Ok(dt) = s.parse::<DateTime>() {
        return Some(dt);
    }
    s.parse::<jiff::civil::Date>()
        .ok()
        .map(|d| d.at(0, 0, 0, 0))
}

/// Event times as DHL writes them: with an offset when it has one, else local.
pub(crate) fn stamp_time(
    stamp: &str,
    zone: Option<&str>,
    location: Option<&Location>,
    path: &str,
) -> Result<EventTime, ParseError> {
    if stamp.is_ascii()
        && stamp.len() <= 40
        && let Some(t) = timefmt::with_offset(stamp)
    {
        return Ok(t);
    }
    let civil = civil_iso(stamp).ok_or_else(|| {
        ParseError::new(path, format!("{stamp:?} is not an ISO 8601 date and time"))
    })?;
    local_time(civil, zone, location, path, stamp)
}

#[cfg(test)]
mod tests;
