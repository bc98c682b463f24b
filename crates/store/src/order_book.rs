//! The order book: orders as they entered (every version a channel sent, the quality gates'
//! decision on each, the intake queue of held orders, its audit lines), and the catalogue and
//! stock the gates consult. A concern of its own beside the event log: the order-intake
//! service is its single writer, as the engine is the log's, so a flood of orders never
//! queues behind a flood of tracking events.
//!
//! The store does not know the canonical order's shape: it keeps the order and its decision
//! as the service's JSON, and indexes the few columns it sorts and counts by.

use crate::StoreError;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use waypost_domain::TenantId;

/// Where an order stands at intake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntakeStatus {
    /// Passed the gates (perhaps with warnings); its status history has begun.
    Accepted,
    /// Accepted, but a line no warehouse can serve: waits for stock.
    Backordered,
    /// Waits for a person: fix, release or reject.
    Held,
    /// Refused by a gate, or by a person.
    Rejected,
    /// Cancelled in its channel.
    Cancelled,
}

impl IntakeStatus {
    pub const ALL: [IntakeStatus; 5] = [
        IntakeStatus::Accepted,
        IntakeStatus::Backordered,
        IntakeStatus::Held,
        IntakeStatus::Rejected,
        IntakeStatus::Cancelled,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            IntakeStatus::Accepted => "accepted",
            IntakeStatus::Backordered => "backordered",
            IntakeStatus::Held => "held",
            IntakeStatus::Rejected => "rejected",
            IntakeStatus::Cancelled => "cancelled",
        }
    }
    pub fn parse(s: &str) -> Option<IntakeStatus> {
        IntakeStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }
    /// Accepted or backordered: the order is in the operational flow.
    pub fn is_in_flow(self) -> bool {
        matches!(self, IntakeStatus::Accepted | IntakeStatus::Backordered)
    }
}

/// One gate's verdict on one version, kept for the counts by rule, channel and account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingRow {
    /// The check's name (`sku_known`).
    pub check: String,
    /// `pass`, `warn`, `backorder`, `hold` or `reject`.
    pub outcome: String,
    /// `global`, `channel shopify`, `account acme-shop`.
    pub layer: String,
    /// `true` for the profile in force, `false` for the shadow profile's verdicts.
    pub enforced: bool,
}

/// A version of an order as the service hands it to the book.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionIn {
    pub order_id: String,
    pub channel: String,
    pub account: String,
    pub external_id: String,
    /// The hash of what the channel stated: the same hash twice is the same version.
    pub content_hash: String,
    /// The channel's own last-change time: versions are ordered by it, never by arrival.
    pub updated_at: Option<Timestamp>,
    pub received_at: Timestamp,
    /// The canonical order (the service's JSON).
    pub body: String,
    /// The gates' decision (the service's JSON), and the shadow profile's when one runs.
    pub decision: String,
    pub shadow: Option<String>,
    pub status: IntakeStatus,
    /// `high` or `standard`.
    pub priority: String,
    /// The queue's sort key (the service's impact score) and its order value, for display.
    pub impact: f64,
    pub value: Option<f64>,
    pub currency: Option<String>,
    pub promised_at: Option<Timestamp>,
    /// For the duplicate-order gate: orders with the same fingerprint are suspects.
    pub fingerprint: String,
    /// The transport's delivery id (`X-Shopify-Webhook-Id`, BigCommerce `hash`, an X12
    /// control number): seen once, a second delivery is answered as a duplicate unread.
    pub delivery: Option<String>,
    /// SKUs this version waits for, when backordered.
    pub waiting_for: Vec<String>,
    pub findings: Vec<FindingRow>,
    /// Who handed it in (`intake` for a channel, a person's email for a fix): the audit's actor.
    pub actor: String,
}

/// What the book did with a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PutOutcome {
    /// A version not seen before. `current` when it is now the order's latest by channel time
    /// (an older edit arriving late is kept in the history but not current); `previous` the
    /// order's status before it, if the order was known.
    New {
        version: i64,
        current: bool,
        previous: Option<IntakeStatus>,
    },
    /// The same content was already stored as `version`: nothing written.
    Duplicate { version: i64 },
}

/// An order's row in the book: its current version's summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntakeRow {
    pub order_id: String,
    pub channel: String,
    pub account: String,
    pub external_id: String,
    pub status: IntakeStatus,
    pub priority: String,
    pub impact: f64,
    pub value: Option<f64>,
    pub currency: Option<String>,
    pub promised_at: Option<Timestamp>,
    /// The current version and when it arrived.
    pub version: i64,
    pub received_at: Timestamp,
    /// When the order entered its present status (the queue's "waiting since").
    pub status_since: Timestamp,
    /// The current version's order and decision JSON.
    pub body: String,
    pub decision: String,
    pub shadow: Option<String>,
    /// The newest version whose status history was handed to the event log (`0`: none).
    pub emitted_version: i64,
    /// What set the status: `received` (the gates, when the version arrived) or the action
    /// of a [`StatusChange`] (`released`, `rejected`, `revalidated`, `stock_arrived`).
    pub status_action: String,
}

/// One stored version, for the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionRow {
    pub version: i64,
    pub content_hash: String,
    pub updated_at: Option<Timestamp>,
    pub received_at: Timestamp,
    pub status: IntakeStatus,
    pub decision: String,
}

/// A person's or the service's action on an order, kept forever.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntakeAuditRow {
    pub at: Timestamp,
    pub actor: String,
    /// `received`, `fixed`, `released`, `rejected`, `revalidated`, `stock_arrived`, ...
    pub action: String,
    pub detail: String,
}

/// A change of status by a person or by re-validation.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusChange {
    pub order_id: String,
    /// The version the actor saw: a newer one in the meantime refuses the change.
    pub version: i64,
    pub status: IntakeStatus,
    /// A new decision JSON (re-validation), or `None` to keep the version's.
    pub decision: Option<String>,
    pub findings: Option<Vec<FindingRow>>,
    pub impact: Option<f64>,
    pub waiting_for: Option<Vec<String>>,
    pub actor: String,
    pub action: String,
    pub detail: String,
    /// A person released a held order unchanged: the holds of this version were false
    /// positives of the checks that held it.
    pub false_positive: bool,
    pub at: Timestamp,
}

/// Counts of verdicts by check, channel, account and outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateCount {
    pub check: String,
    pub channel: String,
    pub account: String,
    pub outcome: String,
    pub layer: String,
    pub enforced: bool,
    pub count: u64,
    /// Of `count`, the holds a person released unchanged.
    pub false_positives: u64,
}

/// A SKU in the tenant's catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueItem {
    pub sku: String,
    #[serde(default)]
    pub title: Option<String>,
}

/// Stock of one SKU in one warehouse (absolute, as counted: not a delta).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StockLevel {
    pub warehouse: String,
    pub sku: String,
    pub available: f64,
    /// When it was counted: an older count never replaces a newer one.
    pub counted_at: Timestamp,
}

/// What the gates need to know of some SKUs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SkuFacts {
    /// Whether the tenant keeps a catalogue at all (without one, "SKU known" is not judged).
    pub has_catalogue: bool,
    /// Of the SKUs asked, those in the catalogue.
    pub known: Vec<String>,
    /// Of the SKUs asked, the stock over all warehouses of those with any stock row.
    pub available: Vec<(String, f64)>,
}

/// The order book's writer: one owner, the order-intake service.
pub trait OrderBook: Send {
    /// Stores a version (idempotent on the content hash and on the delivery id), with its
    /// findings and an audit line, in one transaction.
    fn intake_put(&mut self, tenant: &TenantId, v: &VersionIn) -> Result<PutOutcome, StoreError>;
    /// [`Self::intake_put`] for several versions (of any tenants) in one transaction: all
    /// stored or none. A backend should override it to commit once.
    fn intake_put_batch(
        &mut self,
        items: &[(TenantId, VersionIn)],
    ) -> Result<Vec<PutOutcome>, StoreError> {
        items.iter().map(|(t, v)| self.intake_put(t, v)).collect()
    }
    /// Changes an order's status (release, reject, re-validate, stock arrived), with its
    /// audit line, in one transaction. Refuses with `Conflict` when `version` is not the
    /// current one. The order's status history is then due again ([`OrderBookReads::intake_unemitted`]).
    fn intake_status(&mut self, tenant: &TenantId, c: &StatusChange) -> Result<(), StoreError>;
    /// Records that the status history of `version` was handed to the event log.
    fn intake_emitted(
        &mut self,
        tenant: &TenantId,
        order_id: &str,
        version: i64,
    ) -> Result<(), StoreError>;
    /// [`Self::intake_emitted`] for several orders at once (one commit where the backend can).
    fn intake_emitted_batch(
        &mut self,
        marks: &[(TenantId, String, i64)],
    ) -> Result<(), StoreError> {
        for (t, o, v) in marks {
            self.intake_emitted(t, o, *v)?;
        }
        Ok(())
    }
    /// Adds or renames catalogue SKUs.
    fn catalogue_put(
        &mut self,
        tenant: &TenantId,
        items: &[CatalogueItem],
    ) -> Result<usize, StoreError>;
    /// Sets stock levels; an older count than the stored one is ignored. Returns how many
    /// levels changed.
    fn stock_put(&mut self, tenant: &TenantId, levels: &[StockLevel]) -> Result<usize, StoreError>;
}

/// Which orders a queue listing shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueueQuery {
    pub statuses: Vec<IntakeStatus>,
    pub channel: Option<String>,
    pub account: Option<String>,
    /// Resume after this (impact, order id), from the previous page's last row.
    pub after: Option<(f64, String)>,
    pub limit: usize,
}

/// Reads of the order book, shared by request handlers and the service.
pub trait OrderBookReads: Send + Sync + 'static {
    fn intake_order(
        &self,
        tenant: &TenantId,
        order_id: &str,
    ) -> Result<Option<IntakeRow>, StoreError>;
    fn intake_versions(
        &self,
        tenant: &TenantId,
        order_id: &str,
    ) -> Result<Vec<VersionRow>, StoreError>;
    fn intake_audit(
        &self,
        tenant: &TenantId,
        order_id: &str,
    ) -> Result<Vec<IntakeAuditRow>, StoreError>;
    /// Orders by impact, highest first, then order id.
    fn intake_queue(&self, tenant: &TenantId, q: &QueueQuery)
    -> Result<Vec<IntakeRow>, StoreError>;
    /// Verdict counts since `since` (by the version's arrival).
    fn intake_counts(
        &self,
        tenant: &TenantId,
        since: Option<Timestamp>,
    ) -> Result<Vec<GateCount>, StoreError>;
    /// Other orders with this fingerprint that arrived at or after `since`.
    fn intake_similar(
        &self,
        tenant: &TenantId,
        fingerprint: &str,
        since: Timestamp,
        except_order: &str,
    ) -> Result<Vec<String>, StoreError>;
    /// Whether a delivery id was seen on `channel`.
    fn intake_delivery_seen(
        &self,
        tenant: &TenantId,
        channel: &str,
        delivery: &str,
    ) -> Result<bool, StoreError>;
    /// Backordered orders waiting for any of `skus`.
    fn intake_waiting_for(
        &self,
        tenant: &TenantId,
        skus: &[String],
    ) -> Result<Vec<String>, StoreError>;
    /// Orders (any tenant) whose current version or last status change has not reached the
    /// event log: what a restart hands on. At most `limit`.
    fn intake_unemitted(&self, limit: usize) -> Result<Vec<(TenantId, String)>, StoreError>;
    fn sku_facts(&self, tenant: &TenantId, skus: &[String]) -> Result<SkuFacts, StoreError>;
    /// The catalogue, a page at a time by SKU.
    fn catalogue_list(
        &self,
        tenant: &TenantId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<CatalogueItem>, StoreError>;
    /// Stock rows for one SKU, or all (a page at a time by (sku, warehouse)).
    fn stock_list(
        &self,
        tenant: &TenantId,
        sku: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StockLevel>, StoreError>;
}

/// An opened order book: its writer and a reader to share.
pub type OpenedBook = (Box<dyn OrderBook>, std::sync::Arc<dyn OrderBookReads>);
