//! Rule deadlines and alerts: the detector's timers and what it raised.

use crate::*;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use waypost_domain::TenantId;

/// The rules detector's side. Deadlines and snoozes are timers owned per partition: the
/// partition's consumer loads and fires them.
pub trait RuleStore: Send {
    /// The rules detector's commit, in ONE transaction: removes `remove`'s deadlines, then
    /// upserts `upsert`'s (so a key in both ends up upserted), then carries out `alerts` in
    /// order, one outcome each. Any failure (a stale version, an unknown id) writes nothing.
    /// `now` is the server clock, kept as the alerts' last-write time.
    fn rules_commit(
        &mut self,
        upsert: &[DeadlineRow],
        remove: &[(SubjectKey, String)],
        alerts: &[AlertWrite],
        now: Timestamp,
    ) -> Result<Vec<AlertOutcome>, StoreError>;
    /// Hands every stored deadline of `partition`, of every tenant, to `f` one at a time, and
    /// returns how many: the timer index's start-up load, without a second copy of a million
    /// rows.
    fn for_each_deadline(
        &mut self,
        partition: Partition,
        f: &mut dyn FnMut(DeadlineRow),
    ) -> Result<u64, StoreError>;
    /// Every stored deadline of `partition`, collected.
    fn load_deadlines(&mut self, partition: Partition) -> Result<Vec<DeadlineRow>, StoreError> {
        let mut all = Vec::new();
        self.for_each_deadline(partition, &mut |d| all.push(d))?;
        Ok(all)
    }
    /// One order's deadlines (its own and its shipments'), by track then rule.
    fn deadlines_of(
        &mut self,
        tenant: &TenantId,
        order_id: &str,
    ) -> Result<Vec<DeadlineRow>, StoreError>;
    /// One order's alerts that are not resolved, by id: what a new event may clear.
    fn open_alerts_of(
        &mut self,
        tenant: &TenantId,
        order_id: &str,
    ) -> Result<Vec<AlertRow>, StoreError>;
    /// An alert as the writer sees it (including its own latest commit), to build an Update.
    fn alert_for_update(
        &mut self,
        tenant: &TenantId,
        id: i64,
    ) -> Result<Option<AlertRow>, StoreError>;
    /// Deadlines of `partition` due at or before `until`, earliest first, at most `limit`.
    fn deadlines_due(
        &mut self,
        partition: Partition,
        until: Timestamp,
        limit: usize,
    ) -> Result<Vec<DeadlineRow>, StoreError>;
    /// Snoozed alerts of `partition` whose snooze ends at or before `until`: `(tenant, id)`,
    /// earliest first.
    fn snoozed_due(
        &mut self,
        partition: Partition,
        until: Timestamp,
        limit: usize,
    ) -> Result<Vec<(TenantId, i64, Timestamp)>, StoreError>;
}

/// Reads of alerts and their audit trail.
pub trait AlertReads: Send + Sync {
    fn alerts(&self, tenant: &TenantId, q: &AlertQuery) -> Result<Vec<AlertRow>, StoreError>;
    fn alert(&self, tenant: &TenantId, id: i64) -> Result<Option<AlertRow>, StoreError>;
    /// An alert of the tenant by its public id (what the API shows); `None` for another
    /// tenant's or for a string that is not one.
    fn alert_by_public_id(
        &self,
        tenant: &TenantId,
        public_id: &str,
    ) -> Result<Option<AlertRow>, StoreError>;
    /// An alert's audit trail, oldest first; empty if the alert is not the tenant's.
    fn alert_audit(&self, tenant: &TenantId, id: i64) -> Result<Vec<AuditRow>, StoreError>;
    /// Alerts per (tenant, status, severity), for `/metrics`, ordered by those three. A
    /// combination once counted stays listed, with 0 when none are left, so a gauge drops to
    /// zero instead of vanishing.
    fn alert_counts(&self) -> Result<Vec<(String, String, String, u64)>, StoreError>;
}

/// What an alert or a deadline is about: an order (`track` empty) or one of its shipments.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SubjectKey {
    pub tenant: TenantId,
    pub order_id: String,
    /// A tracking number, or `""` for the order itself.
    pub track: String,
}

/// A persisted rule deadline. Keyed by rule *name*: rule ids change when the rules reload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadlineRow {
    pub subject: SubjectKey,
    pub rule: String,
    pub due: Timestamp,
    /// It came due and raised its alert; kept so unchanged facts do not arm it again.
    #[serde(default)]
    pub fired: bool,
}

/// Alert statuses the store knows; `resolved` is final (a new trigger opens a new alert).
pub const ALERT_STATUSES: [&str; 4] = ["open", "acknowledged", "snoozed", "resolved"];

/// A stored alert. At most one per (subject, rule) is not `resolved`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRow {
    /// Internal: a sequence over all tenants, never shown to one.
    pub id: i64,
    /// What the API, the stream and notifications call the alert: 128 random bits as 32
    /// lowercase hex digits, given by the store when the alert is first written (empty on a
    /// row not yet written).
    #[serde(default)]
    pub public_id: String,
    pub subject: SubjectKey,
    pub rule: String,
    /// The rule's kind: dwell, silence, promise, event, source.
    pub kind: String,
    pub severity: String,
    /// One of [`ALERT_STATUSES`].
    pub status: String,
    pub assignee: Option<String>,
    pub snoozed_until: Option<Timestamp>,
    pub triggers: u32,
    /// The deadline that fired, for timed rules.
    pub due: Option<Timestamp>,
    /// World time (the detector's clock) when it opened.
    pub opened_at: Timestamp,
    pub last_triggered: Timestamp,
    pub resolved_at: Option<Timestamp>,
    /// How it ended, as the lifecycle serializes it (JSON); the store does not read it.
    pub resolution: Option<String>,
    pub false_positive: bool,
    pub carrier: Option<String>,
    pub order_value: Option<f64>,
    pub promised_at: Option<Timestamp>,
    pub summary: String,
    /// Sort key for "most important first"; computed by the caller.
    pub impact: f64,
    /// Bumped by every change; [`AlertWrite::Update`] must name the version it read.
    pub version: i64,
}

/// One line of an alert's audit trail, numbered from 1 per alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    pub alert_id: i64,
    pub n: u32,
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

/// An audit line to append with an alert write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntryIn {
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

/// A change to alerts, carried out by [`RuleStore::rules_commit`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AlertWrite {
    /// Opens an alert, or if one is already not resolved for (subject, rule), counts one more
    /// trigger on it (`triggers + 1`, `last_triggered`): never a duplicate. Appends `audit` to
    /// whichever alert it lands on. `alert.id` and `alert.version` are ignored.
    Raise {
        alert: AlertRow,
        audit: AuditEntryIn,
    },
    /// Replaces the mutable fields (status, assignee, snoozed_until, resolved_at, resolution,
    /// false_positive, severity, impact, summary) of alert `id` of `alert.subject.tenant` iff
    /// its version is `expected_version` (else [`StoreError::Conflict`]), bumps the version and
    /// appends `audit`. The other fields of `alert` are ignored.
    Update {
        id: i64,
        expected_version: i64,
        alert: AlertRow,
        audit: AuditEntryIn,
    },
}

/// What one [`AlertWrite`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertOutcome {
    pub id: i64,
    /// `true`: a new alert; `false`: an existing one was re-triggered or updated.
    pub opened: bool,
    /// The alert's version after the write.
    pub version: i64,
    /// The alert's public id (new for an opened alert, the stored one otherwise).
    pub public_id: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertSort {
    /// Highest impact first, then oldest first.
    #[default]
    Impact,
    Newest,
    Oldest,
}

/// Filters of an alert listing. Empty lists do not filter; a non-empty list matches any of its
/// values. `limit` 0 returns nothing, as in [`OrderFilter`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertQuery {
    pub statuses: Vec<String>,
    pub severities: Vec<String>,
    pub rules: Vec<String>,
    /// Case-insensitive.
    pub carriers: Vec<String>,
    pub order_id: Option<String>,
    /// Only alerts opened strictly before this instant (the age filter).
    pub opened_before: Option<Timestamp>,
    pub sort: AlertSort,
    pub limit: usize,
    pub offset: usize,
}
