//! AfterShip: every form a tracking reaches a user in, told apart by their keys:
//! - `GET /trackings/{slug}/{number}` and `/trackings/{id}`: `{"meta": ..., "data": {"tracking":
//!   Tracking}}` in legacy v4 and up to 2024-01, `{"meta": ..., "data": Tracking}` from 2024-04;
//! - `GET /trackings`: `data.trackings[]` (v4 with page/limit, dated versions with pagination);
//! - `GET /last_checkpoint/...`: `data.checkpoint`, one checkpoint;
//! - the tracking webhook: `{"event": "tracking_update", "msg": Tracking, "ts": ...}` (dated
//!   versions add `event_id`, `is_tracking_first_tracked`).
//!
//! The dated versions renamed `country_iso3` to `country_region` and `zip` to `postal_code`; both
//! spellings are read.
//!
//! Every checkpoint is one report, keyed by its `subtag` (`InTransit_003`): the subtags are
//! AfterShip's finest normalized code; a checkpoint without one (v4 before sub-statuses) falls
//! back to its `tag`. AfterShip documents `checkpoint_time` as the carrier's local time of the
//! checkpoint, "with or without the offset depending on the carrier", sometimes a date alone:
//! with an offset it is exact; without one it is a local time placed by normalization in the
//! zone of the checkpoint's own place, never the server's. One unreadable checkpoint is reported
//! with its path and the others kept.

use super::agg_lax::{Lax, List, Obj};
use crate::geo;
use crate::jsonstr::from_json;
use crate::timefmt;
use crate::{Observation, ParseError, Parsed};
use serde::Deserialize;
use serde_json::{Map, Value};

/// A webhook, a response wrapper or a tracking: one struct for all, since each nests the same
/// tracking fields one level down (`msg`, `data`, `data.tracking`, `data.trackings[]`).
#[derive(Deserialize, Default)]
struct Tracking<'a> {
    #[serde(borrow, default)]
    event: Lax<'a>,
    #[serde(borrow, default)]
    msg: Obj<Box<Tracking<'a>>>,
    #[serde(borrow, default)]
    data: Obj<Box<Tracking<'a>>>,
    #[serde(borrow, default)]
    tracking: Obj<Box<Tracking<'a>>>,
    #[serde(borrow, default)]
    trackings: Option<List<Tracking<'a>>>,
    #[serde(borrow, default)]
    tracking_number: Lax<'a>,
    #[serde(borrow, default)]
    slug: Lax<'a>,
    #[serde(borrow, default)]
    order_id: Lax<'a>,
    #[serde(borrow, default)]
    order_number: Lax<'a>,
    #[serde(borrow, default)]
    shipment_type: Lax<'a>,
    #[serde(borrow, default)]
    expected_delivery: Lax<'a>,
    #[serde(borrow, default)]
    signed_by: Lax<'a>,
    #[serde(borrow, default)]
    checkpoints: Option<List<Checkpoint<'a>>>,
    #[serde(borrow, default)]
    checkpoint: Obj<Checkpoint<'a>>,
}

#[derive(Deserialize, Default)]
struct Checkpoint<'a> {
    #[serde(borrow, default)]
    checkpoint_time: Lax<'a>,
    #[serde(borrow, default)]
    tag: Lax<'a>,
    #[serde(borrow, default)]
    subtag: Lax<'a>,
    #[serde(borrow, default)]
    subtag_message: Lax<'a>,
    #[serde(borrow, default)]
    message: Lax<'a>,
    #[serde(borrow, default)]
    city: Lax<'a>,
    #[serde(borrow, default)]
    state: Lax<'a>,
    #[serde(borrow, default)]
    zip: Lax<'a>,
    #[serde(borrow, default)]
    postal_code: Lax<'a>,
    #[serde(borrow, default)]
    country_iso3: Lax<'a>,
    #[serde(borrow, default)]
    country_region: Lax<'a>,
    #[serde(borrow, default)]
    country_name: Lax<'a>,
    #[serde(borrow, default)]
    country_region_name: Lax<'a>,
    #[serde(borrow, default)]
    location: Lax<'a>,
    #[serde(borrow, default)]
    raw_tag: Lax<'a>,
}

fn has_tracking(t: &Tracking<'_>) -> bool {
    t.checkpoints.is_some() || t.checkpoint.0.is_some() || t.tracking_number.get().is_some()
}

pub fn parse(doc: &[u8]) -> Result<Parsed, ParseError> {
    let mut d: Tracking =
        from_json(doc).map_err(|e| ParseError::json(&e, "an AfterShip tracking or webhook"))?;
    if let Some(ev) = d.event.get()
        && ev != "tracking_update"
    {
        return Err(ParseError::new(
            "event",
            format!("{ev:?} is not a tracking event (expected \"tracking_update\")"),
        ));
    }
    let mut r = Parsed {
        observations: Vec::new(),
        unreadable: Vec::new(),
    };
    if let Some(t) = d.msg.0.take() {
        tracking(&t, "msg.", &mut r);
    } else if let Some(mut data) = d.data.0.take() {
        if let Some(t) = data.tracking.0.take() {
            tracking(&t, "data.tracking.", &mut r);
        } else if let Some(list) = data.trackings.take() {
            for (i, t) in list.0.iter().enumerate() {
                tracking(t, &format!("data.trackings[{i}]."), &mut r);
            }
        } else if has_tracking(&data) {
            tracking(&data, "data.", &mut r);
        } else {
            return Err(ParseError::new("data", "no tracking in data"));
        }
    } else if has_tracking(&d) {
        tracking(&d, "", &mut r);
    } else if d.event.get().is_some() {
        return Err(ParseError::new("msg", "missing the tracking object"));
    } else {
        return Err(ParseError::new(
            "(document)",
            "neither an AfterShip tracking (`tracking_number`), a response wrapping one \
             (`data`) nor a webhook (`msg`)",
        ));
    }
    Ok(r)
}

fn tracking(t: &Tracking<'_>, base: &str, r: &mut Parsed) {
    let number = t.tracking_number.get();
    let order_ref = t
        .order_id
        .get()
        .or_else(|| t.order_number.get())
        .map(str::to_owned);
    let carrier = t.slug.get().map(str::to_owned);
    let service = t.shipment_type.get().map(str::to_owned);
    // A bare date (no time) has no instant of its own; the promise is only kept when exact.
    let promised_at = t.expected_delivery.get().and_then(timefmt::with_offset);
    let list = t.checkpoints.as_ref().map_or(&[][..], |l| &l.0[..]);
    let single = t
        .checkpoint
        .0
        .as_ref()
        .map(|c| (format!("{base}checkpoint"), c));
    let all = list
        .iter()
        .enumerate()
        .map(|(i, c)| (format!("{base}checkpoints[{i}]"), c))
        .chain(single);
    r.observations.reserve(list.len());
    for (path, c) in all {
        let at = |f: &str| format!("{path}.{f}");
        let Some(key) = c.subtag.get().or_else(|| c.tag.get()) else {
            r.unreadable
                .push(ParseError::new(at("tag"), "neither subtag nor tag"));
            continue;
        };
        let country = c
            .country_iso3
            .get()
            .or_else(|| c.country_region.get())
            .or_else(|| c.country_name.get())
            .or_else(|| c.country_region_name.get());
        let location = geo::location(
            c.city.get(),
            c.state.get(),
            c.zip.get().or_else(|| c.postal_code.get()),
            country,
        );
        let Some(when) = c.checkpoint_time.get() else {
            r.unreadable.push(ParseError::new(
                at("checkpoint_time"),
                "missing checkpoint_time",
            ));
            continue;
        };
        let Some(stamp) = timefmt::read(when) else {
            r.unreadable.push(ParseError::new(
                at("checkpoint_time"),
                format!("{when:?} is not an ISO 8601 date or date-time"),
            ));
            continue;
        };
        // Without an offset the time is the checkpoint's local time: normalization places it in
        // the zone of the checkpoint's location, or reports it unreadable if that settles none.
        let (occurred_at, local_time) = stamp.split(None);
        let mut attributes = Map::new();
        if let Some(tag) = c.tag.get() {
            attributes.insert("tag".into(), Value::String(tag.to_owned()));
        }
        if let Some(l) = c.location.get() {
            attributes.insert("location_text".into(), Value::String(l.to_owned()));
        }
        if let Some(raw) = c.raw_tag.get() {
            attributes.insert("raw_tag".into(), Value::String(raw.to_owned()));
        }
        if c.tag.get() == Some("Delivered")
            && let Some(s) = t.signed_by.get()
        {
            attributes.insert("signed_by".into(), Value::String(s.to_owned()));
        }
        r.observations.push(Observation {
            mapping_key: key.to_owned(),
            raw_code: key.to_owned(),
            raw_description: c
                .message
                .get()
                .or_else(|| c.subtag_message.get())
                .map(str::to_owned),
            occurred_at,
            local_time,
            tracking_number: number.map(str::to_owned),
            order_ref: order_ref.clone(),
            carrier: carrier.clone(),
            service: service.clone(),
            location,
            promised_at,
            attributes,
            ..Observation::default()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(d: &[u8]) -> Vec<Observation> {
        parse(d).unwrap().observations
    }

    fn doc(time: &str, state: &str, country: &str) -> String {
        format!(
            r##"{{"event":"tracking_update","msg":{{"tracking_number":"T1","slug":"usps","order_id":"#1001",
            "checkpoints":[{{"checkpoint_time":"{time}","tag":"InTransit","subtag":"InTransit_007",
            "city":"CHICAGO","state":"{state}","zip":"60601","country_iso3":"{country}"}}]}},"ts":1}}"##
        )
    }

    #[test]
    fn offset_kept_or_left_to_the_place() {
        let o = parse_ok(doc("2024-03-10T01:30:00-06:00", "IL", "USA").as_bytes());
        assert_eq!(
            o[0].occurred_at.unwrap().instant.to_string(),
            "2024-03-10T07:30:00Z"
        );
        assert!(o[0].local_time.is_none());
        assert_eq!(o[0].mapping_key, "InTransit_007");
        assert_eq!(o[0].order_ref.as_deref(), Some("#1001"));
        let s = parse_ok(doc("2024-07-01T08:00:00", "IL", "USA").as_bytes());
        assert!(s[0].occurred_at.is_none());
        let l = s[0].local_time.as_ref().unwrap();
        assert_eq!(l.civil.to_string(), "2024-07-01T08:00:00");
        assert!(l.zone.is_none() && !l.date_only);
        let w = parse_ok(doc("2024-01-15", "IL", "USA").as_bytes());
        assert!(w[0].local_time.as_ref().unwrap().date_only);
    }

    #[test]
    fn every_wrapper_is_read() {
        let webhook = doc("2024-03-10T01:30:00-06:00", "IL", "USA");
        let tracking =
            &webhook[webhook.find("\"msg\":").unwrap() + 6..webhook.find(",\"ts\"").unwrap()];
        for d in [
            format!(r#"{{"meta":{{"code":200}},"data":{{"tracking":{tracking}}}}}"#),
            format!(r#"{{"meta":{{"code":200}},"data":{tracking}}}"#),
            format!(
                r#"{{"meta":{{"code":200}},"data":{{"pagination":{{}},"trackings":[{tracking},{tracking}]}}}}"#
            ),
            tracking.to_owned(),
        ] {
            let o = parse_ok(d.as_bytes());
            assert!(!o.is_empty(), "{d}");
            assert_eq!(o[0].tracking_number.as_deref(), Some("T1"));
        }
        let last = r#"{"meta":{"code":200},"data":{"tracking_number":"T2","checkpoint":{"checkpoint_time":"2018-08-01T13:19:47-04:00","tag":"Delivered","subtag":"Delivered_001","state":"NJ"}}}"#;
        assert_eq!(parse_ok(last.as_bytes())[0].mapping_key, "Delivered_001");
    }

    #[test]
    fn an_unreadable_time_is_reported_with_its_path() {
        let r = parse(doc("soon", "IL", "USA").as_bytes()).unwrap();
        assert!(r.observations.is_empty());
        assert_eq!(r.unreadable[0].path, "msg.checkpoints[0].checkpoint_time");
    }

    #[test]
    fn empty_history_and_wrong_event() {
        let d = r#"{"event":"tracking_update","msg":{"tracking_number":"T1","checkpoints":[]}}"#;
        assert!(parse_ok(d.as_bytes()).is_empty());
        let d = r#"{"event":"estimated_delivery_date_update","msg":{}}"#;
        assert_eq!(parse(d.as_bytes()).unwrap_err().path, "event");
        assert!(parse(b"").is_err());
        assert!(parse(br#"{"meta":{"code":4004},"data":{}}"#).is_err());
    }
}
