//! DHL Parcel DE (Post & Paket Deutschland) tracking XML, the `d-get-piece-detail` answer:
//!
//! ```text
//! <data name="piece-shipment-list" code="0">
//!   <data name="piece-shipment" piece-code="00340434..." ice="DLVRD" ...>
//!     <data name="piece-event-list" ...>
//!       <data name="piece-event" event-timestamp="27.03.2023 10:14" event-status="..."
//!             ice="SHRCU" ric="PCKST" event-location="Bremen" event-country="Deutschland"
//!             standard-event-code="ES"/>
//! ```
//!
//! Everything is in attributes of nested `data` elements told apart by `name`. Events come
//! oldest first; `event-timestamp` is German local time (`dd.mm.yyyy HH:MM`), in Europe/Berlin
//! whatever the event's place. The ICE (event) and RIC (reason) codes are kept; the status comes
//! from the event's text (the table's patterns, key `parcel-de:<ice>`), as DHL's own tracking
//! shows it.

use super::country;
use super::xml::{self, Node};
use crate::{LocalTime, Observation, ParseError, Parsed, geo};
use jiff::civil::{Date, DateTime, Time};
use serde_json::{Map, Value};

/// DHL Paket documents its tracking times as German local time.
const ZONE: &str = "Europe/Berlin";

fn named<'n>(node: &'n Node, name: &'n str) -> impl Iterator<Item = &'n Node> + 'n {
    node.children
        .iter()
        .filter(move |c| c.name == "data" && c.attr("name") == Some(name))
}

pub(crate) fn read(text: &str) -> Result<Parsed, ParseError> {
    let root = xml::parse(text)?;
    let kind = root.attr("name").unwrap_or("");
    let shipments: Vec<&Node> = match kind {
        "piece-shipment-list" => named(&root, "piece-shipment").collect(),
        "piece-shipment" => vec![&root],
        _ => {
            return Err(ParseError::new(
                "data",
                format!("expected <data name=\"piece-shipment-list\">, found name={kind:?}"),
            ));
        }
    };
    let code = root.attr("code").unwrap_or("0");
    if code != "0"
        && shipments
            .iter()
            .all(|s| named(s, "piece-event-list").next().is_none())
    {
        let why = root.attr("error").unwrap_or("no tracking data");
        return Err(ParseError::new(
            "data/@code",
            format!("DHL Parcel DE answered with code {code}: {why}"),
        ));
    }
    let mut out = Parsed::from(Vec::new());
    for (si, s) in shipments.iter().enumerate() {
        let tracking = s
            .attr("piece-code")
            .or_else(|| s.attr("searched-piece-code"))
            .or_else(|| s.attr("piece-identifier"))
            .map(str::to_owned);
        let order_ref = s
            .attr("shipment-customer-reference")
            .or_else(|| s.attr("piece-customer-reference"))
            .map(str::to_owned);
        let destination = s
            .attr("dest-country")
            .and_then(|c| geo::location(None, None, s.attr("pan-recipient-postalcode"), Some(c)));
        let origin = s
            .attr("origin-country")
            .and_then(|c| geo::location(None, None, None, Some(c)));
        let service = s.attr("product-name").map(str::to_owned);
        // Events nest in the shipment; some answers put the list beside it instead.
        let lists = named(s, "piece-event-list");
        let mut ei = 0;
        for list in lists {
            for ev in named(list, "piece-event") {
                let path = format!("piece-shipment[{si}]/piece-event[{ei}]");
                ei += 1;
                super::Lent {
                    tracking: &tracking,
                    order_ref: &order_ref,
                    origin: &origin,
                    destination: &destination,
                    service: &service,
                }
                .add(&mut out, event(ev, &path));
            }
        }
    }
    Ok(out)
}

/// `27.03.2023 10:14` (seconds optional).
fn civil(stamp: &str) -> Option<DateTime> {
    let (d, t) = stamp.trim().split_once(' ')?;
    let mut parts = d.split('.');
    let (dd, mm, yy) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let date = Date::new(yy.parse().ok()?, mm.parse().ok()?, dd.parse().ok()?).ok()?;
    let time: Time = match t.trim().parse() {
        Ok(t) => t,
        Err(_) => format!("{}:00", t.trim()).parse().ok()?,
    };
    Some(date.to_datetime(time))
}

fn event(ev: &Node, path: &str) -> Result<Observation, ParseError> {
    let stamp = ev.attr("event-timestamp").unwrap_or("");
    let civil = civil(stamp).ok_or_else(|| {
        ParseError::new(
            format!("{path}/@event-timestamp"),
            format!("{stamp:?} is not a date and time (dd.mm.yyyy HH:MM)"),
        )
    })?;
    let text = ev
        .attr("event-text")
        .or_else(|| ev.attr("event-status"))
        .or_else(|| ev.attr("event-short-status"));
    let ice = ev.attr("ice").map(str::to_ascii_uppercase);
    let code = ice
        .clone()
        .or_else(|| ev.attr("standard-event-code").map(str::to_owned))
        .or_else(|| text.map(str::to_owned))
        .ok_or_else(|| {
            ParseError::new(format!("{path}/@ice"), "the event has no code and no text")
        })?;
    let cc = ev.attr("event-country").and_then(country);
    let location = geo::location(ev.attr("event-location"), None, None, cc.as_deref());
    let mut attributes = Map::new();
    for (attr, key) in [
        ("ric", "ric"),
        ("standard-event-code", "standard_event_code"),
        ("event-short-status", "short_status"),
    ] {
        if let Some(v) = ev.attr(attr) {
            attributes.insert(key.into(), Value::String(v.to_owned()));
        }
    }
    Ok(Observation {
        mapping_key: format!("parcel-de:{}", ice.as_deref().unwrap_or("")),
        reason_key: None,
        raw_code: code,
        raw_description: text.map(str::to_owned),
        occurred_at: None,
        local_time: Some(LocalTime::in_zone(civil, ZONE)),
        tracking_number: None,
        order_ref: None,
        vendor_event_id: None,
        carrier: Some("dhl".to_owned()),
        service: None,
        location,
        origin: None,
        destination: None,
        promised_at: None,
        attributes,
    })
}
