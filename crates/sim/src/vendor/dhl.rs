//! DHL Shipment Tracking - Unified (`GET /track/shipments?trackingNumber=`): `shipments[]`
//! with `events[]` newest first, each timestamp local with its offset, places as DHL Express
//! writes them (`VENLO - NETHERLANDS`), the Express checkpoint code in `status`.

use super::{country_name, iso_local};
use crate::world::{SimOrder, SimScan, SimShipment};
use serde_json::{Value, json};
use waypost_demo::Place;

fn place(p: &Place) -> Value {
    let city = p.city.to_uppercase();
    let locality = match country_name(p.country) {
        Some(name) => format!("{city} - {name}"),
        None => city,
    };
    json!({
        "address": {
            "countryCode": p.country,
            "postalCode": p.postal_code,
            "addressLocality": locality,
        }
    })
}

fn destination(order: &SimOrder) -> Value {
    let mut p = place(&order.plan.destination);
    if let Some(a) = p.get_mut("address").and_then(Value::as_object_mut) {
        a.insert("streetAddress".into(), json!(order.ship_to.street));
    }
    p
}

fn event(s: &SimScan) -> Value {
    // Express events carry their checkpoint code in `status`; events without one carry DHL's
    // text there instead.
    let status = if s.code.code.is_empty() {
        s.code.description
    } else {
        s.code.code
    };
    json!({
        "timestamp": iso_local(s.at, s.place.utc_offset_secs),
        "location": place(&s.place),
        "statusCode": s.code.aux,
        "status": status,
        "description": s.code.description,
    })
}

pub fn doc(order: &SimOrder, ship: &SimShipment, scans: &[&SimScan]) -> Value {
    let events: Vec<Value> = scans.iter().map(|s| event(s)).collect();
    json!({
        "shipments": [{
            "id": ship.tracking_number,
            "service": "express",
            "origin": place(&order.plan.origin),
            "destination": destination(order),
            "status": events.first(),
            "details": {
                "product": { "productName": ship.service },
                "proofOfDeliverySignedAvailable": false,
                "totalNumberOfPieces": order.shipments.len(),
                "weight": { "value": ship.weight_kg, "unitText": "kg" },
                "references": [{ "number": order.plan.id, "type": "customer-reference" }],
            },
            "events": events,
        }]
    })
}

pub fn not_found() -> Value {
    json!({
        "title": "No result found",
        "status": 404,
        "detail": "No shipment with given tracking number found.",
    })
}
