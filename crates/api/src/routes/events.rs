use super::body_read::read_within;
use crate::AppState;
use crate::auth::Caller;
use crate::dto::{IngestBody, IngestReceipt};
use crate::problem::Problem;
use axum::Json;
use axum::body::{Body, HttpBody};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use waypost_domain::{Event, FieldError, parse_events};
use waypost_engine::Rejection;
use waypost_store::Scope;

/// Ingest canonical events.
///
/// Answers 202 only once the events are durable; applying them to the current state follows
/// asynchronously (watch `/v1/stream`). A batch is accepted whole or rejected whole. Repeated
/// events (same source and id, or same content) are counted as duplicates and change nothing.
#[utoipa::path(
    post, path = "/v1/events", tag = "ingest",
    request_body(content = IngestBody, content_type = "application/json"),
    responses(
        (status = 202, description = "Durably accepted", body = IngestReceipt),
        (status = 400, description = "Malformed JSON, or a key given twice in one object (named in `errors`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or unknown API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller lacks the ingest scope, or a client certificate sent events of another source than its own", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid events; every bad field is listed", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Queue full, or the tenant's bodies being received over its budget; retry after the Retry-After header", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Shutting down or the store failed; retry", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn post_events(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<IngestReceipt>), Problem> {
    let received_at = state.clock.now();
    // Authorized before a byte of the body is read: a key without the scope, or a body that
    // is not JSON, costs no body buffer.
    let unread = |p: Problem| {
        if body.is_end_stream() {
            p
        } else {
            p.close_connection()
        }
    };
    caller.require(Scope::Ingest, &state).map_err(unread)?;
    super::json_body_type(&state, &headers, false).map_err(unread)?;
    let (body, _reservation) = read_within(
        &state,
        &caller.tenant,
        &headers,
        body,
        state.limits.max_body_bytes,
        "event batches",
    )
    .await?;
    // One pass parses and refuses duplicated keys: a batch is read as one meaning or not at all.
    let value = crate::strict_json::value(&body).inspect_err(|_| {
        state.metrics.reject(Rejection::MalformedJson, 1);
    })?;
    let count = value.as_array().map_or(1, Vec::len) as u64;
    let events = parse_events(&value, received_at, &state.limits.input).map_err(|errors| {
        state.metrics.reject(Rejection::InvalidEvent, count);
        let detail = match errors.as_slice() {
            [one] if one.field.is_empty() => one.message.clone(),
            [one] => format!("{}: {}", one.field, one.message),
            many => format!(
                "{} problems, the first: {}: {}; nothing of this request was stored",
                many.len(),
                many[0].field,
                many[0].message
            ),
        };
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-event",
            "Invalid event",
            detail,
        )
        .with_errors(errors)
    })?;
    if let Some(bound) = caller.bound_source() {
        check_bound_source(bound, &events, value.is_array()).inspect_err(|_| {
            state
                .metrics
                .reject(Rejection::Forbidden, events.len() as u64);
        })?;
    }
    let r = state
        .intake
        .events(caller.tenant, events, received_at)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(IngestReceipt {
            accepted: r.accepted,
            duplicates: r.duplicates,
        }),
    ))
}

/// A client certificate speaks for one source (a warehouse system, say): it may not submit what
/// another source reports, or one compromised system could rewrite every order's history.
fn check_bound_source(
    bound: &waypost_domain::SourceName,
    events: &[Event],
    batch: bool,
) -> Result<(), Problem> {
    let Some((i, other)) = events.iter().enumerate().find(|(_, e)| &e.source != bound) else {
        return Ok(());
    };
    let field = if batch {
        format!("[{i}].source")
    } else {
        "source".to_string()
    };
    let message = format!(
        "this client certificate may only submit events of source {bound}, not {}",
        other.source
    );
    Err(Problem::forbidden(format!(
        "{field}: {message}; nothing of this request was stored"
    ))
    .with_errors(vec![FieldError { field, message }]))
}
