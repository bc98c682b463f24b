//! Shadow mode: a candidate profile judges live orders beside the one in force and reports
//! what it would have done differently, before anyone switches it on. Pure aggregation: the
//! service keeps a [`ShadowTally`] in memory and the API shows its rows.

use super::{CheckId, Decision, Finding, Outcome};
use crate::model::{Channel, Order};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// How the candidate's decision on one order differs from the one in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShadowDiff {
    pub in_force: Outcome,
    pub candidate: Outcome,
    /// The candidate's findings that would hold or reject the order, by check.
    pub would: Vec<Finding>,
}

/// `None` when both profiles come to the same outcome.
pub fn shadow(in_force: &Decision, candidate: &Decision) -> Option<ShadowDiff> {
    if in_force.outcome == candidate.outcome {
        return None;
    }
    let would = (candidate.findings.iter())
        .filter(|f| f.outcome >= Outcome::Hold)
        .cloned()
        .collect();
    Some(ShadowDiff {
        in_force: in_force.outcome,
        candidate: candidate.outcome,
        would,
    })
}

/// One row of a tally: how many orders a check gave `outcome` on, for one channel and
/// account, under each profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TallyRow {
    pub check: CheckId,
    pub channel: Channel,
    pub account: String,
    pub outcome: Outcome,
    pub in_force: u64,
    pub candidate: u64,
}

/// Counts by (check, channel, account, outcome) of the non-passing findings of both profiles,
/// each order counted once per key (a check failing on three lines is one order). Keys are
/// bounded by the tenant's accounts, the checks and the outcomes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShadowTally {
    /// Orders seen.
    pub orders: u64,
    /// Orders whose outcome the candidate would change.
    pub differing: u64,
    counts: BTreeMap<(CheckId, Channel, String, Outcome), (u64, u64)>,
}

impl ShadowTally {
    /// Adds one order's two decisions.
    pub fn add(&mut self, order: &Order, in_force: &Decision, candidate: &Decision) {
        self.orders = self.orders.saturating_add(1);
        if in_force.outcome != candidate.outcome {
            self.differing = self.differing.saturating_add(1);
        }
        let keys = |d: &Decision| -> BTreeSet<(CheckId, Outcome)> {
            (d.findings.iter())
                .filter(|f| f.outcome != Outcome::Pass)
                .map(|f| (f.check, f.outcome))
                .collect()
        };
        for (check, outcome) in keys(in_force) {
            let key = (check, order.channel, order.account.clone(), outcome);
            let e = self.counts.entry(key).or_default();
            e.0 = e.0.saturating_add(1);
        }
        for (check, outcome) in keys(candidate) {
            let key = (check, order.channel, order.account.clone(), outcome);
            let e = self.counts.entry(key).or_default();
            e.1 = e.1.saturating_add(1);
        }
    }

    /// The counts, sorted by check, channel, account, outcome.
    pub fn rows(&self) -> Vec<TallyRow> {
        (self.counts.iter())
            .map(|((check, channel, account, outcome), (a, b))| TallyRow {
                check: *check,
                channel: *channel,
                account: account.clone(),
                outcome: *outcome,
                in_force: *a,
                candidate: *b,
            })
            .collect()
    }
}
