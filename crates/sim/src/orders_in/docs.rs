//! The documents of [`super::plan`], each in its channel's own shape, built from the order
//! corpus's documents so every quirk of the real formats is kept: Shopify's money as strings,
//! tags as one comma-separated string and three quantities per line; WooCommerce's times
//! without an offset, `number` beside `id` and its shipping method as the service level;
//! X12's `|`-ended segments with `~` as the component separator and the PO's `DTM*002`
//! delivery date as its promise.

use super::settings::{CATALOGUE, SHOP_DOMAIN, WOO_SITE};
use super::{Delivery, Planted, Route};
use jiff::Timestamp;
use rand::Rng;
use rand::rngs::StdRng;
use serde_json::{Value, json};

const SHOPIFY_CREATE: &str = include_str!("../../../orders/corpus/shopify/orders-create.json");
const WOO_LIST: &str = include_str!("../../../orders/corpus/woocommerce/list.json");

/// One order's contents, where the planted faults live.
#[derive(Debug, Clone)]
pub struct Item {
    sku: &'static str,
    quantity: u32,
    price: &'static str,
    /// Unique per order (but a planted duplicate's), so the duplicate check links no others.
    email: String,
    /// Empty for a planted missing street.
    street: String,
    cancelled: bool,
}

impl Item {
    pub fn new(n: usize, planted: Planted, rng: &mut StdRng) -> Item {
        let (sku, price) = CATALOGUE[rng.random_range(0..CATALOGUE.len())];
        let mut item = Item {
            sku,
            quantity: rng.random_range(1..=4),
            price,
            email: format!("buyer{n}@example.com"),
            // Unique too: X12 orders carry no contact, so the duplicate check matches on the address.
            street: format!("{} Larch Avenue", 100 + n),
            cancelled: false,
        };
        match planted {
            Planted::UnknownSku => item.sku = "NOT-IN-CATALOGUE",
            Planted::OverQuantity => item.quantity = 500,
            Planted::MissingStreet => item.street = String::new(),
            Planted::Cancelled => item.cancelled = true,
            Planted::None | Planted::Duplicate => {}
        }
        item
    }
}

pub struct Templates {
    shopify: Value,
    woo: Value,
}

/// An API order; `high` picks one of the three ways it is high priority.
pub fn api(n: usize, item: &Item, high: Option<u32>, now: Timestamp) -> (String, Value) {
    let id = format!("api-{n}");
    let lines: Vec<&str> = if item.street.is_empty() {
        Vec::new()
    } else {
        vec![item.street.as_str()]
    };
    let mut o = json!({
        "order_id": id,
        "created_at": now.to_string(),
        "updated_at": now.to_string(),
        "lines": [{"sku": item.sku, "quantity": item.quantity, "unit_price": item.price}],
        "currency": "USD",
        "customer": {"email": item.email},
        "ship_to": {"lines": lines, "city": "Newark", "region": "NJ",
                    "postal_code": "07102", "country": "US"},
        "service_level": "standard"
    });
    if item.cancelled {
        o["status"] = json!("cancelled");
    }
    match high {
        Some(0) => o["service_level"] = json!("express"),
        Some(1) => o["tags"] = json!(["vip"]),
        Some(_) => o["account"] = json!("marketplace"),
        None => {}
    }
    (id, o)
}

pub fn api_delivery(batch: Vec<(usize, Value)>) -> Result<Delivery, serde_json::Error> {
    let (orders, docs): (Vec<usize>, Vec<Value>) = batch.into_iter().unzip();
    let body = match docs.as_slice() {
        [one] => serde_json::to_vec(one)?,
        _ => serde_json::to_vec(&docs)?,
    };
    Ok(Delivery {
        route: Route::Api,
        body,
        headers: vec![("content-type", "application/json".into())],
        orders,
        after_earlier: false,
    })
}

impl Templates {
    pub fn load() -> Result<Templates, serde_json::Error> {
        let woo_list: Value = serde_json::from_str(WOO_LIST)?;
        Ok(Templates {
            shopify: serde_json::from_str(SHOPIFY_CREATE)?,
            woo: woo_list.get(0).cloned().unwrap_or(Value::Null),
        })
    }

    pub fn shopify(
        &self,
        n: usize,
        item: &Item,
        high: bool,
        now: Timestamp,
        index: usize,
    ) -> Result<(String, Delivery), serde_json::Error> {
        let mut o = self.shopify.clone();
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
        let topic = if item.cancelled {
            o["cancelled_at"] = json!(now.to_string());
            o["cancel_reason"] = json!("customer");
            "orders/cancelled"
        } else {
            "orders/create"
        };
        let headers = vec![
            ("x-shopify-shop-domain", SHOP_DOMAIN.to_string()),
            ("x-shopify-topic", topic.to_string()),
            ("x-shopify-webhook-id", format!("sim-wh-{n}")),
            ("content-type", "application/json".to_string()),
        ];
        let delivery = Delivery {
            route: Route::Shopify,
            body: serde_json::to_vec(&o)?,
            headers,
            orders: vec![index],
            after_earlier: false,
        };
        Ok((format!("shop-{id}"), delivery))
    }

    pub fn woo(
        &self,
        n: usize,
        item: &Item,
        high: bool,
        now: Timestamp,
        index: usize,
    ) -> Result<(String, Delivery), serde_json::Error> {
        let mut o = self.woo.clone();
        let id = 500_000 + n;
        o["id"] = json!(id);
        o["number"] = json!(id.to_string());
        o["status"] = json!(if item.cancelled {
            "cancelled"
        } else {
            "processing"
        });
        // The store's local time and GMT, both without an offset (the store runs on UTC).
        let at = now.strftime("%Y-%m-%dT%H:%M:%S").to_string();
        for k in [
            "date_created",
            "date_modified",
            "date_created_gmt",
            "date_modified_gmt",
        ] {
            o[k] = json!(at);
        }
        o["billing"]["email"] = json!(item.email);
        o["shipping"]["address_1"] = json!(item.street);
        if item.street.is_empty() {
            o["billing"]["address_1"] = json!("");
        }
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
        let headers = vec![
            ("x-wc-webhook-source", WOO_SITE.to_string()),
            ("x-wc-webhook-topic", "order.created".to_string()),
            ("content-type", "application/json".to_string()),
        ];
        let delivery = Delivery {
            route: Route::Woocommerce,
            body: serde_json::to_vec(&o)?,
            headers,
            orders: vec![index],
            after_earlier: false,
        };
        Ok((format!("woo-{id}"), delivery))
    }
}

/// An 850 interchange with one purchase order of one line, as the corpus's partner sends it.
pub fn x12(n: usize, item: &Item, now: Timestamp, index: usize) -> (String, Delivery) {
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
    let delivery = Delivery {
        route: Route::X12,
        body: body.into_bytes(),
        headers: vec![("content-type", "application/edi-x12".to_string())],
        orders: vec![index],
        after_earlier: false,
    };
    (format!("po-{po}"), delivery)
}
