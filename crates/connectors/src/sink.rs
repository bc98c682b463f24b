//! Where fetched documents go. The integrator implements [`Sink`] over the same intake the
//! webhooks use, so a document reaches the log by one path whether it was pushed or polled,
//! and the log's dedup makes the overlap harmless.

use std::future::Future;
use std::time::Duration;
use waypost_adapters::Source;
use waypost_domain::TenantId;

/// One document fetched from a partner, exactly as the partner's parser reads it: a carrier's
/// tracking answer, or the `events` array of a WMS feed page.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The connector's configured name.
    pub connector: String,
    pub tenant: TenantId,
    pub source: Source,
    pub body: bytes::Bytes,
    pub fetched_at: jiff::Timestamp,
}

/// What the sink made of a document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ingested {
    /// Events the document held (new or already stored).
    pub events: usize,
    /// The latest `occurred_at` among them: the connector's lag is measured from it.
    pub newest_event_at: Option<jiff::Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SinkError {
    /// The document cannot be read. The sink keeps it as a dead letter; the connector counts
    /// it and moves on (a feed's cursor moves past it).
    #[error("document rejected: {reason}")]
    Rejected { reason: String },
    /// Full for now: the connector waits this long and sends the same document again, its
    /// cursor unmoved.
    #[error("sink busy, retry after {retry_after:?}")]
    Busy { retry_after: Duration },
    /// Cannot take anything (shutting down, store failing): backed off like a partner error.
    #[error("sink unavailable: {reason}")]
    Unavailable { reason: String },
}

pub trait Sink: Send + Sync + 'static {
    /// Stores the document's events durably before answering `Ok`: a feed's cursor is saved
    /// only after that answer.
    fn ingest(&self, doc: Fetched) -> impl Future<Output = Result<Ingested, SinkError>> + Send;
}
