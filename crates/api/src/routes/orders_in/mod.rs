//! Orders entering: `POST /v1/orders` in Waypost's own schema, and
//! `POST /v1/channels/{channel}/orders` in a sales channel's own format (a Shopify or
//! WooCommerce webhook, a Magento or GraphQL response, an X12 850 interchange, a CSV or
//! JSON-lines upload). Every order goes through the order desk: placed, judged, versioned,
//! and started in the event log. Plus the intake queue ([`queue`]) and the catalogue and
//! stock ([`catalogue`]).

pub mod catalogue;
mod channel;
pub mod queue;

pub(crate) use channel::{__path_post_channel_orders, post_channel_orders};

use super::body_read::read_within;
use crate::AppState;
use crate::auth::Caller;
use crate::dto::orders::{OrderRefusal, OrderResult, OrdersReceipt};
use crate::problem::Problem;
use axum::Json;
use axum::body::{Body, HttpBody};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use waypost_order_intake::{DeskError, OrderDesk};
use waypost_orders::Channel;
use waypost_orders::channels::ReadError;
use waypost_store::Scope;

/// The desk, or 503 when this server runs without order intake.
pub(crate) fn desk(state: &AppState) -> Result<&OrderDesk, Problem> {
    state.orders.as_ref().ok_or_else(|| {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "orders-disabled",
            "Order intake is not running",
            "this server was started without order intake",
        )
    })
}

impl From<DeskError> for Problem {
    fn from(e: DeskError) -> Self {
        match e {
            DeskError::Busy {
                retry_after_secs, ..
            } => Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "orders-busy",
                "Order intake is busy",
                e.to_string(),
            )
            .retry_after(retry_after_secs),
            DeskError::ShuttingDown => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting-down",
                "Shutting down",
                e.to_string(),
            )
            .retry_after(1),
            DeskError::Unreadable(e) => unreadable(e),
            DeskError::Resolve(_) | DeskError::Invalid(_) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-order",
                "The order cannot be taken",
                e.to_string(),
            ),
            DeskError::Store(waypost_store::StoreError::Conflict { .. }) => Problem::new(
                StatusCode::CONFLICT,
                "version-changed",
                "A newer version arrived",
                format!("{e}; read the order again and act on its current version"),
            ),
            DeskError::Store(_) | DeskError::Emit { .. } => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store-unavailable",
                "The store could not take the order",
                e.to_string(),
            )
            .retry_after(1),
        }
    }
}

/// A document that could not be read: 422 naming where.
pub(crate) fn unreadable(e: ReadError) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "unreadable-order",
        "The order document cannot be read",
        format!("{e}; nothing of it was stored"),
    )
}

/// A batch's answer on the wire.
pub(crate) fn receipt(batch: waypost_order_intake::Batch) -> OrdersReceipt {
    OrdersReceipt {
        results: batch.results.into_iter().map(OrderResult::from).collect(),
        refused: batch
            .refused
            .into_iter()
            .map(|r| OrderRefusal {
                index: r.index,
                order_id: r.order_id,
                reason: r.reason,
            })
            .collect(),
        acknowledgment: None,
        po_acknowledgments: Vec::new(),
    }
}

/// Take orders in Waypost's own order schema.
///
/// One order or an array of them. Each is placed in its account (`account`, or the tenant's
/// `api` account), judged by the tenant's validation profile and stored in the order book
/// before the answer: `accepted` and `backordered` orders have started their status history,
/// `held` ones wait in the intake queue, `rejected` ones are kept with their reasons
/// (`GET /v1/orders/{order_id}/intake`). The same order sent twice is stored once; a changed
/// one is a new version.
#[utoipa::path(
    post, path = "/v1/orders", tag = "orders",
    request_body(content = Object, content_type = "application/json", description = "An order, or an array of orders, in Waypost's order schema (docs/orders.md): order_id (required), account, external_id, created_at, updated_at, status, lines [{sku, quantity, unit_price, tax, title, uom}], currency, total, customer, ship_to, service_level, promised_at, ship_by, tags, note"),
    responses(
        (status = 200, description = "Every order's outcome", body = OrdersReceipt),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the ingest scope", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The document does not follow the order schema; every problem is named", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Order intake is full; retry after Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Shutting down or the store failed; retry", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn post_orders(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<OrdersReceipt>, Problem> {
    let unread = |p: Problem| {
        if body.is_end_stream() {
            p
        } else {
            p.close_connection()
        }
    };
    caller.require(Scope::Ingest, &state).map_err(unread)?;
    super::json_body_type(&state, &headers, true).map_err(unread)?;
    let desk = desk(&state).map_err(unread)?.clone();
    let (body, _reservation) = read_within(
        &state,
        &caller.tenant,
        &headers,
        body,
        state.limits.max_body_bytes,
        "order submissions",
    )
    .await?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unreadable-order",
            "The order document cannot be read",
            "the body is empty: send an order, or an array of orders, in Waypost's order schema",
        ));
    }
    let orders = waypost_orders::channels::generic::read(&body).map_err(unreadable)?;
    let numbered = orders
        .into_iter()
        .enumerate()
        .map(|(i, o)| (i as u64, o))
        .collect();
    let batch = desk
        .submit_batch(&caller.tenant, Channel::Api, numbered, None, None)
        .await?;
    Ok(Json(receipt(batch)))
}
