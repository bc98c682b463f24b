//! DPD's ParcelLifeCycleService 2.0, `getTrackingData`: the tracking answer of DPD's shipper web
//! services (DPD NL/BE/DE/CH document the same service), as SOAP XML:
//! `Envelope/Body/getTrackingDataResponse/trackingresult{shipmentInfo, statusInfo*, contactInfo*}`,
//! or as the REST JSON twin `{"getTrackingDataResponse":{"trackingResult":{...}}}`.
//!
//! Each `statusInfo` is one step DPD shows: `status` (a word: `PickedUp`, `Depot`, `Courier`,
//! `Delivered`... in DPD NL's answers, `ACCEPTED`, `ON_THE_ROAD`, `DELIVERED`... in others),
//! `label`/`description` texts in the requested language, `location` (`Leeds (GB)`), `date`
//! (the depot's wall-clock time without an offset, written in the locale of the request:
//! `7/30/2021 9:54:00 AM` for en_US, `30.07.2021 09:54` for de_DE), and
//! `statusHasBeenReached`. Every reached step with a date is a report, in document order; a
//! step not reached yet is DPD's forecast and is not read. The status word is the mapping key
//! (upper-cased); the texts (label, then description lines, joined by `; `) are the description
//! the table's patterns refine it with (DPD's `DeliveryFailure` says why only in its text).
//!
//! Text fields are `{content, bold, paragraph}` blocks; a description holds a list of them (or,
//! in some answers, plain strings). Booleans come as `true`/`"true"`.

use super::place;
use crate::jsonstr::{from_json, text};
use crate::timefmt;
use crate::{LocalTime, Observation, ParseError, Parsed, geo};
use jiff::civil::DateTime;
use serde::Deserialize;
use serde::de::{self, Deserializer};
use serde_json::{Map, Value};
use waypost_domain::EventTime;

/// Whether a JSON document is the REST form (its top-level key is `getTrackingDataResponse`).
/// Only the opening bytes are looked at: the key comes first in every answer.
pub(super) fn is_json(doc: &[u8]) -> bool {
    let head = &doc[..doc.len().min(256)];
    let needle = b"getTrackingDataResponse";
    head.windows(needle.len()).any(|w| w == needle)
}

// ---------------------------------------------------------------------------------------------
// The two wire forms, read into the same types.

// SOAP XML: repeated elements collect into `Vec`s, every leaf is text.
#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Body")]
    body: Body,
}

#[derive(Deserialize)]
struct Body {
    #[serde(rename = "getTrackingDataResponse", default)]
    response: Option<XResponse>,
    #[serde(rename = "Fault", default)]
    fault: Option<Fault>,
}

#[derive(Deserialize, Default)]
struct Fault {
    #[serde(default)]
    faultstring: Option<String>,
}

#[derive(Deserialize)]
struct XResponse {
    #[serde(alias = "trackingResult", default)]
    trackingresult: Option<XTrackingResult>,
}

#[derive(Deserialize)]
struct XTrackingResult {
    #[serde(rename = "shipmentInfo", default)]
    shipment_info: Option<XShipmentInfo>,
    #[serde(rename = "statusInfo", default)]
    status_info: Vec<XStatusInfo>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct XShipmentInfo {
    #[serde(rename = "parcelLabelNumber")]
    parcel_label_number: Option<String>,
    #[serde(rename = "serviceDescription")]
    service_description: Option<XDescription>,
    description: Option<XDescription>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct XStatusInfo {
    status: Option<String>,
    label: Option<XText>,
    description: Option<XDescription>,
    #[serde(rename = "statusHasBeenReached")]
    reached: Option<String>,
    location: Option<XText>,
    date: Option<XText>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct XDescription {
    content: Vec<XText>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct XText {
    content: Option<String>,
}

impl From<XResponse> for Response {
    fn from(r: XResponse) -> Self {
        let text = |t: Option<XText>| TextBlock(t.and_then(|t| t.content));
        let desc = |d: Option<XDescription>| {
            d.map(|d| Description {
                content: d
                    .content
                    .into_iter()
                    .map(|c| TextBlock(c.content))
                    .collect(),
            })
        };
        Response {
            trackingresult: r.trackingresult.map(|t| TrackingResult {
                shipment_info: t.shipment_info.map(|s| ShipmentInfo {
                    parcel_label_number: s.parcel_label_number,
                    service_description: s.service_description.map(|d| ServiceDescription {
                        content: d
                            .content
                            .into_iter()
                            .map(|c| TextBlock(c.content))
                            .collect(),
                    }),
                    description: desc(s.description),
                }),
                status_info: t
                    .status_info
                    .into_iter()
                    .map(|e| StatusInfo {
                        status: e.status,
                        label: Some(text(e.label)),
                        description: desc(e.description),
                        reached: e.reached.map(|b| matches!(b.trim(), "true" | "1")),
                        location: Some(text(e.location)),
                        date: Some(text(e.date)),
                    })
                    .collect(),
            }),
        }
    }
}

// JSON: the same answer with typed leaves, lists that may be single objects.
#[derive(Deserialize)]
struct JsonDoc {
    #[serde(rename = "getTrackingDataResponse")]
    response: Option<Response>,
}

#[derive(Deserialize)]
struct Response {
    #[serde(alias = "trackingResult", default)]
    trackingresult: Option<TrackingResult>,
}

#[derive(Deserialize)]
struct TrackingResult {
    #[serde(rename = "shipmentInfo", default)]
    shipment_info: Option<ShipmentInfo>,
    #[serde(rename = "statusInfo", default, deserialize_with = "one_or_many")]
    status_info: Vec<StatusInfo>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ShipmentInfo {
    #[serde(rename = "parcelLabelNumber")]
    parcel_label_number: Option<String>,
    #[serde(rename = "serviceDescription")]
    service_description: Option<ServiceDescription>,
    description: Option<Description>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ServiceDescription {
    #[serde(deserialize_with = "one_or_many")]
    content: Vec<TextBlock>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StatusInfo {
    status: Option<String>,
    label: Option<TextBlock>,
    description: Option<Description>,
    #[serde(rename = "statusHasBeenReached", deserialize_with = "lax_bool")]
    reached: Option<bool>,
    location: Option<TextBlock>,
    date: Option<TextBlock>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Description {
    #[serde(deserialize_with = "one_or_many")]
    content: Vec<TextBlock>,
}

/// `{content, bold, paragraph}`, or a bare string where an answer simplifies it.
#[derive(Default)]
struct TextBlock(Option<String>);

impl<'de> Deserialize<'de> for TextBlock {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Block {
                #[serde(default)]
                content: Option<String>,
            },
            Other(de::IgnoredAny),
        }
        Ok(TextBlock(match Raw::deserialize(d)? {
            Raw::Text(s) => Some(s),
            Raw::Block { content } => content,
            Raw::Other(_) => None,
        }))
    }
}

/// `true`, `"true"`, `"1"`; anything else is false, a missing value is `None`.
fn lax_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        B(bool),
        S(String),
        Other(de::IgnoredAny),
    }
    Ok(match Option::<Raw>::deserialize(d)? {
        Some(Raw::B(b)) => Some(b),
        Some(Raw::S(s)) => Some(matches!(s.trim(), "true" | "TRUE" | "True" | "1")),
        Some(Raw::Other(_)) | None => None,
    })
}

/// A list that may come as `null`, one element or an array (XML repeats elements; converters
/// turn a single one into an object).
fn one_or_many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw<T> {
        Many(Vec<T>),
        One(T),
    }
    Ok(match Option::<Raw<T>>::deserialize(d)? {
        Some(Raw::Many(v)) => v,
        Some(Raw::One(t)) => vec![t],
        None => Vec::new(),
    })
}

// ---------------------------------------------------------------------------------------------

pub(super) fn parse_xml(doc: &[u8]) -> Result<Parsed, ParseError> {
    let text = std::str::from_utf8(doc)
        .map_err(|e| ParseError::new("Envelope", format!("not UTF-8 text: {e}")))?;
    let env: Envelope = quick_xml::de::from_str(text).map_err(|e| {
        ParseError::new(
            "Envelope",
            format!("not a DPD getTrackingData SOAP answer: {e}"),
        )
    })?;
    let base = "Envelope.Body.getTrackingDataResponse.trackingresult";
    let Some(response) = env.body.response else {
        let why = env
            .body
            .fault
            .and_then(|f| f.faultstring)
            .unwrap_or_else(|| "no getTrackingDataResponse in the body".to_owned());
        return Err(ParseError::new("Envelope.Body", why));
    };
    read(response.into(), base)
}

pub(super) fn parse_json(doc: &[u8]) -> Result<Parsed, ParseError> {
    let d: JsonDoc =
        from_json(doc).map_err(|e| ParseError::json(&e, "a DPD getTrackingData answer"))?;
    let response = d
        .response
        .ok_or_else(|| ParseError::new("getTrackingDataResponse", "missing or null"))?;
    read(response, "getTrackingDataResponse.trackingResult")
}

fn read(response: Response, base: &str) -> Result<Parsed, ParseError> {
    let result = response.trackingresult.ok_or_else(|| {
        ParseError::new(base, "no tracking result (DPD does not know this parcel)")
    })?;
    let info = result.shipment_info.unwrap_or_default();
    let tracking = parcel_number(&info);
    let service = info
        .service_description
        .as_ref()
        .and_then(|s| s.content.iter().find_map(|c| text(&c.0)))
        .map(str::to_owned);
    let mut parsed = Parsed::default();
    for (i, entry) in result.status_info.iter().enumerate() {
        let path = |f: &str| format!("{base}.statusInfo[{i}].{f}");
        let date = entry.date.as_ref().and_then(|d| text(&d.0));
        // A step not reached (or reached without a date: a summary step) is not a report.
        if entry.reached == Some(false) || date.is_none() {
            continue;
        }
        match observation(entry, date.unwrap_or_default(), &path) {
            Ok(mut o) => {
                o.tracking_number = tracking.clone();
                o.service = service.clone();
                parsed.observations.push(o);
            }
            Err(e) => parsed.unreadable.push(e),
        }
    }
    Ok(parsed)
}

/// The parcel number: `shipmentInfo.parcelLabelNumber` when sent, else the 14-digit number
/// DPD shows in the shipment step's description.
fn parcel_number(info: &ShipmentInfo) -> Option<String> {
    text(&info.parcel_label_number)
        .map(str::to_owned)
        .or_else(|| {
            info.description.as_ref().and_then(|d| {
                d.content.iter().find_map(|c| {
                    text(&c.0)
                        .filter(|t| t.len() == 14 && t.bytes().all(|b| b.is_ascii_digit()))
                        .map(str::to_owned)
                })
            })
        })
}

fn observation(
    entry: &StatusInfo,
    date: &str,
    path: &dyn Fn(&str) -> String,
) -> Result<Observation, ParseError> {
    let status =
        text(&entry.status).ok_or_else(|| ParseError::new(path("status"), "missing or empty"))?;
    let location_text = entry.location.as_ref().and_then(|l| text(&l.0));
    let (city, country) = place(location_text, None);
    let location = geo::location(city, None, None, country);
    let (occurred_at, local_time) = when(date).map_err(|m| ParseError::new(path("date"), m))?;
    let mut texts: Vec<&str> = Vec::new();
    if let Some(l) = entry.label.as_ref().and_then(|l| text(&l.0)) {
        texts.push(l);
    }
    if let Some(d) = &entry.description {
        texts.extend(d.content.iter().filter_map(|c| text(&c.0)));
    }
    let description = (!texts.is_empty()).then(|| texts.join("; "));
    Ok(Observation {
        mapping_key: status.to_ascii_uppercase(),
        raw_code: status.to_owned(),
        raw_description: description,
        occurred_at,
        local_time,
        carrier: Some("dpd".to_owned()),
        location,
        attributes: Map::<String, Value>::new(),
        ..Observation::default()
    })
}

/// The step's time: its `date` as written (an offset, if one is ever written, is kept), a
/// wall-clock time that normalization places in the zone of the step's country.
fn when(date: &str) -> Result<(Option<EventTime>, Option<LocalTime>), String> {
    if let Some(t) = timefmt::with_offset(date) {
        return Ok((Some(t), None));
    }
    let civil = civil(date).ok_or_else(|| format!("{date:?} is not a date and time DPD writes"))?;
    Ok((None, Some(LocalTime::new(civil))))
}

/// The date spellings of the service's locales: `7/30/2021 9:54:00 AM` (en_US),
/// `30.07.2021 09:54` and `30.07.2021, 09:54` (de), `30-07-2021 09:54` (nl),
/// `2021-07-30, 09:54`, ISO 8601.
pub(super) fn civil(s: &str) -> Option<DateTime> {
    const FORMATS: [&str; 10] = [
        "%m/%d/%Y %I:%M:%S %p",
        "%m/%d/%Y %I:%M %p",
        "%d.%m.%Y %H:%M:%S",
        "%d.%m.%Y %H:%M",
        "%d.%m.%Y, %H:%M",
        "%d-%m-%Y %H:%M:%S",
        "%d-%m-%Y %H:%M",
        "%Y-%m-%d, %H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
    ];
    let s = s.trim();
    if s.len() > 40 {
        return None;
    }
    FORMATS.iter().find_map(|f| DateTime::strptime(f, s).ok())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn dates_in_the_locales_spellings() {
        for (s, want) in [
            ("7/30/2021 9:54:00 AM", "2021-07-30T09:54:00"),
            ("4/7/2025 4:42:10 PM", "2025-04-07T16:42:10"),
            ("12/1/2025 12:05:00 AM", "2025-12-01T00:05:00"),
            ("30.07.2021 09:54", "2021-07-30T09:54:00"),
            ("30.07.2021, 09:54", "2021-07-30T09:54:00"),
            ("2019-12-10, 08:27", "2019-12-10T08:27:00"),
        ] {
            assert_eq!(civil(s).unwrap().to_string(), want, "{s}");
        }
        assert!(civil("yesterday").is_none());
    }

    #[test]
    fn soap_and_json_read_alike() {
        let xml = r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>
          <getTrackingDataResponse xmlns="http://dpd.com/common/service/types/ParcelLifeCycleService/2.0"><trackingresult>
          <shipmentInfo><status>SHIPMENT</status></shipmentInfo>
          <statusInfo><status>Courier</status><label><content>Parcel out for delivery</content><bold>true</bold></label>
            <description><content><content>On the vehicle.</content></content></description>
            <statusHasBeenReached>true</statusHasBeenReached><location><content>Leeds (GB)</content></location>
            <date><content>7/30/2021 6:50:11 AM</content></date></statusInfo>
          <statusInfo><status>Delivered</status><label><content>Parcel delivered</content></label><description/>
            <statusHasBeenReached>false</statusHasBeenReached></statusInfo>
          </trackingresult></getTrackingDataResponse></soap:Body></soap:Envelope>"#;
        let o = parse_xml(xml.as_bytes()).unwrap().observations;
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].mapping_key, "COURIER");
        assert_eq!(o[0].raw_code, "Courier");
        assert_eq!(
            o[0].raw_description.as_deref(),
            Some("Parcel out for delivery; On the vehicle.")
        );
        assert_eq!(
            o[0].local_time.as_ref().unwrap().civil.to_string(),
            "2021-07-30T06:50:11"
        );
        assert_eq!(
            o[0].location.as_ref().unwrap().country.as_deref(),
            Some("GB")
        );
        let json = r#"{"getTrackingDataResponse":{"trackingResult":{"shipmentInfo":{"receiver":null},
          "statusInfo":{"status":"Courier","label":{"content":"Parcel out for delivery","bold":true},
          "description":{"content":["On the vehicle."]},"statusHasBeenReached":"true",
          "location":{"content":"Leeds (GB)"},"date":{"content":"7/30/2021 6:50:11 AM"}}}}}"#;
        assert!(is_json(json.as_bytes()));
        let j = parse_json(json.as_bytes()).unwrap().observations;
        assert_eq!(j, o);
    }

    #[test]
    fn one_bad_step_does_not_sink_the_others() {
        let json = r#"{"getTrackingDataResponse":{"trackingResult":{"statusInfo":[
          {"status":"Depot","statusHasBeenReached":true,"location":{"content":"Leeds (GB)"},"date":{"content":"soon"}},
          {"status":"Courier","statusHasBeenReached":true,"location":{"content":"Leeds (GB)"},"date":{"content":"7/30/2021 6:50:11 AM"}}]}}}"#;
        let p = parse_json(json.as_bytes()).unwrap();
        assert_eq!(p.observations.len(), 1);
        assert_eq!(
            p.unreadable[0].path,
            "getTrackingDataResponse.trackingResult.statusInfo[0].date"
        );
        assert!(parse_json(br#"{"getTrackingDataResponse":null}"#).is_err());
        assert!(parse_xml(b"<soap:Envelope><soap:Body><soap:Fault><faultstring>LOGIN_5</faultstring></soap:Fault></soap:Body></soap:Envelope>").is_err());
        assert!(parse_xml(b"<<<").is_err());
    }
}
