//! AfterShip: the tracking webhook (`{"event": "tracking_update", "msg": Tracking, "ts": ...}`),
//! legacy v4 and the dated versions alike (they renamed `country_iso3` to `country_region` and
//! `zip` to `postal_code`; both spellings are read).
//!
//! Every `msg.checkpoints[]` entry is one report, keyed by its `subtag` (`InTransit_003`): the
//! subtags are AfterShip's finest normalized code; a checkpoint without one falls back to its
//! `tag`. AfterShip documents `checkpoint_time` as the carrier's local time of the checkpoint,
//! "with or without the offset depending on the carrier": with one it is exact; without one the
//! offset is that of the checkpoint's own place (see `zone_of`), never the server's.

use crate::geo;
use crate::jsonstr::{from_json, text};
use crate::timefmt;
use crate::{Observation, ParseError};
use jiff::civil::DateTime;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::borrow::Cow;
use waypost_domain::EventTime;

type Text<'a> = Option<Cow<'a, str>>;

#[derive(Deserialize)]
struct Doc<'a> {
    #[serde(borrow, default)]
    event: Text<'a>,
    #[serde(borrow, default)]
    msg: Option<Tracking<'a>>,
}

#[derive(Deserialize)]
struct Tracking<'a> {
    #[serde(borrow, default)]
    tracking_number: Text<'a>,
    #[serde(borrow, default)]
    slug: Text<'a>,
    #[serde(borrow, default)]
    order_id: Text<'a>,
    #[serde(borrow, default)]
    order_number: Text<'a>,
    #[serde(borrow, default)]
    shipment_type: Text<'a>,
    #[serde(borrow, default)]
    expected_delivery: Text<'a>,
    #[serde(borrow, default)]
    signed_by: Text<'a>,
    #[serde(borrow, default)]
    checkpoints: Option<Vec<Checkpoint<'a>>>,
}

#[derive(Deserialize)]
struct Checkpoint<'a> {
    #[serde(borrow, default)]
    checkpoint_time: Text<'a>,
    #[serde(borrow, default)]
    tag: Text<'a>,
    #[serde(borrow, default)]
    subtag: Text<'a>,
    #[serde(borrow, default)]
    subtag_message: Text<'a>,
    #[serde(borrow, default)]
    message: Text<'a>,
    #[serde(borrow, default)]
    city: Text<'a>,
    #[serde(borrow, default)]
    state: Text<'a>,
    #[serde(borrow, default, alias = "postal_code")]
    zip: Text<'a>,
    #[serde(borrow, default, alias = "country_region")]
    country_iso3: Text<'a>,
    #[serde(borrow, default)]
    location: Text<'a>,
}

pub fn parse(doc: &[u8]) -> Result<Vec<Observation>, ParseError> {
    let d: Doc =
        from_json(doc).map_err(|e| ParseError::json(&e, "an AfterShip tracking webhook"))?;
    if let Some(ev) = text(&d.event)
        && ev != "tracking_update"
    {
        return Err(ParseError::new(
            "event",
            format!("{ev:?} is not a tracking event (expected \"tracking_update\")"),
        ));
    }
    let t = d
        .msg
        .ok_or_else(|| ParseError::new("msg", "missing the tracking object"))?;
    let tracking = text(&t.tracking_number)
        .ok_or_else(|| ParseError::new("msg.tracking_number", "missing tracking_number"))?;
    let checkpoints = t
        .checkpoints
        .as_deref()
        .ok_or_else(|| ParseError::new("msg.checkpoints", "missing checkpoints"))?;
    let order_ref = text(&t.order_id)
        .or_else(|| text(&t.order_number))
        .map(str::to_owned);
    let carrier = text(&t.slug).map(str::to_owned);
    let service = text(&t.shipment_type).map(str::to_owned);
    // A bare date (no time) has no instant of its own; the promise is only kept when exact.
    let promised_at = text(&t.expected_delivery).and_then(timefmt::with_offset);

    let mut out = Vec::with_capacity(checkpoints.len());
    for (i, c) in checkpoints.iter().enumerate() {
        let path = |f: &str| format!("msg.checkpoints[{i}].{f}");
        let key = text(&c.subtag)
            .or_else(|| text(&c.tag))
            .ok_or_else(|| ParseError::new(path("tag"), "neither subtag nor tag"))?;
        let location = geo::location(
            text(&c.city),
            text(&c.state),
            text(&c.zip),
            text(&c.country_iso3),
        );
        let when = text(&c.checkpoint_time)
            .ok_or_else(|| ParseError::new(path("checkpoint_time"), "missing checkpoint_time"))?;
        let occurred_at = checkpoint_time(when, location.as_ref())
            .map_err(|m| ParseError::new(path("checkpoint_time"), format!("{when:?}: {m}")))?;
        let mut attributes = Map::new();
        if let Some(tag) = text(&c.tag) {
            attributes.insert("tag".into(), Value::String(tag.to_owned()));
        }
        if let Some(l) = text(&c.location) {
            attributes.insert("location_text".into(), Value::String(l.to_owned()));
        }
        if text(&c.tag) == Some("Delivered")
            && let Some(s) = text(&t.signed_by)
        {
            attributes.insert("signed_by".into(), Value::String(s.to_owned()));
        }
        out.push(Observation {
            mapping_key: key.to_owned(),
            raw_code: key.to_owned(),
            raw_description: text(&c.message)
                .or_else(|| text(&c.subtag_message))
                .map(str::to_owned),
            occurred_at: Some(occurred_at),
            local_time: None,
            tracking_number: Some(tracking.to_owned()),
            order_ref: order_ref.clone(),
            carrier: carrier.clone(),
            service: service.clone(),
            location,
            promised_at,
            attributes,
            ..Observation::default()
        });
    }
    Ok(out)
}

/// `2024-05-01T13:45:00+02:00` is exact; `2024-05-01T13:45:00` and `2024-05-01` are local to
/// the checkpoint's place.
fn checkpoint_time(s: &str, place: Option<&waypost_domain::Location>) -> Result<EventTime, String> {
    if let Some(t) = timefmt::with_offset(s) {
        return Ok(t);
    }
    let civil = if s.len() == 10 {
        timefmt::civil(s, "%Y-%m-%d", "00:00:00", "%H:%M:%S")
    } else {
        s.parse::<DateTime>().ok()
    }
    .ok_or("not an ISO 8601 date-time")?;
    let zone = place
        .and_then(|p| zone_of(p.country.as_deref()?, p.region.as_deref()))
        .ok_or("local time without an offset, at a place whose time zone is not known")?;
    timefmt::local_in_zone(civil, zone).ok_or_else(|| format!("no such time in {zone}"))
}

/// The zone of a checkpoint's place: countries with one zone by country; the United States,
/// Canada and Australia by state or province. `None` rather than a guess.
fn zone_of(country: &str, region: Option<&str>) -> Option<&'static str> {
    let region = region.unwrap_or("");
    Some(match country {
        "US" => us_zone(region)?,
        "CA" => match region {
            "BC" => "America/Vancouver",
            "AB" => "America/Edmonton",
            "SK" => "America/Regina",
            "MB" => "America/Winnipeg",
            "ON" => "America/Toronto",
            "QC" => "America/Toronto",
            "NB" | "NS" | "PE" => "America/Halifax",
            "NL" => "America/St_Johns",
            "YT" => "America/Whitehorse",
            _ => return None,
        },
        "AU" => match region {
            "NSW" | "ACT" => "Australia/Sydney",
            "VIC" => "Australia/Melbourne",
            "QLD" => "Australia/Brisbane",
            "SA" => "Australia/Adelaide",
            "WA" => "Australia/Perth",
            "TAS" => "Australia/Hobart",
            "NT" => "Australia/Darwin",
            _ => return None,
        },
        "GB" => "Europe/London",
        "IE" => "Europe/Dublin",
        "DE" => "Europe/Berlin",
        "FR" => "Europe/Paris",
        "NL" => "Europe/Amsterdam",
        "BE" => "Europe/Brussels",
        "LU" => "Europe/Luxembourg",
        "AT" => "Europe/Vienna",
        "CH" => "Europe/Zurich",
        "IT" => "Europe/Rome",
        "ES" => "Europe/Madrid",
        "PL" => "Europe/Warsaw",
        "CZ" => "Europe/Prague",
        "DK" => "Europe/Copenhagen",
        "SE" => "Europe/Stockholm",
        "NO" => "Europe/Oslo",
        "FI" => "Europe/Helsinki",
        "HU" => "Europe/Budapest",
        "GR" => "Europe/Athens",
        "JP" => "Asia/Tokyo",
        "KR" => "Asia/Seoul",
        "CN" => "Asia/Shanghai",
        "HK" => "Asia/Hong_Kong",
        "TW" => "Asia/Taipei",
        "SG" => "Asia/Singapore",
        "IN" => "Asia/Kolkata",
        "AE" => "Asia/Dubai",
        "NZ" => "Pacific/Auckland",
        _ => return None,
    })
}

fn us_zone(state: &str) -> Option<&'static str> {
    Some(match state {
        "CT" | "DE" | "DC" | "FL" | "GA" | "ME" | "MD" | "MA" | "NH" | "NJ" | "NY" | "NC"
        | "OH" | "PA" | "RI" | "SC" | "VT" | "VA" | "WV" => "America/New_York",
        "MI" => "America/Detroit",
        "IN" => "America/Indiana/Indianapolis",
        "KY" => "America/Kentucky/Louisville",
        "AL" | "AR" | "IL" | "IA" | "LA" | "MN" | "MS" | "MO" | "OK" | "WI" | "TX" | "KS"
        | "NE" | "SD" | "ND" | "TN" => "America/Chicago",
        "CO" | "MT" | "NM" | "UT" | "WY" | "ID" => "America/Denver",
        "AZ" => "America/Phoenix",
        "CA" | "NV" | "OR" | "WA" => "America/Los_Angeles",
        "AK" => "America/Anchorage",
        "HI" => "Pacific/Honolulu",
        "PR" => "America/Puerto_Rico",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(time: &str, state: &str, country: &str) -> String {
        format!(
            r##"{{"event":"tracking_update","msg":{{"tracking_number":"T1","slug":"usps","order_id":"#1001",
            "checkpoints":[{{"checkpoint_time":"{time}","tag":"InTransit","subtag":"InTransit_007",
            "city":"CHICAGO","state":"{state}","zip":"60601","country_iso3":"{country}"}}]}},"ts":1}}"##
        )
    }

    #[test]
    fn offset_kept_or_taken_from_the_place() {
        let o = parse(doc("2024-03-10T01:30:00-06:00", "IL", "USA").as_bytes()).unwrap();
        assert_eq!(
            o[0].occurred_at.unwrap().instant.to_string(),
            "2024-03-10T07:30:00Z"
        );
        assert_eq!(o[0].mapping_key, "InTransit_007");
        assert_eq!(o[0].order_ref.as_deref(), Some("#1001"));
        // Summer in Chicago is -05:00, winter -06:00.
        let s = parse(doc("2024-07-01T08:00:00", "IL", "USA").as_bytes()).unwrap();
        assert_eq!(s[0].occurred_at.unwrap().offset.seconds(), -5 * 3600);
        let w = parse(doc("2024-01-15", "IL", "USA").as_bytes()).unwrap();
        assert_eq!(
            w[0].occurred_at.unwrap().instant.to_string(),
            "2024-01-15T06:00:00Z"
        );
    }

    #[test]
    fn local_time_in_an_unknown_zone_is_an_error_with_its_path() {
        let err = parse(doc("2024-07-01T08:00:00", "", "BRA").as_bytes()).unwrap_err();
        assert_eq!(err.path, "msg.checkpoints[0].checkpoint_time");
        let err = parse(doc("soon", "IL", "USA").as_bytes()).unwrap_err();
        assert_eq!(err.path, "msg.checkpoints[0].checkpoint_time");
    }

    #[test]
    fn empty_history_and_wrong_event() {
        let d = r#"{"event":"tracking_update","msg":{"tracking_number":"T1","checkpoints":[]}}"#;
        assert!(parse(d.as_bytes()).unwrap().is_empty());
        let d = r#"{"event":"estimated_delivery_date_update","msg":{}}"#;
        assert_eq!(parse(d.as_bytes()).unwrap_err().path, "event");
        assert!(parse(b"").is_err());
    }
}
