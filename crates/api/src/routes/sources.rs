//! Partner health: how each connection to a carrier, aggregator or warehouse is doing.

use crate::AppState;
use crate::auth::Caller;
use crate::partners::SourceHealth;
use crate::problem::Problem;
use crate::routes::read;
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use waypost_store::Scope;

#[derive(Debug, Serialize, ToSchema)]
pub struct SourcesPage {
    pub items: Vec<SourceHealth>,
}

/// Every partner connection of the caller's tenant: polling connectors (state, last success,
/// lag, error rate and latency over 5 and 60 minutes, requests in flight, breaker) and pushed
/// webhook sources, each with its open dead letters.
#[utoipa::path(
    get, path = "/v1/sources", tag = "operations",
    responses(
        (status = 200, description = "Partner health", body = SourcesPage),
        (status = 401, description = "Missing or unknown API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the read scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_sources(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<SourcesPage>, Problem> {
    caller.require(Scope::Read, &state)?;
    let tenant = caller.tenant.clone();
    let mut items: Vec<SourceHealth> = state
        .partners
        .as_ref()
        .map(|p| p.health())
        .unwrap_or_default()
        .into_iter()
        .filter(|h| h.tenant == tenant.as_str())
        .collect();
    let t = tenant.clone();
    let letters = read(&state, move |r| r.dead_letter_counts(Some(&t))).await?;
    for h in &mut items {
        let origin = match h.kind.as_str() {
            "poll" => format!("poll:{}", h.name),
            _ => "webhook".to_owned(),
        };
        h.dead_letters = letters
            .iter()
            .filter(|(_, c)| c.source == h.source && c.origin.as_deref() == Some(origin.as_str()))
            .map(|(_, c)| c.count)
            .sum();
    }
    items.sort_by(|a, b| (&a.kind, &a.name).cmp(&(&b.kind, &b.name)));
    Ok(Json(SourcesPage { items }))
}
