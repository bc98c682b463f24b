//! The MyGLS API's `GetParcelStatuses` response (JSON, `POST
//! /ParcelService.svc/json/GetParcelStatuses`), as served by GLS Hungary, Czechia, Croatia,
//! Romania, Slovenia, Slovakia and Serbia. One response is one parcel:
//! `{ParcelNumber, ClientReference, DeliveryCountryCode, DeliveryZipCode, Weight, POD,
//! ParcelStatusList[{DepotCity, DepotNumber, StatusCode, StatusDate, StatusDescription,
//! StatusInfo}], GetParcelStatusErrors[{ErrorCode, ErrorDescription}]}`. A poller that batches
//! several parcels may send a JSON array of such responses; both shapes are read.
//!
//! Every `ParcelStatusList[]` entry is one report, in document order (MyGLS lists the newest
//! first), keyed by its numeric `StatusCode` (Appendix G of "MyGLS API for system integration";
//! leading zeros dropped). `ClientReference` is the merchant's own reference: the order.
//!
//! Times: MyGLS is a WCF service, so `StatusDate` is `/Date(1712131200000+0200)/`: milliseconds
//! since the Unix epoch (an exact instant) plus the offset of the depot's local time, which is
//! kept for display. Without the offset part the instant is still exact and is kept in UTC. An
//! ISO 8601 date with an offset is accepted too; a local time without one is refused, because
//! the document then names no zone.

use crate::geo;
use crate::jsonstr::{from_json, text};
use crate::timefmt;
use crate::{Observation, ParseError, Parsed};
use jiff::Timestamp;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;
use waypost_domain::EventTime;

type Text<'a> = Option<Cow<'a, str>>;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Response<'a> {
    #[serde(default)]
    parcel_number: Option<Number>,
    #[serde(borrow, default)]
    client_reference: Text<'a>,
    #[serde(borrow, default)]
    delivery_country_code: Text<'a>,
    #[serde(borrow, default)]
    delivery_zip_code: Text<'a>,
    #[serde(default)]
    weight: Option<f64>,
    #[serde(borrow, default)]
    parcel_status_list: Option<Vec<Status<'a>>>,
    #[serde(borrow, default)]
    get_parcel_status_errors: Option<Vec<ErrorInfo<'a>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Status<'a> {
    #[serde(borrow, default)]
    depot_city: Text<'a>,
    #[serde(borrow, default)]
    depot_number: Text<'a>,
    #[serde(default)]
    status_code: Option<Number>,
    #[serde(borrow, default)]
    status_date: Text<'a>,
    #[serde(borrow, default)]
    status_description: Text<'a>,
    #[serde(borrow, default)]
    status_info: Text<'a>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorInfo<'a> {
    #[serde(default)]
    error_code: Option<Number>,
    #[serde(borrow, default)]
    error_description: Text<'a>,
}

/// A number GLS may send bare (`ParcelNumber: 500012345678`) or quoted (`StatusCode: "5"`).
struct Number(String);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or a string")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(Number(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
                Ok(Number(v.to_string()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Number, E> {
                Ok(Number(v.trim().to_owned()))
            }
        }
        d.deserialize_any(V)
    }
}

fn number(n: &Option<Number>) -> Option<&str> {
    n.as_ref().map(|n| n.0.as_str()).filter(|s| !s.is_empty())
}

pub(super) fn parse(doc: &[u8]) -> Result<Parsed, ParseError> {
    let json_err =
        |e: serde_json::Error| ParseError::json(&e, "a MyGLS GetParcelStatuses response");
    // A batch is an array of responses; the first significant byte says which it is.
    let batch = doc.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    let responses: Vec<Response> = if batch {
        from_json(doc).map_err(json_err)?
    } else {
        vec![from_json(doc).map_err(json_err)?]
    };
    let mut parsed = Parsed::default();
    let mut refused = None;
    for (r, resp) in responses.iter().enumerate() {
        let prefix = if batch {
            format!("[{r}].")
        } else {
            String::new()
        };
        if let Err(e) = read_response(resp, &prefix, &mut parsed) {
            refused.get_or_insert(e);
        }
    }
    // A lone error answer (or a batch of them) has nothing to keep: refused with its reason.
    match refused {
        Some(e) if parsed.observations.is_empty() && parsed.unreadable.is_empty() => Err(e),
        Some(e) => {
            parsed.unreadable.push(e);
            Ok(parsed)
        }
        None => Ok(parsed),
    }
}

fn read_response(resp: &Response, prefix: &str, parsed: &mut Parsed) -> Result<(), ParseError> {
    let statuses = resp.parcel_status_list.as_deref().unwrap_or_default();
    if statuses.is_empty()
        && let Some(e) = resp
            .get_parcel_status_errors
            .as_deref()
            .and_then(<[_]>::first)
    {
        // An error answer ("parcel not found", "no access") carries no history to keep.
        return Err(ParseError::new(
            format!("{prefix}GetParcelStatusErrors[0]"),
            format!(
                "MyGLS reported error {}: {}",
                number(&e.error_code).unwrap_or("?"),
                text(&e.error_description).unwrap_or("(no description)")
            ),
        ));
    }
    let parcel = number(&resp.parcel_number)
        .ok_or_else(|| ParseError::new(format!("{prefix}ParcelNumber"), "missing ParcelNumber"))?;
    let order_ref = text(&resp.client_reference).map(str::to_owned);
    let destination = geo::location(
        None,
        None,
        text(&resp.delivery_zip_code),
        text(&resp.delivery_country_code),
    );
    parsed.observations.reserve(statuses.len());
    for (i, s) in statuses.iter().enumerate() {
        let path = |f: &str| format!("{prefix}ParcelStatusList[{i}].{f}");
        let Some(raw) = number(&s.status_code) else {
            parsed
                .unreadable
                .push(ParseError::new(path("StatusCode"), "missing StatusCode"));
            continue;
        };
        let Some(when) = text(&s.status_date) else {
            parsed
                .unreadable
                .push(ParseError::new(path("StatusDate"), "missing StatusDate"));
            continue;
        };
        let occurred_at = match status_date(when) {
            Ok(t) => t,
            Err(m) => {
                parsed.unreadable.push(ParseError::new(
                    path("StatusDate"),
                    format!("{when:?}: {m}"),
                ));
                continue;
            }
        };
        let depot = text(&s.depot_number);
        // Depot numbers start with the depot's country (`HU1011`, `SK0904`).
        let country = depot
            .and_then(|d| d.get(..2))
            .filter(|c| c.bytes().all(|b| b.is_ascii_alphabetic()));
        let location = geo::location(text(&s.depot_city), None, None, country);
        let mut attributes = Map::new();
        if let Some(d) = depot {
            attributes.insert("depot_number".into(), Value::String(d.to_owned()));
        }
        if let Some(info) = text(&s.status_info) {
            attributes.insert("status_info".into(), Value::String(info.to_owned()));
        }
        if let Some(w) = resp.weight.and_then(serde_json::Number::from_f64) {
            attributes.insert("weight_kg".into(), Value::Number(w));
        }
        parsed.observations.push(Observation {
            mapping_key: code_key(raw),
            raw_code: raw.to_owned(),
            raw_description: text(&s.status_description).map(str::to_owned),
            occurred_at: Some(occurred_at),
            local_time: None,
            tracking_number: Some(parcel.to_owned()),
            order_ref: order_ref.clone(),
            carrier: Some("gls".to_owned()),
            location,
            destination: destination.clone(),
            attributes,
            ..Observation::default()
        });
    }
    Ok(())
}

/// `"05"` and `"5"` are one code; anything not numeric is looked up as given.
fn code_key(raw: &str) -> String {
    if raw.bytes().all(|b| b.is_ascii_digit()) {
        let trimmed = raw.trim_start_matches('0');
        if trimmed.is_empty() { "0" } else { trimmed }.to_owned()
    } else {
        raw.to_owned()
    }
}

/// `/Date(1712131200000+0200)/` (WCF JSON), `/Date(1712131200000)/`, or ISO 8601 with offset.
fn status_date(s: &str) -> Result<EventTime, String> {
    let Some(body) = s.strip_prefix("/Date(").and_then(|b| b.strip_suffix(")/")) else {
        return timefmt::with_offset(s)
            .ok_or_else(|| "neither /Date(ms±hhmm)/ nor ISO 8601 with an offset".to_owned());
    };
    // The sign of the offset is the first '+' or '-' after the (possibly negative) millis.
    let split = body
        .char_indices()
        .skip(1)
        .find(|(_, c)| *c == '+' || *c == '-')
        .map_or(body.len(), |(i, _)| i);
    let (millis, offset) = body.split_at(split);
    if millis.len() > 16 {
        return Err("milliseconds out of range".into());
    }
    let millis: i64 = millis
        .parse()
        .map_err(|_| format!("{millis:?} is not a count of milliseconds"))?;
    let instant = Timestamp::from_millisecond(millis).map_err(|e| e.to_string())?;
    let offset = if offset.is_empty() {
        jiff::tz::Offset::UTC
    } else {
        timefmt::parse_offset(offset).ok_or_else(|| format!("{offset:?} is not an offset"))?
    };
    Ok(EventTime { instant, offset })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(date: &str) -> String {
        format!(
            r#"{{"ClientReference":"WEB-1","DeliveryCountryCode":"HU","DeliveryZipCode":"1117",
            "GetParcelStatusErrors":[],"POD":null,"ParcelNumber":500012345678,"ParcelStatusList":[
            {{"DepotCity":"Budapest","DepotNumber":"HU1011","StatusCode":"05","StatusDate":"{date}",
            "StatusDescription":"The parcel has been delivered.","StatusInfo":"KOVACS"}}],"Weight":1.2}}"#
        )
    }

    #[test]
    fn wcf_dates_are_exact_and_keep_the_depot_offset() {
        let o = parse(doc(r"\/Date(1712131200000+0200)\/").as_bytes())
            .unwrap()
            .observations;
        let t = o[0].occurred_at.unwrap();
        assert_eq!(t.instant.to_string(), "2024-04-03T08:00:00Z");
        assert_eq!(t.offset.seconds(), 7200);
        assert_eq!(o[0].mapping_key, "5");
        assert_eq!(o[0].raw_code, "05");
        assert_eq!(o[0].tracking_number.as_deref(), Some("500012345678"));
        assert_eq!(o[0].order_ref.as_deref(), Some("WEB-1"));
        let l = o[0].location.as_ref().unwrap();
        assert_eq!(l.country.as_deref(), Some("HU"));
        // No offset part: still the same instant, shown in UTC.
        let o = parse(doc("/Date(1712131200000)/").as_bytes())
            .unwrap()
            .observations;
        assert_eq!(o[0].occurred_at.unwrap().offset.seconds(), 0);
        let o = parse(doc("2024-04-03T10:00:00+02:00").as_bytes())
            .unwrap()
            .observations;
        assert_eq!(
            o[0].occurred_at.unwrap().instant.to_string(),
            "2024-04-03T08:00:00Z"
        );
    }

    #[test]
    fn bad_dates_name_their_path() {
        for bad in [
            "/Date(abc)/",
            "/Date(1712131200000+9900)/",
            "/Date(99999999999999999999)/",
            "2024-04-03T10:00:00",
        ] {
            let p = parse(doc(bad).as_bytes()).unwrap();
            assert!(p.observations.is_empty());
            assert_eq!(
                p.unreadable[0].path, "ParcelStatusList[0].StatusDate",
                "{bad}"
            );
        }
        let p = parse(format!("[{}]", doc("soon")).as_bytes()).unwrap();
        assert_eq!(p.unreadable[0].path, "[0].ParcelStatusList[0].StatusDate");
    }

    #[test]
    fn empty_history_errors_and_garbage() {
        let d = r#"{"ParcelNumber":500012345678,"ParcelStatusList":[],"GetParcelStatusErrors":[]}"#;
        assert!(parse(d.as_bytes()).unwrap().observations.is_empty());
        let d = r#"{"ParcelNumber":0,"ParcelStatusList":[],"GetParcelStatusErrors":
            [{"ErrorCode":18,"ErrorDescription":"Parcel number is not found."}]}"#;
        let err = parse(d.as_bytes()).unwrap_err();
        assert_eq!(err.path, "GetParcelStatusErrors[0]");
        assert!(err.message.contains("not found"), "{err}");
        assert!(parse(b"").is_err());
        assert!(parse(b"[1,2]").is_err());
        let d = r#"{"ParcelStatusList":[{"StatusCode":"1","StatusDate":"/Date(0)/"}]}"#;
        assert_eq!(parse(d.as_bytes()).unwrap_err().path, "ParcelNumber");
    }
}
