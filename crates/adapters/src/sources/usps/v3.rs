//! USPS Tracking API v3 and v3r2 JSON (`apis.usps.com/tracking/v3` and `/v3r2`), and the
//! tracking details inside subscription notifications.
//!
//! - v3 `GET /tracking/{n}?expand=DETAIL`: one detail object (`eventZIP`, `name`,
//!   `services` a string or an array, `authorizedAgent` "false" or false).
//! - v3r2 `POST /tracking`: an array of details (`eventZIPCode`, `recipientName`,
//!   `deliveryDateExpectation`); on a 207 each element carries `statusCode`, and a failure
//!   (`"404"`, with `error`) stands in for a number USPS could not find.
//! - a detailed-scan notification carries one event as the object `trackingEvent`.
//!
//! `eventTimestamp` is the scan's local wall clock. USPS writes it without offset, with a real
//! offset (v3r2: `2025-02-07T12:55:12-05:00`), as a bare date (v3r2 pre-shipment and partner
//! events), or with a `Z` that is not true: its own example gives `2023-08-02T07:31:00Z` for
//! "7:31 am ... in RICHMOND, VA". So a `Z` time is read as local; the offset is `GMTOffset`
//! (`-06:00`, `-7:00`) when sent, else the difference between it and `GMTTimestamp`'s time of day
//! (whose date USPS sometimes writes as the local date: `eventTimestamp` 2024-11-21T23:28 at
//! -06:00 came with `GMTTimestamp` 2024-11-21T05:28:33Z), else the zone of the place.

use super::{Item, RawEvent, When, nonblank, service_name};
use crate::ParseError;
use crate::timefmt;
use jiff::civil::{Date, DateTime};
use serde_json::{Map, Value};
use waypost_domain::EventTime;

/// A field as text whatever JSON type USPS gave it (`"false"`, `false`, `14`); `None` when
/// null, blank, missing, or a structure.
pub(crate) fn lax(obj: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| match obj.get(*k)? {
        Value::String(s) => nonblank(Some(s)),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    })
}

/// Items of a v3 or v3r2 document (an object, or an array of them), and the failures USPS
/// reported in place of items.
pub(crate) fn items(value: &Value) -> Result<(Vec<Item>, Vec<ParseError>), ParseError> {
    let mut items = Vec::new();
    let mut failures = Vec::new();
    match value {
        Value::Array(list) => {
            for (i, v) in list.iter().enumerate() {
                match v.as_object() {
                    Some(obj) => one(obj, &format!("[{i}]."), &mut items, &mut failures),
                    None => failures.push(ParseError::new(
                        format!("[{i}]"),
                        "not a tracking detail object",
                    )),
                }
            }
        }
        Value::Object(obj) => one(obj, "", &mut items, &mut failures),
        _ => {
            return Err(ParseError::new(
                "document",
                "not a USPS tracking response: neither an object nor an array",
            ));
        }
    }
    if items.is_empty() && failures.is_empty() {
        return Err(ParseError::new(
            "document",
            "not a USPS tracking response: no tracking detail",
        ));
    }
    Ok((items, failures))
}

fn one(
    obj: &Map<String, Value>,
    prefix: &str,
    items: &mut Vec<Item>,
    failures: &mut Vec<ParseError>,
) {
    let events_key = ["trackingEvents", "trackingEvent"]
        .into_iter()
        .find(|k| obj.get(*k).is_some_and(|v| !v.is_null()));
    let failed = lax(obj, &["statusCode"]).is_some_and(|c| !c.starts_with('2'));
    let Some(events_key) = events_key.filter(|_| !failed) else {
        let detail = match obj.get("error").and_then(Value::as_object) {
            Some(e) => format!(
                "USPS error {}: {}",
                lax(e, &["code"]).unwrap_or_else(|| "?".into()),
                lax(e, &["message"]).unwrap_or_default()
            ),
            None if obj.contains_key("trackingNumber") => {
                // A detail with no events yet ("label created, not yet in system").
                items.push(header(obj));
                return;
            }
            None => "no trackingEvents".to_owned(),
        };
        failures.push(ParseError::new(format!("{prefix}trackingEvents"), detail));
        return;
    };
    let mut item = header(obj);
    let list: Vec<&Value> = match &obj[events_key] {
        Value::Array(a) => a.iter().collect(),
        single => vec![single],
    };
    let plural = events_key == "trackingEvents" && obj[events_key].is_array();
    for (i, v) in list.into_iter().enumerate() {
        let path = if plural {
            format!("{prefix}{events_key}[{i}]")
        } else {
            format!("{prefix}{events_key}")
        };
        item.events.push(event(v, path));
    }
    items.push(item);
}

fn header(obj: &Map<String, Value>) -> Item {
    let expected = obj
        .get("deliveryDateExpectation")
        .and_then(Value::as_object)
        .and_then(|d| lax(d, &["expectedDeliveryDate"]));
    let promised_at = lax(
        obj,
        &["expectedDeliveryTimeStamp", "expectedDeliveryTimestamp"],
    )
    .or(expected)
    .and_then(|s| timefmt::with_offset(&s));
    Item {
        tracking_number: lax(obj, &["trackingNumber"]),
        service: lax(obj, &["mailClass"]).and_then(|m| service_name(&m)),
        origin: [
            lax(obj, &["originCity"]),
            lax(obj, &["originState"]),
            lax(obj, &["originZIP", "originZIPCode", "originZip"]),
            lax(obj, &["originCountry", "originCountryCode"]),
        ],
        destination: [
            lax(obj, &["destinationCity"]),
            lax(obj, &["destinationState"]),
            lax(
                obj,
                &["destinationZIP", "destinationZIPCode", "destinationZip"],
            ),
            lax(obj, &["destinationCountryCode", "destinationCountry"]),
        ],
        promised_at,
        events: Vec::new(),
    }
}

fn event(v: &Value, path: String) -> RawEvent {
    let Some(e) = v.as_object() else {
        return RawEvent {
            when: Some(When::Bad(ParseError::new(
                path.clone(),
                "event is not an object",
            ))),
            path,
            ..RawEvent::default()
        };
    };
    let mut attributes = Map::new();
    for (key, attr) in [
        ("name", "signed_by"),
        ("recipientName", "signed_by"),
        ("firm", "firm"),
        ("actionCode", "action_code"),
        ("reasonCode", "reason_code"),
        ("eventPartner", "partner"),
    ] {
        if let Some(s) = lax(e, &[key]) {
            attributes.insert(attr.into(), Value::String(s));
        }
    }
    let when = when(e, &path);
    RawEvent {
        code: lax(e, &["eventCode"]),
        description: lax(e, &["eventType", "scanEventExtractEventName"]),
        when: Some(when),
        city: lax(e, &["eventCity"]),
        state: lax(e, &["eventState"]),
        zip: lax(e, &["eventZIP", "eventZIPCode", "eventZipCode"]),
        country: lax(e, &["eventCountry"]),
        attributes,
        path,
    }
}

/// `2024-11-23T13:10:00`, `2024-11-23 13:10`, with or without seconds or a fraction.
fn civil(s: &str) -> Option<DateTime> {
    if !s.is_ascii() || s.len() > 40 {
        return None;
    }
    s.replacen(' ', "T", 1).parse::<DateTime>().ok()
}

fn when(e: &Map<String, Value>, path: &str) -> When {
    let field = format!("{path}.eventTimestamp");
    let Some(stamp) = lax(e, &["eventTimestamp", "eventTimeStamp"]) else {
        return When::Bad(ParseError::new(field, "event has no eventTimestamp"));
    };
    let bad = |why: &str| When::Bad(ParseError::new(field.clone(), format!("{stamp:?} {why}")));
    if !stamp.is_ascii() || stamp.len() > 40 {
        return bad("is not an ISO 8601 date and time");
    }
    if stamp.len() == 10
        && let Ok(d) = stamp.parse::<Date>()
    {
        return When::Local {
            civil: d.to_datetime(jiff::civil::Time::midnight()),
            date_only: true,
        };
    }
    let Some(t_at) = stamp.find(['T', 't', ' ']) else {
        return if stamp.contains(':') {
            bad("is a time of day without a date")
        } else {
            bad("is not an ISO 8601 date and time")
        };
    };
    if stamp[t_at..].contains(['+', '-']) {
        // A real offset (v3r2): the instant is exact.
        return match timefmt::with_offset(&stamp) {
            Some(t) => When::Exact(t),
            None => bad("is not an ISO 8601 date and time"),
        };
    }
    let Some(local) = civil(stamp.trim_end_matches(['Z', 'z'])) else {
        return bad("is not an ISO 8601 date and time");
    };
    if let Some(offset) = lax(e, &["GMTOffset", "gmtOffset"]) {
        return match timefmt::local_with_offset(local, &offset) {
            Some(t) => When::Exact(t),
            None => When::Bad(ParseError::new(
                format!("{path}.GMTOffset"),
                format!("{offset:?} is not a UTC offset"),
            )),
        };
    }
    if let Some(gmt) = lax(e, &["GMTTimestamp", "GMTTimeStamp", "gmtTimestamp"]) {
        return match offset_from_times_of_day(local, &gmt) {
            Some(t) => When::Exact(t),
            None => When::Bad(ParseError::new(
                format!("{path}.GMTTimestamp"),
                format!("{gmt:?} is not an ISO 8601 time"),
            )),
        };
    }
    When::Local {
        civil: local,
        date_only: false,
    }
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
