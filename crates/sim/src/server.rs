//! The HTTP shell: one axum router serving every partner under its prefix, credentials and
//! tokens, and the faults. The documents come from `vendor/`, the decisions from `faults.rs`;
//! this module reads the wall clock and counts.

mod routes;

pub(crate) use routes::form;

use crate::SimConfig;
use crate::clock::SimClock;
use crate::faults::Fault;
use crate::stats::Counters;
use crate::world::World;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use jiff::Timestamp;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use waypost_domain::Clock;

/// An issued OAuth2 token.
struct Token {
    tenant: usize,
    partner: &'static str,
    expires: Timestamp,
}

pub(crate) struct Shared {
    pub cfg: SimConfig,
    pub world: World,
    pub clock: SimClock,
    /// The real (wall) clock the simulated one runs on: the binary's system clock.
    pub wall: Arc<dyn Clock>,
    pub stats: Counters,
    // Std mutexes: each is held for one map operation, never across an await.
    tokens: Mutex<HashMap<String, Token>>,
    attempts: Mutex<HashMap<String, u32>>,
    token_seq: AtomicU64,
}

impl Shared {
    pub fn new(cfg: SimConfig, world: World, wall: Arc<dyn Clock>) -> Shared {
        let clock = SimClock {
            start: world.start,
            speed: world.speed,
        };
        Shared {
            cfg,
            world,
            clock,
            wall,
            stats: Counters::default(),
            tokens: Mutex::new(HashMap::new()),
            attempts: Mutex::new(HashMap::new()),
            token_seq: AtomicU64::new(0),
        }
    }

    /// The wall clock's time: when a request arrives, a token expires, an event is visible.
    pub fn now(&self) -> Timestamp {
        self.wall.now()
    }

    pub fn seed(&self) -> u64 {
        self.world.seed
    }

    pub fn tenant_names(&self) -> Vec<String> {
        self.world.tenants.iter().map(|t| t.name.clone()).collect()
    }

    /// The tenant whose credentials at `partner` are `client_id` / `secret`.
    fn client(&self, partner: &str, client_id: &str, secret: &str) -> Option<usize> {
        let tenant = client_id.strip_suffix(&format!("-{partner}"))?;
        let t = self.world.tenant_index(tenant)?;
        (secret == format!("{client_id}-secret")).then_some(t)
    }

    /// The tenant whose API key at `partner` is `key` (`T-dhl-key`, `T-wms-key`).
    fn api_key(&self, partner: &str, key: &str) -> Option<usize> {
        let tenant = key.strip_suffix(&format!("-{partner}-key"))?;
        self.world.tenant_index(tenant)
    }

    fn issue_token(&self, tenant: usize, partner: &'static str, now: Timestamp) -> String {
        let n = self.token_seq.fetch_add(1, Ordering::Relaxed);
        let mut h = Sha256::new();
        h.update(self.seed().to_le_bytes());
        h.update(partner.as_bytes());
        h.update(n.to_le_bytes());
        let token = hex::encode(h.finalize());
        let ttl = jiff::SignedDuration::try_from(self.cfg.token_ttl).unwrap_or_default();
        if let Ok(mut m) = self.tokens.lock() {
            m.retain(|_, t| t.expires > now);
            m.insert(
                token.clone(),
                Token {
                    tenant,
                    partner,
                    expires: now.checked_add(ttl).unwrap_or(now),
                },
            );
        }
        Counters::bump(&self.stats.tokens_issued);
        token
    }

    /// The tenant of a live bearer token issued by `partner`.
    fn bearer(&self, partner: &str, authorization: Option<&str>, now: Timestamp) -> Option<usize> {
        let token = authorization?.strip_prefix("Bearer ")?.trim();
        let m = self.tokens.lock().ok()?;
        let t = m.get(token)?;
        (t.partner == partner && t.expires > now).then_some(t.tenant)
    }

    /// This request's fault: attempt `n` of (`kind`, `key`) counts the earlier ones.
    fn fault(&self, kind: &str, key: &str, body: bool) -> Fault {
        let attempt = match self.attempts.lock() {
            Ok(mut m) => {
                let n = m.entry(format!("{kind}\0{key}")).or_default();
                let attempt = *n;
                *n += 1;
                attempt
            }
            Err(_) => 0,
        };
        let fault = self
            .cfg
            .faults
            .decide(self.seed(), kind, key, attempt, body);
        if fault != Fault::None {
            self.stats.fault(fault.name());
        }
        fault
    }
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    routes::router(shared)
}

pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    raw_response(status, "application/json", body.to_string().into_bytes())
}

fn raw_response(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// A fault that answers before the handler does: an error, a hang, a 429. `None` means go on
/// (a slow answer has already been slowed).
pub(crate) async fn before(shared: &Shared, fault: Fault) -> Option<Response> {
    match fault {
        Fault::Error(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = serde_json::json!({ "error": status.canonical_reason().unwrap_or("error") });
            Some(json_response(status, &body))
        }
        Fault::Hang => {
            tokio::time::sleep(shared.cfg.faults.hang).await;
            Some(json_response(
                StatusCode::GATEWAY_TIMEOUT,
                &serde_json::json!({ "error": "Gateway Timeout" }),
            ))
        }
        Fault::RateLimited => {
            let mut r = json_response(
                StatusCode::TOO_MANY_REQUESTS,
                &serde_json::json!({ "error": "Too Many Requests" }),
            );
            if let Ok(v) = HeaderValue::from_str(&shared.cfg.faults.retry_after_secs.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            Some(r)
        }
        Fault::Slow => {
            tokio::time::sleep(shared.cfg.faults.slow_delay).await;
            None
        }
        Fault::None | Fault::Truncated | Fault::Malformed => None,
    }
}

/// The answer with a body fault applied: cut in half, or replaced by a proxy's HTML error page
/// served as 200 JSON.
pub(crate) fn after(fault: Fault, status: StatusCode, body: &Value) -> Response {
    match fault {
        Fault::Truncated => {
            let mut text = body.to_string().into_bytes();
            text.truncate(text.len() / 2);
            raw_response(status, "application/json", text)
        }
        Fault::Malformed => raw_response(
            status,
            "application/json",
            b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>".to_vec(),
        ),
        _ => json_response(status, body),
    }
}
