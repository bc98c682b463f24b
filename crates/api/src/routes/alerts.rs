//! Alerts for people: the review queue (`GET /v1/alerts`), one alert with its audit trail, and
//! the lifecycle commands (ack, assign, snooze, resolve).
//!
//! Reads go to the store; commands go through the intake to the engine's writer thread, the one
//! place alerts change, so a command and the detector never race on the same alert. The
//! lifecycle's rules (what may follow what) live in `waypost_rules::AlertState`; this module
//! only maps its refusals to HTTP: an unknown alert 404, a transition its status does not allow
//! 409, an invalid body 422 naming the field.

pub(crate) mod body;
mod query;

use super::read;
use crate::AppState;
use crate::auth::Caller;
use crate::dto::{
    AckRequest, AlertChange, AlertCommandAnswer, AlertDetail, AlertDto, AlertPage, AssignRequest,
    AuditItem, ResolveRequest, SnoozeRequest,
};
use crate::problem::Problem;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use body::{BodyFields, invalid_field};
use jiff::Timestamp;
use query::{AlertListParams, list_query};
use waypost_engine::detector::AlertCommandError;
use waypost_rules::{Command, TransitionError, parse_duration};
use waypost_store::Scope;

/// The review queue of the caller's tenant: alerts filtered and sorted, a page at a time.
#[utoipa::path(get, path = "/v1/alerts", tag = "alerts",
    params(AlertListParams),
    responses(
        (status = 200, body = AlertPage),
        (status = 400, description = "A bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the read scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list_alerts(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<AlertPage>, Problem> {
    caller.require(Scope::Read, &state)?;
    let Query(pairs) = query.map_err(|e| Problem::bad_request("invalid-query", e.body_text()))?;
    let q = list_query(&pairs, state.clock.now())?;
    let (limit, offset) = (q.limit - 1, q.offset);
    let tenant = caller.tenant.clone();
    let mut rows = read(&state, move |r| r.alerts(&tenant, &q)).await?;
    // One row more than the page was asked for: whether another page exists.
    let more = rows.len() > limit;
    rows.truncate(limit);
    Ok(Json(AlertPage {
        alerts: rows.iter().map(AlertDto::from).collect(),
        next_offset: more.then(|| (offset + limit) as u64),
    }))
}

/// The public id in the path. The store answers only ids of the caller's tenant, and nothing
/// for anything else (an internal integer id included).
fn public_id(path: Result<Path<String>, PathRejection>) -> Result<String, Problem> {
    let Path(raw) = path.map_err(|e| Problem::bad_request("invalid-path", e.body_text()))?;
    Ok(raw)
}

fn no_alert(public_id: &str) -> Problem {
    // Debug-quoted: the path is the caller's input and may hold anything.
    Problem::not_found(format!(
        "no alert {public_id:?} for this tenant; alert ids are the 32 hex digits GET /v1/alerts lists"
    ))
}

/// The internal id of the caller's alert `public_id`, which commands to the engine name.
async fn internal_id(state: &AppState, caller: &Caller, public_id: &str) -> Result<i64, Problem> {
    let tenant = caller.tenant.clone();
    let p = public_id.to_owned();
    read(state, move |r| r.alert_by_public_id(&tenant, &p))
        .await?
        .map(|a| a.id)
        .ok_or_else(|| no_alert(public_id))
}

/// One alert of the caller's tenant with its audit trail.
#[utoipa::path(get, path = "/v1/alerts/{id}", tag = "alerts",
    params(("id" = String, Path, description = "The alert's id (32 hex digits)")),
    responses(
        (status = 200, body = AlertDetail),
        (status = 400, description = "The id is not valid UTF-8", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the read scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such alert for this tenant", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get_alert(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<AlertDetail>, Problem> {
    caller.require(Scope::Read, &state)?;
    let id = public_id(path)?;
    let tenant = caller.tenant.clone();
    let p = id.clone();
    let (alert, audit) = read(&state, move |r| {
        let Some(a) = r.alert_by_public_id(&tenant, &p)? else {
            return Ok((None, Vec::new()));
        };
        let audit = r.alert_audit(&tenant, a.id)?;
        Ok((Some(a), audit))
    })
    .await?;
    let alert = alert.ok_or_else(|| no_alert(&id))?;
    Ok(Json(AlertDetail {
        alert: AlertDto::from(&alert),
        audit: audit.iter().map(AuditItem::from).collect(),
    }))
}

/// Acknowledge: a person has seen it and is on it. Ends a snooze.
#[utoipa::path(post, path = "/v1/alerts/{id}/ack", tag = "alerts",
    params(("id" = String, Path, description = "The alert's id (32 hex digits)")),
    request_body(content = Option<AckRequest>, content_type = "application/json", description = "Optional: an empty body is `{}`"),
    responses(
        (status = 200, description = "The alert as changed: the whole alert for a caller with the read scope, only its new state for one with operate alone", body = AlertCommandAnswer),
        (status = 400, description = "Malformed JSON, or an id that is not valid UTF-8", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the operate scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such alert for this tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already acknowledged, or resolved; the detail names the alert's status", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An invalid field, named in `errors`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Shutting down", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn ack_alert(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<AlertCommandAnswer>, Problem> {
    caller.require(Scope::Operate, &state)?;
    let id = public_id(path)?;
    let mut f = BodyFields::read(body, &["actor"])?;
    let actor = f.actor(&caller)?;
    run(&state, &caller, id, Command::Ack, actor).await
}

/// Assign to a person or a team (again, to hand it over).
#[utoipa::path(post, path = "/v1/alerts/{id}/assign", tag = "alerts",
    params(("id" = String, Path, description = "The alert's id (32 hex digits)")),
    request_body(content = AssignRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The alert as changed: the whole alert for a caller with the read scope, only its new state for one with operate alone", body = AlertCommandAnswer),
        (status = 400, description = "Malformed JSON, or an id that is not valid UTF-8", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the operate scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such alert for this tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Resolved; the detail names the alert's status", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An invalid field, named in `errors`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Shutting down", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn assign_alert(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<AlertCommandAnswer>, Problem> {
    caller.require(Scope::Operate, &state)?;
    let id = public_id(path)?;
    let mut f = BodyFields::read(body, &["to", "actor"])?;
    let to = f.required_text("to", body::MAX_NAME)?;
    let actor = f.actor(&caller)?;
    run(&state, &caller, id, Command::Assign { to }, actor).await
}

/// Snooze until an instant (`until`) or for a while (`for`). A snoozed alert stays in the
/// default listing, marked; see docs/rules.md for what happens when the snooze ends.
#[utoipa::path(post, path = "/v1/alerts/{id}/snooze", tag = "alerts",
    params(("id" = String, Path, description = "The alert's id (32 hex digits)")),
    request_body(content = SnoozeRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The alert as changed: the whole alert for a caller with the read scope, only its new state for one with operate alone", body = AlertCommandAnswer),
        (status = 400, description = "Malformed JSON, or an id that is not valid UTF-8", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the operate scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such alert for this tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Resolved; the detail names the alert's status", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An invalid field, named in `errors` (an instant not in the future, a bad duration, both or neither of until and for)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Shutting down", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn snooze_alert(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<AlertCommandAnswer>, Problem> {
    caller.require(Scope::Operate, &state)?;
    let id = public_id(path)?;
    let mut f = BodyFields::read(body, &["until", "for", "actor"])?;
    let until = f.optional_text("until", 64)?;
    let span = f.optional_text("for", 64)?;
    let actor = f.actor(&caller)?;
    let until = snooze_until(until, span, state.clock.now())?;
    run(&state, &caller, id, Command::Snooze { until }, actor).await
}

/// The instant a snooze ends, from exactly one of `until` and `for`.
fn snooze_until(
    until: Option<String>,
    span: Option<String>,
    now: Timestamp,
) -> Result<Timestamp, Problem> {
    match (until, span) {
        (Some(u), None) => u
            .parse::<Timestamp>()
            .map_err(|e| invalid_field("until", format!("{u:?} is not an RFC 3339 instant: {e}"))),
        (None, Some(s)) => {
            let d = parse_duration(&s).map_err(|e| invalid_field("for", e.to_string()))?;
            if d.is_zero() {
                return Err(invalid_field("for", "must be longer than 0s".into()));
            }
            // Whole seconds: "for 2h" reads better as 14:00:00 than 14:00:00.322179767, and
            // dropping under a second of a span of at least one keeps it in the future.
            now.checked_add(d)
                .and_then(|t| Timestamp::from_second(t.as_second()))
                .map_err(|_| invalid_field("for", format!("{s:?} is too long")))
        }
        (Some(_), Some(_)) => Err(invalid_field(
            "for",
            "give either until or for, not both".into(),
        )),
        (None, None) => Err(invalid_field(
            "until",
            "give until (an instant) or for (a duration)".into(),
        )),
    }
}

/// Resolve with a note saying what was done. Final: if the rule fires again, a new alert opens.
#[utoipa::path(post, path = "/v1/alerts/{id}/resolve", tag = "alerts",
    params(("id" = String, Path, description = "The alert's id (32 hex digits)")),
    request_body(content = ResolveRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The alert as changed: the whole alert for a caller with the read scope, only its new state for one with operate alone", body = AlertCommandAnswer),
        (status = 400, description = "Malformed JSON, or an id that is not valid UTF-8", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the operate scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such alert for this tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already resolved", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An invalid field, named in `errors`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Shutting down", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn resolve_alert(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<AlertCommandAnswer>, Problem> {
    caller.require(Scope::Operate, &state)?;
    let id = public_id(path)?;
    let mut f = BodyFields::read(body, &["note", "actor"])?;
    let note = f.required_text("note", body::MAX_NOTE)?;
    let actor = f.actor(&caller)?;
    run(&state, &caller, id, Command::Resolve { note }, actor).await
}

/// Hands the command to the engine's writer and maps its refusal to a problem. A caller that
/// may read alerts gets the alert back whole; one that may only act on them, its new state.
async fn run(
    state: &AppState,
    caller: &Caller,
    public: String,
    cmd: Command,
    actor: String,
) -> Result<Json<AlertCommandAnswer>, Problem> {
    let name = cmd.name();
    let id = internal_id(state, caller, &public).await?;
    match state
        .engine
        .alert_command(caller.tenant.clone(), id, cmd, actor.clone())
        .await
    {
        Ok(row) => {
            tracing::info!(tenant = %caller.tenant, alert = %public, command = name, %actor, "alert changed");
            Ok(Json(if caller.has(Scope::Read) {
                AlertCommandAnswer::Full(Box::new(AlertDto::from(&row)))
            } else {
                AlertCommandAnswer::Change(AlertChange::from(&row))
            }))
        }
        Err(e) => Err(command_problem(e, &public)),
    }
}

/// The engine names the alert by its internal id; the answer names it by the public one.
fn command_problem(e: AlertCommandError, public: &str) -> Problem {
    let id = public;
    match e {
        AlertCommandError::NotFound { .. } => no_alert(public),
        AlertCommandError::Transition { source, .. } => match source {
            TransitionError::NotAllowed { command, status } => Problem::new(
                StatusCode::CONFLICT,
                "alert-transition",
                "Not allowed in the alert's status",
                format!("alert {id} is {status}: cannot {command} it"),
            ),
            TransitionError::StillSnoozed { until, .. } => Problem::new(
                StatusCode::CONFLICT,
                "alert-transition",
                "Not allowed in the alert's status",
                format!("alert {id} is snoozed until {until}"),
            ),
            TransitionError::Empty { what, .. } => {
                let field = if what == "assignee" { "to" } else { what };
                invalid_field(field, "must not be empty".into())
            }
            // The engine's clock moved past the instant between the request and the command.
            TransitionError::SnoozeNotInFuture { until, now } => {
                invalid_field("until", format!("{until} is not after now ({now})"))
            }
        },
        AlertCommandError::Store {
            id: internal,
            source,
        } => {
            tracing::error!(alert = id, internal, error = %source, "alert command failed in the store");
            Problem::internal(format!("the store could not change alert {id}"))
        }
        AlertCommandError::ShuttingDown => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting-down",
            "Shutting down",
            "the engine is shutting down; retry on another instance or after the restart",
        )
        .retry_after(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snooze_needs_exactly_one_future_bound() {
        let now: Timestamp = "2026-11-27T12:00:00Z".parse().unwrap();
        let s = |v: &str| Some(v.to_string());
        assert_eq!(
            snooze_until(None, s("2h"), now).unwrap(),
            "2026-11-27T14:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(
            snooze_until(s("2026-11-28T09:00:00+01:00"), None, now).unwrap(),
            "2026-11-28T08:00:00Z".parse::<Timestamp>().unwrap()
        );
        for (until, span, field) in [
            (None, s("0s"), "for"),
            (None, s("later"), "for"),
            (s("tomorrow"), None, "until"),
            (s("2026-11-28T09:00:00Z"), s("2h"), "for"),
            (None, None, "until"),
        ] {
            let p = snooze_until(until, span, now).unwrap_err();
            assert_eq!(p.status, 422);
            assert_eq!(p.errors[0].field, field, "{}", p.detail);
        }
    }

    #[test]
    fn refusals_map_to_their_statuses() {
        use waypost_rules::AlertStatus;
        let public = "0123456789abcdef0123456789abcdef";
        let p = command_problem(
            AlertCommandError::Transition {
                id: 7,
                source: TransitionError::NotAllowed {
                    command: "ack",
                    status: AlertStatus::Resolved,
                },
            },
            public,
        );
        assert_eq!(p.status, 409);
        assert!(p.detail.contains("resolved"), "{}", p.detail);
        // Named by the public id, never the internal one.
        assert!(
            p.detail.contains(public) && !p.detail.contains("alert 7"),
            "{}",
            p.detail
        );
        let p = command_problem(AlertCommandError::NotFound { id: 7 }, public);
        assert_eq!(p.status, 404);
        assert!(p.detail.contains(public), "{}", p.detail);
        assert_eq!(
            command_problem(AlertCommandError::ShuttingDown, public).status,
            503
        );
    }
}
