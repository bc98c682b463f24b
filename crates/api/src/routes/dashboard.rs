//! What the operations dashboard loads (`docs/dashboard.md`): status counts, the map's active
//! orders and warehouses, carrier scorecards, and an order's customer link. All under the
//! caller's tenant with the `read` scope; every refusal is problem+json.

mod score;

use super::read;
use crate::AppState;
use crate::auth::Caller;
use crate::dto::dashboard::*;
use crate::problem::Problem;
use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use utoipa::IntoParams;
use waypost_domain::OrderStatus;
use waypost_store::{DashboardFilter, Scope};

fn bad_query(e: QueryRejection) -> Problem {
    Problem::bad_request("invalid-query", e.body_text())
}

/// Empty means absent, as in `GET /v1/orders`.
fn given(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

/// A whole number in `range`, or `default` when absent.
fn number_in(
    name: &str,
    raw: Option<String>,
    range: std::ops::RangeInclusive<usize>,
    default: usize,
) -> Result<usize, Problem> {
    let Some(raw) = given(raw) else {
        return Ok(default);
    };
    raw.parse()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            Problem::bad_request(
                "invalid-query",
                format!(
                    "{name}: must be a whole number from {} to {}",
                    range.start(),
                    range.end()
                ),
            )
        })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryParams {
    /// Only orders in this status (a canonical status or partially_shipped/partially_delivered).
    status: Option<String>,
    /// Only orders with a shipment of this carrier (case-insensitive).
    carrier: Option<String>,
    /// Only orders from this warehouse.
    warehouse: Option<String>,
    /// Only orders of this sales channel.
    channel: Option<String>,
}

/// Counts of the tenant's orders matching the filters, by status, carrier, warehouse and
/// channel, with how many are active and how many alerts are open.
#[utoipa::path(get, path = "/v1/dashboard/summary", tag = "dashboard",
    params(SummaryParams),
    responses(
        (status = 200, body = DashboardSummaryDto),
        (status = 400, description = "A bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn dashboard_summary(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<SummaryParams>, QueryRejection>,
) -> Result<Json<DashboardSummaryDto>, Problem> {
    caller.require(Scope::Read, &state)?;
    let Query(p) = params.map_err(bad_query)?;
    let status = given(p.status)
        .map(|s| {
            s.parse::<OrderStatus>()
                .map(|st| st.to_string())
                .map_err(|_| {
                    Problem::bad_request("invalid-query", format!("status: {s:?} is not a status"))
                })
        })
        .transpose()?;
    let filter = DashboardFilter {
        status,
        carrier: given(p.carrier),
        warehouse: given(p.warehouse),
        channel: given(p.channel),
    };
    let tenant = caller.tenant.clone();
    let s = read(&state, move |r| r.dashboard_summary(&tenant, &filter)).await?;
    let counts = |v: Vec<(Option<String>, u64)>| {
        v.into_iter()
            .map(|(key, count)| CountDto { key, count })
            .collect()
    };
    Ok(Json(DashboardSummaryDto {
        total: s.total,
        active: s.active,
        alerts_open: s.alerts_open,
        by_status: counts(s.by_status),
        by_carrier: counts(s.by_carrier),
        by_warehouse: counts(s.by_warehouse),
        by_channel: counts(s.by_channel),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MapParams {
    /// From `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size, 1 to 10000 (default 5000).
    limit: Option<String>,
}

/// The largest map page: the dashboard's 10,000-order load in one or two requests.
const MAP_PAGE_MAX: usize = 10_000;

fn encode_map_cursor(order_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("m1:{order_id}"))
}

fn decode_map_cursor(c: &str) -> Option<String> {
    let raw = URL_SAFE_NO_PAD.decode(c).ok()?;
    String::from_utf8(raw)
        .ok()?
        .strip_prefix("m1:")
        .map(String::from)
}

/// Active orders with a known position (their latest location), by order id, a page at a time.
#[utoipa::path(get, path = "/v1/map/orders", tag = "dashboard",
    params(MapParams),
    responses(
        (status = 200, body = MapPage),
        (status = 400, description = "A bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn map_orders(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<MapParams>, QueryRejection>,
) -> Result<Json<MapPage>, Problem> {
    caller.require(Scope::Read, &state)?;
    let Query(p) = params.map_err(bad_query)?;
    let limit = number_in("limit", p.limit, 1..=MAP_PAGE_MAX, 5_000)?;
    let after = given(p.cursor)
        .map(|c| {
            decode_map_cursor(&c).ok_or_else(|| {
                Problem::bad_request("invalid-query", "cursor: not a cursor this server gave out")
            })
        })
        .transpose()?;
    let tenant = caller.tenant.clone();
    // One more than asked tells whether another page exists, so the last full page says so
    // instead of sending the client for an empty one.
    let mut points = read(&state, move |r| {
        r.map_points(&tenant, after.as_deref(), limit + 1)
    })
    .await?;
    let more = points.len() > limit;
    points.truncate(limit);
    let next_cursor = more
        .then(|| points.last().map(|p| encode_map_cursor(&p.order_id)))
        .flatten();
    Ok(Json(MapPage {
        points: points
            .into_iter()
            .map(|p| MapPointDto {
                order_id: p.order_id,
                status: p.status,
                lat: p.lat,
                lon: p.lon,
                carrier: p.carrier,
                warehouse: p.warehouse,
                dest_lat: p.dest_lat,
                dest_lon: p.dest_lon,
                updated_at: p.updated_at.to_string(),
            })
            .collect(),
        next_cursor,
    }))
}

/// Warehouses the tenant's active orders name, with how many each has and where it is (the mean
/// of those orders' known shipment origins).
#[utoipa::path(get, path = "/v1/map/warehouses", tag = "dashboard",
    responses(
        (status = 200, body = WarehousePage),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn map_warehouses(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<WarehousePage>, Problem> {
    caller.require(Scope::Read, &state)?;
    let tenant = caller.tenant.clone();
    let rows = read(&state, move |r| r.warehouses(&tenant)).await?;
    Ok(Json(WarehousePage {
        warehouses: rows
            .into_iter()
            .map(|w| WarehouseDto {
                name: w.name,
                lat: w.lat,
                lon: w.lon,
                active_orders: w.active_orders,
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScorecardParams {
    /// The window, in days back from now: 1 to 365 (default 30).
    days: Option<String>,
}

/// On-time rate and transit-time percentiles per carrier, per lane and per day, over the
/// shipments delivered in the window.
#[utoipa::path(get, path = "/v1/carriers/scorecards", tag = "dashboard",
    params(ScorecardParams),
    responses(
        (status = 200, body = ScorecardsDto),
        (status = 400, description = "A bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn carrier_scorecards(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<ScorecardParams>, QueryRejection>,
) -> Result<Json<ScorecardsDto>, Problem> {
    caller.require(Scope::Read, &state)?;
    let Query(p) = params.map_err(bad_query)?;
    let days = number_in("days", p.days, 1..=365, 30)?;
    let since = state.clock.now() - jiff::SignedDuration::from_hours(24 * days as i64);
    let tenant = caller.tenant.clone();
    let rows = read(&state, move |r| r.scorecards(&tenant, since)).await?;
    Ok(Json(score::scorecards(&rows, since)))
}

/// The order's customer page: its token, its path on this server and its public URL.
#[utoipa::path(get, path = "/v1/orders/{order_id}/tracking-link", tag = "dashboard",
    params(("order_id" = String, Path, description = "The sales channel's order id")),
    responses(
        (status = 200, body = TrackingLinkDto),
        (status = 400, description = "The id is not valid UTF-8", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such order for this tenant", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn tracking_link(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<TrackingLinkDto>, Problem> {
    caller.require(Scope::Read, &state)?;
    let Path(order_id) = path.map_err(|e| Problem::bad_request("invalid-path", e.body_text()))?;
    let tenant = caller.tenant.clone();
    let id = order_id.clone();
    let token = read(&state, move |r| r.tracking_token(&tenant, &id))
        .await?
        .ok_or_else(|| Problem::not_found(format!("no order {order_id:?}")))?;
    Ok(Json(TrackingLinkDto {
        url: state
            .public_url
            .as_deref()
            .map(|base| crate::tracking_url(base, &token)),
        path: crate::tracking_path(&token),
        token,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_customer_link_is_the_same_with_or_without_a_trailing_slash() {
        let token = "0123456789abcdef0123456789abcdef";
        for base in ["https://track.example", "https://track.example/"] {
            assert_eq!(
                crate::tracking_url(base, token),
                format!("https://track.example{}", crate::tracking_path(token))
            );
        }
        assert_eq!(crate::tracking_path(token), format!("/track/{token}"));
    }

    #[test]
    fn map_cursors_round_trip_and_refuse_others() {
        for id in ["O-1", "ü/é ?&", ""] {
            assert_eq!(
                decode_map_cursor(&encode_map_cursor(id)).as_deref(),
                Some(id)
            );
        }
        assert_eq!(decode_map_cursor("not base64!"), None);
        assert_eq!(decode_map_cursor(&URL_SAFE_NO_PAD.encode("v1:12")), None);
    }
}
