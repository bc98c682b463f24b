//! The canonical order: what every channel's payload becomes, before and after the tenant's
//! settings have placed it (account, order id, promise, priority).
//!
//! A channel reader fills a [`ChannelOrder`] with what the payload says and nothing more: no
//! defaults, no guesses. [`crate::resolve`] then adds what the tenant's settings say (which
//! account a shop domain is, the promise a service level carries, what makes an order
//! express), giving an [`Order`]. Keeping the two apart is what lets a quality gate say
//! "the payload had no promise; the account's SLA gave one".

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The sales channels Waypost reads orders from. The name is stable API (metrics labels,
/// profile layers, URLs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Shopify,
    Woocommerce,
    Bigcommerce,
    Magento,
    Amazon,
    X12,
    Csv,
    Jsonl,
    /// `POST /v1/orders`, Waypost's own schema.
    Api,
}

impl Channel {
    pub const ALL: [Channel; 9] = [
        Channel::Shopify,
        Channel::Woocommerce,
        Channel::Bigcommerce,
        Channel::Magento,
        Channel::Amazon,
        Channel::X12,
        Channel::Csv,
        Channel::Jsonl,
        Channel::Api,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Shopify => "shopify",
            Channel::Woocommerce => "woocommerce",
            Channel::Bigcommerce => "bigcommerce",
            Channel::Magento => "magento",
            Channel::Amazon => "amazon",
            Channel::X12 => "x12",
            Channel::Csv => "csv",
            Channel::Jsonl => "jsonl",
            Channel::Api => "api",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The channel whose accounts take this channel's orders: CSV and JSON-lines uploads are
    /// Waypost's own schema in other clothes, so they share the `api` channel's accounts (the
    /// same order uploaded and posted is one order).
    pub fn family(self) -> Channel {
        match self {
            Channel::Csv | Channel::Jsonl => Channel::Api,
            other => other,
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the order stands in its channel, as far as intake cares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ChannelState {
    /// Ready to fulfil.
    #[default]
    Open,
    /// Known but not complete in its channel (Amazon `Pending`: no address, no total yet;
    /// a payment still authorising). Held until a later version completes it.
    Incomplete { why: String },
    /// The channel put it on hold itself (WooCommerce `on-hold`, Magento `holded`).
    OnHold { why: String },
    /// Cancelled in the channel, with the channel's reason when it gives one.
    Cancelled { reason: Option<String> },
}

/// A party's address, as sent, trimmed. Country is ISO 3166-1 alpha-2 when the channel gave one
/// (or a name the reader could map); the quality gates judge completeness, not the reader.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Address {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    /// Street lines, empty ones dropped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// State or province: a code when the channel sends one, else the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// A buyer-assigned location code (X12 `N1*ST**92*W_341001`) when the address is given
    /// by reference instead of in full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_code: Option<String>,
    /// Coordinates: from the payload when it has them, else from the gazetteer at resolve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
}

/// The buyer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Customer {
    /// The channel's customer id; `None` for a guest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A tier hint from the channel (Magento `customer_group_id`, a `vip` tag); the account's
    /// settings decide what makes a VIP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// One order line.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Line {
    /// The channel's line id, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_id: Option<String>,
    /// The SKU the tenant's catalogue knows it by; `None` when the channel sent none (Woo's
    /// `""`, Shopify's null): the catalogue gate decides, not the reader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// Other identifiers as (qualifier, id): `variant_id`, `product_id`, `asin`, X12 `BP`/`VP`/`UP`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alt_ids: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub quantity: Decimal,
    /// Unit of measure when the channel names one (X12 `EA`, `CA`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uom: Option<String>,
    /// Price of one unit, before tax.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<Decimal>,
    /// Tax for the whole line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax: Option<Decimal>,
}

/// A signal the channel gives about urgency or standing. The account's settings turn these into
/// a [`Priority`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hint {
    /// Amazon `IsPrime`.
    Prime,
    /// Amazon `IsPremiumOrder`.
    Premium,
    /// Amazon `IsBusinessOrder`.
    Business,
    /// The channel marks the order as a test (Shopify `test: true`, X12 `ISA15 = T`).
    Test,
    /// A gift (Amazon `IsGift`).
    Gift,
    /// The buyer asked to cancel (Amazon `BuyerRequestedCancel`): honour it before shipping.
    BuyerRequestedCancel,
    /// A replacement for an earlier order (Amazon `IsReplacementOrder`).
    Replacement,
}

/// The channel's own judgement of risk (Shopify order risks, marketplace fraud flags), kept
/// as sent; the `channel_risk` gate decides what a level means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Risk {
    /// `low`, `medium` or `high`, mapped by the reader from the channel's scale.
    pub level: RiskLevel,
    /// The channel's words for it.
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    Low,
    Medium,
    High,
}

/// Something a reader noticed and worked around while reading: kept on the order so `explain`
/// can show it (`line 2: sku "" → variant_id 808950810`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadNote {
    /// Where in the document: a JSON path, an X12 segment position, a CSV line.
    pub at: String,
    pub note: String,
}

/// An order as its channel states it: everything the payload says, in canonical types, and
/// nothing the payload does not say.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChannelOrder {
    /// Which store, seller or trading partner sent it, as the payload or its headers name it
    /// (`acme.myshopify.com`, `https://shop.example/`, `stores/abc123`, a seller id and
    /// marketplace, an ISA sender id). The tenant's settings map it to an account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_ref: Option<String>,
    /// The channel's id for the order: the one it is fetched by and joined on.
    pub external_id: String,
    /// The number people see (`#1001`, `000000003`), when it differs from `external_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_id: Option<String>,
    /// Waypost's order id when the payload carries one (the generic schema, CSV); otherwise
    /// the account's settings derive it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    /// When the channel last changed it: orders versions by this, never by arrival.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Timestamp>,
    #[serde(default)]
    pub state: ChannelState,
    pub lines: Vec<Line>,
    /// ISO 4217, upper case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// The order's total as the channel states it (tax and shipping included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<Decimal>,
    #[serde(default)]
    pub customer: Customer,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_to: Option<Address>,
    /// The channel's shipping method or service level, as sent (`Free Shipping`,
    /// `tablerate_bestway`, `Expedited`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_level: Option<String>,
    /// A delivery promise in the payload (Amazon `LatestDeliveryDate`, X12 `DTM*002`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promised_at: Option<Timestamp>,
    /// A ship-by date in the payload (Amazon `LatestShipDate`, X12 `DTM*010`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_by: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<Hint>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub risks: Vec<Risk>,
    /// Tags as the channel sent them, trimmed, empty ones dropped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Free text from the buyer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// What the reader worked around.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read_notes: Vec<ReadNote>,
}

/// How urgently an order must move: decides its admission lane and its place in the intake
/// queue. `High` covers express services, VIP customers and marketplace SLAs.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    #[default]
    Standard,
    High,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Standard => "standard",
            Priority::High => "high",
        }
    }
}

/// Where a resolved field's value came from, so `explain` can say "promise from the account's
/// SLA for `standard` (3 days)".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Derived {
    /// The payload said so.
    Payload,
    /// The tenant's settings said so; the text says which setting.
    Settings(String),
    /// Nothing gave it.
    Missing,
}

/// An order placed in its tenant: the channel's statement plus what the settings add.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub channel: Channel,
    /// The account inside the tenant (a store, seller or trading partner).
    pub account: String,
    /// Waypost's order id: what warehouses and carriers report against.
    pub order_id: String,
    pub placed: ChannelOrder,
    /// The promised delivery instant in force: the payload's, else the account's SLA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promised_at: Option<Timestamp>,
    pub promise_from: Derived,
    pub priority: Priority,
    /// Why the priority is what it is (`service level "Expedited"`, `tag vip`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub priority_because: Vec<String>,
    /// The customer's tier from the account's settings (`vip`), when any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_tier: Option<String>,
}

impl Order {
    /// The content hash of what the channel stated: two deliveries of the same order state
    /// give the same hash whatever path they took, so the order is stored once. It covers
    /// the account, order id and the statement (amounts by value, not by how many
    /// decimals were written), not the reader's notes (a webhook and a poll read the same order
    /// with different notes).
    pub fn content_hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut placed = self.placed.clone();
        placed.read_notes.clear();
        // `19.50` from a CSV and `19.5` from JSON are the same amount: the same hash.
        placed.total = placed.total.map(|d| d.normalize());
        for l in &mut placed.lines {
            l.quantity = l.quantity.normalize();
            l.unit_price = l.unit_price.map(|d| d.normalize());
            l.tax = l.tax.map(|d| d.normalize());
        }
        // Not the channel: the same statement posted and uploaded is the same version.
        let mut h = Sha256::new();
        h.update(self.account.as_bytes());
        h.update([0]);
        h.update(self.order_id.as_bytes());
        h.update([0]);
        // Serializing our own struct cannot fail: every field is a plain value.
        h.update(serde_json::to_vec(&placed).unwrap_or_default());
        hex::encode(&h.finalize()[..16])
    }

    /// The order's value: the channel's total, else the sum of its lines (unit × quantity plus
    /// tax) when every line is priced (and the sum is representable).
    pub fn value(&self) -> Option<Decimal> {
        if let Some(t) = self.placed.total {
            return Some(t);
        }
        // Checked: a hostile quantity must not overflow (Decimal panics on overflow).
        let mut sum = Decimal::ZERO;
        for l in &self.placed.lines {
            let line = l
                .unit_price?
                .checked_mul(l.quantity)?
                .checked_add(l.tax.unwrap_or_default())?;
            sum = sum.checked_add(line)?;
        }
        (!self.placed.lines.is_empty()).then_some(sum)
    }
}
