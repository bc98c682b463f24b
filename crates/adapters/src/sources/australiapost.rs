//! Australia Post Shipping and Tracking API, "Track items" (`GET /shipping/v1/track`):
//! `tracking_results[]`, one per tracking id asked for, each with `trackable_items[]` (the
//! articles) and their `events[]` (`date` with its offset, `description`, `location`). A
//! tracking id Australia Post does not know comes back with `errors` and no items: it is
//! skipped, as it has no history yet.
//!
//! Mapping key: the event's `code` when the feed carries one (contract feeds do), otherwise its
//! `description` with runs of spaces made one: the public API's events have no code, and its
//! descriptions are a fixed vocabulary.

use crate::geo;
use crate::jsonstr::{from_json, text};
use crate::timefmt;
use crate::{Observation, ParseError};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::borrow::Cow;

#[derive(Deserialize, Default)]
#[serde(default)]
struct Response<'a> {
    #[serde(borrow)]
    tracking_results: Option<Vec<TrackingResult<'a>>>,
    #[serde(borrow)]
    errors: Vec<ApiError<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TrackingResult<'a> {
    #[serde(borrow)]
    tracking_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    errors: Vec<ApiError<'a>>,
    #[serde(borrow)]
    trackable_items: Vec<Item<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Item<'a> {
    #[serde(borrow)]
    article_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    product_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    events: Vec<Event<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Event<'a> {
    #[serde(borrow)]
    code: Option<Cow<'a, str>>,
    #[serde(borrow)]
    description: Option<Cow<'a, str>>,
    #[serde(borrow)]
    location: Option<Cow<'a, str>>,
    #[serde(borrow)]
    date: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ApiError<'a> {
    #[serde(borrow)]
    code: Option<Cow<'a, str>>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    message: Option<Cow<'a, str>>,
}

const STATES: [&str; 8] = ["NSW", "VIC", "QLD", "SA", "WA", "TAS", "NT", "ACT"];

pub fn parse(doc: &[u8]) -> Result<Vec<Observation>, ParseError> {
    let resp: Response = from_json(doc).map_err(|e| {
        ParseError::new(
            format!("line {} column {}", e.line(), e.column()),
            format!("not an Australia Post tracking response: {e}"),
        )
    })?;
    let Some(results) = resp.tracking_results else {
        let e = resp.errors.first();
        let code = e.and_then(|e| text(&e.code)).unwrap_or("?");
        let name = e
            .and_then(|e| text(&e.message).or(text(&e.name)))
            .unwrap_or("");
        return Err(ParseError::new(
            if e.is_some() {
                "errors[0]"
            } else {
                "tracking_results"
            },
            format!("no tracking_results; Australia Post says {code}: {name}"),
        ));
    };
    let mut out = Vec::new();
    for (r, result) in results.iter().enumerate() {
        let consignment = text(&result.tracking_id);
        if result.trackable_items.is_empty() && !result.errors.is_empty() {
            continue;
        }
        for (i, item) in result.trackable_items.iter().enumerate() {
            let path = format!("tracking_results[{r}].trackable_items[{i}]");
            let tracking = text(&item.article_id).or(consignment).ok_or_else(|| {
                ParseError::new(
                    format!("{path}.article_id"),
                    "no article_id and no tracking_id",
                )
            })?;
            for (k, e) in item.events.iter().enumerate() {
                let p = format!("{path}.events[{k}]");
                out.push(observation(e, &p, tracking, consignment, item)?);
            }
        }
    }
    Ok(out)
}

fn observation(
    e: &Event,
    path: &str,
    tracking: &str,
    consignment: Option<&str>,
    item: &Item,
) -> Result<Observation, ParseError> {
    let description = text(&e.description);
    let key = match (text(&e.code), description) {
        (Some(code), _) => code.to_owned(),
        (None, Some(d)) => d.split_whitespace().collect::<Vec<_>>().join(" "),
        (None, None) => {
            return Err(ParseError::new(
                format!("{path}.description"),
                "the event has neither a code nor a description",
            ));
        }
    };
    let date =
        text(&e.date).ok_or_else(|| ParseError::new(format!("{path}.date"), "missing or empty"))?;
    let occurred_at = timefmt::with_offset(date).ok_or_else(|| {
        ParseError::new(
            format!("{path}.date"),
            format!("{date:?} is not a date-time with an offset"),
        )
    })?;
    let mut attributes = Map::new();
    if let Some(c) = consignment.filter(|c| *c != tracking) {
        attributes.insert("consignment_id".into(), Value::String(c.to_owned()));
    }
    Ok(Observation {
        raw_code: key.clone(),
        mapping_key: key,
        raw_description: description.map(str::to_owned),
        occurred_at: Some(occurred_at),
        local_time: None,
        tracking_number: Some(tracking.to_owned()),
        carrier: Some("australiapost".into()),
        service: text(&item.product_type).map(str::to_owned),
        location: text(&e.location).and_then(location),
        attributes,
        ..Observation::default()
    })
}

/// `SYDNEY NSW`, `CHULLORA NSW 2190`, `Sydney NSW`, or abroad a country (`JAPAN`) or a city.
fn location(s: &str) -> Option<waypost_domain::Location> {
    let mut words: Vec<&str> = s.split_whitespace().collect();
    let postcode = match words.last() {
        Some(w) if w.len() == 4 && w.chars().all(|c| c.is_ascii_digit()) => words.pop(),
        _ => None,
    };
    if let Some(state) = words
        .last()
        .copied()
        .filter(|w| STATES.contains(&w.to_ascii_uppercase().as_str()))
    {
        words.pop();
        let city = words.join(" ");
        return geo::location(Some(&city), Some(state), postcode, Some("AU"));
    }
    if postcode.is_none() && geo::country_code(s).is_some() {
        return geo::location(None, None, None, Some(s));
    }
    geo::location(Some(s), None, postcode, None)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::parse;

    #[test]
    fn daylight_time_offsets_and_state_locations() {
        let doc = br#"{"tracking_results":[{"tracking_id":"33ABC0001","status":"Delivered","trackable_items":[
          {"article_id":"33ABC000101000935001","product_type":"eParcel","status":"Delivered","events":[
            {"location":"CHULLORA NSW 2190","description":"Delivered","date":"2024-01-10T14:43:09+11:00"},
            {"location":"PERTH WA","description":"Processed  through Australia Post facility","date":"2024-01-08T09:00:00+08:00"}]}]}]}"#;
        let obs = parse(doc).unwrap();
        assert_eq!(
            obs[0].occurred_at.unwrap().instant.to_string(),
            "2024-01-10T03:43:09Z"
        );
        assert_eq!(
            obs[1].occurred_at.unwrap().instant.to_string(),
            "2024-01-08T01:00:00Z"
        );
        assert_eq!(
            obs[1].mapping_key,
            "Processed through Australia Post facility"
        );
        let l = obs[0].location.as_ref().unwrap();
        assert_eq!(
            (
                l.city.as_deref(),
                l.region.as_deref(),
                l.postal_code.as_deref()
            ),
            (Some("Chullora"), Some("NSW"), Some("2190"))
        );
        assert_eq!(obs[0].attributes["consignment_id"], "33ABC0001");
    }

    #[test]
    fn malformed_events_name_their_path() {
        let doc = br#"{"tracking_results":[{"tracking_id":"X","trackable_items":[{"article_id":"A1","events":[
            {"description":"Delivered","date":"2024-01-10T14:43:09+11:00"},
            {"description":"Delivered","date":"10/01/2024 2:43pm"}]}]}]}"#;
        let err = parse(doc).unwrap_err();
        assert_eq!(
            err.path,
            "tracking_results[0].trackable_items[0].events[1].date"
        );
        let err = parse(br#"{"errors":[{"code":"51101","name":"TOO_MANY_AP_ARTICLE_IDS"}]}"#)
            .unwrap_err();
        assert!(err.message.contains("51101"), "{err}");
        assert!(parse(b"{\"tracking_results\": 3}").is_err());
    }

    #[test]
    fn unknown_ids_and_empty_histories_give_nothing() {
        let doc = br#"{"tracking_results":[
          {"tracking_id":"NOPE","errors":[{"code":"ESB-10001","name":"Invalid tracking ID"}]},
          {"tracking_id":"33ABC0002","trackable_items":[{"article_id":"33ABC000201000935002","events":[]}]}]}"#;
        assert!(parse(doc).unwrap().is_empty());
    }
}
