//! Shippo: the `track_updated` webhook (`{"event": "track_updated", "data": Track}`).
//!
//! Every `tracking_history[]` entry is one report; `tracking_status` repeats the newest of them
//! and is only emitted when the history does not already hold it (same `object_id`). The mapping
//! key is `STATUS:substatus.code` (`TRANSIT:package_departed`), or `STATUS` alone when Shippo
//! gives no substatus, because one substatus code (`address_issue`) appears under several
//! statuses with different weight. Shippo documents `status_date` as UTC ISO 8601.

use crate::geo;
use crate::jsonstr::{from_json, text};
use crate::timefmt;
use crate::{Observation, ParseError};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::borrow::Cow;

type Text<'a> = Option<Cow<'a, str>>;

#[derive(Deserialize)]
struct Doc<'a> {
    #[serde(borrow, default)]
    event: Text<'a>,
    #[serde(borrow, default)]
    data: Option<Track<'a>>,
}

#[derive(Deserialize)]
struct Track<'a> {
    #[serde(borrow, default)]
    carrier: Text<'a>,
    #[serde(borrow, default)]
    tracking_number: Text<'a>,
    #[serde(borrow, default)]
    eta: Text<'a>,
    #[serde(borrow, default)]
    metadata: Text<'a>,
    #[serde(borrow, default)]
    servicelevel: Option<ServiceLevel<'a>>,
    #[serde(borrow, default)]
    address_from: Option<Place<'a>>,
    #[serde(borrow, default)]
    address_to: Option<Place<'a>>,
    #[serde(borrow, default)]
    tracking_status: Option<Status<'a>>,
    #[serde(borrow, default)]
    tracking_history: Vec<Status<'a>>,
}

#[derive(Deserialize, Default)]
struct ServiceLevel<'a> {
    #[serde(borrow, default)]
    name: Text<'a>,
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

#[derive(Deserialize)]
struct Status<'a> {
    #[serde(borrow, default)]
    object_id: Text<'a>,
    #[serde(borrow, default)]
    status: Text<'a>,
    #[serde(borrow, default)]
    status_details: Text<'a>,
    #[serde(borrow, default)]
    status_date: Text<'a>,
    #[serde(borrow, default)]
    substatus: Option<Substatus<'a>>,
    #[serde(borrow, default)]
    location: Option<Place<'a>>,
}

#[derive(Deserialize)]
struct Substatus<'a> {
    #[serde(borrow, default)]
    code: Text<'a>,
    #[serde(default)]
    action_required: Option<bool>,
}

fn place(p: Option<&Place<'_>>) -> Option<waypost_domain::Location> {
    let p = p?;
    geo::location(
        text(&p.city),
        text(&p.state),
        text(&p.zip),
        text(&p.country),
    )
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

pub fn parse(doc: &[u8]) -> Result<Vec<Observation>, ParseError> {
    let d: Doc =
        from_json(doc).map_err(|e| ParseError::json(&e, "a Shippo track_updated webhook"))?;
    if let Some(ev) = text(&d.event)
        && ev != "track_updated"
    {
        return Err(ParseError::new(
            "event",
            format!("{ev:?} is not a tracking event (expected \"track_updated\")"),
        ));
    }
    let track = d
        .data
        .ok_or_else(|| ParseError::new("data", "missing the Track object"))?;
    let tracking = text(&track.tracking_number)
        .ok_or_else(|| ParseError::new("data.tracking_number", "missing tracking_number"))?;
    let order_ref = text(&track.metadata).and_then(order_from_metadata);
    let carrier = text(&track.carrier).map(str::to_ascii_lowercase);
    let service = track
        .servicelevel
        .as_ref()
        .and_then(|s| text(&s.name))
        .map(str::to_owned);
    let promised_at = text(&track.eta).and_then(timefmt::with_offset);
    let origin = place(track.address_from.as_ref());
    let destination = place(track.address_to.as_ref());

    let in_history = |id: Option<&str>| {
        id.is_some_and(|id| {
            track
                .tracking_history
                .iter()
                .any(|h| text(&h.object_id) == Some(id))
        })
    };
    let mut reports: Vec<(String, &Status)> = track
        .tracking_history
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("data.tracking_history[{i}]"), s))
        .collect();
    if let Some(s) = &track.tracking_status
        && text(&s.status).is_some()
        && !in_history(text(&s.object_id))
    {
        reports.push(("data.tracking_status".to_owned(), s));
    }

    let mut out = Vec::with_capacity(reports.len());
    for (path, s) in reports {
        let status = text(&s.status)
            .ok_or_else(|| ParseError::new(format!("{path}.status"), "missing status"))?;
        let sub = s.substatus.as_ref();
        let key = match sub.and_then(|x| text(&x.code)) {
            Some(code) => format!("{status}:{code}"),
            None => status.to_owned(),
        };
        let when = text(&s.status_date)
            .ok_or_else(|| ParseError::new(format!("{path}.status_date"), "missing status_date"))?;
        let occurred_at = timefmt::with_offset(when).ok_or_else(|| {
            ParseError::new(
                format!("{path}.status_date"),
                format!("{when:?} is not an ISO 8601 time with an offset"),
            )
        })?;
        let mut attributes = Map::new();
        if let Some(true) = sub.and_then(|x| x.action_required) {
            attributes.insert("action_required".into(), Value::Bool(true));
        }
        out.push(Observation {
            raw_code: key.clone(),
            mapping_key: key,
            raw_description: text(&s.status_details).map(str::to_owned),
            occurred_at: Some(occurred_at),
            local_time: None,
            tracking_number: Some(tracking.to_owned()),
            order_ref: order_ref.clone(),
            vendor_event_id: text(&s.object_id).map(str::to_owned),
            carrier: carrier.clone(),
            service: service.clone(),
            location: place(s.location.as_ref()),
            origin: origin.clone(),
            destination: destination.clone(),
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

    const DOC: &str = r#"{"event":"track_updated","test":false,"data":{
      "carrier":"usps","tracking_number":"9205590164917312751089","metadata":"Order #4417",
      "tracking_status":{"object_id":"b","status":"DELIVERED","status_details":"Delivered","status_date":"2024-05-02T16:12:00Z","substatus":{"code":"delivered","text":"Package has been delivered.","action_required":false},"location":{"city":"Reno","state":"NV","zip":"89501","country":"US"}},
      "tracking_history":[
        {"object_id":"a","status":"PRE_TRANSIT","status_details":"Label","status_date":"2024-04-30T19:00:00Z","substatus":null,"location":null},
        {"object_id":"b","status":"DELIVERED","status_details":"Delivered","status_date":"2024-05-02T16:12:00Z","substatus":{"code":"delivered","text":"Package has been delivered.","action_required":false},"location":{"city":"Reno","state":"NV","zip":"89501","country":"US"}}
      ]}}"#;

    #[test]
    fn history_keys_ids_and_order() {
        let obs = parse(DOC.as_bytes()).unwrap();
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
    fn status_only_and_free_text_metadata() {
        let doc = DOC
            .replace("\"tracking_history\":[", "\"tracking_history\":[],\"x\":[")
            .replace("Order #4417", "gift for mum, handle with care");
        let obs = parse(doc.as_bytes()).unwrap();
        assert_eq!(obs.len(), 1);
        assert_eq!(obs[0].order_ref, None);
    }

    #[test]
    fn errors_name_the_path() {
        let doc = DOC.replace("2024-04-30T19:00:00Z", "yesterday");
        let err = parse(doc.as_bytes()).unwrap_err();
        assert_eq!(err.path, "data.tracking_history[0].status_date");
        let err = parse(br#"{"event":"transaction_created","data":{}}"#).unwrap_err();
        assert_eq!(err.path, "event");
        assert!(parse(b"{\"event\":").is_err());
    }
}
