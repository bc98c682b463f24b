//! USPS Tracking API v3 (`GET apis.usps.com/tracking/v3/tracking/{trackingNumber}?expand=DETAIL`),
//! JSON. One tracking number per response (an array of them is accepted too); one observation
//! per `trackingEvents[]` entry, in document order (newest first as USPS sends them).
//!
//! Mapping key: the event's `eventCode` (`01` delivered, `OF` out for delivery, `MA` pre-shipment),
//! trimmed and upper-cased.
//!
//! Time: `eventTimestamp` is the local wall clock of the scan, without offset. USPS gives the
//! offset in `GMTOffset`; local time plus that offset is the instant. `GMTTimestamp` is not
//! trusted for its date: USPS writes the local date in front of the UTC time of day
//! (`eventTimestamp` 2024-11-21T23:28 at -06:00 comes with `GMTTimestamp` 2024-11-21T05:28:33Z,
//! a day early), so without `GMTOffset` the offset is recovered from the two times of day
//! instead. Events with neither (pre-shipment and shipping-partner events) are placed in the
//! zone of the event's state, or for events with no place at all the origin's state (those are
//! the shipper's and its partner's reports from the origin), and say so in the attribute
//! `time_zone_inferred`. With no state either, the event is refused rather than guessed.

use crate::geo;
use crate::jsonstr::{from_json, text};
use crate::timefmt;
use crate::{Observation, ParseError};
use jiff::civil::DateTime;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::borrow::Cow;
use waypost_domain::EventTime;

type Text<'a> = Option<Cow<'a, str>>;

#[derive(Deserialize)]
struct Doc<'a> {
    #[serde(borrow, rename = "trackingNumber")]
    tracking_number: Text<'a>,
    #[serde(borrow, rename = "mailClass")]
    mail_class: Text<'a>,
    #[serde(borrow, rename = "originCity")]
    origin_city: Text<'a>,
    #[serde(borrow, rename = "originState")]
    origin_state: Text<'a>,
    #[serde(borrow, rename = "originZIP")]
    origin_zip: Text<'a>,
    #[serde(borrow, rename = "originCountry")]
    origin_country: Text<'a>,
    #[serde(borrow, rename = "destinationCity")]
    destination_city: Text<'a>,
    #[serde(borrow, rename = "destinationState")]
    destination_state: Text<'a>,
    #[serde(borrow, rename = "destinationZIP")]
    destination_zip: Text<'a>,
    #[serde(borrow, rename = "destinationCountryCode")]
    destination_country: Text<'a>,
    #[serde(borrow, rename = "expectedDeliveryTimeStamp")]
    expected_delivery: Text<'a>,
    #[serde(borrow, default, rename = "trackingEvents")]
    tracking_events: Option<Vec<Event<'a>>>,
    #[serde(borrow)]
    error: Option<ApiError<'a>>,
}

#[derive(Deserialize)]
struct ApiError<'a> {
    #[serde(borrow)]
    code: Text<'a>,
    #[serde(borrow)]
    message: Text<'a>,
}

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(borrow, rename = "eventType")]
    event_type: Text<'a>,
    #[serde(borrow, rename = "eventTimestamp", alias = "eventTimeStamp")]
    event_timestamp: Text<'a>,
    #[serde(borrow, rename = "GMTTimestamp", alias = "GMTTimeStamp")]
    gmt_timestamp: Text<'a>,
    #[serde(borrow, rename = "GMTOffset")]
    gmt_offset: Text<'a>,
    #[serde(borrow, rename = "eventCountry")]
    country: Text<'a>,
    #[serde(borrow, rename = "eventCity")]
    city: Text<'a>,
    #[serde(borrow, rename = "eventState")]
    state: Text<'a>,
    #[serde(borrow, rename = "eventZIP", alias = "eventZIPCode")]
    zip: Text<'a>,
    #[serde(borrow)]
    firm: Text<'a>,
    #[serde(borrow)]
    name: Text<'a>,
    #[serde(borrow, rename = "eventCode")]
    event_code: Text<'a>,
}

/// `2024-11-23T13:10:00`, with or without seconds or a fraction.
fn civil(s: &str) -> Option<DateTime> {
    if !s.is_ascii() || s.len() > 40 {
        return None;
    }
    s.replacen(' ', "T", 1).parse::<DateTime>().ok()
}

/// The offset implied by a local and a UTC time of day, whatever date USPS put on the UTC one:
/// their difference modulo a day, taken in -12h..+14h and rounded to a quarter hour (the local
/// time has no seconds).
fn offset_from_times_of_day(local: DateTime, gmt: &str) -> Option<EventTime> {
    let g = civil(gmt.trim_end_matches(['Z', 'z']))?;
    let secs = |t: DateTime| i64::from(t.hour()) * 3600 + i64::from(t.minute()) * 60;
    let gmt_secs = secs(g) + i64::from(g.second());
    let mut diff = (secs(local) - gmt_secs).rem_euclid(86_400);
    if diff > 14 * 3600 {
        diff -= 86_400;
    }
    let quarters = (diff + 450).div_euclid(900);
    let total = quarters * 15;
    let (sign, abs) = if total < 0 {
        ('-', -total)
    } else {
        ('+', total)
    };
    timefmt::local_with_offset(local, &format!("{sign}{:02}:{:02}", abs / 60, abs % 60))
}

/// The IANA zone of a US state or territory, for events USPS sends without any offset. States
/// that span two zones take the zone most of their population lives in.
fn state_zone(state: &str) -> Option<&'static str> {
    Some(match state.to_ascii_uppercase().as_str() {
        "CT" | "DE" | "DC" | "GA" | "ME" | "MD" | "MA" | "NH" | "NJ" | "NY" | "NC" | "OH"
        | "PA" | "RI" | "SC" | "VT" | "VA" | "WV" | "FL" | "MI" | "IN" | "KY" => "America/New_York",
        "AL" | "AR" | "IL" | "IA" | "LA" | "MN" | "MS" | "MO" | "OK" | "WI" | "TX" | "TN"
        | "KS" | "NE" | "SD" | "ND" => "America/Chicago",
        "CO" | "MT" | "NM" | "UT" | "WY" | "ID" => "America/Denver",
        "AZ" => "America/Phoenix",
        "CA" | "NV" | "OR" | "WA" => "America/Los_Angeles",
        "AK" => "America/Anchorage",
        "HI" => "Pacific/Honolulu",
        "PR" | "VI" => "America/Puerto_Rico",
        "GU" | "MP" => "Pacific/Guam",
        "AS" => "Pacific/Pago_Pago",
        _ => return None,
    })
}

fn event_time(
    e: &Event<'_>,
    origin_state: Option<&str>,
    path: &str,
    attributes: &mut Map<String, Value>,
) -> Result<EventTime, ParseError> {
    let stamp = text(&e.event_timestamp).ok_or_else(|| {
        ParseError::new(
            format!("{path}.eventTimestamp"),
            "event has no eventTimestamp",
        )
    })?;
    if stamp.is_ascii()
        && let Some(t) = timefmt::with_offset(stamp)
    {
        return Ok(t);
    }
    let local = civil(stamp).ok_or_else(|| {
        ParseError::new(
            format!("{path}.eventTimestamp"),
            format!("{stamp:?} is not an ISO 8601 date and time"),
        )
    })?;
    if let Some(offset) = text(&e.gmt_offset) {
        return offset
            .is_ascii()
            .then(|| timefmt::local_with_offset(local, offset))
            .flatten()
            .ok_or_else(|| {
                ParseError::new(
                    format!("{path}.GMTOffset"),
                    format!("{offset:?} is not a UTC offset"),
                )
            });
    }
    if let Some(gmt) = text(&e.gmt_timestamp) {
        return offset_from_times_of_day(local, gmt).ok_or_else(|| {
            ParseError::new(
                format!("{path}.GMTTimestamp"),
                format!("{gmt:?} is not an ISO 8601 time"),
            )
        });
    }
    let zone = text(&e.state)
        .or(if text(&e.city).is_none() && text(&e.zip).is_none() {
            origin_state
        } else {
            None
        })
        .and_then(state_zone)
        .ok_or_else(|| {
            ParseError::new(
                format!("{path}.GMTOffset"),
                "local eventTimestamp with no GMTOffset, no GMTTimestamp and no US state to place it in",
            )
        })?;
    attributes.insert("time_zone_inferred".into(), Value::String(zone.to_owned()));
    timefmt::local_in_zone(local, zone).ok_or_else(|| {
        ParseError::new(
            format!("{path}.eventTimestamp"),
            "time does not exist in its zone",
        )
    })
}

/// USPS leaves the country out for domestic places (documented: empty for domestic), so a place
/// with any part given and no country is in the US.
fn domestic(country: Option<&str>, any: bool) -> Option<&str> {
    country.or(any.then_some("US"))
}

fn parse_one(doc: &Doc<'_>, prefix: &str, out: &mut Vec<Observation>) -> Result<(), ParseError> {
    let Some(events) = &doc.tracking_events else {
        let detail = match &doc.error {
            Some(e) => format!(
                "USPS error {}: {}",
                text(&e.code).unwrap_or("?"),
                text(&e.message).unwrap_or("")
            ),
            None => "missing".to_owned(),
        };
        return Err(ParseError::new(format!("{prefix}trackingEvents"), detail));
    };
    let tracking = text(&doc.tracking_number).map(str::to_owned);
    let origin_state = text(&doc.origin_state);
    let origin = geo::location(
        text(&doc.origin_city),
        origin_state,
        text(&doc.origin_zip),
        domestic(
            text(&doc.origin_country),
            text(&doc.origin_city).is_some() || origin_state.is_some(),
        ),
    );
    let destination = geo::location(
        text(&doc.destination_city),
        text(&doc.destination_state),
        text(&doc.destination_zip),
        domestic(
            text(&doc.destination_country),
            text(&doc.destination_city).is_some() || text(&doc.destination_state).is_some(),
        ),
    );
    let service = text(&doc.mail_class).map(|m| {
        // Mail class names carry HTML marks (`USPS Ground Advantage<SUP>&#153;</SUP>`).
        m.split("<SUP>").next().unwrap_or(m).trim().to_owned()
    });
    let promised_at = text(&doc.expected_delivery).and_then(|s| {
        let s = s.is_ascii().then_some(s)?;
        timefmt::with_offset(s)
    });
    for (i, e) in events.iter().enumerate() {
        let path = format!("{prefix}trackingEvents[{i}]");
        let code = text(&e.event_code)
            .map(str::to_ascii_uppercase)
            .ok_or_else(|| {
                ParseError::new(format!("{path}.eventCode"), "event has no eventCode")
            })?;
        let mut attributes = Map::new();
        let occurred_at = event_time(e, origin_state, &path, &mut attributes)?;
        let (city, state, zip) = (text(&e.city), text(&e.state), text(&e.zip));
        let location = geo::location(
            city,
            state,
            zip,
            domestic(
                text(&e.country),
                city.is_some() || state.is_some() || zip.is_some(),
            ),
        );
        if let Some(n) = text(&e.name) {
            attributes.insert("signed_by".into(), Value::String(n.to_owned()));
        }
        if let Some(f) = text(&e.firm) {
            attributes.insert("firm".into(), Value::String(f.to_owned()));
        }
        out.push(Observation {
            mapping_key: code.clone(),
            reason_key: None,
            raw_code: code,
            raw_description: text(&e.event_type).map(str::to_owned),
            occurred_at: Some(occurred_at),
            local_time: None,
            tracking_number: tracking.clone(),
            order_ref: None,
            vendor_event_id: None,
            carrier: Some("usps".to_owned()),
            service: service.clone(),
            location,
            origin: origin.clone(),
            destination: destination.clone(),
            promised_at,
            attributes,
        });
    }
    Ok(())
}

pub fn parse(doc: &[u8]) -> Result<Vec<Observation>, ParseError> {
    let first = doc.iter().copied().find(|b| !b.is_ascii_whitespace());
    let mut out = Vec::new();
    if first == Some(b'[') {
        let docs: Vec<Doc<'_>> = from_json(doc).map_err(|e| json_error(&e))?;
        for (i, d) in docs.iter().enumerate() {
            parse_one(d, &format!("[{i}]."), &mut out)?;
        }
    } else {
        let d: Doc<'_> = from_json(doc).map_err(|e| json_error(&e))?;
        parse_one(&d, "", &mut out)?;
    }
    Ok(out)
}

fn json_error(e: &serde_json::Error) -> ParseError {
    ParseError::json(e, "a USPS Tracking v3 response")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(events: &str) -> String {
        format!(
            r#"{{"trackingNumber":"9400100000000000000000","originState":"WI","trackingEvents":[{events}]}}"#
        )
    }

    #[test]
    fn local_time_and_gmt_offset_beat_the_misdated_gmt_stamp() {
        let d = doc(
            r#"{"eventType":"Arrived Shipping Partner Facility, USPS Awaiting Item","eventTimestamp":"2024-11-21T23:28:00","GMTTimestamp":"2024-11-21T05:28:33Z","GMTOffset":"-06:00","eventCity":"GLENDALE HEIGHTS","eventState":"IL","eventZIP":"60139","eventCode":"81"}"#,
        );
        let t = parse(d.as_bytes()).unwrap()[0].occurred_at.unwrap();
        assert_eq!(t.instant.to_string(), "2024-11-22T05:28:00Z");
        assert_eq!(t.offset.seconds(), -6 * 3600);
    }

    #[test]
    fn without_gmt_offset_the_times_of_day_give_it() {
        let d = doc(
            r#"{"eventTimestamp":"2024-11-25T18:31:00","GMTTimestamp":"2024-11-25T00:31:21Z","eventCity":"NEW BERLIN","eventState":"WI","eventCode":"SF"}"#,
        );
        let t = parse(d.as_bytes()).unwrap()[0].occurred_at.unwrap();
        assert_eq!(t.instant.to_string(), "2024-11-26T00:31:00Z");
    }

    #[test]
    fn no_offset_at_all_takes_the_state_zone_and_says_so() {
        let d = doc(r#"{"eventTimestamp":"2024-07-01T09:27:00","eventCode":"GX"}"#);
        let obs = parse(d.as_bytes()).unwrap();
        let t = obs[0].occurred_at.unwrap();
        assert_eq!(t.instant.to_string(), "2024-07-01T14:27:00Z");
        assert_eq!(
            obs[0].attributes.get("time_zone_inferred"),
            Some(&Value::String("America/Chicago".into()))
        );
        assert!(obs[0].location.is_none());
        let d = r#"{"trackingNumber":"1","trackingEvents":[{"eventTimestamp":"2024-07-01T09:27:00","eventCode":"GX"}]}"#;
        let err = parse(d.as_bytes()).unwrap_err();
        assert_eq!(err.path, "trackingEvents[0].GMTOffset");
    }

    #[test]
    fn malformed_empty_and_error_documents() {
        assert!(parse(doc("").as_bytes()).unwrap().is_empty());
        let d = doc(r#"{"eventTimestamp":"23 Nov 2024","GMTOffset":"-06:00","eventCode":"01"}"#);
        assert_eq!(
            parse(d.as_bytes()).unwrap_err().path,
            "trackingEvents[0].eventTimestamp"
        );
        let d = format!(
            "[{},{}]",
            doc(""),
            doc(r#"{"eventTimestamp":"2024-11-23T13:10:00","GMTOffset":"-06:00"}"#)
        );
        assert_eq!(
            parse(d.as_bytes()).unwrap_err().path,
            "[1].trackingEvents[0].eventCode"
        );
        let err = parse(br#"{"apiVersion":"/tracking/v3","error":{"code":"400","message":"12: A status update is not yet available"}}"#).unwrap_err();
        assert!(err.message.contains("not yet available"), "{err}");
        assert!(parse(b"").is_err());
        let d =
            doc(r#"{"eventTimestamp":"2024-11-23T13:10:00","GMTOffset":"-0é","eventCode":"01"}"#);
        assert!(parse(d.as_bytes()).is_err());
    }
}
