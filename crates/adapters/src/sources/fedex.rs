//! FedEx Track API v1 (`POST /track/v1/trackingnumbers`), JSON.
//!
//! `output.completeTrackResults[].trackResults[].scanEvents[]`, one observation per scan event
//! in document order (FedEx sends the newest first). A track result that carries only an
//! `error` (tracking number not found) has no scans and yields nothing.
//!
//! Mapping key: the scan's `eventType` (FedEx tracking status code: `PU`, `AR`, `OD`, `DL`,
//! `DE`...), or its `derivedStatusCode` when the event type is empty. The delivery or shipment
//! exception's `exceptionCode` (`08`: customer not available or business closed) is the reason
//! key, looked up in the table's `[reasons]`.
//!
//! Time: `date` is ISO 8601 with the scan's local offset (`2024-04-25T11:26:00-07:00`), an
//! exact instant as given; a date without an offset is refused, not guessed.

use crate::geo;
use crate::jsonstr::{from_json, null_default, text};
use crate::timefmt;
use crate::{Observation, ParseError};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::borrow::Cow;
use waypost_domain::{EventTime, Location};

type Text<'a> = Option<Cow<'a, str>>;

#[derive(Deserialize)]
struct Doc<'a> {
    #[serde(borrow)]
    output: Option<Output<'a>>,
    #[serde(borrow, default, deserialize_with = "null_default")]
    errors: Vec<ApiError<'a>>,
}

#[derive(Deserialize)]
struct ApiError<'a> {
    #[serde(borrow)]
    code: Text<'a>,
    #[serde(borrow)]
    message: Text<'a>,
}

#[derive(Deserialize)]
struct Output<'a> {
    #[serde(
        borrow,
        default,
        rename = "completeTrackResults",
        deserialize_with = "null_default"
    )]
    complete_track_results: Vec<CompleteTrackResult<'a>>,
}

#[derive(Deserialize)]
struct CompleteTrackResult<'a> {
    #[serde(borrow, rename = "trackingNumber")]
    tracking_number: Text<'a>,
    #[serde(
        borrow,
        default,
        rename = "trackResults",
        deserialize_with = "null_default"
    )]
    track_results: Vec<TrackResult<'a>>,
}

#[derive(Deserialize)]
struct TrackResult<'a> {
    #[serde(borrow, rename = "trackingNumberInfo")]
    tracking_number_info: Option<TrackingNumberInfo<'a>>,
    #[serde(borrow, rename = "additionalTrackingInfo")]
    additional_tracking_info: Option<AdditionalTrackingInfo<'a>>,
    #[serde(
        borrow,
        default,
        rename = "scanEvents",
        deserialize_with = "null_default"
    )]
    scan_events: Vec<ScanEvent<'a>>,
    #[serde(
        borrow,
        default,
        rename = "dateAndTimes",
        deserialize_with = "null_default"
    )]
    date_and_times: Vec<DateAndTime<'a>>,
    #[serde(borrow, rename = "serviceDetail")]
    service_detail: Option<ServiceDetail<'a>>,
    #[serde(borrow, rename = "shipperInformation")]
    shipper_information: Option<Party<'a>>,
    #[serde(borrow, rename = "recipientInformation")]
    recipient_information: Option<Party<'a>>,
    #[serde(borrow, rename = "deliveryDetails")]
    delivery_details: Option<DeliveryDetails<'a>>,
}

#[derive(Deserialize)]
struct TrackingNumberInfo<'a> {
    #[serde(borrow, rename = "trackingNumber")]
    tracking_number: Text<'a>,
}

#[derive(Deserialize)]
struct AdditionalTrackingInfo<'a> {
    #[serde(
        borrow,
        default,
        rename = "packageIdentifiers",
        deserialize_with = "null_default"
    )]
    package_identifiers: Vec<PackageIdentifier<'a>>,
}

#[derive(Deserialize)]
struct PackageIdentifier<'a> {
    #[serde(borrow, rename = "type")]
    kind: Text<'a>,
    #[serde(borrow, default, deserialize_with = "null_default")]
    values: Vec<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ScanEvent<'a> {
    #[serde(borrow)]
    date: Text<'a>,
    #[serde(borrow, rename = "eventType")]
    event_type: Text<'a>,
    #[serde(borrow, rename = "eventDescription")]
    event_description: Text<'a>,
    #[serde(borrow, rename = "exceptionCode")]
    exception_code: Text<'a>,
    #[serde(borrow, rename = "exceptionDescription")]
    exception_description: Text<'a>,
    #[serde(borrow, rename = "scanLocation")]
    scan_location: Option<Address<'a>>,
    #[serde(borrow, rename = "derivedStatusCode")]
    derived_status_code: Text<'a>,
}

#[derive(Deserialize)]
struct Address<'a> {
    #[serde(borrow)]
    city: Text<'a>,
    #[serde(borrow, rename = "stateOrProvinceCode")]
    state: Text<'a>,
    #[serde(borrow, rename = "postalCode")]
    postal_code: Text<'a>,
    #[serde(borrow, rename = "countryCode")]
    country_code: Text<'a>,
    #[serde(borrow, rename = "countryName")]
    country_name: Text<'a>,
}

#[derive(Deserialize)]
struct Party<'a> {
    #[serde(borrow)]
    address: Option<Address<'a>>,
}

#[derive(Deserialize)]
struct DateAndTime<'a> {
    #[serde(borrow, rename = "type")]
    kind: Text<'a>,
    #[serde(borrow, rename = "dateTime")]
    date_time: Text<'a>,
}

#[derive(Deserialize)]
struct ServiceDetail<'a> {
    #[serde(borrow)]
    description: Text<'a>,
    #[serde(borrow, rename = "type")]
    kind: Text<'a>,
}

#[derive(Deserialize)]
struct DeliveryDetails<'a> {
    #[serde(borrow, rename = "receivedByName")]
    received_by_name: Text<'a>,
}

fn address_location(a: &Address<'_>) -> Option<Location> {
    geo::location(
        text(&a.city),
        text(&a.state),
        text(&a.postal_code),
        text(&a.country_code).or(text(&a.country_name)),
    )
}

/// An ISO time with its offset; only ASCII reaches the time parser, whose slicing assumes it.
fn iso(s: &str) -> Option<EventTime> {
    s.is_ascii().then(|| timefmt::with_offset(s)).flatten()
}

/// The merchant's own number, if the shipper gave one: FedEx lists it among the package
/// identifiers, customer reference first, then purchase order and invoice.
fn order_ref(r: &TrackResult<'_>) -> Option<String> {
    let ids = &r.additional_tracking_info.as_ref()?.package_identifiers;
    [
        "CUSTOMER_REFERENCE",
        "PURCHASE_ORDER",
        "INVOICE",
        "SHIPPER_REFERENCE",
    ]
    .iter()
    .find_map(|want| {
        ids.iter()
            .filter(|i| text(&i.kind) == Some(*want))
            .flat_map(|i| i.values.iter())
            .map(|v| v.trim())
            .find(|v| !v.is_empty())
    })
    .map(str::to_owned)
}

fn promised(r: &TrackResult<'_>) -> Option<EventTime> {
    ["ESTIMATED_DELIVERY", "APPOINTMENT_DELIVERY", "COMMITMENT"]
        .iter()
        .find_map(|want| {
            r.date_and_times
                .iter()
                .filter(|d| text(&d.kind) == Some(*want))
                .find_map(|d| text(&d.date_time).and_then(iso))
        })
}

pub fn parse(doc: &[u8]) -> Result<Vec<Observation>, ParseError> {
    let doc: Doc<'_> = from_json(doc).map_err(|e| json_error(&e))?;
    let Some(output) = doc.output else {
        let detail = doc
            .errors
            .first()
            .map(|e| {
                format!(
                    "FedEx error {}: {}",
                    text(&e.code).unwrap_or("?"),
                    text(&e.message).unwrap_or("")
                )
            })
            .unwrap_or_else(|| "missing".to_owned());
        return Err(ParseError::new("output", detail));
    };
    let mut out = Vec::new();
    for (ci, complete) in output.complete_track_results.iter().enumerate() {
        for (ri, result) in complete.track_results.iter().enumerate() {
            let rpath = format!("output.completeTrackResults[{ci}].trackResults[{ri}]");
            let tracking = result
                .tracking_number_info
                .as_ref()
                .and_then(|t| text(&t.tracking_number))
                .or(text(&complete.tracking_number))
                .map(str::to_owned);
            let order = order_ref(result);
            let service = result
                .service_detail
                .as_ref()
                .and_then(|s| text(&s.description).or(text(&s.kind)))
                .map(str::to_owned);
            let origin = result
                .shipper_information
                .as_ref()
                .and_then(|p| p.address.as_ref())
                .and_then(address_location);
            let destination = result
                .recipient_information
                .as_ref()
                .and_then(|p| p.address.as_ref())
                .and_then(address_location);
            let promised_at = promised(result);
            for (ei, event) in result.scan_events.iter().enumerate() {
                let path = format!("{rpath}.scanEvents[{ei}]");
                let code = text(&event.event_type)
                    .or(text(&event.derived_status_code))
                    .map(str::to_ascii_uppercase)
                    .ok_or_else(|| {
                        ParseError::new(
                            format!("{path}.eventType"),
                            "scan event has neither eventType nor derivedStatusCode",
                        )
                    })?;
                let date = text(&event.date).ok_or_else(|| {
                    ParseError::new(format!("{path}.date"), "scan event has no date")
                })?;
                let occurred_at = iso(date).ok_or_else(|| {
                    ParseError::new(
                        format!("{path}.date"),
                        format!("{date:?} is not an ISO 8601 time with an offset"),
                    )
                })?;
                let mut attributes = Map::new();
                if let Some(d) = text(&event.exception_description) {
                    attributes.insert("exception_description".into(), Value::String(d.into()));
                }
                if code == "DL"
                    && let Some(by) = result
                        .delivery_details
                        .as_ref()
                        .and_then(|d| text(&d.received_by_name))
                {
                    attributes.insert("signed_by".into(), Value::String(by.to_owned()));
                }
                out.push(Observation {
                    mapping_key: code.clone(),
                    reason_key: text(&event.exception_code).map(str::to_ascii_uppercase),
                    raw_code: code,
                    raw_description: text(&event.event_description).map(str::to_owned),
                    occurred_at: Some(occurred_at),
                    local_time: None,
                    tracking_number: tracking.clone(),
                    order_ref: order.clone(),
                    vendor_event_id: None,
                    carrier: Some("fedex".to_owned()),
                    service: service.clone(),
                    location: event.scan_location.as_ref().and_then(address_location),
                    origin: origin.clone(),
                    destination: destination.clone(),
                    promised_at,
                    attributes,
                });
            }
        }
    }
    Ok(out)
}

fn json_error(e: &serde_json::Error) -> ParseError {
    ParseError::json(e, "a FedEx Track API response")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(events: &str) -> String {
        format!(
            r#"{{"transactionId":"t","output":{{"completeTrackResults":[{{"trackingNumber":"794843185271","trackResults":[{{"trackingNumberInfo":{{"trackingNumber":"794843185271"}},"scanEvents":[{events}]}}]}}]}}}}"#
        )
    }

    #[test]
    fn offsets_are_kept_and_exception_codes_become_reasons() {
        let d = doc(
            r#"{"date":"2024-03-10T01:59:00-08:00","eventType":"DE","eventDescription":"Delivery exception","exceptionCode":"08","exceptionDescription":"Customer not available or business closed","scanLocation":{"city":"CLOVIS","stateOrProvinceCode":"CA","postalCode":"93612","countryCode":"US"}},{"date":"2024-03-10T03:01:00-07:00","eventType":"od","exceptionCode":""}"#,
        );
        let obs = parse(d.as_bytes()).unwrap();
        assert_eq!(obs.len(), 2);
        assert_eq!(obs[0].reason_key.as_deref(), Some("08"));
        assert_eq!(obs[1].reason_key, None);
        assert_eq!(obs[1].mapping_key, "OD");
        let (a, b) = (obs[0].occurred_at.unwrap(), obs[1].occurred_at.unwrap());
        // One minute apart in real time across the spring-forward jump.
        assert_eq!(b.instant.as_second() - a.instant.as_second(), 120);
        assert_eq!(b.offset.seconds(), -7 * 3600);
    }

    #[test]
    fn a_time_without_offset_names_its_path() {
        let d = doc(r#"{"date":"2024-04-25T11:26:00","eventType":"AR"}"#);
        let err = parse(d.as_bytes()).unwrap_err();
        assert_eq!(
            err.path,
            "output.completeTrackResults[0].trackResults[0].scanEvents[0].date"
        );
        let d = doc(r#"{"date":"2024-04-25T11:26:00é","eventType":"AR"}"#);
        assert!(parse(d.as_bytes()).is_err());
    }

    #[test]
    fn empty_history_not_found_and_error_envelopes() {
        assert!(parse(doc("").as_bytes()).unwrap().is_empty());
        let nf = br#"{"output":{"completeTrackResults":[{"trackingNumber":"1","trackResults":[{"error":{"code":"TRACKING.TRACKINGNUMBER.NOTFOUND","message":"not found"}}]}]}}"#;
        assert!(parse(nf).unwrap().is_empty());
        let err =
            parse(br#"{"errors":[{"code":"NOT.AUTHORIZED.ERROR","message":"no"}]}"#).unwrap_err();
        assert!(err.message.contains("NOT.AUTHORIZED.ERROR"), "{err}");
        assert!(parse(b"{\"output\":{\"completeTrackResults\":7}}").is_err());
    }
}
