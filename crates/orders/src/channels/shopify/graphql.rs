//! The GraphQL Admin API's `Order`, as a poll reads it: `data.orders` (a connection of
//! `edges[].node`, or `nodes[]`) or `data.order`.

use super::{at, state};
use crate::channels::Read;
use crate::channels::common::ReadError;
use crate::channels::web::{Cx, currency, dig, full_name, get, list, text};
use crate::model::{Address, ChannelOrder, Customer, Hint, Line, Risk, RiskLevel};
use rust_decimal::Decimal;
use serde_json::Value;

/// Reads a GraphQL Admin API response. Top-level `errors` (a bad query, `THROTTLED`, an access
/// denial) refuse the document with their messages: a partial `data` next to errors is not
/// a statement of the orders. `shop_domain` becomes `account_ref`.
pub fn graphql(body: &[u8], shop_domain: Option<&str>) -> Read {
    let mut cx = Cx::new("shopify");
    let doc = cx.parse(body)?;
    cx.object(&doc, "document")?;
    if let Some(errors) = get(&doc, "errors") {
        return Err(cx.err("errors", error_messages(errors)));
    }
    let data = get(&doc, "data").ok_or_else(|| cx.err("data", "no data and no errors"))?;
    let account = shop_domain.map(str::trim).filter(|s| !s.is_empty());
    if let Some(one) = get(data, "order") {
        // `order: null` is how GraphQL says "no such order": nothing to read.
        if one.is_null() {
            return Ok(Vec::new());
        }
        return Ok(vec![order(&mut cx, one, "data.order", account)?]);
    }
    let Some(conn) = get(data, "orders") else {
        return Err(cx.err("data", "neither data.orders nor data.order"));
    };
    cx.object(conn, "data.orders")?;
    let mut out = Vec::new();
    if let Some(edges) = get(conn, "edges") {
        for (i, e) in cx
            .list(Some(edges), "data.orders.edges")?
            .iter()
            .enumerate()
        {
            let p = format!("data.orders.edges[{i}].node");
            let node = get(e, "node").ok_or_else(|| cx.err(&p, "no node"))?;
            out.push(order(&mut cx, node, &p, account)?);
        }
    } else {
        for (i, node) in cx
            .list(get(conn, "nodes"), "data.orders.nodes")?
            .iter()
            .enumerate()
        {
            out.push(order(
                &mut cx,
                node,
                &format!("data.orders.nodes[{i}]"),
                account,
            )?);
        }
    }
    Ok(out)
}

/// `data.orders.pageInfo` of a response: whether there is a next page, and the cursor to ask
/// for it. `None` when the body is not a readable orders page.
pub fn page_info(body: &[u8]) -> Option<(bool, Option<String>)> {
    let doc = Cx::new("shopify").parse(body).ok()?;
    let info = dig(&doc, &["data", "orders", "pageInfo"])?;
    let more = get(info, "hasNextPage")?.as_bool()?;
    Some((more, text(get(info, "endCursor"))))
}

/// The messages of a GraphQL `errors` array, joined.
fn error_messages(errors: &Value) -> String {
    let msgs: Vec<String> = list(Some(errors))
        .iter()
        .take(10)
        .map(|e| {
            let msg = text(get(e, "message")).unwrap_or_else(|| "(no message)".to_string());
            match text(dig(e, &["extensions", "code"])) {
                Some(code) => format!("{msg} ({code})"),
                None => msg,
            }
        })
        .collect();
    if msgs.is_empty() {
        format!("the API answered errors: {errors}")
    } else {
        format!("the API answered errors: {}", msgs.join("; "))
    }
}

/// The numeric tail of a GID (`gid://shopify/Order/450789469` → `450789469`), the id REST
/// and webhooks use.
fn gid_tail(cx: &Cx, v: Option<&Value>, p: &str) -> Result<String, ReadError> {
    let gid = cx.id(v, p)?;
    let tail = gid.rsplit('/').next().unwrap_or_default();
    // A GID may carry a query (`…/Order/1?foo=bar`) in some resources; the id stops there.
    let tail = tail.split('?').next().unwrap_or_default();
    if tail.is_empty() || !tail.bytes().all(|b| b.is_ascii_digit()) {
        return Err(cx.err(p, format!("{gid:?} is not a Shopify GID with a numeric id")));
    }
    Ok(tail.to_string())
}

/// `{ shopMoney { amount currencyCode } }` → the amount.
fn shop_money(cx: &Cx, set: Option<&Value>, p: &str) -> Result<Option<Decimal>, ReadError> {
    match set {
        Some(s) if !s.is_null() => {
            cx.money(dig(s, &["shopMoney", "amount"]), &at(p, "shopMoney.amount"))
        }
        _ => Ok(None),
    }
}

fn order(
    cx: &mut Cx,
    o: &Value,
    p: &str,
    account: Option<&str>,
) -> Result<ChannelOrder, ReadError> {
    cx.object(o, p)?;
    let external_id = gid_tail(cx, get(o, "id"), &at(p, "id"))?;
    let total = match shop_money(
        cx,
        get(o, "currentTotalPriceSet"),
        &at(p, "currentTotalPriceSet"),
    )? {
        Some(t) => Some(t),
        None => shop_money(cx, get(o, "totalPriceSet"), &at(p, "totalPriceSet"))?,
    };
    let currency = currency(get(o, "currencyCode"))
        .or_else(|| currency(dig(o, &["totalPriceSet", "shopMoney", "currencyCode"])));
    let items = get(o, "lineItems");
    let (rows, key) = match items.and_then(|i| get(i, "edges")) {
        Some(edges) => (cx.list(Some(edges), &at(p, "lineItems.edges"))?, "edges"),
        None => (
            cx.list(
                items.and_then(|i| get(i, "nodes")),
                &at(p, "lineItems.nodes"),
            )?,
            "nodes",
        ),
    };
    let mut lines = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let mut lp = at(p, &format!("lineItems.{key}[{i}]"));
        let l = if key == "edges" {
            get(row, "node").ok_or_else(|| cx.err(&lp, "no node"))?
        } else {
            row
        };
        if key == "edges" {
            lp.push_str(".node");
        }
        if let Some(line) = line(cx, l, &lp)? {
            lines.push(line);
        }
    }
    let c = get(o, "customer").filter(|c| c.is_object());
    let customer = Customer {
        id: match c.and_then(|c| get(c, "id")) {
            Some(v) if !v.is_null() => Some(gid_tail(cx, Some(v), &at(p, "customer.id"))?),
            _ => None,
        },
        email: text(get(o, "email")).or_else(|| c.and_then(|c| text(get(c, "email")))),
        phone: text(get(o, "phone")).or_else(|| c.and_then(|c| text(get(c, "phone")))),
        name: c.and_then(|c| {
            full_name(get(c, "firstName"), get(c, "lastName"))
                .or_else(|| text(get(c, "displayName")))
        }),
        group: None,
    };
    let ship_to = match get(o, "shippingAddress") {
        Some(a) if a.is_object() => Some(address(cx, a, &at(p, "shippingAddress"))),
        _ => None,
    };
    let service_level =
        get(o, "shippingLine").and_then(|s| text(get(s, "title")).or_else(|| text(get(s, "code"))));
    let mut hints = Vec::new();
    if get(o, "test").and_then(Value::as_bool) == Some(true) {
        hints.push(Hint::Test);
    }
    let cancelled = !matches!(get(o, "cancelledAt"), None | Some(Value::Null));
    // GraphQL's enum (`CUSTOMER`) is REST's word (`customer`) in capitals.
    let reason = text(get(o, "cancelReason")).map(|r| r.to_ascii_lowercase());
    let financial = text(get(o, "displayFinancialStatus"));
    let tags = list(get(o, "tags"))
        .iter()
        .filter_map(|t| text(Some(t)))
        .collect();
    Ok(ChannelOrder {
        account_ref: account.map(str::to_string),
        external_id,
        display_id: text(get(o, "name")),
        order_id: None,
        created_at: cx.instant(get(o, "createdAt"), &at(p, "createdAt"), false)?,
        updated_at: cx.instant(get(o, "updatedAt"), &at(p, "updatedAt"), false)?,
        state: state(cancelled, reason, financial.as_deref()),
        lines,
        currency,
        total,
        customer,
        ship_to,
        service_level,
        promised_at: None,
        ship_by: None,
        hints,
        risks: risks(o),
        tags,
        note: text(get(o, "note")),
        read_notes: cx.take_notes(),
    })
}

/// `risks[] { level message }` (the older `OrderRisk` list), kept as the channel judged.
fn risks(o: &Value) -> Vec<Risk> {
    list(get(o, "risks"))
        .iter()
        .filter_map(|r| {
            let level = match text(get(r, "level"))?.to_ascii_uppercase().as_str() {
                "LOW" => RiskLevel::Low,
                "MEDIUM" => RiskLevel::Medium,
                "HIGH" => RiskLevel::High,
                _ => return None,
            };
            Some(Risk {
                level,
                message: text(get(r, "message")).unwrap_or_default(),
            })
        })
        .collect()
}

fn line(cx: &mut Cx, l: &Value, p: &str) -> Result<Option<Line>, ReadError> {
    cx.object(l, p)?;
    let quantity = match get(l, "currentQuantity") {
        Some(v) if !v.is_null() => {
            let q = cx.quantity(Some(v), &at(p, "currentQuantity"))?;
            if q.is_zero() {
                cx.note(p, "currentQuantity 0: removed by an order edit, dropped");
                return Ok(None);
            }
            q
        }
        _ => cx.quantity(get(l, "quantity"), &at(p, "quantity"))?,
    };
    let mut alt_ids = Vec::new();
    for (key, path) in [("variant_id", "variant"), ("product_id", "product")] {
        if let Some(v) = get(l, path)
            .and_then(|v| get(v, "id"))
            .filter(|v| !v.is_null())
        {
            alt_ids.push((
                key.to_string(),
                gid_tail(cx, Some(v), &at(p, &format!("{path}.id")))?,
            ));
        }
    }
    let sku = text(get(l, "sku"));
    if sku.is_none() {
        let by = alt_ids
            .first()
            .map_or("no other id".to_string(), |(k, v)| format!("{k} {v}"));
        cx.note(at(p, "sku"), format!("no sku; the line is known by {by}"));
    }
    let mut tax: Option<Decimal> = None;
    for (i, t) in list(get(l, "taxLines")).iter().enumerate() {
        if let Some(x) = shop_money(
            cx,
            get(t, "priceSet"),
            &at(p, &format!("taxLines[{i}].priceSet")),
        )? {
            tax = Some(super::add(cx, tax, x, p)?);
        }
    }
    let line_id = match get(l, "id") {
        Some(v) if !v.is_null() => Some(gid_tail(cx, Some(v), &at(p, "id"))?),
        _ => None,
    };
    Ok(Some(Line {
        line_id,
        sku,
        alt_ids,
        title: text(get(l, "name")).or_else(|| text(get(l, "title"))),
        quantity,
        uom: None,
        unit_price: shop_money(
            cx,
            get(l, "originalUnitPriceSet"),
            &at(p, "originalUnitPriceSet"),
        )?,
        tax,
    }))
}

fn address(cx: &mut Cx, a: &Value, p: &str) -> Address {
    Address {
        name: text(get(a, "name")).or_else(|| full_name(get(a, "firstName"), get(a, "lastName"))),
        company: text(get(a, "company")),
        lines: [get(a, "address1"), get(a, "address2")]
            .into_iter()
            .filter_map(text)
            .collect(),
        city: text(get(a, "city")),
        region: text(get(a, "provinceCode")).or_else(|| text(get(a, "province"))),
        postal_code: text(get(a, "zip")),
        country: text(get(a, "countryCodeV2"))
            .or_else(|| text(get(a, "countryCode")))
            .or_else(|| text(get(a, "country"))),
        phone: text(get(a, "phone")),
        email: None,
        location_code: None,
        lat: cx.coordinate(get(a, "latitude"), &at(p, "latitude"), 90.0),
        lon: cx.coordinate(get(a, "longitude"), &at(p, "longitude"), 180.0),
    }
}
