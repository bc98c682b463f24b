//! `[[order_channels]]`: one entry per sales-channel account to poll for orders. Required:
//! `name`, `tenant`, `channel`, `base_url` and the credentials of the channel; everything else
//! has a default taken from the channel's documentation. Durations as in `[[connectors]]`
//! (`30`, `"250ms"`, `"30s"`, `"15m"`, `"6h"`). Secrets may be `env:VAR` or `file:/path`.
//!
//! ```toml
//! [[order_channels]]
//! name = "amazon-acme-us"
//! tenant = "acme"
//! channel = "amazon"
//! base_url = "https://sellingpartnerapi-na.amazon.com"
//! seller_id = "A3TV5VQ0WPZ8XS"
//! marketplace_ids = ["ATVPDKIKX0DER"]
//! interval = "2m"
//! [order_channels.credentials]
//! lwa_client_id = "amzn1.application-oa2-client.abc"
//! lwa_client_secret = "env:AMZ_LWA_SECRET"
//! refresh_token = "file:/run/secrets/amz-refresh"
//! # token_url defaults to https://api.amazon.com/auth/o2/token
//! [order_channels.rate_limits.orders]
//! rate_per_sec = 0.0167
//! burst = 20
//! ```

use crate::config::{Env, Secret, duration};
use crate::policy::breaker::BreakerConfig;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;
use waypost_domain::TenantId;
use waypost_orders::Channel;

/// The channels that can be polled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolledChannel {
    /// GraphQL Admin API `orders(query: "updated_at:>=…", sortKey: UPDATED_AT)`.
    Shopify,
    /// REST `GET /wp-json/wc/v3/orders?modified_after=…&dates_are_gmt=true`.
    Woocommerce,
    /// REST `GET /rest/{store}/V1/orders?searchCriteria…` on `updated_at` `gteq`.
    Magento,
    /// Selling Partner API `getOrders` (`LastUpdatedAfter`) then `getOrderItems` per order.
    Amazon,
    /// V2 `GET /v2/orders?min_date_modified=…`, then each order's products and addresses.
    Bigcommerce,
}

impl PolledChannel {
    pub fn channel(self) -> Channel {
        match self {
            PolledChannel::Shopify => Channel::Shopify,
            PolledChannel::Woocommerce => Channel::Woocommerce,
            PolledChannel::Magento => Channel::Magento,
            PolledChannel::Amazon => Channel::Amazon,
            PolledChannel::Bigcommerce => Channel::Bigcommerce,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.channel().as_str()
    }

    /// Whether the list is paged by page number (an offset) rather than by a cursor the
    /// channel keeps stable.
    pub fn offset_paged(self) -> bool {
        matches!(
            self,
            PolledChannel::Woocommerce | PolledChannel::Magento | PolledChannel::Bigcommerce
        )
    }
}

/// The endpoints a channel is limited on, each with its own token bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// The order list (every channel; Amazon `getOrders`, Shopify's GraphQL endpoint).
    Orders,
    /// Amazon `getOrderItems`; BigCommerce's per-order fetches (order, products, addresses).
    OrderItems,
    /// Amazon's LWA token endpoint.
    Token,
}

/// One endpoint's limit: `rate_per_sec` sustained, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    pub rate_per_sec: f64,
    pub burst: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelCredentials {
    /// Shopify: sent as `X-Shopify-Access-Token`.
    #[serde(default)]
    pub access_token: Option<Secret>,
    /// WooCommerce: HTTP Basic user and password.
    #[serde(default)]
    pub consumer_key: Option<Secret>,
    #[serde(default)]
    pub consumer_secret: Option<Secret>,
    /// Magento: `Authorization: Bearer` (integration or admin token).
    #[serde(default)]
    pub bearer_token: Option<Secret>,
    /// BigCommerce: sent as `X-Auth-Token`.
    #[serde(default)]
    pub auth_token: Option<Secret>,
    /// Amazon: Login with Amazon, refresh-token grant; the access token goes in
    /// `x-amz-access-token`.
    #[serde(default)]
    pub lwa_client_id: Option<String>,
    #[serde(default)]
    pub lwa_client_secret: Option<Secret>,
    #[serde(default)]
    pub refresh_token: Option<Secret>,
    #[serde(default = "d::token_url")]
    pub token_url: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderChannelConfig {
    /// Unique among order channels and connectors' state (`[a-z0-9][a-z0-9_.-]*`).
    pub name: String,
    pub tenant: TenantId,
    pub channel: PolledChannel,
    /// Forces the Waypost account of every order (otherwise the order's reference picks it).
    #[serde(default)]
    pub account: Option<String>,
    /// The store's API root: `https://shop.myshopify.com`, the WordPress site, the Magento
    /// base, `https://api.bigcommerce.com/stores/{hash}`, the SP-API regional endpoint.
    pub base_url: String,
    /// The reference the readers put in `account_ref` (the shop domain, the site URL, the
    /// store hash, the seller id). Defaults: Shopify the base URL's host, WooCommerce and
    /// Magento the base URL, BigCommerce `stores/{hash}` from the base URL, Amazon `seller_id`.
    #[serde(default)]
    pub account_ref: Option<String>,
    #[serde(default)]
    pub credentials: ChannelCredentials,
    /// Amazon: the selling partner id (the API never names it) and the marketplaces asked.
    #[serde(default)]
    pub seller_id: Option<String>,
    #[serde(default)]
    pub marketplace_ids: Vec<String>,
    /// Shopify: the Admin API version in the path.
    #[serde(default = "d::shopify_api_version")]
    pub api_version: String,
    /// Magento: the store code in `/rest/{store_code}/V1/orders`.
    #[serde(default = "d::store_code")]
    pub store_code: String,
    /// Time between two polls that found nothing more.
    #[serde(default = "d::interval", with = "duration")]
    pub interval: Duration,
    /// How far before the saved cursor each poll starts again: orders whose update landed
    /// late in the channel's index are not missed (they arrive twice; the desk stores once).
    #[serde(default = "d::overlap", with = "duration")]
    pub overlap: Duration,
    /// The first poll without a saved cursor reads orders updated since this long ago.
    #[serde(default = "d::initial_lookback", with = "duration")]
    pub initial_lookback: Duration,
    /// Orders per page asked.
    #[serde(default = "d::page_size")]
    pub page_size: u32,
    /// Per-endpoint limits; endpoints not listed keep the channel's documented default.
    #[serde(default)]
    pub rate_limits: BTreeMap<Endpoint, Limit>,
    #[serde(default = "d::timeout", with = "duration")]
    pub timeout: Duration,
    #[serde(default = "d::max_retries")]
    pub max_retries: u32,
    #[serde(default = "d::backoff_base", with = "duration")]
    pub backoff_base: Duration,
    #[serde(default = "d::backoff_cap", with = "duration")]
    pub backoff_cap: Duration,
    #[serde(default = "d::breaker_failures")]
    pub breaker_failures: u32,
    #[serde(default = "d::breaker_cool_off", with = "duration")]
    pub breaker_cool_off: Duration,
    /// Refresh the Amazon access token when this fraction of its lifetime has passed.
    #[serde(default = "d::token_refresh_at")]
    pub token_refresh_at: f64,
}

mod d {
    use std::time::Duration;
    pub fn token_url() -> String {
        "https://api.amazon.com/auth/o2/token".into()
    }
    pub fn shopify_api_version() -> String {
        "2025-01".into()
    }
    pub fn store_code() -> String {
        "all".into()
    }
    pub fn interval() -> Duration {
        Duration::from_secs(120)
    }
    pub fn overlap() -> Duration {
        Duration::from_secs(120)
    }
    pub fn initial_lookback() -> Duration {
        Duration::from_secs(3 * 24 * 3600)
    }
    pub fn page_size() -> u32 {
        50
    }
    pub fn timeout() -> Duration {
        Duration::from_secs(30)
    }
    pub fn max_retries() -> u32 {
        3
    }
    pub fn backoff_base() -> Duration {
        Duration::from_millis(500)
    }
    pub fn backoff_cap() -> Duration {
        Duration::from_secs(60)
    }
    pub fn breaker_failures() -> u32 {
        5
    }
    pub fn breaker_cool_off() -> Duration {
        Duration::from_secs(60)
    }
    pub fn token_refresh_at() -> f64 {
        0.8
    }
}

/// An `[[order_channels]]` entry that cannot be used, naming it and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("order_channels[{channel}].{field}: {message}")]
pub struct OrderConfigError {
    pub channel: String,
    pub field: &'static str,
    pub message: String,
}

/// The documented limits: Amazon's usage plans (getOrders 0.0167/s burst 20, getOrderItems
/// 0.5/s burst 30, both from the Orders v0 reference), Shopify REST's 2/s (the GraphQL cost
/// bucket of a Standard plan allows about as many order pages), BigCommerce's 150 requests
/// per 30 s window, and a polite 2/s for WooCommerce and Magento, which document none.
pub fn default_limit(channel: PolledChannel, endpoint: Endpoint) -> Limit {
    let l = |rate_per_sec, burst| Limit {
        rate_per_sec,
        burst,
    };
    match (channel, endpoint) {
        (_, Endpoint::Token) => l(1.0, 5),
        (PolledChannel::Amazon, Endpoint::Orders) => l(0.0167, 20),
        (PolledChannel::Amazon, Endpoint::OrderItems) => l(0.5, 30),
        (PolledChannel::Bigcommerce, _) => l(5.0, 150),
        (PolledChannel::Shopify, _) => l(2.0, 40),
        (PolledChannel::Woocommerce | PolledChannel::Magento, _) => l(2.0, 10),
    }
}

impl OrderChannelConfig {
    /// A config with every default, for tests and for building one in code.
    pub fn new(name: &str, tenant: TenantId, channel: PolledChannel, base_url: &str) -> Self {
        Self {
            name: name.to_owned(),
            tenant,
            channel,
            account: None,
            base_url: base_url.to_owned(),
            account_ref: None,
            credentials: ChannelCredentials {
                token_url: d::token_url(),
                ..ChannelCredentials::default()
            },
            seller_id: None,
            marketplace_ids: Vec::new(),
            api_version: d::shopify_api_version(),
            store_code: d::store_code(),
            interval: d::interval(),
            overlap: d::overlap(),
            initial_lookback: d::initial_lookback(),
            page_size: d::page_size(),
            rate_limits: BTreeMap::new(),
            timeout: d::timeout(),
            max_retries: d::max_retries(),
            backoff_base: d::backoff_base(),
            backoff_cap: d::backoff_cap(),
            breaker_failures: d::breaker_failures(),
            breaker_cool_off: d::breaker_cool_off(),
            token_refresh_at: d::token_refresh_at(),
        }
    }

    /// The limit in force on `endpoint`.
    pub fn limit(&self, endpoint: Endpoint) -> Limit {
        self.rate_limits
            .get(&endpoint)
            .copied()
            .unwrap_or_else(|| default_limit(self.channel, endpoint))
    }

    pub fn breaker(&self) -> BreakerConfig {
        BreakerConfig {
            failures: self.breaker_failures,
            error_rate: 0.5,
            min_requests: 20,
            window: Duration::from_secs(60),
            cool_off: self.breaker_cool_off,
        }
    }

    /// What the channel's reader is given as the account reference (see `account_ref`).
    pub fn reference(&self) -> Option<String> {
        if let Some(r) = &self.account_ref {
            return Some(r.clone());
        }
        let url = reqwest::Url::parse(&self.base_url).ok();
        match self.channel {
            PolledChannel::Shopify => url.and_then(|u| u.host_str().map(str::to_owned)),
            PolledChannel::Woocommerce | PolledChannel::Magento => Some(self.base_url.clone()),
            PolledChannel::Bigcommerce => {
                let u = url?;
                let mut segs = u.path_segments()?;
                segs.find(|s| *s == "stores")?;
                segs.next().map(|h| format!("stores/{h}"))
            }
            PolledChannel::Amazon => self.seller_id.clone(),
        }
    }

    fn err(&self, field: &'static str, message: impl Into<String>) -> OrderConfigError {
        OrderConfigError {
            channel: self.name.clone(),
            field,
            message: message.into(),
        }
    }

    /// Replaces `env:`/`file:` secrets by what they name (variables looked up by `env`: a
    /// library reads no environment). Call before `validate`.
    pub fn resolve_secrets(&mut self, env: &Env<'_>) -> Result<(), OrderConfigError> {
        let name = self.name.clone();
        let c = &mut self.credentials;
        let fields: [(&'static str, &mut Option<Secret>); 7] = [
            ("credentials.access_token", &mut c.access_token),
            ("credentials.consumer_key", &mut c.consumer_key),
            ("credentials.consumer_secret", &mut c.consumer_secret),
            ("credentials.bearer_token", &mut c.bearer_token),
            ("credentials.auth_token", &mut c.auth_token),
            ("credentials.lwa_client_secret", &mut c.lwa_client_secret),
            ("credentials.refresh_token", &mut c.refresh_token),
        ];
        for (field, slot) in fields {
            if let Some(s) = slot.as_ref() {
                let resolved = s.resolve(env).map_err(|message| OrderConfigError {
                    channel: name.clone(),
                    field,
                    message,
                })?;
                *slot = Some(resolved);
            }
        }
        Ok(())
    }

    /// Names the first unusable field.
    pub fn validate(&self) -> Result<(), OrderConfigError> {
        if waypost_domain::SourceName::new(self.name.as_str()).is_err() {
            return Err(self.err("name", "must match [a-z0-9][a-z0-9_.-]*"));
        }
        let http_url = |u: &str| {
            reqwest::Url::parse(u)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        };
        if !http_url(&self.base_url) {
            return Err(self.err("base_url", "must be an http(s) URL with a host"));
        }
        let c = &self.credentials;
        let need = |s: &Option<Secret>, field| match s {
            Some(s) if !s.expose().is_empty() => Ok(()),
            _ => Err(self.err(field, format!("required for {}", self.channel.as_str()))),
        };
        match self.channel {
            PolledChannel::Shopify => need(&c.access_token, "credentials.access_token")?,
            PolledChannel::Woocommerce => {
                need(&c.consumer_key, "credentials.consumer_key")?;
                need(&c.consumer_secret, "credentials.consumer_secret")?;
            }
            PolledChannel::Magento => need(&c.bearer_token, "credentials.bearer_token")?,
            PolledChannel::Bigcommerce => need(&c.auth_token, "credentials.auth_token")?,
            PolledChannel::Amazon => {
                if c.lwa_client_id.as_deref().is_none_or(str::is_empty) {
                    return Err(self.err("credentials.lwa_client_id", "required for amazon"));
                }
                need(&c.lwa_client_secret, "credentials.lwa_client_secret")?;
                need(&c.refresh_token, "credentials.refresh_token")?;
                if !http_url(&c.token_url) {
                    return Err(self.err("credentials.token_url", "must be an http(s) URL"));
                }
                if self.seller_id.as_deref().is_none_or(str::is_empty) {
                    return Err(self.err("seller_id", "required for amazon"));
                }
                if self.marketplace_ids.is_empty() {
                    return Err(self.err("marketplace_ids", "name at least one marketplace"));
                }
            }
        }
        if self.reference().is_none() {
            return Err(self.err(
                "account_ref",
                "cannot be derived from base_url (BigCommerce: .../stores/{hash}): set it",
            ));
        }
        for (ep, l) in &self.rate_limits {
            if !(l.rate_per_sec.is_finite() && l.rate_per_sec > 0.0) || l.burst == 0 {
                let _ = ep;
                return Err(self.err("rate_limits", "rate_per_sec must be > 0 and burst >= 1"));
            }
        }
        if self.interval.is_zero() {
            return Err(self.err("interval", "must be positive"));
        }
        let max_page = match self.channel {
            PolledChannel::Shopify => 250,
            PolledChannel::Bigcommerce => 250,
            PolledChannel::Woocommerce | PolledChannel::Amazon => 100,
            PolledChannel::Magento => 1000,
        };
        if self.page_size == 0 || self.page_size > max_page {
            return Err(self.err("page_size", format!("must be 1..={max_page}")));
        }
        if self.timeout.is_zero() {
            return Err(self.err("timeout", "must be positive"));
        }
        if self.backoff_cap < self.backoff_base {
            return Err(self.err("backoff_cap", "must be at least backoff_base"));
        }
        if !(self.token_refresh_at > 0.0 && self.token_refresh_at < 1.0) {
            return Err(self.err("token_refresh_at", "must be in (0, 1)"));
        }
        Ok(())
    }
}

/// Checks every entry, and that names are unique.
pub fn validate_channels(configs: &[OrderChannelConfig]) -> Result<(), OrderConfigError> {
    let mut seen = std::collections::BTreeSet::new();
    for c in configs {
        c.validate()?;
        if !seen.insert(c.name.as_str()) {
            return Err(c.err("name", "used by another order channel"));
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
