//! Dashboard login: `POST /v1/session` checks a user's password and sets the session cookie,
//! `GET /v1/session` tells the page who is logged in (and its CSRF token, after a reload),
//! `DELETE /v1/session` logs out.
//!
//! A failed login says the same thing whichever of tenant, email and password was wrong, and
//! takes as long: an unknown user costs a dummy verification. Repeated failures of one account
//! or one client address are refused for a while (429 with `Retry-After`).

use super::alerts::body::{BodyFields, invalid_field};
use crate::AppState;
use crate::auth::password::{MAX_PASSWORD_BYTES, dummy_verify, verify_password};
use crate::auth::session::{self as sess, Sessions};
use crate::problem::Problem;
use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::net::SocketAddr;
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
/// SameSite=Strict; Secure over TLS).
#[utoipa::path(post, path = "/v1/session", tag = "session",
    request_body = LoginRequest,
    responses(
        (status = 200, body = SessionInfo, description = "Logged in; the cookie is set",
            headers(("Set-Cookie" = String, description = "waypost_session=...; HttpOnly; SameSite=Strict; Path=/; Max-Age=..."))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong tenant, email or password (one answer for all three)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing or malformed", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed logins; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_session(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    // Login CSRF: another site's form can post a text/plain body that reads as this JSON
    // (`{"tenant":..,"password":"x` `=` `y"}`) and log the visitor in to the attacker's
    // account. A form cannot declare application/json, and a script of another origin
    // cannot without a CORS preflight this server never grants.
    super::json_body_type(&state, &headers, true)?;
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
    let address = peer.map(|Extension(ConnectInfo(a))| a.ip());
    let now = Instant::now();
    let wait = [
        sessions.accounts.check(&account, now).err(),
        address.and_then(|ip| sessions.addresses.check(&ip, now).err()),
    ]
    .into_iter()
    .flatten()
    .max();
    if let Some(wait) = wait {
        tracing::warn!(tenant = %tenant, email = %email, ip = ?address, "login refused: too many failures");
        return Err(too_many(wait));
    }

    let permit = sessions
        .verifications
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| Problem::internal(format!("login permits: {e}")))?;
    let store = sessions.store.clone();
    let (t, e) = (tenant.clone(), email.clone());
    let user = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let user = store.user_for_login(&t, &e)?;
        Ok::<_, waypost_store::StoreError>(match user {
            Some(u) if u.disabled_at.is_none() => {
                verify_password(&u.password_hash, &password).then_some(u)
            }
            _ => {
                dummy_verify(&password);
                None
            }
        })
    })
    .await
    .map_err(|e| Problem::internal(format!("login task failed: {e}")))?
    .map_err(|e| {
        tracing::error!(error = %e, "login lookup failed");
        Problem::internal(format!("the store could not answer: {e}"))
    })?;

    let Some(user) = user else {
        let now = Instant::now();
        sessions.accounts.fail(&account, now);
        if let Some(ip) = address {
            sessions.addresses.fail(&ip, now);
        }
        state.metrics.reject(Rejection::Unauthorized, 1);
        tracing::info!(tenant = %tenant, email = %email, ip = ?address, "login failed");
        return Err(Problem::unauthorized(WRONG_LOGIN));
    };
    sessions.accounts.clear(&account);
    let (token, record) = open_session(&sessions, user).await?;
    tracing::info!(tenant = %record.tenant, email = %record.email, "logged in");
    let mut resp = Json(SessionInfo::from(&record)).into_response();
    if let Some(cookie) = sessions.set_cookie(&token) {
        resp.headers_mut().insert(header::SET_COOKIE, cookie);
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
    let created_at = jiff::Timestamp::now();
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
        "Too many failed logins",
        format!("too many failed logins; try again in {secs} s"),
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
