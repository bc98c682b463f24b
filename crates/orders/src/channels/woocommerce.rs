//! WooCommerce: the REST order (`GET /wp-json/wc/v3/orders/{id}`, a bare array from
//! `GET /orders`, and the same JSON as an `order.*` webhook body), the `legacy_v3` webhook
//! shape (`{"order": {…}}` with `order_number`, `created_at`), the creation ping
//! (`webhook_id=N`, form-encoded) and the thin `order.deleted` body (`{"id": N}`).

use super::Read;
use super::common::{ReadError, kind};
use super::web::{Cx, currency, full_name, get, list, text};
use crate::model::{Address, ChannelOrder, ChannelState, Customer, Line};
use serde_json::Value;

/// Reads one order object, a bare array of them, a `legacy_v3` body, the creation ping (no
/// orders) or an `order.deleted` body (a cancelled order with no lines). `source` is the
/// `X-WC-Webhook-Source` header (the site URL) or the polled store's base URL, and becomes
/// the order's `account_ref`.
pub fn read(body: &[u8], source: Option<&str>) -> Read {
    let mut cx = Cx::new("woocommerce");
    if is_ping(body) {
        // Sent once when a webhook is created, unsigned: nothing to read.
        return Ok(Vec::new());
    }
    let doc = cx.parse(body)?;
    let account = source.map(str::trim).filter(|s| !s.is_empty());
    match &doc {
        Value::Array(all) => all
            .iter()
            .enumerate()
            .map(|(i, o)| order(&mut cx, o, &format!("[{i}]"), account))
            .collect(),
        Value::Object(m) => {
            if let (Some(code), Some(msg)) = (m.get("code"), m.get("message")) {
                // The REST API's error body: `{"code": "…", "message": "…", "data": {…}}`.
                return Err(cx.err(
                    "code",
                    format!(
                        "the API answered an error: {} ({})",
                        text(Some(msg)).unwrap_or_default(),
                        text(Some(code)).unwrap_or_default()
                    ),
                ));
            }
            if let Some(o) = m.get("order") {
                return Ok(vec![legacy(&mut cx, o, "order", account)?]);
            }
            if let Some(all) = m.get("orders") {
                let Value::Array(all) = all else {
                    return Err(cx.err("orders", format!("expected an array, got {}", kind(all))));
                };
                return all
                    .iter()
                    .enumerate()
                    .map(|(i, o)| legacy(&mut cx, o, &format!("orders[{i}]"), account))
                    .collect();
            }
            if m.len() == 1 && m.contains_key("id") {
                return Ok(vec![deleted(&cx, &doc, account)?]);
            }
            Ok(vec![order(&mut cx, &doc, "", account)?])
        }
        other => Err(cx.err(
            "document",
            format!(
                "expected an order or an array of orders, got {}",
                kind(other)
            ),
        )),
    }
}

/// The form-encoded ping WooCommerce posts when a webhook is created: `webhook_id=N`.
fn is_ping(body: &[u8]) -> bool {
    let body = body.trim_ascii();
    let Some(rest) = body.strip_prefix(b"webhook_id=") else {
        return false;
    };
    let id = rest.split(|&b| b == b'&').next().unwrap_or_default();
    !id.is_empty() && id.iter().all(u8::is_ascii_digit)
}

/// `order.deleted` carries only the id: the order is gone from the shop, so it must not ship.
fn deleted(cx: &Cx, doc: &Value, account: Option<&str>) -> Result<ChannelOrder, ReadError> {
    Ok(ChannelOrder {
        account_ref: account.map(str::to_string),
        external_id: cx.id(get(doc, "id"), "id")?,
        state: ChannelState::Cancelled {
            reason: Some("deleted".to_string()),
        },
        ..ChannelOrder::default()
    })
}

/// The status as the channel's state. Statuses a plugin adds are not guessed at: the order
/// is held as incomplete with a note until the account's settings say what they mean.
fn state(cx: &mut Cx, status: Option<&str>, at: &str) -> ChannelState {
    match status {
        Some("processing" | "completed") => ChannelState::Open,
        Some("pending") => ChannelState::Incomplete {
            why: "pending: awaiting payment".to_string(),
        },
        Some("checkout-draft") => ChannelState::Incomplete {
            why: "checkout-draft: checkout not finished".to_string(),
        },
        Some("on-hold") => ChannelState::OnHold {
            why: "on-hold in WooCommerce".to_string(),
        },
        Some(s @ ("cancelled" | "refunded" | "failed" | "trash")) => ChannelState::Cancelled {
            reason: Some(s.to_string()),
        },
        Some(other) => {
            cx.note(
                at,
                format!("status {other:?} is not one WooCommerce ships with"),
            );
            ChannelState::Incomplete {
                why: format!("unknown status {other:?}"),
            }
        }
        None => ChannelState::Incomplete {
            why: "no status".to_string(),
        },
    }
}

fn at(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The wp-json v1–v3 order.
fn order(
    cx: &mut Cx,
    o: &Value,
    p: &str,
    account: Option<&str>,
) -> Result<ChannelOrder, ReadError> {
    cx.object(o, if p.is_empty() { "document" } else { p })?;
    let external_id = cx.id(get(o, "id"), &at(p, "id"))?;
    // `date_created` is the site's local time with no offset; only the `_gmt` twin says UTC.
    let created_at = cx.instant(get(o, "date_created_gmt"), &at(p, "date_created_gmt"), true)?;
    if created_at.is_none() && text(get(o, "date_created")).is_some() {
        cx.note(
            at(p, "date_created"),
            "site-local time without an offset and no date_created_gmt: left unset",
        );
    }
    let updated_at = cx.instant(
        get(o, "date_modified_gmt"),
        &at(p, "date_modified_gmt"),
        true,
    )?;
    let status = text(get(o, "status"));
    let state = state(cx, status.as_deref(), &at(p, "status"));
    let mut lines = Vec::new();
    for (i, l) in cx
        .list(get(o, "line_items"), &at(p, "line_items"))?
        .iter()
        .enumerate()
    {
        lines.push(line(cx, l, &at(p, &format!("line_items[{i}]")))?);
    }
    let billing = get(o, "billing");
    let customer = Customer {
        id: customer_id(get(o, "customer_id")),
        email: billing.and_then(|b| text(get(b, "email"))),
        phone: billing.and_then(|b| text(get(b, "phone"))),
        name: billing.and_then(|b| full_name(get(b, "first_name"), get(b, "last_name"))),
        group: None,
    };
    let shipping = list(get(o, "shipping_lines")).first();
    let number = text(get(o, "number"));
    Ok(ChannelOrder {
        account_ref: account.map(str::to_string),
        display_id: number.filter(|n| *n != external_id),
        external_id,
        order_id: None,
        created_at,
        updated_at,
        state,
        lines,
        currency: currency(get(o, "currency")),
        total: cx.money(get(o, "total"), &at(p, "total"))?,
        customer,
        ship_to: get(o, "shipping").and_then(address),
        service_level: shipping
            .and_then(|s| text(get(s, "method_id")).or_else(|| text(get(s, "method_title")))),
        note: text(get(o, "customer_note")),
        read_notes: cx.take_notes(),
        ..ChannelOrder::default()
    })
}

/// The `legacy_v3` shape (`/wc-api/v3`): UTC `created_at`/`updated_at` with `Z`, money all
/// strings (line `price` too), `billing_address`/`shipping_address`, `shipping_methods`.
fn legacy(
    cx: &mut Cx,
    o: &Value,
    p: &str,
    account: Option<&str>,
) -> Result<ChannelOrder, ReadError> {
    cx.object(o, p)?;
    let external_id = cx.id(get(o, "id"), &at(p, "id"))?;
    let status = text(get(o, "status"));
    let state = state(cx, status.as_deref(), &at(p, "status"));
    let mut lines = Vec::new();
    for (i, l) in cx
        .list(get(o, "line_items"), &at(p, "line_items"))?
        .iter()
        .enumerate()
    {
        lines.push(line(cx, l, &at(p, &format!("line_items[{i}]")))?);
    }
    let billing = get(o, "billing_address");
    let nested = get(o, "customer");
    let customer = Customer {
        id: customer_id(get(o, "customer_id")),
        email: billing
            .and_then(|b| text(get(b, "email")))
            .or_else(|| nested.and_then(|c| text(get(c, "email")))),
        phone: billing.and_then(|b| text(get(b, "phone"))),
        name: billing.and_then(|b| full_name(get(b, "first_name"), get(b, "last_name"))),
        group: None,
    };
    let shipping = list(get(o, "shipping_lines")).first();
    let number = text(get(o, "order_number"));
    Ok(ChannelOrder {
        account_ref: account.map(str::to_string),
        display_id: number.filter(|n| *n != external_id),
        external_id,
        created_at: cx.instant(get(o, "created_at"), &at(p, "created_at"), true)?,
        updated_at: cx.instant(get(o, "updated_at"), &at(p, "updated_at"), true)?,
        state,
        lines,
        currency: currency(get(o, "currency")),
        total: cx.money(get(o, "total"), &at(p, "total"))?,
        customer,
        ship_to: get(o, "shipping_address").and_then(address),
        service_level: shipping
            .and_then(|s| text(get(s, "method_id")).or_else(|| text(get(s, "method_title"))))
            .or_else(|| text(get(o, "shipping_methods"))),
        note: text(get(o, "note")),
        read_notes: cx.take_notes(),
        ..ChannelOrder::default()
    })
}

/// `customer_id: 0` is a guest.
fn customer_id(v: Option<&Value>) -> Option<String> {
    text(v).filter(|id| id != "0")
}

fn line(cx: &mut Cx, l: &Value, p: &str) -> Result<Line, ReadError> {
    cx.object(l, p)?;
    let quantity = cx.quantity(get(l, "quantity"), &at(p, "quantity"))?;
    let mut alt_ids = Vec::new();
    for key in ["product_id", "variation_id"] {
        // `variation_id: 0` means the product has no variations.
        if let Some(id) = text(get(l, key)).filter(|id| id != "0") {
            alt_ids.push((key.to_string(), id));
        }
    }
    let sku = text(get(l, "sku"));
    if sku.is_none() {
        let by = alt_ids
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ");
        let by = if by.is_empty() {
            "no other id".to_string()
        } else {
            by
        };
        cx.note(at(p, "sku"), format!("no sku; the line is known by {by}"));
    }
    // `price` is the unit price before tax, sent as a JSON number in v3 (a string in
    // legacy_v3); read from its decimal text, never through a float.
    let unit_price = match cx.money(get(l, "price"), &at(p, "price"))? {
        Some(u) => Some(u),
        None => match cx.money(get(l, "subtotal"), &at(p, "subtotal"))? {
            Some(s) if !quantity.is_zero() => s.checked_div(quantity).map(|d| d.normalize()),
            _ => None,
        },
    };
    // v3's `price` is PHP's float of subtotal ÷ quantity (`11.666666666666666`): kept as
    // sent, but said when it does not multiply back to the subtotal.
    if let (Some(u), Some(s)) = (
        unit_price,
        cx.money(get(l, "subtotal"), &at(p, "subtotal"))?,
    ) && u.checked_mul(quantity) != Some(s)
    {
        cx.note(
            at(p, "price"),
            format!("price {u} × quantity {quantity} is not the subtotal {s}: kept as sent"),
        );
    }
    Ok(Line {
        line_id: text(get(l, "id")),
        sku,
        alt_ids,
        title: text(get(l, "name")).map(|n| decode_entities(&n)),
        quantity,
        uom: None,
        unit_price,
        tax: cx.money(get(l, "total_tax"), &at(p, "total_tax"))?,
    })
}

/// An address block; `None` when every field is empty (an order that does not ship sends
/// the block with `""` everywhere) or the block is not an object.
fn address(a: &Value) -> Option<Address> {
    a.as_object()?;
    let addr = Address {
        name: full_name(get(a, "first_name"), get(a, "last_name")),
        company: text(get(a, "company")),
        lines: [get(a, "address_1"), get(a, "address_2")]
            .into_iter()
            .filter_map(text)
            .collect(),
        city: text(get(a, "city")),
        region: text(get(a, "state")),
        postal_code: text(get(a, "postcode")),
        country: text(get(a, "country")).map(|c| c.to_ascii_uppercase()),
        phone: text(get(a, "phone")),
        email: text(get(a, "email")),
        ..Address::default()
    };
    (addr != Address::default()).then_some(addr)
}

/// Product names arrive HTML-escaped (`Ship Your Idea &ndash; Color: Black`). A small table
/// covers what WordPress's `wptexturize` and `esc_html` produce; numeric references are
/// decoded too; anything else is left as sent.
pub fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        // Entities are short: look for the `;` within a few bytes only (bounded work).
        let end = tail.bytes().take(12).position(|b| b == b';');
        let decoded = end.and_then(|e| entity(&tail[1..e]).map(|c| (c, e)));
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &tail[e + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse::<u32>().ok()?,
        };
        return char::from_u32(code).filter(|c| !c.is_control() || *c == '\n');
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "ndash" => '–',
        "mdash" => '—',
        "hellip" => '…',
        "lsquo" => '‘',
        "rsquo" => '’',
        "sbquo" => '‚',
        "ldquo" => '“',
        "rdquo" => '”',
        "bdquo" => '„',
        "times" => '×',
        "prime" => '′',
        "Prime" => '″',
        "trade" => '™',
        "reg" => '®',
        "copy" => '©',
        "deg" => '°',
        "frac12" => '½',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_decode_and_unknown_ones_stay() {
        assert_eq!(
            decode_entities("Ship Your Idea &ndash; Color: Black &amp; &#8220;Big&#x201D; &foo; &"),
            "Ship Your Idea – Color: Black & “Big” &foo; &"
        );
        assert_eq!(decode_entities("a&#0;b&#xD800;"), "a&#0;b&#xD800;");
    }

    #[test]
    fn the_ping_is_recognised() {
        assert!(is_ping(b"webhook_id=42"));
        assert!(is_ping(b"webhook_id=42&x=1\n"));
        assert!(!is_ping(b"webhook_id="));
        assert!(!is_ping(b"webhook_id=4a"));
        assert_eq!(read(b"webhook_id=17", None), Ok(vec![]));
    }

    #[test]
    fn an_error_body_and_a_local_date_without_gmt() {
        let err = read(
            br#"{"code":"woocommerce_rest_shop_order_invalid_id","message":"Invalid ID.","data":{"status":404}}"#,
            None,
        );
        assert_eq!(
            err.map_err(|e| e.to_string()),
            Err("woocommerce document, at code: the API answered an error: Invalid ID. (woocommerce_rest_shop_order_invalid_id)".into())
        );
        let got = read(
            br#"{"id":9,"status":"processing","date_created":"2017-03-22T16:28:02"}"#,
            None,
        )
        .unwrap_or_default();
        assert_eq!(got[0].created_at, None);
        assert_eq!(got[0].read_notes[0].at, "date_created");
        let odd = read(br#"{"id":9,"status":"shipped-partial"}"#, None).unwrap_or_default();
        assert_eq!(
            odd[0].state,
            ChannelState::Incomplete {
                why: "unknown status \"shipped-partial\"".into()
            }
        );
    }

    #[test]
    fn deleted_is_a_cancelled_order_without_lines() {
        let got = read(br#"{"id": 727}"#, Some("https://shop.example/")).unwrap_or_default();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].external_id, "727");
        assert!(got[0].lines.is_empty());
        assert_eq!(
            got[0].state,
            ChannelState::Cancelled {
                reason: Some("deleted".into())
            }
        );
    }
}
