//! USPS tracking, every shape USPS sends or has sent, told apart by sniffing the document:
//!
//! - [`v3`]: the Tracking API v3 JSON (`GET apis.usps.com/tracking/v3/tracking/{n}?expand=DETAIL`,
//!   an object with `trackingEvents[]`), the v3r2 JSON (`POST .../tracking/v3r2/tracking`, an
//!   array of details, on a 207 mixed with `statusCode: "404"` failures), and the subscription
//!   notifications (`{subscriptionId, ..., payload: "<the same detail, as a JSON string>"}`).
//! - [`trackv2`]: the Web Tools TrackV2 XML (`<TrackResponse><TrackInfo ID=..>` with a
//!   `TrackSummary`, the newest event, and `TrackDetail`s), and the same structure rendered as
//!   JSON by tracking v1 and v3's `expand=SUMMARY` (`{"TrackResults":{"TrackInfo":{"@ID":..}}}`).
//!   A summary or detail may be a sentence instead of fields ([`summary`]).
//!
//! Every shape becomes [`Item`]s of [`RawEvent`]s; [`finish`] places their times and builds the
//! observations. An event whose time cannot be read or placed is reported with its path and the
//! others are kept; a document is refused only when nothing in it can be read.
//!
//! Mapping key: the event code (`01` delivered, `OF` out for delivery, `MA` pre-shipment),
//! trimmed and upper-cased; an event with no code (a sentence) has the empty key, and the
//! table's code-less `[[patterns]]` read its text.
//!
//! Times: USPS writes the local wall clock of the scan. The offset comes from `GMTOffset` when
//! sent, else from the UTC time of day beside it, else from the zone of the event's place
//! (its state; a facility named `OAK CREEK WI DISTRIBUTION CENTER` is in WI). An event with no
//! place at all (pre-shipment notices, "In Transit to Next Facility") is placed in the zone of
//! the nearest older scan that has one, or of the origin, and says so in `time_zone_inferred`.

pub(crate) mod summary;
pub(crate) mod trackv2;
pub(crate) mod v3;

use crate::geo;
use crate::{LocalTime, Observation, ParseError, Parsed};
use jiff::civil::{Date, DateTime};
use serde_json::{Map, Value};
use waypost_domain::EventTime;

/// When an event happened, as far as its own fields tell.
#[derive(Debug, Clone)]
pub(crate) enum When {
    Exact(EventTime),
    /// A wall-clock time without offset; `date_only` when USPS gave no time of day.
    Local {
        civil: DateTime,
        date_only: bool,
    },
    /// Unreadable: the field's path and why.
    Bad(ParseError),
}

/// One scan as read from any of the shapes, before its time is placed.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawEvent {
    pub path: String,
    pub code: Option<String>,
    pub description: Option<String>,
    pub when: Option<When>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub zip: Option<String>,
    pub country: Option<String>,
    pub attributes: Map<String, Value>,
}

/// One tracked item: its header and its events, newest first as USPS sends them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Item {
    pub tracking_number: Option<String>,
    pub service: Option<String>,
    pub origin: [Option<String>; 4],
    pub destination: [Option<String>; 4],
    pub promised_at: Option<EventTime>,
    pub events: Vec<RawEvent>,
}

/// Reads any USPS tracking document; see the module documentation for the shapes. Events that
/// cannot be read are in [`Parsed::unreadable`]; the document is refused only when nothing in
/// it can be read.
pub fn parse(doc: &[u8]) -> Result<Parsed, ParseError> {
    let first = doc.iter().copied().find(|b| !b.is_ascii_whitespace());
    let (items, failures) = match first {
        Some(b'<') => trackv2::parse_xml(doc)?,
        Some(b'{' | b'[') => {
            let value: Value = crate::jsonstr::from_json(doc)
                .map_err(|e| ParseError::json(&e, "a USPS tracking response"))?;
            json_items(&value, 0)?
        }
        _ => {
            return Err(ParseError::new(
                "document",
                "not a USPS tracking response: neither JSON nor XML",
            ));
        }
    };
    let mut out = Parsed::default();
    let mut events = 0usize;
    for item in &items {
        events += item.events.len();
        finish(item, &mut out.observations, &mut out.unreadable);
    }
    if out.observations.is_empty() && (events > 0 || !failures.is_empty()) {
        // Nothing readable: the first reason stands for the document. (Items USPS answered with
        // an error, "could not locate", are not events: they only speak when nothing else does.)
        return Err(out
            .unreadable
            .into_iter()
            .chain(failures)
            .next()
            .unwrap_or_else(|| ParseError::new("document", "no readable event")));
    }
    Ok(out)
}

/// The items of a JSON document of any of the JSON shapes. `depth` bounds the unwrapping of
/// subscription payloads (a payload is itself a document).
fn json_items(value: &Value, depth: u8) -> Result<(Vec<Item>, Vec<ParseError>), ParseError> {
    if let Some(obj) = value.as_object() {
        if obj.contains_key("TrackResults") || obj.contains_key("TrackResponse") {
            return trackv2::from_json(value);
        }
        if let Some(Value::String(payload)) = obj.get("payload")
            && depth == 0
        {
            let inner: Value = serde_json::from_str(payload).map_err(|e| {
                ParseError::new("payload", format!("not a JSON tracking detail: {e}"))
            })?;
            return json_items(&inner, depth + 1).map(|(items, errs)| {
                let errs = errs
                    .into_iter()
                    .map(|e| ParseError::new(format!("payload.{}", e.path), e.message))
                    .collect();
                (items, errs)
            });
        }
    }
    v3::items(value)
}

/// The IANA zone of a US state or territory, for local times USPS sends without any offset.
/// States that span two zones take the zone most of their population lives in.
pub(crate) fn state_zone(state: &str) -> Option<&'static str> {
    Some(match state.to_ascii_uppercase().as_str() {
        "CT" | "DE" | "DC" | "GA" | "ME" | "MD" | "MA" | "NH" | "NJ" | "NY" | "NC" | "OH"
        | "PA" | "RI" | "SC" | "VT" | "VA" | "WV" | "FL" | "MI" | "IN" | "KY" => "America/New_York",
        "AL" | "AR" | "IL" | "IA" | "LA" | "MN" | "MS" | "MO" | "OK" | "WI" | "TX" | "TN"
        | "KS" | "NE" | "SD" | "ND" => "America/Chicago",
        "CO" | "MT" | "NM" | "UT" | "WY" | "ID" => "America/Denver",
        "AZ" => "America/Phoenix",
        "CA" | "NV" | "OR" | "WA" => "America/Los_Angeles",
        "AK" => "America/Anchorage",
        "HI" => "Pacific/Honolulu",
        "PR" | "VI" => "America/Puerto_Rico",
        "GU" | "MP" => "Pacific/Guam",
        "AS" => "Pacific/Pago_Pago",
        // Military post offices (AA/AE/AP) have no single zone.
        _ => return None,
    })
}

/// The state in a facility's name when USPS leaves `eventState` empty:
/// `OAK CREEK WI DISTRIBUTION CENTER`, `INDIANAPOLIS IN NETWORK DISTRIBUTION CENTER`.
pub(crate) fn facility_state(city: &str) -> Option<&str> {
    let words: Vec<&str> = city.split_whitespace().collect();
    let pos = words.iter().position(|w| {
        matches!(
            w.to_ascii_uppercase().as_str(),
            "DISTRIBUTION" | "NETWORK" | "INTERNATIONAL" | "PROCESSING" | "REGIONAL"
        )
    })?;
    let st = *words.get(pos.checked_sub(1)?)?;
    (pos >= 2 && st.len() == 2 && state_zone(st).is_some()).then_some(st)
}

/// No country, or the United States (and its territories, which USPS serves as domestic).
fn domestic(country: Option<&str>) -> bool {
    country.is_none_or(|c| {
        matches!(
            geo::country_code(c).as_deref(),
            Some("US" | "PR" | "VI" | "GU" | "AS" | "MP" | "UM") | None
        )
    })
}

/// A non-blank, trimmed string.
pub(crate) fn nonblank(s: Option<&str>) -> Option<String> {
    let t = s?.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// USPS leaves the country out for domestic places, and sometimes writes `UNITED STATES`.
fn place(
    city: Option<&str>,
    state: Option<&str>,
    zip: Option<&str>,
    country: Option<&str>,
) -> Option<waypost_domain::Location> {
    let any = city.is_some() || state.is_some() || zip.is_some();
    let country = country.or(any.then_some("US"));
    geo::location(city, state, zip, country)
}

/// Places the times of an item's events and turns them into observations.
fn finish(item: &Item, out: &mut Vec<Observation>, unreadable: &mut Vec<ParseError>) {
    let [oc, os, oz, ocy] = &item.origin;
    let origin = place(oc.as_deref(), os.as_deref(), oz.as_deref(), ocy.as_deref());
    let [dc, ds, dz, dcy] = &item.destination;
    let destination = place(dc.as_deref(), ds.as_deref(), dz.as_deref(), dcy.as_deref());
    let origin_zone = os
        .as_deref()
        .filter(|_| domestic(ocy.as_deref()))
        .and_then(state_zone);
    // The zone of each event's own place, if it has one (a US state: `WA` abroad is not Washington).
    let own_zone: Vec<Option<&'static str>> = item
        .events
        .iter()
        .map(|e| {
            e.state
                .as_deref()
                .or_else(|| e.city.as_deref().and_then(facility_state))
                .filter(|_| domestic(e.country.as_deref()))
                .and_then(state_zone)
        })
        .collect();
    for (i, e) in item.events.iter().enumerate() {
        let has_place = e.city.is_some() || e.state.is_some() || e.zip.is_some();
        let mut attributes = e.attributes.clone();
        let time = match &e.when {
            None => Err(ParseError::new(e.path.clone(), "event has no date")),
            Some(When::Bad(err)) => Err(err.clone()),
            Some(When::Exact(t)) => Ok((Some(*t), None)),
            Some(When::Local { civil, date_only }) => {
                let named = e.state.is_some() || e.zip.is_some();
                // A place with a state or ZIP Code settles its own zone (normalization reads it);
                // a facility named `... WI DISTRIBUTION CENTER` or no place at all does not.
                let zone = if named {
                    None
                } else if has_place {
                    own_zone[i]
                } else {
                    // Newest first: the older scans follow this one.
                    own_zone[i + 1..]
                        .iter()
                        .flatten()
                        .next()
                        .copied()
                        .or(origin_zone)
                };
                if let Some(z) = zone {
                    attributes.insert("time_zone_inferred".into(), Value::from(z));
                }
                if !named && zone.is_none() {
                    Err(ParseError::new(
                        e.path.clone(),
                        "local time with no offset, no place and no origin to place it in",
                    ))
                } else {
                    Ok((
                        None,
                        Some(LocalTime {
                            civil: *civil,
                            zone: zone.map(str::to_owned),
                            date_only: *date_only,
                        }),
                    ))
                }
            }
        };
        let (occurred_at, local_time) = match time {
            Ok(t) => t,
            Err(err) => {
                unreadable.push(err);
                continue;
            }
        };
        // The state a facility's name carries places its time, but is not added to the location:
        // the location is part of a derived event id, which must not change under a re-poll.
        let location = place(
            e.city.as_deref(),
            e.state.as_deref(),
            e.zip.as_deref(),
            e.country.as_deref(),
        );
        let code = e
            .code
            .as_deref()
            .map(|c| c.trim().to_ascii_uppercase())
            .unwrap_or_default();
        out.push(Observation {
            mapping_key: code.clone(),
            reason_key: None,
            raw_code: code,
            raw_description: e.description.clone(),
            occurred_at,
            local_time,
            tracking_number: item.tracking_number.clone(),
            order_ref: None,
            vendor_event_id: None,
            carrier: Some("usps".to_owned()),
            service: item.service.clone(),
            location,
            origin: origin.clone(),
            destination: destination.clone(),
            promised_at: item.promised_at,
            attributes,
        });
    }
}

/// Mail class names carry HTML marks (`USPS Ground Advantage<SUP>&#153;</SUP>`).
pub(crate) fn service_name(m: &str) -> Option<String> {
    let cut = m
        .find("<SUP>")
        .or_else(|| m.find("<sup>"))
        .or_else(|| m.find("&lt;SUP"))
        .unwrap_or(m.len());
    nonblank(Some(&m[..cut]))
}

/// `9:01 am`, `12:15 PM`, `13:05`: a time of day.
pub(crate) fn clock(s: &str) -> Option<jiff::civil::Time> {
    let s = s.trim();
    if !s.is_ascii() || s.len() > 16 {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    let (body, pm) = if let Some(b) = lower
        .strip_suffix("pm")
        .or_else(|| lower.strip_suffix("p.m."))
    {
        (b.trim_end(), Some(true))
    } else if let Some(b) = lower
        .strip_suffix("am")
        .or_else(|| lower.strip_suffix("a.m."))
    {
        (b.trim_end(), Some(false))
    } else {
        (lower.as_str(), None)
    };
    let mut parts = body.split(':');
    let h: i8 = parts.next()?.trim().parse().ok()?;
    let m: i8 = parts.next()?.trim().parse().ok()?;
    let sec: i8 = match parts.next() {
        Some(x) => x.trim().parse().ok()?,
        None => 0,
    };
    if parts.next().is_some() {
        return None;
    }
    let h = match pm {
        Some(pm) => {
            if !(1..=12).contains(&h) {
                return None;
            }
            (h % 12) + if pm { 12 } else { 0 }
        }
        None => h,
    };
    jiff::civil::Time::new(h, m, sec, 0).ok()
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// A month name, full or abbreviated (`Sept.` too).
pub(crate) fn month(s: &str) -> Option<i8> {
    let s = s.trim_end_matches('.').to_ascii_lowercase();
    // Month names are ASCII; the byte slice below needs that (a scanned "of📦" must not panic).
    if s.len() < 3 || !s.is_ascii() {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| m.starts_with(&s[..3]) && m.starts_with(s.as_str()) || *m == s)
        .and_then(|i| i8::try_from(i + 1).ok())
}

#[cfg(test)]
#[test]
fn month_names_and_what_is_not_one() {
    assert_eq!(month("Sept."), Some(9));
    assert_eq!(month("april"), Some(4));
    assert_eq!(month("of\u{1f4e6}"), None);
    assert_eq!(month("ab"), None);
}

/// `April 28, 2015`, `January 1 2017`: a date with its month spelled out.
pub(crate) fn long_date(s: &str) -> Option<Date> {
    let s = s.trim();
    if !s.is_ascii() || s.len() > 32 {
        return None;
    }
    let mut words = s.split([' ', ',']).filter(|w| !w.is_empty());
    let m = month(words.next()?)?;
    let d: i8 = words.next()?.parse().ok()?;
    let y: i16 = words.next()?.parse().ok()?;
    if words.next().is_some() {
        return None;
    }
    Date::new(y, m, d).ok()
}

#[cfg(test)]
mod tests;
