//! The intake queue's order: held and failed orders sorted by what waiting costs. The score is
//! a sum of named parts so a person reads why an order is on top, not an opaque number:
//!
//! - value: `per_unit_value` points per unit of the order's currency (no exchange rates here:
//!   a tenant selling in several currencies weighs them alike);
//! - promise: `per_hour_left` points for each hour the promise is closer than
//!   `horizon_hours` (a passed promise counts the whole horizon: it is as urgent as it gets);
//! - tier: `vip` points for a VIP customer;
//! - channel: the channel's SLA penalty (`[impact.channel_sla] amazon = 50`), for channels
//!   that penalise late shipping.

use super::profile::{Cx, bare};
use crate::model::{Channel, Order};
use jiff::Timestamp;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use toml::de::DeTable;

/// The weights of the impact score, under `[impact]` in a profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImpactWeights {
    /// Points per unit of the order's value.
    pub per_unit_value: f64,
    /// Points per hour the promise is inside the horizon.
    pub per_hour_left: f64,
    /// How far ahead a promise starts to count, in hours.
    pub horizon_hours: f64,
    /// Points for a VIP customer.
    pub vip: f64,
    /// Points per channel for its late-shipping penalty.
    pub channel_sla: BTreeMap<Channel, f64>,
}

impl Default for ImpactWeights {
    fn default() -> Self {
        ImpactWeights {
            per_unit_value: 0.1,
            per_hour_left: 1.0,
            horizon_hours: 48.0,
            vip: 30.0,
            channel_sla: BTreeMap::new(),
        }
    }
}

/// An order's place in the intake queue: the score and the parts it sums, each named for a
/// person (`"value 129.00 USD"` → 12.9, `"promise in 3 h"` → 45.0, `"tier vip"` → 30.0,
/// `"channel amazon SLA"` → 50.0). Higher goes first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Impact {
    pub score: f64,
    pub parts: Vec<(String, f64)>,
}

/// The impact of leaving `order` waiting, at `now`.
pub fn impact(order: &Order, now: Timestamp, w: &ImpactWeights) -> Impact {
    let mut parts = Vec::new();
    if let Some(v) = value(order) {
        let units = v.to_f64().unwrap_or(0.0).max(0.0);
        let cur = order.placed.currency.as_deref().unwrap_or("(no currency)");
        parts.push((format!("value {v} {cur}"), units * w.per_unit_value));
    }
    if let Some(p) = order.promised_at {
        let secs = p.as_second().saturating_sub(now.as_second());
        let hours = secs as f64 / 3600.0;
        let label = if secs < 0 {
            format!("promise passed {} h ago", (-hours).round())
        } else {
            format!("promise in {} h", hours.round())
        };
        let inside = (w.horizon_hours - hours.max(0.0)).clamp(0.0, w.horizon_hours.max(0.0));
        parts.push((label, inside * w.per_hour_left));
    }
    if order.customer_tier.as_deref() == Some("vip") {
        parts.push(("tier vip".to_string(), w.vip));
    }
    if let Some(p) = w.channel_sla.get(&order.channel) {
        parts.push((format!("channel {} SLA", order.channel), *p));
    }
    let score = parts.iter().map(|(_, s)| s).sum();
    Impact { score, parts }
}

/// [`Order::value`] with checked arithmetic: a payload's extreme quantity times price must
/// not overflow (and panic) while scoring.
fn value(order: &Order) -> Option<rust_decimal::Decimal> {
    let p = &order.placed;
    if let Some(t) = p.total {
        return Some(t);
    }
    let mut sum = rust_decimal::Decimal::ZERO;
    for l in &p.lines {
        let line = l.unit_price?.checked_mul(l.quantity)?;
        sum = sum
            .checked_add(line)?
            .checked_add(l.tax.unwrap_or_default())?;
    }
    (!p.lines.is_empty()).then_some(sum)
}

/// `[impact]`, every problem reported.
pub(super) fn impact_weights(cx: &mut Cx, path: &str, t: &DeTable) -> ImpactWeights {
    let mut w = ImpactWeights::default();
    for (k, v) in t.iter() {
        let key = k.get_ref().as_ref();
        let p = format!("{path}.{}", bare(key));
        let slot = match key {
            "per_unit_value" => &mut w.per_unit_value,
            "per_hour_left" => &mut w.per_hour_left,
            "horizon_hours" => &mut w.horizon_hours,
            "vip" => &mut w.vip,
            "channel_sla" => {
                for (ck, cv) in cx.table(&p, v).into_iter().flatten() {
                    let cp = format!("{p}.{}", bare(ck.get_ref()));
                    match Channel::parse(ck.get_ref()) {
                        Some(c) => {
                            if let Some(n) = cx.weight(&cp, cv) {
                                w.channel_sla.insert(c, n);
                            }
                        }
                        None => {
                            let valid = Channel::ALL.map(Channel::as_str).join(", ");
                            cx.at(&cp, ck, format!("unknown channel (valid: {valid})"));
                        }
                    }
                }
                continue;
            }
            _ => {
                cx.at(
                    &p,
                    k,
                    "unknown key (valid: per_unit_value, per_hour_left, horizon_hours, vip, channel_sla)",
                );
                continue;
            }
        };
        if let Some(n) = cx.weight(&p, v) {
            *slot = n;
        }
    }
    w
}

/// Sorts a queue by impact, highest first; ties keep their order (arrival).
pub fn sort_queue<T>(items: &mut [(T, Impact)]) {
    items.sort_by(|a, b| b.1.score.total_cmp(&a.1.score));
}
