//! Orders entering through the sales channels: a seeded mix of deliveries (Waypost's own
//! `POST /v1/orders` in batches and one by one, Shopify and WooCommerce webhooks, X12 850s),
//! each document in its channel's own shape, with PLANTED bad orders of known kinds, and the
//! truth per order: what the profile in [`settings`] must make of it (accepted, held by which
//! check, rejected by which, cancelled) and its priority by the accounts.
//!
//! Pure and seeded like the rest of the world: same seed and instant, same deliveries, same
//! truth. Sending (and signing the webhooks) is the driver's.

mod docs;
pub mod settings;

use jiff::Timestamp;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Route {
    /// `POST /v1/orders`, one order or a batch, with a key.
    Api,
    /// `POST /v1/channels/shopify/orders?tenant=`, signed.
    Shopify,
    /// `POST /v1/channels/woocommerce/orders?tenant=`, signed.
    Woocommerce,
    /// `POST /v1/channels/x12/orders` with a key: an 850 interchange.
    X12,
}

impl Route {
    pub fn name(self) -> &'static str {
        match self {
            Route::Api => "api",
            Route::Shopify => "shopify",
            Route::Woocommerce => "woocommerce",
            Route::X12 => "x12",
        }
    }

    /// Whether the route authenticates by signature (then the driver signs the body).
    pub fn signed(self) -> Option<(&'static str, &'static str)> {
        match self {
            Route::Shopify => Some(("x-shopify-hmac-sha256", settings::SHOP_SECRET)),
            Route::Woocommerce => Some(("x-wc-webhook-signature", settings::WOO_SECRET)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    High,
    Standard,
}

/// A fault planted in an order on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Planted {
    None,
    /// A SKU the catalogue does not list.
    UnknownSku,
    /// A ship-to address without a street.
    MissingStreet,
    /// A quantity over the profile's maximum.
    OverQuantity,
    /// The same customer, address and lines as an earlier order, under a new order number.
    Duplicate,
    /// An order the channel already cancelled.
    Cancelled,
}

impl Planted {
    /// What the profile in force must make of it: the intake status, and the check.
    pub fn expected(self) -> (&'static str, Option<&'static str>) {
        match self {
            Planted::None => ("accepted", None),
            Planted::UnknownSku => ("held", Some("sku_known")),
            Planted::MissingStreet => ("held", Some("address_complete")),
            Planted::OverQuantity => ("rejected", Some("quantity")),
            Planted::Duplicate => ("held", Some("duplicate")),
            Planted::Cancelled => ("cancelled", None),
        }
    }

    /// Faults only some routes can carry: X12 partners name a ship-to by location code
    /// (complete without a street), send no customer contact to match duplicates on, and
    /// cancel by a different transaction.
    fn fits(self, route: Route) -> bool {
        match self {
            Planted::MissingStreet | Planted::Duplicate | Planted::Cancelled => route != Route::X12,
            _ => true,
        }
    }
}

/// One order's truth.
#[derive(Debug, Clone, Serialize)]
pub struct IntakeTruth {
    /// Waypost's order id, as the account's `order_id` template makes it.
    pub order_id: String,
    pub route: Route,
    pub priority: Priority,
    pub planted: Planted,
    /// `accepted`, `held`, `rejected` or `cancelled`.
    pub outcome: &'static str,
    /// The check that must make a hold or a reject.
    pub check: Option<&'static str>,
}

/// One request a channel makes.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub route: Route,
    pub body: Vec<u8>,
    /// Headers besides the key and the signature (the shop, the topic, the webhook id).
    pub headers: Vec<(&'static str, String)>,
    /// Indices into [`IntakeDay::truths`].
    pub orders: Vec<usize>,
    /// A duplicate: to be sent once the deliveries before it were answered, or it would not
    /// find its original in the order book.
    pub after_earlier: bool,
}

pub struct IntakeDay {
    pub truths: Vec<IntakeTruth>,
    pub deliveries: Vec<Delivery>,
}

/// The mix of a day of orders.
#[derive(Debug, Clone)]
pub struct Mix {
    pub orders: usize,
    pub seed: u64,
    /// Percent of orders planted with each fault (each kind in `planted`).
    pub planted: Vec<(Planted, f64)>,
    /// Plant each kind at least once, early, whatever the percentages give.
    pub every_kind: bool,
    /// Percent of orders sent high priority, on routes that can say so.
    pub high_pct: f64,
    /// Orders per `POST /v1/orders` batch.
    pub api_batch: usize,
}

/// Shares of the orders by route, in percent.
const SHARES: [(Route, u32); 4] = [
    (Route::Api, 55),
    (Route::Shopify, 20),
    (Route::Woocommerce, 15),
    (Route::X12, 10),
];

/// The day of `mix`, its orders created at `now`.
pub fn plan(mix: &Mix, now: Timestamp) -> Result<IntakeDay, serde_json::Error> {
    let templates = docs::Templates::load()?;
    let mut rng = StdRng::seed_from_u64(mix.seed);
    let mut day = IntakeDay {
        truths: Vec::with_capacity(mix.orders),
        deliveries: Vec::new(),
    };
    let kinds: Vec<Planted> = mix.planted.iter().map(|(k, _)| *k).collect();
    let mut batch: Vec<(usize, Value)> = Vec::new();
    // The last clean order per route, for a duplicate to copy.
    let mut originals: HashMap<Route, docs::Item> = HashMap::new();
    for n in 0..mix.orders {
        let mut route = pick_route(&mut rng);
        let mut planted = if mix.every_kind && n >= 1 && n <= kinds.len() {
            kinds[n - 1]
        } else {
            let roll = rng.random_range(0.0..100.0);
            let mut acc = 0.0;
            let mut pick = Planted::None;
            for (kind, pct) in &mix.planted {
                acc += pct;
                if roll < acc {
                    pick = *kind;
                    break;
                }
            }
            pick
        };
        if !planted.fits(route) {
            route = Route::Api;
        }
        if planted == Planted::Duplicate && !originals.contains_key(&route) {
            match originals.keys().next() {
                Some(r) => route = *r,
                None => planted = Planted::None,
            }
        }
        let high = planted == Planted::None
            && route != Route::X12
            && rng.random_range(0.0..100.0) < mix.high_pct;
        let item = match planted {
            Planted::Duplicate => match originals.get(&route) {
                Some(o) => o.clone(),
                None => docs::Item::new(n, planted, &mut rng),
            },
            _ => docs::Item::new(n, planted, &mut rng),
        };
        if planted == Planted::None {
            originals.insert(route, item.clone());
        }
        // A duplicate's original may wait in the batch being filled: it goes out first.
        if planted == Planted::Duplicate && !batch.is_empty() {
            day.deliveries
                .push(docs::api_delivery(std::mem::take(&mut batch))?);
        }
        let index = day.truths.len();
        let (order_id, delivery) = match route {
            Route::Api => {
                let (id, doc) = docs::api(n, &item, high.then(|| rng.random_range(0..3)), now);
                if planted == Planted::Duplicate {
                    // Alone, so it can be held back until its original was answered.
                    (id, Some(docs::api_delivery(vec![(index, doc)])?))
                } else {
                    batch.push((index, doc));
                    // About half the API's orders go one by one, the rest in batches.
                    if rng.random_bool(0.1) || batch.len() >= mix.api_batch.max(1) {
                        day.deliveries
                            .push(docs::api_delivery(std::mem::take(&mut batch))?);
                    }
                    (id, None)
                }
            }
            Route::Shopify => {
                let (id, d) = templates.shopify(n, &item, high, now, index)?;
                (id, Some(d))
            }
            Route::Woocommerce => {
                let (id, d) = templates.woo(n, &item, high, now, index)?;
                (id, Some(d))
            }
            Route::X12 => {
                let (id, d) = docs::x12(n, &item, now, index);
                (id, Some(d))
            }
        };
        let (outcome, check) = planted.expected();
        day.truths.push(IntakeTruth {
            order_id,
            route,
            priority: if high {
                Priority::High
            } else {
                Priority::Standard
            },
            planted,
            outcome,
            check,
        });
        if let Some(mut d) = delivery {
            d.after_earlier |= planted == Planted::Duplicate;
            day.deliveries.push(d);
        }
    }
    if !batch.is_empty() {
        day.deliveries.push(docs::api_delivery(batch)?);
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

#[cfg(test)]
mod tests;
