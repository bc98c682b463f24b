//! Notification management (`docs/notifications.md`): endpoints, subscriptions, customers'
//! contact preferences, a test send, an order's delivery log, and the dead letters with their
//! replay.
//!
//! Reads go to the store; every write goes through the intake to the engine's writer thread,
//! which also holds the planner's copy of the subscriptions, so the two never disagree.
//! Reading needs the `read` scope; changing anything needs `admin`.

mod body;

use super::read;
use crate::AppState;
use crate::auth::Caller;
use crate::dto::notify::*;
use crate::problem::Problem;
use crate::public_id::IdKind;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use body::{contact_row, endpoint_row, subscription_row};
use serde::Deserialize;
use waypost_engine::{NotifyCommand, NotifyCommandError, NotifyReply};
use waypost_store::{Scope, StoreError};

/// The row a public id in the path names, with that id for messages: anything that is not a
/// public id of `kind` names nothing (404, like an id of another tenant).
fn path_id(
    state: &AppState,
    path: Result<Path<String>, PathRejection>,
    kind: IdKind,
    what: &str,
) -> Result<(i64, String), Problem> {
    let Path(raw) = path.map_err(|e| Problem::bad_request("invalid-path", e.body_text()))?;
    match state.public_ids.decode(kind, &raw) {
        Some(id) if id > 0 => Ok((id, raw)),
        _ => Err(Problem::not_found(format!("no {what} {raw:?}"))),
    }
}

async fn command(state: &AppState, cmd: NotifyCommand) -> Result<NotifyReply, Problem> {
    state.engine.notify(cmd).await.map_err(|e| match e {
        NotifyCommandError::ShuttingDown => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting-down",
            "Shutting down",
            "the engine is shutting down",
        ),
        NotifyCommandError::Store(StoreError::Duplicate { what, name, .. }) => Problem::new(
            StatusCode::CONFLICT,
            "duplicate",
            "Already exists",
            format!("the tenant already has a {what} named {name:?}"),
        ),
        // The store's message names its row number, which the tenant never sees.
        NotifyCommandError::Store(StoreError::NotFound { what, .. }) => {
            Problem::not_found(format!("no such {what} for this tenant"))
        }
        NotifyCommandError::Store(e) => Problem::internal(format!("the store refused: {e}")),
    })
}

/// The caller's endpoints.
#[utoipa::path(get, path = "/v1/notify/endpoints", tag = "notifications",
    responses(
        (status = 200, body = EndpointPage),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list_endpoints(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<EndpointPage>, Problem> {
    caller.require(Scope::Read, &state)?;
    let tenant = caller.tenant.clone();
    let rows = read(&state, move |r| r.endpoints(&tenant)).await?;
    Ok(Json(EndpointPage {
        endpoints: rows
            .iter()
            .map(|r| EndpointDto::from_row(&state.public_ids, r))
            .collect(),
    }))
}

/// Registers an endpoint. A webhook URL whose host resolves to a loopback, private,
/// link-local, CGNAT or metadata address is refused (422) unless the operator allow-listed
/// that network; the same check runs again at every connection.
#[utoipa::path(post, path = "/v1/notify/endpoints", tag = "notifications",
    request_body = EndpointRequest,
    responses(
        (status = 201, body = EndpointDto),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An endpoint of that name exists", body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    caller.require(Scope::Admin, &state)?;
    let (row, new_secrets) = endpoint_row(&state, &caller, 0, body).await?;
    let NotifyReply::Endpoint(row) = command(&state, NotifyCommand::PutEndpoint(row)).await? else {
        return Err(Problem::internal("the engine answered another command"));
    };
    let mut dto = EndpointDto::from_row(&state.public_ids, &row);
    dto.new_secrets = new_secrets;
    Ok((StatusCode::CREATED, Json(dto)).into_response())
}

/// One endpoint.
#[utoipa::path(get, path = "/v1/notify/endpoints/{id}", tag = "notifications",
    params(("id" = String, Path, description = "The endpoint's id (`ep_...`)")),
    responses(
        (status = 200, body = EndpointDto),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<EndpointDto>, Problem> {
    caller.require(Scope::Read, &state)?;
    let (id, public) = path_id(&state, path, IdKind::Endpoint, "endpoint")?;
    let tenant = caller.tenant.clone();
    let row = read(&state, move |r| r.endpoint(&tenant, id)).await?;
    row.map(|r| Json(EndpointDto::from_row(&state.public_ids, &r)))
        .ok_or_else(|| Problem::not_found(format!("no endpoint {public:?}")))
}

/// Replaces an endpoint: rotate a webhook's secrets by giving the new one first and the old
/// one after it, then, once receivers have switched, the new one alone. Enabling an endpoint
/// that a `410 Gone` disabled is `enabled: true`.
#[utoipa::path(put, path = "/v1/notify/endpoints/{id}", tag = "notifications",
    params(("id" = String, Path, description = "The endpoint's id (`ep_...`)")),
    request_body = EndpointRequest,
    responses(
        (status = 200, body = EndpointDto),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn put_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<EndpointDto>, Problem> {
    caller.require(Scope::Admin, &state)?;
    let (id, public) = path_id(&state, path, IdKind::Endpoint, "endpoint")?;
    let tenant = caller.tenant.clone();
    if read(&state, move |r| r.endpoint(&tenant, id))
        .await?
        .is_none()
    {
        return Err(Problem::not_found(format!("no endpoint {public:?}")));
    }
    let (row, new_secrets) = endpoint_row(&state, &caller, id, body).await?;
    let NotifyReply::Endpoint(row) = command(&state, NotifyCommand::PutEndpoint(row)).await? else {
        return Err(Problem::internal("the engine answered another command"));
    };
    let mut dto = EndpointDto::from_row(&state.public_ids, &row);
    dto.new_secrets = new_secrets;
    Ok(Json(dto))
}

/// Deletes an endpoint with its subscriptions; its pending notifications are skipped.
#[utoipa::path(delete, path = "/v1/notify/endpoints/{id}", tag = "notifications",
    params(("id" = String, Path, description = "The endpoint's id (`ep_...`)")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn delete_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, Problem> {
    caller.require(Scope::Admin, &state)?;
    let (id, public) = path_id(&state, path, IdKind::Endpoint, "endpoint")?;
    let cmd = NotifyCommand::DeleteEndpoint {
        tenant: caller.tenant.clone(),
        id,
    };
    match command(&state, cmd).await? {
        NotifyReply::Deleted(true) => Ok(StatusCode::NO_CONTENT),
        _ => Err(Problem::not_found(format!("no endpoint {public:?}"))),
    }
}

/// Sends a test notification to an endpoint now (an order named `TEST-...`, status
/// `shipped`); its delivery shows at `GET /v1/notify/notifications/{id}`.
#[utoipa::path(post, path = "/v1/notify/endpoints/{id}/test", tag = "notifications",
    params(("id" = String, Path, description = "The endpoint's id (`ep_...`)")),
    responses(
        (status = 202, body = NotificationDto),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn test_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, Problem> {
    caller.require(Scope::Admin, &state)?;
    let (id, public) = path_id(&state, path, IdKind::Endpoint, "endpoint")?;
    let tenant = caller.tenant.clone();
    let Some(endpoint) = read(&state, move |r| r.endpoint(&tenant, id)).await? else {
        return Err(Problem::not_found(format!("no endpoint {public:?}")));
    };
    let row = body::test_row(&endpoint, state.clock.now());
    let NotifyReply::Inserted(ids) = command(&state, NotifyCommand::Insert(vec![row])).await?
    else {
        return Err(Problem::internal("the engine answered another command"));
    };
    let Some(&nid) = ids.first() else {
        return Err(Problem::internal("the test notification was not stored"));
    };
    let dto = notification(&state, &caller, nid).await?;
    Ok((StatusCode::ACCEPTED, Json(dto)).into_response())
}

async fn notification(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<NotificationDto, Problem> {
    let tenant = caller.tenant.clone();
    let log = read(state, move |r| r.delivery_entry(&tenant, id)).await?;
    log.as_ref()
        .map(|e| NotificationDto::new(&state.public_ids, e))
        .ok_or_else(|| {
            Problem::not_found(format!(
                "no notification {:?}",
                state.public_ids.encode(IdKind::Notification, id)
            ))
        })
}

/// The caller's subscriptions.
#[utoipa::path(get, path = "/v1/notify/subscriptions", tag = "notifications",
    responses(
        (status = 200, body = SubscriptionPage),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list_subscriptions(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<SubscriptionPage>, Problem> {
    caller.require(Scope::Read, &state)?;
    let tenant = caller.tenant.clone();
    let rows = read(&state, move |r| r.subscriptions(&tenant)).await?;
    Ok(Json(SubscriptionPage {
        subscriptions: rows
            .iter()
            .map(|r| SubscriptionDto::from_row(&state.public_ids, r))
            .collect(),
    }))
}

/// Subscribes an endpoint to transitions (`on`), optionally only for some sales channels,
/// carriers or order tags.
#[utoipa::path(post, path = "/v1/notify/subscriptions", tag = "notifications",
    request_body = SubscriptionRequest,
    responses(
        (status = 201, body = SubscriptionDto),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create_subscription(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    caller.require(Scope::Admin, &state)?;
    let row = subscription_row(&state, &caller, 0, body).await?;
    let NotifyReply::Subscription(row) =
        command(&state, NotifyCommand::PutSubscription(row)).await?
    else {
        return Err(Problem::internal("the engine answered another command"));
    };
    Ok((
        StatusCode::CREATED,
        Json(SubscriptionDto::from_row(&state.public_ids, &row)),
    )
        .into_response())
}

/// Deletes a subscription.
#[utoipa::path(delete, path = "/v1/notify/subscriptions/{id}", tag = "notifications",
    params(("id" = String, Path, description = "The subscription's id (`sub_...`)")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn delete_subscription(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, Problem> {
    caller.require(Scope::Admin, &state)?;
    let (id, public) = path_id(&state, path, IdKind::Subscription, "subscription")?;
    let cmd = NotifyCommand::DeleteSubscription {
        tenant: caller.tenant.clone(),
        id,
    };
    match command(&state, cmd).await? {
        NotifyReply::Deleted(true) => Ok(StatusCode::NO_CONTENT),
        _ => Err(Problem::not_found(format!("no subscription {public:?}"))),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Resume after this key (a customer id, or a notification id).
    pub after: Option<String>,
    /// At most this many (1 to 500, default 100).
    pub limit: Option<u32>,
}

fn page_limit(p: &PageParams) -> Result<usize, Problem> {
    match p.limit {
        None => Ok(100),
        Some(n @ 1..=500) => Ok(n as usize),
        Some(n) => Err(Problem::bad_request(
            "invalid-query",
            format!("limit: {n} is not between 1 and 500"),
        )),
    }
}

/// Customers' contact details and opt-outs, by customer id.
#[utoipa::path(get, path = "/v1/notify/contacts", tag = "notifications",
    params(PageParams),
    responses(
        (status = 200, body = ContactPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list_contacts(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<PageParams>, QueryRejection>,
) -> Result<Json<ContactPage>, Problem> {
    caller.require(Scope::Read, &state)?;
    let Query(p) = query.map_err(|e| Problem::bad_request("invalid-query", e.body_text()))?;
    let limit = page_limit(&p)?;
    let tenant = caller.tenant.clone();
    let after = p.after.clone();
    let rows = read(&state, move |r| {
        r.contacts(&tenant, after.as_deref(), limit + 1)
    })
    .await?;
    let more = rows.len() > limit;
    let contacts: Vec<ContactDto> = rows.iter().take(limit).map(ContactDto::from).collect();
    Ok(Json(ContactPage {
        next_after: more
            .then(|| contacts.last().map(|c| c.customer_id.clone()))
            .flatten(),
        contacts,
    }))
}

/// One customer's contact details.
#[utoipa::path(get, path = "/v1/notify/contacts/{customer_id}", tag = "notifications",
    params(("customer_id" = String, Path, description = "The customer id orders carry")),
    responses(
        (status = 200, body = ContactDto),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get_contact(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<ContactDto>, Problem> {
    caller.require(Scope::Read, &state)?;
    let Path(id) = path.map_err(|e| Problem::bad_request("invalid-path", e.body_text()))?;
    let tenant = caller.tenant.clone();
    let key = id.clone();
    let row = read(&state, move |r| r.contact_of(&tenant, &key)).await?;
    row.map(|r| Json(ContactDto::from(&r)))
        .ok_or_else(|| Problem::not_found(format!("no contact {id:?}")))
}

/// Sets a customer's contact details and opt-outs (the whole record). An opted-out channel
/// is never used for that customer, including notifications already queued.
#[utoipa::path(put, path = "/v1/notify/contacts/{customer_id}", tag = "notifications",
    params(("customer_id" = String, Path, description = "The customer id orders carry")),
    request_body = ContactRequest,
    responses(
        (status = 200, body = ContactDto),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn put_contact(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ContactDto>, Problem> {
    caller.require(Scope::Admin, &state)?;
    let Path(id) = path.map_err(|e| Problem::bad_request("invalid-path", e.body_text()))?;
    let row = contact_row(&state, &caller, &id, body)?;
    let NotifyReply::Contact(row) = command(&state, NotifyCommand::PutContact(row)).await? else {
        return Err(Problem::internal("the engine answered another command"));
    };
    Ok(Json(ContactDto::from(&row)))
}

/// Every notification of an order with every attempt: response codes, latencies, errors.
#[utoipa::path(get, path = "/v1/orders/{order_id}/notifications", tag = "notifications",
    params(("order_id" = String, Path, description = "The order")),
    responses(
        (status = 200, body = NotificationPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn order_notifications(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<NotificationPage>, Problem> {
    caller.require(Scope::Read, &state)?;
    let Path(order) = path.map_err(|e| Problem::bad_request("invalid-path", e.body_text()))?;
    let tenant = caller.tenant.clone();
    let log = read(&state, move |r| r.delivery_log(&tenant, &order)).await?;
    Ok(Json(NotificationPage {
        notifications: log
            .iter()
            .map(|e| NotificationDto::new(&state.public_ids, e))
            .collect(),
        next_after: None,
    }))
}

/// One notification with its attempts.
#[utoipa::path(get, path = "/v1/notify/notifications/{id}", tag = "notifications",
    params(("id" = String, Path, description = "The notification's id (`ntf_...`)")),
    responses(
        (status = 200, body = NotificationDto),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get_notification(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<NotificationDto>, Problem> {
    caller.require(Scope::Read, &state)?;
    let (id, _) = path_id(&state, path, IdKind::Notification, "notification")?;
    Ok(Json(notification(&state, &caller, id).await?))
}

/// Notifications given up on after the last retry (or refused outright), with their attempt
/// logs, oldest first.
#[utoipa::path(get, path = "/v1/notify/dead-letters", tag = "notifications",
    params(PageParams),
    responses(
        (status = 200, body = NotificationPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list_dead(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<PageParams>, QueryRejection>,
) -> Result<Json<NotificationPage>, Problem> {
    caller.require(Scope::Read, &state)?;
    let Query(p) = query.map_err(|e| Problem::bad_request("invalid-query", e.body_text()))?;
    let limit = page_limit(&p)?;
    let after = match p.after.as_deref() {
        None => 0,
        Some(a) => state
            .public_ids
            .decode(IdKind::Notification, a)
            .ok_or_else(|| {
                Problem::bad_request(
                    "invalid-query",
                    format!("after: {a:?} is not a notification id (ntf_...) of a previous page"),
                )
            })?,
    };
    let tenant = caller.tenant.clone();
    let log = read(&state, move |r| r.outbox_dead(&tenant, after, limit + 1)).await?;
    let more = log.len() > limit;
    let notifications: Vec<NotificationDto> = log
        .iter()
        .take(limit)
        .map(|e| NotificationDto::new(&state.public_ids, e))
        .collect();
    Ok(Json(NotificationPage {
        next_after: more
            .then(|| notifications.last().map(|n| n.id.clone()))
            .flatten(),
        notifications,
    }))
}

/// Sends a dead (or skipped) notification again, with the same idempotency key, its attempts
/// kept in the log.
#[utoipa::path(post, path = "/v1/notify/notifications/{id}/replay", tag = "notifications",
    params(("id" = String, Path, description = "The notification's id (`ntf_...`)")),
    responses(
        (status = 202, body = NotificationDto),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not dead: pending or sent", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn replay(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, Problem> {
    caller.require(Scope::Admin, &state)?;
    let (id, public) = path_id(&state, path, IdKind::Notification, "notification")?;
    let cmd = NotifyCommand::Replay {
        tenant: caller.tenant.clone(),
        id,
    };
    match command(&state, cmd).await? {
        NotifyReply::Replayed(Some(_)) => {
            let dto = notification(&state, &caller, id).await?;
            Ok((StatusCode::ACCEPTED, Json(dto)).into_response())
        }
        _ => {
            let dto = notification(&state, &caller, id).await?;
            Err(Problem::new(
                StatusCode::CONFLICT,
                "not-dead",
                "Not a dead letter",
                format!("notification {public} is {}, not dead", dto.state),
            ))
        }
    }
}
