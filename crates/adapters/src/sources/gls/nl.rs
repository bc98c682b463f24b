//! GLS Netherlands' parcel details: `{parcelNo, state, ..., scans[{dateTime, state,
//! eventReasonDescr}]}`, oldest first, Dutch texts (`Aangekondigd bij GLS`, `Afgeleverd`).
//! `state` is GLS NL's step number (0 announced, 1 received by GLS, 2 at the depot, 3 out for
//! delivery, 4 delivered); the key is `NL:<state>`. `dateTime` is Dutch local time without an
//! offset: the event's place is the Netherlands.

use super::{collect, when};
use crate::jsonstr::from_json;
use crate::lax::{self, Text};
use crate::{Observation, ParseError, Parsed, geo};
use serde::Deserialize;

#[derive(Deserialize)]
struct Details<'a> {
    #[serde(borrow, default, rename = "parcelNo")]
    parcel_no: Text<'a>,
    #[serde(borrow, default)]
    scans: lax::Each<'a>,
}

#[derive(Deserialize)]
struct Scan<'a> {
    #[serde(borrow, default, rename = "dateTime")]
    date_time: Text<'a>,
    #[serde(borrow, default)]
    state: Text<'a>,
    #[serde(borrow, default, rename = "eventReasonDescr")]
    description: Text<'a>,
}

pub(super) fn parse(doc: &[u8]) -> Result<Parsed, ParseError> {
    let d: Details =
        from_json(doc).map_err(|e| ParseError::json(&e, "a GLS NL parcel details answer"))?;
    let tracking = d.parcel_no.get().map(str::to_owned);
    let mut unreadable = Vec::new();
    let results = lax::read_each::<Scan>(&d.scans, "scans", &mut unreadable)
        .into_iter()
        .map(|(i, s)| {
            let path = |f: &str| format!("scans[{i}].{f}");
            scan(&s, &path).map(|mut o| {
                o.tracking_number = tracking.clone();
                o
            })
        })
        .collect();
    let mut parsed = collect(results);
    parsed.unreadable.extend(unreadable);
    Ok(parsed)
}

fn scan(s: &Scan, path: &dyn Fn(&str) -> String) -> Result<Observation, ParseError> {
    let state = s
        .state
        .get()
        .ok_or_else(|| ParseError::new(path("state"), "missing or empty"))?;
    let at = s
        .date_time
        .get()
        .ok_or_else(|| ParseError::new(path("dateTime"), "missing or empty"))?;
    let (occurred_at, local_time) = when(at).ok_or_else(|| {
        ParseError::new(path("dateTime"), format!("{at:?} is not a date and time"))
    })?;
    Ok(Observation {
        mapping_key: format!("NL:{state}"),
        raw_code: state.to_owned(),
        raw_description: s.description.get().map(str::to_owned),
        occurred_at,
        local_time,
        carrier: Some("gls".to_owned()),
        location: geo::location(None, None, None, Some("NL")),
        ..Observation::default()
    })
}
