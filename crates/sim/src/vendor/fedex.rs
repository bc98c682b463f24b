//! FedEx Track API (`POST /track/v1/trackingnumbers`): one `completeTrackResults[]` entry per
//! number asked for, scan events newest first, each `date` in ISO 8601 with the scan's local
//! offset. An unknown number gets an entry whose track result carries only an `error`.

use super::iso_local;
use crate::world::{SimOrder, SimScan, SimShipment};
use serde_json::{Value, json};
use waypost_demo::Place;
use waypost_domain::Status;

/// One number's result in a batch.
pub enum Result<'a> {
    Found(&'a SimOrder, &'a SimShipment, &'a [&'a SimScan]),
    NotFound(&'a str),
}

fn address(p: &Place) -> Value {
    json!({
        "city": p.city.to_uppercase(),
        "stateOrProvinceCode": p.region,
        "postalCode": p.postal_code,
        "countryCode": p.country,
    })
}

fn recipient(order: &SimOrder) -> Value {
    let mut a = address(&order.plan.destination);
    if let Some(o) = a.as_object_mut() {
        o.insert("streetLines".into(), json!([order.ship_to.street]));
        o.insert("residential".into(), json!(true));
    }
    a
}

/// FedEx's coarse derived status beside the event type.
fn derived(s: &SimScan) -> &'static str {
    match s.code.status {
        Status::LabelCreated => "IN",
        Status::Shipped => "PU",
        Status::InTransit | Status::OutForDelivery => "IT",
        Status::Delivered => "DL",
        Status::Delayed => "DY",
        Status::Returning => "RS",
        _ => "DE",
    }
}

fn scan_event(s: &SimScan) -> Value {
    let exception = if s.code.aux.is_empty() {
        ""
    } else {
        s.code.description
    };
    json!({
        "date": iso_local(s.at, s.place.utc_offset_secs),
        "eventType": s.code.code,
        "eventDescription": s.code.description,
        "exceptionCode": s.code.aux,
        "exceptionDescription": exception,
        "scanLocation": {
            "streetLines": [""],
            "city": s.place.city.to_uppercase(),
            "stateOrProvinceCode": s.place.region,
            "postalCode": s.place.postal_code,
            "countryCode": s.place.country,
            "residential": false,
        },
        "derivedStatusCode": derived(s),
    })
}

fn service_type(name: &str) -> String {
    name.trim_start_matches("FedEx ")
        .to_uppercase()
        .replace(' ', "_")
        .replace("2DAY", "FEDEX_2_DAY")
}

fn found(order: &SimOrder, ship: &SimShipment, scans: &[&SimScan]) -> Value {
    let express = !ship.service.contains("Ground") && !ship.service.contains("Home");
    json!({
        "trackingNumber": ship.tracking_number,
        "trackResults": [{
            "trackingNumberInfo": {
                "trackingNumber": ship.tracking_number,
                "trackingNumberUniqueId": "",
                "carrierCode": if express { "FDXE" } else { "FDXG" },
            },
            "additionalTrackingInfo": {
                "nickname": "",
                "packageIdentifiers": [{
                    "type": "CUSTOMER_REFERENCE",
                    "values": [order.plan.id],
                    "trackingNumberUniqueId": "",
                    "carrierCode": "",
                }],
                "hasAssociatedShipments": order.shipments.len() > 1,
            },
            "shipperInformation": { "contact": {}, "address": address(&order.plan.origin) },
            "recipientInformation": { "contact": {}, "address": recipient(order) },
            "serviceDetail": { "type": service_type(ship.service), "description": ship.service },
            "packageDetails": {
                "weightAndDimensions": {
                    "weight": [{ "value": format!("{:.1}", ship.weight_kg), "unit": "KG" }]
                }
            },
            "scanEvents": scans.iter().map(|s| scan_event(s)).collect::<Vec<_>>(),
        }]
    })
}

fn not_found(number: &str) -> Value {
    json!({
        "trackingNumber": number,
        "trackResults": [{
            "trackingNumberInfo": {
                "trackingNumber": number,
                "trackingNumberUniqueId": "",
                "carrierCode": "",
            },
            "error": {
                "code": "TRACKING.TRACKINGNUMBER.NOTFOUND",
                "message": "Tracking number cannot be found. Please correct the tracking number and try again.",
            }
        }]
    })
}

/// `transaction_id` echoes the client's `x-customer-transaction-id`, as FedEx does.
pub fn doc(transaction_id: &str, results: &[Result<'_>]) -> Value {
    let entries: Vec<Value> = results
        .iter()
        .map(|r| match r {
            Result::Found(o, s, scans) => found(o, s, scans),
            Result::NotFound(n) => not_found(n),
        })
        .collect();
    json!({ "transactionId": transaction_id, "output": { "completeTrackResults": entries } })
}
