//! Amazon Selling Partner API, Orders v0: the `getOrders` page and each order's
//! `getOrderItems` pages.
//!
//! Orders arrive without lines: [`orders`] reads a page of them, [`items`] appends the lines
//! of one order from its items page (call it again while it returns a `NextToken`). Amounts are
//! strings (`"11.01"`), `IsGift` is the string `"false"`, `ItemPrice` is the line total, and a
//! `Pending` order has neither address nor total: it is read as [`ChannelState::Incomplete`]
//! so intake holds it until a later version completes it.

use crate::channels::common::{MAX_DOCUMENT_BYTES, ReadError, flag, instant, money, text};
use crate::model::{Address, ChannelOrder, ChannelState, Customer, Hint, Line, ReadNote};
use jiff::Timestamp;
use rust_decimal::Decimal;
use serde_json::{Map, Value};

const CH: &str = "amazon";

/// One `getOrders` page.
#[derive(Debug, Clone, PartialEq)]
pub struct OrdersPage {
    pub orders: Vec<ChannelOrder>,
    /// Pass it back to get the next page; `None` on the last.
    pub next_token: Option<String>,
    /// The instant the page is complete up to: the next poll's `LastUpdatedAfter`. `None` when
    /// absent or unreadable (the sandbox sends `"1.569521782042E9"`; each order then carries a
    /// note saying so).
    pub last_updated_before: Option<Timestamp>,
}

fn parse(body: &[u8]) -> Result<Value, ReadError> {
    if body.len() > MAX_DOCUMENT_BYTES {
        return Err(ReadError::new(CH, "body", "document too large"));
    }
    serde_json::from_slice(body).map_err(|e| ReadError::new(CH, "body", format!("not JSON: {e}")))
}

/// `{"errors": [{code, message}]}` as one error naming every code and message.
fn errors(v: &Value) -> Option<ReadError> {
    let list = v.get("errors")?.as_array()?;
    if list.is_empty() {
        return None;
    }
    let said: Vec<String> = list
        .iter()
        .map(|e| {
            let code = text(e.get("code")).unwrap_or_else(|| "(no code)".into());
            match text(e.get("message")) {
                Some(m) => format!("{code}: {m}"),
                None => code,
            }
        })
        .collect();
    Some(ReadError::new(
        CH,
        "errors",
        format!("the API answered with errors: {}", said.join("; ")),
    ))
}

fn payload(v: &Value) -> Result<&Map<String, Value>, ReadError> {
    if let Some(e) = errors(v) {
        return Err(e);
    }
    v.get("payload")
        .and_then(Value::as_object)
        .ok_or_else(|| ReadError::new(CH, "payload", "missing or not an object"))
}

/// Reads a `getOrders` response. `seller` is the selling partner id the credential belongs to
/// (the response does not name it); the account reference is `"{seller}/{MarketplaceId}"`.
pub fn orders(body: &[u8], seller: Option<&str>) -> Result<OrdersPage, ReadError> {
    let v = parse(body)?;
    let p = payload(&v)?;
    let list = p
        .get("Orders")
        .and_then(Value::as_array)
        .ok_or_else(|| ReadError::new(CH, "payload.Orders", "missing or not an array"))?;
    let mut page_notes = Vec::new();
    let last_updated_before = match text(p.get("LastUpdatedBefore")) {
        None => None,
        Some(s) => match instant(&s, false) {
            Ok(t) => Some(t),
            Err(e) => {
                page_notes.push(ReadNote {
                    at: "payload.LastUpdatedBefore".into(),
                    note: format!("ignored: {e}"),
                });
                None
            }
        },
    };
    let mut orders = Vec::with_capacity(list.len());
    for (i, o) in list.iter().enumerate() {
        let mut order = order(o, &format!("payload.Orders[{i}]"), seller)?;
        order.read_notes.extend(page_notes.iter().cloned());
        orders.push(order);
    }
    Ok(OrdersPage {
        orders,
        next_token: text(p.get("NextToken")),
        last_updated_before,
    })
}

/// A required instant: missing or unreadable refuses the document.
fn required_time(o: &Value, at: &str, field: &str) -> Result<Timestamp, ReadError> {
    let s =
        text(o.get(field)).ok_or_else(|| ReadError::new(CH, format!("{at}.{field}"), "missing"))?;
    instant(&s, false).map_err(|e| ReadError::new(CH, format!("{at}.{field}"), e))
}

/// An optional instant: unreadable gives a note and no value, never a wrong date.
fn optional_time(o: &Value, at: &str, field: &str, notes: &mut Vec<ReadNote>) -> Option<Timestamp> {
    let s = text(o.get(field))?;
    match instant(&s, false) {
        Ok(t) => Some(t),
        Err(e) => {
            notes.push(ReadNote {
                at: format!("{at}.{field}"),
                note: format!("ignored: {e}"),
            });
            None
        }
    }
}

fn push_hint(hints: &mut Vec<Hint>, h: Hint) {
    if !hints.contains(&h) {
        hints.push(h);
    }
}

fn order(o: &Value, at: &str, seller: Option<&str>) -> Result<ChannelOrder, ReadError> {
    if !o.is_object() {
        return Err(ReadError::new(CH, at, "an order must be an object"));
    }
    let id = text(o.get("AmazonOrderId"))
        .ok_or_else(|| ReadError::new(CH, format!("{at}.AmazonOrderId"), "missing"))?;
    let mut notes = Vec::new();
    let status = text(o.get("OrderStatus"))
        .ok_or_else(|| ReadError::new(CH, format!("{at}.OrderStatus"), "missing"))?;
    let state = match status.as_str() {
        "Pending" | "PendingAvailability" => ChannelState::Incomplete {
            why: format!("amazon status {status}: no address or total until it is Unshipped"),
        },
        "Canceled" => ChannelState::Cancelled { reason: None },
        "Unfulfillable" => ChannelState::OnHold {
            why: "amazon status Unfulfillable".into(),
        },
        "Unshipped" | "PartiallyShipped" | "Shipped" | "InvoiceUnconfirmed" => ChannelState::Open,
        other => {
            return Err(ReadError::new(
                CH,
                format!("{at}.OrderStatus"),
                format!("unknown status {other:?}"),
            ));
        }
    };
    let mut tags = Vec::new();
    if text(o.get("FulfillmentChannel")).as_deref() == Some("AFN") {
        tags.push("afn".to_string());
        notes.push(ReadNote {
            at: format!("{at}.FulfillmentChannel"),
            note: "AFN: fulfilled by Amazon, not by our warehouses".into(),
        });
    }
    let marketplace = text(o.get("MarketplaceId"));
    let account_ref = match (seller, marketplace) {
        (Some(s), Some(m)) => Some(format!("{s}/{m}")),
        (Some(s), None) => Some(s.to_string()),
        (None, m) => m,
    };
    let (currency, total) = match o.get("OrderTotal") {
        Some(t) => (
            text(t.get("CurrencyCode")).map(|c| c.to_ascii_uppercase()),
            money(t.get("Amount").unwrap_or(&Value::Null))
                .map_err(|e| ReadError::new(CH, format!("{at}.OrderTotal.Amount"), e))?,
        ),
        None => (None, None),
    };
    let mut hints = Vec::new();
    for (field, hint) in [
        ("IsPrime", Hint::Prime),
        ("IsPremiumOrder", Hint::Premium),
        ("IsBusinessOrder", Hint::Business),
        ("IsReplacementOrder", Hint::Replacement),
    ] {
        if flag(o.get(field)) {
            push_hint(&mut hints, hint);
        }
    }
    let buyer = o.get("BuyerInfo");
    let customer = Customer {
        email: text(buyer.and_then(|b| b.get("BuyerEmail"))),
        name: text(buyer.and_then(|b| b.get("BuyerName"))),
        ..Customer::default()
    };
    let display_id = text(o.get("SellerOrderId")).filter(|s| *s != id);
    Ok(ChannelOrder {
        account_ref,
        display_id,
        created_at: Some(required_time(o, at, "PurchaseDate")?),
        updated_at: Some(required_time(o, at, "LastUpdateDate")?),
        state,
        lines: Vec::new(),
        currency,
        total,
        customer,
        ship_to: o.get("ShippingAddress").and_then(address),
        service_level: text(o.get("ShipmentServiceLevelCategory"))
            .or_else(|| text(o.get("ShipServiceLevel"))),
        promised_at: optional_time(o, at, "LatestDeliveryDate", &mut notes),
        ship_by: optional_time(o, at, "LatestShipDate", &mut notes),
        hints,
        tags,
        read_notes: notes,
        external_id: id,
        ..ChannelOrder::default()
    })
}

/// The shipping address; without a Restricted Data Token only city, region, postal code and
/// country come back, which is still an address (enough for zone and promise).
fn address(a: &Value) -> Option<Address> {
    a.as_object()?;
    Some(Address {
        name: text(a.get("Name")),
        company: text(a.get("CompanyName")),
        lines: ["AddressLine1", "AddressLine2", "AddressLine3"]
            .iter()
            .filter_map(|f| text(a.get(*f)))
            .collect(),
        city: text(a.get("City")),
        region: text(a.get("StateOrRegion")),
        postal_code: text(a.get("PostalCode")),
        country: text(a.get("CountryCode")).map(|c| c.to_ascii_uppercase()),
        phone: text(a.get("Phone")),
        ..Address::default()
    })
}

/// Appends the lines of one `getOrderItems` page to `order`; gives the page's `NextToken`.
/// A page for another order is refused.
pub fn items(
    mut order: ChannelOrder,
    body: &[u8],
) -> Result<(ChannelOrder, Option<String>), ReadError> {
    let v = parse(body)?;
    let p = payload(&v)?;
    let of = text(p.get("AmazonOrderId"))
        .ok_or_else(|| ReadError::new(CH, "payload.AmazonOrderId", "missing"))?;
    if of != order.external_id {
        return Err(ReadError::new(
            CH,
            "payload.AmazonOrderId",
            format!("items of order {of}, not of {}", order.external_id),
        ));
    }
    let list = p
        .get("OrderItems")
        .and_then(Value::as_array)
        .ok_or_else(|| ReadError::new(CH, "payload.OrderItems", "missing or not an array"))?;
    for (i, it) in list.iter().enumerate() {
        let at = format!("payload.OrderItems[{i}]");
        let line = item(it, &at, &mut order)?;
        order.lines.push(line);
    }
    Ok((order, text(p.get("NextToken"))))
}

fn amount(it: &Value, at: &str, field: &str) -> Result<Option<Decimal>, ReadError> {
    match it.get(field).and_then(|m| m.get("Amount")) {
        None => Ok(None),
        Some(a) => money(a).map_err(|e| ReadError::new(CH, format!("{at}.{field}.Amount"), e)),
    }
}

fn item(it: &Value, at: &str, order: &mut ChannelOrder) -> Result<Line, ReadError> {
    if !it.is_object() {
        return Err(ReadError::new(CH, at, "an item must be an object"));
    }
    let quantity = money(it.get("QuantityOrdered").unwrap_or(&Value::Null))
        .map_err(|e| ReadError::new(CH, format!("{at}.QuantityOrdered"), e))?
        .ok_or_else(|| ReadError::new(CH, format!("{at}.QuantityOrdered"), "missing"))?;
    let line_total = amount(it, at, "ItemPrice")?;
    // ItemPrice is the line's total: the unit price is it divided by the quantity. A
    // cancelled item comes with quantity 0 and no price to divide.
    let unit_price = match line_total {
        Some(t) if !quantity.is_zero() => {
            // A total that does not divide exactly (10.00 for 3) has no exact unit price:
            // none is better than a rounded one that no longer adds up.
            let unit = t
                .checked_div(quantity)
                .map(|u| u.normalize())
                // A repeating quotient fills all 28 digits and multiplies back rounded to
                // the total, so the scale is what tells exact from not.
                .filter(|u| u.scale() <= 12 && u.checked_mul(quantity) == Some(t));
            if unit.is_none() {
                order.read_notes.push(ReadNote {
                    at: format!("{at}.ItemPrice"),
                    note: format!(
                        "line total {t} does not divide exactly by quantity {quantity}: no unit price"
                    ),
                });
            }
            unit
        }
        _ => None,
    };
    if order.currency.is_none() {
        order.currency = it
            .get("ItemPrice")
            .and_then(|m| text(m.get("CurrencyCode")))
            .map(|c| c.to_ascii_uppercase());
    }
    if flag(it.get("IsGift")) {
        push_hint(&mut order.hints, Hint::Gift);
    }
    let cancel = it.get("BuyerRequestedCancel");
    if flag(cancel.and_then(|c| c.get("IsBuyerRequestedCancel"))) {
        push_hint(&mut order.hints, Hint::BuyerRequestedCancel);
        if let Some(why) = text(cancel.and_then(|c| c.get("BuyerCancelReason"))) {
            order.read_notes.push(ReadNote {
                at: format!("{at}.BuyerRequestedCancel"),
                note: format!("buyer asked to cancel: {why}"),
            });
        }
    }
    Ok(Line {
        line_id: text(it.get("OrderItemId")),
        sku: text(it.get("SellerSKU")),
        alt_ids: text(it.get("ASIN"))
            .map(|a| vec![("asin".to_string(), a)])
            .unwrap_or_default(),
        title: text(it.get("Title")),
        quantity,
        uom: None,
        unit_price,
        tax: amount(it, at, "ItemTax")?,
    })
}
