//! Parsing canonical events from JSON, the generic source's wire format. Errors name the field
//! (`[3].occurred_at`) so a sender can fix its payload without guessing; a batch is accepted
//! whole or not at all, so every error of the batch is reported at once.

use crate::event::{Event, Location};
use crate::ids::{EventId, OrderId, SourceName, TrackingNumber};
use crate::status::{Reason, Status};
use crate::time::EventTime;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::{Map, Value};

/// A problem with one field of one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// JSON-pointer-like path: `[2].location.lat`, or `occurred_at` for a single event.
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, Copy)]
pub struct InputLimits {
    pub max_batch: usize,
    /// How far in the future an `occurred_at` may be: clocks drift, prophecy does not happen.
    pub max_future: SignedDuration,
    /// Nothing in this business happened before this instant.
    pub earliest: Timestamp,
    pub max_text: usize,
    pub max_attributes_bytes: usize,
}

impl Default for InputLimits {
    fn default() -> Self {
        InputLimits {
            max_batch: 1000,
            max_future: SignedDuration::from_hours(24),
            earliest: Timestamp::constant(946_684_800, 0), // 2000-01-01T00:00:00Z
            max_text: 1024,
            max_attributes_bytes: 8192,
        }
    }
}

/// Every field the canonical event has. The OpenAPI document is checked against this list.
pub const FIELDS: &[&str] = &[
    "source",
    "event_id",
    "order_id",
    "status",
    "occurred_at",
    "tracking_number",
    "carrier",
    "service",
    "reason",
    "location",
    "origin",
    "destination",
    "raw_code",
    "raw_description",
    "promised_at",
    "attributes",
];
const LOCATION_FIELDS: &[&str] = &["city", "region", "postal_code", "country", "lat", "lon"];

/// Parses one event object or an array of them. `now` bounds the timestamps.
pub fn parse_events(
    value: &Value,
    now: Timestamp,
    limits: &InputLimits,
) -> Result<Vec<Event>, Vec<FieldError>> {
    match value {
        Value::Array(items) => {
            if items.is_empty() {
                return Err(vec![err("", "the batch is empty: send at least one event")]);
            }
            if items.len() > limits.max_batch {
                return Err(vec![err(
                    "",
                    format!(
                        "the batch has {} events, at most {} are accepted per request",
                        items.len(),
                        limits.max_batch
                    ),
                )]);
            }
            let mut events = Vec::with_capacity(items.len());
            let mut errors = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match parse_at(item, &format!("[{i}]."), now, limits) {
                    Ok(e) => events.push(e),
                    Err(mut es) => errors.append(&mut es),
                }
            }
            if errors.is_empty() {
                Ok(events)
            } else {
                Err(errors)
            }
        }
        other => parse_at(other, "", now, limits).map(|e| vec![e]),
    }
}

pub fn parse_event(
    value: &Value,
    now: Timestamp,
    limits: &InputLimits,
) -> Result<Event, Vec<FieldError>> {
    parse_at(value, "", now, limits)
}

fn err(field: impl Into<String>, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

/// Collects errors field by field so one response lists them all.
struct Fields<'a> {
    obj: &'a Map<String, Value>,
    prefix: &'a str,
    errors: Vec<FieldError>,
}

impl<'a> Fields<'a> {
    fn path(&self, name: &str) -> String {
        format!("{}{}", self.prefix, name)
    }

    fn fail(&mut self, name: &str, message: impl Into<String>) {
        let path = self.path(name);
        self.errors.push(err(path, message));
    }

    fn str_opt(&mut self, name: &str, max: usize) -> Option<&'a str> {
        match self.obj.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.len() > max => {
                self.fail(
                    name,
                    format!("must be at most {max} bytes, got {}", s.len()),
                );
                None
            }
            Some(Value::String(s))
                if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') =>
            {
                self.fail(name, "must not contain control characters");
                None
            }
            Some(Value::String(s)) => Some(s.as_str()),
            Some(other) => {
                self.fail(name, format!("must be a string, got {}", json_kind(other)));
                None
            }
        }
    }

    fn str_req(&mut self, name: &str, max: usize) -> Option<&'a str> {
        if !self.obj.contains_key(name) || self.obj.get(name) == Some(&Value::Null) {
            self.fail(name, "is required");
            return None;
        }
        self.str_opt(name, max)
    }

    fn id<T, E: std::fmt::Display>(
        &mut self,
        name: &str,
        required: bool,
        make: impl FnOnce(String) -> Result<T, E>,
    ) -> Option<T> {
        let s = if required {
            self.str_req(name, 4096)?
        } else {
            self.str_opt(name, 4096)?
        };
        match make(s.to_string()) {
            Ok(v) => Some(v),
            Err(e) => {
                self.fail(name, e.to_string());
                None
            }
        }
    }

    fn time(
        &mut self,
        name: &str,
        required: bool,
        lo: Timestamp,
        hi: Timestamp,
    ) -> Option<EventTime> {
        let s = if required {
            self.str_req(name, 64)?
        } else {
            self.str_opt(name, 64)?
        };
        match EventTime::parse(s) {
            Ok(t) if t.instant < lo || t.instant > hi => {
                self.fail(
                    name,
                    format!("{s} is outside the accepted range {lo} .. {hi}"),
                );
                None
            }
            Ok(t) => Some(t),
            Err(e) => {
                self.fail(name, e.to_string());
                None
            }
        }
    }

    fn location(&mut self, name: &str, max_text: usize) -> Option<Location> {
        let obj = match self.obj.get(name) {
            None | Some(Value::Null) => return None,
            Some(Value::Object(o)) => o,
            Some(other) => {
                self.fail(name, format!("must be an object, got {}", json_kind(other)));
                return None;
            }
        };
        let prefix = format!("{}{}.", self.prefix, name);
        let mut inner = Fields {
            obj,
            prefix: &prefix,
            errors: Vec::new(),
        };
        inner.unknown_fields(LOCATION_FIELDS);
        let before = inner.errors.len();
        let mut loc = Location {
            city: inner.str_opt("city", max_text).map(str::to_string),
            region: inner.str_opt("region", max_text).map(str::to_string),
            postal_code: inner.str_opt("postal_code", 32).map(str::to_string),
            country: None,
            lat: inner.coord("lat", 90.0),
            lon: inner.coord("lon", 180.0),
        };
        if let Some(c) = inner.str_opt("country", 8) {
            if c.len() == 2 && c.chars().all(|ch| ch.is_ascii_alphabetic()) {
                loc.country = Some(c.to_ascii_uppercase());
            } else {
                inner.fail(
                    "country",
                    format!("must be an ISO 3166-1 alpha-2 code, got {c:?}"),
                );
            }
        }
        let coords_valid = !inner.errors[before..]
            .iter()
            .any(|e| e.field.ends_with(".lat") || e.field.ends_with(".lon"));
        if coords_valid && loc.lat.is_some() != loc.lon.is_some() {
            inner.fail("lat", "lat and lon must be given together");
        }
        let ok = inner.errors.is_empty();
        self.errors.append(&mut inner.errors);
        ok.then_some(loc)
    }

    fn coord(&mut self, name: &str, bound: f64) -> Option<f64> {
        match self.obj.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match n.as_f64() {
                Some(v) if v.is_finite() && v.abs() <= bound => Some(v),
                _ => {
                    self.fail(
                        name,
                        format!("must be a number between -{bound} and {bound}"),
                    );
                    None
                }
            },
            Some(other) => {
                self.fail(name, format!("must be a number, got {}", json_kind(other)));
                None
            }
        }
    }

    /// A value from a closed vocabulary; an unknown one is reported with every accepted name.
    fn vocab<T: std::str::FromStr>(
        &mut self,
        name: &str,
        value: &str,
        what: &str,
        names: &[&str],
    ) -> Option<T> {
        let parsed = value.parse().ok();
        if parsed.is_none() {
            self.fail(
                name,
                format!(
                    "{value:?} is not {what}; expected one of {}",
                    names.join(", ")
                ),
            );
        }
        parsed
    }

    fn unknown_fields(&mut self, known: &[&str]) {
        let unknown: Vec<String> = self
            .obj
            .keys()
            .filter(|k| !known.contains(&k.as_str()))
            .cloned()
            .collect();
        for k in unknown {
            self.fail(&k, "is not a field of this object");
        }
    }
}

/// What kind of JSON value this is, for messages ("must be a string, got a number").
pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn parse_at(
    value: &Value,
    prefix: &str,
    now: Timestamp,
    limits: &InputLimits,
) -> Result<Event, Vec<FieldError>> {
    let Value::Object(obj) = value else {
        let at = prefix.trim_end_matches('.');
        return Err(vec![err(
            at,
            format!("an event must be an object, got {}", json_kind(value)),
        )]);
    };
    let mut f = Fields {
        obj,
        prefix,
        errors: Vec::new(),
    };
    f.unknown_fields(FIELDS);
    let hi = now.checked_add(limits.max_future).unwrap_or(now);
    let promise_hi = now
        .checked_add(SignedDuration::from_hours(24 * 366 * 2))
        .unwrap_or(now);
    let source = f.id("source", true, SourceName::new);
    let event_id = f.id("event_id", true, EventId::new);
    let order_id = f.id("order_id", true, OrderId::new);
    let tracking_number = f.id("tracking_number", false, TrackingNumber::new);
    let status = f.str_req("status", 64).and_then(|v| {
        let names = Status::ALL.map(Status::as_str);
        f.vocab("status", v, "a status", &names)
    });
    let reason = f.str_opt("reason", 64).and_then(|v| {
        let names = Reason::ALL.map(Reason::as_str);
        f.vocab("reason", v, "a reason", &names)
    });
    let occurred_at = f.time("occurred_at", true, limits.earliest, hi);
    let promised_at = f.time("promised_at", false, limits.earliest, promise_hi);
    let carrier = f.str_opt("carrier", 64).map(str::to_string);
    let service = f.str_opt("service", 128).map(str::to_string);
    let raw_code = f.str_opt("raw_code", 128).map(str::to_string);
    let raw_description = f
        .str_opt("raw_description", limits.max_text)
        .map(str::to_string);
    let location = f.location("location", limits.max_text);
    let origin = f.location("origin", limits.max_text);
    let destination = f.location("destination", limits.max_text);
    let attributes = match obj.get("attributes") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => {
            let size = serde_json::to_vec(m).map(|v| v.len()).unwrap_or(usize::MAX);
            if size > limits.max_attributes_bytes {
                f.fail(
                    "attributes",
                    format!(
                        "must be at most {} bytes of JSON, got {size}",
                        limits.max_attributes_bytes
                    ),
                );
            }
            m.clone()
        }
        Some(other) => {
            f.fail(
                "attributes",
                format!("must be an object, got {}", json_kind(other)),
            );
            Map::new()
        }
    };
    match (source, event_id, order_id, status, occurred_at) {
        (Some(source), Some(event_id), Some(order_id), Some(status), Some(occurred_at))
            if f.errors.is_empty() =>
        {
            Ok(Event {
                source,
                event_id,
                order_id,
                status,
                occurred_at,
                tracking_number,
                carrier,
                service,
                reason,
                location,
                origin,
                destination,
                raw_code,
                raw_description,
                promised_at,
                attributes,
            })
        }
        _ => Err(f.errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> Timestamp {
        "2024-06-01T12:00:00Z".parse().unwrap()
    }

    fn good() -> Value {
        json!({
            "source": "ups", "event_id": "e1", "order_id": "SO-1", "status": "in_transit",
            "occurred_at": "2024-06-01T08:00:00-04:00", "tracking_number": "1Z999",
            "location": {"city": "Louisville", "region": "KY", "country": "us", "lat": 38.2, "lon": -85.7},
            "attributes": {"hub": "worldport"}
        })
    }

    #[test]
    fn parses_a_full_event() {
        let e = parse_event(&good(), now(), &InputLimits::default()).unwrap();
        assert_eq!(e.status, Status::InTransit);
        assert_eq!(e.location.unwrap().country.as_deref(), Some("US"));
        assert_eq!(e.occurred_at.to_string(), "2024-06-01T08:00:00-04:00");
    }

    #[test]
    fn names_every_bad_field_with_its_index() {
        let mut bad = good();
        bad["status"] = json!("teleported");
        bad["occurred_at"] = json!("2024-06-01 08:00");
        bad["location"]["lat"] = json!(123.0);
        bad["colour"] = json!("blue");
        let errs = parse_events(&json!([good(), bad]), now(), &InputLimits::default()).unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"[1].status"), "{fields:?}");
        assert!(fields.contains(&"[1].occurred_at"), "{fields:?}");
        assert!(fields.contains(&"[1].location.lat"), "{fields:?}");
        assert!(fields.contains(&"[1].colour"), "{fields:?}");
        assert!(!fields.iter().any(|f| f.starts_with("[0]")), "{fields:?}");
    }

    #[test]
    fn rejects_absurd_times_missing_ids_and_wrong_types() {
        let mut e = good();
        e["occurred_at"] = json!("2999-01-01T00:00:00Z");
        e["event_id"] = json!(17);
        e.as_object_mut().unwrap().remove("order_id");
        let errs = parse_event(&e, now(), &InputLimits::default()).unwrap_err();
        let msgs: Vec<String> = errs
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect();
        assert!(
            msgs.iter()
                .any(|m| m.starts_with("occurred_at: ") && m.contains("outside")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m == "event_id: must be a string, got a number"),
            "{msgs:?}"
        );
        assert!(
            msgs.iter().any(|m| m == "order_id: is required"),
            "{msgs:?}"
        );
    }

    #[test]
    fn rejects_empty_and_oversized_batches() {
        let limits = InputLimits {
            max_batch: 2,
            ..InputLimits::default()
        };
        assert!(parse_events(&json!([]), now(), &limits).is_err());
        assert!(parse_events(&json!([good(), good(), good()]), now(), &limits).is_err());
        assert!(parse_events(&json!("hello"), now(), &limits).is_err());
    }

    #[test]
    fn field_list_matches_the_event_type() {
        let e = parse_event(&good(), now(), &InputLimits::default()).unwrap();
        let mut full = serde_json::to_value(&e).unwrap();
        for f in [
            "carrier",
            "service",
            "reason",
            "origin",
            "destination",
            "raw_code",
            "raw_description",
            "promised_at",
        ] {
            full[f] = json!(null);
        }
        for k in full.as_object().unwrap().keys() {
            assert!(FIELDS.contains(&k.as_str()), "{k} missing from FIELDS");
        }
    }
}
