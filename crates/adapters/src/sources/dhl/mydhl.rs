//! DHL Express MyDHL API, `GET /shipments/{shipmentTrackingNumber}/tracking` (JSON).
//!
//! `shipments[]` with `shipmentTrackingNumber` (a number in some answers), `events[]` oldest
//! first with separate `date` (`2020-06-10`), `time` (`13:06:00`) and, in newer API versions,
//! `GMTOffset` (`+09:00`); without it the time is local to the event's `serviceArea`, whose
//! `description` reads `City-CC`. `typeCode` is the DHL Express checkpoint code: the mapping key
//! is `express:<code>`. `pieces[].events[]` repeat the shipment's events per piece and are not
//! read again.

use super::{date_and_time, jlist, jtext, place_location};
use crate::{LocalTime, Observation, ParseError, Parsed, timefmt};
use serde_json::{Map, Value};

/// A MyDHL answer: `shipments[]` whose entries carry `shipmentTrackingNumber`.
pub(crate) fn is_mydhl(v: &Value) -> bool {
    jlist(v.get("shipments"))
        .iter()
        .any(|s| s.get("shipmentTrackingNumber").is_some())
}

pub(crate) fn read(v: &Value) -> Result<Parsed, ParseError> {
    let mut out = Parsed::from(Vec::new());
    for (si, s) in jlist(v.get("shipments")).iter().enumerate() {
        let tracking = jtext(s.get("shipmentTrackingNumber"));
        let order_ref = jlist(s.get("shipperReferences"))
            .iter()
            .find(|r| jtext(r.get("typeCode")).is_none_or(|t| t == "CU"))
            .and_then(|r| jtext(r.get("value")));
        let party = |key: &str| {
            let p = s.get(key)?;
            let addr = p.get("postalAddress");
            let area = jlist(p.get("serviceArea")).first();
            let city = addr
                .and_then(|a| jtext(a.get("cityName")))
                .or_else(|| area.and_then(|a| jtext(a.get("description"))));
            place_location(
                city.as_deref(),
                addr.and_then(|a| jtext(a.get("postalCode"))).as_deref(),
                addr.and_then(|a| jtext(a.get("countryCode"))).as_deref(),
            )
        };
        let origin = party("shipperDetails");
        let destination = party("receiverDetails");
        let service = Some("express".to_owned());
        for (ei, e) in jlist(s.get("events")).iter().enumerate() {
            let path = format!("shipments[{si}].events[{ei}]");
            super::Lent {
                tracking: &tracking,
                order_ref: &order_ref,
                origin: &origin,
                destination: &destination,
                service: &service,
            }
            .add(&mut out, event(e, &path));
        }
    }
    Ok(out)
}

fn event(e: &Value, path: &str) -> Result<Observation, ParseError> {
    let code = jtext(e.get("typeCode"))
        .map(|c| c.to_ascii_uppercase())
        .ok_or_else(|| ParseError::new(format!("{path}.typeCode"), "missing or empty"))?;
    let area = jlist(e.get("serviceArea")).first();
    let location = area
        .and_then(|a| jtext(a.get("description")))
        .and_then(|d| place_location(Some(&d), None, None));
    let date = jtext(e.get("date")).unwrap_or_default();
    let time = jtext(e.get("time")).unwrap_or_default();
    let civil = date_and_time(&date, &time).ok_or_else(|| {
        ParseError::new(
            format!("{path}.date"),
            format!(
                "{:?} is not a date (YYYY-MM-DD) and time (HH:MM:SS)",
                format!("{date} {time}")
            ),
        )
    })?;
    // Newer API versions give the offset; older ones leave the time local to the service area.
    let (occurred_at, local_time) =
        match jtext(e.get("GMTOffset")).or_else(|| jtext(e.get("gmtOffset"))) {
            Some(off) => {
                let t = timefmt::local_with_offset(civil, &off).ok_or_else(|| {
                    ParseError::new(
                        format!("{path}.GMTOffset"),
                        format!("{off:?} is not an offset"),
                    )
                })?;
                (Some(t), None)
            }
            None => (None, Some(LocalTime::new(civil))),
        };
    let mut attributes = Map::new();
    if let Some(s) = jtext(e.get("signedBy")) {
        attributes.insert("signed_by".into(), Value::String(s));
    }
    if let Some(c) = area.and_then(|a| jtext(a.get("code"))) {
        attributes.insert("service_area".into(), Value::String(c));
    }
    Ok(Observation {
        mapping_key: format!("express:{code}"),
        reason_key: None,
        raw_code: code,
        raw_description: jtext(e.get("description")),
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
