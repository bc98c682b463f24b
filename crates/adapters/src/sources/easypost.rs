//! EasyPost: every form its trackers reach a user in, told apart by their keys:
//! - the Tracker object of `GET /v2/trackers/{id}` and `POST /v2/trackers` (`object: "Tracker"`);
//! - the list of `GET /v2/trackers` (`{"trackers": [...], "has_more": ...}`);
//! - the webhook Event (`object: "Event"`, `tracker.updated` / `tracker.created`, the Tracker in
//!   `result`); an Event without a `result` (as `GET /v2/events/{id}` returns it) carries nothing.
//!
//! Every `tracking_details[]` entry is one report. The mapping key is `status:status_detail`
//! because EasyPost's `status` is coarse and `status_detail` refines it; a detail of `unknown`,
//! empty or null gives `status` alone. The pair comes from the carrier's scan code, so the same
//! pair can carry several situations (FedEx's "customer not available" arrives as
//! `failure:delayed`): the table's text patterns read the `message`. EasyPost documents
//! `datetime` in UTC; a time written without an offset is therefore UTC too.
//!
//! One unreadable detail (no status, no time) is reported with its path and the others kept.

use super::agg_lax::{Lax, List, Obj};
use crate::geo;
use crate::jsonstr::from_json;
use crate::timefmt;
use crate::{Observation, ParseError, Parsed};
use jiff::civil::DateTime;
use serde::Deserialize;
use serde_json::{Map, Value};
use waypost_domain::EventTime;

/// An Event, a Tracker or a list of Trackers: one struct for all, since a bare Tracker has at the
/// top level the fields an Event has under `result` (flattening would cost a buffered copy).
#[derive(Deserialize, Default)]
struct Tracker<'a> {
    #[serde(borrow, default)]
    object: Lax<'a>,
    #[serde(borrow, default)]
    description: Lax<'a>,
    #[serde(borrow, default)]
    result: Obj<Box<Tracker<'a>>>,
    #[serde(borrow, default)]
    trackers: Option<List<Tracker<'a>>>,
    #[serde(borrow, default)]
    tracking_code: Lax<'a>,
    #[serde(borrow, default)]
    carrier: Lax<'a>,
    #[serde(borrow, default)]
    signed_by: Lax<'a>,
    #[serde(borrow, default)]
    est_delivery_date: Lax<'a>,
    #[serde(borrow, default)]
    shipment_id: Lax<'a>,
    #[serde(borrow, default)]
    carrier_detail: Obj<CarrierDetail<'a>>,
    #[serde(borrow, default)]
    tracking_details: Option<List<Detail<'a>>>,
}

#[derive(Deserialize, Default)]
struct CarrierDetail<'a> {
    #[serde(borrow, default)]
    service: Lax<'a>,
}

#[derive(Deserialize, Default)]
struct Detail<'a> {
    #[serde(borrow, default)]
    status: Lax<'a>,
    #[serde(borrow, default)]
    status_detail: Lax<'a>,
    #[serde(borrow, default)]
    message: Lax<'a>,
    #[serde(borrow, default)]
    description: Lax<'a>,
    #[serde(borrow, default)]
    datetime: Lax<'a>,
    #[serde(borrow, default)]
    carrier_code: Lax<'a>,
    #[serde(borrow, default)]
    tracking_location: Obj<Place<'a>>,
}

#[derive(Deserialize, Default)]
struct Place<'a> {
    #[serde(borrow, default)]
    city: Lax<'a>,
    #[serde(borrow, default)]
    state: Lax<'a>,
    #[serde(borrow, default)]
    zip: Lax<'a>,
    #[serde(borrow, default)]
    country: Lax<'a>,
}

pub fn parse(doc: &[u8]) -> Result<Parsed, ParseError> {
    let mut d: Tracker = from_json(doc)
        .map_err(|e| ParseError::json(&e, "an EasyPost Event, Tracker or tracker list"))?;
    let mut r = Parsed {
        observations: Vec::new(),
        unreadable: Vec::new(),
    };
    if d.object.get() == Some("Event")
        && let Some(what) = d.description.get()
        && !what.starts_with("tracker.")
    {
        return Err(ParseError::new(
            "description",
            format!(
                "{what:?} is not a tracker event (expected tracker.created or tracker.updated)"
            ),
        ));
    }
    if let Some(t) = d.result.0.take() {
        tracker(&t, "result.", &mut r);
    } else if d.object.get() == Some("Event") {
        // An Event without its Tracker (GET /v2/events/{id}) has nothing to read.
    } else if let Some(list) = d.trackers.take() {
        for (i, t) in list.0.iter().enumerate() {
            tracker(t, &format!("trackers[{i}]."), &mut r);
        }
    } else if d.tracking_details.is_some() || d.tracking_code.get().is_some() {
        tracker(&d, "", &mut r);
    } else {
        return Err(ParseError::new(
            "(document)",
            "neither an EasyPost Event, a Tracker nor a list of trackers",
        ));
    }
    Ok(r)
}

fn tracker(t: &Tracker<'_>, base: &str, r: &mut Parsed) {
    let tracking = t.tracking_code.get();
    let promised_at = t.est_delivery_date.get().and_then(timefmt::with_offset);
    let carrier = t.carrier.get().map(str::to_ascii_lowercase);
    let service = t
        .carrier_detail
        .0
        .as_ref()
        .and_then(|c| c.service.get())
        .map(str::to_owned);
    let details = t.tracking_details.as_ref().map_or(&[][..], |l| &l.0[..]);
    r.observations.reserve(details.len());
    for (i, det) in details.iter().enumerate() {
        let path = |f: &str| format!("{base}tracking_details[{i}].{f}");
        let Some(status) = det.status.get() else {
            r.unreadable
                .push(ParseError::new(path("status"), "missing status"));
            continue;
        };
        let key = match det.status_detail.get() {
            Some(sd) if sd != "unknown" => format!("{status}:{sd}"),
            _ => status.to_owned(),
        };
        let Some(when) = det.datetime.get() else {
            r.unreadable
                .push(ParseError::new(path("datetime"), "missing datetime"));
            continue;
        };
        let Some(occurred_at) = datetime(when) else {
            r.unreadable.push(ParseError::new(
                path("datetime"),
                format!("{when:?} is not an ISO 8601 time"),
            ));
            continue;
        };
        let location =
            det.tracking_location.0.as_ref().and_then(|l| {
                geo::location(l.city.get(), l.state.get(), l.zip.get(), l.country.get())
            });
        let mut attributes = Map::new();
        // The signature belongs to the delivery, not to every scan before it.
        if status == "delivered"
            && let Some(s) = t.signed_by.get()
        {
            attributes.insert("signed_by".into(), Value::String(s.to_owned()));
        }
        if let Some(s) = t.shipment_id.get() {
            attributes.insert("shipment_id".into(), Value::String(s.to_owned()));
        }
        if let Some(c) = det.carrier_code.get() {
            attributes.insert("carrier_code".into(), Value::String(c.to_owned()));
        }
        let raw_description = det
            .message
            .get()
            .or_else(|| det.description.get())
            .map(str::to_owned);
        r.observations.push(Observation {
            raw_code: key.clone(),
            mapping_key: key,
            raw_description,
            occurred_at: Some(occurred_at),
            tracking_number: tracking.map(str::to_owned),
            carrier: carrier.clone(),
            service: service.clone(),
            location,
            promised_at,
            attributes,
            ..Observation::default()
        });
    }
}

/// `2024-03-11T18:05:00Z` as written; `2024-03-11T18:05:00` (no offset) in UTC, the zone EasyPost
/// documents for every `datetime`.
fn datetime(s: &str) -> Option<EventTime> {
    timefmt::with_offset(s).or_else(|| {
        let s = s.trim();
        let civil = if s.len() == 10 {
            s.parse::<jiff::civil::Date>()
                .ok()?
                .to_datetime(jiff::civil::Time::midnight())
        } else {
            s.replacen(' ', "T", 1).parse::<DateTime>().ok()?
        };
        timefmt::utc(civil)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(d: &[u8]) -> Vec<Observation> {
        parse(d).unwrap().observations
    }

    const EVENT: &str = r#"{"object":"Event","description":"tracker.updated","result":{
        "object":"Tracker","tracking_code":"EZ1000000001","carrier":"USPS","signed_by":"J DOE",
        "tracking_details":[
          {"status":"pre_transit","status_detail":"unknown","message":"Label","datetime":"2024-03-09T15:00:00Z","tracking_location":{"city":null,"state":null,"zip":null,"country":null}},
          {"status":"delivered","status_detail":"arrived_at_destination","message":"Delivered","datetime":"2024-03-11T18:05:00Z","tracking_location":{"city":"NEW YORK","state":"NY","zip":"10001","country":"US"}}
        ]}}"#;

    #[test]
    fn keys_times_and_signature() {
        let obs = parse_ok(EVENT.as_bytes());
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
    fn bare_tracker_list_and_empty_event() {
        let obs = parse_ok(br#"{"object":"Tracker","tracking_code":"X1","tracking_details":[]}"#);
        assert!(obs.is_empty());
        let list = format!(
            r#"{{"trackers":[{},{}],"has_more":true}}"#,
            &EVENT[EVENT.find("\"result\":").unwrap() + 9..EVENT.len() - 1],
            r#"{"tracking_code":"B","tracking_details":{"status":"in_transit","datetime":"2024-03-10T01:02:03"}}"#
        );
        let obs = parse_ok(list.as_bytes());
        assert_eq!(obs.len(), 3);
        assert_eq!(obs[2].tracking_number.as_deref(), Some("B"));
        assert_eq!(
            obs[2].occurred_at.unwrap().instant.to_string(),
            "2024-03-10T01:02:03Z"
        );
        let obs = parse_ok(br#"{"object":"Event","description":"tracker.created"}"#);
        assert!(obs.is_empty());
    }

    #[test]
    fn a_bad_time_is_reported_and_the_rest_kept() {
        let doc = EVENT.replace("2024-03-11T18:05:00Z", "2024-03-11 late");
        let r = parse(doc.as_bytes()).unwrap();
        assert_eq!(r.observations.len(), 1);
        assert_eq!(r.unreadable[0].path, "result.tracking_details[1].datetime");
        assert!(parse(b"[1,2").is_err());
        assert!(parse(br#"{"hello":"world"}"#).is_err());
        let batch =
            br#"{"object":"Event","description":"batch.updated","result":{"object":"Batch"}}"#;
        assert_eq!(parse(batch).unwrap_err().path, "description");
    }
}
