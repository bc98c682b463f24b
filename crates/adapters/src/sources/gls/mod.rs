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
//! scanning place without an offset: the observation carries it as a `local_time` and the
//! event's country, and normalization places it in that country's zone.

use crate::jsonstr::from_json;
use crate::{Observation, ParseError, Parsed};
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

pub fn parse(doc: &[u8]) -> Result<Parsed, ParseError> {
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

/// The key of an event that carries only a text (no event number): the table maps it with its
/// code-less `[[patterns]]` on the text.
pub(super) const TEXT_KEY: &str = "TEXT";

/// A GLS wall-clock time (`2025-08-29T12:04:00`, `2025-08-29 12:04:00`; an offset, when one is
/// written, is kept): `(occurred_at, local_time)` for the observation.
pub(super) fn when(
    s: &str,
) -> Option<(Option<waypost_domain::EventTime>, Option<crate::LocalTime>)> {
    crate::timefmt::read(s).map(|stamp| stamp.split(None))
}

/// The reports of one document: what could be read, and where it could not.
pub(super) fn collect(results: Vec<Result<Observation, ParseError>>) -> Parsed {
    let mut parsed = Parsed::default();
    for r in results {
        match r {
            Ok(o) => parsed.observations.push(o),
            Err(e) => parsed.unreadable.push(e),
        }
    }
    parsed
}
