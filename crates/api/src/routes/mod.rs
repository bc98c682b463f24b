mod admin;
mod alerts;
mod body_read;
mod dashboard;
mod dead_letters;
mod events;
mod notify;
mod ops;
mod orders;
mod orders_in;
mod quarantine;
mod session;
mod sources;
mod stream;
mod track;
mod ui;
mod webhooks;

pub(crate) use admin::__path_reload;
pub(crate) use alerts::{
    __path_ack_alert, __path_assign_alert, __path_get_alert, __path_list_alerts,
    __path_resolve_alert, __path_snooze_alert,
};
pub(crate) use dashboard::{
    __path_carrier_scorecards, __path_dashboard_summary, __path_map_orders, __path_map_warehouses,
    __path_tracking_link,
};
pub(crate) use dead_letters::{
    __path_get_document, __path_list_dead_letters, __path_replay_dead_letter, DeadLetterPage,
    DocumentItem,
};
pub(crate) use events::__path_post_events;
pub(crate) use notify::{
    __path_create_endpoint, __path_create_subscription, __path_delete_endpoint,
    __path_delete_subscription, __path_get_contact, __path_get_endpoint, __path_get_notification,
    __path_list_contacts, __path_list_dead, __path_list_endpoints, __path_list_subscriptions,
    __path_order_notifications, __path_put_contact, __path_put_endpoint, __path_replay,
    __path_test_endpoint,
};
pub(crate) use ops::{__path_healthz, __path_metrics, __path_readyz};
pub(crate) use orders::{__path_get_order, __path_get_shipment, __path_list_orders};
pub(crate) use orders_in::catalogue::{
    __path_get_catalogue, __path_get_stock, __path_put_catalogue, __path_put_stock,
};
pub(crate) use orders_in::queue::{
    __path_explain, __path_fix, __path_gate_report, __path_list_queue, __path_reject,
    __path_release, __path_revalidate,
};
pub(crate) use orders_in::{__path_post_channel_orders, __path_post_orders};
pub(crate) use quarantine::{
    __path_accept, __path_list_unmapped, __path_remap, AcceptReport, AcceptRequest, ProposalView,
    RemapReport, RemapRequest, UnmappedItem, UnmappedPage,
};
pub(crate) use session::{
    __path_delete_session, __path_get_session, __path_post_session, LoginRequest, SessionInfo,
    SessionUser,
};
pub(crate) use sources::{__path_list_sources, SourcesPage};
pub(crate) use stream::__path_stream;
pub(crate) use track::__path_track;
pub(crate) use webhooks::__path_post_webhook;

use crate::AppState;
use crate::media_type::MediaType;
use crate::problem::Problem;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use waypost_store::{ReadStore, StoreError};

/// Refuses a body declared as anything but JSON (`application/json`, `application/*+json`);
/// with `required`, an undeclared one too. Counted as an unsupported-media rejection.
pub(crate) fn json_body_type(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    required: bool,
) -> Result<(), Problem> {
    body_type(
        state,
        headers,
        required,
        MediaType::is_json,
        "application/json",
    )
}

/// Refuses a body not declared as `application/json` exactly (only `charset=utf-8` may come
/// with it): the login, where a type a page of another site can send without a CORS preflight
/// must not get through.
pub(crate) fn strict_json_body_type(
    state: &AppState,
    headers: &axum::http::HeaderMap,
) -> Result<(), Problem> {
    body_type(
        state,
        headers,
        true,
        MediaType::is_strict_json,
        "application/json (with no parameter but charset=utf-8)",
    )
}

fn body_type(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    required: bool,
    accept: fn(&MediaType) -> bool,
    wanted: &str,
) -> Result<(), Problem> {
    let ct = match headers.get(axum::http::header::CONTENT_TYPE) {
        Some(ct) => String::from_utf8_lossy(ct.as_bytes()).into_owned(),
        None if !required => return Ok(()),
        None => String::new(),
    };
    let detail = match MediaType::parse(&ct) {
        Ok(m) if accept(&m) => return Ok(()),
        Ok(_) => format!("send {wanted}, not {ct}"),
        Err(_) if ct.is_empty() => format!("send {wanted}"),
        Err(e) => format!("send {wanted}; the Content-Type {ct:?} does not parse: {e}"),
    };
    state
        .metrics
        .reject(waypost_engine::Rejection::UnsupportedMediaType, 1);
    Err(Problem::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
        "Unsupported media type",
        detail,
    ))
}

/// Runs a store read on the blocking pool: SQLite calls must not stall an async worker.
pub(crate) async fn read<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&dyn ReadStore) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, Problem> {
    let reader = state.reader.clone();
    tokio::task::spawn_blocking(move || f(reader.as_ref()))
        .await
        .map_err(|e| Problem::internal(format!("read task failed: {e}")))?
        .map_err(|e| {
            tracing::error!(error = %e, "store read failed");
            Problem::internal(format!("the store could not answer: {e}"))
        })
}

/// The dashboard's reads, gzip-compressed when the client accepts it: the map's page of
/// 10,000 orders is about 2 MB of JSON and a tenth of that compressed.
fn dashboard_routes() -> Router<AppState> {
    Router::new()
        .route("/v1/dashboard/summary", get(dashboard::dashboard_summary))
        .route("/v1/map/orders", get(dashboard::map_orders))
        .route("/v1/map/warehouses", get(dashboard::map_warehouses))
        .route(
            "/v1/carriers/scorecards",
            get(dashboard::carrier_scorecards),
        )
        .route(
            "/v1/orders/{order_id}/tracking-link",
            get(dashboard::tracking_link),
        )
        .layer(tower_http::compression::CompressionLayer::new())
}

/// Commands and management with small JSON bodies (alerts, quarantine, dead letters,
/// notifications, reload). They check their scope in the handler, after axum has read the
/// body: the small limit bounds what a caller with a valid key but the wrong scope can make
/// the server hold.
fn command_routes() -> Router<AppState> {
    Router::new()
        .route("/v1/unmapped/remap", post(quarantine::remap))
        .route(
            "/v1/unmapped/{source}/{code}/accept",
            post(quarantine::accept),
        )
        .route(
            "/v1/dead-letters/{id}/replay",
            post(dead_letters::replay_dead_letter),
        )
        .route("/v1/alerts/{id}/ack", post(alerts::ack_alert))
        .route("/v1/alerts/{id}/assign", post(alerts::assign_alert))
        .route("/v1/alerts/{id}/snooze", post(alerts::snooze_alert))
        .route("/v1/alerts/{id}/resolve", post(alerts::resolve_alert))
        .route("/v1/admin/reload", post(admin::reload))
        .route(
            "/v1/notify/endpoints",
            get(notify::list_endpoints).post(notify::create_endpoint),
        )
        .route(
            "/v1/notify/endpoints/{id}",
            get(notify::get_endpoint)
                .put(notify::put_endpoint)
                .delete(notify::delete_endpoint),
        )
        .route(
            "/v1/notify/endpoints/{id}/test",
            post(notify::test_endpoint),
        )
        .route(
            "/v1/notify/subscriptions",
            get(notify::list_subscriptions).post(notify::create_subscription),
        )
        .route(
            "/v1/notify/subscriptions/{id}",
            axum::routing::delete(notify::delete_subscription),
        )
        .route("/v1/notify/contacts", get(notify::list_contacts))
        .route(
            "/v1/notify/contacts/{customer_id}",
            get(notify::get_contact).put(notify::put_contact),
        )
        .route("/v1/notify/notifications/{id}/replay", post(notify::replay))
        .layer(DefaultBodyLimit::max(crate::COMMAND_BODY_BYTES))
        .layer(axum::middleware::from_fn(
            body_read::declared_within::<{ crate::COMMAND_BODY_BYTES }>,
        ))
}

pub fn router(state: AppState) -> Router {
    let body_limit = state.limits.max_body_bytes;
    Router::new()
        // Reads its body itself, after authenticating, within the endpoint's limit.
        .route("/v1/webhooks/{source}", post(webhooks::post_webhook))
        .route("/v1/unmapped", get(quarantine::list_unmapped))
        .route("/v1/documents/{id}", get(dead_letters::get_document))
        .route("/v1/dead-letters", get(dead_letters::list_dead_letters))
        .route(
            "/v1/session",
            post(session::post_session)
                .get(session::get_session)
                .delete(session::delete_session)
                // The login is open to anyone: what it reads must stay small.
                .layer(DefaultBodyLimit::max(crate::ANONYMOUS_BODY_BYTES))
                .layer(axum::middleware::from_fn(
                    body_read::declared_within::<{ crate::ANONYMOUS_BODY_BYTES }>,
                )),
        )
        .route("/v1/sources", get(sources::list_sources))
        .route("/v1/alerts", get(alerts::list_alerts))
        .route("/v1/alerts/{id}", get(alerts::get_alert))
        .route(
            "/v1/notify/notifications/{id}",
            get(notify::get_notification),
        )
        .route("/v1/notify/dead-letters", get(notify::list_dead))
        .route(
            "/v1/orders/{order_id}/notifications",
            get(notify::order_notifications),
        )
        .route("/v1/events", post(events::post_events))
        .route(
            "/v1/orders",
            get(orders::list_orders).post(orders_in::post_orders),
        )
        .route(
            "/v1/channels/{channel}/orders",
            post(orders_in::post_channel_orders),
        )
        .route(
            "/v1/orders/{order_id}/intake",
            get(orders_in::queue::explain),
        )
        .route("/v1/intake/queue", get(orders_in::queue::list_queue))
        .route(
            "/v1/intake/queue/{order_id}/release",
            post(orders_in::queue::release),
        )
        .route(
            "/v1/intake/queue/{order_id}/reject",
            post(orders_in::queue::reject),
        )
        .route(
            "/v1/intake/queue/{order_id}/fix",
            post(orders_in::queue::fix),
        )
        .route("/v1/intake/revalidate", post(orders_in::queue::revalidate))
        .route("/v1/intake/gates", get(orders_in::queue::gate_report))
        .route(
            "/v1/catalogue",
            get(orders_in::catalogue::get_catalogue).put(orders_in::catalogue::put_catalogue),
        )
        .route(
            "/v1/stock",
            get(orders_in::catalogue::get_stock).put(orders_in::catalogue::put_stock),
        )
        .route("/v1/orders/{order_id}", get(orders::get_order))
        .route("/v1/shipments/{tracking_number}", get(orders::get_shipment))
        .route("/v1/stream", get(stream::stream))
        .merge(dashboard_routes())
        .merge(command_routes())
        .route("/v1/track/{token}", get(track::track))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(ops::openapi))
        .route("/", get(ui::index))
        .route("/assets/{*path}", get(ui::asset))
        .route("/track/{token}", get(ui::track_page))
        .fallback(|| async { Problem::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
                "this route does not take that method",
            )
        })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            use axum::response::IntoResponse;
            Problem::internal("the request handler failed; it has been logged").into_response()
        }))
        // Outermost, so that nothing inside answers an error in another shape.
        .layer(axum::middleware::map_response(
            crate::problem::errors_as_problems,
        ))
        .with_state(state)
}
