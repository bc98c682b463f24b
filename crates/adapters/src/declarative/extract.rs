//! A document read with a compiled format: shipments, then their events, into [`Observation`]s.
//! An event whose code or time cannot be read is reported with its path and kept out; the
//! others are returned. Only a document that is not this format at all is refused.

use super::Parsed;
use super::path::{Hit, Path};
use super::spec::{Candidates, Compiled, Place, TimeSource};
use super::tree::Node;
use super::when::{self, When};
use crate::observation::LocalTime;
use crate::{Observation, ParseError, geo, timefmt};
use waypost_domain::Location;

/// The first text any candidate reaches from `node`, with its path.
fn first<'a>(cands: &[Path], node: &'a Node, at: &str) -> Option<(&'a str, String)> {
    cands.iter().find_map(|p| p.text(node, at))
}

fn text(cands: &[Path], node: &Node, at: &str) -> Option<String> {
    first(cands, node, at).map(|(t, _)| t.to_owned())
}

/// The nodes of the first candidate that finds any.
fn nodes<'a>(cands: &[Path], node: &'a Node, at: &str) -> Vec<Hit<'a>> {
    cands
        .iter()
        .map(|p| p.find(node, at))
        .find(|hits| !hits.is_empty())
        .unwrap_or_default()
}

/// `base.path` for messages, with the first candidate's path (or `base` alone).
fn field_path(base: &str, cands: &Candidates) -> String {
    match cands.first().map(Path::as_str) {
        Some(p) if !p.is_empty() && !base.is_empty() => format!("{base}.{p}"),
        Some(p) if !p.is_empty() => p.to_owned(),
        _ => base.to_owned(),
    }
}

fn place(p: Option<&Place>, node: &Node, at: &str) -> Option<Location> {
    let p = p?;
    let city = first(&p.city, node, at).map(|x| x.0);
    let region = first(&p.region, node, at).map(|x| x.0);
    let postal = first(&p.postal_code, node, at).map(|x| x.0);
    let country = first(&p.country, node, at).map(|x| x.0);
    let (t_city, t_region, t_country) = first(&p.text, node, at)
        .map(|x| place_text(x.0))
        .unwrap_or_default();
    geo::location(
        city.or(t_city),
        region.or(t_region),
        postal,
        country.or(t_country).or(p.default_country.as_deref()),
    )
}

/// A place written as one text: `City`, `City, Country`, `City, Region`, `City, Region,
/// Country` (a last part that names a country is the country; after a city alone, two letters
/// are a region).
fn place_text(text: &str) -> (Option<&str>, Option<&str>, Option<&str>) {
    let mut parts: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let country = match parts.last() {
        // Two letters after a city alone are a region (`Memphis, TN`), not a country code.
        Some(last)
            if (parts.len() > 2 || last.chars().count() > 2)
                && geo::country_code(last).is_some() =>
        {
            parts.pop()
        }
        _ => None,
    };
    match parts.as_slice() {
        [city] => (Some(city), None, country),
        [city, region] => (Some(city), Some(region), country),
        _ => (None, None, country),
    }
}

/// What a shipment says once for all its events.
struct ShipmentFacts {
    tracking_number: Option<String>,
    order_ref: Option<String>,
    service: Option<String>,
    origin: Option<Location>,
    destination: Option<Location>,
}

pub(super) fn parse(
    c: &Compiled,
    vendor: &str,
    carrier: &str,
    root: &Node,
) -> Result<Parsed, ParseError> {
    if !c.detect.is_empty() && !c.detect.iter().any(|p| !p.find(root, "").is_empty()) {
        let names: Vec<&str> = c.detect.iter().map(Path::as_str).collect();
        return Err(ParseError::new(
            "(document)",
            format!("not a {vendor} document: it has none of {names:?}"),
        ));
    }
    if let Some((code, ok, message)) = &c.error
        && let Some((value, at)) = first(code, root, "")
        && !ok.iter().any(|o| o == value)
    {
        let message = text(message, root, "").unwrap_or_default();
        return Err(ParseError::new(
            at,
            format!("{vendor} answered with error {value:?}: {message}"),
        ));
    }
    let mut out = Parsed::default();
    for shipment in nodes(&c.shipment_path, root, "") {
        let (s, at) = (shipment.node, shipment.at.as_str());
        let facts = ShipmentFacts {
            tracking_number: text(&c.tracking_number, s, at),
            order_ref: text(&c.order_ref, s, at),
            service: text(&c.service, s, at),
            origin: place(c.origin.as_ref(), s, at),
            destination: place(c.destination.as_ref(), s, at),
        };
        for event in nodes(&c.event_path, s, at) {
            match observation(c, carrier, &facts, event.node, &event.at) {
                Ok(obs) => out.observations.push(obs),
                Err(e) => out.unreadable.push(e),
            }
        }
    }
    Ok(out)
}

fn observation(
    c: &Compiled,
    carrier: &str,
    facts: &ShipmentFacts,
    e: &Node,
    at: &str,
) -> Result<Observation, ParseError> {
    let parts: Vec<&str> = c
        .code
        .iter()
        .filter_map(|p| p.text(e, at).map(|x| x.0))
        .collect();
    if parts.is_empty() {
        return Err(ParseError::new(
            field_path(at, &c.code),
            "the event has no code",
        ));
    }
    let raw_code = parts.join(":");
    let key = if c.lower_code {
        raw_code.to_lowercase()
    } else {
        raw_code.clone()
    };
    if facts.tracking_number.is_none() && facts.order_ref.is_none() {
        return Err(ParseError::new(
            at,
            "the shipment names neither a tracking number nor a reference",
        ));
    }
    let (occurred_at, local_time) = occurred_at(c, e, at)?;
    Ok(Observation {
        mapping_key: key,
        raw_code,
        raw_description: text(&c.description, e, at),
        occurred_at,
        local_time,
        tracking_number: facts.tracking_number.clone(),
        order_ref: facts.order_ref.clone(),
        vendor_event_id: text(&c.event_id, e, at),
        reason_key: text(&c.reason_code, e, at),
        carrier: Some(carrier.to_owned()),
        service: facts.service.clone(),
        location: place(c.location.as_ref(), e, at),
        origin: facts.origin.clone(),
        destination: facts.destination.clone(),
        ..Observation::default()
    })
}

/// An offset as some vendors name it, `GMT+8`, `UTC-05:00`, `GMT`: the offset without its
/// `GMT`/`UTC` prefix (the prefix alone is UTC itself).
fn bare_offset(off: &str) -> &str {
    let off = off.trim();
    let rest = ["GMT", "UTC", "gmt", "utc"]
        .iter()
        .find_map(|p| off.strip_prefix(p))
        .map_or(off, str::trim);
    if rest.is_empty() { "Z" } else { rest }
}

/// The event's time: an instant when the document says one (an offset in the time, or beside
/// it in the `offset` field), else a wall-clock time for normalization to place, in the format's
/// `zone` or, without one, in the zone of the event's place.
fn occurred_at(
    c: &Compiled,
    e: &Node,
    at: &str,
) -> Result<(Option<waypost_domain::EventTime>, Option<LocalTime>), ParseError> {
    let (text, path) = match &c.time {
        TimeSource::Whole(cands) => first(cands, e, at)
            .map(|(t, p)| (t.to_owned(), p))
            .ok_or_else(|| ParseError::new(field_path(at, cands), "the event has no time"))?,
        TimeSource::Split { date, clock } => {
            let (d, p) = first(date, e, at)
                .ok_or_else(|| ParseError::new(field_path(at, date), "the event has no date"))?;
            match first(clock, e, at) {
                Some((t, _)) => (format!("{d} {t}"), p),
                None => (d.to_owned(), p),
            }
        }
    };
    let when = when::read(&text, &c.time_formats).ok_or_else(|| {
        ParseError::new(
            &path,
            format!("{text:?} is not a time in the documented formats"),
        )
    })?;
    match when {
        When::At(t) => Ok((Some(t), None)),
        When::Local { civil, date_only } => {
            if let Some((off, off_path)) = first(&c.offset, e, at) {
                return timefmt::local_with_offset(civil, bare_offset(off))
                    .map(|t| (Some(t), None))
                    .ok_or_else(|| {
                        ParseError::new(off_path, format!("{off:?} is not a UTC offset"))
                    });
            }
            let mut local = if date_only {
                LocalTime::date(civil.date())
            } else {
                LocalTime::new(civil)
            };
            local.zone.clone_from(&c.zone);
            Ok((None, Some(local)))
        }
    }
}
