//! Codes no mapping knew, for people: the quarantine, and the remap that settles it once a
//! mapping is fixed; `accept.rs` turns one code's proposal into the tenant's mapping.

mod accept;
pub use accept::{__path_accept, AcceptReport, AcceptRequest, accept};

use crate::AppState;
use crate::auth::Caller;
use crate::problem::Problem;
use crate::public_id::{IdKind, PublicIds};
use crate::routes::read;
use crate::strict_json::StrictJson;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use waypost_adapters::{Source, normalize};
use waypost_domain::{EventId, MAX_ID_LEN};
use waypost_store::{Scope, Submission, UnmappedFilter, UnmappedRecord};

#[derive(Debug, Deserialize, IntoParams)]
pub struct UnmappedQuery {
    /// Only this source.
    pub source: Option<String>,
    /// `open` (default: not yet remapped) or `all`.
    pub state: Option<String>,
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 500 (default 100).
    pub limit: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnmappedItem {
    /// `unm_` and 16 hex digits: opaque, not a count.
    pub id: String,
    pub source: String,
    /// `status` or `reason`.
    pub kind: String,
    /// The key no table knew (see the source's mapping table for how keys are built).
    pub code: String,
    pub raw_code: Option<String>,
    pub raw_description: Option<String>,
    pub event_id: String,
    pub order_id: String,
    pub tracking_number: Option<String>,
    pub occurred_at: String,
    #[schema(value_type = String)]
    pub received_at: jiff::Timestamp,
    /// The kept vendor document: `GET /v1/documents/{id}`.
    /// `doc_` and 16 hex digits.
    pub document_id: Option<String>,
    #[schema(value_type = Option<String>)]
    pub resolved_at: Option<jiff::Timestamp>,
    /// What the description fallback read in the vendor's text, under the tenant's threshold:
    /// `POST /v1/unmapped/{source}/{code}/accept` makes it the tenant's mapping.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proposal: Option<ProposalView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProposalView {
    /// A canonical status.
    pub status: String,
    pub reason: Option<String>,
    /// From 0 to 1.
    pub confidence: f32,
    /// The phrase of the vendor's text that decided.
    pub phrase: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnmappedPage {
    pub items: Vec<UnmappedItem>,
    /// Open quarantined codes of this page, counted by source and code: what to map first.
    pub codes: BTreeMap<String, usize>,
    pub next_cursor: Option<String>,
}

/// The row to resume after and the page size. A cursor is the public id (of `kind`) of the
/// last item of the previous page, so it tells no more than the item did.
pub(crate) fn page_params(
    state: &AppState,
    kind: IdKind,
    cursor: Option<String>,
    limit: Option<String>,
) -> Result<(i64, usize), Problem> {
    let max = state.limits.max_page;
    let after = match cursor.filter(|c| !c.is_empty()) {
        Some(c) => state.public_ids.decode(kind, &c).ok_or_else(|| {
            Problem::bad_request("invalid-query", "cursor: not a cursor this server gave out")
        })?,
        None => 0,
    };
    let limit = match limit.filter(|l| !l.is_empty()) {
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                Problem::bad_request(
                    "invalid-query",
                    format!("limit: must be a whole number from 1 to {max}"),
                )
            })?,
        None => 100.min(max),
    };
    Ok((after, limit))
}

fn source_param(s: Option<String>) -> Result<Option<Source>, Problem> {
    s.filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<Source>()
                .map_err(|e| Problem::bad_request("invalid-query", format!("source: {e}")))
        })
        .transpose()
}

/// List quarantined codes: events stored with status `unknown` (or without their reason)
/// because no mapping knew a code.
#[utoipa::path(
    get, path = "/v1/unmapped", tag = "quarantine", params(UnmappedQuery),
    responses(
        (status = 200, description = "A page of quarantined codes", body = UnmappedPage),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or unknown API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the read scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_unmapped(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<UnmappedQuery>, QueryRejection>,
) -> Result<Json<UnmappedPage>, Problem> {
    caller.require(Scope::Read, &state)?;
    let Query(q) = query?;
    let source = source_param(q.source)?;
    let open_only = match q.state.as_deref().unwrap_or("open") {
        "open" | "" => true,
        "all" => false,
        other => {
            return Err(Problem::bad_request(
                "invalid-query",
                format!("state: {other:?} is not open or all"),
            ));
        }
    };
    let (after, limit) = page_params(&state, IdKind::Unmapped, q.cursor, q.limit)?;
    let filter = UnmappedFilter {
        source: source.map(|s| s.name().to_owned()),
        open_only,
        after,
        limit,
    };
    let tenant = caller.tenant.clone();
    let rows = read(&state, move |r| r.unmapped(&tenant, &filter)).await?;
    let next_cursor = (rows.len() == limit)
        .then(|| {
            rows.last()
                .map(|r| state.public_ids.encode(IdKind::Unmapped, r.id))
        })
        .flatten();
    let mut codes = BTreeMap::new();
    for r in rows.iter().filter(|r| r.resolved_at.is_none()) {
        *codes.entry(format!("{}:{}", r.source, r.code)).or_default() += 1;
    }
    Ok(Json(UnmappedPage {
        items: rows
            .into_iter()
            .map(|r| item(&state.public_ids, r))
            .collect(),
        codes,
        next_cursor,
    }))
}

fn item(ids: &PublicIds, r: UnmappedRecord) -> UnmappedItem {
    UnmappedItem {
        id: ids.encode(IdKind::Unmapped, r.id),
        source: r.source,
        kind: r.kind,
        code: r.code,
        raw_code: r.event.raw_code,
        raw_description: r.event.raw_description,
        event_id: r.event.event_id.to_string(),
        order_id: r.event.order_id.to_string(),
        tracking_number: r.event.tracking_number.map(|t| t.to_string()),
        occurred_at: r.event.occurred_at.to_string(),
        received_at: r.received_at,
        document_id: r.document_id.map(|d| ids.encode(IdKind::Document, d)),
        resolved_at: r.resolved_at,
        proposal: r.proposal.map(|p| ProposalView {
            status: p.status.to_string(),
            reason: p.reason.map(|r| r.to_string()),
            confidence: p.confidence,
            phrase: p.phrase,
        }),
    }
}

#[derive(Debug, Deserialize, ToSchema, Default)]
pub struct RemapRequest {
    /// Only this source's quarantine.
    pub source: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RemapReport {
    /// Kept documents normalized again.
    pub documents: usize,
    /// Quarantined events stored again with a mapped status.
    pub remapped: usize,
    /// Quarantined codes still unknown to every table.
    pub still_unmapped: usize,
}

/// Reload the mapping tables and re-normalize every quarantined event.
///
/// Each event whose codes are now all mapped is stored again under `<event_id>~remap`, beside
/// the original (the history is append-only), and its quarantine rows are settled.
#[utoipa::path(
    post, path = "/v1/unmapped/remap", tag = "quarantine",
    request_body(content = RemapRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "What the remap did", body = RemapReport),
        (status = 400, description = "Bad request", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or unknown API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the admin scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The mapping tables do not load", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn remap(
    State(state): State<AppState>,
    caller: Caller,
    StrictJson(req): StrictJson<Option<RemapRequest>>,
) -> Result<Json<RemapReport>, Problem> {
    caller.require(Scope::Admin, &state)?;
    // An empty body means "everything".
    let req = req.unwrap_or_default();
    let only = source_param(req.source)?;
    state.reload_mappings().map_err(|e| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "mappings-invalid",
            "Mapping tables do not load",
            format!("{e}; the tables in force are unchanged and nothing was remapped"),
        )
    })?;
    Ok(Json(remap_tenant(&state, &caller.tenant, only).await?))
}

/// Re-normalizes `tenant`'s open quarantine (of `only`, when given) with the tables in force,
/// storing every event whose codes are now all known and settling its rows.
pub(crate) async fn remap_tenant(
    state: &AppState,
    tenant: &waypost_domain::TenantId,
    only: Option<Source>,
) -> Result<RemapReport, Problem> {
    let mappings = state.mappings();
    let mut report = RemapReport {
        documents: 0,
        remapped: 0,
        still_unmapped: 0,
    };
    let mut after = 0;
    loop {
        let filter = UnmappedFilter {
            source: only.map(|s| s.name().to_owned()),
            open_only: true,
            after,
            limit: 500,
        };
        let t = tenant.clone();
        let rows = read(state, move |r| r.unmapped(&t, &filter)).await?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        // One pass per document: its events are normalized together, as they arrived.
        let mut by_doc: BTreeMap<i64, Vec<UnmappedRecord>> = BTreeMap::new();
        for r in rows {
            match r.document_id {
                Some(d) => by_doc.entry(d).or_default().push(r),
                None => report.still_unmapped += 1,
            }
        }
        for (doc_id, rows) in by_doc {
            let t = tenant.clone();
            let Some(doc) = read(state, move |r| r.document(&t, doc_id)).await? else {
                report.still_unmapped += rows.len();
                continue;
            };
            let Ok(source) = doc.source.parse::<Source>() else {
                report.still_unmapped += rows.len();
                continue;
            };
            report.documents += 1;
            let table = mappings.table(Some(tenant), source);
            let Ok(fresh) = normalize(source, &doc.body, table) else {
                report.still_unmapped += rows.len();
                continue;
            };
            let mut events = Vec::new();
            let mut resolves = Vec::new();
            // Rows of one event settle together: all its codes must now be known.
            let mut by_event: BTreeMap<&str, Vec<&UnmappedRecord>> = BTreeMap::new();
            for r in &rows {
                by_event
                    .entry(r.event.event_id.as_str())
                    .or_default()
                    .push(r);
            }
            for (event_id, event_rows) in by_event {
                let Some(n) = fresh
                    .events
                    .iter()
                    .find(|n| n.event.event_id.as_str() == event_id && n.unmapped.is_empty())
                else {
                    report.still_unmapped += event_rows.len();
                    continue;
                };
                let mut n = n.clone();
                // The original's order: it may have been linked by tracking number on arrival.
                n.event.order_id = event_rows[0].event.order_id.clone();
                n.event.event_id = remap_id(event_id);
                events.push(waypost_intake::encode(n)?);
                resolves.extend(event_rows.iter().map(|r| r.id));
            }
            if events.is_empty() {
                continue;
            }
            let count = events.len();
            let mut sub = Submission::new(tenant.clone(), events, state.clock.now());
            sub.resolves = resolves;
            state.intake.submit(sub, count as u64).await?;
            report.remapped += count;
        }
    }
    tracing::info!(
        tenant = %tenant,
        documents = report.documents,
        remapped = report.remapped,
        still_unmapped = report.still_unmapped,
        "remap done"
    );
    Ok(report)
}

/// The id of a remapped event: the original's, marked, so a repeated remap is a duplicate.
fn remap_id(original: &str) -> EventId {
    const MARK: &str = "~remap";
    let id = if original.len() + MARK.len() <= MAX_ID_LEN {
        format!("{original}{MARK}")
    } else {
        // Cut on a character boundary to make room for the mark.
        let mut cut = MAX_ID_LEN - MARK.len();
        while !original.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}{MARK}", &original[..cut])
    };
    EventId::new(id).unwrap_or_else(|_| unreachable!("a non-empty id within the length limit"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remap_ids_are_marked_and_stay_within_the_limit() {
        assert_eq!(remap_id("d-abc").as_str(), "d-abc~remap");
        let long = "é".repeat(64);
        let id = remap_id(&long);
        assert!(id.as_str().len() <= MAX_ID_LEN && id.as_str().ends_with("~remap"));
    }
}
