//! Fake sales channels on loopback: Shopify's GraphQL Admin API, WooCommerce's REST orders,
//! Magento's `V1/orders` search, Amazon's SP-API Orders (with a Login-with-Amazon token
//! endpoint) and BigCommerce's V2 orders, each serving seeded orders in the channel's real
//! shape (the corpus documents, patched: `docs`), with the channel's paging, its incremental
//! filter, its auth (a 401, or Amazon's 403, without the right credential) and scripted
//! throttling (429 with `Retry-After`, or Amazon's `x-amzn-RateLimit-Limit`).
//!
//! Tests edit orders ([`Shops::edit`]) to see a new version polled, expire Amazon's tokens
//! ([`Shops::expire_tokens`]) and script 429s ([`Shops::throttle`]); [`Shops::stats`] says
//! what the fake saw. Time comes from the clock handed to [`Shops::new`].

mod amazon;
pub mod docs;
mod routes;
#[cfg(test)]
mod tests;

use jiff::Timestamp;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use waypost_domain::Clock;

/// The credentials the fakes accept.
pub mod creds {
    pub const SHOPIFY_TOKEN: &str = "shpat_fake_0123456789";
    pub const WOO_KEY: &str = "ck_fake_4f1c";
    pub const WOO_SECRET: &str = "cs_fake_9a2e";
    pub const MAGENTO_TOKEN: &str = "mg-integration-fake";
    pub const BIGCOMMERCE_TOKEN: &str = "bc-api-token-fake";
    pub const BIGCOMMERCE_STORE: &str = "3xa9h2kd";
    pub const LWA_CLIENT_ID: &str = "amzn1.application-oa2-client.fake";
    pub const LWA_CLIENT_SECRET: &str = "amzn1.oa2-cs.v1.fake";
    pub const LWA_REFRESH_TOKEN: &str = "Atzr|fake-refresh";
    pub const AMAZON_SELLER: &str = "A3TV5VQ0WPZ8XS";
    pub const AMAZON_MARKETPLACE: &str = "ATVPDKIKX0DER";
}

/// One of the fake channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Shop {
    Shopify,
    Woocommerce,
    Magento,
    Amazon,
    Bigcommerce,
}

impl Shop {
    pub const ALL: [Shop; 5] = [
        Shop::Shopify,
        Shop::Woocommerce,
        Shop::Magento,
        Shop::Amazon,
        Shop::Bigcommerce,
    ];
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeLine {
    pub sku: String,
    pub qty: u32,
    pub unit_cents: i64,
}

/// A generated order, the truth every channel's document is rendered from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeOrder {
    /// The channel's numeric id (`entity_id`, Shopify's legacy id...).
    pub id: u64,
    /// The number the merchant sees (`#1001`, `000001001`).
    pub number: u64,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub lines: Vec<FakeLine>,
    pub cancelled: bool,
}

impl FakeOrder {
    pub fn total_cents(&self) -> i64 {
        self.lines
            .iter()
            .map(|l| l.unit_cents * i64::from(l.qty))
            .sum()
    }
}

const SKUS: [(&str, i64); 6] = [
    ("MUG-12-SLATE", 2400),
    ("BLK-WOOL", 8950),
    ("LID-12OZ", 585),
    ("CANDLE-BEES", 300),
    ("TEE-RED-S", 1950),
    ("BOTTLE-1L", 3125),
];

/// `n` orders per channel from `seed`, created a minute apart ending an hour before `now`.
pub fn generate(seed: u64, shop: Shop, n: usize, now: Timestamp) -> Vec<FakeOrder> {
    let mut rng = StdRng::seed_from_u64(seed ^ (shop as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let first = now
        .checked_sub(jiff::SignedDuration::from_mins(60 + n as i64))
        .unwrap_or(now);
    (0..n)
        .map(|i| {
            let created = first
                .checked_add(jiff::SignedDuration::from_mins(i as i64))
                .unwrap_or(first);
            let lines = (0..rng.random_range(1..=3usize))
                .map(|k| {
                    let (sku, cents) = SKUS[(i + k * 2) % SKUS.len()];
                    FakeLine {
                        sku: sku.into(),
                        qty: rng.random_range(1..=3),
                        unit_cents: cents,
                    }
                })
                .collect();
            FakeOrder {
                id: 5_790_000_000 + i as u64 * 17,
                number: 1001 + i as u64,
                created,
                updated: created
                    .checked_add(jiff::SignedDuration::from_secs(rng.random_range(2..40)))
                    .unwrap_or(created),
                lines,
                cancelled: false,
            }
        })
        .collect()
}

/// What the fakes saw, per channel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShopStats {
    pub requests: u64,
    pub unauthorized: u64,
    pub throttled: u64,
    /// The incremental filter of each first-page list request, as sent.
    pub since: Vec<String>,
}

#[derive(Default)]
struct State {
    orders: BTreeMap<Shop, Vec<FakeOrder>>,
    throttle: HashMap<Shop, u32>,
    stats: BTreeMap<Shop, ShopStats>,
    /// Amazon access tokens issued, with when each expires.
    tokens: HashMap<String, Timestamp>,
    tokens_issued: u64,
}

/// The fake channels. Cheap to clone.
#[derive(Clone)]
pub struct Shops {
    state: Arc<Mutex<State>>,
    clock: Arc<dyn Clock>,
    /// Amazon tokens' lifetime, in seconds (LWA: 3600).
    pub token_ttl_secs: i64,
    /// What Amazon's `x-amzn-RateLimit-Limit` says (getOrders: `0.0167`).
    pub amazon_rate_limit: String,
}

impl Shops {
    /// `orders` seeded orders in each channel.
    pub fn new(seed: u64, orders: usize, clock: Arc<dyn Clock>) -> Shops {
        let now = clock.now();
        let mut st = State::default();
        for s in Shop::ALL {
            st.orders.insert(s, generate(seed, s, orders, now));
        }
        Shops {
            state: Arc::new(Mutex::new(st)),
            clock,
            token_ttl_secs: 3600,
            amazon_rate_limit: "0.0167".into(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A std mutex: each handler holds it for a few map operations, never across an await.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub fn orders(&self, shop: Shop) -> Vec<FakeOrder> {
        self.lock().orders.get(&shop).cloned().unwrap_or_default()
    }

    /// Edits order `index` of `shop` at `at`: one more unit on its first line. Returns it.
    pub fn edit(&self, shop: Shop, index: usize, at: Timestamp) -> Option<FakeOrder> {
        let mut st = self.lock();
        let o = st.orders.get_mut(&shop)?.get_mut(index)?;
        if let Some(l) = o.lines.first_mut() {
            l.qty += 1;
        }
        o.updated = at.max(o.updated);
        Some(o.clone())
    }

    /// Adds an order to `shop`, created and updated at `at`.
    pub fn add(&self, shop: Shop, at: Timestamp) -> FakeOrder {
        let mut st = self.lock();
        let list = st.orders.entry(shop).or_default();
        let i = list.len() as u64;
        let o = FakeOrder {
            id: 5_790_000_000 + i * 17,
            number: 1001 + i,
            created: at,
            updated: at,
            lines: vec![FakeLine {
                sku: SKUS[0].0.into(),
                qty: 1,
                unit_cents: SKUS[0].1,
            }],
            cancelled: false,
        };
        list.push(o.clone());
        o
    }

    /// The next `n` order requests of `shop` answer 429.
    pub fn throttle(&self, shop: Shop, n: u32) {
        *self.lock().throttle.entry(shop).or_default() += n;
    }

    /// Every Amazon access token issued so far stops working.
    pub fn expire_tokens(&self) {
        self.lock().tokens.clear();
    }

    pub fn tokens_issued(&self) -> u64 {
        self.lock().tokens_issued
    }

    pub fn stats(&self, shop: Shop) -> ShopStats {
        self.lock().stats.get(&shop).cloned().unwrap_or_default()
    }

    /// Serves every fake on `addr` (port 0 for any), until the runtime ends. Paths:
    /// `/shopify/admin/api/{version}/graphql.json`, `/woocommerce/wp-json/wc/v3/orders`,
    /// `/magento/rest/{store}/V1/orders`, `/amazon/orders/v0/orders[/{id}/orderItems]`,
    /// `/amazon/auth/o2/token`, `/bigcommerce/stores/{hash}/v2/orders[/{id}[/products|/shipping_addresses]]`.
    pub async fn serve(&self, addr: SocketAddr) -> std::io::Result<SocketAddr> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let app = routes::router(self.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(local)
    }
}
