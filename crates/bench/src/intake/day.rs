//! The seeded "day" of orders the intake bench replays: which channel each order comes
//! through, its priority and what the tenant's profile must make of it, and the requests that
//! carry them, each document in its channel's own shape (built from the order corpus's
//! documents, so every quirk of the real formats is kept: Shopify's money as strings and tags
//! as one comma-separated string, WooCommerce's local and GMT times, X12's segments).

use super::settings::{CATALOGUE, SHOP_DOMAIN, SHOP_SECRET, WOO_SECRET, WOO_SITE};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use waypost_orders::channels::signature::sign_b64;

const SHOPIFY_CREATE: &str = include_str!("../../../orders/corpus/shopify/orders-create.json");
const WOO_LIST: &str = include_str!("../../../orders/corpus/woocommerce/list.json");

/// Orders per `POST /v1/orders` batch (the rest of the API's orders are sent one by one).
pub const API_BATCH: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Priority {
    High,
    Standard,
}

/// What the tenant's profile must make of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Accepted,
    /// An unknown SKU: held by `sku_known` (the tenant keeps a catalogue).
    Held,
    /// A quantity over the profile's maximum: rejected by `quantity`.
    Rejected,
}

/// One order of the day.
#[derive(Debug, Clone)]
pub struct Planned {
    /// Waypost's order id, as the account's `order_id` template makes it.
    pub order_id: String,
    pub priority: Priority,
    pub expect: Expect,
}

/// How a request is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `POST /v1/orders`, one order or a batch.
    Api,
    /// `POST /v1/channels/shopify/orders?tenant=`, signed with the shop's secret.
    Shopify,
    /// `POST /v1/channels/woocommerce/orders?tenant=`, signed with the site's secret.
    Woo,
    /// `POST /v1/channels/x12/orders` with the key: an 850 interchange.
    X12,
}

impl Route {
    pub fn name(self) -> &'static str {
        match self {
            Route::Api => "api",
            Route::Shopify => "shopify",
            Route::Woo => "woocommerce",
            Route::X12 => "x12",
        }
    }
}

/// One request of the day, with the orders it carries.
#[derive(Debug, Clone)]
pub struct Request {
    pub route: Route,
    pub body: Vec<u8>,
    /// Headers besides the key (signatures, the shop, the webhook id).
    pub headers: Vec<(&'static str, String)>,
    /// Indices into [`Day::orders`].
    pub orders: Vec<usize>,
}

pub struct Day {
    pub orders: Vec<Planned>,
    pub requests: Vec<Request>,
}

/// Shares of the day's orders by route, in percent (the API's split in batches and singles).
const SHARES: [(Route, u32); 4] = [
    (Route::Api, 55),
    (Route::Shopify, 20),
    (Route::Woo, 15),
    (Route::X12, 10),
];

/// Percent of orders planted bad, per kind.
const HELD_PCT: f64 = 2.0;
const REJECTED_PCT: f64 = 1.0;
/// Percent of the orders of routes that can say so sent as high priority (express service,
/// VIP tag, the marketplace account); X12 partners send standard orders only, so the others
/// carry a little more to make about a fifth of the day.
const HIGH_PCT: f64 = 22.0;

/// The day: `orders` orders from `seed`, stamped at `now` (RFC 3339).
pub fn build(orders: usize, seed: u64, now: jiff::Timestamp) -> anyhow::Result<Day> {
    let mut rng = StdRng::seed_from_u64(seed);
    let shopify: Value = serde_json::from_str(SHOPIFY_CREATE)?;
    let woo_list: Value = serde_json::from_str(WOO_LIST)?;
    let woo = woo_list
        .get(0)
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("the WooCommerce corpus list is empty"))?;
    let mut day = Day {
        orders: Vec::with_capacity(orders),
        requests: Vec::new(),
    };
    // API orders waiting to fill a batch.
    let mut pending_api: Vec<(usize, Value)> = Vec::new();
    for n in 0..orders {
        let route = pick_route(&mut rng);
        let roll: f64 = rng.random_range(0.0..100.0);
        let expect = if roll < HELD_PCT {
            Expect::Held
        } else if roll < HELD_PCT + REJECTED_PCT {
            Expect::Rejected
        } else {
            Expect::Accepted
        };
        let high = route != Route::X12 && rng.random_range(0.0..100.0) < HIGH_PCT;
        let priority = if high {
            Priority::High
        } else {
            Priority::Standard
        };
        let item = Item::new(n, expect, &mut rng);
        let index = day.orders.len();
        let (order_id, request) = match route {
            Route::Api => {
                let (id, order) = api_order(n, &item, high, &mut rng, now);
                pending_api.push((index, order));
                // About half the API's orders go one by one, the rest in batches.
                if rng.random_bool(0.1) || pending_api.len() == API_BATCH {
                    day.requests
                        .push(api_request(std::mem::take(&mut pending_api))?);
                }
                (id, None)
            }
            Route::Shopify => {
                let (id, r) = shopify_request(&shopify, n, &item, high, now, index)?;
                (id, Some(r))
            }
            Route::Woo => {
                let (id, r) = woo_request(&woo, n, &item, high, now, index)?;
                (id, Some(r))
            }
            Route::X12 => {
                let (id, r) = x12_request(n, &item, now, index);
                (id, Some(r))
            }
        };
        day.orders.push(Planned {
            order_id,
            priority,
            expect,
        });
        if let Some(r) = request {
            day.requests.push(r);
        }
    }
    if !pending_api.is_empty() {
        day.requests.push(api_request(pending_api)?);
    }
    Ok(day)
}

fn pick_route(rng: &mut StdRng) -> Route {
    let mut roll = rng.random_range(0..100);
    for (route, share) in SHARES {
        if roll < share {
            return route;
        }
        roll -= share;
    }
    Route::Api
}

/// One order's contents: its SKU and quantity (the planted faults live here), its customer.
struct Item {
    sku: &'static str,
    quantity: u32,
    price: &'static str,
    /// Unique per order, so the duplicate check never links two orders of the day.
    email: String,
    street: String,
}

impl Item {
    fn new(n: usize, expect: Expect, rng: &mut StdRng) -> Item {
        let (sku, price) = CATALOGUE[rng.random_range(0..CATALOGUE.len())];
        let (sku, quantity) = match expect {
            Expect::Accepted => (sku, rng.random_range(1..=4)),
            Expect::Held => ("NOT-IN-CATALOGUE", 1),
            Expect::Rejected => (sku, 500),
        };
        Item {
            sku,
            quantity,
            price,
            email: format!("buyer{n}@example.com"),
            street: format!("{} Larch Avenue", 100 + n % 9000),
        }
    }
}

fn api_order(
    n: usize,
    item: &Item,
    high: bool,
    rng: &mut StdRng,
    now: jiff::Timestamp,
) -> (String, Value) {
    let id = format!("api-{n}");
    let mut o = json!({
        "order_id": id,
        "created_at": now.to_string(),
        "updated_at": now.to_string(),
        "lines": [{"sku": item.sku, "quantity": item.quantity, "unit_price": item.price}],
        "currency": "USD",
        "customer": {"email": item.email},
        "ship_to": {"lines": [item.street], "city": "Newark", "region": "NJ",
                    "postal_code": "07102", "country": "US"},
        "service_level": "standard"
    });
    if high {
        // The three ways an API order is high priority, in turn.
        match rng.random_range(0..3) {
            0 => o["service_level"] = json!("express"),
            1 => o["tags"] = json!(["vip"]),
            _ => o["account"] = json!("marketplace"),
        }
    }
    (id, o)
}

fn api_request(batch: Vec<(usize, Value)>) -> anyhow::Result<Request> {
    let (orders, docs): (Vec<usize>, Vec<Value>) = batch.into_iter().unzip();
    let body = match docs.as_slice() {
        [one] => serde_json::to_vec(one)?,
        _ => serde_json::to_vec(&docs)?,
    };
    Ok(Request {
        route: Route::Api,
        body,
        headers: vec![("content-type", "application/json".into())],
        orders,
    })
}

fn shopify_request(
    template: &Value,
    n: usize,
    item: &Item,
    high: bool,
    now: jiff::Timestamp,
    index: usize,
) -> anyhow::Result<(String, Request)> {
    let mut o = template.clone();
    let id = 7_000_000_000_000u64 + n as u64;
    o["id"] = json!(id);
    o["admin_graphql_api_id"] = json!(format!("gid://shopify/Order/{id}"));
    o["name"] = json!(format!("#B{n}"));
    o["order_number"] = json!(100_000 + n);
    o["number"] = json!(99_000 + n);
    for k in ["created_at", "updated_at", "processed_at"] {
        o[k] = json!(now.to_string());
    }
    for k in ["email", "contact_email"] {
        o[k] = json!(item.email);
    }
    o["customer"]["email"] = json!(item.email);
    o["customer"]["id"] = json!(8_000_000_000_000u64 + n as u64);
    o["shipping_address"]["address1"] = json!(item.street);
    // One line, the item's; the corpus line keeps Shopify's other fields as sent.
    let mut line = o["line_items"][0].clone();
    line["sku"] = json!(item.sku);
    // Shopify sends the ordered, current (after edits) and fulfillable quantities alike.
    for k in ["quantity", "current_quantity", "fulfillable_quantity"] {
        line[k] = json!(item.quantity);
    }
    line["price"] = json!(item.price);
    line["id"] = json!(9_000_000_000_000u64 + n as u64);
    o["line_items"] = json!([line]);
    o["tags"] = json!(if high { "vip, returning" } else { "returning" });
    let body = serde_json::to_vec(&o)?;
    let headers = vec![
        (
            "x-shopify-hmac-sha256",
            sign_b64(&body, SHOP_SECRET.as_bytes()),
        ),
        ("x-shopify-shop-domain", SHOP_DOMAIN.to_string()),
        ("x-shopify-topic", "orders/create".to_string()),
        ("x-shopify-webhook-id", format!("bench-wh-{n}")),
        ("content-type", "application/json".to_string()),
    ];
    let request = Request {
        route: Route::Shopify,
        body,
        headers,
        orders: vec![index],
    };
    Ok((format!("shop-{id}"), request))
}

fn woo_request(
    template: &Value,
    n: usize,
    item: &Item,
    high: bool,
    now: jiff::Timestamp,
    index: usize,
) -> anyhow::Result<(String, Request)> {
    let mut o = template.clone();
    let id = 500_000 + n;
    o["id"] = json!(id);
    o["number"] = json!(id.to_string());
    o["status"] = json!("processing");
    // WooCommerce sends the store's local time beside GMT, both without an offset.
    let gmt = now.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    for k in ["date_created", "date_modified"] {
        o[k] = json!(gmt);
    }
    for k in ["date_created_gmt", "date_modified_gmt"] {
        o[k] = json!(gmt);
    }
    o["billing"]["email"] = json!(item.email);
    o["shipping"]["address_1"] = json!(item.street);
    let mut line = o["line_items"][1].clone();
    line["sku"] = json!(item.sku);
    line["quantity"] = json!(item.quantity);
    line["price"] = json!(item.price.parse::<f64>().unwrap_or(10.0));
    line["id"] = json!(700_000 + n);
    o["line_items"] = json!([line]);
    if high {
        o["shipping_lines"][0]["method_id"] = json!("express");
        o["shipping_lines"][0]["method_title"] = json!("Express");
    }
    let body = serde_json::to_vec(&o)?;
    let headers = vec![
        (
            "x-wc-webhook-signature",
            sign_b64(&body, WOO_SECRET.as_bytes()),
        ),
        ("x-wc-webhook-source", WOO_SITE.to_string()),
        ("x-wc-webhook-topic", "order.created".to_string()),
        ("content-type", "application/json".to_string()),
    ];
    let request = Request {
        route: Route::Woo,
        body,
        headers,
        orders: vec![index],
    };
    Ok((format!("woo-{id}"), request))
}

/// An 850 interchange with one purchase order of one line, as the corpus's partner sends
/// it (segments ended by `|`, `~` as the component separator, the PO's `DTM*002` delivery
/// date as its promise).
fn x12_request(n: usize, item: &Item, now: jiff::Timestamp, index: usize) -> (String, Request) {
    let control = 100_000 + n;
    let po = format!("{}", 60_000_000 + n);
    let date = now.strftime("%Y%m%d").to_string();
    let short = now.strftime("%y%m%d").to_string();
    let due = (now + jiff::SignedDuration::from_hours(96))
        .strftime("%Y%m%d")
        .to_string();
    let set = [
        "ST*850*0001".to_string(),
        format!("BEG*00*SA*{po}**{date}"),
        "CUR*BY*USD".to_string(),
        "PER*IC*Moreau, Luc".to_string(),
        format!("N1*ST**92*W_{control}"),
        format!("N3*{}", item.street.to_uppercase()),
        "N4*DAYTON*OH*45414*US".to_string(),
        format!(
            "PO1*1*{}*EA*{}*UM*BP*{}",
            item.quantity, item.price, item.sku
        ),
        "PID*F****BENCH ITEM".to_string(),
        format!("DTM*002*{due}"),
        format!("CTT*1*{}", item.quantity),
    ];
    let mut segments = vec![
        format!(
            "ISA*00*          *00*          *01*612894470      *01*009283617      *{short}*1412*U*00400*{control:09}*0*P*~"
        ),
        format!("GS*PO*612894470*009283617*{date}*1412*{control}*X*004010"),
    ];
    segments.extend(set.iter().cloned());
    segments.push(format!("SE*{}*0001", set.len() + 1));
    segments.push(format!("GE*1*{control}"));
    segments.push(format!("IEA*1*{control:09}"));
    let mut body = segments.join("|\n");
    body.push_str("|\n");
    let request = Request {
        route: Route::X12,
        body: body.into_bytes(),
        headers: vec![("content-type", "application/edi-x12".to_string())],
        orders: vec![index],
    };
    (format!("po-{po}"), request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_day_is_seeded_and_mixed() {
        let now = jiff::Timestamp::from_second(1_800_000_000).expect("a time");
        let a = build(2_000, 7, now).expect("a day");
        let b = build(2_000, 7, now).expect("a day");
        assert_eq!(a.orders.len(), 2_000);
        let ids = |d: &Day| {
            d.orders
                .iter()
                .map(|o| o.order_id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&a), ids(&b), "same seed, same day");
        let carried: usize = a.requests.iter().map(|r| r.orders.len()).sum();
        assert_eq!(carried, 2_000, "every order is in exactly one request");
        let high = a
            .orders
            .iter()
            .filter(|o| o.priority == Priority::High)
            .count();
        assert!((300..=500).contains(&high), "about a fifth high: {high}");
        let bad = a
            .orders
            .iter()
            .filter(|o| o.expect != Expect::Accepted)
            .count();
        assert!((20..=110).contains(&bad), "a few percent bad: {bad}");
        for route in [Route::Api, Route::Shopify, Route::Woo, Route::X12] {
            assert!(a.requests.iter().any(|r| r.route == route), "{route:?}");
        }
        let mut unique = ids(&a);
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 2_000, "order ids are unique");
    }
}
