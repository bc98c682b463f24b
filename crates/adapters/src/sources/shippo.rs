//! Shippo: the Track object, as `GET /tracks/{carrier}/{tracking_number}` returns it and as the
//! `track_updated` webhook carries it in `data` (`{"event": "track_updated", "test": ..., "data":
//! Track}`); told apart by the `data` key.
//!
//! Every `tracking_history[]` entry is one report; `tracking_status` repeats the newest of them
//! and is only emitted when the history does not already hold it: the same `object_id`, or (as
//! Shippo also sends it) another `object_id` with the same status, text and time to the second.
//! The mapping key is `STATUS:substatus.code` (`TRANSIT:package_departed`), or `STATUS` alone
//! when Shippo gives no substatus; the coarse status is often not the event (an "out for
//! delivery" text under `TRANSIT`), so the table's text patterns read `status_details`.
//! Shippo documents `status_date` in UTC: a time written without an offset (test mode) is UTC.
//!
//! One unreadable entry (no status, no time) is reported with its path and the others kept.

use super::agg_lax::{Lax, List, Obj};
use crate::geo;
use crate::jsonstr::from_json;
use crate::timefmt;
use crate::{Observation, ParseError, Parsed};
use jiff::civil::DateTime;
use serde::Deserialize;
use serde_json::{Map, Value};
use waypost_domain::EventTime;

/// A webhook or a bare Track: one struct for both, the Track's fields at the top level or in
/// `data`.
#[derive(Deserialize, Default)]
struct Track<'a> {
    #[serde(borrow, default)]
    event: Lax<'a>,
    #[serde(borrow, default)]
    data: Obj<Box<Track<'a>>>,
    #[serde(borrow, default)]
    carrier: Lax<'a>,
    #[serde(borrow, default)]
    tracking_number: Lax<'a>,
    #[serde(borrow, default)]
    eta: Lax<'a>,
    #[serde(borrow, default)]
    metadata: Lax<'a>,
    #[serde(borrow, default)]
    servicelevel: Obj<ServiceLevel<'a>>,
    #[serde(borrow, default)]
    address_from: Obj<Place<'a>>,
    #[serde(borrow, default)]
    address_to: Obj<Place<'a>>,
    #[serde(borrow, default)]
    tracking_status: Obj<Status<'a>>,
    #[serde(borrow, default)]
    tracking_history: Option<List<Status<'a>>>,
}

#[derive(Deserialize, Default)]
struct ServiceLevel<'a> {
    #[serde(borrow, default)]
    name: Lax<'a>,
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

#[derive(Deserialize, Default)]
struct Status<'a> {
    #[serde(borrow, default)]
    object_id: Lax<'a>,
    #[serde(borrow, default)]
    status: Lax<'a>,
    #[serde(borrow, default)]
    status_details: Lax<'a>,
    #[serde(borrow, default)]
    status_date: Lax<'a>,
    #[serde(borrow, default)]
    substatus: Obj<Substatus<'a>>,
    #[serde(borrow, default)]
    location: Obj<Place<'a>>,
}

#[derive(Deserialize, Default)]
struct Substatus<'a> {
    #[serde(borrow, default)]
    code: Lax<'a>,
    #[serde(default)]
    action_required: Option<Flag>,
}

/// `action_required` as a bool, or anything else read as unknown.
struct Flag(Option<bool>);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Lax::deserialize(d)?;
        Ok(Flag(match v.get() {
            Some("true") => Some(true),
            Some("false") => Some(false),
            _ => None,
        }))
    }
}

fn place(p: &Obj<Place<'_>>) -> Option<waypost_domain::Location> {
    let p = p.0.as_ref()?;
    geo::location(p.city.get(), p.state.get(), p.zip.get(), p.country.get())
}

/// Shippo's `metadata` is the merchant's free text (up to 100 characters); shops put their
/// order number there, often as `Order #1234`. Only that short form is taken as an order.
fn order_from_metadata(m: &str) -> Option<String> {
    let m = m.trim();
    let rest = ["Order #", "Order ", "order #", "order ", "#"]
        .iter()
        .find_map(|p| m.strip_prefix(p))
        .unwrap_or(m)
        .trim();
    let ok = !rest.is_empty()
        && rest.len() <= 64
        && !rest.contains(char::is_whitespace)
        && !rest.chars().any(char::is_control);
    ok.then(|| rest.to_owned())
}

pub fn parse(doc: &[u8]) -> Result<Parsed, ParseError> {
    let mut d: Track = from_json(doc)
        .map_err(|e| ParseError::json(&e, "a Shippo Track or track_updated webhook"))?;
    if let Some(ev) = d.event.get()
        && ev != "track_updated"
    {
        return Err(ParseError::new(
            "event",
            format!("{ev:?} is not a tracking event (expected \"track_updated\")"),
        ));
    }
    let (track, base) = match d.data.0.take() {
        Some(t) => (*t, "data."),
        None if d.event.get().is_some() => {
            return Err(ParseError::new("data", "missing the Track object"));
        }
        None => (d, ""),
    };
    if track.tracking_history.is_none()
        && track.tracking_status.0.is_none()
        && track.tracking_number.get().is_none()
    {
        return Err(ParseError::new(
            base.trim_end_matches('.'),
            "neither a Shippo Track nor a track_updated webhook",
        ));
    }
    let tracking = track.tracking_number.get();
    let order_ref = track.metadata.get().and_then(order_from_metadata);
    let carrier = track.carrier.get().map(str::to_ascii_lowercase);
    let service = track
        .servicelevel
        .0
        .as_ref()
        .and_then(|s| s.name.get())
        .map(str::to_owned);
    let promised_at = track.eta.get().and_then(timefmt::with_offset);
    let origin = place(&track.address_from);
    let destination = place(&track.address_to);
    let history = track
        .tracking_history
        .as_ref()
        .map_or(&[][..], |h| &h.0[..]);

    let same_event = |a: &Status<'_>, b: &Status<'_>| {
        if a.object_id.get().is_some() && a.object_id.get() == b.object_id.get() {
            return true;
        }
        let (da, db) = (a.status_date.get(), b.status_date.get());
        a.status.get() == b.status.get()
            && a.status_details.get() == b.status_details.get()
            && da.is_some()
            && da.map(to_the_second) == db.map(to_the_second)
    };
    let mut reports: Vec<(String, &Status)> = history
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("{base}tracking_history[{i}]"), s))
        .collect();
    if let Some(s) = &track.tracking_status.0
        && s.status.get().is_some()
        && !history.iter().any(|h| same_event(h, s))
    {
        reports.push((format!("{base}tracking_status"), s));
    }

    let mut r = Parsed {
        observations: Vec::with_capacity(reports.len()),
        unreadable: Vec::new(),
    };
    for (path, s) in reports {
        let Some(status) = s.status.get() else {
            r.unreadable
                .push(ParseError::new(format!("{path}.status"), "missing status"));
            continue;
        };
        let sub = s.substatus.0.as_ref();
        let key = match sub.and_then(|x| x.code.get()) {
            Some(code) => format!("{status}:{code}"),
            None => status.to_owned(),
        };
        let Some(when) = s.status_date.get() else {
            r.unreadable.push(ParseError::new(
                format!("{path}.status_date"),
                "missing status_date",
            ));
            continue;
        };
        let Some(occurred_at) = status_date(when) else {
            r.unreadable.push(ParseError::new(
                format!("{path}.status_date"),
                format!("{when:?} is not an ISO 8601 time"),
            ));
            continue;
        };
        let mut attributes = Map::new();
        if let Some(Flag(Some(true))) = sub.and_then(|x| x.action_required.as_ref()) {
            attributes.insert("action_required".into(), Value::Bool(true));
        }
        r.observations.push(Observation {
            raw_code: key.clone(),
            mapping_key: key,
            raw_description: s.status_details.get().map(str::to_owned),
            occurred_at: Some(occurred_at),
            tracking_number: tracking.map(str::to_owned),
            order_ref: order_ref.clone(),
            vendor_event_id: s.object_id.get().map(str::to_owned),
            carrier: carrier.clone(),
            service: service.clone(),
            location: place(&s.location),
            origin: origin.clone(),
            destination: destination.clone(),
            promised_at,
            attributes,
            ..Observation::default()
        });
    }
    Ok(r)
}

/// `2024-05-02T16:12:00.586Z` -> `2024-05-02T16:12:00`: enough to know two writings of one scan.
fn to_the_second(d: &str) -> &str {
    d.get(..19).unwrap_or(d)
}

/// `2024-05-02T16:12:00Z` as written; `2018-07-29T16:44:42.586` (test mode, no offset) in UTC,
/// the zone Shippo documents for `status_date`.
fn status_date(s: &str) -> Option<EventTime> {
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

    const DOC: &str = r#"{"event":"track_updated","test":false,"data":{
      "carrier":"usps","tracking_number":"9205590164917312751089","metadata":"Order #4417",
      "tracking_status":{"object_id":"b","status":"DELIVERED","status_details":"Delivered","status_date":"2024-05-02T16:12:00Z","substatus":{"code":"delivered","text":"Package has been delivered.","action_required":false},"location":{"city":"Reno","state":"NV","zip":"89501","country":"US"}},
      "tracking_history":[
        {"object_id":"a","status":"PRE_TRANSIT","status_details":"Label","status_date":"2024-04-30T19:00:00Z","substatus":null,"location":null},
        {"object_id":"b","status":"DELIVERED","status_details":"Delivered","status_date":"2024-05-02T16:12:00Z","substatus":{"code":"delivered","text":"Package has been delivered.","action_required":false},"location":{"city":"Reno","state":"NV","zip":"89501","country":"US"}}
      ]}}"#;

    #[test]
    fn history_keys_ids_and_order() {
        let obs = parse_ok(DOC.as_bytes());
        assert_eq!(obs.len(), 2, "tracking_status repeats history entry b");
        assert_eq!(obs[0].mapping_key, "PRE_TRANSIT");
        assert_eq!(obs[1].mapping_key, "DELIVERED:delivered");
        assert_eq!(obs[1].vendor_event_id.as_deref(), Some("b"));
        assert_eq!(obs[0].order_ref.as_deref(), Some("4417"));
        assert_eq!(
            obs[1].occurred_at.unwrap().instant.to_string(),
            "2024-05-02T16:12:00Z"
        );
    }

    #[test]
    fn get_response_and_a_repeat_under_another_id() {
        let doc = DOC.replace("\"object_id\":\"b\",\"status\":\"DELIVERED\",\"status_details\":\"Delivered\",\"status_date\":\"2024-05-02T16:12:00Z\",\"substatus\":{\"code\":\"delivered\",\"text\":\"Package has been delivered.\",\"action_required\":false},\"location\":{\"city\":\"Reno\",\"state\":\"NV\",\"zip\":\"89501\",\"country\":\"US\"}},\n      \"tracking_history\"", "\"object_id\":\"z\",\"status\":\"DELIVERED\",\"status_details\":\"Delivered\",\"status_date\":\"2024-05-02T16:12:00.004\",\"location\":null},\n      \"tracking_history\"");
        let bare = &doc[doc.find("\"data\":").unwrap() + 7..doc.len() - 1];
        let obs = parse_ok(bare.as_bytes());
        assert_eq!(obs.len(), 2, "{bare}");
    }

    #[test]
    fn status_only_and_free_text_metadata() {
        let doc = DOC
            .replace("\"tracking_history\":[", "\"tracking_history\":[],\"x\":[")
            .replace("Order #4417", "gift for mum, handle with care");
        let obs = parse_ok(doc.as_bytes());
        assert_eq!(obs.len(), 1);
        assert_eq!(obs[0].order_ref, None);
    }

    #[test]
    fn errors_name_the_path() {
        let doc = DOC.replace("2024-04-30T19:00:00Z", "yesterday");
        let r = parse(doc.as_bytes()).unwrap();
        assert_eq!(r.unreadable[0].path, "data.tracking_history[0].status_date");
        assert_eq!(r.observations.len(), 1);
        let err = parse(br#"{"event":"transaction_created","data":{}}"#).unwrap_err();
        assert_eq!(err.path, "event");
        assert!(parse(b"{\"event\":").is_err());
        assert!(parse(br#"{"hello":1}"#).is_err());
    }
}
