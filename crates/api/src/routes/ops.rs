use crate::client_addr::ClientAddr;
use crate::dto::Health;
use crate::problem::Problem;
use crate::{ApiDoc, AppState};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use std::sync::atomic::Ordering::Relaxed;
use utoipa::OpenApi;
use waypost_engine::Rejection;

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// Readiness: the pipeline has recovered and accepts events.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, body = Health),
        (status = 503, description = "Starting or stopping", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, Problem> {
    if state.ready.load(Relaxed) {
        Ok(Json(Health {
            status: "ready".into(),
        }))
    } else {
        Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not-ready",
            "Not ready",
            "the pipeline is recovering or shutting down",
        )
        .retry_after(1))
    }
}

/// Prometheus metrics, for the operator: from an address in `[metrics] allow` (loopback by
/// default) or with the metrics token (`Authorization: Bearer <token>`, `[metrics]
/// token_file`). API keys do not open it. Alert gauges are summed over tenants unless
/// `[metrics] tenant_labels` is on.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses(
        (status = 200, description = "Prometheus text exposition", body = String, content_type = "text/plain"),
        (status = 401, description = "Neither the metrics token nor an allowed address", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("metrics_token" = [])))]
pub async fn metrics(
    State(state): State<AppState>,
    request: axum::extract::Request,
) -> Result<impl IntoResponse, Problem> {
    let (parts, _) = request.into_parts();
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|axum::extract::ConnectInfo(a)| a.ip());
    let client = ClientAddr(peer.map(|p| state.proxies.client(p, &parts.headers)));
    let trusted_peer = peer.is_some_and(|p| state.proxies.trusts(p));
    state
        .metrics_access
        .check(client, trusted_peer, &parts.headers)
        .inspect_err(|_| state.metrics.reject(Rejection::Unauthorized, 1))?;
    // A failed read is logged by `read` and leaves the alert gauges out of this scrape (a gap
    // Prometheus shows), rather than failing the engine's own metrics with it.
    let alerts = super::read(&state, |r| r.alert_counts()).await.ok();
    let text = state
        .scrape
        .encode(alerts, state.metrics_access.tenant_labels);
    Ok(([(header::CONTENT_TYPE, crate::scrape::CONTENT_TYPE)], text))
}

pub async fn openapi() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}
