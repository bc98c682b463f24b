//! Wire types of order intake: receipts, the intake queue, `explain`, gate counts, catalogue
//! and stock.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use waypost_order_intake::Receipt;
use waypost_store::{GateCount, IntakeAuditRow, IntakeRow, VersionRow};

/// What became of one submitted order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderResult {
    /// Waypost's order id (what warehouses and carriers report against).
    pub order_id: String,
    /// The account inside the tenant it was placed in.
    pub account: String,
    /// The order book's version of it.
    pub version: i64,
    /// `accepted`, `backordered`, `held`, `rejected` or `cancelled`.
    pub status: String,
    /// The same version (or transport delivery) was already stored: nothing changed.
    pub duplicate: bool,
    /// An older edit than the current version by the channel's time: kept in the history only.
    pub stale: bool,
    /// The gates' outcome: `pass`, `warn`, `backorder`, `hold` or `reject`.
    pub outcome: String,
    /// The checks that made the outcome.
    pub because: Vec<String>,
}

impl From<Receipt> for OrderResult {
    fn from(r: Receipt) -> Self {
        OrderResult {
            order_id: r.order_id,
            account: r.account,
            version: r.version,
            status: r.status.as_str().to_string(),
            duplicate: r.duplicate,
            stale: r.stale,
            outcome: r.outcome.as_str().to_string(),
            because: r.because,
        }
    }
}

/// One refused order of a submission, with why.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderRefusal {
    /// Its position in the submitted array or document (0-based), or its line in an upload.
    pub index: u64,
    /// The order's id when it could be read.
    pub order_id: Option<String>,
    pub reason: String,
}

/// The answer to an order submission.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrdersReceipt {
    /// Orders taken into the order book, in the order submitted.
    pub results: Vec<OrderResult>,
    /// Orders that could not be placed (unknown account, an id the log refuses), each named.
    pub refused: Vec<OrderRefusal>,
    /// An X12 997 functional acknowledgment, for an 850 interchange.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acknowledgment: Option<String>,
    /// X12 855 purchase-order acknowledgments, one per order accepted, backordered or rejected
    /// (held orders are acknowledged once a person decided).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub po_acknowledgments: Vec<String>,
}

/// One order in the intake queue.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct QueueItem {
    pub order_id: String,
    pub channel: String,
    pub account: String,
    pub external_id: String,
    pub status: String,
    pub priority: String,
    /// The queue's sort key: see `impact_parts` for what it sums.
    pub impact: f64,
    /// What the impact is made of, each part named for a person (`value 129.00 USD`,
    /// `promise in 3 h`, `tier vip`, `channel amazon SLA`), recomputed at this read.
    pub impact_parts: Vec<ImpactPart>,
    pub value: Option<f64>,
    pub currency: Option<String>,
    /// RFC 3339.
    pub promised_at: Option<String>,
    pub version: i64,
    /// When the current version arrived (RFC 3339).
    pub received_at: String,
    /// When the order entered its present status (RFC 3339): how long it has waited.
    pub status_since: String,
    /// The checks that made its status, with their messages.
    pub because: Vec<FindingDto>,
}

/// One named part of an impact score.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImpactPart {
    pub part: String,
    pub points: f64,
}

/// A page of the intake queue, highest impact first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct QueuePage {
    pub orders: Vec<QueueItem>,
    /// Pass as `after` for the next page; absent on the last one.
    pub next: Option<String>,
}

/// One check's verdict.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FindingDto {
    /// The check (`sku_known`, `address_complete`, ...).
    pub check: String,
    /// `pass`, `warn`, `backorder`, `hold` or `reject`.
    pub outcome: String,
    /// The layer the outcome came from: `global`, `channel shopify`, `account acme-shop`.
    pub layer: String,
    pub message: String,
    /// The order line (0-based) it is about, if one.
    pub line: Option<u64>,
}

/// A profile's decision on one version.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DecisionDto {
    pub profile: String,
    pub outcome: String,
    /// Every check, passing ones too, in a stable order.
    pub findings: Vec<FindingDto>,
}

/// One version of an order as it entered.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VersionDto {
    pub version: i64,
    pub content_hash: String,
    /// The channel's own change time (RFC 3339): versions are ordered by it.
    pub updated_at: Option<String>,
    pub received_at: String,
    pub status: String,
}

impl From<&VersionRow> for VersionDto {
    fn from(v: &VersionRow) -> Self {
        VersionDto {
            version: v.version,
            content_hash: v.content_hash.clone(),
            updated_at: v.updated_at.map(|t| t.to_string()),
            received_at: v.received_at.to_string(),
            status: v.status.as_str().to_string(),
        }
    }
}

/// One audit line.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IntakeAuditDto {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

impl From<&IntakeAuditRow> for IntakeAuditDto {
    fn from(a: &IntakeAuditRow) -> Self {
        IntakeAuditDto {
            at: a.at.to_string(),
            actor: a.actor.clone(),
            action: a.action.clone(),
            detail: a.detail.clone(),
        }
    }
}

/// How an order entered: which rule did what, from which layer, and what the shadow profile
/// would have done.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IntakeExplain {
    pub order: QueueItem,
    /// The canonical order of the current version, as placed in its account.
    #[schema(value_type = Object)]
    pub placed: serde_json::Value,
    pub decision: DecisionDto,
    /// The shadow profile's decision, when one runs.
    pub shadow: Option<DecisionDto>,
    /// Whether the shadow profile would have decided otherwise.
    pub shadow_differs: bool,
    pub versions: Vec<VersionDto>,
    pub audit: Vec<IntakeAuditDto>,
}

/// Verdict counts of one check for one channel, account, layer and outcome.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GateCountDto {
    pub check: String,
    pub channel: String,
    pub account: String,
    pub outcome: String,
    pub layer: String,
    pub count: u64,
    /// Holds a person released unchanged.
    pub false_positives: u64,
    /// `false_positives / count` for holds; absent otherwise.
    pub false_positive_rate: Option<f64>,
}

impl From<&GateCount> for GateCountDto {
    fn from(c: &GateCount) -> Self {
        GateCountDto {
            check: c.check.clone(),
            channel: c.channel.clone(),
            account: c.account.clone(),
            outcome: c.outcome.clone(),
            layer: c.layer.clone(),
            count: c.count,
            false_positives: c.false_positives,
            false_positive_rate: (c.outcome == "hold" && c.count > 0)
                .then(|| c.false_positives as f64 / c.count as f64),
        }
    }
}

/// The gates' verdicts by check, channel, account and outcome: the profile in force, and the
/// shadow profile's would-be verdicts beside it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GateReport {
    pub enforced: Vec<GateCountDto>,
    pub shadow: Vec<GateCountDto>,
}

/// A held order's release.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReleaseRequest {
    /// The version the person reviewed (a newer one refuses the release: 409).
    pub version: i64,
    pub note: Option<String>,
    /// Who released it (defaults to the credential).
    pub actor: Option<String>,
}

/// A held order's rejection.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RejectRequest {
    pub version: i64,
    pub reason: String,
    pub actor: Option<String>,
}

/// A held order corrected by a person: a new version, judged again.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FixRequest {
    pub version: i64,
    /// The corrected order in Waypost's order schema (as `POST /v1/orders` takes it); its
    /// `order_id` must be the held order's.
    #[schema(value_type = Object)]
    pub order: serde_json::Value,
    pub actor: Option<String>,
}

/// What a bulk re-validation did.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RevalidateReport {
    pub examined: u64,
    pub accepted: u64,
    pub backordered: u64,
    pub still_held: u64,
    pub rejected: u64,
}

/// A SKU of the tenant's catalogue.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogueItemDto {
    #[schema(min_length = 1, max_length = 128)]
    pub sku: String,
    #[schema(max_length = 1024)]
    pub title: Option<String>,
}

/// Stock of one SKU in one warehouse, as counted.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockLevelDto {
    #[schema(min_length = 1, max_length = 128)]
    pub warehouse: String,
    #[schema(min_length = 1, max_length = 128)]
    pub sku: String,
    pub available: f64,
    /// When it was counted (RFC 3339); defaults to now. An older count never replaces a
    /// newer one.
    pub counted_at: Option<String>,
}

/// What a stock update did.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StockReport {
    pub changed: u64,
    /// Backordered orders the new stock released into the flow.
    pub released: Vec<String>,
}

/// How many catalogue items were added or renamed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CatalogueReport {
    pub written: u64,
}

/// A page of the catalogue.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CataloguePage {
    pub items: Vec<CatalogueItemDto>,
    pub next: Option<String>,
}

/// Stock rows.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StockPage {
    pub levels: Vec<StockLevelDto>,
}

/// A row's summary for the queue, with its decision's deciding findings.
pub fn queue_item(
    row: &IntakeRow,
    parts: Vec<(String, f64)>,
    because: Vec<FindingDto>,
) -> QueueItem {
    QueueItem {
        order_id: row.order_id.clone(),
        channel: row.channel.clone(),
        account: row.account.clone(),
        external_id: row.external_id.clone(),
        status: row.status.as_str().to_string(),
        priority: row.priority.clone(),
        impact: row.impact,
        impact_parts: parts
            .into_iter()
            .map(|(part, points)| ImpactPart { part, points })
            .collect(),
        value: row.value,
        currency: row.currency.clone(),
        promised_at: row.promised_at.map(|t| t.to_string()),
        version: row.version,
        received_at: row.received_at.to_string(),
        status_since: row.status_since.to_string(),
        because,
    }
}
