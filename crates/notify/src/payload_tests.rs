use super::*;
use crate::plan::ShipmentFacts;
use serde_json::{Value, json};

const SCHEMA: &str = include_str!("../../../docs/schemas/notification.json");

/// The part of JSON Schema 2020-12 the schema uses: `$ref` into `$defs`, `oneOf`, `type`,
/// `const`, `required`, `properties`, `additionalProperties: false`, `items`, `minimum` and
/// the `date-time` format. Returns the first violation, with its path.
fn validate(root: &Value, schema: &Value, v: &Value, path: &str) -> Result<(), String> {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r
            .strip_prefix("#/$defs/")
            .ok_or(format!("unsupported $ref {r}"))?;
        let target = &root["$defs"][name];
        if target.is_null() {
            return Err(format!("dangling $ref {r}"));
        }
        validate(root, target, v, path)?;
    }
    if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
        let passing = options
            .iter()
            .filter(|o| validate(root, o, v, path).is_ok())
            .count();
        if passing != 1 {
            return Err(format!("{path}: {passing} of oneOf match"));
        }
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => return Err(format!("{path}: bad type keyword")),
        };
        let ok = types.iter().any(|t| match *t {
            "string" => v.is_string(),
            "null" => v.is_null(),
            "object" => v.is_object(),
            "array" => v.is_array(),
            "number" => v.is_number(),
            "integer" => v.is_u64() || v.is_i64(),
            "boolean" => v.is_boolean(),
            _ => false,
        });
        if !ok {
            return Err(format!("{path}: {v} is not {types:?}"));
        }
    }
    if let Some(c) = schema.get("const")
        && c != v
    {
        return Err(format!("{path}: {v} is not {c}"));
    }
    if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
        && v.as_f64().is_some_and(|x| x < min)
    {
        return Err(format!("{path}: {v} < {min}"));
    }
    if schema.get("format").and_then(Value::as_str) == Some("date-time")
        && v.as_str().is_some_and(|s| s.parse::<Timestamp>().is_err())
    {
        return Err(format!("{path}: {v} is not a date-time"));
    }
    if let Some(obj) = v.as_object() {
        for key in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !obj.contains_key(key) {
                return Err(format!("{path}: required key {key} missing"));
            }
        }
        let props = schema.get("properties").and_then(Value::as_object);
        for (key, value) in obj {
            match props.and_then(|p| p.get(key)) {
                Some(s) => validate(root, s, value, &format!("{path}.{key}"))?,
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    return Err(format!("{path}: key {key} is not in the schema"));
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
        for (i, item) in arr.iter().enumerate() {
            validate(root, items, item, &format!("{path}[{i}]"))?;
        }
    }
    Ok(())
}

fn check(v: &Value) -> Result<(), String> {
    let schema: Value = serde_json::from_str(SCHEMA).expect("schema is JSON");
    validate(&schema, &schema, v, "$")
}

fn ts(s: &str) -> Timestamp {
    s.parse().expect("timestamp")
}

fn full_facts() -> OrderFacts {
    OrderFacts {
        tenant: "acme".into(),
        order_id: "A-1".into(),
        seq: 42,
        status: "out_for_delivery".into(),
        previous_status: Some("in_transit".into()),
        reason: Some("weather".into()),
        carriers: vec!["dhl".into()],
        shipments: vec![
            ShipmentFacts {
                tracking_number: "JD1".into(),
                status: "out_for_delivery".into(),
                carrier: Some("dhl".into()),
                reason: None,
                location: Some(Location {
                    city: Some("Leipzig".into()),
                    country: Some("DE".into()),
                    lat: Some(51.34),
                    lon: Some(12.37),
                    ..Location::default()
                }),
            },
            ShipmentFacts {
                tracking_number: "JD2".into(),
                status: "delivered".into(),
                ..ShipmentFacts::default()
            },
        ],
        changed_at: Some(ts("2026-05-01T10:00:00Z")),
        customer_email: Some("never-sent@example.com".into()),
        ..OrderFacts::default()
    }
}

#[test]
fn status_changed_matches_the_schema() {
    let env = status_changed(&full_facts(), ts("2026-05-01T11:00:00Z"));
    let v = serde_json::to_value(&env).expect("json");
    assert_eq!(check(&v), Ok(()));
    assert_eq!(v["type"], "order.status_changed");
    assert_eq!(v["timestamp"], "2026-05-01T10:00:00Z");
    assert_eq!(v["data"]["shipments"][1]["location"], Value::Null);
    assert!(
        !v.to_string().contains("never-sent"),
        "customer contact details are not sent to webhooks"
    );

    let minimal = OrderFacts {
        tenant: "acme".into(),
        order_id: "A-2".into(),
        status: "pending".into(),
        ..OrderFacts::default()
    };
    let v =
        serde_json::to_value(status_changed(&minimal, ts("2026-05-01T11:00:00Z"))).expect("json");
    assert_eq!(check(&v), Ok(()));
    assert_eq!(v["timestamp"], "2026-05-01T11:00:00Z");
    assert_eq!(v["data"]["previous_status"], Value::Null);
}

#[test]
fn alert_raised_matches_the_schema() {
    let mut alert = AlertFacts {
        tenant: "acme".into(),
        order_id: "A-1".into(),
        alert_id: 9,
        public_id: "0123456789abcdef0123456789abcdef".into(),
        rule: "late".into(),
        severity: "high".into(),
        track: "JD1".into(),
        opened_at: ts("2026-05-01T10:00:00Z"),
        ..AlertFacts::default()
    };
    let v = serde_json::to_value(alert_raised(&alert)).expect("json");
    assert_eq!(check(&v), Ok(()));
    assert_eq!(v["data"]["track"], "JD1");
    // The public id goes out, never the internal number.
    assert_eq!(v["data"]["alert_id"], "0123456789abcdef0123456789abcdef");
    alert.track.clear();
    let v = serde_json::to_value(alert_raised(&alert)).expect("json");
    assert_eq!(check(&v), Ok(()));
    assert_eq!(v["data"]["track"], Value::Null);
    let body = to_body(&alert_raised(&alert)).expect("body");
    assert!(body.starts_with(br#"{"type":"alert.raised","timestamp":"#));
}

#[test]
fn the_checker_catches_what_the_schema_forbids() {
    let good =
        serde_json::to_value(status_changed(&full_facts(), Timestamp::UNIX_EPOCH)).expect("json");
    let mut missing = good.clone();
    missing["data"]
        .as_object_mut()
        .expect("object")
        .remove("seq");
    assert!(check(&missing).is_err());
    let mut extra = good.clone();
    extra["data"]["customer_email"] = json!("x@example.com");
    assert!(check(&extra).is_err());
    let mut wrong_type = good.clone();
    wrong_type["type"] = json!("alert.raised");
    assert!(check(&wrong_type).is_err());
    let mut bad_time = good;
    bad_time["timestamp"] = json!("yesterday");
    assert!(check(&bad_time).is_err());
}
