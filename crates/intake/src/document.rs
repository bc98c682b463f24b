//! A vendor document into the pipeline: normalized with the tenant's mapping tables, bare
//! carrier updates linked to the order that named their tracking number, unmapped codes
//! quarantined, and a document that could not be read kept so an operator can look at it and
//! replay it.

use crate::{Intake, IntakeError};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use waypost_adapters::{Normalized, NormalizedDoc, ParseError, Source, UnmappedKind, normalize};
use waypost_domain::{InputLimits, OrderId, TenantId};
use waypost_engine::Rejection;
use waypost_store::{Document, NewEvent, ProposedMapping, Submission, UnmappedCode};

/// One vendor document as its source hands it over.
#[derive(Debug, Clone)]
pub struct DocumentIn {
    pub tenant: TenantId,
    pub source: Source,
    /// The document exactly as the vendor sent it (shared with the caller, not copied).
    pub body: bytes::Bytes,
    /// World time of arrival: the caller reads it when the document arrives, from the engine's
    /// clock ([`Intake::now`]).
    pub received_at: jiff::Timestamp,
    /// How it came in (`webhook`, `file`, `poll:<connector>`, `replay`), kept with a dead
    /// letter.
    pub origin: String,
    /// The rejected document this is a replay of.
    pub replays_document: Option<i64>,
}

/// What became of one vendor document. The API's wire form (with its OpenAPI schema) is its
/// own type at the HTTP edge; this one serializes to the same JSON.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct DocumentReceipt {
    /// Events the document held.
    pub events: usize,
    /// Newly stored.
    pub accepted: usize,
    /// Already stored (same source and id, or same content).
    pub duplicates: usize,
    /// Events stored with status `unknown` and quarantined.
    pub unmapped: usize,
    /// Events of the document that could not be read: the others were stored, and the
    /// document is kept as a dead letter with these paths, to be replayed after a fix.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<String>,
    /// The delivery id was already taken: nothing was done.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replayed: bool,
    /// When the newest event of the document happened: how far behind its sender is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest_event_at: Option<jiff::Timestamp>,
}

impl DocumentReceipt {
    /// The answer to a delivery whose id was already taken: nothing was done.
    pub fn replayed() -> Self {
        DocumentReceipt {
            replayed: true,
            ..DocumentReceipt::default()
        }
    }
}

/// Documents larger than this are normalized on the blocking pool: parsing a multi-megabyte
/// EDI interchange must not stall an async worker.
const INLINE_PARSE_BYTES: usize = 64 * 1024;

/// Unreadable events named in a receipt; the dead letter keeps the count and the first few.
const MAX_LISTED_PROBLEMS: usize = 20;

impl Intake {
    /// Normalizes, links and submits one vendor document; answers once its events are durable.
    pub async fn document(&self, doc: DocumentIn) -> Result<DocumentReceipt, IntakeError> {
        let DocumentIn {
            tenant,
            source,
            body,
            received_at,
            origin,
            replays_document,
        } = doc;
        let mappings = self.mappings();
        let parsed = if body.len() > INLINE_PARSE_BYTES {
            let (t, b, m) = (tenant.clone(), body.clone(), mappings.clone());
            tokio::task::spawn_blocking(move || normalize(source, &b, m.table(Some(&t), source)))
                .await
                .map_err(|e| IntakeError::Task {
                    task: "normalization",
                    reason: e.to_string(),
                })?
        } else {
            normalize(source, &body, mappings.table(Some(&tenant), source))
        };
        let checked = parsed
            .map_err(|e| e.to_string())
            .and_then(|doc| check_times(doc, received_at, &self.limits));
        let NormalizedDoc {
            events: mut list,
            unreadable,
        } = match checked {
            Ok(doc) => doc,
            // A replay that still fails: the document is already kept, once is enough.
            Err(problem) if replays_document.is_some() => {
                return Err(IntakeError::ReplayUnreadable { problem });
            }
            Err(problem) => {
                let letter = Letter {
                    tenant,
                    source,
                    body,
                    received_at,
                    origin,
                };
                return Err(self.reject(letter, problem).await);
            }
        };
        self.link_orders(&tenant, &mut list).await?;
        let newest_event_at = list.iter().map(|n| n.event.occurred_at.instant).max();
        let mut unmapped = 0;
        let mut events = Vec::with_capacity(list.len());
        for n in list {
            for u in &n.unmapped {
                self.metrics
                    .unmapped_codes
                    .add([source.name(), kind_name(u.kind)], 1);
            }
            unmapped += usize::from(!n.unmapped.is_empty());
            events.push(encode(n)?);
        }
        let count = events.len();
        let mut sub = Submission::new(tenant, events, received_at);
        // Events that could not be read keep their document as a dead letter, with where and
        // why, in the same transaction as the events that could: a replay after a fix stores
        // the rest (those stored now come back as duplicates).
        let problem = (!unreadable.is_empty()).then(|| {
            format!(
                "{} of {} events could not be read (the others were stored): {}",
                unreadable.len(),
                unreadable.len() + count,
                waypost_adapters::summary(&unreadable)
            )
        });
        if unmapped > 0 || problem.is_some() {
            sub.document = Some(Document {
                source: source.name().to_owned(),
                body: body.to_vec(),
                problem: problem.clone(),
                origin: Some(origin),
            });
        }
        // A replay that still leaves events unreadable keeps its dead letter open (one more
        // attempt on it), rather than settling it.
        sub.replays_document = replays_document.filter(|_| problem.is_none());
        let receipt = self.submit(sub, count as u64).await?;
        let outcome = if problem.is_some() {
            "partial"
        } else {
            "accepted"
        };
        self.metrics.documents.add([source.name(), outcome], 1);
        Ok(DocumentReceipt {
            events: count,
            accepted: receipt.accepted,
            duplicates: receipt.duplicates,
            unmapped,
            unreadable: unreadable
                .iter()
                .take(MAX_LISTED_PROBLEMS)
                .map(ToString::to_string)
                .collect(),
            replayed: false,
            newest_event_at,
        })
    }

    /// A carrier update that names no order belongs to the order that named its tracking
    /// number (a warehouse's ship confirmation, usually). Unknown numbers keep the tracking
    /// number as the order id: the update is kept, and stands as a shipment-only order.
    async fn link_orders(
        &self,
        tenant: &TenantId,
        list: &mut [Normalized],
    ) -> Result<(), IntakeError> {
        let wanted: BTreeSet<String> = list
            .iter()
            .filter(|n| n.order_from_tracking)
            .filter_map(|n| {
                n.event
                    .tracking_number
                    .as_ref()
                    .map(|t| t.as_str().to_owned())
            })
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let (t, reader) = (tenant.clone(), self.reader.clone());
        // The store reads block: on the blocking pool, not on an async worker.
        let found = tokio::task::spawn_blocking(move || {
            let mut out: HashMap<String, String> = HashMap::new();
            for tn in wanted {
                if let Some(order) = reader.order_for_tracking(&t, &tn)? {
                    out.insert(tn, order);
                }
            }
            Ok::<_, waypost_store::StoreError>(out)
        })
        .await
        .map_err(|e| IntakeError::Task {
            task: "read",
            reason: e.to_string(),
        })?
        .map_err(|e| {
            tracing::error!(error = %e, "store read failed");
            IntakeError::Read {
                reason: e.to_string(),
            }
        })?;
        for n in list.iter_mut().filter(|n| n.order_from_tracking) {
            let order = n
                .event
                .tracking_number
                .as_ref()
                .and_then(|t| found.get(t.as_str()))
                .and_then(|o| OrderId::new(o.as_str()).ok());
            if let Some(order) = order {
                n.event.order_id = order;
                n.order_from_tracking = false;
            }
        }
        Ok(())
    }

    /// Keeps an unreadable document as a dead letter and says why it was refused.
    async fn reject(&self, letter: Letter, problem: String) -> IntakeError {
        let Letter {
            tenant,
            source,
            body,
            received_at,
            origin,
        } = letter;
        self.metrics.documents.add([source.name(), "rejected"], 1);
        self.metrics.reject(Rejection::InvalidEvent, 1);
        let mut sub = Submission::new(tenant, Vec::new(), received_at);
        sub.document = Some(Document {
            source: source.name().to_owned(),
            body: body.to_vec(),
            problem: Some(problem.clone()),
            origin: Some(origin),
        });
        let kept = self.submit(sub, 0).await.is_ok();
        IntakeError::Unreadable { problem, kept }
    }
}

fn kind_name(kind: UnmappedKind) -> &'static str {
    match kind {
        UnmappedKind::Status => "status",
        UnmappedKind::Reason => "reason",
    }
}

/// The stored form of a normalized event ([`waypost_engine::prepare`]: geocoded, encoded),
/// its unmapped codes kept for the quarantine.
pub fn encode(n: Normalized) -> Result<NewEvent, IntakeError> {
    let mut ne = waypost_engine::prepare(n.event).map_err(|e| IntakeError::Encoding {
        what: "encoding",
        reason: e.to_string(),
    })?;
    ne.unmapped = n
        .unmapped
        .iter()
        .map(|u| UnmappedCode {
            kind: kind_name(u.kind).to_owned(),
            code: u.code.clone(),
            // The proposal concerns the status code, not a reason code of the same event.
            proposal: n
                .proposal
                .as_ref()
                .filter(|_| u.kind == UnmappedKind::Status)
                .map(|p| ProposedMapping {
                    status: p.status,
                    reason: p.reason,
                    confidence: p.confidence,
                    phrase: p.phrase.clone(),
                }),
        })
        .collect();
    Ok(ne)
}

/// Instants no real event can have (a year-3000 typo, an epoch zero) make that event
/// unreadable, named by its position and tracking number; the document is refused only when no
/// event is left.
fn check_times(
    doc: NormalizedDoc,
    now: jiff::Timestamp,
    limits: &InputLimits,
) -> Result<NormalizedDoc, String> {
    let late = now.saturating_add(limits.max_future).unwrap_or(now);
    let NormalizedDoc {
        events,
        mut unreadable,
    } = doc;
    let mut kept = Vec::with_capacity(events.len());
    for (i, n) in events.into_iter().enumerate() {
        let at = n.event.occurred_at.instant;
        if at > late || at < limits.earliest {
            unreadable.push(ParseError::new(
                format!(
                    "event {i} ({})",
                    n.event
                        .tracking_number
                        .as_ref()
                        .map_or("no tracking number", |t| t.as_str())
                ),
                format!(
                    "occurred_at {} is not a plausible time",
                    n.event.occurred_at
                ),
            ));
        } else {
            kept.push(n);
        }
    }
    if kept.is_empty() && !unreadable.is_empty() {
        return Err(waypost_adapters::summary(&unreadable));
    }
    Ok(NormalizedDoc {
        events: kept,
        unreadable,
    })
}

/// An unreadable document on its way to the dead letters.
struct Letter {
    tenant: TenantId,
    source: Source,
    body: bytes::Bytes,
    received_at: jiff::Timestamp,
    origin: String,
}
