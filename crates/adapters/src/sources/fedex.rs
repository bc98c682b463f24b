//! FedEx Track API v1 (`POST /track/v1/trackingnumbers`), JSON.
//!
//! `output.completeTrackResults[].trackResults[].scanEvents[]`, one observation per scan event
//! in document order (FedEx sends the newest first). A track result that carries only an
//! `error` (tracking number not found) has no scans and yields nothing; a response with only a
//! top-level `errors` list is refused.
//!
//! Mapping key: the scan's `eventType` (FedEx tracking status code: `PU`, `AR`, `OD`, `DL`,
//! `DE`...), or its `derivedStatusCode` when the event type is empty. The scan's
//! `exceptionCode` (`007`: customer not available or business closed) is the reason key, looked
//! up in the table's `[reasons]`. FedEx reports very different things under one event type (DE
//! is a failed attempt, a wrong address or a damaged parcel, DY a new estimate or a weather
//! delay), so the description the table's patterns see is the exception's text when the scan has
//! one (`"Customer not available or business closed"`), else the event's.
//!
//! Time: `date` is ISO 8601 with the scan's local offset (`2024-04-25T11:26:00-07:00`), or with
//! the offset after a space and without a colon as FedEx's own sample writes it
//! (`2024-08-12T15:18:10 -0500`), or `Z`. FedEx Ground pickups come as a date alone written
//! `2024-08-15T00:00:00` without an offset: a local date, whose zone normalization infers from the
//! scan's place. A scan whose time cannot be read is reported with its path and the others are
//! kept; so is one without an event type.
//!
//! Real responses are loose: every text may be a number, `scanLocation` may be missing, empty,
//! hold only a postal code, or name the country only by `countryName`; a package identifier has
//! either `values` (a list) or `value`. Each track result and each scan is read on its own, so one
//! odd element costs only itself.

use crate::geo;
use crate::jsonstr::from_json;
use crate::lax::{self, Each, Text};
use crate::timefmt::{self, Stamp};
use crate::{LocalTime, Observation, ParseError, Parsed};
use serde::Deserialize;
use serde::de::Deserializer;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use waypost_domain::{EventTime, Location};

/// An object field read leniently: an object of another shape, or a string where an object
/// belongs, reads as absent rather than costing the element around it.
struct Lax<T>(Option<T>);

impl<T> Default for Lax<T> {
    fn default() -> Self {
        Lax(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Lax<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <&'de RawValue>::deserialize(d)?;
        Ok(Lax(serde_json::from_str(raw.get()).ok()))
    }
}

#[derive(Deserialize)]
struct Doc<'a> {
    #[serde(borrow)]
    output: Option<&'a RawValue>,
    #[serde(borrow, default)]
    errors: Each<'a>,
}

#[derive(Deserialize)]
struct ApiError<'a> {
    #[serde(borrow, default)]
    code: Text<'a>,
    #[serde(borrow, default)]
    message: Text<'a>,
}

#[derive(Deserialize)]
struct Output<'a> {
    #[serde(borrow, default, rename = "completeTrackResults")]
    complete_track_results: Each<'a>,
}

#[derive(Deserialize)]
struct CompleteTrackResult<'a> {
    #[serde(borrow, default, rename = "trackingNumber")]
    tracking_number: Text<'a>,
    #[serde(borrow, default, rename = "trackResults")]
    track_results: Each<'a>,
}

#[derive(Deserialize)]
struct TrackResult<'a> {
    #[serde(borrow, default, rename = "trackingNumberInfo")]
    tracking_number_info: Lax<TrackingNumberInfo<'a>>,
    #[serde(borrow, default, rename = "additionalTrackingInfo")]
    additional_tracking_info: Lax<AdditionalTrackingInfo<'a>>,
    #[serde(borrow, default, rename = "scanEvents")]
    scan_events: Each<'a>,
    #[serde(borrow, default, rename = "dateAndTimes")]
    date_and_times: Lax<Vec<Lax<DateAndTime<'a>>>>,
    #[serde(borrow, default, rename = "estimatedDeliveryTimeWindow")]
    estimated_window: Lax<TimeWindow<'a>>,
    #[serde(borrow, default, rename = "serviceDetail")]
    service_detail: Lax<ServiceDetail<'a>>,
    #[serde(borrow, default, rename = "shipperInformation")]
    shipper_information: Lax<Party<'a>>,
    #[serde(borrow, default, rename = "recipientInformation")]
    recipient_information: Lax<Party<'a>>,
    #[serde(borrow, default, rename = "deliveryDetails")]
    delivery_details: Lax<DeliveryDetails<'a>>,
}

#[derive(Deserialize)]
struct TrackingNumberInfo<'a> {
    #[serde(borrow, default, rename = "trackingNumber")]
    tracking_number: Text<'a>,
}

#[derive(Deserialize)]
struct AdditionalTrackingInfo<'a> {
    #[serde(
        borrow,
        default,
        rename = "packageIdentifiers",
        deserialize_with = "lax::list"
    )]
    package_identifiers: Vec<Lax<PackageIdentifier<'a>>>,
}

#[derive(Deserialize)]
struct PackageIdentifier<'a> {
    #[serde(borrow, default, rename = "type")]
    kind: Text<'a>,
    /// A list in real responses; the developer-portal sample writes a single `value`.
    #[serde(borrow, default)]
    values: Lax<Vec<Text<'a>>>,
    #[serde(borrow, default)]
    value: Text<'a>,
}

#[derive(Deserialize)]
struct ScanEvent<'a> {
    #[serde(borrow, default)]
    date: Text<'a>,
    #[serde(borrow, default, rename = "eventType")]
    event_type: Text<'a>,
    #[serde(borrow, default, rename = "eventDescription")]
    event_description: Text<'a>,
    #[serde(borrow, default, rename = "exceptionCode")]
    exception_code: Text<'a>,
    #[serde(borrow, default, rename = "exceptionDescription")]
    exception_description: Text<'a>,
    #[serde(borrow, default, rename = "scanLocation")]
    scan_location: Lax<Address<'a>>,
    #[serde(borrow, default, rename = "derivedStatusCode")]
    derived_status_code: Text<'a>,
    #[serde(borrow, default, rename = "locationType")]
    location_type: Text<'a>,
}

#[derive(Deserialize)]
struct Address<'a> {
    #[serde(borrow, default)]
    city: Text<'a>,
    #[serde(borrow, default, rename = "stateOrProvinceCode")]
    state: Text<'a>,
    #[serde(borrow, default, rename = "postalCode")]
    postal_code: Text<'a>,
    #[serde(borrow, default, rename = "countryCode")]
    country_code: Text<'a>,
    #[serde(borrow, default, rename = "countryName")]
    country_name: Text<'a>,
}

#[derive(Deserialize)]
struct Party<'a> {
    #[serde(borrow, default)]
    address: Lax<Address<'a>>,
}

#[derive(Deserialize)]
struct DateAndTime<'a> {
    #[serde(borrow, default, rename = "type")]
    kind: Text<'a>,
    #[serde(borrow, default, rename = "dateTime")]
    date_time: Text<'a>,
}

#[derive(Deserialize)]
struct TimeWindow<'a> {
    #[serde(borrow, default)]
    window: Lax<Window<'a>>,
}

#[derive(Deserialize)]
struct Window<'a> {
    #[serde(borrow, default)]
    ends: Text<'a>,
}

#[derive(Deserialize)]
struct ServiceDetail<'a> {
    #[serde(borrow, default)]
    description: Text<'a>,
    #[serde(borrow, default, rename = "type")]
    kind: Text<'a>,
}

#[derive(Deserialize)]
struct DeliveryDetails<'a> {
    #[serde(borrow, default, rename = "receivedByName")]
    received_by_name: Text<'a>,
}

fn address_location(a: &Address<'_>) -> Option<Location> {
    geo::location(
        a.city.get(),
        a.state.get(),
        a.postal_code.get(),
        a.country_code.get().or(a.country_name.get()),
    )
}

/// A scan's `date` as FedEx writes it (see the module notes). FedEx Ground writes a pickup it
/// knows only the day of as that day at midnight, without an offset: a date, not a time.
fn scan_time(s: &str) -> Option<Stamp> {
    match timefmt::read(s)? {
        Stamp::Local(civil) if civil.time() == jiff::civil::Time::midnight() => {
            Some(Stamp::Date(civil.date()))
        }
        other => Some(other),
    }
}

/// An instant from a `dateAndTimes` entry or a window end; a date alone does not promise a time.
fn instant(s: &str) -> Option<EventTime> {
    match timefmt::read(s)? {
        Stamp::Exact(t) => Some(t),
        Stamp::Local(_) | Stamp::Date(_) => None,
    }
}

/// The merchant's own number, if the shipper gave one: FedEx lists it among the package
/// identifiers, customer reference first, then purchase order and invoice.
fn order_ref(r: &TrackResult<'_>) -> Option<String> {
    let ids = &r.additional_tracking_info.0.as_ref()?.package_identifiers;
    [
        "CUSTOMER_REFERENCE",
        "PURCHASE_ORDER",
        "INVOICE",
        "SHIPPER_REFERENCE",
    ]
    .iter()
    .find_map(|want| {
        ids.iter()
            .filter_map(|i| i.0.as_ref())
            .filter(|i| i.kind.get() == Some(*want))
            .flat_map(|i| {
                let many = i.values.0.iter().flatten().filter_map(Text::get);
                many.chain(i.value.get())
            })
            .next()
    })
    .map(str::to_owned)
}

fn promised(r: &TrackResult<'_>) -> Option<EventTime> {
    let window = r
        .estimated_window
        .0
        .as_ref()
        .and_then(|w| w.window.0.as_ref())
        .and_then(|w| w.ends.get())
        .and_then(instant);
    window.or_else(|| {
        let dates = r.date_and_times.0.as_deref().unwrap_or_default();
        ["ESTIMATED_DELIVERY", "APPOINTMENT_DELIVERY", "COMMITMENT"]
            .iter()
            .find_map(|want| {
                dates
                    .iter()
                    .filter_map(|d| d.0.as_ref())
                    .filter(|d| d.kind.get() == Some(*want))
                    .find_map(|d| d.date_time.get().and_then(instant))
            })
    })
}

/// The text the mapping table's patterns see, and people read: the exception's description when
/// the scan has one (it says what happened: "Customer not available or business closed" under
/// "Delivery exception"), else the event's.
fn description(event: Option<&str>, exception: Option<&str>) -> Option<String> {
    exception.or(event).map(str::to_owned)
}

/// What one track result says about its package, shared by its scans.
struct Package {
    tracking: Option<String>,
    order: Option<String>,
    service: Option<String>,
    origin: Option<Location>,
    destination: Option<Location>,
    promised_at: Option<EventTime>,
    signed_by: Option<String>,
}

impl Package {
    fn of(result: &TrackResult<'_>, complete: &CompleteTrackResult<'_>) -> Package {
        let party = |p: &Lax<Party<'_>>| {
            p.0.as_ref()
                .and_then(|p| p.address.0.as_ref())
                .and_then(address_location)
        };
        Package {
            tracking: result
                .tracking_number_info
                .0
                .as_ref()
                .and_then(|t| t.tracking_number.get())
                .or(complete.tracking_number.get())
                .map(str::to_owned),
            order: order_ref(result),
            service: result
                .service_detail
                .0
                .as_ref()
                .and_then(|s| s.description.get().or(s.kind.get()))
                .map(str::to_owned),
            origin: party(&result.shipper_information),
            destination: party(&result.recipient_information),
            promised_at: promised(result),
            signed_by: result
                .delivery_details
                .0
                .as_ref()
                .and_then(|d| d.received_by_name.get())
                .map(str::to_owned),
        }
    }
}

fn scan(event: &ScanEvent<'_>, package: &Package, path: &str) -> Result<Observation, ParseError> {
    let code = event
        .event_type
        .get()
        .or(event.derived_status_code.get())
        .map(str::to_ascii_uppercase)
        .ok_or_else(|| {
            ParseError::new(
                format!("{path}.eventType"),
                "scan event has neither eventType nor derivedStatusCode",
            )
        })?;
    let date = event
        .date
        .get()
        .ok_or_else(|| ParseError::new(format!("{path}.date"), "scan event has no date"))?;
    let time = scan_time(date).ok_or_else(|| {
        ParseError::new(
            format!("{path}.date"),
            format!("{date:?} is not a date and time FedEx writes"),
        )
    })?;
    let (occurred_at, local_time): (Option<EventTime>, Option<LocalTime>) = time.split(None);
    let exception_code = event.exception_code.get();
    let exception_text = event.exception_description.get();
    let mut attributes = Map::new();
    if let Some(c) = exception_code {
        attributes.insert("exception_code".into(), Value::String(c.into()));
    }
    if let Some(d) = exception_text {
        attributes.insert("exception_description".into(), Value::String(d.into()));
    }
    if let Some(t) = event.location_type.get() {
        attributes.insert("location_type".into(), Value::String(t.into()));
    }
    if code == "DL"
        && let Some(by) = &package.signed_by
    {
        attributes.insert("signed_by".into(), Value::String(by.clone()));
    }
    Ok(Observation {
        mapping_key: code.clone(),
        reason_key: exception_code.map(str::to_ascii_uppercase),
        raw_code: code,
        raw_description: description(event.event_description.get(), exception_text),
        occurred_at,
        local_time,
        tracking_number: package.tracking.clone(),
        order_ref: package.order.clone(),
        vendor_event_id: None,
        carrier: Some("fedex".to_owned()),
        service: package.service.clone(),
        location: event.scan_location.0.as_ref().and_then(address_location),
        origin: package.origin.clone(),
        destination: package.destination.clone(),
        promised_at: package.promised_at,
        attributes,
    })
}

pub fn parse(doc: &[u8]) -> Result<Parsed, ParseError> {
    let doc: Doc<'_> = from_json(doc).map_err(|e| json_error(&e))?;
    let output = doc
        .output
        .and_then(|o| serde_json::from_str::<Output<'_>>(o.get()).ok());
    let Some(output) = output else {
        let detail = doc
            .errors
            .0
            .first()
            .and_then(|e| serde_json::from_str::<ApiError<'_>>(e.get()).ok())
            .map(|e| {
                format!(
                    "FedEx error {}: {}",
                    e.code.get().unwrap_or("?"),
                    e.message.get().unwrap_or("")
                )
            })
            .unwrap_or_else(|| "missing".to_owned());
        return Err(ParseError::new("output", detail));
    };
    let mut parsed = Parsed::default();
    let completes = lax::read_each::<CompleteTrackResult<'_>>(
        &output.complete_track_results,
        "output.completeTrackResults",
        &mut parsed.unreadable,
    );
    for (ci, complete) in &completes {
        let path = format!("output.completeTrackResults[{ci}].trackResults");
        let results = lax::read_each::<TrackResult<'_>>(
            &complete.track_results,
            &path,
            &mut parsed.unreadable,
        );
        for (ri, result) in &results {
            let package = Package::of(result, complete);
            let path = format!("{path}[{ri}].scanEvents");
            // In document order, so a bad scan is reported where it stands.
            for (ei, raw) in result.scan_events.0.iter().enumerate() {
                let path = format!("{path}[{ei}]");
                let read = serde_json::from_str::<ScanEvent<'_>>(raw.get())
                    .map_err(|e| ParseError::new(path.as_str(), e.to_string()))
                    .and_then(|event| scan(&event, &package, &path));
                match read {
                    Ok(o) => parsed.observations.push(o),
                    Err(e) => parsed.unreadable.push(e),
                }
            }
        }
    }
    Ok(parsed)
}

fn json_error(e: &serde_json::Error) -> ParseError {
    ParseError::json(e, "a FedEx Track API response")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
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
            r#"{"date":"2024-03-10T01:59:00-08:00","eventType":"DE","eventDescription":"Delivery exception","exceptionCode":"007","exceptionDescription":"Customer not available or business closed","scanLocation":{"city":"CLOVIS","stateOrProvinceCode":"CA","postalCode":"93612","countryCode":"US"}},{"date":"2024-03-10T03:01:00-07:00","eventType":"od","exceptionCode":""}"#,
        );
        let obs = parse(d.as_bytes()).unwrap().observations;
        assert_eq!(obs.len(), 2);
        assert_eq!(obs[0].reason_key.as_deref(), Some("007"));
        assert_eq!(
            obs[0].raw_description.as_deref(),
            Some("Customer not available or business closed")
        );
        assert_eq!(obs[1].reason_key, None);
        assert_eq!(obs[1].mapping_key, "OD");
        let (a, b) = (obs[0].occurred_at.unwrap(), obs[1].occurred_at.unwrap());
        // One minute apart in real time across the spring-forward jump.
        assert_eq!(b.instant.as_second() - a.instant.as_second(), 120);
        assert_eq!(b.offset.seconds(), -7 * 3600);
    }

    #[test]
    fn every_time_spelling_fedex_writes() {
        let exact = |s: &str| match scan_time(s) {
            Some(Stamp::Exact(t)) => t.instant,
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(
            exact("2024-08-12T15:18:10 -0500"),
            exact("2024-08-12T15:18:10-05:00")
        );
        assert_eq!(
            exact("2024-08-12T20:18:10Z"),
            exact("2024-08-12T15:18:10-05:00")
        );
        assert_eq!(
            exact("2024-08-12T15:18:10.000-0500"),
            exact("2024-08-12T15:18:10-05:00")
        );
        assert_eq!(
            exact("2014-11-18T18:13:00+11:00"),
            exact("2014-11-18T07:13:00Z")
        );
        let local = |s: &str| match scan_time(s).map(|t| t.split(None)) {
            Some((None, Some(l))) => (l.civil.to_string(), l.date_only),
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(
            local("2024-08-15T00:00:00"),
            ("2024-08-15T00:00:00".into(), true)
        );
        assert_eq!(local("2024-08-15"), ("2024-08-15T00:00:00".into(), true));
        assert_eq!(
            local("2024-08-15T09:41:00"),
            ("2024-08-15T09:41:00".into(), false)
        );
        for bad in [
            "",
            "tomorrow",
            "2024-13-01T00:00:00",
            "2024-08-15T00:00:00é",
            "2024-08-15T25:00:00-05:00",
        ] {
            assert!(scan_time(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_pickup_without_offset_is_a_local_date_and_a_bad_scan_costs_only_itself() {
        let d = doc(
            r#"{"date":"2024-08-15T18:35:00-05:00","eventType":"AR","scanLocation":{"city":"MANKATO","stateOrProvinceCode":"MN","postalCode":"56001","countryCode":"US"}},{"date":"2024-08-15T00:00:00","eventType":"PU","scanLocation":{"city":"MANKATO","stateOrProvinceCode":"MN"}},{"date":"yesterday","eventType":"AR"},{"date":"2024-08-14T10:00:00-05:00"},"junk",{"date":7,"eventType":["x"],"scanLocation":"MANKATO"}"#,
        );
        let parsed = parse(d.as_bytes()).unwrap();
        assert_eq!(parsed.observations.len(), 2);
        let pu = &parsed.observations[1];
        assert!(pu.occurred_at.is_none());
        let local = pu.local_time.as_ref().unwrap();
        assert!(local.date_only);
        assert_eq!(local.civil.to_string(), "2024-08-15T00:00:00");
        let paths: Vec<_> = parsed.unreadable.iter().map(|e| e.path.as_str()).collect();
        let base = "output.completeTrackResults[0].trackResults[0].scanEvents";
        assert_eq!(
            paths,
            [
                format!("{base}[2].date"),
                format!("{base}[3].eventType"),
                format!("{base}[4]"),
                format!("{base}[5].eventType"),
            ]
        );
    }

    #[test]
    fn loose_types_and_partial_places() {
        let d = r#"{"output":{"completeTrackResults":{"trackingNumber":123456789012,"trackResults":[{"additionalTrackingInfo":{"packageIdentifiers":[{"type":"SHIPPER_REFERENCE","value":"BOL-1"}]},"scanEvents":{"date":"2025-01-08T15:22:50-08:00","eventType":"AF","exceptionCode":3,"scanLocation":{"streetLines":[""],"postalCode":94577,"residential":false,"countryName":"United States"}}},{"scanEvents":null},{"error":{"code":"TRACKING.TRACKINGNUMBER.NOTFOUND"}}]}}}"#;
        let parsed = parse(d.as_bytes()).unwrap();
        assert!(parsed.unreadable.is_empty());
        let o = &parsed.observations[0];
        assert_eq!(o.tracking_number.as_deref(), Some("123456789012"));
        assert_eq!(o.order_ref.as_deref(), Some("BOL-1"));
        assert_eq!(o.reason_key.as_deref(), Some("3"));
        let l = o.location.as_ref().unwrap();
        assert_eq!(l.postal_code.as_deref(), Some("94577"));
        assert_eq!(l.country.as_deref(), Some("US"));
    }

    #[test]
    fn empty_history_not_found_and_error_envelopes() {
        assert!(parse(doc("").as_bytes()).unwrap().observations.is_empty());
        let nf = br#"{"output":{"completeTrackResults":[{"trackingNumber":"1","trackResults":[{"error":{"code":"TRACKING.TRACKINGNUMBER.NOTFOUND","message":"not found"}}]}]}}"#;
        assert!(parse(nf).unwrap().observations.is_empty());
        let err =
            parse(br#"{"errors":[{"code":"NOT.AUTHORIZED.ERROR","message":"no"}]}"#).unwrap_err();
        assert!(err.message.contains("NOT.AUTHORIZED.ERROR"), "{err}");
        assert!(parse(b"{\"output\":{\"completeTrackResults\":7}}").is_err());
        assert!(parse(b"[1,2]").is_err());
    }
}
