//! Dead letters: vendor documents that could not be read, kept as received with why, where
//! they came from and how often, until an operator replays them after a fix.

use crate::AppState;
use crate::auth::Caller;
use crate::dto::DocumentReceipt;
use crate::problem::Problem;
use crate::public_id::{IdKind, PublicIds};
use crate::routes::quarantine::page_params;
use crate::routes::read;
use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use waypost_adapters::Source;
use waypost_store::{DocumentRecord, Scope};

#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentItem {
    /// `doc_` and 16 hex digits: opaque, not a count.
    pub id: String,
    pub source: String,
    /// How it came in: `webhook`, `file`, `api`, `replay` or `poll:<connector>`.
    pub origin: Option<String>,
    /// When it was first received.
    #[schema(value_type = String)]
    pub received_at: jiff::Timestamp,
    /// When the same body was last received (a dead letter's last attempt).
    #[schema(value_type = String)]
    pub last_attempt_at: jiff::Timestamp,
    /// How often the same body was received and refused.
    pub attempts: u32,
    /// Why it was refused; absent for a document kept for its unmapped codes.
    pub problem: Option<String>,
    #[schema(value_type = Option<String>)]
    pub replayed_at: Option<jiff::Timestamp>,
    /// The document as received (invalid UTF-8 replaced).
    pub body: String,
}

impl DocumentItem {
    fn new(ids: &PublicIds, d: DocumentRecord) -> Self {
        DocumentItem {
            id: ids.encode(IdKind::Document, d.id),
            source: d.source,
            origin: d.origin,
            received_at: d.received_at,
            last_attempt_at: d.last_at,
            attempts: d.attempts,
            problem: d.problem,
            replayed_at: d.replayed_at,
            body: String::from_utf8_lossy(&d.body).into_owned(),
        }
    }
}

/// A kept vendor document.
#[utoipa::path(
    get, path = "/v1/documents/{id}", tag = "quarantine",
    params(("id" = String, Path, description = "Document id (`doc_...`)")),
    responses(
        (status = 200, description = "The document", body = DocumentItem),
        (status = 401, description = "Missing or unknown API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the read scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such document for this tenant", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_document(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<DocumentItem>, Problem> {
    caller.require(Scope::Read, &state)?;
    let Path(public) = path?;
    let missing = || Problem::not_found(format!("no document {public:?}"));
    let id = state
        .public_ids
        .decode(IdKind::Document, &public)
        .ok_or_else(missing)?;
    let tenant = caller.tenant.clone();
    read(&state, move |r| r.document(&tenant, id))
        .await?
        .map(|d| Json(DocumentItem::new(&state.public_ids, d)))
        .ok_or_else(missing)
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct DeadLetterQuery {
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 500 (default 100).
    pub limit: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeadLetterPage {
    pub items: Vec<DocumentItem>,
    pub next_cursor: Option<String>,
}

/// Dead letters: documents refused as unreadable (from a webhook, a file drop or a poll) and not
/// yet replayed, oldest first, each with its error, origin and first and last attempt.
#[utoipa::path(
    get, path = "/v1/dead-letters", tag = "quarantine", params(DeadLetterQuery),
    responses(
        (status = 200, description = "A page of dead letters", body = DeadLetterPage),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or unknown API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the read scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_dead_letters(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<DeadLetterQuery>, QueryRejection>,
) -> Result<Json<DeadLetterPage>, Problem> {
    caller.require(Scope::Read, &state)?;
    let Query(q) = query?;
    let (after, limit) = page_params(&state, IdKind::Document, q.cursor, q.limit)?;
    let tenant = caller.tenant.clone();
    let docs = read(&state, move |r| r.rejected(&tenant, after, limit)).await?;
    let next_cursor = (docs.len() == limit)
        .then(|| {
            docs.last()
                .map(|d| state.public_ids.encode(IdKind::Document, d.id))
        })
        .flatten();
    Ok(Json(DeadLetterPage {
        items: docs
            .into_iter()
            .map(|d| DocumentItem::new(&state.public_ids, d))
            .collect(),
        next_cursor,
    }))
}

/// Normalize a dead letter again (after an adapter or mapping fix) and, if it now reads, store
/// its events and mark it replayed, in one commit: a letter is replayed once.
#[utoipa::path(
    post, path = "/v1/dead-letters/{id}/replay", tag = "quarantine",
    params(("id" = String, Path, description = "Document id (`doc_...`)")),
    responses(
        (status = 202, description = "Replayed: its events are durable", body = DocumentReceipt),
        (status = 401, description = "Missing or unknown API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the admin scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such dead letter awaiting replay", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Still unreadable", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Queue full", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn replay_dead_letter(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<(StatusCode, Json<DocumentReceipt>), Problem> {
    caller.require(Scope::Admin, &state)?;
    let Path(public) = path?;
    let missing = || Problem::not_found(format!("no dead letter {public:?} awaiting replay"));
    let id = state
        .public_ids
        .decode(IdKind::Document, &public)
        .ok_or_else(missing)?;
    let tenant = caller.tenant.clone();
    let doc = read(&state, move |r| r.document(&tenant, id))
        .await?
        .filter(|d| d.problem.is_some() && d.replayed_at.is_none())
        .ok_or_else(missing)?;
    let source: Source = doc
        .source
        .parse()
        .map_err(|e: waypost_adapters::UnknownSource| Problem::not_found(e.to_string()))?;
    state.reload_mappings().map_err(|e| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "mappings-invalid",
            "Mapping tables do not load",
            e,
        )
    })?;
    let receipt = state
        .intake
        .document(waypost_intake::DocumentIn {
            tenant: caller.tenant.clone(),
            source,
            body: doc.body.into(),
            received_at: state.clock.now(),
            origin: "replay".to_owned(),
            replays_document: Some(id),
        })
        .await?;
    Ok((StatusCode::ACCEPTED, Json(receipt.into())))
}
