//! DHL Shipment Tracking - Unified API (`GET api-eu.dhl.com/track/shipments`), JSON.
//!
//! `shipments[].events[]`, one observation per event in document order (DHL sends the newest
//! first), for every DHL business (express, parcel-de, ecommerce, freight...). DHL's own OpenAPI
//! gives `id` a number as its example, and real answers send one: every field is read as text
//! whatever its JSON type.
//!
//! Mapping key: a DHL Express checkpoint code when the event carries one (`typeCode`, or a
//! two-character code in `status`), as `express:<code>`; otherwise the unified `statusCode`
//! (`pre-transit`, `transit`, `delivered`, `failure`, `unknown`), which says too little on its
//! own ("loaded onto the delivery vehicle" and a delivery delay are both `transit`): the table's
//! patterns refine it on the event's text. An event with neither code nor status code is keyed
//! `express` or by its service, and mapped by its text alone.
//!
//! Time: `timestamp` is, per DHL's API description, the event's local time, often without an
//! offset. Parcel Germany's times are German time (Europe/Berlin); other offsetless times are
//! left as wall-clock times for normalization to place by the event's location.
//! The text matched by the patterns is `description` (or `status` when that is text), with the
//! `remark` after it when there is one: DHL Express puts the reason for a hold there ("pending
//! completion of customs inspection").

use super::{jlist, jtext, place_location};
use crate::{Observation, ParseError, Parsed, timefmt};
use serde_json::{Map, Value};
use waypost_domain::Location;

/// A DHL Express checkpoint code: two upper-case letters or digits.
fn checkpoint_code(s: &str) -> Option<&str> {
    (s.len() == 2
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()))
    .then_some(s)
}

fn address_location(place: Option<&Value>) -> Option<Location> {
    let a = place?.get("address")?;
    place_location(
        jtext(a.get("addressLocality")).as_deref(),
        jtext(a.get("postalCode")).as_deref(),
        jtext(a.get("countryCode")).as_deref(),
    )
}

pub(crate) fn read(v: &Value) -> Result<Parsed, ParseError> {
    let Some(shipments) = v.get("shipments") else {
        // An RFC 7807 problem instead of a result (`{"status":404,"title":"No result found"}`).
        let detail = format!(
            "DHL problem {} {}: {}",
            jtext(v.get("status")).unwrap_or_default(),
            jtext(v.get("title")).unwrap_or_default(),
            jtext(v.get("detail")).unwrap_or_default()
        );
        return Err(ParseError::new("shipments", detail.trim().to_owned()));
    };
    let mut out = Parsed::from(Vec::new());
    for (si, s) in jlist(Some(shipments)).iter().enumerate() {
        let tracking = jtext(s.get("id"));
        let service = jtext(s.get("service")).map(|x| x.to_ascii_lowercase());
        let express = service.as_deref() == Some("express");
        // Parcel Germany documents its times as German local time.
        let zone = (service.as_deref() == Some("parcel-de")).then_some("Europe/Berlin");
        let order_ref = s
            .get("details")
            .map(|d| jlist(d.get("references")))
            .unwrap_or_default()
            .iter()
            .find(|r| jtext(r.get("type")).as_deref() == Some("customer-reference"))
            .and_then(|r| jtext(r.get("number")));
        let origin = address_location(s.get("origin"));
        let destination = address_location(s.get("destination"));
        let promised_at = jtext(s.get("estimatedTimeOfDelivery"))
            .or_else(|| {
                s.get("estimatedDeliveryTimeFrame")
                    .and_then(|f| jtext(f.get("estimatedThrough")))
            })
            .and_then(|t| timefmt::with_offset(&t));
        for (ei, e) in jlist(s.get("events")).iter().enumerate() {
            let path = format!("shipments[{si}].events[{ei}]");
            match event(e, &path, express, service.as_deref(), zone) {
                Ok(mut o) => {
                    o.tracking_number.clone_from(&tracking);
                    o.order_ref.clone_from(&order_ref);
                    o.origin.clone_from(&origin);
                    o.destination.clone_from(&destination);
                    o.service.clone_from(&service);
                    o.promised_at = promised_at;
                    out.observations.push(o);
                }
                Err(err) => out.unreadable.push(err),
            }
        }
    }
    Ok(out)
}

fn event(
    e: &Value,
    path: &str,
    express: bool,
    service: Option<&str>,
    zone: Option<&str>,
) -> Result<Observation, ParseError> {
    let status_code = jtext(e.get("statusCode")).map(|s| s.to_ascii_lowercase());
    let status = jtext(e.get("status"));
    let code = express
        .then(|| {
            jtext(e.get("typeCode"))
                .or_else(|| {
                    status
                        .as_deref()
                        .and_then(checkpoint_code)
                        .map(str::to_owned)
                })
                .map(|c| c.to_ascii_uppercase())
        })
        .flatten();
    let description = jtext(e.get("description")).or_else(|| {
        status
            .clone()
            .filter(|s| checkpoint_code(s).is_none() && Some(s.to_ascii_lowercase()) != status_code)
    });
    let remark = jtext(e.get("remark"));
    let text = match (&description, &remark) {
        (Some(d), Some(r)) => Some(format!("{d} {r}")),
        (Some(d), None) => Some(d.clone()),
        (None, r) => r.clone(),
    };
    let (mapping_key, raw_code) = match (&code, &status_code, &text) {
        (Some(c), _, _) => (format!("express:{c}"), c.clone()),
        (None, Some(sc), _) => (sc.clone(), sc.clone()),
        (None, None, Some(t)) => (service.unwrap_or("express").to_owned(), t.clone()),
        (None, None, None) => {
            return Err(ParseError::new(
                format!("{path}.statusCode"),
                "the event has no status code and no text",
            ));
        }
    };
    let location = address_location(e.get("location"));
    let stamp = jtext(e.get("timestamp"))
        .ok_or_else(|| ParseError::new(format!("{path}.timestamp"), "missing or empty"))?;
    let (occurred_at, local_time) = timefmt::read(&stamp)
        .ok_or_else(|| {
            ParseError::new(
                format!("{path}.timestamp"),
                format!("{stamp:?} is not an ISO 8601 date and time"),
            )
        })?
        .split(zone);
    let mut attributes = Map::new();
    if let Some(sc) = &status_code {
        attributes.insert("status_code".into(), Value::String(sc.clone()));
    }
    if let Some(r) = remark {
        attributes.insert("remark".into(), Value::String(r));
    }
    if let Some(n) = jtext(e.get("nextSteps")) {
        attributes.insert("next_steps".into(), Value::String(n));
    }
    Ok(Observation {
        mapping_key,
        reason_key: None,
        raw_code,
        raw_description: text,
        occurred_at,
        local_time,
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
