//! USPS Tracking API v3 (`GET /tracking/v3/tracking/{trackingNumber}?expand=DETAIL`): one
//! number per document, `trackingEvents[]` newest first. `eventTimestamp` is the local wall
//! clock without offset and `GMTOffset` gives the offset; `GMTTimestamp` carries USPS's own
//! quirk of the local date in front of the UTC time of day.

use super::{local, offset_text};
use crate::world::{SimOrder, SimScan, SimShipment};
use jiff::Timestamp;
use serde_json::{Value, json};

fn stamp(t: Timestamp, offset_secs: i32) -> String {
    let dt = local(t, offset_secs);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    )
}

fn event(s: &SimScan) -> Value {
    let off = s.place.utc_offset_secs;
    let local_stamp = stamp(s.at, off);
    let utc = stamp(s.at, 0);
    let gmt = format!("{}{}Z", &local_stamp[..11], &utc[11..]);
    json!({
        "eventType": s.code.description,
        "eventTimestamp": local_stamp,
        "GMTTimestamp": gmt,
        "GMTOffset": offset_text(off),
        "eventCountry": null,
        "eventCity": s.place.city.to_uppercase(),
        "eventState": s.place.region,
        "eventZIP": s.place.postal_code,
        "firm": null,
        "name": null,
        "authorizedAgent": "false",
        "eventCode": s.code.code,
        "additionalProp": null,
    })
}

pub fn doc(order: &SimOrder, ship: &SimShipment, scans: &[&SimScan]) -> Value {
    let (o, d) = (&order.plan.origin, &order.plan.destination);
    let mail_class = match ship.service {
        "USPS Ground Advantage" => "USPS Ground Advantage<SUP>&#153;</SUP>",
        "Priority Mail Express" => "Priority Mail Express<SUP>&#174;</SUP>",
        "Priority Mail" => "Priority Mail<SUP>&#174;</SUP>",
        other => other,
    };
    json!({
        "trackingNumber": ship.tracking_number,
        "mailClass": mail_class,
        "mailType": "DM",
        "originCity": o.city.to_uppercase(),
        "originState": o.region,
        "originZIP": o.postal_code,
        "destinationCity": d.city.to_uppercase(),
        "destinationState": d.region,
        "destinationZIP": d.postal_code,
        "emailEnabled": "true",
        "proofOfDeliveryEnabled": "false",
        "services": ["USPS Tracking<SUP>&#174;</SUP>"],
        "trackingEvents": scans.iter().map(|s| event(s)).collect::<Vec<_>>(),
    })
}

pub fn not_found() -> Value {
    json!({"apiVersion":"v3","error":{"code":"404","message":"Tracking number not found"}})
}
