//! Australia Post Shipping and Tracking API, "Track items" (`GET /shipping/v1/track`):
//! `tracking_results[]`, one per tracking id asked for, each with `trackable_items[]` (the
//! articles) and their `events[]` (`date`, `description`, `location`). StarTrack results add a
//! `consignment` block with its own `events` (kept under the consignment id) and may nest the
//! articles one level down (`trackable_items[].items[]`). A tracking id Australia Post does not
//! know comes back with `errors` and no items: it is skipped, as it has no history yet.
//!
//! Mapping key: the event's `code` when the feed carries one (contract feeds do), otherwise its
//! `description` with runs of white space made one space (the source system leaves line breaks
//! and tabs in some texts): the public API's events have no code, and the table maps its texts,
//! with patterns for the ones that name a place ("In transit to next facility in {place}").
//!
//! Time: `date` carries its offset (`2024-05-30T14:43:09+10:00`); relayed feeds drop it
//! (`2022-08-18 11:45:57`): such a time is local to the event's place (its state), and an event
//! without a place is reported unreadable rather than read in a guessed zone.
//!
//! The document is read as a JSON tree so a field of an odd type (a number where text is
//! documented, `null`, one object where a list is) costs that field or that event, never the
//! document: an unreadable event is reported with its path and the others are read.

use crate::geo;
use crate::timefmt;
use crate::{Observation, ParseError, Parsed};
use jiff::civil::DateTime;
use serde_json::{Map, Value};
use std::borrow::Cow;

const STATES: [&str; 8] = ["NSW", "VIC", "QLD", "SA", "WA", "TAS", "NT", "ACT"];

pub fn parse(doc: &[u8]) -> Result<Parsed, ParseError> {
    let root: Value = crate::jsonstr::from_json(doc).map_err(|e| {
        ParseError::new(
            format!("line {} column {}", e.line(), e.column()),
            format!("not an Australia Post tracking response: {e}"),
        )
    })?;
    let Some(results) = root.get("tracking_results").filter(|v| !v.is_null()) else {
        let e = list(root.get("errors")).next();
        let code = e
            .and_then(|e| text(e, "code"))
            .unwrap_or(Cow::Borrowed("?"));
        let name = e
            .and_then(|e| text(e, "message").or_else(|| text(e, "name")))
            .unwrap_or_default();
        return Err(ParseError::new(
            if e.is_some() {
                "errors[0]"
            } else {
                "tracking_results"
            },
            format!("no tracking_results; Australia Post says {code}: {name}"),
        ));
    };
    if !(results.is_array() || results.is_object()) {
        return Err(ParseError::new(
            "tracking_results",
            "neither a list nor an object",
        ));
    }
    let mut out = Parsed::default();
    for (r, result) in list(Some(results)).enumerate() {
        let path = format!("tracking_results[{r}]");
        let consignment = text(result, "tracking_id");
        let consignment = consignment.as_deref();
        if let Some(c) = result.get("consignment") {
            let id = consignment.unwrap_or("");
            events(c, &format!("{path}.consignment"), id, None, None, &mut out);
        }
        for (i, item) in list(result.get("trackable_items")).enumerate() {
            let path = format!("{path}.trackable_items[{i}]");
            article(item, &path, consignment, &mut out);
            let parent = text(item, "consignment_id");
            let parent = parent.as_deref().or(consignment);
            for (k, inner) in list(item.get("items")).enumerate() {
                article(inner, &format!("{path}.items[{k}]"), parent, &mut out);
            }
        }
    }
    Ok(out)
}

fn article(item: &Value, path: &str, consignment: Option<&str>, out: &mut Parsed) {
    let has_events = list(item.get("events")).next().is_some();
    let article_id = text(item, "article_id");
    let Some(tracking) = article_id.as_deref().or(consignment) else {
        if has_events {
            out.unreadable.push(ParseError::new(
                format!("{path}.article_id"),
                "no article_id and no tracking_id",
            ));
        }
        return;
    };
    let service = text(item, "product_type");
    events(item, path, tracking, consignment, service.as_deref(), out);
}

fn events(
    holder: &Value,
    path: &str,
    tracking: &str,
    consignment: Option<&str>,
    service: Option<&str>,
    out: &mut Parsed,
) {
    for (k, e) in list(holder.get("events")).enumerate() {
        let p = format!("{path}.events[{k}]");
        match observation(e, &p, tracking, consignment, service) {
            Ok(o) => out.observations.push(o),
            Err(err) => out.unreadable.push(err),
        }
    }
}

fn observation(
    e: &Value,
    path: &str,
    tracking: &str,
    consignment: Option<&str>,
    service: Option<&str>,
) -> Result<Observation, ParseError> {
    if tracking.is_empty() {
        return Err(ParseError::new(path, "the result has no tracking_id"));
    }
    let description = text(e, "description").map(|d| squeeze(&d));
    let key = match (text(e, "code"), &description) {
        (Some(code), _) => code.into_owned(),
        (None, Some(d)) => d.clone(),
        (None, None) => {
            return Err(ParseError::new(
                format!("{path}.description"),
                "the event has neither a code nor a description",
            ));
        }
    };
    let location = text(e, "location").and_then(|l| location(&l));
    let date = text(e, "date")
        .ok_or_else(|| ParseError::new(format!("{path}.date"), "missing or empty"))?;
    let date = date.as_ref();
    // With its offset as the API sends it; without one (relayed feeds), local to the event's
    // place, which normalization settles from the state (or reports unreadable).
    let (occurred_at, local_time) = timefmt::read(date)
        .or_else(|| civil(date).map(timefmt::Stamp::Local))
        .ok_or_else(|| {
            ParseError::new(
                format!("{path}.date"),
                format!("{date:?} is not a date-time"),
            )
        })?
        .split(None);
    let mut attributes = Map::new();
    if let Some(c) = consignment.filter(|c| *c != tracking) {
        attributes.insert("consignment_id".into(), Value::String(c.to_owned()));
    }
    Ok(Observation {
        raw_code: key.clone(),
        mapping_key: key,
        raw_description: description,
        occurred_at,
        local_time,
        tracking_number: Some(tracking.to_owned()),
        carrier: Some("australiapost".into()),
        service: service.map(str::to_owned),
        location,
        attributes,
        ..Observation::default()
    })
}

/// A list field: a list, one object where a list is documented, or nothing (`null`, missing).
fn list(v: Option<&Value>) -> impl Iterator<Item = &Value> {
    let (many, one) = match v {
        Some(Value::Array(a)) => (a.as_slice(), None),
        Some(Value::Null) | None => (&[][..], None),
        Some(other) => (&[][..], Some(other)),
    };
    many.iter().chain(one)
}

/// A text field: a non-blank string, trimmed; a number (ids sent as numbers) as its text.
fn text<'a>(v: &'a Value, key: &str) -> Option<Cow<'a, str>> {
    match v.get(key)? {
        Value::String(s) => {
            let t = s.trim();
            (!t.is_empty()).then_some(Cow::Borrowed(t))
        }
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        _ => None,
    }
}

fn squeeze(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn civil(s: &str) -> Option<DateTime> {
    [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|f| DateTime::strptime(f, s).ok())
}

/// `SYDNEY NSW`, `CHULLORA NSW 2190`, `Sydney,NSW`, a place abroad with its country code in
/// brackets (`JOHN F. KENNEDY APT/NEW YORK (US)`), a country (`JAPAN`) or a city or depot.
fn location(s: &str) -> Option<waypost_domain::Location> {
    if let Some(head) = s.strip_suffix(')')
        && let Some((place, cc)) = head.rsplit_once('(')
        && cc.len() == 2
        && geo::country_code(cc).is_some()
    {
        let place = place.trim();
        return geo::location((!place.is_empty()).then_some(place), None, None, Some(cc));
    }
    let spaced = s.replace(',', " ");
    let mut words: Vec<&str> = spaced.split_whitespace().collect();
    let postcode = match words.last() {
        Some(w) if w.len() == 4 && w.chars().all(|c| c.is_ascii_digit()) => words.pop(),
        _ => None,
    };
    if let Some(state) = words
        .last()
        .map(|w| w.to_ascii_uppercase())
        .filter(|w| STATES.contains(&w.as_str()))
    {
        words.pop();
        let city = words.join(" ");
        return geo::location(
            (!city.is_empty()).then_some(city.as_str()),
            Some(&state),
            postcode,
            Some("AU"),
        );
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
        let obs = parse(doc).unwrap().observations;
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
        let r = parse(doc).unwrap();
        assert_eq!(r.observations.len(), 1);
        assert_eq!(
            r.unreadable[0].path,
            "tracking_results[0].trackable_items[0].events[1].date"
        );
        let err = parse(br#"{"errors":[{"code":"51101","name":"TOO_MANY_AP_ARTICLE_IDS"}]}"#)
            .unwrap_err();
        assert!(err.message.contains("51101"), "{err}");
        assert!(parse(b"{\"tracking_results\": 3}").is_err());
    }

    #[test]
    fn relayed_times_without_offset_are_local_to_the_state() {
        let doc = br#"{"tracking_results":[{"tracking_id":7001,"trackable_items":{"article_id":"A1","events":[
            {"location":"PARREARRA QLD","description":"Delivered - Left in a safe place","date":"2022-08-18 11:45:57"},
            {"description":"Leave in a safe place requested by Receiver","date":"2022-08-18 09:29:15"},
            {"location":"Sydney,NSW","description":"Shipment information received","date":"2022-08-12 13:24:21"}]}}]}"#;
        let obs = parse(doc).unwrap().observations;
        assert_eq!(obs.len(), 3);
        assert!(obs.iter().all(|o| o.local_time.is_some()));
        assert_eq!(
            obs[2].location.as_ref().unwrap().region.as_deref(),
            Some("NSW")
        );
        assert_eq!(obs[2].attributes["consignment_id"], "7001");
        let table = crate::Source::AustraliaPost.builtin_table().unwrap();
        let n = crate::normalize(crate::Source::AustraliaPost, doc, &table).unwrap();
        assert_eq!(
            n.events[0].event.occurred_at.instant.to_string(),
            "2022-08-18T01:45:57Z"
        );
        // No place, no offset: reported, not read in a guessed zone.
        assert_eq!(n.events.len(), 2);
        assert_eq!(n.unreadable[0].path, "event 1");
    }

    #[test]
    fn startrack_consignment_events_and_nested_items() {
        let doc = br#"{"tracking_results":[{"tracking_id":"ZQH5009317","consignment":{"events":[
            {"location":"MEL","description":"Item Delivered","date":"2024-09-18T14:35:07+10:00"}],"status":"Delivered in Full"},
          "trackable_items":[{"consignment_id":"ZQH5009317","number_of_items":2,"items":[
            {"article_id":"ZQH500931701","product_type":"PREMIUM","events":[{"location":"DANDENONG SOUTH VIC","description":"Delivered","date":"2024-09-18T14:35:07+10:00"}]},
            {"article_id":"ZQH500931702","product_type":"PREMIUM","events":null}]}]}]}"#;
        let obs = parse(doc).unwrap().observations;
        assert_eq!(obs.len(), 2);
        assert_eq!(obs[0].tracking_number.as_deref(), Some("ZQH5009317"));
        assert_eq!(obs[1].tracking_number.as_deref(), Some("ZQH500931701"));
        assert_eq!(obs[1].attributes["consignment_id"], "ZQH5009317");
        assert_eq!(obs[1].service.as_deref(), Some("PREMIUM"));
    }

    #[test]
    fn unknown_ids_and_empty_histories_give_nothing() {
        let doc = br#"{"tracking_results":[
          {"tracking_id":"NOPE","errors":[{"code":"ESB-10001","name":"Invalid tracking ID"}]},
          {"tracking_id":"33ABC0002","trackable_items":[{"article_id":"33ABC000201000935002","events":[]}]}]}"#;
        assert!(parse(doc).unwrap().observations.is_empty());
    }
}
