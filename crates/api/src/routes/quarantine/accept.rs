//! `POST /v1/unmapped/{source}/{code}/accept`: a person turns the description fallback's
//! proposal for a quarantined code (or a status they give) into their tenant's mapping, and the
//! events that waited on that code are remapped at once.

use super::{RemapReport, remap_tenant, source_param};
use crate::auth::Caller;
use crate::problem::Problem;
use crate::routes::read;
use crate::strict_json::StrictJson;
use crate::{AppState, NewMapping};
use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use waypost_domain::{Reason, Status};
use waypost_store::{Scope, UnmappedFilter};

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct AcceptRequest {
    /// The status the code means; without it, the proposal of the code's newest quarantined
    /// event is taken.
    pub status: Option<String>,
    /// The reason, when the code says why (only with `status`).
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptReport {
    pub source: String,
    pub code: String,
    pub status: String,
    pub reason: Option<String>,
    /// `proposal` or `given`.
    pub from: String,
    /// The override file the mapping was written to.
    pub file: String,
    /// The remap of the source's quarantine that followed.
    pub remap: RemapReport,
}

/// Accept a quarantined code's mapping for this tenant.
///
/// Writes the code into the tenant's override table of the source (`[mappings] dir`), reloads
/// the tables and remaps the source's quarantine. Needs the `operate` scope: it is the review
/// of the quarantine, as acknowledging is of alerts.
#[utoipa::path(
    post, path = "/v1/unmapped/{source}/{code}/accept", tag = "quarantine",
    params(
        ("source" = String, Path, description = "The source of the quarantined code"),
        ("code" = String, Path, description = "The mapping key no table knew (percent-encoded)"),
    ),
    request_body(content = AcceptRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The mapping written and the remap done", body = AcceptReport),
        (status = 400, description = "Bad request", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or unknown API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the operate scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No open quarantined event has this code", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No proposal to accept, or no override directory", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The mapping tables do not load", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn accept(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<(String, String)>, PathRejection>,
    StrictJson(req): StrictJson<Option<AcceptRequest>>,
) -> Result<Json<AcceptReport>, Problem> {
    caller.require(Scope::Operate, &state)?;
    let Path((source, code)) = path?;
    let Some(source) = source_param(Some(source))? else {
        return Err(Problem::bad_request("invalid-source", "source: missing"));
    };
    let req = req.unwrap_or_default();
    let Some(writer) = state.mapping_writer.clone() else {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "no-mappings-dir",
            "No override directory",
            "this server keeps no tenant mapping files; map the code in a file and remap",
        ));
    };
    // The code's newest open quarantined event: it must exist, and its proposal is the default.
    let (tenant, wanted) = (caller.tenant.clone(), code.clone());
    let newest = read(&state, move |r| {
        let mut after = 0;
        let mut found = None;
        loop {
            let page = r.unmapped(
                &tenant,
                &UnmappedFilter {
                    source: Some(source.name().to_owned()),
                    open_only: true,
                    after,
                    limit: 500,
                },
            )?;
            let Some(last) = page.last() else { break };
            after = last.id;
            if let Some(hit) = page.into_iter().rev().find(|u| u.code == wanted) {
                found = Some(hit);
            }
        }
        Ok(found)
    })
    .await?
    .ok_or_else(|| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not-quarantined",
            "No such quarantined code",
            format!("no open quarantined event of {source} has the code {code:?}"),
        )
    })?;
    let (status, reason, from) = match req.status {
        Some(s) => {
            let status: Status = s.parse().map_err(|_| {
                Problem::bad_request("invalid-status", format!("status: {s:?} is not a status"))
            })?;
            if status == Status::Unknown {
                return Err(Problem::bad_request(
                    "invalid-status",
                    "status: unknown is what an unmapped code already is",
                ));
            }
            let reason = req
                .reason
                .map(|r| {
                    r.parse::<Reason>().map_err(|_| {
                        Problem::bad_request(
                            "invalid-reason",
                            format!("reason: {r:?} is not a reason"),
                        )
                    })
                })
                .transpose()?;
            (status, reason, "given")
        }
        None => {
            if req.reason.is_some() {
                return Err(Problem::bad_request(
                    "invalid-request",
                    "reason: give it with a status, or accept the proposal as it is",
                ));
            }
            let p = newest.proposal.clone().ok_or_else(|| {
                Problem::new(
                    StatusCode::CONFLICT,
                    "no-proposal",
                    "Nothing to accept",
                    format!(
                        "the vendor's text of {code:?} proposed no status; send {{\"status\": ...}} to map it"
                    ),
                )
            })?;
            (p.status, p.reason, "proposal")
        }
    };
    let mapping = NewMapping {
        status,
        reason,
        description: newest
            .event
            .raw_description
            .clone()
            .unwrap_or_else(|| code.clone()),
        reference: format!("accepted by {} ({from})", caller.key_id),
    };
    let tenant = caller.tenant.clone();
    let key = code.clone();
    let file = tokio::task::spawn_blocking(move || writer(&tenant, source, &key, &mapping))
        .await
        .map_err(|e| Problem::internal(format!("writing the mapping failed: {e}")))?
        .map_err(|e| {
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "mappings-invalid",
                "Mapping not written",
                format!("{e}; nothing was changed"),
            )
        })?;
    state.reload_mappings().map_err(|e| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "mappings-invalid",
            "Mapping tables do not load",
            format!("{e}; the mapping was written to {file} but the tables in force are unchanged"),
        )
    })?;
    let remap = remap_tenant(&state, &caller.tenant, Some(source)).await?;
    tracing::info!(tenant = %caller.tenant, %source, code = %code, %status, from, "mapping accepted");
    Ok(Json(AcceptReport {
        source: source.name().to_owned(),
        code,
        status: status.to_string(),
        reason: reason.map(|r| r.to_string()),
        from: from.to_owned(),
        file,
        remap,
    }))
}
