//! DPD, in the three forms integrations receive, told apart by their first bytes and keys:
//! - [`plc`]: DPD Germany's public Parcel Life Cycle document (`tracking.dpd.de/rest/plc`, JSON:
//!   `parcellifecycleResponse`), read scan by scan (`scanInfo.scan[]`, keyed by DPD's scan code);
//! - [`lifecycle`]: the ParcelLifeCycleService 2.0 `getTrackingData` answer of DPD's shipper web
//!   services, as SOAP XML (`Envelope/Body/getTrackingDataResponse/trackingresult`) or as its
//!   REST JSON twin (`getTrackingDataResponse.trackingResult`), read entry by entry
//!   (`statusInfo[]`, keyed by the entry's `status` word, refined by its text in the table).
//!
//! Every time DPD sends is the depot's wall-clock time without an offset: the observation carries
//! it as a `local_time` with the depot's place (`Leeds (GB)`, or a separate country field), and
//! normalization places it in that country's zone.

use crate::{ParseError, Parsed, geo};

mod lifecycle;
mod plc;

pub fn parse(doc: &[u8]) -> Result<Parsed, ParseError> {
    match doc
        .iter()
        .find(|b| !b.is_ascii_whitespace() && **b != 0xEF && **b != 0xBB && **b != 0xBF)
    {
        Some(b'<') => lifecycle::parse_xml(doc),
        Some(b'{') if lifecycle::is_json(doc) => lifecycle::parse_json(doc),
        _ => plc::parse(doc),
    }
}

/// `Unna (DE)` -> (`Unna`, `DE`); the separate `country` field wins when it names a country.
pub(super) fn place<'s>(
    location: Option<&'s str>,
    country: Option<&'s str>,
) -> (Option<&'s str>, Option<&'s str>) {
    let (city, suffix) = match location {
        Some(l) => match l.strip_suffix(')').and_then(|l| l.rsplit_once('(')) {
            Some((city, cc)) => (Some(city.trim()).filter(|c| !c.is_empty()), Some(cc.trim())),
            None => (Some(l), None),
        },
        None => (None, None),
    };
    let country = country
        .filter(|c| geo::country_code(c).is_some())
        .or(suffix);
    (city, country)
}
