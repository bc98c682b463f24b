//! The intake queue: `explain` for one order, held orders by impact, a person's release,
//! rejection or fix, bulk re-validation, and the gates' counts with false positives.

use super::desk;
use crate::AppState;
use crate::auth::Caller;
use crate::dto::orders::{
    DecisionDto, FindingDto, FixRequest, GateCountDto, GateReport, IntakeAuditDto, IntakeExplain,
    OrderResult, QueueItem, QueuePage, RejectRequest, ReleaseRequest, RevalidateReport, VersionDto,
    queue_item,
};
use crate::problem::Problem;
use crate::routes::alerts::body::{command_body, invalid_field};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use waypost_order_intake::queue::{Action, decision_of, shadow_of};
use waypost_orders::gates::{self, Decision};
use waypost_orders::{Channel, Order};
use waypost_store::{IntakeRow, IntakeStatus, QueueQuery, Scope, StoreError};

fn path_id(path: Result<Path<String>, PathRejection>) -> Result<String, Problem> {
    let Path(id) = path.map_err(|e| Problem::bad_request("invalid-path", e.body_text()))?;
    Ok(id)
}

/// Runs an order-book read on the blocking pool.
async fn book<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&dyn waypost_store::OrderBookReads) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, Problem> {
    let reads = desk(state)?.reads().clone();
    tokio::task::spawn_blocking(move || f(reads.as_ref()))
        .await
        .map_err(|e| Problem::internal(format!("read task failed: {e}")))?
        .map_err(|e| Problem::internal(format!("the order book could not answer: {e}")))
}

fn finding(f: &gates::Finding) -> FindingDto {
    FindingDto {
        check: f.check.as_str().to_string(),
        outcome: f.outcome.as_str().to_string(),
        layer: f.layer.to_string(),
        message: f.message.clone(),
        line: f.line.map(|l| l as u64),
    }
}

fn decision_dto(d: &Decision) -> DecisionDto {
    DecisionDto {
        profile: d.profile.clone(),
        outcome: d.outcome.as_str().to_string(),
        findings: d.findings.iter().map(finding).collect(),
    }
}

/// The queue's view of a row: the impact's parts recomputed now with the profile in force.
fn item(state: &AppState, tenant: &waypost_domain::TenantId, row: &IntakeRow) -> QueueItem {
    let decision = decision_of(row);
    let because = decision
        .as_ref()
        .map(|d| d.deciding().map(finding).collect())
        .unwrap_or_default();
    let parts = match (desk(state), serde_json::from_str::<Order>(&row.body)) {
        (Ok(d), Ok(order)) => {
            let weights = &d.settings(tenant).profiles.in_force.impact;
            gates::impact(&order, d.now(), weights).parts
        }
        _ => Vec::new(),
    };
    queue_item(row, parts, because)
}

fn no_order(order_id: &str) -> Problem {
    Problem::not_found(format!(
        "no order {order_id:?} in this tenant's order book; orders enter through POST /v1/orders or a channel"
    ))
}

/// How an order entered: every check's verdict and the layer it came from, the shadow
/// profile's would-be decision, every version and the audit trail.
#[utoipa::path(get, path = "/v1/orders/{order_id}/intake", tag = "orders",
    params(("order_id" = String, Path, description = "Waypost's order id")),
    responses(
        (status = 200, body = IntakeExplain),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the read scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not in the order book", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn explain(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<IntakeExplain>, Problem> {
    caller.require(Scope::Read, &state)?;
    let id = path_id(path)?;
    let (t, o) = (caller.tenant.clone(), id.clone());
    let (row, versions, audit) = book(&state, move |r| {
        let Some(row) = r.intake_order(&t, &o)? else {
            return Ok((None, vec![], vec![]));
        };
        Ok((
            Some(row),
            r.intake_versions(&t, &o)?,
            r.intake_audit(&t, &o)?,
        ))
    })
    .await?;
    let row = row.ok_or_else(|| no_order(&id))?;
    let decision = decision_of(&row)
        .ok_or_else(|| Problem::internal(format!("order {id}: its decision cannot be read")))?;
    let shadow = shadow_of(&row);
    Ok(Json(IntakeExplain {
        order: item(&state, &caller.tenant, &row),
        placed: serde_json::from_str(&row.body).unwrap_or(serde_json::Value::Null),
        decision: decision_dto(&decision),
        shadow_differs: shadow.as_ref().is_some_and(|(_, d)| d.is_some()),
        shadow: shadow.as_ref().map(|(s, _)| decision_dto(s)),
        versions: versions.iter().map(VersionDto::from).collect(),
        audit: audit.iter().map(IntakeAuditDto::from).collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueParams {
    /// Comma-separated statuses (default `held`): accepted, backordered, held, rejected, cancelled.
    pub status: Option<String>,
    pub channel: Option<String>,
    pub account: Option<String>,
    /// The `next` of the previous page.
    pub after: Option<String>,
    /// 1 to 500 (default 50).
    pub limit: Option<usize>,
}

/// The intake queue: held (or other) orders, highest impact first.
#[utoipa::path(get, path = "/v1/intake/queue", tag = "orders",
    params(QueueParams),
    responses(
        (status = 200, body = QueuePage),
        (status = 400, description = "A bad parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the read scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list_queue(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<QueueParams>, QueryRejection>,
) -> Result<Json<QueuePage>, Problem> {
    caller.require(Scope::Read, &state)?;
    let Query(p) = query?;
    let statuses = match p.status.as_deref() {
        None | Some("") => vec![IntakeStatus::Held],
        Some(list) => list
            .split(',')
            .map(|s| {
                IntakeStatus::parse(s.trim()).ok_or_else(|| {
                    Problem::bad_request(
                        "invalid-query",
                        format!(
                            "status {s:?}: one of accepted, backordered, held, rejected, cancelled"
                        ),
                    )
                })
            })
            .collect::<Result<_, _>>()?,
    };
    if let Some(c) = p.channel.as_deref()
        && Channel::parse(c).is_none()
    {
        return Err(Problem::bad_request(
            "invalid-query",
            format!("channel {c:?} is not an order channel"),
        ));
    }
    let limit = p.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(Problem::bad_request(
            "invalid-query",
            format!("limit {limit}: between 1 and 500"),
        ));
    }
    let after = match p.after.as_deref() {
        None | Some("") => None,
        Some(a) => Some(parse_cursor(a)?),
    };
    let q = QueueQuery {
        statuses,
        channel: p.channel.clone(),
        account: p.account.clone(),
        after,
        limit: limit + 1,
    };
    let t = caller.tenant.clone();
    let mut rows = book(&state, move |r| r.intake_queue(&t, &q)).await?;
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next = more
        .then(|| rows.last().map(|r| format!("{}|{}", r.impact, r.order_id)))
        .flatten();
    Ok(Json(QueuePage {
        orders: rows
            .iter()
            .map(|r| item(&state, &caller.tenant, r))
            .collect(),
        next,
    }))
}

fn parse_cursor(a: &str) -> Result<(f64, String), Problem> {
    let bad = || {
        Problem::bad_request(
            "invalid-query",
            format!("after {a:?}: pass the previous page's `next` as it was"),
        )
    };
    let (impact, id) = a.split_once('|').ok_or_else(bad)?;
    let impact: f64 = impact.parse().map_err(|_| bad())?;
    if !impact.is_finite() {
        return Err(bad());
    }
    Ok((impact, id.to_string()))
}

fn body_of<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
) -> Result<T, Problem> {
    let body = command_body(body)?;
    let value = crate::strict_json::value(&body)?;
    serde_json::from_value(value).map_err(|e| invalid_field("", e.to_string()))
}

/// Who acted, as the alert commands name it: the person the body names, via the credential.
fn actor(caller: &Caller, given: Option<String>) -> Result<String, Problem> {
    match given {
        Some(a) if a.trim().is_empty() || a.len() > 256 || a.contains(['\n', '\t']) => Err(
            invalid_field("actor", "one line of 1 to 256 characters".into()),
        ),
        Some(a) => Ok(format!("{a} via {}", caller.key_id)),
        None => Ok(caller.key_id.clone()),
    }
}

/// Release a held order into the flow as it is. Its holds count as false positives of the
/// checks that made them.
#[utoipa::path(post, path = "/v1/intake/queue/{order_id}/release", tag = "orders",
    params(("order_id" = String, Path, description = "Waypost's order id")),
    request_body(content = ReleaseRequest, content_type = "application/json"),
    responses(
        (status = 200, body = QueueItem),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the operate scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not in the order book", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not held, or a newer version arrived", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An invalid field", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn release(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<QueueItem>, Problem> {
    caller.require(Scope::Operate, &state)?;
    let id = path_id(path)?;
    let req: ReleaseRequest = body_of(body)?;
    let who = actor(&caller, req.actor)?;
    act(
        &state,
        &caller,
        &id,
        req.version,
        Action::Release { note: req.note },
        &who,
    )
    .await
}

/// Reject a held order, with the reason.
#[utoipa::path(post, path = "/v1/intake/queue/{order_id}/reject", tag = "orders",
    params(("order_id" = String, Path, description = "Waypost's order id")),
    request_body(content = RejectRequest, content_type = "application/json"),
    responses(
        (status = 200, body = QueueItem),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the operate scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not in the order book", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not held, or a newer version arrived", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An invalid field", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn reject(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<QueueItem>, Problem> {
    caller.require(Scope::Operate, &state)?;
    let id = path_id(path)?;
    let req: RejectRequest = body_of(body)?;
    if req.reason.trim().is_empty() || req.reason.len() > 4096 {
        return Err(invalid_field(
            "reason",
            "say why, in 1 to 4096 characters".into(),
        ));
    }
    let who = actor(&caller, req.actor)?;
    act(
        &state,
        &caller,
        &id,
        req.version,
        Action::Reject { reason: req.reason },
        &who,
    )
    .await
}

async fn act(
    state: &AppState,
    caller: &Caller,
    id: &str,
    version: i64,
    action: Action,
    who: &str,
) -> Result<Json<QueueItem>, Problem> {
    let d = desk(state)?;
    let t = caller.tenant.clone();
    let o = id.to_string();
    if book(state, move |r| r.intake_order(&t, &o))
        .await?
        .is_none()
    {
        return Err(no_order(id));
    }
    let row = d
        .act(&caller.tenant, id, version, action, who)
        .await
        .map_err(|e| match e {
            waypost_order_intake::DeskError::Invalid(m) => {
                Problem::new(StatusCode::CONFLICT, "not-held", "The order is not held", m)
            }
            other => other.into(),
        })?;
    Ok(Json(item(state, &caller.tenant, &row)))
}

/// Replace a held order with a person's correction: a new version, judged again.
#[utoipa::path(post, path = "/v1/intake/queue/{order_id}/fix", tag = "orders",
    params(("order_id" = String, Path, description = "Waypost's order id")),
    request_body(content = FixRequest, content_type = "application/json"),
    responses(
        (status = 200, body = OrderResult),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the operate scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not in the order book", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A newer version arrived", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The corrected order does not follow the order schema, or names another order", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn fix(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<OrderResult>, Problem> {
    caller.require(Scope::Operate, &state)?;
    let id = path_id(path)?;
    let req: FixRequest = body_of(body)?;
    let who = actor(&caller, req.actor)?;
    let bytes = serde_json::to_vec(&req.order).unwrap_or_default();
    let mut orders = waypost_orders::channels::generic::read(&bytes).map_err(super::unreadable)?;
    if orders.len() != 1 {
        return Err(invalid_field("order", "one order, not an array".into()));
    }
    let fixed = orders.remove(0);
    if fixed.order_id.as_deref() != Some(id.as_str()) {
        return Err(invalid_field(
            "order.order_id",
            format!("the correction must keep the order id {id:?}"),
        ));
    }
    let t = caller.tenant.clone();
    let o = id.clone();
    if book(&state, move |r| r.intake_order(&t, &o))
        .await?
        .is_none()
    {
        return Err(no_order(&id));
    }
    let r = desk(&state)?
        .fix(&caller.tenant, &id, req.version, fixed, &who)
        .await?;
    Ok(Json(OrderResult::from(r)))
}

/// Judge every held order again with the profile now in force (after a profile change).
#[utoipa::path(post, path = "/v1/intake/revalidate", tag = "orders",
    responses(
        (status = 200, body = RevalidateReport),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the operate scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn revalidate(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<RevalidateReport>, Problem> {
    caller.require(Scope::Operate, &state)?;
    let r = desk(&state)?
        .revalidate(&caller.tenant, &caller.key_id)
        .await?;
    Ok(Json(RevalidateReport {
        examined: r.examined,
        accepted: r.accepted,
        backordered: r.backordered,
        still_held: r.still_held,
        rejected: r.rejected,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GateParams {
    /// Count verdicts of versions that arrived at or after this instant (RFC 3339).
    pub since: Option<String>,
}

/// The gates' verdicts by check, channel, account, layer and outcome, with the false
/// positives of each hold; the shadow profile's would-be verdicts beside them.
#[utoipa::path(get, path = "/v1/intake/gates", tag = "orders",
    params(GateParams),
    responses(
        (status = 200, body = GateReport),
        (status = 400, description = "A bad instant", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the read scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn gate_report(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<GateParams>, QueryRejection>,
) -> Result<Json<GateReport>, Problem> {
    caller.require(Scope::Read, &state)?;
    let Query(p) = query?;
    let since = match p.since.as_deref() {
        None | Some("") => None,
        Some(s) => Some(
            s.parse::<jiff::Timestamp>()
                .map_err(|e| Problem::bad_request("invalid-query", format!("since {s:?}: {e}")))?,
        ),
    };
    let t = caller.tenant.clone();
    let counts = book(&state, move |r| r.intake_counts(&t, since)).await?;
    let (enforced, shadow): (Vec<_>, Vec<_>) = counts.iter().partition(|c| c.enforced);
    Ok(Json(GateReport {
        enforced: enforced.into_iter().map(GateCountDto::from).collect(),
        shadow: shadow.into_iter().map(GateCountDto::from).collect(),
    }))
}
