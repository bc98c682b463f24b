//! The generic WMS event format of `docs/wms.md`: one JSON object per event, pushed as a
//! webhook body and listed in the changes feed.

use super::iso_local_ms;
use crate::world::{SimOrder, WmsEvent};
use serde_json::{Value, json};

fn customer_json(order_id: &str) -> Value {
    let c = crate::Customer::of(order_id);
    json!({ "id": c.id, "email": c.email, "phone": c.phone })
}

pub fn event(order: &SimOrder, e: &WmsEvent) -> Value {
    let lines: Vec<Value> = order
        .lines
        .iter()
        .map(|l| json!({ "sku": l.sku, "quantity": l.quantity }))
        .collect();
    let mut v = json!({
        "event_id": e.event_id,
        "event_type": e.event_type,
        "occurred_at": iso_local_ms(e.at, e.place.utc_offset_secs),
        "warehouse_id": order.plan.warehouse,
        "order_id": order.plan.id,
        "lines": lines,
        "reason": e.reason,
        "description": e.description,
        "location": {
            "city": e.place.city,
            "region": e.place.region,
            "postal_code": e.place.postal_code,
            "country": e.place.country,
        },
        "channel": order.channel,
        "customer": customer_json(&order.plan.id),
    });
    if let Some(s) = e.shipment.and_then(|i| order.shipments.get(i))
        && let Some(obj) = v.as_object_mut()
    {
        obj.insert("tracking_number".into(), json!(s.tracking_number));
        obj.insert("carrier".into(), json!(s.carrier.slug()));
        obj.insert("service".into(), json!(s.service));
    }
    v
}
