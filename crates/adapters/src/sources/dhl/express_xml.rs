//! DHL Express XML-PI tracking (`req:TrackingResponse`), still sent by older integrations.
//!
//! `AWBInfo` per air waybill; `Status/ActionStatus` is `success` or says why there is nothing
//! (`No Shipments Found`, condition 209): such a block simply has no events. Each
//! `ShipmentInfo/ShipmentEvent` has `Date` and `Time` local to its `ServiceArea` (no offset; the
//! area's `Description` reads `CITY - COUNTRY`), and `ServiceEvent/EventCode` is the DHL Express
//! checkpoint code: the mapping key is `express:<code>`.

use super::xml::{self, Node};
use super::{date_and_time, place_location};
use crate::{LocalTime, Observation, ParseError, Parsed};
use serde_json::{Map, Value};

pub(crate) fn read(text: &str) -> Result<Parsed, ParseError> {
    let root = xml::parse(text)?;
    if root.name != "TrackingResponse" {
        let why = root
            .text_at("Response/Status/Condition/ConditionData")
            .unwrap_or("no tracking data");
        return Err(ParseError::new(
            root.name.clone(),
            format!("DHL XML-PI answered with an error: {why}"),
        ));
    }
    let mut out = Parsed::from(Vec::new());
    for (ai, awb) in root.children("AWBInfo").enumerate() {
        let tracking = awb.text_at("AWBNumber").map(str::to_owned);
        let Some(info) = awb.child("ShipmentInfo") else {
            continue;
        };
        let order_ref = info
            .text_at("ShipperReference/ReferenceID")
            .map(str::to_owned);
        let origin = info
            .text_at("OriginServiceArea/Description")
            .and_then(|p| place_location(Some(p), None, None));
        let destination = info
            .text_at("DestinationServiceArea/Description")
            .and_then(|p| place_location(Some(p), None, None));
        let service = Some("express".to_owned());
        for (ei, ev) in info.children("ShipmentEvent").enumerate() {
            let path = format!("AWBInfo[{ai}]/ShipmentInfo/ShipmentEvent[{ei}]");
            super::Lent {
                tracking: &tracking,
                order_ref: &order_ref,
                origin: &origin,
                destination: &destination,
                service: &service,
            }
            .add(&mut out, event(ev, &path));
        }
    }
    Ok(out)
}

fn event(ev: &Node, path: &str) -> Result<Observation, ParseError> {
    let code = ev
        .text_at("ServiceEvent/EventCode")
        .map(str::to_ascii_uppercase)
        .ok_or_else(|| {
            ParseError::new(format!("{path}/ServiceEvent/EventCode"), "missing or empty")
        })?;
    let description = ev
        .text_at("ServiceEvent/Description")
        .map(|d| d.split_whitespace().collect::<Vec<_>>().join(" "));
    let location = ev
        .text_at("ServiceArea/Description")
        .and_then(|p| place_location(Some(p), None, None));
    // Local to the service area, no offset: normalization places it by the area's country.
    let date = ev.text_at("Date").unwrap_or("");
    let time = ev.text_at("Time").unwrap_or("");
    let civil = date_and_time(date, time).ok_or_else(|| {
        ParseError::new(
            format!("{path}/Date"),
            format!(
                "{:?} is not a date (YYYY-MM-DD) and time (HH:MM:SS)",
                format!("{date} {time}")
            ),
        )
    })?;
    let mut attributes = Map::new();
    if let Some(s) = ev.text_at("Signatory") {
        attributes.insert("signed_by".into(), Value::String(s.to_owned()));
    }
    if let Some(a) = ev.text_at("ServiceArea/ServiceAreaCode") {
        attributes.insert("service_area".into(), Value::String(a.to_owned()));
    }
    Ok(Observation {
        mapping_key: format!("express:{code}"),
        reason_key: None,
        raw_code: code,
        raw_description: description,
        occurred_at: None,
        local_time: Some(LocalTime::new(civil)),
        tracking_number: None,
        order_ref: None,
        vendor_event_id: None,
        carrier: Some("dhl".to_owned()),
        service: None,
        location,
        origin: None,
        destination: None,
        promised_at: None,
        attributes,
    })
}
