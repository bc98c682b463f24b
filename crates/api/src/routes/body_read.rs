//! Reading a request body after the request has been authorized: within a size limit and
//! within the tenant's budget of bodies being received at once (`crate::body_budget`), so
//! memory follows what authorized callers send, not what anyone declares.

use crate::AppState;
use crate::body_budget::{OverBudget, Reservation};
use crate::problem::Problem;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode};
use futures::StreamExt;
use waypost_domain::TenantId;
use waypost_engine::Rejection;

pub(crate) fn content_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(axum::http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

pub(crate) fn too_large(state: &AppState, detail: String) -> Problem {
    state.metrics.reject(Rejection::TooLarge, 1);
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too-large",
        "Payload too large",
        detail,
    )
    .close_connection()
}

/// Reads an authorized request's body within `limit`, holding its bytes against the tenant's
/// budget (up front for a declared length, chunk by chunk otherwise). The reservation is
/// returned so it lasts until the body has been handed over. `what` names the kind of body in
/// messages ("ups deliveries", "event batches").
pub(crate) async fn read_within(
    state: &AppState,
    tenant: &TenantId,
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    what: &str,
) -> Result<(Bytes, Reservation), Problem> {
    if let Some(declared) = content_length(headers)
        && declared > limit
    {
        return Err(too_large(
            state,
            format!("{declared} bytes declared; {what} are limited to {limit}"),
        ));
    }
    let max = state.limits.max_tenant_body_bytes;
    let over = |o: OverBudget| {
        state.metrics.reject(Rejection::Throttled, 1);
        Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "body-budget",
            "Too many requests",
            format!(
                "this tenant already has {} bytes of bodies being received (at most {}); retry when they are done",
                o.in_flight, o.max
            ),
        )
        .retry_after(1)
        .close_connection()
    };
    let declared = content_length(headers).unwrap_or(0);
    let mut reservation = state
        .guards
        .bodies
        .reserve(tenant, declared, max)
        .map_err(over)?;
    // Not the declared length: memory follows what arrives, not what a client claims.
    let mut buf: Vec<u8> = Vec::with_capacity(declared.min(64 * 1024));
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            Problem::bad_request(
                "body-unreadable",
                format!("the body could not be read to its end: {e}; send it again"),
            )
            .close_connection()
        })?;
        let total = buf.len().saturating_add(chunk.len());
        if total > limit {
            return Err(too_large(
                state,
                format!("more than {limit} bytes; {what} are limited to {limit}"),
            ));
        }
        reservation.grow_to(total, max).map_err(over)?;
        buf.extend_from_slice(&chunk);
    }
    Ok((Bytes::from(buf), reservation))
}

/// Middleware: refuses a request whose declared body is over `LIMIT` before a byte of it is
/// read, for routes whose handlers read their body with axum's extractors (which would wait
/// for the body before the handler checks anything). A body sent without a length is still
/// held to the route's `DefaultBodyLimit` as it arrives.
pub(crate) async fn declared_within<const LIMIT: usize>(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match content_length(req.headers()) {
        Some(declared) if declared > LIMIT => Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "Payload too large",
            format!("{declared} bytes declared; this route takes at most {LIMIT}"),
        )
        .close_connection()
        .into_response(),
        _ => next.run(req).await,
    }
}
