//! The checks a profile can name, their parameters and their built-in defaults: the one
//! place that says what `[checks.X]` may contain.

use super::{Layer, Outcome};
use crate::model::{Order, RiskLevel};
use jiff::SignedDuration;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The checks, in the order `explain` lists them. The names are the TOML table names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckId {
    Required,
    AddressComplete,
    PostalFormat,
    SkuKnown,
    Quantity,
    Price,
    Currency,
    Duplicate,
    ChannelRisk,
    Promise,
    Stock,
    ChannelState,
}

impl CheckId {
    pub const ALL: [CheckId; 12] = [
        CheckId::Required,
        CheckId::AddressComplete,
        CheckId::PostalFormat,
        CheckId::SkuKnown,
        CheckId::Quantity,
        CheckId::Price,
        CheckId::Currency,
        CheckId::Duplicate,
        CheckId::ChannelRisk,
        CheckId::Promise,
        CheckId::Stock,
        CheckId::ChannelState,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CheckId::Required => "required",
            CheckId::AddressComplete => "address_complete",
            CheckId::PostalFormat => "postal_format",
            CheckId::SkuKnown => "sku_known",
            CheckId::Quantity => "quantity",
            CheckId::Price => "price",
            CheckId::Currency => "currency",
            CheckId::Duplicate => "duplicate",
            CheckId::ChannelRisk => "channel_risk",
            CheckId::Promise => "promise",
            CheckId::Stock => "stock",
            CheckId::ChannelState => "channel_state",
        }
    }

    pub fn parse(s: &str) -> Option<CheckId> {
        CheckId::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The parameters this check takes besides `outcome` and `enabled`.
    pub(super) fn params(self) -> &'static [&'static str] {
        match self {
            CheckId::Required => &["fields"],
            CheckId::Quantity => &["max"],
            CheckId::Price => &["max_unit"],
            CheckId::Currency => &["allowed"],
            CheckId::Duplicate => &["window"],
            CheckId::ChannelRisk => &["at_least"],
            CheckId::Promise => &["min_lead"],
            _ => &[],
        }
    }

    /// The built-in outcome: what a profile naming nothing does. Chosen so that an order a
    /// person could fix waits (hold), one that cannot be fulfilled at all is refused, and
    /// nothing is refused that a later version from the channel might complete.
    pub(super) fn default_outcome(self) -> Outcome {
        match self {
            CheckId::Required | CheckId::Quantity => Outcome::Reject,
            CheckId::Promise => Outcome::Warn,
            CheckId::Stock => Outcome::Backorder,
            _ => Outcome::Hold,
        }
    }
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A field the `required` check can demand. In a profile, `a|b` means "a or b".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Field {
    Lines,
    ShipTo,
    ShipToName,
    ShipToStreet,
    ShipToCity,
    ShipToRegion,
    ShipToPostalCode,
    ShipToCountry,
    ShipToPhone,
    CustomerId,
    CustomerEmail,
    CustomerPhone,
    CustomerName,
    Currency,
    Total,
    CreatedAt,
    PromisedAt,
    ServiceLevel,
}

impl Field {
    pub const ALL: [Field; 18] = [
        Field::Lines,
        Field::ShipTo,
        Field::ShipToName,
        Field::ShipToStreet,
        Field::ShipToCity,
        Field::ShipToRegion,
        Field::ShipToPostalCode,
        Field::ShipToCountry,
        Field::ShipToPhone,
        Field::CustomerId,
        Field::CustomerEmail,
        Field::CustomerPhone,
        Field::CustomerName,
        Field::Currency,
        Field::Total,
        Field::CreatedAt,
        Field::PromisedAt,
        Field::ServiceLevel,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Field::Lines => "lines",
            Field::ShipTo => "ship_to",
            Field::ShipToName => "ship_to.name",
            Field::ShipToStreet => "ship_to.lines",
            Field::ShipToCity => "ship_to.city",
            Field::ShipToRegion => "ship_to.region",
            Field::ShipToPostalCode => "ship_to.postal_code",
            Field::ShipToCountry => "ship_to.country",
            Field::ShipToPhone => "ship_to.phone",
            Field::CustomerId => "customer.id",
            Field::CustomerEmail => "customer.email",
            Field::CustomerPhone => "customer.phone",
            Field::CustomerName => "customer.name",
            Field::Currency => "currency",
            Field::Total => "total",
            Field::CreatedAt => "created_at",
            Field::PromisedAt => "promised_at",
            Field::ServiceLevel => "service_level",
        }
    }

    pub fn parse(s: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// Whether the order has this field, blank text counting as absent.
    pub fn present(self, o: &Order) -> bool {
        fn some(s: &Option<String>) -> bool {
            s.as_deref().is_some_and(|s| !s.trim().is_empty())
        }
        let p = &o.placed;
        let to = p.ship_to.as_ref();
        let addr =
            |g: fn(&crate::model::Address) -> &Option<String>| to.is_some_and(|a| some(g(a)));
        match self {
            Field::Lines => !p.lines.is_empty(),
            Field::ShipTo => to.is_some(),
            Field::ShipToName => addr(|a| &a.name),
            Field::ShipToStreet => to.is_some_and(|a| a.lines.iter().any(|l| !l.trim().is_empty())),
            Field::ShipToCity => addr(|a| &a.city),
            Field::ShipToRegion => addr(|a| &a.region),
            Field::ShipToPostalCode => addr(|a| &a.postal_code),
            Field::ShipToCountry => addr(|a| &a.country),
            Field::ShipToPhone => addr(|a| &a.phone),
            Field::CustomerId => some(&p.customer.id),
            Field::CustomerEmail => some(&p.customer.email),
            Field::CustomerPhone => some(&p.customer.phone),
            Field::CustomerName => some(&p.customer.name),
            Field::Currency => some(&p.currency),
            Field::Total => p.total.is_some(),
            Field::CreatedAt => p.created_at.is_some(),
            Field::PromisedAt => o.promised_at.is_some(),
            Field::ServiceLevel => some(&p.service_level),
        }
    }
}

/// A layer's parameters: only what it sets. Overlaid field by field.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Params {
    /// Each entry is a set of alternatives (`customer.email|customer.phone`).
    pub fields: Option<Vec<Vec<Field>>>,
    pub max: Option<Decimal>,
    pub max_unit: Option<Decimal>,
    pub allowed: Option<Vec<String>>,
    pub window: Option<SignedDuration>,
    pub at_least: Option<RiskLevel>,
    pub min_lead: Option<SignedDuration>,
}

/// One check's settings in one layer.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct CheckLayer {
    pub outcome: Option<Outcome>,
    pub enabled: Option<bool>,
    pub params: Params,
}

/// A check's settings in force for one order: every layer applied to the built-in defaults.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Settings {
    pub outcome: Outcome,
    pub outcome_from: Layer,
    pub enabled: bool,
    pub enabled_from: Layer,
    pub fields: Vec<Vec<Field>>,
    pub max: Decimal,
    pub max_unit: Decimal,
    /// Empty: any well-formed ISO 4217 code.
    pub allowed: Vec<String>,
    pub window: SignedDuration,
    pub at_least: RiskLevel,
    pub min_lead: SignedDuration,
}

impl Settings {
    pub fn defaults(check: CheckId) -> Settings {
        Settings {
            outcome: check.default_outcome(),
            outcome_from: Layer::Global,
            enabled: true,
            enabled_from: Layer::Global,
            // Only lines by default: a pending marketplace order has no address yet and must
            // be held by `channel_state`, not refused for a missing ship-to.
            fields: vec![vec![Field::Lines]],
            max: Decimal::from(1000),
            max_unit: Decimal::from(10_000),
            allowed: Vec::new(),
            window: SignedDuration::from_hours(24),
            at_least: RiskLevel::High,
            min_lead: SignedDuration::from_hours(4),
        }
    }

    pub fn apply(&mut self, layer: &Layer, l: &CheckLayer) {
        if let Some(o) = l.outcome {
            self.outcome = o;
            self.outcome_from = layer.clone();
        }
        if let Some(e) = l.enabled {
            self.enabled = e;
            self.enabled_from = layer.clone();
        }
        let p = &l.params;
        if let Some(v) = &p.fields {
            self.fields = v.clone();
        }
        if let Some(v) = p.max {
            self.max = v;
        }
        if let Some(v) = p.max_unit {
            self.max_unit = v;
        }
        if let Some(v) = &p.allowed {
            self.allowed = v.clone();
        }
        if let Some(v) = p.window {
            self.window = v;
        }
        if let Some(v) = p.at_least {
            self.at_least = v;
        }
        if let Some(v) = p.min_lead {
            self.min_lead = v;
        }
    }
}
