use super::read;
use crate::AppState;
use crate::auth::Caller;
use crate::dto::{OrderDetail, OrderPage, OrderSummary, ShipmentDetail, ShipmentDto, TimelineItem};
use crate::problem::Problem;
use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use utoipa::IntoParams;
use waypost_domain::{EventTime, OrderStatus};
use waypost_store::{OrderFilter, Scope};

/// A path segment that is not valid UTF-8 after percent-decoding is the client's error.
fn path_param(path: Result<Path<String>, PathRejection>) -> Result<String, Problem> {
    path.map(|Path(p)| p)
        .map_err(|e| Problem::bad_request("invalid-path", e.body_text()))
}

/// An order: its current state, its shipments and its full timeline.
#[utoipa::path(get, path = "/v1/orders/{order_id}", tag = "query",
    params(("order_id" = String, Path, description = "The sales channel's order id")),
    responses(
        (status = 200, body = OrderDetail),
        (status = 400, description = "The id is not valid UTF-8", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such order for this tenant", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get_order(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<OrderDetail>, Problem> {
    caller.require(Scope::Read, &state)?;
    let order_id = path_param(path)?;
    let tenant = caller.tenant.clone();
    let id = order_id.clone();
    let (record, timeline) = read(&state, move |r| {
        let rec = r.order(&tenant, &id)?;
        let tl = match rec {
            Some(_) => r.timeline(&tenant, &id)?,
            None => Vec::new(),
        };
        Ok((rec, tl))
    })
    .await?;
    let record = record.ok_or_else(|| Problem::not_found(format!("no order {order_id:?}")))?;
    Ok(Json(OrderDetail {
        order: OrderSummary::from_record(&record),
        timeline: timeline.iter().map(TimelineItem::from).collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only orders in this status (a canonical status or partially_shipped/partially_delivered).
    status: Option<String>,
    /// Only orders with a shipment of this carrier.
    carrier: Option<String>,
    /// Only orders changed at or after this instant (RFC 3339 with offset).
    updated_since: Option<String>,
    /// From `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size, 1 to 500 (default 100).
    limit: Option<String>,
}

/// Orders in the order of their last change (oldest first): a consumer can page through and
/// then keep polling with `updated_since` or the last cursor to see only what changed.
#[utoipa::path(get, path = "/v1/orders", tag = "query",
    params(ListParams),
    responses(
        (status = 200, body = OrderPage),
        (status = 400, description = "A bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list_orders(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<OrderPage>, Problem> {
    caller.require(Scope::Read, &state)?;
    let Query(p) = params.map_err(|e| Problem::bad_request("invalid-query", e.body_text()))?;
    let mut filter = OrderFilter {
        limit: 100,
        ..Default::default()
    };
    if let Some(s) = p.status.filter(|s| !s.is_empty()) {
        let st: OrderStatus = s.parse().map_err(|_| {
            Problem::bad_request("invalid-query", format!("status: {s:?} is not a status"))
        })?;
        filter.status = Some(st.to_string());
    }
    filter.carrier = p.carrier.filter(|c| !c.is_empty());
    if let Some(t) = p.updated_since.filter(|s| !s.is_empty()) {
        let t = EventTime::parse(&t)
            .map_err(|e| Problem::bad_request("invalid-query", format!("updated_since: {e}")))?;
        filter.updated_since = Some(t.instant);
    }
    if let Some(c) = p.cursor.filter(|s| !s.is_empty()) {
        filter.after_version = Some(decode_cursor(&c).ok_or_else(|| {
            Problem::bad_request("invalid-query", "cursor: not a cursor this server gave out")
        })?);
    }
    if let Some(l) = p.limit.filter(|s| !s.is_empty()) {
        let n: usize = l
            .parse()
            .ok()
            .filter(|n| (1..=state.limits.max_page).contains(n))
            .ok_or_else(|| {
                Problem::bad_request(
                    "invalid-query",
                    format!(
                        "limit: must be a whole number from 1 to {}",
                        state.limits.max_page
                    ),
                )
            })?;
        filter.limit = n;
    }
    let limit = filter.limit;
    let tenant = caller.tenant.clone();
    let records = read(&state, move |r| r.orders(&tenant, &filter)).await?;
    let next_cursor = (records.len() == limit)
        .then(|| records.last().map(|r| encode_cursor(r.version)))
        .flatten();
    Ok(Json(OrderPage {
        orders: records.iter().map(OrderSummary::from_record).collect(),
        next_cursor,
    }))
}

/// `v2`: versions are numbered per tenant since migration 10; a `v1` cursor (a global
/// number) would land somewhere else in the listing, so it is refused rather than followed.
fn encode_cursor(version: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("v2:{version}"))
}

fn decode_cursor(c: &str) -> Option<u64> {
    let raw = URL_SAFE_NO_PAD.decode(c).ok()?;
    std::str::from_utf8(&raw)
        .ok()?
        .strip_prefix("v2:")?
        .parse()
        .ok()
}

/// A shipment by tracking number.
#[utoipa::path(get, path = "/v1/shipments/{tracking_number}", tag = "query",
    params(("tracking_number" = String, Path)),
    responses(
        (status = 200, body = ShipmentDetail),
        (status = 400, description = "The tracking number is not valid UTF-8", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such shipment for this tenant", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get_shipment(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<ShipmentDetail>, Problem> {
    caller.require(Scope::Read, &state)?;
    let tracking = path_param(path)?;
    let tenant = caller.tenant.clone();
    let t = tracking.clone();
    let rec = read(&state, move |r| r.shipment(&tenant, &t))
        .await?
        .ok_or_else(|| Problem::not_found(format!("no shipment {tracking:?}")))?;
    Ok(Json(ShipmentDetail {
        order_id: rec.order_id,
        shipment: ShipmentDto::from(&rec.shipment),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_forgeries() {
        assert_eq!(decode_cursor(&encode_cursor(42)), Some(42));
        assert_eq!(decode_cursor("bm9wZQ"), None);
        assert_eq!(decode_cursor("!!"), None);
    }
}
