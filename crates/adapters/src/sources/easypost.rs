//! EasyPost: the `tracker.updated` / `tracker.created` webhook Event (`object: "Event"`, the
//! Tracker in `result`), or a bare Tracker object as returned by `GET /v2/trackers/{id}`.
//!
//! Every `tracking_details[]` entry is one report. The mapping key is `status:status_detail`
//! because EasyPost's `status` is coarse (`in_transit` covers an acceptance scan and a weather
//! delay alike) and `status_detail` refines it; a detail of `unknown` or none gives `status`
//! alone. EasyPost documents `datetime` as ISO 8601 in UTC (`...Z`), so it is read as written.

use crate::geo;
use crate::jsonstr::{from_json, text};
use crate::timefmt;
use crate::{Observation, ParseError};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::borrow::Cow;

type Text<'a> = Option<Cow<'a, str>>;

/// An Event or a bare Tracker: one struct for both, since a bare Tracker has at the top level the
/// fields an Event has under `result` (and flattening would cost a buffered copy).
#[derive(Deserialize, Default)]
struct Tracker<'a> {
    #[serde(borrow, default)]
    object: Text<'a>,
    #[serde(borrow, default)]
    description: Text<'a>,
    #[serde(borrow, default)]
    result: Option<Box<Tracker<'a>>>,
    #[serde(borrow, default)]
    tracking_code: Text<'a>,
    #[serde(borrow, default)]
    carrier: Text<'a>,
    #[serde(borrow, default)]
    signed_by: Text<'a>,
    #[serde(borrow, default)]
    est_delivery_date: Text<'a>,
    #[serde(borrow, default)]
    shipment_id: Text<'a>,
    #[serde(borrow, default)]
    carrier_detail: Option<CarrierDetail<'a>>,
    #[serde(borrow, default)]
    tracking_details: Option<Vec<Detail<'a>>>,
}

#[derive(Deserialize, Default)]
struct CarrierDetail<'a> {
    #[serde(borrow, default)]
    service: Text<'a>,
}

#[derive(Deserialize)]
struct Detail<'a> {
    #[serde(borrow, default)]
    status: Text<'a>,
    #[serde(borrow, default)]
    status_detail: Text<'a>,
    #[serde(borrow, default)]
    message: Text<'a>,
    #[serde(borrow, default)]
    description: Text<'a>,
    #[serde(borrow, default)]
    datetime: Text<'a>,
    #[serde(borrow, default)]
    tracking_location: Option<Place<'a>>,
}

#[derive(Deserialize, Default)]
struct Place<'a> {
    #[serde(borrow, default)]
    city: Text<'a>,
    #[serde(borrow, default)]
    state: Text<'a>,
    #[serde(borrow, default)]
    zip: Text<'a>,
    #[serde(borrow, default)]
    country: Text<'a>,
}

pub fn parse(doc: &[u8]) -> Result<Vec<Observation>, ParseError> {
    let mut d: Tracker =
        from_json(doc).map_err(|e| ParseError::json(&e, "an EasyPost Event or Tracker"))?;
    let is_event = text(&d.object) == Some("Event");
    let (tracker, base) = match d.result.take() {
        Some(t) if is_event => (*t, "result"),
        None if is_event => {
            let what = text(&d.description).unwrap_or("(no description)");
            return Err(ParseError::new(
                "result",
                format!("Event {what:?} carries no Tracker in result"),
            ));
        }
        _ => (d, ""),
    };
    let at = |field: &str| {
        if base.is_empty() {
            field.to_owned()
        } else {
            format!("{base}.{field}")
        }
    };
    let tracking = text(&tracker.tracking_code)
        .ok_or_else(|| ParseError::new(at("tracking_code"), "missing tracking_code"))?;
    let details = tracker
        .tracking_details
        .as_deref()
        .ok_or_else(|| ParseError::new(at("tracking_details"), "missing tracking_details"))?;
    let promised_at = text(&tracker.est_delivery_date).and_then(timefmt::with_offset);
    let carrier = text(&tracker.carrier).map(str::to_ascii_lowercase);
    let service = tracker
        .carrier_detail
        .as_ref()
        .and_then(|c| text(&c.service))
        .map(str::to_owned);

    let mut out = Vec::with_capacity(details.len());
    for (i, det) in details.iter().enumerate() {
        let path = |f: &str| at(&format!("tracking_details[{i}].{f}"));
        let status =
            text(&det.status).ok_or_else(|| ParseError::new(path("status"), "missing status"))?;
        let key = match text(&det.status_detail) {
            Some(sd) if sd != "unknown" => format!("{status}:{sd}"),
            _ => status.to_owned(),
        };
        let when = text(&det.datetime)
            .ok_or_else(|| ParseError::new(path("datetime"), "missing datetime"))?;
        let occurred_at = timefmt::with_offset(when).ok_or_else(|| {
            ParseError::new(
                path("datetime"),
                format!("{when:?} is not an ISO 8601 time with an offset"),
            )
        })?;
        let location = det.tracking_location.as_ref().and_then(|l| {
            geo::location(
                text(&l.city),
                text(&l.state),
                text(&l.zip),
                text(&l.country),
            )
        });
        let mut attributes = Map::new();
        // The signature belongs to the delivery, not to every scan before it.
        if status == "delivered"
            && let Some(s) = text(&tracker.signed_by)
        {
            attributes.insert("signed_by".into(), Value::String(s.to_owned()));
        }
        if let Some(s) = text(&tracker.shipment_id) {
            attributes.insert("shipment_id".into(), Value::String(s.to_owned()));
        }
        let raw_description = text(&det.message)
            .or_else(|| text(&det.description))
            .map(str::to_owned);
        out.push(Observation {
            raw_code: key.clone(),
            mapping_key: key,
            raw_description,
            occurred_at: Some(occurred_at),
            local_time: None,
            tracking_number: Some(tracking.to_owned()),
            carrier: carrier.clone(),
            service: service.clone(),
            location,
            promised_at,
            attributes,
            ..Observation::default()
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str = r#"{"object":"Event","description":"tracker.updated","result":{
        "object":"Tracker","tracking_code":"EZ1000000001","carrier":"USPS","signed_by":"J DOE",
        "tracking_details":[
          {"status":"pre_transit","status_detail":"unknown","message":"Label","datetime":"2024-03-09T15:00:00Z","tracking_location":{"city":null,"state":null,"zip":null,"country":null}},
          {"status":"delivered","status_detail":"arrived_at_destination","message":"Delivered","datetime":"2024-03-11T18:05:00Z","tracking_location":{"city":"NEW YORK","state":"NY","zip":"10001","country":"US"}}
        ]}}"#;

    #[test]
    fn keys_times_and_signature() {
        let obs = parse(EVENT.as_bytes()).unwrap();
        assert_eq!(obs.len(), 2);
        assert_eq!(obs[0].mapping_key, "pre_transit");
        assert!(obs[0].location.is_none());
        assert_eq!(obs[1].mapping_key, "delivered:arrived_at_destination");
        let t = obs[1].occurred_at.unwrap();
        assert_eq!(t.instant.to_string(), "2024-03-11T18:05:00Z");
        assert_eq!(obs[1].attributes["signed_by"], "J DOE");
        assert!(!obs[0].attributes.contains_key("signed_by"));
        assert_eq!(
            obs[1].location.as_ref().unwrap().city.as_deref(),
            Some("New York")
        );
    }

    #[test]
    fn bare_tracker_and_empty_history() {
        let obs =
            parse(br#"{"object":"Tracker","tracking_code":"X1","tracking_details":[]}"#).unwrap();
        assert!(obs.is_empty());
    }

    #[test]
    fn bad_time_names_its_path() {
        let doc = EVENT.replace("2024-03-11T18:05:00Z", "2024-03-11 late");
        let err = parse(doc.as_bytes()).unwrap_err();
        assert_eq!(err.path, "result.tracking_details[1].datetime");
        let err = parse(br#"{"object":"Event","description":"tracker.updated"}"#).unwrap_err();
        assert_eq!(err.path, "result");
        assert!(parse(b"[1,2").is_err());
    }
}
