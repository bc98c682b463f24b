use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use waypost_domain::{Event, OrderView, TenantId};

pub use waypost_projection::{
    Change, ChangeCause, NoOutbox, OutboxPlanner, Seq, ShipmentChange, StoredEvent, SubjectFacts,
};

/// What a backend's driver reported, kept as the cause of a [`StoreError`] so that this crate
/// names no database crate.
pub type BackendError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open store at {path}: {source}")]
    Open { path: String, source: BackendError },
    /// The database refused or failed a statement; `op` names what the store was doing.
    #[error("the database failed during {op}: {source}")]
    Backend {
        op: &'static str,
        source: BackendError,
    },
    #[error("corrupt {what} in store: {detail}")]
    Corrupt { what: &'static str, detail: String },
    #[error("migration {version} failed: {source}")]
    Migration { version: u32, source: BackendError },
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

impl StoreError {
    /// A driver's failure during `op`.
    pub fn backend(op: &'static str, source: impl Into<BackendError>) -> StoreError {
        StoreError::Backend {
            op,
            source: source.into(),
        }
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
    /// The first of them named (at most [`MAX_LISTED_MISMATCHES`]), so that a store that
    /// differs everywhere still gives a report of bounded size.
    pub mismatches: Vec<String>,
}

impl ReplayReport {
    /// Counts a mismatch, and names it while the list is shorter than
    /// [`MAX_LISTED_MISMATCHES`].
    pub fn note_mismatch(&mut self, mismatch: String) {
        self.mismatched += 1;
        if self.mismatches.len() < crate::MAX_LISTED_MISMATCHES {
            self.mismatches.push(mismatch);
        }
    }
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
/// How hard a commit holds on to the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// fsync the WAL on every commit: survives power loss. Group commit keeps this cheap.
    #[default]
    Full,
    /// fsync at checkpoints only: survives a process crash (kill -9), not a power cut.
    Normal,
}
