//! The quality gates of order intake: a [`Profile`] of checks (required fields, address,
//! postal format, catalogue, quantity, price, currency, duplicates, the channel's risk flags,
//! the promise, stock, the channel's own state), each with an outcome that a channel or an
//! account may override, judged against one resolved [`Order`] by [`evaluate`].
//!
//! Pure like the rest of the crate: "now", the tenant's catalogue and the duplicate lookup are
//! [`Facts`] the caller hands in. A decision keeps one [`Finding`] per check (passing ones
//! too) naming the layer its outcome came from, so `waypost orders explain` can say which
//! check did what and why. [`shadow`] compares a candidate profile with the one in force;
//! [`impact`] orders the intake queue of held and failed orders.

mod checks;
mod impact;
mod postal;
mod profile;
mod shadow;
mod spec;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_profile;

pub use checks::{evaluate, fingerprint};
pub use impact::{Impact, ImpactWeights, impact, sort_queue};
pub use postal::{postal_matches, postal_templates};
pub use profile::{Problem, Profile};
pub use shadow::{ShadowDiff, ShadowTally, TallyRow, shadow};
pub use spec::{CheckId, Field};

use crate::model::{Channel, Order};
use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// What a check (and so an order) comes to, ordered by severity: the decision is the most
/// severe of its findings.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Accepted as is.
    #[default]
    Pass,
    /// Accepted, with a warning shown in the order's history.
    Warn,
    /// Accepted but no warehouse can serve a line yet: waits for stock, not for a person.
    Backorder,
    /// Waits in the intake queue for a person.
    Hold,
    /// Refused: never reaches fulfilment.
    Reject,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [
        Outcome::Pass,
        Outcome::Warn,
        Outcome::Backorder,
        Outcome::Hold,
        Outcome::Reject,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Warn => "warn",
            Outcome::Backorder => "backorder",
            Outcome::Hold => "hold",
            Outcome::Reject => "reject",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a check's setting came from. The built-in defaults count as the global layer: a
/// profile that names nothing is the global layer left as built.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    Global,
    Channel(Channel),
    Account(String),
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Layer::Global => f.write_str("global"),
            Layer::Channel(c) => write!(f, "channel {c}"),
            Layer::Account(a) => write!(f, "account {a}"),
        }
    }
}

/// What one check found. Passing checks give one too, so `explain` shows every check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub check: CheckId,
    pub outcome: Outcome,
    /// The layer the outcome came from.
    pub layer: Layer,
    /// For people: what was wrong (or checked), with the values.
    pub message: String,
    /// The order line when the finding is about one: an index into `placed.lines` (from 0),
    /// while messages count lines from 1 as people do (`line 2: ...` is index 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

/// A profile's judgement of one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// The most severe finding's outcome (`pass` when there is none).
    pub outcome: Outcome,
    /// Sorted by check (the order of [`CheckId::ALL`]), then line: stable for `explain`.
    pub findings: Vec<Finding>,
    /// The profile's name.
    pub profile: String,
}

impl Decision {
    /// The findings that made the outcome (the most severe ones), or none for a pass.
    pub fn deciding(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(move |f| self.outcome != Outcome::Pass && f.outcome == self.outcome)
    }

    /// One line per finding, for `waypost orders explain`:
    /// `hold      sku_known         account acme-shop  line 2: sku "X-9" is not in the catalogue`.
    pub fn explain(&self) -> String {
        let mut out = format!("profile {:?}: {}\n", self.profile, self.outcome);
        for f in &self.findings {
            out.push_str(&format!(
                "  {:<9} {:<16} {:<24} {}\n",
                f.outcome.as_str(),
                f.check.as_str(),
                f.layer.to_string(),
                f.message
            ));
        }
        out
    }
}

/// What the tenant's catalogue and stock say about SKUs. Supplied by the service, which reads
/// them from the store; `None` answers mean "not kept", and the check is skipped with a note.
pub trait Catalogue {
    /// Whether the tenant sells `sku`; `None` when the tenant keeps no catalogue.
    fn known(&self, sku: &str) -> Option<bool>;
    /// Units available over all warehouses; `None` when stock is not tracked for the SKU.
    fn available(&self, sku: &str) -> Option<Decimal>;
}

/// A tenant that keeps neither catalogue nor stock: the SKU and stock checks are skipped.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCatalogue;

impl Catalogue for NoCatalogue {
    fn known(&self, _: &str) -> Option<bool> {
        None
    }
    fn available(&self, _: &str) -> Option<Decimal> {
        None
    }
}

/// A catalogue held in memory: the SKUs sold and, for those tracked, their stock. Enough for
/// tests and for tenants whose catalogue is a settings file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListCatalogue {
    pub skus: BTreeSet<String>,
    pub stock: BTreeMap<String, Decimal>,
}

impl Catalogue for ListCatalogue {
    fn known(&self, sku: &str) -> Option<bool> {
        Some(self.skus.contains(sku))
    }
    fn available(&self, sku: &str) -> Option<Decimal> {
        self.stock.get(sku).copied()
    }
}

/// What evaluation needs besides the order and the profile: all supplied by the caller.
#[derive(Clone, Copy)]
pub struct Facts<'a> {
    pub now: Timestamp,
    pub catalogue: &'a dyn Catalogue,
    /// Order ids with the same [`fingerprint`] inside the profile's duplicate window
    /// ([`Profile::duplicate_window`]), as the caller found them. The order's own id is
    /// ignored if present.
    pub duplicates: &'a [String],
}

/// The profile in force and, when one is being tried, the candidate running in its shadow.
/// The service reloads both from files; the candidate never decides anything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profiles {
    pub in_force: Profile,
    pub shadow: Option<Profile>,
}

impl Profiles {
    /// The decision in force, and the candidate's with how it differs when it does.
    pub fn evaluate(
        &self,
        order: &Order,
        facts: &Facts,
    ) -> (Decision, Option<(Decision, Option<ShadowDiff>)>) {
        let decided = evaluate(&self.in_force, order, facts);
        let candidate = self.shadow.as_ref().map(|p| {
            let c = evaluate(p, order, facts);
            let diff = shadow(&decided, &c);
            (c, diff)
        });
        (decided, candidate)
    }
}
