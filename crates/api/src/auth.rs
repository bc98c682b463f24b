//! API keys: `Authorization: Bearer wp_<43 chars>`. A key belongs to one tenant and carries
//! scopes; every handler reads the tenant from the key, never from the request.
//!
//! Over mutual TLS, a request without an Authorization header is authenticated by the
//! connection's client certificate instead ([`ClientCert`]): its binding gives the tenant, the
//! scopes and the one source it may submit events for. A key, when sent, takes precedence.
//!
//! A browser logged in to the dashboard sends neither: its `waypost_session` cookie names a
//! session of a user of one tenant, whose role gives the scopes ([`session`]). Such a request,
//! unless it only reads (GET, HEAD, OPTIONS), must carry the session's CSRF token.

pub mod device;
pub mod login;
pub mod password;
pub mod session;
pub mod throttle;

pub use session::{LoginSettings, Sessions};

use crate::AppState;
use crate::client_cert::ClientCert;
use crate::problem::Problem;
use axum::extract::FromRequestParts;
use axum::http::Method;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use waypost_domain::{SourceName, TenantId};
use waypost_engine::Rejection;
use waypost_store::{ApiKeyRecord, Scope};

pub const KEY_PREFIX: &str = "wp_";

/// A new key: shown once to its owner; only `hash` is stored.
pub struct NewKey {
    pub secret: String,
    pub id: String,
    pub hash: [u8; 32],
}

pub fn generate_key() -> NewKey {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!(
        "{KEY_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let mut id_bytes = [0u8; 6];
    rand::rng().fill_bytes(&mut id_bytes);
    NewKey {
        hash: hash_key(&secret),
        id: format!("key_{}", hex_lower(&id_bytes)),
        secret,
    }
}

fn hex_lower(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn hash_key(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

type KeyHash = [u8; 32];
/// A lookup's answer (including "no such key") and when it was made.
type CachedKey = (Option<ApiKeyRecord>, Instant);

/// Verified keys, remembered briefly so a request does not cost a store read. A revoked key
/// stops working within `ttl`.
pub struct KeyCache {
    // A std mutex: held for a map lookup or insert only, never across an await.
    entries: Mutex<HashMap<KeyHash, CachedKey>>,
    ttl: Duration,
}

impl KeyCache {
    pub fn new(ttl: Duration) -> Self {
        KeyCache {
            entries: Mutex::new(HashMap::new()),
            ttl,
        }
    }

    fn get(&self, hash: &[u8; 32]) -> Option<Option<ApiKeyRecord>> {
        let map = self.entries.lock().ok()?;
        map.get(hash)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(rec, _)| rec.clone())
    }

    fn put(&self, hash: [u8; 32], rec: Option<ApiKeyRecord>) {
        if let Ok(mut map) = self.entries.lock() {
            // Bounded: unknown keys are cached too (to blunt guessing floods), so cap the map.
            if map.len() > 10_000 {
                map.retain(|_, (_, at)| at.elapsed() < self.ttl);
                if map.len() > 10_000 {
                    map.clear();
                }
            }
            map.insert(hash, (rec, Instant::now()));
        }
    }
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant: TenantId,
    /// The API key's id; for a client certificate `cert:<the name that matched>`.
    pub key_id: String,
    scopes: Vec<Scope>,
    /// Set for a client-certificate caller: the only source it may submit events for.
    source: Option<SourceName>,
    via: Via,
}

/// How the caller proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Key,
    Cert,
    Session,
}

impl Caller {
    /// Whether the caller holds `scope` (admin holds every scope).
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope) || self.scopes.contains(&Scope::Admin)
    }

    pub fn require(&self, scope: Scope, state: &AppState) -> Result<(), Problem> {
        if self.has(scope) {
            Ok(())
        } else {
            state.metrics.reject(Rejection::Forbidden, 1);
            let who = match self.via {
                Via::Cert => "client certificate",
                Via::Key => "key",
                Via::Session => "the session of",
            };
            Err(Problem::forbidden(format!(
                "{who} {} lacks the {} scope",
                self.key_id,
                scope.as_str()
            )))
        }
    }

    /// The source a client-certificate caller is bound to; `None` for an API key, which may
    /// submit events of any source of its tenant.
    pub fn bound_source(&self) -> Option<&SourceName> {
        self.source.as_ref()
    }

    fn from_cert(cert: &ClientCert, state: &AppState) -> Result<Caller, Problem> {
        match cert {
            ClientCert::Bound(id) => Ok(Caller {
                tenant: id.tenant.clone(),
                key_id: format!("cert:{}", id.name),
                scopes: id.scopes.clone(),
                source: Some(id.source.clone()),
                via: Via::Cert,
            }),
            ClientCert::Unbound { subject } => {
                state.metrics.reject(Rejection::Forbidden, 1);
                Err(Problem::forbidden(format!(
                    "the client certificate ({subject}) is valid but not bound to any tenant"
                )))
            }
        }
    }
}

impl Caller {
    /// A dashboard user's request: its session must be live, and a request that may change
    /// something must carry the session's CSRF token.
    async fn from_session(parts: &Parts, state: &AppState, token: &str) -> Result<Caller, Problem> {
        let Some(s) = state.sessions.lookup(token).await? else {
            state.metrics.reject(Rejection::Unauthorized, 1);
            return Err(Problem::unauthorized(
                "the session has ended or is unknown; log in again (POST /v1/session)",
            ));
        };
        if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            session::check_csrf(&parts.headers, &s).inspect_err(|_| {
                state.metrics.reject(Rejection::Forbidden, 1);
            })?;
        }
        Ok(Caller {
            tenant: s.tenant,
            key_id: format!("user:{}", s.email),
            scopes: s.role.scopes(),
            source: None,
            via: Via::Session,
        })
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let fail = |detail: &str| {
            state.metrics.reject(Rejection::Unauthorized, 1);
            Problem::unauthorized(detail.to_string())
        };
        let Some(value) = parts.headers.get(AUTHORIZATION) else {
            if let Some(cert) = parts.extensions.get::<ClientCert>() {
                return Caller::from_cert(cert, state);
            }
            return match session::cookie_value(&parts.headers) {
                Some(token) => Caller::from_session(parts, state, token).await,
                None => Err(fail(
                    "send an API key as `Authorization: Bearer <key>`, or log in (POST /v1/session)",
                )),
            };
        };
        let Some(secret) = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
        else {
            return Err(fail("the Authorization header must be `Bearer <key>`"));
        };
        if !secret.starts_with(KEY_PREFIX) || secret.len() > 128 {
            return Err(fail("that is not a Waypost API key"));
        }
        let hash = hash_key(secret);
        let record = match state.keys.get(&hash) {
            Some(r) => r,
            None => {
                let reader = state.reader.clone();
                let found = tokio::task::spawn_blocking(move || reader.api_key_by_hash(&hash))
                    .await
                    .map_err(|e| Problem::internal(format!("key lookup task failed: {e}")))?
                    .map_err(|e| Problem::internal(format!("key lookup failed: {e}")))?;
                state.keys.put(hash, found.clone());
                found
            }
        };
        match record {
            Some(r) if !r.revoked => Ok(Caller {
                tenant: r.tenant,
                key_id: r.id,
                scopes: r.scopes,
                source: None,
                via: Via::Key,
            }),
            Some(_) => Err(fail("this API key has been revoked")),
            None => Err(fail("unknown API key")),
        }
    }
}

/// For routes a partner may also call without a key (signed webhooks): no credentials at all
/// is `None`; credentials that fail are still an error.
impl axum::extract::OptionalFromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Problem> {
        if parts.headers.get(AUTHORIZATION).is_none()
            && parts.extensions.get::<ClientCert>().is_none()
        {
            return Ok(None);
        }
        <Caller as FromRequestParts<AppState>>::from_request_parts(parts, state)
            .await
            .map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_prefixed_and_hashed() {
        let a = generate_key();
        let b = generate_key();
        assert!(a.secret.starts_with(KEY_PREFIX));
        assert_eq!(a.secret.len(), KEY_PREFIX.len() + 43);
        assert_ne!(a.secret, b.secret);
        assert_eq!(a.hash, hash_key(&a.secret));
        assert!(a.id.starts_with("key_"));
    }
}
