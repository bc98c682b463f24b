//! Dashboard login: `POST /v1/session` checks a user's password and sets the session cookie,
//! `GET /v1/session` tells the page who is logged in (and its CSRF token, after a reload),
//! `DELETE /v1/session` logs out.
//!
//! A failed login says the same thing whichever of tenant, email and password was wrong, and
//! takes as long: an unknown user costs a dummy verification. Attempts go through the login
//! throttle (`auth::login`): reserved before the password is checked, so a burst of concurrent
//! guesses gets no more than the account's budget; refused with 429 and `Retry-After`. A
//! successful login also sets the `waypost_device` cookie that lets this browser keep logging
//! in to the account while strangers have used its budget up.

use super::alerts::body::{BodyFields, invalid_field};
use crate::AppState;
use crate::auth::device;
use crate::auth::login::Verdict;
use crate::auth::password::MAX_PASSWORD_BYTES;
use crate::auth::session::{self as sess, Sessions};
use crate::client_addr::ClientAddr;
use crate::problem::Problem;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::time::{Duration, Instant};
use utoipa::ToSchema;
use waypost_domain::TenantId;
use waypost_engine::Rejection;
use waypost_store::{NewSession, SessionRecord, UserRecord, normalize_email};

/// Longest email address (RFC 5321's path limit).
const MAX_EMAIL: usize = 254;
/// The one answer to every wrong login.
const WRONG_LOGIN: &str = "wrong tenant, email or password";

/// A login.
// Documents the body for OpenAPI; the handler reads it field by field.
#[allow(dead_code)]
#[derive(Debug, ToSchema)]
pub struct LoginRequest {
    #[schema(example = "demo")]
    pub tenant: String,
    #[schema(example = "ops@demo.example")]
    pub email: String,
    pub password: String,
}

/// Who is logged in.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionUser {
    pub email: String,
    /// `viewer` (reads) or `operator` (reads and acts on alerts).
    pub role: String,
    pub tenant: String,
}

/// A live session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionInfo {
    pub user: SessionUser,
    /// Send it back as `X-CSRF-Token` on every request other than GET, HEAD and OPTIONS.
    pub csrf_token: String,
}

impl From<&SessionRecord> for SessionInfo {
    fn from(s: &SessionRecord) -> Self {
        SessionInfo {
            user: SessionUser {
                email: s.email.clone(),
                role: s.role.as_str().to_owned(),
                tenant: s.tenant.to_string(),
            },
            csrf_token: s.csrf_token.clone(),
        }
    }
}

/// Logs in: checks the password and sets the `waypost_session` cookie (HttpOnly,
/// SameSite=Strict; Secure over TLS) and the `waypost_device` cookie of a known device.
#[utoipa::path(post, path = "/v1/session", tag = "session",
    request_body = LoginRequest,
    responses(
        (status = 200, body = SessionInfo, description = "Logged in; the cookie is set",
            headers(("Set-Cookie" = String, description = "waypost_session=...; HttpOnly; SameSite=Strict; Path=/; Max-Age=... and waypost_device=...; HttpOnly; SameSite=Strict; Path=/v1/session; Max-Age=..."))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong tenant, email or password (one answer for all three)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as application/json (only charset=utf-8 may come with it)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing or malformed", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many login attempts for this account, device or address; see Retry-After. No password was checked", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_session(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    // Login CSRF: another site's form can post a text/plain body that reads as this JSON
    // (`{"tenant":..,"password":"x` `=` `y"}`) and log the visitor in to the attacker's
    // account. A form cannot declare application/json, and a script of another origin
    // cannot without a CORS preflight this server never grants; so the type must be exactly
    // that (a parameter such as `text/plain; x=+json` keeps a type preflight-free).
    super::strict_json_body_type(&state, &headers)?;
    let mut f = BodyFields::read(body, &["tenant", "email", "password"])?;
    let tenant = f.required_text("tenant", 64)?;
    let tenant = TenantId::new(tenant).map_err(|e| invalid_field("tenant", e.to_string()))?;
    let email = normalize_email(&f.required_text("email", MAX_EMAIL)?);
    let password = match f.take("password") {
        Some(serde_json::Value::String(p)) if p.is_empty() => {
            return Err(invalid_field("password", "must not be empty".into()));
        }
        Some(serde_json::Value::String(p)) if p.len() > MAX_PASSWORD_BYTES => {
            return Err(invalid_field(
                "password",
                format!("longer than {MAX_PASSWORD_BYTES} bytes"),
            ));
        }
        Some(serde_json::Value::String(p)) => p,
        None | Some(serde_json::Value::Null) => {
            return Err(invalid_field("password", "required".into()));
        }
        Some(other) => {
            return Err(invalid_field(
                "password",
                format!(
                    "must be a string, not {}",
                    waypost_domain::json_kind(&other)
                ),
            ));
        }
    };
    let sessions = state.sessions.clone();
    let account = (tenant.clone(), email.clone());
    let address = client.ip().map(sess::address_key);
    // A device cookie counts only for the account it was issued to.
    let device_id =
        device::cookie_value(&headers).and_then(|v| sessions.device_key.verify(v, &tenant, &email));
    let known_device = device_id.is_some();
    let throttled = |wait: Duration| {
        state.metrics.login_throttled.inc();
        tracing::warn!(tenant = %tenant, email = %email, ip = ?address, known_device, "login refused: too many attempts");
        too_many(wait)
    };
    let attempt = sessions
        .begin_login(&account, device_id, address, Instant::now())
        .map_err(throttled)?;

    let permit = sessions
        .verifications
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| Problem::internal(format!("login permits: {e}")))?;
    let (store, metrics) = (sessions.store.clone(), state.metrics.clone());
    // The attempt goes with the blocking task: a client that hangs up does not settle it
    // before its password has been checked.
    let verdict = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        attempt.check(store.as_ref(), &metrics, &account, &password)
    })
    .await
    .map_err(|e| Problem::internal(format!("login task failed: {e}")))?
    .map_err(|e| {
        tracing::error!(error = %e, "login lookup failed");
        Problem::internal(format!("the store could not answer: {e}"))
    })?;

    let user = match verdict {
        Verdict::LoggedIn(user) => user,
        Verdict::Throttled(wait) => return Err(throttled(wait)),
        Verdict::Wrong => {
            state.metrics.reject(Rejection::Unauthorized, 1);
            tracing::info!(tenant = %tenant, email = %email, ip = ?address, known_device, "login failed");
            return Err(Problem::unauthorized(WRONG_LOGIN));
        }
    };
    let (token, record) = open_session(&sessions, user).await?;
    tracing::info!(tenant = %record.tenant, email = %record.email, known_device, "logged in");
    let mut resp = Json(SessionInfo::from(&record)).into_response();
    if let Some(cookie) = sessions.set_cookie(&token) {
        resp.headers_mut().append(header::SET_COOKIE, cookie);
    }
    // A known device keeps its cookie (its lifetime starts again); a new one gets its own.
    let device_value = match device::cookie_value(&headers).filter(|_| known_device) {
        Some(v) => Some(v.to_owned()),
        None => sessions
            .device_key
            .issue(&tenant, &email)
            .map(|(_, value)| value),
    };
    if let Some(cookie) = device_value.and_then(|v| sessions.device_cookie(&v)) {
        resp.headers_mut().append(header::SET_COOKIE, cookie);
    }
    no_store(&mut resp);
    Ok(resp)
}

/// Stores a new session for `user`; returns the cookie's value and the session.
async fn open_session(
    sessions: &Sessions,
    user: UserRecord,
) -> Result<(String, SessionRecord), Problem> {
    let token = sess::new_token();
    let created_at = sessions.now();
    let lifetime = jiff::SignedDuration::try_from(sessions.lifetime())
        .map_err(|e| Problem::internal(format!("session lifetime: {e}")))?;
    let expires_at = created_at
        .checked_add(lifetime)
        .map_err(|e| Problem::internal(format!("session expiry: {e}")))?;
    let new = NewSession {
        token_hash: sess::token_hash(&token),
        user_id: user.id,
        tenant: user.tenant.clone(),
        csrf_token: sess::new_token(),
        created_at,
        expires_at,
    };
    let record = SessionRecord {
        user_id: user.id,
        tenant: user.tenant,
        email: user.email,
        role: user.role,
        csrf_token: new.csrf_token.clone(),
        expires_at,
    };
    let store = sessions.store.clone();
    tokio::task::spawn_blocking(move || store.create_session(&new))
        .await
        .map_err(|e| Problem::internal(format!("session task failed: {e}")))?
        .map_err(|e| {
            tracing::error!(error = %e, "storing a session failed");
            Problem::internal(format!("the session could not be stored: {e}"))
        })?;
    Ok((token, record))
}

fn too_many(wait: Duration) -> Problem {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too-many-logins",
        "Too many login attempts",
        format!(
            "too many login attempts for this account or from this address, so the password was not checked; \
             try again in {secs} s, or from a browser that has logged in to this account before"
        ),
    )
    .retry_after(secs)
}

fn no_store(resp: &mut Response) {
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// The session the request's cookie names, or 401.
async fn current(state: &AppState, headers: &HeaderMap) -> Result<SessionRecord, Problem> {
    let found = match sess::cookie_value(headers) {
        Some(token) => state.sessions.lookup(token).await?,
        None => None,
    };
    found.ok_or_else(|| {
        state.metrics.reject(Rejection::Unauthorized, 1);
        Problem::unauthorized("not logged in, or the session has ended")
    })
}

/// Who is logged in, with the session's CSRF token.
#[utoipa::path(get, path = "/v1/session", tag = "session",
    responses(
        (status = 200, body = SessionInfo),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = [])))]
pub async fn get_session(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let s = current(&state, &headers).await?;
    let mut resp = Json(SessionInfo::from(&s)).into_response();
    no_store(&mut resp);
    Ok(resp)
}

/// Logs out: the session is deleted and the cookie cleared.
#[utoipa::path(delete, path = "/v1/session", tag = "session",
    params(("X-CSRF-Token" = String, Header, description = "The session's CSRF token")),
    responses(
        (status = 204, description = "Logged out",
            headers(("Set-Cookie" = String, description = "waypost_session=; ...; Max-Age=0"))),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "CSRF token missing or wrong", body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = [])))]
pub async fn delete_session(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let s = current(&state, &headers).await?;
    sess::check_csrf(&headers, &s).inspect_err(|_| {
        state.metrics.reject(Rejection::Forbidden, 1);
    })?;
    let hash = sess::cookie_value(&headers)
        .map(sess::token_hash)
        .ok_or_else(|| Problem::unauthorized("not logged in"))?;
    let store = state.sessions.store.clone();
    tokio::task::spawn_blocking(move || store.delete_session(&hash))
        .await
        .map_err(|e| Problem::internal(format!("logout task failed: {e}")))?
        .map_err(|e| Problem::internal(format!("the session could not be deleted: {e}")))?;
    tracing::info!(tenant = %s.tenant, email = %s.email, "logged out");
    let mut resp = StatusCode::NO_CONTENT.into_response();
    if let Some(cookie) = state.sessions.clear_cookie() {
        resp.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    no_store(&mut resp);
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use crate::ApiDoc;
    use utoipa::OpenApi;

    #[test]
    fn the_session_routes_and_cookie_scheme_are_documented() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
        let path = &doc["paths"]["/v1/session"];
        for method in ["post", "get", "delete"] {
            assert!(path[method].is_object(), "{method} /v1/session missing");
        }
        assert!(path["post"]["responses"]["429"].is_object());
        let scheme = &doc["components"]["securitySchemes"]["session"];
        assert_eq!(scheme["in"], "cookie", "{scheme}");
        assert_eq!(scheme["name"], "waypost_session");
    }
}
