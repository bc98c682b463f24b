#![allow(clippy::unwrap_used)]

use super::parse;

fn envelope(scans: &str) -> String {
    format!(
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>
<TrackPackagesByPinResponse xmlns="http://purolator.com/pws/datatypes/v1" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
<ResponseInformation><Errors/><InformationalMessages i:nil="true"/></ResponseInformation>
<TrackingInformationList><TrackingInformation><PIN><Value>329014521622</Value></PIN>
<Scans>{scans}</Scans></TrackingInformation></TrackingInformationList>
</TrackPackagesByPinResponse></s:Body></s:Envelope>"#
    )
}

fn scan(kind: &str, depot: &str, date: &str, time: &str, desc: &str) -> String {
    format!(
        "<Scan><ScanType>{kind}</ScanType><PIN><Value>329014521622</Value></PIN><Depot><Name>{depot}</Name></Depot>\
         <ScanDate>{date}</ScanDate><ScanTime>{time}</ScanTime><Description>{desc}</Description><Comment/>\
         <SummaryScanIndicator>false</SummaryScanIndicator></Scan>"
    )
}

#[test]
fn depot_gives_the_zone_and_daylight_time_follows_it() {
    let d = envelope(
        &[
            scan(
                "Delivery",
                "CALGARY",
                "2024-07-10",
                "141700",
                "Shipment delivered to",
            ),
            scan(
                "Other",
                "SAINT-LAURENT, QC",
                "2024-01-09",
                "031500",
                "Arrived at  Sort Facility",
            ),
            scan(
                "Other",
                "Smallville",
                "2024-01-08",
                "120000",
                "Shipment created",
            ),
        ]
        .concat(),
    );
    let r = parse(d.as_bytes()).unwrap();
    let obs = &r.observations;
    assert_eq!(obs[0].mapping_key, "Delivery");
    assert_eq!(obs[1].mapping_key, "Other");
    assert_eq!(
        obs[1].raw_description.as_deref(),
        Some("Arrived at Sort Facility")
    );
    assert_eq!(
        obs[1].location.as_ref().unwrap().region.as_deref(),
        Some("QC")
    );
    let table = crate::Source::Purolator.builtin_table().unwrap();
    let doc = crate::normalize(crate::Source::Purolator, d.as_bytes(), &table).unwrap();
    // Calgary is a known depot city (Alberta, MDT in July); Saint-Laurent is in Quebec (EST).
    assert_eq!(
        doc.events[0].event.occurred_at.instant.to_string(),
        "2024-07-10T20:17:00Z"
    );
    assert_eq!(
        doc.events[1].event.occurred_at.instant.to_string(),
        "2024-01-09T08:15:00Z"
    );
    // A depot that names no known place cannot be timed: reported, not read in a guessed zone.
    assert_eq!(doc.events.len(), 2);
    assert_eq!(doc.unreadable[0].path, "event 2");
}

#[test]
fn malformed_scans_name_their_path() {
    let d = envelope(
        &[
            scan(
                "OnDelivery",
                "TORONTO",
                "2024-07-10",
                "081500",
                "On vehicle for delivery",
            ),
            scan(
                "OnDelivery",
                "TORONTO",
                "2024-07-10",
                "8h15",
                "On vehicle for delivery",
            ),
        ]
        .concat(),
    );
    let r = parse(d.as_bytes()).unwrap();
    assert_eq!(r.observations.len(), 1);
    assert_eq!(
        r.unreadable[0].path,
        "Envelope/Body/TrackPackagesByPinResponse/TrackingInformationList/TrackingInformation[0]/Scans/Scan[1]/ScanDate"
    );
    let fault = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>Invalid credentials</faultstring></s:Fault></s:Body></s:Envelope>"#;
    assert!(
        parse(fault.as_bytes())
            .unwrap_err()
            .message
            .contains("Invalid credentials")
    );
    assert!(parse(b"<tracking-detail/>").is_err());
    assert!(parse(b"<s:Envelope><s:Body>").is_err());
}

#[test]
fn an_empty_history_is_no_events() {
    assert!(
        parse(envelope("").as_bytes())
            .unwrap()
            .observations
            .is_empty()
    );
}

#[test]
fn a_doctype_inside_the_envelope_is_an_error_not_a_panic() {
    // quick-xml 0.38's deserializer panics on a DOCTYPE that splits a text run.
    let d = envelope(&scan(
        "Other",
        "Toronto",
        "2024-03-10",
        "1<!DOCTYPE x>4:10:00",
        "Picked up",
    ));
    let err = parse(d.as_bytes()).unwrap_err();
    assert!(err.message.contains("DOCTYPE"), "{err}");
}

#[test]
fn a_bare_or_wrapped_response_is_read_too() {
    let bare = envelope(&scan(
        "OnDelivery",
        "QUEBEC, PQ",
        "2024-07-10",
        "081500",
        "On vehicle for delivery",
    ));
    let start = bare.find("<TrackPackagesByPinResponse").unwrap();
    let end = bare.find("</s:Body>").unwrap();
    let wrapped = format!("<wrapper>{}</wrapper>", &bare[start..end]);
    let obs = parse(wrapped.as_bytes()).unwrap().observations;
    assert_eq!(obs.len(), 1);
    let loc = obs[0].location.as_ref().unwrap();
    assert_eq!(loc.region.as_deref(), Some("QC"));
}
