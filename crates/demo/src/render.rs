//! Turns a planned step into canonical event JSON, the generic source's wire format. Only the
//! fields of `waypost_domain::input::FIELDS` are written: the server rejects any other.

use crate::cities::City;
use crate::order::{Actor, Order, Setting, WAREHOUSES};
use jiff::Timestamp;
use jiff::tz::Offset;
use serde_json::{Map, Value, json};
use waypost_domain::Status;

/// The event for step `idx` of `order`, with times relative to `start_ms` (Unix milliseconds).
pub(crate) fn render(order: &Order, idx: usize, setting: &Setting, start_ms: i64) -> Value {
    let geo = &setting.geo;
    let step = &order.steps[idx];
    let city = geo.city(step.city);
    let order_id = order.id();
    let mut e = Map::new();
    match step.actor {
        Actor::Warehouse => {
            e.insert("source".into(), json!(WAREHOUSES[order.warehouse].name));
            e.insert("event_id".into(), json!(format!("{order_id}-{idx:02}")));
        }
        Actor::Shipment(i) => {
            let s = &order.shipments[i];
            e.insert("source".into(), json!(s.carrier.slug()));
            e.insert("event_id".into(), json!(format!("{}-{idx:02}", s.tracking)));
        }
    }
    e.insert("order_id".into(), json!(order_id));
    e.insert("status".into(), json!(step.status.as_str()));
    e.insert(
        "occurred_at".into(),
        json!(rfc3339(start_ms + step.at_ms, city.utc_offset)),
    );
    if let Some(reason) = step.reason {
        e.insert("reason".into(), json!(reason.as_str()));
    }
    e.insert("location".into(), location(city));
    e.insert("raw_code".into(), json!(step.raw.0));
    e.insert("raw_description".into(), json!(step.raw.1));
    let destination = geo.city(order.destination);
    match step.actor {
        Actor::Warehouse => {
            if step.status == Status::Pending {
                e.insert("destination".into(), location(destination));
            }
            // Shops promise to the second at most; rounding up keeps the promise as generous.
            let promised_ms = (start_ms + order.promised_ms + 999).div_euclid(1000) * 1000;
            let promised = rfc3339(promised_ms, destination.utc_offset);
            e.insert("promised_at".into(), json!(promised));
            let attributes = json!({
                "channel": order.channel,
                "items": order.items,
                "shipments": order.shipments.len(),
            });
            e.insert("attributes".into(), attributes);
        }
        Actor::Shipment(i) => {
            let s = &order.shipments[i];
            e.insert("tracking_number".into(), json!(s.tracking));
            e.insert("carrier".into(), json!(s.carrier.slug()));
            e.insert("service".into(), json!(s.service.name));
            if matches!(step.status, Status::LabelCreated | Status::Shipped) {
                e.insert("origin".into(), location(geo.city(order.origin)));
                e.insert("destination".into(), location(destination));
            }
            if step.status == Status::LabelCreated {
                let package = format!("{} of {}", i + 1, order.shipments.len());
                e.insert(
                    "attributes".into(),
                    json!({ "weight_kg": s.weight_kg, "package": package }),
                );
            }
        }
    }
    Value::Object(e)
}

fn location(c: &City) -> Value {
    json!({
        "city": c.name,
        "region": c.region,
        "postal_code": c.postal_code,
        "country": c.country,
        "lat": c.lat,
        "lon": c.lon,
    })
}

/// RFC 3339 in the city's local offset, always as `±hh:mm` (never `Z`) because the offset is
/// part of what a local scan says; milliseconds only when there are some.
pub(crate) fn rfc3339(unix_ms: i64, utc_offset: i32) -> String {
    // Out of range only for instants thousands of years away, which the world never produces.
    let ts = Timestamp::from_millisecond(unix_ms).unwrap_or(Timestamp::UNIX_EPOCH);
    let offset = Offset::from_seconds(utc_offset).unwrap_or(Offset::UTC);
    let dt = offset.to_datetime(ts);
    let mut s = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    );
    let ms = dt.subsec_nanosecond() / 1_000_000;
    if ms != 0 {
        s.push_str(&format!(".{ms:03}"));
    }
    let secs = offset.seconds();
    let sign = if secs < 0 { '-' } else { '+' };
    let abs = secs.abs();
    s.push_str(&format!("{sign}{:02}:{:02}", abs / 3600, (abs % 3600) / 60));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use waypost_domain::EventTime;

    #[test]
    fn times_carry_the_local_offset_and_round_trip() {
        let ms = 1_795_706_100_000; // 2026-11-26T15:15:00Z
        assert_eq!(rfc3339(ms, -5 * 3600), "2026-11-26T10:15:00-05:00");
        assert_eq!(rfc3339(ms + 250, 3600), "2026-11-26T16:15:00.250+01:00");
        assert_eq!(rfc3339(ms, 0), "2026-11-26T15:15:00+00:00");
        let parsed =
            EventTime::parse(&rfc3339(ms + 250, -8 * 3600)).map(|t| t.instant.as_millisecond());
        assert_eq!(parsed, Ok(ms + 250));
    }
}
