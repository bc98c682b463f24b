//! Dashboard sessions: a random cookie value (`waypost_session`, HttpOnly, SameSite=Strict)
//! whose SHA-256 names a stored session, and a CSRF token the page sends back as
//! `X-CSRF-Token` on every request that changes something.
//!
//! Lookups are not cached: `waypost users disable` runs in another process, and its effect
//! must be immediate, so each cookie request reads its session (one primary-key lookup).

use super::throttle::Throttle;
use crate::problem::Problem;
use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use waypost_domain::TenantId;
use waypost_store::{SessionRecord, SessionStore};

pub const SESSION_COOKIE: &str = "waypost_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a session lives from login, whatever its use: a stolen cookie ends with it.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Failed logins of one account within [`THROTTLE_WINDOW`] before it is refused for a while.
pub const ACCOUNT_FAILURES: usize = 5;
/// Failed logins from one address within the window: higher, since an office shares one.
pub const ADDRESS_FAILURES: usize = 20;
pub const THROTTLE_WINDOW: Duration = Duration::from_secs(300);
/// Accounts and addresses tracked at once.
const THROTTLE_CAPACITY: usize = 10_000;
/// Longest cookie value looked at: ours are 43 characters.
const MAX_TOKEN_LEN: usize = 128;

/// Everything the login routes and the session extractor share.
pub struct Sessions {
    pub(crate) store: Arc<dyn SessionStore>,
    pub(crate) accounts: Throttle<(TenantId, String)>,
    pub(crate) addresses: Throttle<IpAddr>,
    /// Password verifications running at once. Each costs Argon2's 19 MiB and tens of
    /// milliseconds of a core, and the throttles count failures only after they happen, so a
    /// burst of concurrent logins would otherwise fill the blocking pool and the memory; past
    /// the permits a login waits its turn. A tokio semaphore: the wait is an await; the
    /// permit goes with the blocking task, so a client that hangs up does not free it early.
    pub(crate) verifications: Arc<tokio::sync::Semaphore>,
    /// Whether the server speaks TLS: the cookie then carries `Secure`.
    secure: bool,
    lifetime: Duration,
}

impl Sessions {
    pub fn new(store: Arc<dyn SessionStore>, secure: bool) -> Self {
        Sessions {
            store,
            accounts: Throttle::new(ACCOUNT_FAILURES, THROTTLE_WINDOW, THROTTLE_CAPACITY),
            addresses: Throttle::new(ADDRESS_FAILURES, THROTTLE_WINDOW, THROTTLE_CAPACITY),
            verifications: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            )),
            secure,
            lifetime: SESSION_LIFETIME,
        }
    }

    /// A different session lifetime (tests, or a site's policy).
    pub fn with_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// The `Set-Cookie` of a new session.
    pub fn set_cookie(&self, token: &str) -> Option<HeaderValue> {
        self.cookie(token, self.lifetime.as_secs())
    }

    /// The `Set-Cookie` that makes the browser forget its session.
    pub fn clear_cookie(&self) -> Option<HeaderValue> {
        self.cookie("", 0)
    }

    fn cookie(&self, value: &str, max_age: u64) -> Option<HeaderValue> {
        let secure = if self.secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}"
        ))
        .ok()
    }

    /// The live session the cookie value names, if any. Sessions expire by the wall clock,
    /// not the engine's (which may run fast, or follow a simulator).
    pub(crate) async fn lookup(&self, token: &str) -> Result<Option<SessionRecord>, Problem> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Ok(None);
        }
        let hash = token_hash(token);
        let store = self.store.clone();
        let now = jiff::Timestamp::now();
        tokio::task::spawn_blocking(move || store.session_by_hash(&hash, now))
            .await
            .map_err(|e| Problem::internal(format!("session lookup task failed: {e}")))?
            .map_err(|e| {
                tracing::error!(error = %e, "session lookup failed");
                Problem::internal(format!("the session could not be read: {e}"))
            })
    }
}

/// A fresh random value: 256 bits, URL-safe base64 (43 characters).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The `waypost_session` cookie's value, from any `Cookie` header.
pub fn cookie_value(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|v| !v.is_empty())
}

/// Equality whose time does not depend on where the first difference is.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The refusal of a cookie request that changes something without the session's CSRF token.
pub fn csrf_problem(detail: &str) -> Problem {
    Problem::new(
        axum::http::StatusCode::FORBIDDEN,
        "csrf",
        "CSRF token missing or wrong",
        detail,
    )
}

/// Checks the `X-CSRF-Token` header against the session's token.
pub fn check_csrf(headers: &HeaderMap, session: &SessionRecord) -> Result<(), Problem> {
    match headers.get(CSRF_HEADER) {
        None => Err(csrf_problem(
            "a request made with a session cookie must send the session's CSRF token as X-CSRF-Token",
        )),
        Some(v) if constant_time_eq(v.as_bytes(), session.csrf_token.as_bytes()) => Ok(()),
        Some(_) => Err(csrf_problem(
            "the X-CSRF-Token header does not match this session's token",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; b=2"));
        assert_eq!(cookie_value(&h), None);
        h.append(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; waypost_session=abc ; x=y"),
        );
        assert_eq!(cookie_value(&h), Some("abc"));
        let mut empty = HeaderMap::new();
        empty.insert(header::COOKIE, HeaderValue::from_static("waypost_session="));
        assert_eq!(cookie_value(&empty), None);
    }

    #[test]
    fn tokens_are_random_and_url_safe() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_ne!(token_hash(&a), token_hash(&b));
    }

    #[test]
    fn constant_time_eq_compares_whole_values() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}

#[cfg(test)]
mod cookie_tests {
    use super::*;
    use waypost_store::{NewSession, StoreError, UserRecord};

    struct NoStore;
    impl SessionStore for NoStore {
        fn user_for_login(&self, _: &TenantId, _: &str) -> Result<Option<UserRecord>, StoreError> {
            Ok(None)
        }
        fn create_session(&self, _: &NewSession) -> Result<(), StoreError> {
            Ok(())
        }
        fn session_by_hash(
            &self,
            _: &[u8; 32],
            _: jiff::Timestamp,
        ) -> Result<Option<SessionRecord>, StoreError> {
            Ok(None)
        }
        fn delete_session(&self, _: &[u8; 32]) -> Result<bool, StoreError> {
            Ok(false)
        }
    }

    #[test]
    fn cookies_are_http_only_strict_and_secure_over_tls() {
        let plain = Sessions::new(Arc::new(NoStore), false);
        let set = plain
            .set_cookie("tok")
            .map(|v| v.to_str().unwrap_or("").to_owned());
        assert_eq!(
            set.as_deref(),
            Some("waypost_session=tok; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200")
        );
        let tls = Sessions::new(Arc::new(NoStore), true).with_lifetime(Duration::from_secs(60));
        let set = tls
            .set_cookie("tok")
            .map(|v| v.to_str().unwrap_or("").to_owned());
        assert!(
            set.as_deref()
                .is_some_and(|s| s.ends_with("Max-Age=60; Secure")),
            "{set:?}"
        );
        let clear = tls
            .clear_cookie()
            .map(|v| v.to_str().unwrap_or("").to_owned());
        assert!(
            clear
                .as_deref()
                .is_some_and(|s| s.starts_with("waypost_session=;") && s.contains("Max-Age=0"))
        );
    }
}
