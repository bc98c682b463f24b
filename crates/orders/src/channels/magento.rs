//! Adobe Commerce / Magento 2 (`salesOrderRepositoryV1`): `GET /V1/orders/{id}` and the
//! search result of `GET /V1/orders?searchCriteria…`. Money and quantities are JSON numbers,
//! dates MySQL-style UTC without a zone, and the item list is flat with parent and child rows
//! (a configurable product and its simple child, a bundle and its parts), so the canonical
//! lines are chosen by the rule in [`lines`].

use super::Read;
use super::common::{ReadError, kind};
use super::web::{Cx, currency, dig, full_name, get, list, text};
use crate::model::{Address, ChannelOrder, ChannelState, Customer, Line};
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::HashMap;

/// Reads one order or a search result (`{"items": […], "total_count": N}`). `base` is the
/// store's base URL; the order's `account_ref` is `base/store_id` (one Magento installation
/// runs several stores).
pub fn read(body: &[u8], base: Option<&str>) -> Read {
    let mut cx = Cx::new("magento");
    let doc = cx.parse(body)?;
    let root = cx.object(&doc, "document")?;
    let base = base
        .map(|b| b.trim().trim_end_matches('/'))
        .filter(|b| !b.is_empty());
    // An order has `items` too (its rows): a search result is told apart by having no
    // `entity_id` of its own.
    if let Some(items) = root
        .get("items")
        .filter(|_| !root.contains_key("entity_id"))
    {
        let Value::Array(all) = items else {
            return Err(cx.err("items", format!("expected an array, got {}", kind(items))));
        };
        return all
            .iter()
            .enumerate()
            .map(|(i, o)| order(&mut cx, o, &format!("items[{i}]"), base))
            .collect();
    }
    if !root.contains_key("entity_id")
        && let Some(msg) = text(root.get("message"))
    {
        // The REST error body: `{"message": "…", "parameters": […]}`.
        return Err(cx.err("message", format!("the API answered an error: {msg}")));
    }
    Ok(vec![order(&mut cx, &doc, "", base)?])
}

fn at(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn order(cx: &mut Cx, o: &Value, p: &str, base: Option<&str>) -> Result<ChannelOrder, ReadError> {
    cx.object(o, if p.is_empty() { "document" } else { p })?;
    let external_id = cx.id(get(o, "entity_id"), &at(p, "entity_id"))?;
    let account_ref = base.map(|b| match text(get(o, "store_id")) {
        Some(store) => format!("{b}/{store}"),
        None => b.to_string(),
    });
    let state = state(cx, o, p);
    let items = cx.list(get(o, "items"), &at(p, "items"))?;
    let lines = lines(cx, items, &at(p, "items"))?;
    let guest = get(o, "customer_is_guest").and_then(Value::as_i64) == Some(1)
        || get(o, "customer_is_guest").and_then(Value::as_bool) == Some(true);
    let customer = Customer {
        id: if guest {
            None
        } else {
            text(get(o, "customer_id"))
        },
        email: text(get(o, "customer_email")),
        phone: text(dig(o, &["billing_address", "telephone"])),
        name: full_name(get(o, "customer_firstname"), get(o, "customer_lastname")),
        group: text(get(o, "customer_group_id")),
    };
    // Ship-to is not top-level: it sits in the first shipping assignment; a virtual order
    // has none (`shipping_assignments: []`).
    let shipping = list(dig(o, &["extension_attributes", "shipping_assignments"]))
        .first()
        .and_then(|a| get(a, "shipping"));
    let ship_to = shipping.and_then(|s| get(s, "address")).and_then(address);
    let service_level = shipping
        .and_then(|s| text(get(s, "method")))
        .or_else(|| text(get(o, "shipping_description")));
    Ok(ChannelOrder {
        account_ref,
        display_id: text(get(o, "increment_id")).filter(|d| *d != external_id),
        external_id,
        created_at: cx.instant(get(o, "created_at"), &at(p, "created_at"), true)?,
        updated_at: cx.instant(get(o, "updated_at"), &at(p, "updated_at"), true)?,
        state,
        lines,
        currency: currency(get(o, "order_currency_code")),
        total: cx.money(get(o, "grand_total"), &at(p, "grand_total"))?,
        customer,
        ship_to,
        service_level,
        note: text(get(o, "customer_note")),
        read_notes: cx.take_notes(),
        ..ChannelOrder::default()
    })
}

/// The order's `state` (the fixed machine state; `status` is the merchant's label for it).
fn state(cx: &mut Cx, o: &Value, p: &str) -> ChannelState {
    let s = text(get(o, "state")).or_else(|| text(get(o, "status")));
    match s.as_deref() {
        Some("new" | "processing" | "complete") => ChannelState::Open,
        Some("pending_payment") => ChannelState::Incomplete {
            why: "pending_payment: awaiting payment".to_string(),
        },
        Some("payment_review") => ChannelState::Incomplete {
            why: "payment_review: payment under review".to_string(),
        },
        Some("holded") => ChannelState::OnHold {
            why: "holded in Magento".to_string(),
        },
        Some("canceled") => ChannelState::Cancelled {
            reason: text(get(o, "status")).or_else(|| Some("canceled".to_string())),
        },
        // `closed`: a credit memo refunded the whole order.
        Some("closed") => ChannelState::Cancelled {
            reason: Some("closed".to_string()),
        },
        Some(other) => {
            cx.note(
                at(p, "state"),
                format!("state {other:?} is not one Magento ships with"),
            );
            ChannelState::Incomplete {
                why: format!("unknown state {other:?}"),
            }
        }
        None => ChannelState::Incomplete {
            why: "no state".to_string(),
        },
    }
}

/// Which rows of the flat item list become lines, so no unit is counted twice:
/// - a configurable parent is kept (it carries the price); its zero-priced simple child is
///   dropped, giving the parent its SKU when the two differ (the child is what ships);
/// - a bundle whose children carry prices is dropped and its children kept; a bundle whose
///   children are all zero-priced (fixed price) is kept and its children dropped;
/// - every other row is kept.
fn lines(cx: &mut Cx, items: &[Value], p: &str) -> Result<Vec<Line>, ReadError> {
    let id_of = |it: &Value| text(get(it, "item_id"));
    let parent_of =
        |it: &Value| text(get(it, "parent_item_id")).filter(|pid| Some(pid) != id_of(it).as_ref());
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut children: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, it) in items.iter().enumerate() {
        if let Some(id) = id_of(it) {
            by_id.entry(id).or_insert(i);
        }
        if let Some(pid) = parent_of(it) {
            children.entry(pid).or_default().push(i);
        }
    }
    let price = |cx: &Cx, i: usize| -> Result<Decimal, ReadError> {
        let v = items.get(i).and_then(|it| get(it, "price"));
        Ok(cx.money(v, &format!("{p}[{i}].price"))?.unwrap_or_default())
    };
    let kind_of = |it: &Value| text(get(it, "product_type")).unwrap_or_default();
    // Bundles whose children carry the prices.
    let mut priced_bundle: HashMap<String, bool> = HashMap::new();
    for (pid, kids) in &children {
        let mut any = false;
        for &k in kids {
            any |= !price(cx, k)?.is_zero();
        }
        priced_bundle.insert(pid.clone(), any);
    }

    let mut out = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let ip = format!("{p}[{i}]");
        cx.object(it, &ip)?;
        let id = id_of(it).unwrap_or_default();
        let kind = kind_of(it);
        match parent_of(it).and_then(|pid| by_id.get(&pid).map(|&pi| (pid, pi))) {
            Some((pid, pi)) => {
                let parent = items.get(pi).map(kind_of).unwrap_or_default();
                let keep = if parent == "bundle" {
                    priced_bundle.get(&pid).copied().unwrap_or(false)
                } else {
                    // The identity row of a configurable: the parent carries it.
                    !price(cx, i)?.is_zero()
                };
                if keep {
                    out.push(line(cx, it, &ip, None)?);
                } else {
                    cx.note(
                        &ip,
                        format!("child of item {pid} ({parent}): read with its parent"),
                    );
                }
            }
            None => {
                if kind == "bundle" && priced_bundle.get(&id).copied().unwrap_or(false) {
                    cx.note(
                        &ip,
                        "bundle whose parts carry the prices: read as its parts",
                    );
                    continue;
                }
                // A configurable's child gives the SKU and product that ship.
                let child = if kind == "configurable" {
                    children
                        .get(&id)
                        .and_then(|k| k.first())
                        .and_then(|&k| items.get(k))
                } else {
                    None
                };
                out.push(line(cx, it, &ip, child)?);
            }
        }
    }
    Ok(out)
}

fn line(cx: &mut Cx, it: &Value, p: &str, child: Option<&Value>) -> Result<Line, ReadError> {
    let quantity = cx.quantity(get(it, "qty_ordered"), &at(p, "qty_ordered"))?;
    let own_sku = text(get(it, "sku"));
    let mut alt_ids = Vec::new();
    let sku = match child {
        Some(c) => {
            if let Some(pid) = text(get(c, "product_id")) {
                alt_ids.push(("product_id".to_string(), pid));
            }
            if let Some(pid) = text(get(it, "product_id")) {
                alt_ids.push(("parent_product_id".to_string(), pid));
            }
            let child_sku = text(get(c, "sku"));
            if child_sku.is_some() && child_sku != own_sku {
                cx.note(
                    at(p, "sku"),
                    format!(
                        "sku {:?} of the configurable; {:?} of the child that ships",
                        own_sku.as_deref().unwrap_or_default(),
                        child_sku.as_deref().unwrap_or_default()
                    ),
                );
            }
            child_sku.or(own_sku)
        }
        None => {
            if let Some(pid) = text(get(it, "product_id")) {
                alt_ids.push(("product_id".to_string(), pid));
            }
            own_sku
        }
    };
    if sku.is_none() {
        cx.note(at(p, "sku"), "no sku");
    }
    Ok(Line {
        line_id: text(get(it, "item_id")),
        sku,
        alt_ids,
        title: child
            .and_then(|c| text(get(c, "name")))
            .or_else(|| text(get(it, "name"))),
        quantity,
        uom: None,
        unit_price: cx.money(get(it, "price"), &at(p, "price"))?,
        tax: cx.money(get(it, "tax_amount"), &at(p, "tax_amount"))?,
    })
}

fn address(a: &Value) -> Option<Address> {
    a.as_object()?;
    Some(Address {
        name: full_name(get(a, "firstname"), get(a, "lastname")),
        company: text(get(a, "company")),
        lines: list(get(a, "street"))
            .iter()
            .filter_map(|s| text(Some(s)))
            .collect(),
        city: text(get(a, "city")),
        region: text(get(a, "region_code")).or_else(|| text(get(a, "region"))),
        postal_code: text(get(a, "postcode")),
        country: text(get(a, "country_id")),
        phone: text(get(a, "telephone")),
        email: text(get(a, "email")),
        ..Address::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skus(body: &[u8]) -> Vec<String> {
        read(body, None)
            .unwrap_or_default()
            .into_iter()
            .flat_map(|o| o.lines)
            .map(|l| l.sku.unwrap_or_default())
            .collect()
    }

    #[test]
    fn a_fixed_price_bundle_is_one_line_and_its_parts_are_dropped() {
        let body = br#"{"entity_id":5,"state":"processing","items":[
            {"item_id":1,"sku":"KIT","product_type":"bundle","price":68,"qty_ordered":1},
            {"item_id":2,"sku":"BALL","product_type":"simple","price":0,"qty_ordered":1,"parent_item_id":1},
            {"item_id":3,"sku":"STRAP","product_type":"simple","price":0,"qty_ordered":1,"parent_item_id":1}]}"#;
        assert_eq!(skus(body), ["KIT"]);
    }

    #[test]
    fn a_priced_bundle_is_its_parts_and_a_self_parent_is_top_level() {
        let body = br#"{"entity_id":5,"state":"processing","items":[
            {"item_id":1,"sku":"KIT","product_type":"bundle","price":68,"qty_ordered":1},
            {"item_id":2,"sku":"BALL","product_type":"simple","price":50,"qty_ordered":1,"parent_item_id":1},
            {"item_id":3,"sku":"STRAP","product_type":"simple","price":18,"qty_ordered":1,"parent_item_id":1},
            {"item_id":4,"sku":"LOOP","product_type":"simple","price":3,"qty_ordered":1,"parent_item_id":4},
            {"item_id":6,"sku":"ORPHAN","product_type":"simple","price":0,"qty_ordered":1,"parent_item_id":99}]}"#;
        assert_eq!(skus(body), ["BALL", "STRAP", "LOOP", "ORPHAN"]);
    }

    #[test]
    fn an_error_body_is_refused_with_its_message() {
        let got = read(br#"{"message":"The entity that was requested doesn't exist. Verify the entity and try again."}"#, None);
        assert_eq!(
            got.map_err(|e| e.to_string()),
            Err("magento document, at message: the API answered an error: The entity that was requested doesn't exist. Verify the entity and try again.".into())
        );
        assert_eq!(
            read(
                br#"{"entity_id":7,"state":"processing","created_at":"2017-08-21T22:22:19+02:00"}"#,
                Some("https://m.example/")
            )
            .map(|o| (
                o[0].account_ref.clone(),
                o[0].created_at.map(|t| t.to_string())
            )),
            Ok((
                Some("https://m.example".into()),
                Some("2017-08-21T20:22:19Z".into())
            ))
        );
    }
}
