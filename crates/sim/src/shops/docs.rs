//! The fake shops' documents, pure: each order rendered in its channel's real shape by
//! patching a document of `crates/orders/corpus` (so every quirk of the corpus is kept:
//! money as strings or numbers, site-local twins of GMT dates, RFC 2822 dates, empty objects,
//! the wrappers) with the generated order's ids, times, lines and totals.

use super::FakeOrder;
use jiff::Timestamp;
use serde_json::{Value, json};
use std::sync::OnceLock;

const SHOPIFY: &str = include_str!("../../../orders/corpus/shopify/orders-page.graphql.json");
const WOO: &str = include_str!("../../../orders/corpus/woocommerce/list.json");
const MAGENTO: &str = include_str!("../../../orders/corpus/magento/search.json");
const AMAZON_ORDERS: &str =
    include_str!("../../../orders/corpus/amazon/prime-unshipped.orders.json");
const AMAZON_ITEMS: &str =
    include_str!("../../../orders/corpus/amazon/prime-unshipped.items-113-4827160-3390617.json");
const BC_ORDER: &str = include_str!("../../../orders/corpus/bigcommerce/multi-items.order.json");
const BC_PRODUCTS: &str =
    include_str!("../../../orders/corpus/bigcommerce/multi-items.products.json");
const BC_ADDRESSES: &str =
    include_str!("../../../orders/corpus/bigcommerce/multi-items.shipping_addresses.json");

struct Templates {
    shopify_node: Value,
    shopify_line: Value,
    woo: Value,
    magento: Value,
    amazon_order: Value,
    amazon_item: Value,
    bc_order: Value,
    bc_product: Value,
    bc_address: Value,
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// The corpus documents, parsed once. They are compiled in and checked by the tests, so a
/// missing part only yields `null` fields, never a panic.
fn templates() -> &'static Templates {
    static T: OnceLock<Templates> = OnceLock::new();
    T.get_or_init(|| {
        let shopify = parse(SHOPIFY);
        let node = shopify
            .pointer("/data/orders/edges/0/node")
            .cloned()
            .unwrap_or(Value::Null);
        let line = node
            .pointer("/lineItems/edges/1/node")
            .cloned()
            .unwrap_or(Value::Null);
        Templates {
            shopify_node: node,
            shopify_line: line,
            woo: parse(WOO).pointer("/0").cloned().unwrap_or(Value::Null),
            magento: parse(MAGENTO)
                .pointer("/items/0")
                .cloned()
                .unwrap_or(Value::Null),
            amazon_order: parse(AMAZON_ORDERS)
                .pointer("/payload/Orders/0")
                .cloned()
                .unwrap_or(Value::Null),
            amazon_item: parse(AMAZON_ITEMS)
                .pointer("/payload/OrderItems/0")
                .cloned()
                .unwrap_or(Value::Null),
            bc_order: parse(BC_ORDER),
            bc_product: parse(BC_PRODUCTS)
                .pointer("/0")
                .cloned()
                .unwrap_or(Value::Null),
            bc_address: parse(BC_ADDRESSES)
                .pointer("/0")
                .cloned()
                .unwrap_or(Value::Null),
        }
    })
}

fn set(v: &mut Value, pointer: &str, new: Value) {
    if let Some(slot) = v.pointer_mut(pointer) {
        *slot = new;
    }
}

fn money(cents: i64, places: usize) -> String {
    let whole = cents / 100;
    let frac = cents % 100;
    let s = format!("{whole}.{frac:02}");
    if places > 2 {
        format!("{s}{}", "0".repeat(places - 2))
    } else {
        s
    }
}

/// Whole dollars as a JSON number when exact (Magento sends `59`, `22.5`).
fn number(cents: i64) -> Value {
    if cents % 100 == 0 {
        json!(cents / 100)
    } else {
        json!(cents as f64 / 100.0)
    }
}

fn iso(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `Thu, 20 Jun 2024 16:07:08 +0000`, as BigCommerce writes dates.
pub fn rfc2822(t: Timestamp) -> String {
    t.strftime("%a, %d %b %Y %H:%M:%S +0000").to_string()
}

/// The GraphQL Admin API `Order` node.
pub fn shopify_node(o: &FakeOrder) -> Value {
    let t = templates();
    let mut n = t.shopify_node.clone();
    set(
        &mut n,
        "/id",
        json!(format!("gid://shopify/Order/{}", o.id)),
    );
    set(&mut n, "/name", json!(format!("#{}", o.number)));
    set(&mut n, "/createdAt", json!(iso(o.created)));
    set(&mut n, "/updatedAt", json!(iso(o.updated)));
    set(&mut n, "/tags", json!([]));
    let total = json!({"shopMoney": {"amount": money(o.total_cents(), 2), "currencyCode": "USD"}});
    set(&mut n, "/totalPriceSet", total.clone());
    set(&mut n, "/currentTotalPriceSet", total);
    let lines: Vec<Value> = o
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut line = t.shopify_line.clone();
            set(
                &mut line,
                "/id",
                json!(format!("gid://shopify/LineItem/{}{i}", o.id)),
            );
            set(&mut line, "/sku", json!(l.sku));
            set(&mut line, "/name", json!(l.sku));
            set(&mut line, "/quantity", json!(l.qty));
            set(&mut line, "/currentQuantity", json!(l.qty));
            let price =
                json!({"shopMoney": {"amount": money(l.unit_cents, 2), "currencyCode": "USD"}});
            set(&mut line, "/originalUnitPriceSet", price);
            json!({ "node": line })
        })
        .collect();
    set(&mut n, "/lineItems/edges", Value::Array(lines));
    if o.cancelled {
        set(&mut n, "/cancelledAt", json!(iso(o.updated)));
        set(&mut n, "/cancelReason", json!("CUSTOMER"));
    }
    n
}

/// A `GET /wc/v3/orders` element: local times (the site runs at UTC-7) beside `_gmt` twins
/// without a zone, money strings, a numeric line `price`.
pub fn woo_order(o: &FakeOrder) -> Value {
    let mut w = templates().woo.clone();
    let local = |t: Timestamp| {
        let l = t
            .checked_sub(jiff::SignedDuration::from_hours(7))
            .unwrap_or(t);
        l.strftime("%Y-%m-%dT%H:%M:%S").to_string()
    };
    let gmt = |t: Timestamp| t.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    set(&mut w, "/id", json!(o.id));
    set(&mut w, "/number", json!(o.number.to_string()));
    set(
        &mut w,
        "/order_key",
        json!(format!("wc_order_{:013x}", o.id)),
    );
    set(
        &mut w,
        "/status",
        json!(if o.cancelled {
            "cancelled"
        } else {
            "processing"
        }),
    );
    set(&mut w, "/date_created", json!(local(o.created)));
    set(&mut w, "/date_created_gmt", json!(gmt(o.created)));
    set(&mut w, "/date_modified", json!(local(o.updated)));
    set(&mut w, "/date_modified_gmt", json!(gmt(o.updated)));
    set(&mut w, "/shipping_total", json!("0.00"));
    set(&mut w, "/shipping_tax", json!("0.00"));
    set(&mut w, "/cart_tax", json!("0.00"));
    set(&mut w, "/total_tax", json!("0.00"));
    set(&mut w, "/total", json!(money(o.total_cents(), 2)));
    let line_t = w.pointer("/line_items/0").cloned().unwrap_or(Value::Null);
    let lines: Vec<Value> = o
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut line = line_t.clone();
            let sum = money(l.unit_cents * i64::from(l.qty), 2);
            set(&mut line, "/id", json!(o.id * 10 + i as u64));
            set(&mut line, "/name", json!(l.sku));
            set(&mut line, "/sku", json!(l.sku));
            set(&mut line, "/quantity", json!(l.qty));
            set(&mut line, "/subtotal", json!(sum));
            set(&mut line, "/total", json!(sum));
            set(&mut line, "/subtotal_tax", json!("0.00"));
            set(&mut line, "/total_tax", json!("0.00"));
            set(&mut line, "/taxes", json!([]));
            set(&mut line, "/price", number(l.unit_cents));
            line
        })
        .collect();
    set(&mut w, "/line_items", Value::Array(lines));
    w
}

/// A `salesOrderRepositoryV1` order: MySQL-style UTC dates, numbers for money, a
/// zero-padded `increment_id`.
pub fn magento_order(o: &FakeOrder) -> Value {
    let mut m = templates().magento.clone();
    let mysql = |t: Timestamp| t.strftime("%Y-%m-%d %H:%M:%S").to_string();
    let total = number(o.total_cents());
    set(&mut m, "/entity_id", json!(o.id));
    set(&mut m, "/increment_id", json!(format!("{:09}", o.number)));
    set(&mut m, "/created_at", json!(mysql(o.created)));
    set(&mut m, "/updated_at", json!(mysql(o.updated)));
    let (state, status) = if o.cancelled {
        ("canceled", "canceled")
    } else {
        ("processing", "processing")
    };
    set(&mut m, "/state", json!(state));
    set(&mut m, "/status", json!(status));
    for k in [
        "/grand_total",
        "/base_grand_total",
        "/subtotal",
        "/base_subtotal",
        "/subtotal_incl_tax",
        "/base_subtotal_incl_tax",
        "/total_due",
        "/base_total_due",
    ] {
        set(&mut m, k, total.clone());
    }
    let qty: u32 = o.lines.iter().map(|l| l.qty).sum();
    set(&mut m, "/total_qty_ordered", json!(qty));
    set(&mut m, "/total_item_count", json!(o.lines.len()));
    let row_t = m.pointer("/items/0").cloned().unwrap_or(Value::Null);
    let rows: Vec<Value> = o
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut r = row_t.clone();
            let row = number(l.unit_cents * i64::from(l.qty));
            set(&mut r, "/item_id", json!(o.id * 10 + i as u64));
            set(&mut r, "/order_id", json!(o.id));
            set(&mut r, "/sku", json!(l.sku));
            set(&mut r, "/name", json!(l.sku));
            set(&mut r, "/qty_ordered", json!(l.qty));
            set(&mut r, "/price", number(l.unit_cents));
            set(&mut r, "/base_price", number(l.unit_cents));
            set(&mut r, "/original_price", number(l.unit_cents));
            set(&mut r, "/price_incl_tax", number(l.unit_cents));
            set(&mut r, "/row_total", row.clone());
            set(&mut r, "/base_row_total", row.clone());
            set(&mut r, "/row_total_incl_tax", row);
            set(&mut r, "/tax_amount", json!(0));
            set(&mut r, "/created_at", json!(mysql(o.created)));
            set(&mut r, "/updated_at", json!(mysql(o.updated)));
            r
        })
        .collect();
    set(&mut m, "/items", Value::Array(rows));
    m
}

fn amazon_id(o: &FakeOrder) -> String {
    format!(
        "113-{:07}-{:07}",
        o.id % 10_000_000,
        (o.id * 7919) % 10_000_000
    )
}

/// The Orders v0 `Order` (no lines: those come from `getOrderItems`).
pub fn amazon_order(o: &FakeOrder) -> Value {
    let mut a = templates().amazon_order.clone();
    let id = amazon_id(o);
    set(&mut a, "/AmazonOrderId", json!(id));
    set(&mut a, "/SellerOrderId", json!(id));
    set(&mut a, "/PurchaseDate", json!(iso(o.created)));
    set(&mut a, "/LastUpdateDate", json!(iso(o.updated)));
    set(
        &mut a,
        "/OrderStatus",
        json!(if o.cancelled { "Canceled" } else { "Unshipped" }),
    );
    let total = json!({"CurrencyCode": "USD", "Amount": money(o.total_cents(), 2)});
    set(&mut a, "/OrderTotal", total);
    let qty: u32 = o.lines.iter().map(|l| l.qty).sum();
    set(&mut a, "/NumberOfItemsUnshipped", json!(qty));
    a
}

/// The `getOrderItems` payload of an order: `ItemPrice` is the line total.
pub fn amazon_items(o: &FakeOrder) -> Value {
    let t = templates();
    let items: Vec<Value> = o
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut it = t.amazon_item.clone();
            set(&mut it, "/OrderItemId", json!(format!("{}{i:02}", o.id)));
            set(&mut it, "/SellerSKU", json!(l.sku));
            set(&mut it, "/Title", json!(l.sku));
            set(&mut it, "/QuantityOrdered", json!(l.qty));
            let line = money(l.unit_cents * i64::from(l.qty), 2);
            set(
                &mut it,
                "/ItemPrice",
                json!({"CurrencyCode": "USD", "Amount": line}),
            );
            set(
                &mut it,
                "/ItemTax",
                json!({"CurrencyCode": "USD", "Amount": "0.00"}),
            );
            set(&mut it, "/IsGift", json!("false"));
            it
        })
        .collect();
    json!({"payload": {"AmazonOrderId": amazon_id(o), "OrderItems": items}})
}

/// `GET /v2/orders/{id}`: RFC 2822 dates, 4-decimal money strings, empty objects.
pub fn bc_order(o: &FakeOrder, base: &str) -> Value {
    let mut b = templates().bc_order.clone();
    let total = json!(money(o.total_cents(), 4));
    set(&mut b, "/id", json!(o.id));
    set(&mut b, "/date_created", json!(rfc2822(o.created)));
    set(&mut b, "/date_modified", json!(rfc2822(o.updated)));
    let (sid, st) = if o.cancelled {
        (5, "Cancelled")
    } else {
        (11, "Awaiting Fulfillment")
    };
    set(&mut b, "/status_id", json!(sid));
    set(&mut b, "/status", json!(st));
    set(&mut b, "/custom_status", json!(st));
    for k in [
        "/subtotal_ex_tax",
        "/subtotal_inc_tax",
        "/total_ex_tax",
        "/total_inc_tax",
    ] {
        set(&mut b, k, total.clone());
    }
    for k in [
        "/subtotal_tax",
        "/total_tax",
        "/shipping_cost_ex_tax",
        "/shipping_cost_inc_tax",
    ] {
        set(&mut b, k, json!("0.0000"));
    }
    let qty: u32 = o.lines.iter().map(|l| l.qty).sum();
    set(&mut b, "/items_total", json!(qty));
    let link = |part: &str| json!({"url": format!("{base}/v2/orders/{}/{part}", o.id), "resource": format!("/orders/{}/{part}", o.id)});
    set(&mut b, "/products", link("products"));
    set(&mut b, "/shipping_addresses", link("shippingaddresses"));
    b
}

pub fn bc_products(o: &FakeOrder) -> Value {
    let t = templates();
    Value::Array(
        o.lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let mut p = t.bc_product.clone();
                let unit = json!(money(l.unit_cents, 4));
                let line = json!(money(l.unit_cents * i64::from(l.qty), 4));
                set(&mut p, "/id", json!(o.id * 10 + i as u64));
                set(&mut p, "/order_id", json!(o.id));
                set(&mut p, "/order_address_id", json!(o.id));
                set(&mut p, "/sku", json!(l.sku));
                set(&mut p, "/name", json!(l.sku));
                set(&mut p, "/quantity", json!(l.qty));
                for k in ["/base_price", "/price_ex_tax", "/price_inc_tax"] {
                    set(&mut p, k, unit.clone());
                }
                for k in ["/base_total", "/total_ex_tax", "/total_inc_tax"] {
                    set(&mut p, k, line.clone());
                }
                set(&mut p, "/price_tax", json!("0.0000"));
                set(&mut p, "/total_tax", json!("0.0000"));
                p
            })
            .collect(),
    )
}

pub fn bc_addresses(o: &FakeOrder) -> Value {
    let mut a = templates().bc_address.clone();
    set(&mut a, "/id", json!(o.id));
    set(&mut a, "/order_id", json!(o.id));
    let qty: u32 = o.lines.iter().map(|l| l.qty).sum();
    set(&mut a, "/items_total", json!(qty));
    json!([a])
}
