//! BigCommerce: the thin `store/order/*` webhook ([`notice`]) and the order the V2 API gives
//! in three fetches ([`read`]): `GET /v2/orders/{id}`, its `/products` and its
//! `/shipping_addresses`. Money is 4-decimal strings, dates RFC 2822, and empty objects
//! stand where null was meant (`credit_card_type: {}`).

use super::Read;
use super::common::{ReadError, kind};
use super::web::{Cx, currency, full_name, get, text};
use crate::model::{Address, ChannelOrder, ChannelState, Customer, Line};
use jiff::Timestamp;
use rust_decimal::Decimal;
use serde_json::Value;

const CHANNEL: &str = "bigcommerce";

/// A `store/order/*` webhook: which order changed, nothing of the order itself (the intake
/// service fetches it and hands the three bodies to [`read`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// `store/order/created`, `store/order/updated`, `store/order/statusUpdated`, …
    pub scope: String,
    /// The store hash, from `producer` (`stores/{hash}`).
    pub store: String,
    pub order_id: u64,
    /// BigCommerce's dedup key: the same `hash` on two deliveries is one event.
    pub hash: String,
    /// When BigCommerce made the event (`created_at`, epoch seconds).
    pub created_at: Timestamp,
    /// `(previous_status_id, new_status_id)` on `statusUpdated`.
    pub status_change: Option<(i64, i64)>,
}

/// Reads the webhook body `{"scope", "store_id", "data": {"type", "id", "status"?}, "hash",
/// "created_at", "producer"}`.
pub fn notice(body: &[u8]) -> Result<Notice, ReadError> {
    let cx = Cx::new(CHANNEL);
    let doc = cx.parse(body)?;
    cx.object(&doc, "document")?;
    let scope = text(get(&doc, "scope")).ok_or_else(|| cx.err("scope", "no scope"))?;
    let producer = text(get(&doc, "producer")).ok_or_else(|| cx.err("producer", "no producer"))?;
    let store = match producer.strip_prefix("stores/") {
        Some(h) if !h.is_empty() => h.to_string(),
        _ => {
            return Err(cx.err(
                "producer",
                format!("{producer:?} is not stores/{{store_hash}}"),
            ));
        }
    };
    let data = get(&doc, "data").ok_or_else(|| cx.err("data", "no data"))?;
    let order_id = match get(data, "id") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| cx.err("data.id", "no order id (a non-negative integer)"))?;
    let hash = text(get(&doc, "hash")).ok_or_else(|| cx.err("hash", "no hash"))?;
    let created_at = get(&doc, "created_at")
        .and_then(Value::as_i64)
        .ok_or_else(|| cx.err("created_at", "no created_at (epoch seconds)"))
        .and_then(|s| {
            Timestamp::from_second(s).map_err(|e| cx.err("created_at", format!("{s}: {e}")))
        })?;
    let status_change = get(data, "status").and_then(|s| {
        let prev = get(s, "previous_status_id")?.as_i64()?;
        let new = get(s, "new_status_id")?.as_i64()?;
        Some((prev, new))
    });
    Ok(Notice {
        scope,
        store,
        order_id,
        hash,
        created_at,
        status_change,
    })
}

/// Composes one order from its three V2 bodies. `products` and `shipping_addresses` may be
/// empty (the V2 API answers 204 with no body for an empty list). `store` (the store hash
/// or however the tenant names the store) becomes the order's `account_ref`.
pub fn read(order: &[u8], products: &[u8], shipping_addresses: &[u8], store: Option<&str>) -> Read {
    let mut cx = Cx::new(CHANNEL);
    let o = cx.parse(order)?;
    cx.object(&o, "order")?;
    let external_id = cx.id(get(&o, "id"), "order.id")?;
    let products = sub_list(&cx, products, "products")?;
    let addresses = sub_list(&cx, shipping_addresses, "shipping_addresses")?;

    let mut lines = Vec::new();
    for (i, p) in products.iter().enumerate() {
        lines.push(line(&mut cx, p, &format!("products[{i}]"), &external_id)?);
    }
    let ship_to = addresses.first().map(address);
    if addresses.len() > 1 {
        let first = addresses
            .first()
            .and_then(|a| text(get(a, "id")))
            .unwrap_or_default();
        cx.note(
            "shipping_addresses",
            format!(
                "{} shipping addresses: ship_to is the first (id {first}); the lines go to several",
                addresses.len()
            ),
        );
    }
    let service_level = addresses
        .first()
        .and_then(|a| text(get(a, "shipping_method")));

    let billing = get(&o, "billing_address");
    let customer = Customer {
        // `customer_id: 0` is a guest.
        id: text(get(&o, "customer_id")).filter(|id| id != "0"),
        email: billing.and_then(|b| text(get(b, "email"))),
        phone: billing.and_then(|b| text(get(b, "phone"))),
        name: billing.and_then(|b| full_name(get(b, "first_name"), get(b, "last_name"))),
        group: None,
    };
    let state = state(&mut cx, &o);
    Ok(vec![ChannelOrder {
        account_ref: store
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        external_id,
        created_at: cx.instant(get(&o, "date_created"), "order.date_created", false)?,
        updated_at: cx.instant(get(&o, "date_modified"), "order.date_modified", false)?,
        state,
        lines,
        currency: currency(get(&o, "currency_code")),
        total: cx.money(get(&o, "total_inc_tax"), "order.total_inc_tax")?,
        customer,
        ship_to,
        service_level,
        note: text(get(&o, "customer_message")),
        read_notes: cx.take_notes(),
        ..ChannelOrder::default()
    }])
}

/// A sub-resource list: a JSON array, or nothing at all (204 No Content).
fn sub_list(cx: &Cx, body: &[u8], name: &str) -> Result<Vec<Value>, ReadError> {
    if body.trim_ascii().is_empty() {
        return Ok(Vec::new());
    }
    match cx.parse(body)? {
        Value::Array(a) => Ok(a),
        other => Err(cx.err(name, format!("expected an array, got {}", kind(&other)))),
    }
}

/// The order's state from `status_id`, per `GET /v2/order_statuses`: 0 Incomplete,
/// 1 Pending, 2 Shipped, 3 Partially Shipped, 4 Refunded, 5 Cancelled, 6 Declined,
/// 7 Awaiting Payment, 8 Awaiting Pickup, 9 Awaiting Shipment, 10 Completed,
/// 11 Awaiting Fulfillment, 12 Manual Verification Required, 13 Disputed,
/// 14 Partially Refunded. An archived order (`is_deleted`) is cancelled whatever its status.
fn state(cx: &mut Cx, o: &Value) -> ChannelState {
    let name = text(get(o, "status"));
    let named = |fallback: &str| name.clone().unwrap_or_else(|| fallback.to_string());
    if get(o, "is_deleted").and_then(Value::as_bool) == Some(true) {
        return ChannelState::Cancelled {
            reason: Some("deleted".to_string()),
        };
    }
    let id = match get(o, "status_id") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    match id {
        Some(0) => ChannelState::Incomplete {
            why: format!("status 0 {}: checkout not finished", named("Incomplete")),
        },
        Some(1) => ChannelState::Incomplete {
            why: format!("status 1 {}: payment not yet confirmed", named("Pending")),
        },
        Some(7) => ChannelState::Incomplete {
            why: format!("status 7 {}", named("Awaiting Payment")),
        },
        Some(4) => ChannelState::Cancelled {
            reason: Some(named("Refunded")),
        },
        Some(5) => ChannelState::Cancelled {
            reason: Some(named("Cancelled")),
        },
        Some(6) => ChannelState::Cancelled {
            reason: Some(named("Declined")),
        },
        Some(12) => ChannelState::OnHold {
            why: format!("status 12 {}", named("Manual Verification Required")),
        },
        Some(13) => ChannelState::OnHold {
            why: format!("status 13 {}", named("Disputed")),
        },
        Some(2 | 3 | 8 | 9 | 10 | 11 | 14) => ChannelState::Open,
        Some(other) => {
            cx.note(
                "order.status_id",
                format!("status_id {other} is not one BigCommerce documents"),
            );
            ChannelState::Incomplete {
                why: format!("unknown status_id {other}"),
            }
        }
        None => ChannelState::Incomplete {
            why: "no status_id".to_string(),
        },
    }
}

fn line(cx: &mut Cx, l: &Value, p: &str, order_id: &str) -> Result<Line, ReadError> {
    cx.object(l, p)?;
    // Three fetches make one order: a product list of another order is a wiring fault.
    if let Some(of) = text(get(l, "order_id"))
        && of != order_id
    {
        return Err(cx.err(
            format!("{p}.order_id"),
            format!("this line belongs to order {of}, not {order_id}"),
        ));
    }
    let quantity = cx.quantity(get(l, "quantity"), &format!("{p}.quantity"))?;
    let mut alt_ids = Vec::new();
    for key in ["product_id", "variant_id"] {
        if let Some(id) = text(get(l, key)).filter(|id| id != "0") {
            alt_ids.push((key.to_string(), id));
        }
    }
    let sku = text(get(l, "sku"));
    if sku.is_none() {
        let by = alt_ids
            .first()
            .map_or("no other id".to_string(), |(k, v)| format!("{k} {v}"));
        cx.note(
            format!("{p}.sku"),
            format!("no sku; the line is known by {by}"),
        );
    }
    let unit_price = cx.money(get(l, "price_ex_tax"), &format!("{p}.price_ex_tax"))?;
    let tax = match cx.money(get(l, "total_tax"), &format!("{p}.total_tax"))? {
        Some(t) => Some(t),
        None => cx
            .money(get(l, "price_tax"), &format!("{p}.price_tax"))?
            .and_then(|t: Decimal| t.checked_mul(quantity))
            .map(|d| d.normalize()),
    };
    Ok(Line {
        line_id: text(get(l, "id")),
        sku,
        alt_ids,
        title: text(get(l, "name")),
        quantity,
        uom: None,
        unit_price,
        tax,
    })
}

fn address(a: &Value) -> Address {
    Address {
        name: full_name(get(a, "first_name"), get(a, "last_name")),
        company: text(get(a, "company")),
        lines: [get(a, "street_1"), get(a, "street_2")]
            .into_iter()
            .filter_map(text)
            .collect(),
        city: text(get(a, "city")),
        region: text(get(a, "state")),
        postal_code: text(get(a, "zip")),
        country: text(get(a, "country_iso2")).or_else(|| text(get(a, "country"))),
        phone: text(get(a, "phone")),
        email: text(get(a, "email")),
        ..Address::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_updated_notice_reads() {
        let body = br#"{"scope":"store/order/statusUpdated","store_id":"1025646","data":{"type":"order","id":250,"status":{"previous_status_id":0,"new_status_id":11}},"hash":"dd70c0976e06b67aaf671e73f49dcb79230ebf9d","created_at":1561479335,"producer":"stores/abc123xyz"}"#;
        let n = notice(body).expect("reads");
        assert_eq!(n.scope, "store/order/statusUpdated");
        assert_eq!(n.store, "abc123xyz");
        assert_eq!(n.order_id, 250);
        assert_eq!(n.hash, "dd70c0976e06b67aaf671e73f49dcb79230ebf9d");
        assert_eq!(n.created_at.as_second(), 1_561_479_335);
        assert_eq!(n.status_change, Some((0, 11)));
    }

    #[test]
    fn a_created_notice_has_no_status_change_and_bad_ones_are_refused() {
        let body = br#"{"scope":"store/order/created","store_id":"1025646","data":{"type":"order","id":251},"hash":"5c2b","created_at":1561479400,"producer":"stores/abc123xyz"}"#;
        let n = notice(body).expect("reads");
        assert_eq!(n.status_change, None);
        let bad = br#"{"scope":"store/order/created","data":{"id":-1},"hash":"x","created_at":1,"producer":"stores/a"}"#;
        assert_eq!(
            notice(bad).map_err(|e| e.to_string()),
            Err("bigcommerce document, at data.id: no order id (a non-negative integer)".into())
        );
        assert!(
            notice(
                br#"{"scope":"s","data":{"id":1},"hash":"x","created_at":1,"producer":"app/9"}"#
            )
            .is_err()
        );
        assert!(notice(b"[]").is_err());
    }
}
