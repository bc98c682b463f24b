//! The tenant's catalogue and stock, which the gates consult: SKUs known, units available per
//! warehouse. Stock that arrives releases the backorders it can now serve.

use super::desk;
use crate::AppState;
use crate::auth::Caller;
use crate::dto::orders::{
    CatalogueItemDto, CataloguePage, CatalogueReport, StockLevelDto, StockPage, StockReport,
};
use crate::problem::Problem;
use crate::routes::alerts::body::{command_body, invalid_field};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use serde::Deserialize;
use utoipa::IntoParams;
use waypost_store::{CatalogueItem, Scope, StockLevel};

/// Most items or levels in one request.
const MAX_ITEMS: usize = 10_000;

fn list_body<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
    what: &str,
) -> Result<Vec<T>, Problem> {
    let body = command_body(body)?;
    let value = crate::strict_json::value(&body)?;
    let serde_json::Value::Array(items) = value else {
        return Err(invalid_field("", format!("send an array of {what}")));
    };
    if items.len() > MAX_ITEMS {
        return Err(invalid_field(
            "",
            format!("{} {what} in one request; at most {MAX_ITEMS}", items.len()),
        ));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            serde_json::from_value(v).map_err(|e| invalid_field(&format!("[{i}]"), e.to_string()))
        })
        .collect()
}

fn check_name(field: &str, s: &str) -> Result<(), Problem> {
    if s.trim().is_empty() || s.len() > 128 || s.chars().any(char::is_control) {
        return Err(invalid_field(
            field,
            "1 to 128 characters, no control characters".into(),
        ));
    }
    Ok(())
}

/// Add SKUs to the catalogue, or rename them.
#[utoipa::path(put, path = "/v1/catalogue", tag = "orders",
    request_body(content = Vec<CatalogueItemDto>, content_type = "application/json"),
    responses(
        (status = 200, body = CatalogueReport),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the ingest scope", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An invalid item, named", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn put_catalogue(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<CatalogueReport>, Problem> {
    caller.require(Scope::Ingest, &state)?;
    let items: Vec<CatalogueItemDto> = list_body(body, "catalogue items")?;
    for (i, it) in items.iter().enumerate() {
        check_name(&format!("[{i}].sku"), &it.sku)?;
    }
    let items = items
        .into_iter()
        .map(|i| CatalogueItem {
            sku: i.sku,
            title: i.title,
        })
        .collect();
    let n = desk(&state)?.put_catalogue(&caller.tenant, items).await?;
    Ok(Json(CatalogueReport { written: n as u64 }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CatalogueParams {
    /// The last SKU of the previous page.
    pub after: Option<String>,
    /// 1 to 1000 (default 200).
    pub limit: Option<usize>,
}

/// The catalogue, a page at a time by SKU.
#[utoipa::path(get, path = "/v1/catalogue", tag = "orders",
    params(CatalogueParams),
    responses(
        (status = 200, body = CataloguePage),
        (status = 400, description = "A bad parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the read scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get_catalogue(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<CatalogueParams>, QueryRejection>,
) -> Result<Json<CataloguePage>, Problem> {
    caller.require(Scope::Read, &state)?;
    let Query(p) = query?;
    let limit = p.limit.unwrap_or(200);
    if !(1..=1000).contains(&limit) {
        return Err(Problem::bad_request(
            "invalid-query",
            format!("limit {limit}: between 1 and 1000"),
        ));
    }
    let reads = desk(&state)?.reads().clone();
    let t = caller.tenant.clone();
    let after = p.after.clone();
    let mut items =
        tokio::task::spawn_blocking(move || reads.catalogue_list(&t, after.as_deref(), limit + 1))
            .await
            .map_err(|e| Problem::internal(format!("read task failed: {e}")))?
            .map_err(|e| Problem::internal(format!("the order book could not answer: {e}")))?;
    let more = items.len() > limit;
    items.truncate(limit);
    Ok(Json(CataloguePage {
        next: more.then(|| items.last().map(|i| i.sku.clone())).flatten(),
        items: items
            .into_iter()
            .map(|i| CatalogueItemDto {
                sku: i.sku,
                title: i.title,
            })
            .collect(),
    }))
}

/// Set stock levels (absolute counts per warehouse). Backorders the new stock can serve are
/// released into the flow.
#[utoipa::path(put, path = "/v1/stock", tag = "orders",
    request_body(content = Vec<StockLevelDto>, content_type = "application/json"),
    responses(
        (status = 200, body = StockReport),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the ingest scope", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An invalid level, named", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn put_stock(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<StockReport>, Problem> {
    caller.require(Scope::Ingest, &state)?;
    let d = desk(&state)?;
    let levels: Vec<StockLevelDto> = list_body(body, "stock levels")?;
    let now = d.now();
    let mut out = Vec::with_capacity(levels.len());
    for (i, l) in levels.into_iter().enumerate() {
        check_name(&format!("[{i}].sku"), &l.sku)?;
        check_name(&format!("[{i}].warehouse"), &l.warehouse)?;
        if !l.available.is_finite() {
            return Err(invalid_field(
                &format!("[{i}].available"),
                "a finite number".into(),
            ));
        }
        let counted_at = match l.counted_at.as_deref() {
            None => now,
            Some(s) => s
                .parse()
                .map_err(|e| invalid_field(&format!("[{i}].counted_at"), format!("{s:?}: {e}")))?,
        };
        out.push(StockLevel {
            warehouse: l.warehouse,
            sku: l.sku,
            available: l.available,
            counted_at,
        });
    }
    let r = d.put_stock(&caller.tenant, out).await?;
    Ok(Json(StockReport {
        changed: r.changed as u64,
        released: r.released,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StockParams {
    /// Only this SKU.
    pub sku: Option<String>,
}

/// Stock levels, by SKU and warehouse (at most 10,000 rows).
#[utoipa::path(get, path = "/v1/stock", tag = "orders",
    params(StockParams),
    responses(
        (status = 200, body = StockPage),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the read scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get_stock(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<StockParams>, QueryRejection>,
) -> Result<Json<StockPage>, Problem> {
    caller.require(Scope::Read, &state)?;
    let Query(p) = query?;
    let reads = desk(&state)?.reads().clone();
    let t = caller.tenant.clone();
    let levels =
        tokio::task::spawn_blocking(move || reads.stock_list(&t, p.sku.as_deref(), 10_000))
            .await
            .map_err(|e| Problem::internal(format!("read task failed: {e}")))?
            .map_err(|e| Problem::internal(format!("the order book could not answer: {e}")))?;
    Ok(Json(StockPage {
        levels: levels
            .into_iter()
            .map(|l| StockLevelDto {
                warehouse: l.warehouse,
                sku: l.sku,
                available: l.available,
                counted_at: Some(l.counted_at.to_string()),
            })
            .collect(),
    }))
}
