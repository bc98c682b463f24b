use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use waypost_domain::{Event, TenantId};

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
