//! The REST `Order` resource, as webhooks and REST responses send it.

use super::{at, split_tags, state};
use crate::channels::Read;
use crate::channels::common::{ReadError, kind};
use crate::channels::web::{Cx, currency, dig, full_name, get, list, text};
use crate::model::{Address, ChannelOrder, Customer, Hint, Line};
use rust_decimal::Decimal;
use serde_json::Value;

/// Reads a webhook body (the `Order` resource with no wrapper) or a REST response
/// (`{"order": {…}}`, `{"orders": […]}`). `shop_domain` is the `X-Shopify-Shop-Domain`
/// header (or the configured shop when polling) and becomes the order's `account_ref`.
pub fn rest(body: &[u8], shop_domain: Option<&str>) -> Read {
    let mut cx = Cx::new("shopify");
    let doc = cx.parse(body)?;
    let root = cx.object(&doc, "document")?;
    if let Some(e) = root.get("errors") {
        // REST answers `{"errors": "Not Found"}` or `{"errors": {"field": ["msg"]}}`.
        return Err(cx.err("errors", format!("the API answered an error: {e}")));
    }
    let account = shop_domain.map(str::trim).filter(|s| !s.is_empty());
    match (root.get("order"), root.get("orders")) {
        (Some(o), _) => Ok(vec![order(&mut cx, o, "order", account)?]),
        (None, Some(Value::Array(all))) => all
            .iter()
            .enumerate()
            .map(|(i, o)| order(&mut cx, o, &format!("orders[{i}]"), account))
            .collect(),
        (None, Some(other)) => {
            Err(cx.err("orders", format!("expected an array, got {}", kind(other))))
        }
        (None, None) => Ok(vec![order(&mut cx, &doc, "", account)?]),
    }
}

fn order(
    cx: &mut Cx,
    o: &Value,
    p: &str,
    account: Option<&str>,
) -> Result<ChannelOrder, ReadError> {
    cx.object(o, if p.is_empty() { "document" } else { p })?;
    let external_id = cx.id(get(o, "id"), &at(p, "id"))?;
    let cancelled = !matches!(get(o, "cancelled_at"), None | Some(Value::Null));
    let financial = text(get(o, "financial_status"));
    let total = match get(o, "current_total_price") {
        Some(v) if !v.is_null() => cx.money(Some(v), &at(p, "current_total_price"))?,
        _ => cx.money(get(o, "total_price"), &at(p, "total_price"))?,
    };
    let mut lines = Vec::new();
    for (i, l) in cx
        .list(get(o, "line_items"), &at(p, "line_items"))?
        .iter()
        .enumerate()
    {
        if let Some(line) = line(cx, l, &at(p, &format!("line_items[{i}]")))? {
            lines.push(line);
        }
    }
    let customer_obj = get(o, "customer").filter(|c| c.is_object());
    let customer = Customer {
        id: customer_obj.and_then(|c| text(get(c, "id"))),
        email: text(get(o, "email"))
            .or_else(|| text(get(o, "contact_email")))
            .or_else(|| customer_obj.and_then(|c| text(get(c, "email")))),
        phone: text(get(o, "phone")).or_else(|| customer_obj.and_then(|c| text(get(c, "phone")))),
        name: customer_obj.and_then(|c| full_name(get(c, "first_name"), get(c, "last_name"))),
        group: None,
    };
    let ship_to = match get(o, "shipping_address") {
        Some(a) if a.is_object() => Some(address(cx, a, &at(p, "shipping_address"))),
        _ => None,
    };
    let shipping = list(get(o, "shipping_lines")).first();
    let mut hints = Vec::new();
    if get(o, "test").and_then(Value::as_bool) == Some(true) {
        hints.push(Hint::Test);
    }
    Ok(ChannelOrder {
        account_ref: account.map(str::to_string),
        external_id,
        display_id: text(get(o, "name")),
        order_id: None,
        created_at: cx.instant(get(o, "created_at"), &at(p, "created_at"), false)?,
        updated_at: cx.instant(get(o, "updated_at"), &at(p, "updated_at"), false)?,
        state: state(
            cancelled,
            text(get(o, "cancel_reason")),
            financial.as_deref(),
        ),
        lines,
        currency: currency(get(o, "currency")),
        total,
        customer,
        ship_to,
        service_level: shipping
            .and_then(|s| text(get(s, "title")).or_else(|| text(get(s, "code")))),
        promised_at: None,
        ship_by: None,
        hints,
        risks: Vec::new(),
        tags: text(get(o, "tags"))
            .map(|t| split_tags(&t))
            .unwrap_or_default(),
        note: text(get(o, "note")),
        read_notes: cx.take_notes(),
    })
}

/// One `line_items[]` entry; `None` for a line an edit removed (`current_quantity: 0`).
fn line(cx: &mut Cx, l: &Value, p: &str) -> Result<Option<Line>, ReadError> {
    cx.object(l, p)?;
    let quantity = match get(l, "current_quantity") {
        Some(v) if !v.is_null() => {
            let q = cx.quantity(Some(v), &at(p, "current_quantity"))?;
            if q.is_zero() {
                cx.note(p, "current_quantity 0: removed by an order edit, dropped");
                return Ok(None);
            }
            q
        }
        _ => cx.quantity(get(l, "quantity"), &at(p, "quantity"))?,
    };
    let mut alt_ids = Vec::new();
    for key in ["variant_id", "product_id"] {
        if let Some(id) = text(get(l, key)) {
            alt_ids.push((key.to_string(), id));
        }
    }
    let sku = text(get(l, "sku"));
    if sku.is_none() {
        let by = alt_ids
            .first()
            .map_or("no other id".to_string(), |(k, v)| format!("{k} {v}"));
        cx.note(at(p, "sku"), format!("no sku; the line is known by {by}"));
    }
    let unit_price = match get(l, "price") {
        Some(v) if !v.is_null() => cx.money(Some(v), &at(p, "price"))?,
        _ => cx.money(
            dig(l, &["price_set", "shop_money", "amount"]),
            &at(p, "price_set.shop_money.amount"),
        )?,
    };
    let mut tax: Option<Decimal> = None;
    for (i, t) in list(get(l, "tax_lines")).iter().enumerate() {
        if let Some(x) = cx.money(get(t, "price"), &at(p, &format!("tax_lines[{i}].price")))? {
            tax = Some(super::add(cx, tax, x, p)?);
        }
    }
    Ok(Some(Line {
        line_id: text(get(l, "id")),
        sku,
        alt_ids,
        title: text(get(l, "name")).or_else(|| text(get(l, "title"))),
        quantity,
        uom: None,
        unit_price,
        tax,
    }))
}

fn address(cx: &mut Cx, a: &Value, p: &str) -> Address {
    Address {
        name: text(get(a, "name")).or_else(|| full_name(get(a, "first_name"), get(a, "last_name"))),
        company: text(get(a, "company")),
        lines: [get(a, "address1"), get(a, "address2")]
            .into_iter()
            .filter_map(text)
            .collect(),
        city: text(get(a, "city")),
        region: text(get(a, "province_code")).or_else(|| text(get(a, "province"))),
        postal_code: text(get(a, "zip")),
        country: text(get(a, "country_code")).or_else(|| text(get(a, "country"))),
        phone: text(get(a, "phone")),
        email: None,
        location_code: None,
        lat: cx.coordinate(get(a, "latitude"), &at(p, "latitude"), 90.0),
        lon: cx.coordinate(get(a, "longitude"), &at(p, "longitude"), 180.0),
    }
}
