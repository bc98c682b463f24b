//! Order intake's counters, registered into the process's one registry at wiring: orders by
//! channel, account and status; the gates' verdicts that were not a pass, by check, channel,
//! account, outcome and profile (in force or shadow); holds released unchanged (the false
//! positives); and the lanes' depths. Accounts are configured names and checks a fixed list, so
//! the label sets stay bounded.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicI64;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OrderLabels {
    pub channel: String,
    pub account: String,
    pub status: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VerdictLabels {
    pub check: String,
    pub channel: String,
    pub account: String,
    pub outcome: String,
    /// `enforced` or `shadow`.
    pub profile: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CheckLabels {
    pub check: String,
    pub channel: String,
    pub account: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LaneLabels {
    pub lane: String,
}

/// The desk's counters.
#[derive(Debug, Default, Clone)]
pub struct DeskMetrics {
    pub orders: Family<OrderLabels, Counter>,
    pub verdicts: Family<VerdictLabels, Counter>,
    pub false_positives: Family<CheckLabels, Counter>,
    pub lane_depth: Family<LaneLabels, Gauge<i64, AtomicI64>>,
}

impl DeskMetrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "waypost_orders_received",
            "Order versions taken in, by channel, account and intake status",
            self.orders.clone(),
        );
        registry.register(
            "waypost_order_gate_verdicts",
            "Quality-gate verdicts other than pass, by check, channel, account, outcome and profile (enforced or shadow)",
            self.verdicts.clone(),
        );
        registry.register(
            "waypost_order_false_positives",
            "Held orders a person released unchanged, by the check that held them",
            self.false_positives.clone(),
        );
        registry.register(
            "waypost_order_lane_depth",
            "Orders waiting for the order book's writer, by priority lane",
            self.lane_depth.clone(),
        );
    }
}
