//! The GLS Track & Trace API: `{"parcels":[{timestamp, status, trackid, references[{type, name,
//! value}], events[{timestamp, description, location, country, code}]}]}`. Each event is one
//! report, keyed by its `code` (GLS's event number as a string: `"3.0"` delivered, `"11.0"`
//! expected during the day, `"0.100"` data entered...); one without a code is keyed `TEXT` and
//! mapped by its text.
//! `timestamp` is the local time of the scanning place without an offset
//! (`2021-08-27T12:04:00`); `location` is often `""`, the `country` always given. The parcel
//! number is the `UNITNO` reference, else `trackid`.

use super::{TEXT_KEY, collect, when};
use crate::jsonstr::from_json;
use crate::lax::{self, Text};
use crate::{Observation, ParseError, Parsed, geo};
use serde::Deserialize;

#[derive(Deserialize)]
struct Doc<'a> {
    #[serde(borrow, default, deserialize_with = "lax::list")]
    parcels: Vec<Parcel<'a>>,
}

#[derive(Deserialize)]
struct Parcel<'a> {
    #[serde(borrow, default)]
    trackid: Text<'a>,
    #[serde(borrow, default, deserialize_with = "lax::list")]
    references: Vec<Reference<'a>>,
    #[serde(borrow, default)]
    events: lax::Each<'a>,
}

#[derive(Deserialize)]
struct Reference<'a> {
    #[serde(borrow, default, rename = "type")]
    kind: Text<'a>,
    #[serde(borrow, default)]
    value: Text<'a>,
}

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(borrow, default)]
    timestamp: Text<'a>,
    #[serde(borrow, default)]
    description: Text<'a>,
    #[serde(borrow, default)]
    location: Text<'a>,
    #[serde(borrow, default)]
    country: Text<'a>,
    #[serde(borrow, default)]
    code: Text<'a>,
}

pub(super) fn parse(doc: &[u8]) -> Result<Parsed, ParseError> {
    let d: Doc = from_json(doc).map_err(|e| ParseError::json(&e, "a GLS Track & Trace answer"))?;
    let mut results = Vec::new();
    let mut unreadable = Vec::new();
    for (p, parcel) in d.parcels.iter().enumerate() {
        let tracking = parcel
            .references
            .iter()
            .find(|r| r.kind.get() == Some("UNITNO"))
            .and_then(|r| r.value.get())
            .or_else(|| parcel.trackid.get())
            .map(str::to_owned);
        let base = format!("parcels[{p}].events");
        for (i, e) in lax::read_each::<Event>(&parcel.events, &base, &mut unreadable) {
            let path = |f: &str| format!("{base}[{i}].{f}");
            results.push(event(&e, &path).map(|mut o| {
                o.tracking_number = tracking.clone();
                o
            }));
        }
    }
    let mut parsed = collect(results);
    parsed.unreadable.extend(unreadable);
    Ok(parsed)
}

fn event(e: &Event, path: &dyn Fn(&str) -> String) -> Result<Observation, ParseError> {
    let description = e.description.get();
    let (key, raw) = match (e.code.get(), description) {
        (Some(c), _) => (c, c),
        (None, Some(d)) => (TEXT_KEY, d),
        (None, None) => return Err(ParseError::new(path("code"), "no code and no description")),
    };
    let location = geo::location(e.location.get(), None, None, e.country.get());
    let at = e
        .timestamp
        .get()
        .ok_or_else(|| ParseError::new(path("timestamp"), "missing or empty"))?;
    let (occurred_at, local_time) = when(at).ok_or_else(|| {
        ParseError::new(path("timestamp"), format!("{at:?} is not a date and time"))
    })?;
    Ok(Observation {
        mapping_key: key.to_owned(),
        raw_code: raw.to_owned(),
        raw_description: description.map(str::to_owned),
        occurred_at,
        local_time,
        carrier: Some("gls".to_owned()),
        location,
        ..Observation::default()
    })
}
