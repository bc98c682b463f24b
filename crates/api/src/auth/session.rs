//! Dashboard sessions: a random cookie value (`waypost_session`, HttpOnly, SameSite=Strict)
//! whose SHA-256 names a stored session, and a CSRF token the page sends back as
//! `X-CSRF-Token` on every request that changes something.
//!
//! Lookups are not cached: `waypost users disable` runs in another process, and its effect
//! must be immediate, so each cookie request reads its session (one primary-key lookup).

use super::device::{DEVICE_COOKIE, DeviceKey};
use super::throttle::{Limits, Throttle};
use crate::problem::Problem;
use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use waypost_domain::{Clock, TenantId};
use waypost_store::{SessionRecord, SessionStore};

pub const SESSION_COOKIE: &str = "waypost_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a session lives from login, whatever its use: a stolen cookie ends with it.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Longest cookie value looked at: ours are 43 characters.
const MAX_TOKEN_LEN: usize = 128;

/// An account: its tenant and normalized email.
pub type AccountKey = (TenantId, String);
/// An account on one known device (the device cookie's id).
pub type DeviceSlot = (TenantId, String, String);

/// How many login attempts are allowed, to whom, and how fast (`[auth.login]`).
#[derive(Debug, Clone)]
pub struct LoginSettings {
    /// The sliding window every count below is over.
    pub window: Duration,
    /// One account, tried from anywhere but a known device of it.
    pub account: Limits,
    /// One account from one of its known devices: its owner's own budget.
    pub device: Limits,
    /// One client address, counting failures for accounts that exist only.
    pub address: Limits,
    /// Keys each throttle tracks at once.
    pub capacity: usize,
    pub device_key: DeviceKey,
    /// How long a browser stays a known device after its last login.
    pub device_lifetime: Duration,
}

impl Default for LoginSettings {
    fn default() -> Self {
        let limits = |max_failures, delay_after| Limits {
            max_failures,
            delay_after,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
        };
        LoginSettings {
            window: Duration::from_secs(15 * 60),
            account: limits(10, 3),
            device: limits(5, 3),
            // Higher: an office, or a proxy without trusted_proxies set, is one address.
            address: limits(50, 20),
            capacity: 50_000,
            device_key: DeviceKey::random(),
            device_lifetime: Duration::from_secs(365 * 24 * 3600),
        }
    }
}

/// Everything the login routes and the session extractor share.
pub struct Sessions {
    pub(crate) store: Arc<dyn SessionStore>,
    pub(crate) accounts: Arc<Throttle<AccountKey>>,
    pub(crate) devices: Arc<Throttle<DeviceSlot>>,
    pub(crate) addresses: Arc<Throttle<IpAddr>>,
    pub(crate) device_key: DeviceKey,
    device_lifetime: Duration,
    /// Password verifications running at once. Each costs Argon2's 19 MiB and tens of
    /// milliseconds of a core, so a burst of concurrent logins (each holding a place in the
    /// throttle, which bounds how many there are per account) would otherwise fill the
    /// blocking pool and the memory; past the permits a login waits its turn. A tokio
    /// semaphore: the wait is an await; the permit goes with the blocking task, so a client
    /// that hangs up does not free it early.
    pub(crate) verifications: Arc<tokio::sync::Semaphore>,
    /// Whether the server speaks TLS: the cookies then carry `Secure`.
    secure: bool,
    lifetime: Duration,
    /// The wall clock sessions are dated and expire by (the binary's system clock), not the
    /// engine's, which may run fast or follow a simulator.
    wall: Arc<dyn Clock>,
}

impl Sessions {
    pub fn new(store: Arc<dyn SessionStore>, secure: bool, wall: Arc<dyn Clock>) -> Self {
        Self::with_login(store, secure, LoginSettings::default(), wall)
    }

    pub fn with_login(
        store: Arc<dyn SessionStore>,
        secure: bool,
        login: LoginSettings,
        wall: Arc<dyn Clock>,
    ) -> Self {
        let (window, capacity) = (login.window, login.capacity);
        Sessions {
            store,
            accounts: Arc::new(Throttle::new(login.account, window, capacity)),
            devices: Arc::new(Throttle::new(login.device, window, capacity)),
            addresses: Arc::new(Throttle::new(login.address, window, capacity)),
            device_key: login.device_key,
            device_lifetime: login.device_lifetime,
            verifications: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            )),
            secure,
            lifetime: SESSION_LIFETIME,
            wall,
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

    /// The wall clock's time.
    pub(crate) fn now(&self) -> jiff::Timestamp {
        self.wall.now()
    }

    /// The `Set-Cookie` of a new session.
    pub fn set_cookie(&self, token: &str) -> Option<HeaderValue> {
        self.cookie(token, self.lifetime.as_secs())
    }

    /// The `Set-Cookie` that makes the browser forget its session.
    pub fn clear_cookie(&self) -> Option<HeaderValue> {
        self.cookie("", 0)
    }

    /// The `Set-Cookie` that makes this browser a known device (`value` from
    /// [`DeviceKey::issue`]). Sent with logins only: the path is the login's.
    pub fn device_cookie(&self, value: &str) -> Option<HeaderValue> {
        let secure = if self.secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{DEVICE_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/v1/session; Max-Age={}{secure}",
            self.device_lifetime.as_secs()
        ))
        .ok()
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
        let now = self.now();
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
    named_cookie(headers, SESSION_COOKIE)
}

/// The first non-empty value of the cookie `name`, from any `Cookie` header.
pub fn named_cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim())
        .filter(|v| !v.is_empty())
}

/// The key a client address is throttled by: an IPv4 address (one seen as `::ffff:a.b.c.d`
/// too), or an IPv6 address's /64, the smallest block a site is usually given: counting single
/// IPv6 addresses would let one client try from billions.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut o = v6.octets();
                o[8..].fill(0);
                IpAddr::V6(o.into())
            }
        },
    }
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
        assert_eq!(named_cookie(&h, "theme"), Some("dark"));
        let mut empty = HeaderMap::new();
        empty.insert(header::COOKIE, HeaderValue::from_static("waypost_session="));
        assert_eq!(cookie_value(&empty), None);
    }

    #[test]
    fn ipv6_clients_are_throttled_by_their_64() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(address_key(ip("203.0.113.9")), ip("203.0.113.9"));
        assert_eq!(address_key(ip("::ffff:203.0.113.9")), ip("203.0.113.9"));
        assert_eq!(
            address_key(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")),
            ip("2001:db8:1:2::")
        );
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
    use waypost_domain::ManualClock;
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
        let plain = Sessions::new(
            Arc::new(NoStore),
            false,
            Arc::new(ManualClock::new(jiff::Timestamp::UNIX_EPOCH)),
        );
        let set = plain
            .set_cookie("tok")
            .map(|v| v.to_str().unwrap_or("").to_owned());
        assert_eq!(
            set.as_deref(),
            Some("waypost_session=tok; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200")
        );
        let tls = Sessions::new(
            Arc::new(NoStore),
            true,
            Arc::new(ManualClock::new(jiff::Timestamp::UNIX_EPOCH)),
        )
        .with_lifetime(Duration::from_secs(60));
        let set = tls
            .set_cookie("tok")
            .map(|v| v.to_str().unwrap_or("").to_owned());
        assert!(
            set.as_deref()
                .is_some_and(|s| s.ends_with("Max-Age=60; Secure")),
            "{set:?}"
        );
        let device = tls
            .device_cookie("id.mac")
            .map(|v| v.to_str().unwrap_or("").to_owned());
        assert_eq!(
            device.as_deref(),
            Some(
                "waypost_device=id.mac; HttpOnly; SameSite=Strict; Path=/v1/session; Max-Age=31536000; Secure"
            )
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
