//! GLS Netherlands' parcel details: `{parcelNo, state, ..., scans[{dateTime, state,
//! eventReasonDescr}]}`, oldest first, Dutch texts (`Aangekondigd bij GLS`, `Afgeleverd`).
//! `state` is GLS NL's step number (0 announced, 1 received by GLS, 2 at the depot, 3 out for
//! delivery, 4 delivered); the key is `NL:<state>`, refined by the text in the table.
//! `dateTime` is Dutch local time without an offset.

use super::{LaxText, Reports, local_time};
use crate::jsonstr::from_json;
use crate::{Observation, ParseError, geo};
use serde::Deserialize;

#[derive(Deserialize)]
struct Details {
    #[serde(rename = "parcelNo", default)]
    parcel_no: LaxText,
    #[serde(default)]
    scans: Option<Vec<Scan>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Scan {
    #[serde(rename = "dateTime")]
    date_time: LaxText,
    state: LaxText,
    #[serde(rename = "eventReasonDescr")]
    description: LaxText,
}

pub(super) fn parse(doc: &[u8]) -> Result<Vec<Observation>, ParseError> {
    let d: Details =
        from_json(doc).map_err(|e| ParseError::json(&e, "a GLS NL parcel details answer"))?;
    let tracking = d.parcel_no.get().map(str::to_owned);
    let mut reports = Reports::default();
    for (i, s) in d.scans.iter().flatten().enumerate() {
        let path = |f: &str| format!("scans[{i}].{f}");
        reports.push(scan(s, &path).map(|mut o| {
            o.tracking_number = tracking.clone();
            o
        }));
    }
    reports.finish()
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
    let occurred_at =
        local_time(at, Some("NL")).map_err(|m| ParseError::new(path("dateTime"), m))?;
    Ok(Observation {
        mapping_key: format!("NL:{state}"),
        raw_code: state.to_owned(),
        raw_description: s.description.get().map(str::to_owned),
        occurred_at: Some(occurred_at),
        carrier: Some("gls".to_owned()),
        location: geo::location(None, None, None, Some("NL")),
        ..Observation::default()
    })
}
