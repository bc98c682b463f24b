use super::*;

fn doc(events: &str) -> String {
    format!(
        r#"{{"trackingNumber":"9400100000000000000000","originState":"WI","trackingEvents":[{events}]}}"#
    )
}

fn obs(d: &str) -> Vec<Observation> {
    parse(d.as_bytes()).unwrap().observations
}

/// The local time's civil value and zone, for events USPS gives without offset.
fn local(o: &Observation) -> (String, Option<String>) {
    let l = o.local_time.as_ref().unwrap();
    (l.civil.to_string(), l.zone.clone())
}

fn instant(o: &Observation) -> String {
    o.occurred_at
        .map(|t| t.instant.to_string())
        .unwrap_or_default()
}

#[test]
fn local_time_and_gmt_offset_beat_the_misdated_gmt_stamp() {
    let d = doc(
        r#"{"eventType":"Arrived Shipping Partner Facility, USPS Awaiting Item","eventTimestamp":"2024-11-21T23:28:00","GMTTimestamp":"2024-11-21T05:28:33Z","GMTOffset":"-06:00","eventCity":"GLENDALE HEIGHTS","eventState":"IL","eventZIP":"60139","eventCode":"81"}"#,
    );
    let t = obs(&d)[0].occurred_at.unwrap();
    assert_eq!(t.instant.to_string(), "2024-11-22T05:28:00Z");
    assert_eq!(t.offset.seconds(), -6 * 3600);
}

#[test]
fn without_gmt_offset_the_times_of_day_give_it() {
    let d = doc(
        r#"{"eventTimestamp":"2024-11-25T18:31:00","GMTTimestamp":"2024-11-25T00:31:21Z","eventCity":"NEW BERLIN","eventState":"WI","eventCode":"SF"}"#,
    );
    assert_eq!(instant(&obs(&d)[0]), "2024-11-26T00:31:00Z");
}

#[test]
fn a_z_on_the_local_time_is_not_utc() {
    // USPS's own example: "2023-08-02T07:31:00Z" for 7:31 am in Richmond, VA.
    let d = doc(
        r#"{"eventTimestamp":"2023-08-02T07:31:00Z","eventCity":"RICHMOND","eventState":"VA","eventZIP":"23227","eventCode":"03"}"#,
    );
    assert_eq!(local(&obs(&d)[0]), ("2023-08-02T07:31:00".into(), None));
    // With GMTOffset ("-8:00", one-digit hour), the offset is the vendor's.
    let d =
        doc(r#"{"eventTimestamp":"2025-12-09T13:38:00Z","GMTOffset":"-8:00","eventCode":"01"}"#);
    assert_eq!(instant(&obs(&d)[0]), "2025-12-09T21:38:00Z");
    // v3r2 writes real offsets.
    let d = doc(r#"{"eventTimestamp":"2025-02-07T12:55:12-05:00","eventCode":"01"}"#);
    assert_eq!(instant(&obs(&d)[0]), "2025-02-07T17:55:12Z");
}

#[test]
fn no_offset_at_all_takes_the_state_zone_and_says_so() {
    let d = doc(r#"{"eventTimestamp":"2024-07-01T09:27:00","eventCode":"GX"}"#);
    let obs = obs(&d);
    assert_eq!(
        local(&obs[0]),
        ("2024-07-01T09:27:00".into(), Some("America/Chicago".into()))
    );
    assert_eq!(
        obs[0].attributes.get("time_zone_inferred"),
        Some(&Value::String("America/Chicago".into()))
    );
    assert!(obs[0].location.is_none());
    let d = r#"{"trackingNumber":"1","trackingEvents":[{"eventTimestamp":"2024-07-01T09:27:00","eventCode":"GX"}]}"#;
    let err = parse(d.as_bytes()).unwrap_err();
    assert_eq!(err.path, "trackingEvents[0]");
}

#[test]
fn one_bad_event_is_reported_and_the_others_kept() {
    let d = doc(concat!(
        r#"{"eventTimestamp":"23 Nov 2024","GMTOffset":"-06:00","eventCode":"01"},"#,
        r#"{"eventTimestamp":"2024-11-22T13:10:00","GMTOffset":"-06:00","eventCode":"OF"}"#
    ));
    let p = parse(d.as_bytes()).unwrap();
    assert_eq!(p.observations.len(), 1);
    assert_eq!(p.observations[0].raw_code, "OF");
    assert_eq!(p.unreadable[0].path, "trackingEvents[0].eventTimestamp");
}

#[test]
fn error_and_empty_documents() {
    assert!(obs(&doc("")).is_empty());
    let err = parse(br#"{"apiVersion":"/tracking/v3","error":{"code":"400","message":"12: A status update is not yet available"}}"#).unwrap_err();
    assert!(err.message.contains("not yet available"), "{err}");
    assert!(parse(b"").is_err());
    assert!(parse(b"<TrackResponse>").is_err());
    let e = parse(b"<Error><Number>-2147219040</Number><Description>This Information has not been included in this Test Server.</Description></Error>").unwrap_err();
    assert!(e.message.contains("-2147219040"), "{e}");
}

#[test]
fn trackv2_xml_summary_details_and_errors() {
    let x = r#"<?xml version="1.0"?><TrackResponse><TrackInfo ID="9400"><OriginState>WI</OriginState>
<TrackSummary><EventTime>12:15 pm</EventTime><EventDate>January 17, 2017</EventDate><Event>Delivered, Left with Individual</Event><EventCity>SAN DIEGO</EventCity><EventState>CA</EventState><EventZIPCode>92104</EventZIPCode><EventCountry /><Name>J G</Name><EventCode>01</EventCode></TrackSummary>
<TrackDetail><EventTime>12:23 am</EventTime><EventDate>January 14, 2017</EventDate><Event>In Transit to Destination</Event><EventCity /><EventState /><EventCode>EX</EventCode></TrackDetail>
<TrackDetail><EventTime>10:00 pm</EventTime><EventDate>January 13, 2017</EventDate><Event>Departed USPS Facility</Event><EventCity>OAK CREEK</EventCity><EventState>WI</EventState><EventCode>EF</EventCode></TrackDetail>
<TrackDetail><EventTime/><EventDate/><Event>Origin Post is Preparing Shipment</Event><EventCode>NP</EventCode></TrackDetail>
</TrackInfo><TrackInfo ID="X"><Error><Number>-2147219302</Number><Description>could not locate</Description></Error></TrackInfo></TrackResponse>"#;
    let p = parse(x.as_bytes()).unwrap();
    let codes: Vec<_> = p.observations.iter().map(|o| o.raw_code.as_str()).collect();
    assert_eq!(codes, ["01", "EX", "EF"]);
    assert_eq!(
        local(&p.observations[0]),
        ("2017-01-17T12:15:00".into(), None)
    );
    // No place: the zone of the older scan (Oak Creek, WI).
    assert_eq!(
        local(&p.observations[1]),
        ("2017-01-14T00:23:00".into(), Some("America/Chicago".into()))
    );
    assert_eq!(p.observations[0].attributes["signed_by"], "J G");
    assert_eq!(p.unreadable.len(), 1);
    assert_eq!(
        p.unreadable[0].path,
        "TrackResponse.TrackInfo[0].TrackDetail[2].EventDate"
    );
}

#[test]
fn track_results_json_and_sentences() {
    let j = r#"{"TrackResults":{"RequestSeqNumber":null,"TrackInfo":{"@ID":"94","TrackSummary":"USPS is now in possession of your item as of 7:31 am on February 15, 2023 in RICHMOND, VA 23227."}}}"#;
    let o = obs(j);
    assert_eq!(o[0].raw_code, "");
    assert_eq!(local(&o[0]), ("2023-02-15T07:31:00".into(), None));
    assert_eq!(
        o[0].location.as_ref().unwrap().postal_code.as_deref(),
        Some("23227")
    );
    let j = r#"{"TrackResults":{"TrackInfo":{"@ID":"94","TrackSummary":"The Postal Service could not locate the tracking information for your request."}}}"#;
    assert!(parse(j.as_bytes()).is_err());
    let x = "<TrackResponse><TrackInfo ID=\"EJ\"><TrackSummary>Your item was delivered at 8:10 am on June 1 in Wilmington DE 19801.</TrackSummary></TrackInfo></TrackResponse>";
    let e = parse(x.as_bytes()).unwrap_err();
    assert!(e.message.contains("without a year"), "{e}");
}

#[test]
fn subscription_payload_and_multistatus() {
    let inner = r#"{"trackingNumber":"92","originState":"FL","trackingEvent":{"eventCode":"01","eventTimestamp":"2025-02-07T12:55:12-05:00","eventCity":"DETROIT","eventState":"MI"}}"#;
    let env = serde_json::json!({"subscriptionId":"1","payload":inner}).to_string();
    let o = obs(&env);
    assert_eq!(o.len(), 1);
    assert_eq!(instant(&o[0]), "2025-02-07T17:55:12Z");
    let m = r#"[{"statusCode":"200","trackingNumber":"1","trackingEvents":[{"eventCode":"02","eventTimestamp":"2025-04-04T16:47:00-07:00"}]},{"statusCode":"404","trackingNumber":"2","error":{"code":"404","message":"not found"}}]"#;
    let p = parse(m.as_bytes()).unwrap();
    assert_eq!(p.observations.len(), 1);
    assert!(p.unreadable.is_empty());
}

#[test]
fn facility_names_carry_their_state() {
    assert_eq!(
        facility_state("OAK CREEK WI DISTRIBUTION CENTER"),
        Some("WI")
    );
    assert_eq!(
        facility_state("INDIANAPOLIS IN NETWORK DISTRIBUTION CENTER"),
        Some("IN")
    );
    assert_eq!(facility_state("DISTRIBUTION CENTER"), None);
    assert_eq!(facility_state("NEW YORK"), None);
}

#[test]
fn clocks_and_dates() {
    assert_eq!(clock("9:01 am").unwrap().to_string(), "09:01:00");
    assert_eq!(clock("12:15 pm").unwrap().to_string(), "12:15:00");
    assert_eq!(clock("12:18 am").unwrap().to_string(), "00:18:00");
    assert!(clock("13:05 pm").is_none());
    assert_eq!(
        long_date("April 28, 2015").unwrap().to_string(),
        "2015-04-28"
    );
    assert!(long_date("April 28").is_none());
}

#[test]
fn a_foreign_state_is_not_a_us_zone() {
    // Western Australia's "WA" must not lend Washington's zone to the place-less scan after it.
    let x = r#"<TrackResponse><TrackInfo ID="LZ1"><TrackSummary><EventTime>9:00 am</EventTime><EventDate>March 3, 2024</EventDate><Event>Processed Through Facility</Event><EventCode>10</EventCode></TrackSummary>
<TrackDetail><EventTime>7:00 am</EventTime><EventDate>March 1, 2024</EventDate><Event>Accepted</Event><EventCity>PERTH</EventCity><EventState>WA</EventState><EventCountry>AUSTRALIA</EventCountry><EventCode>03</EventCode></TrackDetail></TrackInfo></TrackResponse>"#;
    let p = parse(x.as_bytes()).unwrap();
    assert_eq!(p.observations.len(), 1);
    assert_eq!(p.observations[0].raw_code, "03");
    assert_eq!(p.unreadable[0].path, "TrackResponse.TrackInfo.TrackSummary");
}
