//! The GLS Track & Trace API: `{"parcels":[{timestamp, status, trackid, references[{type, name,
//! value}], events[{timestamp, description, location, country, code}]}]}`. Each event is one
//! report, keyed by its `code` (GLS's event number as a string: `"3.0"` delivered, `"11.0"`
//! expected during the day, `"0.100"` data entered...). `timestamp` is the local time of the
//! scanning place without an offset (`2021-08-27T12:04:00`); `location` is often `""`, the
//! `country` always given. The parcel number is the `UNITNO` reference, else `trackid`.

use super::LaxText;
use super::{Reports, local_time};
use crate::jsonstr::from_json;
use crate::{Observation, ParseError, geo};
use serde::Deserialize;

#[derive(Deserialize)]
struct Doc {
    #[serde(default)]
    parcels: Option<Vec<Parcel>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Parcel {
    trackid: LaxText,
    references: Option<Vec<Reference>>,
    events: Option<Vec<Event>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Reference {
    #[serde(rename = "type")]
    kind: LaxText,
    value: LaxText,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Event {
    timestamp: LaxText,
    description: LaxText,
    location: LaxText,
    country: LaxText,
    code: LaxText,
}

pub(super) fn parse(doc: &[u8]) -> Result<Vec<Observation>, ParseError> {
    let d: Doc = from_json(doc).map_err(|e| ParseError::json(&e, "a GLS Track & Trace answer"))?;
    let parcels = d.parcels.unwrap_or_default();
    let mut reports = Reports::default();
    for (p, parcel) in parcels.iter().enumerate() {
        let tracking = parcel
            .references
            .iter()
            .flatten()
            .find(|r| r.kind.get() == Some("UNITNO"))
            .and_then(|r| r.value.get())
            .or_else(|| parcel.trackid.get())
            .map(str::to_owned);
        for (i, e) in parcel.events.iter().flatten().enumerate() {
            let path = |f: &str| format!("parcels[{p}].events[{i}].{f}");
            reports.push(event(e, &path).map(|mut o| {
                o.tracking_number = tracking.clone();
                o
            }));
        }
    }
    reports.finish()
}

fn event(e: &Event, path: &dyn Fn(&str) -> String) -> Result<Observation, ParseError> {
    let description = e.description.get();
    let code = e.code.get();
    let (key, raw) = match (code, description) {
        (Some(c), _) => (c.to_owned(), c.to_owned()),
        (None, Some(d)) => (d.to_owned(), d.to_owned()),
        (None, None) => return Err(ParseError::new(path("code"), "no code and no description")),
    };
    let country = e.country.get();
    let location = geo::location(e.location.get(), None, None, country);
    let country = location.as_ref().and_then(|l| l.country.as_deref());
    let at = e
        .timestamp
        .get()
        .ok_or_else(|| ParseError::new(path("timestamp"), "missing or empty"))?;
    let occurred_at = local_time(at, country).map_err(|m| ParseError::new(path("timestamp"), m))?;
    Ok(Observation {
        mapping_key: key,
        raw_code: raw,
        raw_description: description.map(str::to_owned),
        occurred_at: Some(occurred_at),
        carrier: Some("gls".to_owned()),
        location,
        ..Observation::default()
    })
}
