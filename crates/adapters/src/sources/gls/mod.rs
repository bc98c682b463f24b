//! GLS, in the forms integrations receive, told apart by their keys:
//! - [`mygls`]: the MyGLS API's `GetParcelStatuses` (GLS HU, CZ, HR, RO, SI, SK, RS):
//!   `{ParcelNumber, ParcelStatusList[]...}`, or an array of them;
//! - [`track`]: the GLS Track & Trace API (`parcels[]` with `references[]` (`UNITNO`...) and
//!   `events[{timestamp, description, location, country, code}]`);
//! - [`group`]: the GLS group tracking answer of gls-group.com (`tuStatus[]` entries, or one flat
//!   entry: `{tuNo, owners[], progressBar, history[{date, time, evtNo?, address?, evtDscr}]}`);
//! - [`nl`]: GLS Netherlands' parcel details (`{parcelNo, state, scans[{dateTime, state,
//!   eventReasonDescr}]}`, Dutch texts).
//!
//! Apart from MyGLS (whose times are exact instants), GLS writes the wall-clock time of the
//! scanning place without an offset; it is placed in the zone of the event's country.

use crate::jsonstr::from_json;
use crate::{Observation, ParseError};
use serde::Deserialize;
use serde::de::IgnoredAny;

mod group;
mod mygls;
mod nl;
mod track;

/// The top-level keys that say which form a document is.
#[derive(Deserialize)]
struct Probe {
    #[serde(default)]
    parcels: Option<IgnoredAny>,
    #[serde(default, rename = "tuStatus")]
    tu_status: Option<IgnoredAny>,
    #[serde(default)]
    history: Option<IgnoredAny>,
    #[serde(default, rename = "tuNo")]
    tu_no: Option<IgnoredAny>,
    #[serde(default)]
    scans: Option<IgnoredAny>,
    #[serde(default, rename = "parcelNo")]
    parcel_no: Option<IgnoredAny>,
}

pub fn parse(doc: &[u8]) -> Result<Vec<Observation>, ParseError> {
    if doc.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return mygls::parse(doc);
    }
    let Ok(p) = from_json::<Probe>(doc) else {
        return mygls::parse(doc);
    };
    // GLS NL's details also carry a `parcels` list (of last statuses): test them first.
    if p.scans.is_some() && p.parcel_no.is_some() {
        nl::parse(doc)
    } else if p.parcels.is_some() {
        track::parse(doc)
    } else if p.tu_status.is_some() || (p.history.is_some() && p.tu_no.is_some()) {
        group::parse(doc)
    } else {
        mygls::parse(doc)
    }
}

/// `2025-08-29T12:04:00` (or `2025-08-29 12:04:00`, or with an offset) in the zone of `country`.
pub(super) fn local_time(
    s: &str,
    country: Option<&str>,
) -> Result<waypost_domain::EventTime, String> {
    if let Some(t) = crate::timefmt::with_offset(s) {
        return Ok(t);
    }
    let civil = s
        .trim()
        .replacen(' ', "T", 1)
        .parse::<jiff::civil::DateTime>()
        .map_err(|_| format!("{s:?} is not a date and time"))?;
    let zone = country.and_then(super::dpd::zone_of).ok_or_else(|| {
        format!(
            "local time without an offset, and the event's country ({}) has no known zone",
            country.unwrap_or("none given")
        )
    })?;
    crate::timefmt::local_in_zone(civil, zone).ok_or_else(|| format!("no such time in {zone}"))
}

/// Collects the reports of a document, keeping the first unreadable one to report when nothing
/// at all could be read.
#[derive(Default)]
pub(super) struct Reports {
    pub out: Vec<Observation>,
    pub first_error: Option<ParseError>,
}

impl Reports {
    pub fn push(&mut self, r: Result<Observation, ParseError>) {
        match r {
            Ok(o) => self.out.push(o),
            Err(e) => {
                self.first_error.get_or_insert(e);
            }
        }
    }
    pub fn finish(self) -> Result<Vec<Observation>, ParseError> {
        match self.first_error {
            Some(e) if self.out.is_empty() => Err(e),
            _ => Ok(self.out),
        }
    }
}

/// A text field as GLS sends it: a string, or a number where a string is documented; `null`,
/// missing and blank are all "not given".
#[derive(Default, Debug, Clone)]
pub(super) struct LaxText(Option<String>);

impl LaxText {
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }
}

impl<'de> Deserialize<'de> for LaxText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            S(String),
            N(serde_json::Number),
            B(bool),
            Other(IgnoredAny),
        }
        Ok(LaxText(match Option::<Raw>::deserialize(d)? {
            Some(Raw::S(s)) => Some(s),
            Some(Raw::N(n)) => Some(n.to_string()),
            Some(Raw::B(b)) => Some(b.to_string()),
            Some(Raw::Other(_)) | None => None,
        }))
    }
}
