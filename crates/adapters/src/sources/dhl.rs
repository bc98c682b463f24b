//! DHL Shipment Tracking - Unified API (`GET api-eu.dhl.com/track/shipments`), JSON.
//!
//! `shipments[].events[]`, one observation per event in document order (DHL sends the newest
//! first), for every DHL business (express, parcel-de, ecommerce, freight...).
//!
//! Mapping key: the unified `statusCode` (`pre-transit`, `transit`, `delivered`, `failure`,
//! `unknown`) says too little for DHL Express, whose `failure` covers a refused parcel, a bad
//! address and nobody at home alike. For express shipments the event's DHL Express checkpoint
//! code (the `typeCode` field, or the `status` field when it carries a two-character code such
//! as `NH`) is the key, prefixed with the service: `express:NH`. Every other event is keyed by
//! its `statusCode` alone: the other services' codes are not published with the unified API.
//!
//! Time: `timestamp` is the event's local time, usually with its offset. When DHL leaves the
//! offset out, the event's country says the zone, which is only used for countries with a
//! single time zone; otherwise the event is refused rather than guessed.

use crate::geo;
use crate::jsonstr::{from_json, null_default, text};
use crate::timefmt;
use crate::{Observation, ParseError};
use jiff::civil::DateTime;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::borrow::Cow;
use waypost_domain::{EventTime, Location};

type Text<'a> = Option<Cow<'a, str>>;

#[derive(Deserialize)]
struct Doc<'a> {
    #[serde(borrow)]
    shipments: Option<Vec<Shipment<'a>>>,
    // An RFC 7807 problem instead of a result (`{"status":404,"title":"No result found"}`).
    status: Option<Value>,
    #[serde(borrow)]
    title: Text<'a>,
    #[serde(borrow)]
    detail: Text<'a>,
}

#[derive(Deserialize)]
struct Shipment<'a> {
    #[serde(borrow)]
    id: Text<'a>,
    #[serde(borrow)]
    service: Text<'a>,
    #[serde(borrow)]
    origin: Option<Place<'a>>,
    #[serde(borrow)]
    destination: Option<Place<'a>>,
    #[serde(borrow, rename = "estimatedTimeOfDelivery")]
    estimated_time_of_delivery: Text<'a>,
    #[serde(borrow, rename = "estimatedDeliveryTimeFrame")]
    estimated_time_frame: Option<TimeFrame<'a>>,
    #[serde(borrow)]
    details: Option<Details<'a>>,
    #[serde(borrow, default, deserialize_with = "null_default")]
    events: Vec<Event<'a>>,
}

#[derive(Deserialize)]
struct TimeFrame<'a> {
    #[serde(borrow, rename = "estimatedThrough")]
    estimated_through: Text<'a>,
}

#[derive(Deserialize)]
struct Details<'a> {
    #[serde(borrow, default, deserialize_with = "null_default")]
    references: Vec<Reference<'a>>,
}

#[derive(Deserialize)]
struct Reference<'a> {
    #[serde(borrow)]
    number: Text<'a>,
    #[serde(borrow, rename = "type")]
    kind: Text<'a>,
}

#[derive(Deserialize)]
struct Place<'a> {
    #[serde(borrow)]
    address: Option<Address<'a>>,
}

#[derive(Deserialize)]
struct Address<'a> {
    #[serde(borrow, rename = "addressLocality")]
    locality: Text<'a>,
    #[serde(borrow, rename = "postalCode")]
    postal_code: Text<'a>,
    #[serde(borrow, rename = "countryCode")]
    country_code: Text<'a>,
}

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(borrow)]
    timestamp: Text<'a>,
    #[serde(borrow)]
    location: Option<Place<'a>>,
    #[serde(borrow, rename = "statusCode")]
    status_code: Text<'a>,
    #[serde(borrow)]
    status: Text<'a>,
    #[serde(borrow, rename = "typeCode")]
    type_code: Text<'a>,
    #[serde(borrow)]
    description: Text<'a>,
    #[serde(borrow)]
    remark: Text<'a>,
}

/// DHL Express writes places as `LEIPZIG - GERMANY` or `CINCINNATI HUB - USA`: the part after
/// the last ` - ` is the country when it reads as one. Returns (city, country code).
fn split_locality(locality: &str) -> (&str, Option<String>) {
    if let Some((city, tail)) = locality.rsplit_once(" - ")
        && let Some(cc) = geo::country_code(tail)
    {
        return (city.trim(), Some(cc));
    }
    (locality, None)
}

fn place(a: &Address<'_>) -> Option<Location> {
    let (city, from_locality) = match text(&a.locality) {
        Some(l) => split_locality(l),
        None => ("", None),
    };
    let country = text(&a.country_code).map(str::to_owned).or(from_locality);
    geo::location(Some(city), None, text(&a.postal_code), country.as_deref())
}

/// Zones of countries that have exactly one, for timestamps DHL sends without an offset.
fn country_zone(country: &str) -> Option<&'static str> {
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

fn event_time(stamp: &str, country: Option<&str>, path: &str) -> Result<EventTime, ParseError> {
    let bad = || {
        ParseError::new(
            format!("{path}.timestamp"),
            format!("{stamp:?} is not an ISO 8601 date and time"),
        )
    };
    if !stamp.is_ascii() || stamp.len() > 40 {
        return Err(bad());
    }
    if let Some(t) = timefmt::with_offset(stamp) {
        return Ok(t);
    }
    let civil: DateTime = stamp.parse().map_err(|_| bad())?;
    let zone = country.and_then(country_zone).ok_or_else(|| {
        ParseError::new(
            format!("{path}.timestamp"),
            format!(
                "{stamp:?} has no offset and the event's country ({}) does not fix one zone",
                country.unwrap_or("none")
            ),
        )
    })?;
    timefmt::local_in_zone(civil, zone).ok_or_else(bad)
}

/// A DHL Express checkpoint code: two upper-case letters or digits.
fn checkpoint_code(s: &str) -> Option<&str> {
    (s.len() == 2
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()))
    .then_some(s)
}

pub fn parse(doc: &[u8]) -> Result<Vec<Observation>, ParseError> {
    let doc: Doc<'_> = from_json(doc).map_err(|e| json_error(&e))?;
    let Some(shipments) = doc.shipments else {
        let status = doc.status.map(|s| s.to_string()).unwrap_or_default();
        let detail = format!(
            "DHL problem {status} {}: {}",
            text(&doc.title).unwrap_or(""),
            text(&doc.detail).unwrap_or("")
        );
        return Err(ParseError::new("shipments", detail.trim().to_owned()));
    };
    let mut out = Vec::new();
    for (si, s) in shipments.iter().enumerate() {
        let tracking = text(&s.id).map(str::to_owned);
        let service = text(&s.service).map(str::to_ascii_lowercase);
        let express = service.as_deref() == Some("express");
        let order_ref = s
            .details
            .as_ref()
            .and_then(|d| {
                d.references
                    .iter()
                    .find(|r| text(&r.kind) == Some("customer-reference"))
            })
            .and_then(|r| text(&r.number))
            .map(str::to_owned);
        let origin = s
            .origin
            .as_ref()
            .and_then(|p| p.address.as_ref())
            .and_then(place);
        let destination = s
            .destination
            .as_ref()
            .and_then(|p| p.address.as_ref())
            .and_then(place);
        let promised_at = text(&s.estimated_time_of_delivery)
            .or_else(|| {
                s.estimated_time_frame
                    .as_ref()
                    .and_then(|f| text(&f.estimated_through))
            })
            .filter(|t| t.is_ascii())
            .and_then(timefmt::with_offset);
        for (ei, e) in s.events.iter().enumerate() {
            let path = format!("shipments[{si}].events[{ei}]");
            let status_code = text(&e.status_code)
                .map(str::to_ascii_lowercase)
                .ok_or_else(|| {
                    ParseError::new(format!("{path}.statusCode"), "event has no statusCode")
                })?;
            let code = express
                .then(|| {
                    text(&e.type_code)
                        .or_else(|| text(&e.status).and_then(checkpoint_code))
                        .map(str::to_ascii_uppercase)
                })
                .flatten();
            let mapping_key = match &code {
                Some(c) => format!("express:{c}"),
                None => status_code.clone(),
            };
            let location = e
                .location
                .as_ref()
                .and_then(|p| p.address.as_ref())
                .and_then(place);
            let stamp = text(&e.timestamp).ok_or_else(|| {
                ParseError::new(format!("{path}.timestamp"), "event has no timestamp")
            })?;
            let country = location.as_ref().and_then(|l| l.country.as_deref());
            let occurred_at = event_time(stamp, country, &path)?;
            let description = text(&e.description)
                .or_else(|| text(&e.status).filter(|s| checkpoint_code(s).is_none()))
                .map(str::to_owned);
            let mut attributes = Map::new();
            attributes.insert("status_code".into(), Value::String(status_code.clone()));
            if let Some(r) = text(&e.remark) {
                attributes.insert("remark".into(), Value::String(r.to_owned()));
            }
            out.push(Observation {
                raw_code: code.unwrap_or(status_code),
                mapping_key,
                reason_key: None,
                raw_description: description,
                occurred_at: Some(occurred_at),
                local_time: None,
                tracking_number: tracking.clone(),
                order_ref: order_ref.clone(),
                vendor_event_id: None,
                carrier: Some("dhl".to_owned()),
                service: service.clone(),
                location,
                origin: origin.clone(),
                destination: destination.clone(),
                promised_at,
                attributes,
            });
        }
    }
    Ok(out)
}

fn json_error(e: &serde_json::Error) -> ParseError {
    ParseError::json(e, "a DHL Shipment Tracking response")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(service: &str, events: &str) -> String {
        format!(
            r#"{{"shipments":[{{"id":"1234567890","service":"{service}","events":[{events}]}}]}}"#
        )
    }

    #[test]
    fn express_codes_qualify_other_services_use_the_status_code() {
        let e = r#"{"timestamp":"2024-03-30T21:00:00+01:00","statusCode":"failure","status":"NH","description":"Delivery attempted; recipient not home","location":{"address":{"addressLocality":"LEIPZIG - GERMANY"}}}"#;
        let obs = parse(doc("express", e).as_bytes()).unwrap();
        assert_eq!(obs[0].mapping_key, "express:NH");
        assert_eq!(obs[0].raw_code, "NH");
        let l = obs[0].location.as_ref().unwrap();
        assert_eq!(
            (l.city.as_deref(), l.country.as_deref()),
            (Some("Leipzig"), Some("DE"))
        );
        let obs = parse(doc("parcel-de", e).as_bytes()).unwrap();
        assert_eq!(obs[0].mapping_key, "failure");
        assert_eq!(obs[0].raw_code, "failure");
    }

    #[test]
    fn offsetless_times_take_a_single_zone_country_and_its_dst() {
        let e = r#"{"timestamp":"2024-03-31T03:30:00","statusCode":"transit","location":{"address":{"addressLocality":"Bonn","countryCode":"DE"}}},{"timestamp":"2024-03-30T03:30:00","statusCode":"transit","location":{"address":{"countryCode":"DE"}}}"#;
        let obs = parse(doc("parcel-de", e).as_bytes()).unwrap();
        let (a, b) = (obs[0].occurred_at.unwrap(), obs[1].occurred_at.unwrap());
        assert_eq!(a.offset.seconds(), 7200);
        assert_eq!(b.offset.seconds(), 3600);
        assert_eq!(a.instant.to_string(), "2024-03-31T01:30:00Z");
    }

    #[test]
    fn offsetless_times_elsewhere_are_refused_with_their_path() {
        let e = r#"{"timestamp":"2024-03-31T03:30:00+02:00","statusCode":"transit"},{"timestamp":"2024-03-31T03:30:00","statusCode":"transit","location":{"address":{"addressLocality":"CINCINNATI HUB - USA"}}}"#;
        let err = parse(doc("express", e).as_bytes()).unwrap_err();
        assert_eq!(err.path, "shipments[0].events[1].timestamp");
        assert!(err.message.contains("US"), "{err}");
    }

    #[test]
    fn empty_problem_and_malformed() {
        assert!(parse(doc("express", "").as_bytes()).unwrap().is_empty());
        assert!(parse(br#"{"shipments":[]}"#).unwrap().is_empty());
        let err = parse(br#"{"status":404,"title":"No result found","detail":"No shipment with given tracking number found."}"#).unwrap_err();
        assert!(err.message.contains("404"), "{err}");
        let e = r#"{"timestamp":"2024-03-31T03:30:00+02:00"}"#;
        assert_eq!(
            parse(doc("express", e).as_bytes()).unwrap_err().path,
            "shipments[0].events[0].statusCode"
        );
        let e = r#"{"timestamp":"31.03.2024 03:30 ü","statusCode":"transit"}"#;
        assert!(parse(doc("express", e).as_bytes()).is_err());
    }
}
