//! "Get Tracking Summary": `tracking-summary/pin-summary`, one per PIN found, each carrying the
//! PIN's most recent or most significant event: `event-type` (a coarse kind such as `INDUCTION`
//! or `DELIVERED`, the mapping key; the table refines it by `event-description`),
//! `event-date-time` as `YYYYMMDD:HHMMSS` in local time with no zone, and `event-location`
//! (a site name, often blank).
//!
//! The event's province is not sent. An induction happens where the parcel was mailed, so its
//! province comes from `origin-postal-id` (a forward sortation area); any later event is read in
//! the destination's province (`destination-province`, else `destination-postal-id`).

use super::xmltree::Node;
use super::{squeeze, zones};
use crate::geo;
use crate::{LocalTime, Observation, ParseError, Parsed};
use jiff::civil::DateTime;
use serde_json::{Map, Value};

pub(super) fn read(part: &Node, base: &str) -> Parsed {
    let mut out = Parsed::default();
    for (i, ps) in part.all("pin-summary").enumerate() {
        match pin_summary(ps, &format!("{base}/pin-summary[{i}]")) {
            Ok(o) => out.observations.push(o),
            Err(e) => out.unreadable.push(e),
        }
    }
    out
}

fn pin_summary(ps: &Node, path: &str) -> Result<Observation, ParseError> {
    let pin = ps
        .text_of("pin")
        .ok_or_else(|| ParseError::new(format!("{path}/pin"), "missing or empty"))?;
    let code = ps
        .text_of("event-type")
        .ok_or_else(|| ParseError::new(format!("{path}/event-type"), "missing or empty"))?;
    let when = ps
        .text_of("event-date-time")
        .ok_or_else(|| ParseError::new(format!("{path}/event-date-time"), "missing or empty"))?;
    let civil = civil(when).ok_or_else(|| {
        ParseError::new(
            format!("{path}/event-date-time"),
            format!("{when:?} is not a date and time (YYYYMMDD:HHMMSS)"),
        )
    })?;
    let region = if code.eq_ignore_ascii_case("INDUCTION") {
        ps.text_of("origin-postal-id")
            .and_then(zones::postal_province)
    } else {
        ps.text_of("destination-province")
            .filter(|p| zones::is_province(p))
            .or_else(|| {
                ps.text_of("destination-postal-id")
                    .and_then(zones::postal_province)
            })
    };
    let location = geo::location(ps.text_of("event-location"), region, None, Some("CA"));
    let destination = ps.text_of("destination-postal-id").and_then(|p| {
        geo::location(
            None,
            ps.text_of("destination-province")
                .or_else(|| zones::postal_province(p)),
            Some(p),
            Some("CA"),
        )
    });
    let mut attributes = Map::new();
    if let Some(s) = ps.text_of("signatory-name") {
        attributes.insert("signed_by".into(), Value::String(s.to_owned()));
    }
    Ok(Observation {
        mapping_key: code.to_owned(),
        raw_code: code.to_owned(),
        raw_description: ps.text_of("event-description").map(squeeze),
        // Local time without zone: normalization places it in the event's province.
        local_time: Some(LocalTime::new(civil)),
        tracking_number: Some(pin.to_owned()),
        order_ref: ps.text_of("customer-ref-1").map(str::to_owned),
        carrier: Some("canadapost".into()),
        service: ps.text_of("service-name").map(str::to_owned),
        location,
        destination,
        attributes,
        ..Observation::default()
    })
}

/// `20110404:133457` as documented; an ISO form is accepted too.
fn civil(s: &str) -> Option<DateTime> {
    DateTime::strptime("%Y%m%d:%H%M%S", s)
        .or_else(|_| DateTime::strptime("%Y-%m-%dT%H:%M:%S", s))
        .or_else(|_| DateTime::strptime("%Y-%m-%d %H:%M:%S", s))
        .ok()
}
