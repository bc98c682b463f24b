//! UPS Track API (`GET /api/track/v1/details/{inquiryNumber}`): `trackResponse.shipment[]
//! .package[].activity[]`, newest first; each activity's local date (`YYYYMMDD`) and time
//! (`HHMMSS`) with `gmtOffset`, and the GMT date and time beside them.

use super::{local, offset_text};
use crate::world::{SimOrder, SimScan, SimShipment};
use jiff::Timestamp;
use serde_json::{Value, json};
use waypost_demo::Place;
use waypost_domain::Status;

fn address(p: &Place) -> Value {
    json!({
        "city": p.city.to_uppercase(),
        "stateProvince": p.region,
        "postalCode": p.postal_code,
        "countryCode": p.country,
        "country": p.country,
    })
}

fn with_street(mut v: Value, key: &str, street: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.insert(key.to_owned(), street);
    }
    v
}

fn compact(t: Timestamp, offset_secs: i32) -> (String, String) {
    let dt = local(t, offset_secs);
    (
        format!("{:04}{:02}{:02}", dt.year(), dt.month(), dt.day()),
        format!("{:02}{:02}{:02}", dt.hour(), dt.minute(), dt.second()),
    )
}

fn activity(s: &SimScan) -> Value {
    let off = s.place.utc_offset_secs;
    let (date, time) = compact(s.at, off);
    let (gmt_date, gmt) = compact(s.at, 0);
    let gmt_time = format!("{}:{}:{}", &gmt[0..2], &gmt[2..4], &gmt[4..6]);
    // The label is created by the shipper: UPS knows only the country then.
    let location = if s.code.status == Status::LabelCreated {
        json!({ "address": { "countryCode": s.place.country, "country": s.place.country } })
    } else {
        json!({ "address": address(&s.place), "slic": slic(&s.place) })
    };
    json!({
        "location": location,
        "status": {
            "type": s.code.aux,
            "description": s.code.description,
            "code": s.code.code,
            "statusCode": status_code(s.code.status),
        },
        "date": date,
        "time": time,
        "gmtDate": gmt_date,
        "gmtOffset": offset_text(off),
        "gmtTime": gmt_time,
    })
}

/// UPS's numeric status codes as they appear beside the type.
fn status_code(s: Status) -> &'static str {
    match s {
        Status::LabelCreated => "003",
        Status::Shipped => "038",
        Status::OutForDelivery => "021",
        Status::Delivered => "011",
        Status::Returned => "013",
        Status::Exception => "007",
        _ => "005",
    }
}

/// A facility number from the postal code, stable per place.
fn slic(p: &Place) -> String {
    let digits: String = p.postal_code.chars().filter(char::is_ascii_digit).collect();
    format!("{:0<4}", digits.get(..4).unwrap_or(&digits))
}

pub fn doc(order: &SimOrder, ship: &SimShipment, scans: &[&SimScan]) -> Value {
    let current = scans
        .first()
        .map(|s| json!({ "description": s.code.description, "code": status_code(s.code.status) }));
    let (unit, weight) = if order.plan.origin.country == "US" {
        ("LBS", ship.weight_kg * 2.204_62)
    } else {
        ("KGS", ship.weight_kg)
    };
    json!({
        "trackResponse": {
            "shipment": [{
                "inquiryNumber": ship.tracking_number,
                "package": [{
                    "trackingNumber": ship.tracking_number,
                    "activity": scans.iter().map(|s| activity(s)).collect::<Vec<_>>(),
                    "packageCount": order.shipments.len(),
                    "referenceNumber": [{ "type": "SHIPMENT", "number": order.plan.id }],
                    "service": { "description": ship.service },
                    "packageAddress": [
                        { "type": "ORIGIN", "name": order.plan.warehouse.to_uppercase(), "address": address(&order.plan.origin) },
                        { "type": "DESTINATION", "address": with_street(address(&order.plan.destination), "addressLine", json!([order.ship_to.street])) },
                    ],
                    "currentStatus": current,
                    "weight": { "unitOfMeasurement": unit, "weight": format!("{weight:.2}") },
                }],
                "userRelation": [],
            }]
        }
    })
}

/// 404 body for an unknown number.
pub fn not_found() -> Value {
    json!({"response":{"errors":[{"code":"TW0001","message":"Tracking Information Not Found"}]}})
}
