//! Vendor documents into the pipeline: the one path shared by the webhook route, the file drop
//! and replays. Normalizes with the tenant's mapping tables, links bare carrier updates to the
//! order that named their tracking number, quarantines unmapped codes, and keeps any document
//! that could not be read so an operator can look at it and replay it.

use crate::AppState;
use crate::problem::Problem;
use axum::http::StatusCode;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use utoipa::ToSchema;
use waypost_adapters::{Normalized, NormalizedDoc, ParseError, Source, UnmappedKind, normalize};
use waypost_domain::{OrderId, TenantId};
use waypost_engine::{IntakeError, Rejection};
use waypost_store::{Document, NewEvent, ProposedMapping, Submission, UnmappedCode};

/// What became of one vendor document.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct DocumentReceipt {
    /// Events the document held.
    pub events: usize,
    /// Newly stored.
    pub accepted: usize,
    /// Already stored (same source and id, or same content).
    pub duplicates: usize,
    /// Events stored with status `unknown` and quarantined: see `GET /v1/unmapped`.
    pub unmapped: usize,
    /// Events of the document that could not be read (a time that cannot be placed, a missing
    /// code): the others were stored, and the document is kept at `/v1/dead-letters` with
    /// these paths, to be replayed after a fix.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<String>,
    /// The delivery id was already taken: nothing was done.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replayed: bool,
    /// When the newest event of the document happened: how far behind its sender is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub newest_event_at: Option<jiff::Timestamp>,
}

/// Documents larger than this are normalized on the blocking pool: parsing a multi-megabyte
/// EDI interchange must not stall an async worker.
const INLINE_PARSE_BYTES: usize = 64 * 1024;

pub struct DocumentIn {
    pub tenant: TenantId,
    pub source: Source,
    pub body: axum::body::Bytes,
    pub received_at: jiff::Timestamp,
    /// How it came in (`webhook`, `file`, `poll:<connector>`), kept with a dead letter.
    pub origin: String,
    /// The rejected document this is a replay of.
    pub replays_document: Option<i64>,
}

pub async fn ingest_document(
    state: &AppState,
    doc: DocumentIn,
) -> Result<DocumentReceipt, Problem> {
    let DocumentIn {
        tenant,
        source,
        body,
        received_at,
        origin,
        replays_document,
    } = doc;
    let mappings = state.mappings();
    let parsed = if body.len() > INLINE_PARSE_BYTES {
        let (t, b, m) = (tenant.clone(), body.clone(), mappings.clone());
        tokio::task::spawn_blocking(move || normalize(source, &b, m.table(Some(&t), source)))
            .await
            .map_err(|e| Problem::internal(format!("normalization task failed: {e}")))?
    } else {
        normalize(source, &body, mappings.table(Some(&tenant), source))
    };
    let checked = parsed
        .map_err(|e| e.to_string())
        .and_then(|doc| check_times(doc, received_at, state));
    let NormalizedDoc {
        events: mut list,
        unreadable,
    } = match checked {
        Ok(doc) => doc,
        Err(problem) if replays_document.is_some() => {
            // A replay that still fails: the document is already kept, once is enough.
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unreadable-document",
                "Unreadable document",
                format!("{problem}; the replay stored nothing"),
            ));
        }
        Err(problem) => {
            let letter = Letter {
                tenant,
                source,
                body,
                received_at,
                origin,
            };
            return Err(reject(state, letter, problem).await);
        }
    };
    link_orders(state, &tenant, &mut list).await?;
    let newest_event_at = list.iter().map(|n| n.event.occurred_at.instant).max();
    let mut unmapped = 0;
    let mut events = Vec::with_capacity(list.len());
    for n in list {
        for u in &n.unmapped {
            state
                .metrics
                .unmapped_codes
                .add([source.name(), kind_name(u.kind)], 1);
        }
        unmapped += usize::from(!n.unmapped.is_empty());
        events.push(encode(n)?);
    }
    let count = events.len();
    let mut sub = Submission::new(tenant, events, received_at);
    // Events that could not be read keep their document as a dead letter, with where and why,
    // in the same transaction as the events that could: a replay after a fix stores the rest
    // (those stored now come back as duplicates).
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
    let receipt = submit(state, sub, count as u64).await?;
    let outcome = if problem.is_some() {
        "partial"
    } else {
        "accepted"
    };
    state.metrics.documents.add([source.name(), outcome], 1);
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

/// Unreadable events named in a receipt; the dead letter keeps the count and the first few.
const MAX_LISTED_PROBLEMS: usize = 20;

fn kind_name(kind: UnmappedKind) -> &'static str {
    match kind {
        UnmappedKind::Status => "status",
        UnmappedKind::Reason => "reason",
    }
}

/// The stored form of a normalized event ([`waypost_engine::prepare`]: geocoded, encoded),
/// its unmapped codes kept for the quarantine.
pub(crate) fn encode(n: Normalized) -> Result<NewEvent, Problem> {
    let mut ne = waypost_engine::prepare(n.event)
        .map_err(|e| Problem::internal(format!("encoding: {e}")))?;
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
    state: &AppState,
) -> Result<NormalizedDoc, String> {
    let limits = &state.limits.input;
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

/// A carrier update that names no order belongs to the order that named its tracking number
/// (a warehouse's ship confirmation, usually). Unknown numbers keep the tracking number as the
/// order id: the update is kept, and stands as a shipment-only order.
async fn link_orders(
    state: &AppState,
    tenant: &TenantId,
    list: &mut [Normalized],
) -> Result<(), Problem> {
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
    let t = tenant.clone();
    let found: HashMap<String, String> = crate::routes::read(state, move |r| {
        let mut out = HashMap::new();
        for tn in wanted {
            if let Some(order) = r.order_for_tracking(&t, &tn)? {
                out.insert(tn, order);
            }
        }
        Ok(out)
    })
    .await?;
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

/// An unreadable document on its way to the dead letters.
struct Letter {
    tenant: TenantId,
    source: Source,
    body: axum::body::Bytes,
    received_at: jiff::Timestamp,
    origin: String,
}

/// Keeps an unreadable document as a dead letter and answers with why it was refused.
async fn reject(state: &AppState, letter: Letter, why: String) -> Problem {
    let Letter {
        tenant,
        source,
        body,
        received_at,
        origin,
    } = letter;
    state.metrics.documents.add([source.name(), "rejected"], 1);
    state.metrics.reject(Rejection::InvalidEvent, 1);
    let mut sub = Submission::new(tenant, Vec::new(), received_at);
    sub.document = Some(Document {
        source: source.name().to_owned(),
        body: body.to_vec(),
        problem: Some(why.clone()),
        origin: Some(origin),
    });
    let kept = match submit(state, sub, 0).await {
        Ok(_) => "it is kept as a dead letter for review and replay at /v1/dead-letters",
        Err(_) => "it could not be kept (the store is busy); send it again",
    };
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "unreadable-document",
        "Unreadable document",
        format!("{why}; nothing of it was applied; {kept}"),
    )
}

pub(crate) async fn submit(
    state: &AppState,
    sub: Submission,
    events: u64,
) -> Result<waypost_engine::Receipt, Problem> {
    state
        .intake
        .submit_prepared(sub)
        .await
        .map_err(|e| refused(state, e, events))
}

/// The answer to a submission the intake refused, counted with its events.
pub(crate) fn refused(state: &AppState, e: IntakeError, events: u64) -> Problem {
    match e {
        IntakeError::Busy {
            depth,
            retry_after_secs,
        } => {
            state.metrics.reject(Rejection::Throttled, events);
            Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "queue-full",
                "Too many requests",
                format!(
                    "{depth} events are waiting to be applied; nothing of this request was stored"
                ),
            )
            .retry_after(retry_after_secs)
        }
        e => {
            state.metrics.reject(Rejection::Unavailable, events);
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
                format!("{e}; nothing of this request was stored"),
            )
            .retry_after(5)
        }
    }
}
