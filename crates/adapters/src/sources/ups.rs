//! UPS Track API (`GET /api/track/v1/details/{inquiryNumber}`), JSON.
//!
//! `trackResponse.shipment[].package[].activity[]`, newest first as UPS sends them; one
//! observation per activity, in document order.
//!
//! Mapping key: the activity's `status.type` (`D`, `P`, `M`, `X`, ...), except `I`, which UPS
//! uses for every scan between pickup and delivery including the out-for-delivery load scan:
//! an `I` activity is qualified by its activity code (`I:OT`, `I:AR`), and looked up as bare
//! `I` only when it has no code. `X` stays unqualified: UPS publishes no list of its exception
//! activity codes, so keying on them would quarantine every exception; its text is kept in
//! `raw_description` and its code in `raw_code`.
//!
//! Time: `date` (YYYYMMDD) and `time` (HHMMSS) are the scan's local wall clock, and UPS gives
//! that clock's offset in `gmtOffset`; together they are the exact instant. When the offset is
//! missing, `gmtDate` + `gmtTime` (GMT; seen as `09:41:00`, `094100` and the documented
//! `74700`) give the instant instead. Neither: the activity is refused rather than guessed.

mod fast;

use crate::geo::LocationCache;
use crate::jsonstr::Str;
use crate::jsonstr::{from_json, null_default, text};
use crate::timefmt;
use crate::{Observation, ParseError};
use serde::Deserialize;
use serde_json::{Map, Value};
use waypost_domain::{EventTime, Location};

/// Borrowed from the document unless it had escapes: no allocation per field.
type Text<'a> = Option<Str<'a>>;

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct Doc<'a> {
    #[serde(borrow, rename = "trackResponse")]
    track_response: Option<TrackResponse<'a>>,
    #[serde(borrow)]
    response: Option<ErrorResponse<'a>>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct ErrorResponse<'a> {
    #[serde(borrow, default, deserialize_with = "null_default")]
    errors: Vec<ApiError<'a>>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct ApiError<'a> {
    #[serde(borrow)]
    code: Text<'a>,
    #[serde(borrow)]
    message: Text<'a>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct TrackResponse<'a> {
    #[serde(borrow, default, deserialize_with = "null_default")]
    shipment: Vec<Shipment<'a>>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct Shipment<'a> {
    #[serde(borrow, rename = "inquiryNumber")]
    inquiry_number: Text<'a>,
    #[serde(borrow, default, deserialize_with = "null_default")]
    package: Vec<Package<'a>>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct Package<'a> {
    #[serde(borrow, rename = "trackingNumber")]
    tracking_number: Text<'a>,
    #[serde(borrow, default, deserialize_with = "null_default")]
    activity: Vec<Activity<'a>>,
    #[serde(
        borrow,
        default,
        rename = "deliveryDate",
        deserialize_with = "null_default"
    )]
    delivery_date: Vec<DeliveryDate<'a>>,
    #[serde(
        borrow,
        default,
        rename = "referenceNumber",
        deserialize_with = "null_default"
    )]
    reference_number: Vec<ReferenceNumber<'a>>,
    #[serde(borrow)]
    service: Option<Service<'a>>,
    #[serde(
        borrow,
        default,
        rename = "packageAddress",
        deserialize_with = "null_default"
    )]
    package_address: Vec<PackageAddress<'a>>,
    #[serde(borrow, rename = "deliveryInformation")]
    delivery_information: Option<DeliveryInformation<'a>>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct Activity<'a> {
    #[serde(borrow)]
    date: Text<'a>,
    #[serde(borrow)]
    time: Text<'a>,
    #[serde(borrow, rename = "gmtDate")]
    gmt_date: Text<'a>,
    #[serde(borrow, rename = "gmtTime")]
    gmt_time: Text<'a>,
    #[serde(borrow, rename = "gmtOffset")]
    gmt_offset: Text<'a>,
    #[serde(borrow)]
    location: Option<ActivityLocation<'a>>,
    #[serde(borrow)]
    status: Option<Status<'a>>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct ActivityLocation<'a> {
    #[serde(borrow)]
    address: Option<Address<'a>>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct Address<'a> {
    #[serde(borrow)]
    city: Text<'a>,
    #[serde(borrow, rename = "stateProvince")]
    state_province: Text<'a>,
    #[serde(borrow, rename = "postalCode")]
    postal_code: Text<'a>,
    #[serde(borrow, rename = "countryCode")]
    country_code: Text<'a>,
    #[serde(borrow)]
    country: Text<'a>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct Status<'a> {
    #[serde(borrow, rename = "type")]
    kind: Text<'a>,
    #[serde(borrow)]
    code: Text<'a>,
    #[serde(borrow)]
    description: Text<'a>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct DeliveryDate<'a> {
    #[serde(borrow, rename = "type")]
    kind: Text<'a>,
    #[serde(borrow)]
    date: Text<'a>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct ReferenceNumber<'a> {
    #[serde(borrow)]
    number: Text<'a>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct Service<'a> {
    #[serde(borrow)]
    description: Text<'a>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct PackageAddress<'a> {
    #[serde(borrow, rename = "type")]
    kind: Text<'a>,
    #[serde(borrow)]
    address: Option<Address<'a>>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct DeliveryInformation<'a> {
    #[serde(borrow, rename = "receivedBy")]
    received_by: Text<'a>,
    #[serde(borrow)]
    location: Text<'a>,
}

/// The address as a location; `places` remembers the few a history repeats on every scan.
fn address_location<'d>(places: &mut LocationCache<'d>, a: &'d Address<'_>) -> Option<Location> {
    places.location(
        text(&a.city),
        text(&a.state_province),
        text(&a.postal_code),
        text(&a.country_code).or(text(&a.country)),
    )
}

/// `093000`, `93000` (UPS drops the leading zero), `09:30:00` -> `093000`.
fn hhmmss(s: &str) -> Option<String> {
    let digits: String = s.chars().filter(|c| *c != ':').collect();
    if digits.is_empty() || digits.len() > 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(format!("{digits:0>6}"))
}

/// `YYYYMMDD` + `HHMMSS` (or any spelling [`hhmmss`] accepts) as a civil date-time. The common
/// exact shape is read digit by digit, because this runs for every activity; anything else, and
/// anything the fast path would refuse (a leap second, say), goes through `timefmt::civil`, so
/// the result is the same either way.
fn compact_civil(date: &str, time: &str) -> Option<jiff::civil::DateTime> {
    fn digits(s: &[u8]) -> Option<i32> {
        s.iter().try_fold(0i32, |n, b| {
            b.is_ascii_digit().then(|| n * 10 + i32::from(b - b'0'))
        })
    }
    if let ([y @ .., m1, m2, d1, d2], [h1, h2, mi1, mi2, s1, s2]) =
        (date.as_bytes(), time.as_bytes())
        && y.len() == 4
        && let (Some(y), Some(mo), Some(d)) = (digits(y), digits(&[*m1, *m2]), digits(&[*d1, *d2]))
        && let (Some(h), Some(mi), Some(sec)) = (
            digits(&[*h1, *h2]),
            digits(&[*mi1, *mi2]),
            digits(&[*s1, *s2]),
        )
        && sec < 60
        && let Ok(dt) = jiff::civil::DateTime::new(
            i16::try_from(y).ok()?,
            i8::try_from(mo).ok()?,
            i8::try_from(d).ok()?,
            i8::try_from(h).ok()?,
            i8::try_from(mi).ok()?,
            i8::try_from(sec).ok()?,
            0,
        )
    {
        return Some(dt);
    }
    hhmmss(time).and_then(|t| timefmt::civil(date, "%Y%m%d", &t, "%H%M%S"))
}

/// Where an activity sits in the document, written out only when an error needs it (a path
/// string per activity would cost an allocation on the hot path for nothing).
struct At {
    shipment: usize,
    package: usize,
    activity: usize,
}

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "trackResponse.shipment[{}].package[{}].activity[{}]",
            self.shipment, self.package, self.activity
        )
    }
}

fn activity_time(a: &Activity<'_>, path: &At) -> Result<EventTime, ParseError> {
    let offset = text(&a.gmt_offset).filter(|o| o.is_ascii());
    if let (Some(date), Some(time), Some(offset)) = (text(&a.date), text(&a.time), offset) {
        let civil = compact_civil(date, time).ok_or_else(|| {
            ParseError::new(
                format!("{path}.date"),
                format!("date {date:?} time {time:?} is not YYYYMMDD HHMMSS"),
            )
        })?;
        return timefmt::local_with_offset(civil, offset).ok_or_else(|| {
            ParseError::new(
                format!("{path}.gmtOffset"),
                format!("{offset:?} is not a UTC offset"),
            )
        });
    }
    if let (Some(date), Some(time)) = (text(&a.gmt_date), text(&a.gmt_time)) {
        let civil = compact_civil(date, time).ok_or_else(|| {
            ParseError::new(
                format!("{path}.gmtDate"),
                format!("gmtDate {date:?} gmtTime {time:?} is not YYYYMMDD HHMMSS"),
            )
        })?;
        return timefmt::utc(civil)
            .ok_or_else(|| ParseError::new(format!("{path}.gmtDate"), "GMT time out of range"));
    }
    Err(ParseError::new(
        format!("{path}.gmtOffset"),
        "no usable time: local date/time without gmtOffset, and no gmtDate/gmtTime",
    ))
}

/// The scheduled or rescheduled delivery date, as UPS gives it: a calendar day with no time or
/// zone, so it is kept as an attribute rather than turned into an instant nobody stated.
fn scheduled_date(p: &Package<'_>) -> Option<String> {
    let pick = |want: &str| {
        p.delivery_date
            .iter()
            .find(|d| text(&d.kind) == Some(want))
            .and_then(|d| text(&d.date))
    };
    let d = pick("RDD").or_else(|| pick("SDD"))?;
    let date = jiff::civil::Date::strptime("%Y%m%d", d).ok()?;
    Some(date.to_string())
}

pub fn parse(doc: &[u8]) -> Result<Vec<Observation>, ParseError> {
    let doc: Doc<'_> = match std::str::from_utf8(doc).ok().and_then(fast::doc) {
        Some(d) => d,
        None => from_json(doc).map_err(|e| json_error(&e))?,
    };
    let Some(track) = doc.track_response else {
        let detail = doc
            .response
            .and_then(|r| r.errors.into_iter().next())
            .map(|e| {
                format!(
                    "UPS error {}: {}",
                    text(&e.code).unwrap_or("?"),
                    text(&e.message).unwrap_or("")
                )
            })
            .unwrap_or_else(|| "missing".to_owned());
        return Err(ParseError::new("trackResponse", detail));
    };
    let mut out = Vec::new();
    let mut places = LocationCache::new();
    for (si, shipment) in track.shipment.iter().enumerate() {
        for (pi, package) in shipment.package.iter().enumerate() {
            let tracking = text(&package.tracking_number)
                .or(text(&shipment.inquiry_number))
                .map(str::to_owned);
            let order_ref = package
                .reference_number
                .iter()
                .find_map(|r| text(&r.number))
                .map(str::to_owned);
            let service = package
                .service
                .as_ref()
                .and_then(|s| text(&s.description))
                .map(str::to_owned);
            let mut address_of = |kind: &str| {
                package
                    .package_address
                    .iter()
                    .find(|a| text(&a.kind).is_some_and(|k| k.eq_ignore_ascii_case(kind)))
                    .and_then(|a| a.address.as_ref())
                    .and_then(|a| address_location(&mut places, a))
            };
            let origin = address_of("ORIGIN");
            let destination = address_of("DESTINATION");
            let scheduled = scheduled_date(package);
            out.reserve(package.activity.len());
            for (ai, activity) in package.activity.iter().enumerate() {
                let path = At {
                    shipment: si,
                    package: pi,
                    activity: ai,
                };
                let status = activity.status.as_ref().ok_or_else(|| {
                    ParseError::new(format!("{path}.status"), "activity has no status")
                })?;
                let kind = text(&status.kind)
                    .map(str::to_ascii_uppercase)
                    .ok_or_else(|| {
                        ParseError::new(format!("{path}.status.type"), "status type is missing")
                    })?;
                let code = text(&status.code).map(str::to_ascii_uppercase);
                let mapping_key = match (&code, kind.as_str()) {
                    (Some(c), "I") => [kind.as_str(), ":", c].concat(),
                    _ => kind.clone(),
                };
                let occurred_at = activity_time(activity, &path)?;
                let location = activity
                    .location
                    .as_ref()
                    .and_then(|l| l.address.as_ref())
                    .and_then(|a| address_location(&mut places, a));
                let delivered = kind == "D";
                // The code is the raw code when there is one; otherwise the type stands in.
                let raw_code = match code {
                    Some(c) => c,
                    None => kind.clone(),
                };
                let mut attributes = Map::new();
                attributes.insert("status_type".into(), Value::String(kind));
                if delivered && let Some(info) = &package.delivery_information {
                    if let Some(by) = text(&info.received_by) {
                        attributes.insert("signed_by".into(), Value::String(by.to_owned()));
                    }
                    if let Some(at) = text(&info.location) {
                        attributes.insert("delivered_at_place".into(), Value::String(at.into()));
                    }
                }
                if let Some(d) = &scheduled {
                    attributes.insert("scheduled_delivery_date".into(), Value::String(d.clone()));
                }
                out.push(Observation {
                    raw_code,
                    mapping_key,
                    reason_key: None,
                    raw_description: text(&status.description).map(str::to_owned),
                    occurred_at: Some(occurred_at),
                    local_time: None,
                    tracking_number: tracking.clone(),
                    order_ref: order_ref.clone(),
                    vendor_event_id: None,
                    carrier: Some("ups".to_owned()),
                    service: service.clone(),
                    location,
                    origin: origin.clone(),
                    destination: destination.clone(),
                    promised_at: None,
                    attributes,
                });
            }
        }
    }
    Ok(out)
}

fn json_error(e: &serde_json::Error) -> ParseError {
    ParseError::json(e, "a UPS Track API response")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(activity: &str) -> String {
        format!(
            r#"{{"trackResponse":{{"shipment":[{{"inquiryNumber":"1Z999AA10123456784","package":[{{"trackingNumber":"1Z999AA10123456784","activity":[{activity}]}}]}}]}}}}"#
        )
    }

    #[test]
    fn local_time_takes_the_gmt_offset_and_dst() {
        let d = doc(
            r#"{"status":{"type":"I","code":"AR","description":"Arrived at Facility"},"date":"20240310","time":"031500","gmtOffset":"-04:00","gmtDate":"20240310","gmtTime":"07:15:00"}"#,
        );
        let obs = parse(d.as_bytes()).unwrap();
        let t = obs[0].occurred_at.unwrap();
        assert_eq!(t.instant.to_string(), "2024-03-10T07:15:00Z");
        assert_eq!(t.offset.seconds(), -4 * 3600);
        assert_eq!(obs[0].mapping_key, "I:AR");
    }

    #[test]
    fn gmt_fields_alone_are_utc_even_without_the_leading_zero() {
        let d = doc(
            r#"{"status":{"type":"D","code":"FS","description":"DELIVERED"},"date":"20210210","time":"024700","gmtDate":"20210210","gmtTime":"74700"}"#,
        );
        let obs = parse(d.as_bytes()).unwrap();
        let t = obs[0].occurred_at.unwrap();
        assert_eq!(t.instant.to_string(), "2021-02-10T07:47:00Z");
        assert_eq!(obs[0].mapping_key, "D");
        assert_eq!(obs[0].raw_code, "FS");
    }

    #[test]
    fn a_local_time_with_no_offset_at_all_is_refused() {
        let d = doc(r#"{"status":{"type":"P","code":"PU"},"date":"20240410","time":"120000"}"#);
        let err = parse(d.as_bytes()).unwrap_err();
        assert_eq!(
            err.path,
            "trackResponse.shipment[0].package[0].activity[0].gmtOffset"
        );
    }

    #[test]
    fn a_bad_date_names_its_path() {
        let d = doc(
            r#"{"status":{"type":"I","code":"DP"},"date":"2024-04-10","time":"120000","gmtOffset":"-05:00"},{"status":{"type":"I"},"date":"20241301","time":"120000","gmtOffset":"-05:00"}"#,
        );
        let err = parse(d.as_bytes()).unwrap_err();
        assert_eq!(
            err.path,
            "trackResponse.shipment[0].package[0].activity[0].date"
        );
    }

    #[test]
    fn the_fast_time_path_agrees_with_the_general_one() {
        let general =
            |d: &str, t: &str| hhmmss(t).and_then(|t| timefmt::civil(d, "%Y%m%d", &t, "%H%M%S"));
        for (d, t) in [
            ("20240410", "120000"),
            ("20240229", "235959"),
            ("20230229", "120000"),
            ("20241301", "120000"),
            ("20240410", "240000"),
            ("20240410", "126000"),
            ("20240410", "120060"),
            ("00000101", "000000"),
            ("2024041", "120000"),
            ("20240410", "12:00:00"),
            ("20240410", "74700"),
            ("2024-410", "120000"),
            ("20240410", "1200+0"),
        ] {
            assert_eq!(compact_civil(d, t), general(d, t), "{d} {t}");
        }
    }

    #[test]
    fn empty_history_and_garbage() {
        assert!(parse(doc("").as_bytes()).unwrap().is_empty());
        assert!(
            parse(br#"{"trackResponse":{"shipment":[]}}"#)
                .unwrap()
                .is_empty()
        );
        let err =
            parse(br#"{"response":{"errors":[{"code":"151044","message":"No tracking information available"}]}}"#)
                .unwrap_err();
        assert!(err.message.contains("151044"), "{err}");
        assert!(parse(b"\xff{").is_err());
        assert!(parse(b"[]").is_err());
        let weird =
            doc(r#"{"status":{"type":"I"},"date":"20240410","time":"12é000","gmtOffset":"-0é"}"#);
        assert!(parse(weird.as_bytes()).is_err());
    }
}
