use super::*;

fn unified(service: &str, events: &str) -> String {
    format!(r#"{{"shipments":[{{"id":1234567890,"service":"{service}","events":[{events}]}}]}}"#)
}

#[test]
fn unified_express_codes_qualify_other_services_use_the_status_code() {
    let e = r#"{"timestamp":"2024-03-30T21:00:00+01:00","statusCode":"failure","status":"NH","description":"Delivery attempted; recipient not home","location":{"address":{"addressLocality":"LEIPZIG - GERMANY"}}}"#;
    let obs = parse(unified("express", e).as_bytes())
        .unwrap()
        .observations;
    assert_eq!(obs[0].mapping_key, "express:NH");
    assert_eq!(obs[0].tracking_number.as_deref(), Some("1234567890"));
    let l = obs[0].location.as_ref().unwrap();
    assert_eq!(
        (l.city.as_deref(), l.country.as_deref()),
        (Some("Leipzig"), Some("DE"))
    );
    let obs = parse(unified("parcel-de", e).as_bytes())
        .unwrap()
        .observations;
    assert_eq!(obs[0].mapping_key, "failure");
}

#[test]
fn parcel_de_local_times_are_german_time_across_dst() {
    let e = r#"{"timestamp":"2024-03-31T03:30:00","statusCode":"transit"},{"timestamp":"2024-03-30T03:30:00","statusCode":"transit","location":{"address":{"addressLocality":"Hamburg, Deutschland"}}}"#;
    let obs = parse(unified("parcel-de", e).as_bytes())
        .unwrap()
        .observations;
    let zones: Vec<_> = obs
        .iter()
        .map(|o| {
            (
                o.occurred_at,
                o.local_time.as_ref().and_then(|l| l.zone.as_deref()),
            )
        })
        .collect();
    assert_eq!(
        zones,
        [(None, Some("Europe/Berlin")), (None, Some("Europe/Berlin"))]
    );
    let l = obs[1].location.as_ref().unwrap();
    assert_eq!(
        (l.city.as_deref(), l.country.as_deref()),
        (Some("Hamburg"), Some("DE"))
    );
}

#[test]
fn an_unreadable_event_does_not_sink_the_others() {
    let e = r#"{"timestamp":"2024-03-31T03:30:00+02:00","statusCode":"transit"},{"timestamp":"31.03.2024 03:30","statusCode":"transit"},{"timestamp":"2024-03-31T03:30:00","location":{"address":{"addressLocality":"CINCINNATI HUB - USA"}}}"#;
    let r = parse(unified("express", e).as_bytes()).unwrap();
    assert_eq!(r.observations.len(), 1);
    assert_eq!(r.unreadable[0].path, "shipments[0].events[1].timestamp");
    assert_eq!(r.unreadable[1].path, "shipments[0].events[2].statusCode");
}

#[test]
fn empty_problem_and_malformed() {
    assert!(
        parse(unified("express", "").as_bytes())
            .unwrap()
            .observations
            .is_empty()
    );
    assert!(
        parse(br#"{"shipments":[]}"#)
            .unwrap()
            .observations
            .is_empty()
    );
    let err = parse(br#"{"status":404,"title":"No result found","detail":"No shipment with given tracking number found."}"#).unwrap_err();
    assert!(err.message.contains("404"), "{err}");
    let e = r#"{"timestamp":"31.03.2024 03:30 ü","statusCode":"transit"}"#;
    assert_eq!(
        parse(unified("express", e).as_bytes())
            .unwrap()
            .unreadable
            .len(),
        1
    );
    assert!(parse(b"<html/>").is_err());
    let bom = [b"\xEF\xBB\xBF".as_slice(), br#"{"shipments":[]}"#].concat();
    assert!(parse(&bom).unwrap().observations.is_empty());
    assert!(parse(b"").is_err());
}

#[test]
fn mydhl_offsets_and_service_area_places() {
    let doc = br#"{"shipments":[{"shipmentTrackingNumber":1234567890,"status":"Success","shipperReferences":[{"value":"PO-1","typeCode":"CU"}],"events":[
      {"date":"2020-06-10","time":"13:06:00","GMTOffset":"+09:00","typeCode":"PU","description":"Shipment picked up","serviceArea":[{"code":"BNE","description":"Brisbane-AU"}],"signedBy":""},
      {"date":"2020-06-11","time":"09:00:00","typeCode":"AR","description":"Arrived","serviceArea":{"code":"LEJ","description":"Leipzig-DE"}},
      {"date":"2020-06-11","time":"","typeCode":"","description":"nothing"}]}]}"#;
    let r = parse(doc).unwrap();
    assert_eq!(r.observations.len(), 2);
    assert_eq!(r.unreadable.len(), 1);
    let o = &r.observations[0];
    assert_eq!(o.mapping_key, "express:PU");
    assert_eq!(o.tracking_number.as_deref(), Some("1234567890"));
    assert_eq!(o.order_ref.as_deref(), Some("PO-1"));
    assert_eq!(o.occurred_at.unwrap().offset.seconds(), 9 * 3600);
    assert_eq!(o.location.as_ref().unwrap().country.as_deref(), Some("AU"));
    assert!(r.observations[1].occurred_at.is_none());
    assert!(r.observations[1].local_time.is_some());
}

#[test]
fn xml_pi_events_not_found_and_entities() {
    let doc = r#"<?xml version="1.0"?><req:TrackingResponse xmlns:req="http://www.dhl.com"><AWBInfo><AWBNumber>1</AWBNumber><Status><ActionStatus>No Shipments Found</ActionStatus></Status></AWBInfo><AWBInfo><AWBNumber>2</AWBNumber><ShipmentInfo><ShipmentEvent><Date>2024-01-02</Date><Time>10:00:00</Time><ServiceEvent><EventCode>OK</EventCode><Description>Delivered &amp; signed</Description></ServiceEvent><ServiceArea><ServiceAreaCode>CDG</ServiceAreaCode><Description>PARIS - FRANCE</Description></ServiceArea></ShipmentEvent><ShipmentEvent><Date>2024-01-02</Date><Time>10:00:00</Time><ServiceArea><Description>NEW YORK - USA</Description></ServiceArea></ShipmentEvent></ShipmentInfo></AWBInfo></req:TrackingResponse>"#;
    let r = parse(doc.as_bytes()).unwrap();
    assert_eq!(r.observations.len(), 1);
    let o = &r.observations[0];
    assert_eq!(o.mapping_key, "express:OK");
    assert_eq!(o.raw_description.as_deref(), Some("Delivered & signed"));
    assert_eq!(o.tracking_number.as_deref(), Some("2"));
    assert_eq!(
        o.local_time.as_ref().unwrap().civil.to_string(),
        "2024-01-02T10:00:00"
    );
    assert_eq!(
        r.unreadable[0].path,
        "AWBInfo[1]/ShipmentInfo/ShipmentEvent[1]/ServiceEvent/EventCode"
    );
}

#[test]
fn parcel_de_xml_events_and_login_errors() {
    let doc = r#"<data name="piece-shipment-list" code="0"><data name="piece-shipment" piece-code="00340434161094042557"><data name="piece-event-list"><data name="piece-event" event-timestamp="27.03.2023 10:14" event-text="Die Sendung wurde zugestellt." ice="DLVRD" ric="OTHER" event-location="Bonn" event-country="Deutschland" standard-event-code="ZU"/><data name="piece-event" event-timestamp="32.03.2023 10:14" ice="DLVRD"/></data></data></data>"#;
    let r = parse(doc.as_bytes()).unwrap();
    assert_eq!(r.observations.len(), 1);
    let o = &r.observations[0];
    assert_eq!(o.mapping_key, "parcel-de:DLVRD");
    let lt = o.local_time.as_ref().unwrap();
    assert_eq!(lt.zone.as_deref(), Some("Europe/Berlin"));
    assert_eq!(lt.civil.to_string(), "2023-03-27T10:14:00");
    assert_eq!(o.location.as_ref().unwrap().country.as_deref(), Some("DE"));
    assert_eq!(
        r.unreadable[0].path,
        "piece-shipment[0]/piece-event[1]/@event-timestamp"
    );
    let err = parse(br#"<data name="piece-shipment-list" code="5" error="Log-in failed"><data name="piece-shipment" piece-status="5"/></data>"#).unwrap_err();
    assert!(err.message.contains("Log-in failed"), "{err}");
}
