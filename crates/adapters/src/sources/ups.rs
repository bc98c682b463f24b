//! UPS Track API (`GET /api/track/v1/details/{inquiryNumber}`), JSON.
//!
//! `trackResponse.shipment[].package[].activity[]`, newest first as UPS sends them; one
//! observation per activity, in document order. Also read: the same body relayed by proxies as
//! `{"success":true,"payload":{"shipment":[...]}}`, and the 200 answer for an unknown number (a
//! shipment with `warnings` `TW0001` and no `package`), which has no events. UPS's error body
//! (`response.errors`) is refused with its code.
//!
//! Mapping key: the activity's `status.type` (`D`, `P`, `M`, `X`, ...), except `I`, which UPS
//! uses for every scan between pickup and delivery including the out-for-delivery load scan:
//! an `I` activity is qualified by its activity code (`I:OT`, `I:AR`), and looked up as bare
//! `I` only when it has no code. `X` stays unqualified: UPS reports attempted deliveries,
//! delays, address problems, customs, access point holds and returns all as type `X`, with
//! codes it publishes no list of; the table's patterns read the text (`raw_description`).
//!
//! Time: `date` (YYYYMMDD) and `time` (HHMMSS) are the scan's local wall clock, and UPS gives
//! that clock's offset in `gmtOffset`; together they are the exact instant. When the offset is
//! missing or empty, `gmtDate` + `gmtTime` (GMT; seen as `09:41:00`, `094100` and the
//! documented `74700`) give the instant instead. Neither: the local clock is kept as a
//! [`LocalTime`] and normalization places it in the zone of the activity's place (or reports it
//! unreadable when the place settles no zone). An activity with no status type or no readable
//! date is reported in `unreadable` with its path; the others are kept.
//!
//! Types: every field takes what real responses send, not only what the schema says (a number
//! where a string is documented, a single object where a list is, `""` or `{}` for an absent
//! block).

mod fast;

use crate::geo::LocationCache;
use crate::jsonstr::from_json;
use crate::lax;
use crate::timefmt;
use crate::{LocalTime, Observation, ParseError, Parsed};
use serde::Deserialize;
use serde_json::{Map, Value};
use waypost_domain::{EventTime, Location};

/// Borrowed from the document unless it had escapes: no allocation per field. Takes a number
/// or a boolean where UPS documents a string; anything else reads as absent.
type Text<'a> = lax::Text<'a>;

/// A present, non-blank text, trimmed.
fn text<'t>(t: &'t Text<'_>) -> Option<&'t str> {
    t.get()
}

/// An object field where UPS documents one; anything else (a string, a list, `null`) reads as
/// absent rather than refusing the document.
fn object<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct V<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for V<T> {
        type Value = Option<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, m: A) -> Result<Option<T>, A::Error> {
            T::deserialize(serde::de::value::MapAccessDeserializer::new(m)).map(Some)
        }
        fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<Option<T>, A::Error> {
            while s.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }
    d.deserialize_any(V(std::marker::PhantomData))
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct Doc<'a> {
    #[serde(borrow, default, rename = "trackResponse", deserialize_with = "object")]
    track_response: Option<TrackResponse<'a>>,
    #[serde(borrow, default, deserialize_with = "object")]
    response: Option<ErrorResponse<'a>>,
    /// `trackResponse` as some tracking proxies relay it: `{"success":true,"payload":{...}}`.
    #[serde(borrow, default, deserialize_with = "object")]
    payload: Option<TrackResponse<'a>>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct ErrorResponse<'a> {
    #[serde(borrow, default, deserialize_with = "lax::list")]
    errors: Vec<ApiError<'a>>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct ApiError<'a> {
    #[serde(borrow, default)]
    code: Text<'a>,
    #[serde(borrow, default)]
    message: Text<'a>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct TrackResponse<'a> {
    #[serde(borrow, default, deserialize_with = "lax::list")]
    shipment: Vec<Shipment<'a>>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct Shipment<'a> {
    #[serde(borrow, default, rename = "inquiryNumber")]
    inquiry_number: Text<'a>,
    #[serde(borrow, default, deserialize_with = "lax::list")]
    package: Vec<Package<'a>>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct Package<'a> {
    #[serde(borrow, default, rename = "trackingNumber")]
    tracking_number: Text<'a>,
    #[serde(borrow, default, deserialize_with = "lax::list")]
    activity: Vec<Activity<'a>>,
    #[serde(
        borrow,
        default,
        rename = "deliveryDate",
        deserialize_with = "lax::list"
    )]
    delivery_date: Vec<DeliveryDate<'a>>,
    #[serde(
        borrow,
        default,
        rename = "referenceNumber",
        deserialize_with = "lax::list"
    )]
    reference_number: Vec<ReferenceNumber<'a>>,
    #[serde(borrow, default, deserialize_with = "object")]
    service: Option<Service<'a>>,
    #[serde(
        borrow,
        default,
        rename = "packageAddress",
        deserialize_with = "lax::list"
    )]
    package_address: Vec<PackageAddress<'a>>,
    #[serde(
        borrow,
        default,
        rename = "deliveryInformation",
        deserialize_with = "object"
    )]
    delivery_information: Option<DeliveryInformation<'a>>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct Activity<'a> {
    #[serde(borrow, default)]
    date: Text<'a>,
    #[serde(borrow, default)]
    time: Text<'a>,
    #[serde(borrow, default, rename = "gmtDate")]
    gmt_date: Text<'a>,
    #[serde(borrow, default, rename = "gmtTime")]
    gmt_time: Text<'a>,
    #[serde(borrow, default, rename = "gmtOffset")]
    gmt_offset: Text<'a>,
    #[serde(borrow, default, deserialize_with = "object")]
    location: Option<ActivityLocation<'a>>,
    #[serde(borrow, default, deserialize_with = "object")]
    status: Option<Status<'a>>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct ActivityLocation<'a> {
    #[serde(borrow, default, deserialize_with = "object")]
    address: Option<Address<'a>>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct Address<'a> {
    #[serde(borrow, default)]
    city: Text<'a>,
    #[serde(borrow, default, rename = "stateProvince")]
    state_province: Text<'a>,
    #[serde(borrow, default, rename = "postalCode")]
    postal_code: Text<'a>,
    #[serde(borrow, default, rename = "countryCode")]
    country_code: Text<'a>,
    #[serde(borrow, default)]
    country: Text<'a>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct Status<'a> {
    #[serde(borrow, default, rename = "type")]
    kind: Text<'a>,
    #[serde(borrow, default)]
    code: Text<'a>,
    #[serde(borrow, default)]
    description: Text<'a>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct DeliveryDate<'a> {
    #[serde(borrow, default, rename = "type")]
    kind: Text<'a>,
    #[serde(borrow, default)]
    date: Text<'a>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct ReferenceNumber<'a> {
    #[serde(borrow, default)]
    number: Text<'a>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct Service<'a> {
    #[serde(borrow, default)]
    description: Text<'a>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct PackageAddress<'a> {
    #[serde(borrow, default, rename = "type")]
    kind: Text<'a>,
    #[serde(borrow, default, deserialize_with = "object")]
    address: Option<Address<'a>>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct DeliveryInformation<'a> {
    #[serde(borrow, default, rename = "receivedBy")]
    received_by: Text<'a>,
    #[serde(borrow, default)]
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

/// When an activity happened, as far as UPS says.
#[derive(Debug, PartialEq)]
enum When {
    /// The local clock with its `gmtOffset`, or `gmtDate` + `gmtTime`: the exact instant.
    Exact(EventTime),
    /// The local clock alone (no usable offset, no GMT fields): the zone is the place's.
    Local(jiff::civil::DateTime),
    /// Only the local date.
    Day(jiff::civil::Date),
}

/// `-05:00` as the Track API sends it; `-05.00` as UPS's Track Alert spells it.
fn gmt_offset(s: &str) -> Option<String> {
    s.is_ascii().then(|| s.replace('.', ":"))
}

/// The activity's time. In order: local date/time with a `gmtOffset` (the local clock is what
/// people see, and the offset makes it exact); `gmtDate` + `gmtTime`; the local clock alone,
/// whose zone normalization infers from the place; the local date alone.
fn activity_time(a: &Activity<'_>, path: &At) -> Result<When, ParseError> {
    let (date, time) = (text(&a.date), text(&a.time));
    let offset = text(&a.gmt_offset).and_then(gmt_offset);
    if let (Some(date), Some(time), Some(offset)) = (date, time, &offset)
        && let Some(civil) = compact_civil(date, time)
        && let Some(t) = timefmt::local_with_offset(civil, offset)
    {
        return Ok(When::Exact(t));
    }
    if let (Some(gdate), Some(gtime)) = (text(&a.gmt_date), text(&a.gmt_time)) {
        // GMT dates are sent as `20210210` and, by some clients' relays, `2021-02-10`.
        let gdate: String = gdate.chars().filter(|c| *c != '-').collect();
        if let Some(t) = compact_civil(&gdate, gtime).and_then(timefmt::utc) {
            return Ok(When::Exact(t));
        }
    }
    match (date, time) {
        (Some(date), Some(time)) => compact_civil(date, time).map(When::Local).ok_or_else(|| {
            ParseError::new(
                format!("{path}.date"),
                format!("date {date:?} time {time:?} is not YYYYMMDD HHMMSS"),
            )
        }),
        (Some(date), None) => jiff::civil::Date::strptime("%Y%m%d", date)
            .map(When::Day)
            .map_err(|_| {
                ParseError::new(format!("{path}.date"), format!("{date:?} is not YYYYMMDD"))
            }),
        _ => Err(ParseError::new(
            format!("{path}.date"),
            "no usable time: no local date, and no gmtDate/gmtTime",
        )),
    }
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

/// The events of a document, and the activities that could not be read (each with its path).
struct Read {
    observations: Vec<(Observation, When)>,
    unreadable: Vec<ParseError>,
}

fn read(doc: &[u8]) -> Result<Read, ParseError> {
    let doc: Doc<'_> = match std::str::from_utf8(doc).ok().and_then(fast::doc) {
        Some(d) => d,
        None => from_json(doc).map_err(|e| json_error(&e))?,
    };
    let Some(track) = doc.track_response.or(doc.payload) else {
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
    let mut out = Read {
        observations: Vec::new(),
        unreadable: Vec::new(),
    };
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
            out.observations.reserve(package.activity.len());
            for (ai, activity) in package.activity.iter().enumerate() {
                let path = At {
                    shipment: si,
                    package: pi,
                    activity: ai,
                };
                let Some(status) = activity.status.as_ref() else {
                    out.unreadable.push(ParseError::new(
                        format!("{path}.status"),
                        "activity has no status",
                    ));
                    continue;
                };
                let Some(kind) = text(&status.kind).map(str::to_ascii_uppercase) else {
                    out.unreadable.push(ParseError::new(
                        format!("{path}.status.type"),
                        "status type is missing",
                    ));
                    continue;
                };
                let when = match activity_time(activity, &path) {
                    Ok(w) => w,
                    Err(e) => {
                        out.unreadable.push(e);
                        continue;
                    }
                };
                let code = text(&status.code).map(str::to_ascii_uppercase);
                let mapping_key = match (&code, kind.as_str()) {
                    (Some(c), "I") => [kind.as_str(), ":", c].concat(),
                    _ => kind.clone(),
                };
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
                let (occurred_at, local_time) = match &when {
                    When::Exact(t) => (Some(*t), None),
                    When::Local(civil) => (None, Some(LocalTime::new(*civil))),
                    When::Day(date) => (None, Some(LocalTime::date(*date))),
                };
                let observation = Observation {
                    raw_code,
                    mapping_key,
                    reason_key: None,
                    raw_description: text(&status.description).map(str::to_owned),
                    occurred_at,
                    local_time,
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
                };
                out.observations.push((observation, when));
            }
        }
    }
    Ok(out)
}

/// Every readable activity. An activity that cannot be read is reported with its path and the
/// others are kept; `Err` only when the document is not a Track API response at all.
pub fn parse(doc: &[u8]) -> Result<Parsed, ParseError> {
    let read = read(doc)?;
    Ok(Parsed {
        observations: read.observations.into_iter().map(|(o, _)| o).collect(),
        unreadable: read.unreadable,
    })
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
        let obs = parse(d.as_bytes()).unwrap().observations;
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
        let obs = parse(d.as_bytes()).unwrap().observations;
        let t = obs[0].occurred_at.unwrap();
        assert_eq!(t.instant.to_string(), "2021-02-10T07:47:00Z");
        assert_eq!(obs[0].mapping_key, "D");
        assert_eq!(obs[0].raw_code, "FS");
    }

    #[test]
    fn a_local_time_without_offset_is_kept_as_local() {
        let d = doc(r#"{"status":{"type":"P","code":"PU"},"date":"20240410","time":"120000"}"#);
        let r = read(d.as_bytes()).unwrap();
        assert!(r.unreadable.is_empty());
        let want = jiff::civil::date(2024, 4, 10).at(12, 0, 0, 0);
        assert_eq!(r.observations[0].1, When::Local(want));
        // An empty offset is no offset; GMT fields, when present, give the instant.
        let d = doc(
            r#"{"status":{"type":"I","code":"AR"},"date":"20240410","time":"120000","gmtOffset":"","gmtDate":"20240410","gmtTime":"16:00:00"},{"status":{"type":"I","code":"DP"},"date":"20240410","time":"120000","gmtOffset":"","gmtDate":"","gmtTime":""},{"status":{"type":"M"},"date":"20240409"}"#,
        );
        let r = read(d.as_bytes()).unwrap();
        let times: Vec<_> = r.observations.iter().map(|o| &o.1).collect();
        assert!(
            matches!(times[0], When::Exact(t) if t.instant.to_string() == "2024-04-10T16:00:00Z")
        );
        assert_eq!(times[1], &When::Local(want));
        assert_eq!(times[2], &When::Day(jiff::civil::date(2024, 4, 9)));
    }

    #[test]
    fn one_unreadable_activity_does_not_sink_the_others() {
        let d = doc(
            r#"{"status":{"type":"D","code":"FS"},"date":"20240411","time":"101500","gmtOffset":"-04:00"},{"date":"20240410","time":"120000"},{"status":{"type":"I","code":"AR"},"time":"120000"}"#,
        );
        let r = read(d.as_bytes()).unwrap();
        assert_eq!(r.observations.len(), 1);
        let paths: Vec<_> = r.unreadable.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "trackResponse.shipment[0].package[0].activity[1].status",
                "trackResponse.shipment[0].package[0].activity[2].date"
            ]
        );
    }

    #[test]
    fn proxy_payload_and_not_found_warnings() {
        let d = br#"{"success":true,"payload":{"shipment":[{"inquiryNumber":"1Z1","package":[{"trackingNumber":"1Z1","activity":[{"status":{"type":"D","code":"FS"},"date":"20240411","time":"101500","gmtOffset":"-04.00"}]}]}]}}"#;
        let obs = parse(d).unwrap().observations;
        assert_eq!(
            obs[0].occurred_at.unwrap().instant.to_string(),
            "2024-04-11T14:15:00Z"
        );
        let nf = br#"{"trackResponse":{"shipment":[{"inquiryNumber":"1Z5629230309413682","warnings":[{"code":"TW0001","message":"Tracking Information Not Found"}]}]}}"#;
        assert!(parse(nf).unwrap().observations.is_empty());
    }

    #[test]
    fn a_bad_date_names_its_path() {
        let d = doc(
            r#"{"status":{"type":"I","code":"DP"},"date":"2024-04-10","time":"120000","gmtOffset":"-05:00"},{"status":{"type":"I"},"date":"20241301","time":"120000","gmtOffset":"-05:00"}"#,
        );
        let p = parse(d.as_bytes()).unwrap();
        assert!(p.observations.is_empty());
        let paths: Vec<_> = p.unreadable.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "trackResponse.shipment[0].package[0].activity[0].date",
                "trackResponse.shipment[0].package[0].activity[1].date"
            ]
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
        assert!(parse(doc("").as_bytes()).unwrap().observations.is_empty());
        let empty = parse(br#"{"trackResponse":{"shipment":[]}}"#).unwrap();
        assert!(empty.observations.is_empty() && empty.unreadable.is_empty());
        let err =
            parse(br#"{"response":{"errors":[{"code":"151044","message":"No tracking information available"}]}}"#)
                .unwrap_err();
        assert!(err.message.contains("151044"), "{err}");
        assert!(parse(b"\xff{").is_err());
        assert!(parse(b"[]").is_err());
        let weird =
            doc(r#"{"status":{"type":"I"},"date":"20240410","time":"12é000","gmtOffset":"-0é"}"#);
        assert_eq!(parse(weird.as_bytes()).unwrap().unreadable.len(), 1);
    }

    #[test]
    fn numbers_and_odd_shapes_where_strings_and_objects_are_documented() {
        let d = doc(
            r#"{"status":{"type":"D","code":"FS","description":"DELIVERED","statusCode":11},"location":"","date":20240411,"time":101500,"gmtOffset":"-04:00"},{"status":{"type":"I","code":"AR"},"location":{"address":{"city":"Eagan","stateProvince":"MN","postalCode":55121,"countryCode":"US"},"slic":1729},"date":"20240410","time":"93000","gmtDate":"20240410","gmtTime":"14:30:00"}"#,
        );
        let p = parse(d.as_bytes()).unwrap();
        assert!(p.unreadable.is_empty(), "{:?}", p.unreadable);
        let o = &p.observations;
        assert_eq!(
            o[0].occurred_at.unwrap().instant.to_string(),
            "2024-04-11T14:15:00Z"
        );
        assert!(o[0].location.is_none());
        assert_eq!(
            o[1].location.as_ref().unwrap().postal_code.as_deref(),
            Some("55121")
        );
        // A single package object where a list is documented.
        let one = br#"{"trackResponse":{"shipment":{"package":{"trackingNumber":"1Z1","activity":{"status":{"type":"M","code":"MP"},"date":"20240409","time":"120000","gmtOffset":"-05:00"}}}}}"#;
        assert_eq!(parse(one).unwrap().observations.len(), 1);
    }
}
