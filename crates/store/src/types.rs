use crate::notify_types::{
    ContactRow, DeliveryLogEntry, EndpointRow, NewOutbox, OutboxMark, OutboxRow, SubscriptionRow,
};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use waypost_domain::{Event, OrderView, TenantId};

pub use waypost_projection::{
    Change, ChangeCause, NoOutbox, OutboxPlanner, Seq, ShipmentChange, StoredEvent, SubjectFacts,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open store at {path}: {source}")]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error("sqlite failed during {op}: {source}")]
    Sqlite {
        op: &'static str,
        source: rusqlite::Error,
    },
    #[error("corrupt {what} in store: {detail}")]
    Corrupt { what: &'static str, detail: String },
    #[error("migration {version} failed: {source}")]
    Migration {
        version: u32,
        source: rusqlite::Error,
    },
    #[error("{what} is out of range: {detail}")]
    Range { what: &'static str, detail: String },
    /// An optimistic-concurrency check failed: someone changed the row since the caller read
    /// it. The caller re-reads and retries; nothing of its commit was written.
    #[error("alert {id} was changed meanwhile: expected version {expected}, found {found}")]
    Conflict { id: i64, expected: i64, found: i64 },
    #[error("{what} {id} not found for tenant {tenant}")]
    NotFound {
        what: &'static str,
        tenant: String,
        id: i64,
    },
    /// A name that must be unique per tenant (an endpoint's, a subscription's) is taken.
    #[error("{what} named {name:?} already exists for tenant {tenant}")]
    Duplicate {
        what: &'static str,
        tenant: String,
        name: String,
    },
    /// The caller handed a value the store refuses to keep (it would break an invariant).
    #[error("invalid {what}: {detail}")]
    Invalid { what: &'static str, detail: String },
}

pub(crate) trait SqlContext<T> {
    fn ctx(self, op: &'static str) -> Result<T, StoreError>;
}
impl<T> SqlContext<T> for Result<T, rusqlite::Error> {
    fn ctx(self, op: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Sqlite { op, source })
    }
}

/// One accepted request's events, already validated and encoded.
#[derive(Debug, Clone)]
pub struct Submission {
    pub tenant: TenantId,
    pub events: Vec<NewEvent>,
    pub received_at: Timestamp,
    /// The vendor document the events came from, when it must be kept: it held unmapped codes,
    /// or it was rejected (then `events` is empty).
    pub document: Option<Document>,
    /// Quarantine rows this submission settles (a remap): marked resolved by the same commit.
    pub resolves: Vec<i64>,
    /// A rejected document this submission replays: marked replayed by the same commit.
    pub replays_document: Option<i64>,
}

impl Submission {
    pub fn new(tenant: TenantId, events: Vec<NewEvent>, received_at: Timestamp) -> Self {
        Submission {
            tenant,
            events,
            received_at,
            document: None,
            resolves: Vec::new(),
            replays_document: None,
        }
    }
}

/// A vendor document as received.
#[derive(Debug, Clone)]
pub struct Document {
    pub source: String,
    pub body: Vec<u8>,
    /// Why it was rejected; `None` for a document whose events were accepted.
    pub problem: Option<String>,
    /// How it came in: `webhook`, `file`, `api`, `poll:<connector>`.
    pub origin: Option<String>,
}

/// A vendor code that no mapping table knew.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnmappedCode {
    /// `status` or `reason`.
    pub kind: String,
    pub code: String,
    /// What the description fallback read in the vendor's text, under the threshold.
    pub proposal: Option<ProposedMapping>,
}

/// A status (and reason) proposed for a quarantined code from the vendor's words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposedMapping {
    pub status: waypost_domain::Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<waypost_domain::Reason>,
    /// From 0 to 1.
    pub confidence: f32,
    /// The phrase that decided.
    pub phrase: String,
}

/// A quarantined code of a stored event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnmappedRecord {
    pub id: i64,
    pub source: String,
    pub kind: String,
    pub code: String,
    pub event_seq: Seq,
    pub event: Event,
    pub document_id: Option<i64>,
    pub received_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
    pub resolved_seq: Option<Seq>,
    pub proposal: Option<ProposedMapping>,
}

/// A kept vendor document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentRecord {
    pub id: i64,
    pub source: String,
    /// The first time it was received.
    pub received_at: Timestamp,
    pub problem: Option<String>,
    pub replayed_at: Option<Timestamp>,
    pub body: Vec<u8>,
    pub origin: Option<String>,
    /// How often this same body was received and refused (a dead letter's attempts).
    pub attempts: u32,
    /// The last time it was received.
    pub last_at: Timestamp,
}

/// Open dead letters of one source and origin, for health views.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterCount {
    pub source: String,
    pub origin: Option<String>,
    pub count: u64,
}

#[derive(Debug, Clone, Default)]
pub struct UnmappedFilter {
    pub source: Option<String>,
    /// Only codes not yet resolved by a remap.
    pub open_only: bool,
    /// Rows with an id greater than this.
    pub after: i64,
    pub limit: usize,
}

/// An event with its stored encoding and content hash, computed by the caller (on a request
/// thread) so the single writer spends its time on writing.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event: Event,
    pub body: String,
    pub content_hash: [u8; 16],
    /// Codes normalization could not map: the event is quarantined when stored.
    pub unmapped: Vec<UnmappedCode>,
}

impl NewEvent {
    pub fn new(event: Event) -> Result<Self, StoreError> {
        let body = crate::event_body::encode(&event)?;
        Ok(NewEvent {
            content_hash: event.content_hash(),
            body,
            event,
            unmapped: Vec::new(),
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct AppendOutcome {
    pub accepted: usize,
    pub duplicates: usize,
    /// The newly stored events, handed to the applier without reading them back.
    pub stored: Vec<StoredEvent>,
}

/// One entry of an order's timeline.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub seq: Seq,
    pub received_at: Timestamp,
    pub event: Event,
}

#[derive(Debug, Clone)]
pub struct OrderRecord {
    pub view: OrderView,
    pub version: Seq,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub status: Option<String>,
    pub carrier: Option<String>,
    pub updated_since: Option<Timestamp>,
    /// Resume after this version (exclusive).
    pub after_version: Option<Seq>,
    pub limit: usize,
}

#[derive(Debug, Clone)]
pub struct ShipmentRecord {
    pub order_id: String,
    pub shipment: waypost_domain::ShipmentView,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Ingest,
    Read,
    /// Act on alerts (ack, assign, snooze, resolve): the review desk, without the power to
    /// replay documents or reload the configuration that `Admin` has.
    Operate,
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ingest => "ingest",
            Scope::Read => "read",
            Scope::Operate => "operate",
            Scope::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Scope> {
        match s.trim() {
            "ingest" => Some(Scope::Ingest),
            "read" => Some(Scope::Read),
            "operate" => Some(Scope::Operate),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ApiKeyRecord {
    pub id: String,
    pub tenant: TenantId,
    pub scopes: Vec<Scope>,
    pub label: Option<String>,
    pub created_at: Timestamp,
    pub revoked: bool,
}

/// What a replay of the whole log says about the stored projection.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReplayReport {
    pub events: u64,
    pub orders: u64,
    pub applied_seq: Seq,
    pub last_seq: Seq,
    /// Every order that differs, counted.
    pub mismatched: u64,
    /// The first of them named (at most `sqlite::MAX_LISTED_MISMATCHES`), so that a store that
    /// differs everywhere still gives a report of bounded size.
    pub mismatches: Vec<String>,
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

/// A change to alerts, carried out by [`WriteStore::rules_commit`].
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

/// The single writer's side. Not `Sync`: exactly one owner.
pub trait WriteStore: Send {
    /// Appends the submissions in one transaction (group commit). One outcome each. Durable on
    /// return, or once [`WriteStore::log_sync`]'s `sync` returns, if the store has one.
    fn append(&mut self, batch: &[Submission]) -> Result<Vec<AppendOutcome>, StoreError>;
    /// Folds stored events into the projection and advances the checkpoint, in one transaction.
    /// Events at or below the checkpoint are skipped, so re-delivery is harmless.
    fn apply(&mut self, events: &[StoredEvent], now: Timestamp) -> Result<Vec<Change>, StoreError>;
    /// How far `apply` has consumed the log.
    fn applied_seq(&mut self) -> Result<Seq, StoreError>;
    /// Stored events after `after`, in seq order: the recovery path after a restart.
    fn events_after(&mut self, after: Seq, limit: usize) -> Result<Vec<StoredEvent>, StoreError>;
    /// A store whose `append` commits without waiting for the disk returns how to wait for it:
    /// the caller runs [`LogSync::sync`] (on another thread, while it goes on applying) before it
    /// acknowledges or publishes anything the append made. `None`: `append` is durable on return.
    fn log_sync(&self) -> Option<Arc<dyn LogSync>> {
        None
    }

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
    /// Hands every stored deadline, of every tenant, to `f` one at a time, and returns how
    /// many: the timer index's start-up load, without a second copy of a million rows.
    fn for_each_deadline(&mut self, f: &mut dyn FnMut(DeadlineRow)) -> Result<u64, StoreError>;
    /// Every stored deadline, of every tenant, collected.
    fn load_deadlines(&mut self) -> Result<Vec<DeadlineRow>, StoreError> {
        let mut all = Vec::new();
        self.for_each_deadline(&mut |d| all.push(d))?;
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
    /// Deadlines due at or before `until`, earliest first, at most `limit`.
    fn deadlines_due(
        &mut self,
        until: Timestamp,
        limit: usize,
    ) -> Result<Vec<DeadlineRow>, StoreError>;
    /// Snoozed alerts whose snooze ends at or before `until`: `(tenant, id)`, earliest first.
    fn snoozed_due(
        &mut self,
        until: Timestamp,
        limit: usize,
    ) -> Result<Vec<(TenantId, i64, Timestamp)>, StoreError>;
    /// Orders not in a final status (delivered, returned, cancelled, lost), in key order
    /// after `after`, at most `limit`: what the rules re-scan after a reload or a restart.
    fn open_orders(
        &mut self,
        after: Option<(&TenantId, &str)>,
        limit: usize,
    ) -> Result<Vec<(TenantId, String)>, StoreError>;
    /// What the rules see of an order now: the order itself (track "") and each shipment.
    /// Empty when the order is unknown.
    fn subject_facts(
        &mut self,
        tenant: &TenantId,
        order_id: &str,
    ) -> Result<Vec<SubjectFacts>, StoreError>;

    // --- Notifications (`notify_types.rs`) ---

    /// `apply`, and in the same transaction the outbox rows `planner` returns for each visible
    /// change (ignored when their `msg_id` is already stored, or when their endpoint is not
    /// their tenant's): a state change and the notifications it triggers commit together or not
    /// at all. A planned row of another tenant than its change's is refused (nothing written).
    fn apply_with(
        &mut self,
        events: &[StoredEvent],
        now: Timestamp,
        planner: &mut dyn OutboxPlanner,
    ) -> Result<Vec<Change>, StoreError>;
    /// Outbox rows that no change caused (an alert's notifications, a test send), created at
    /// their `not_before`. Returns the ids of the rows inserted; a `msg_id` already stored, or
    /// an endpoint that is not the row's tenant's, is skipped.
    fn outbox_insert(&mut self, rows: &[NewOutbox]) -> Result<Vec<i64>, StoreError>;
    /// The dispatcher's reports, in one transaction, in order. Attempts are numbered by the
    /// store (the row's attempts + 1); a report on an unknown row is passed over. Retry, Defer,
    /// Dead and Skipped change only a pending row; Sent always ends a row as sent.
    fn outbox_mark(&mut self, marks: &[OutboxMark], now: Timestamp) -> Result<(), StoreError>;
    /// A dead (or skipped) notification back to pending, due at `now`, its attempts kept.
    /// `Ok(None)` when it is not the tenant's, not dead/skipped, or its endpoint is gone.
    fn outbox_replay(
        &mut self,
        tenant: &TenantId,
        id: i64,
        now: Timestamp,
    ) -> Result<Option<OutboxRow>, StoreError>;
    /// Creates an endpoint (id 0 in `row`) or replaces the one with `row.id` (keeping its
    /// creation time); the stored row. A name the tenant already uses is
    /// [`StoreError::Duplicate`]; an id that is not the tenant's, [`StoreError::NotFound`].
    fn put_endpoint(&mut self, row: &EndpointRow) -> Result<EndpointRow, StoreError>;
    /// Deletes an endpoint and its subscriptions, and skips its pending notifications (why:
    /// "endpoint deleted", done at `now`); false when it is not the tenant's.
    fn delete_endpoint(
        &mut self,
        tenant: &TenantId,
        id: i64,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// As [`WriteStore::put_endpoint`]; its endpoint must be the tenant's (else `NotFound`).
    fn put_subscription(&mut self, row: &SubscriptionRow) -> Result<SubscriptionRow, StoreError>;
    fn delete_subscription(&mut self, tenant: &TenantId, id: i64) -> Result<bool, StoreError>;
    /// Creates or replaces the customer's contact row; opt-outs are channel kinds.
    fn put_contact(&mut self, row: &ContactRow) -> Result<ContactRow, StoreError>;
    /// Every endpoint and subscription of every tenant: the planner's start-up load.
    fn notify_config(&mut self) -> Result<(Vec<EndpointRow>, Vec<SubscriptionRow>), StoreError>;
    /// One customer's contact row (the planner's opt-out check).
    fn contact(
        &mut self,
        tenant: &TenantId,
        customer_id: &str,
    ) -> Result<Option<ContactRow>, StoreError>;
}

/// Makes everything appended so far durable.
pub trait LogSync: Send + Sync {
    fn sync(&self) -> Result<(), StoreError>;
}

/// Queries. Safe to share between request handlers (`Arc<dyn ReadStore>`).
pub trait ReadStore: Send + Sync + 'static {
    fn order(&self, tenant: &TenantId, order_id: &str) -> Result<Option<OrderRecord>, StoreError>;
    fn timeline(&self, tenant: &TenantId, order_id: &str)
    -> Result<Vec<TimelineEntry>, StoreError>;
    fn orders(
        &self,
        tenant: &TenantId,
        filter: &OrderFilter,
    ) -> Result<Vec<OrderRecord>, StoreError>;
    fn shipment(
        &self,
        tenant: &TenantId,
        tracking: &str,
    ) -> Result<Option<ShipmentRecord>, StoreError>;
    /// The order a tracking number belongs to, if any event has named it.
    fn order_for_tracking(
        &self,
        tenant: &TenantId,
        tracking: &str,
    ) -> Result<Option<String>, StoreError>;
    fn unmapped(
        &self,
        tenant: &TenantId,
        filter: &UnmappedFilter,
    ) -> Result<Vec<UnmappedRecord>, StoreError>;
    fn document(&self, tenant: &TenantId, id: i64) -> Result<Option<DocumentRecord>, StoreError>;
    /// Rejected documents not yet replayed, oldest first, with ids greater than `after`.
    fn rejected(
        &self,
        tenant: &TenantId,
        after: i64,
        limit: usize,
    ) -> Result<Vec<DocumentRecord>, StoreError>;
    /// Open dead letters (rejected, not replayed) per source and origin, of every tenant when
    /// `tenant` is `None`.
    fn dead_letter_counts(
        &self,
        tenant: Option<&TenantId>,
    ) -> Result<Vec<(String, DeadLetterCount)>, StoreError>;
    fn changes_after(
        &self,
        tenant: &TenantId,
        after: Seq,
        limit: usize,
    ) -> Result<Vec<Change>, StoreError>;
    /// The tenant's last change number (0 before its first): changes are numbered per tenant,
    /// so nothing a tenant reads counts another's.
    fn last_seq(&self, tenant: &TenantId) -> Result<Seq, StoreError>;
    fn api_key_by_hash(&self, hash: &[u8]) -> Result<Option<ApiKeyRecord>, StoreError>;
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

    // --- Notifications ---

    /// Pending notifications due at or before `now`, oldest first, at most `limit`, leaving out
    /// any that has an older pending one of the same (tenant, subscription, order): one order's
    /// notifications reach a subscriber in state order.
    fn outbox_due(&self, now: Timestamp, limit: usize) -> Result<Vec<OutboxRow>, StoreError>;
    /// When the earliest pending notification is due, if any is pending.
    fn outbox_next_due(&self) -> Result<Option<Timestamp>, StoreError>;
    fn outbox_row(&self, tenant: &TenantId, id: i64) -> Result<Option<OutboxRow>, StoreError>;
    /// One notification with its attempts; `None` when it is not the tenant's.
    fn delivery_entry(
        &self,
        tenant: &TenantId,
        id: i64,
    ) -> Result<Option<DeliveryLogEntry>, StoreError>;
    /// Every notification of an order with its attempts, oldest first.
    fn delivery_log(
        &self,
        tenant: &TenantId,
        order_id: &str,
    ) -> Result<Vec<DeliveryLogEntry>, StoreError>;
    /// Dead notifications (dead letters), with ids greater than `after`, oldest first.
    fn outbox_dead(
        &self,
        tenant: &TenantId,
        after: i64,
        limit: usize,
    ) -> Result<Vec<DeliveryLogEntry>, StoreError>;
    /// Rows per (tenant, state), for `/metrics`.
    fn outbox_counts(&self) -> Result<Vec<(String, String, u64)>, StoreError>;
    fn endpoints(&self, tenant: &TenantId) -> Result<Vec<EndpointRow>, StoreError>;
    fn endpoint(&self, tenant: &TenantId, id: i64) -> Result<Option<EndpointRow>, StoreError>;
    fn subscriptions(&self, tenant: &TenantId) -> Result<Vec<SubscriptionRow>, StoreError>;
    fn contacts(
        &self,
        tenant: &TenantId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ContactRow>, StoreError>;
    fn contact_of(
        &self,
        tenant: &TenantId,
        customer_id: &str,
    ) -> Result<Option<ContactRow>, StoreError>;
    /// SMS spent by a tenant on a local day (`YYYY-MM-DD`): (segments, cents).
    fn sms_spent(&self, tenant: &TenantId, day: &str) -> Result<(u64, u64), StoreError>;

    // --- Dashboard and tracking page (`migrations/0008_dashboard.sql`) ---

    /// The order's customer-link token, if the order exists.
    fn tracking_token(
        &self,
        tenant: &TenantId,
        order_id: &str,
    ) -> Result<Option<String>, StoreError>;
    /// The order a customer-link token belongs to.
    fn tracking_link(&self, token: &str) -> Result<Option<(TenantId, String)>, StoreError>;
    fn dashboard_summary(
        &self,
        tenant: &TenantId,
        filter: &crate::DashboardFilter,
    ) -> Result<crate::DashboardSummary, StoreError>;
    /// Active orders with a known position, by order id, after `after` (exclusive).
    fn map_points(
        &self,
        tenant: &TenantId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<crate::MapPoint>, StoreError>;
    /// Warehouses named by active orders, by name.
    fn warehouses(&self, tenant: &TenantId) -> Result<Vec<crate::WarehouseRow>, StoreError>;
    /// Shipments delivered at or after `since`, oldest delivery first.
    fn scorecards(
        &self,
        tenant: &TenantId,
        since: Timestamp,
    ) -> Result<Vec<crate::OutcomeRow>, StoreError>;
}
