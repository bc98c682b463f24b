//! One partner's HTTP client with its policies around every request: the breaker decides
//! whether to ask at all, the token bucket when, a timeout bounds it, transient failures are
//! retried with jittered backoff, and an OAuth2 token is fetched, cached, refreshed ahead of
//! its expiry and once more on a 401. Every outcome is counted for health.

use crate::config::ConnectorConfig;
use crate::partner::{self, WireError};
use crate::policy::backoff::Backoff;
use crate::policy::breaker::{Admit, Breaker};
use crate::policy::bucket::TokenBucket;
use crate::policy::health::HealthWindow;
use rand::SeedableRng;
use rand::rngs::StdRng;
use reqwest::header::{ETAG, HeaderMap, RETRY_AFTER};
use reqwest::{RequestBuilder, StatusCode};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use waypost_domain::Clock;

/// The monotonic clock, read through tokio so a test's paused clock governs it.
pub fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// What a partner answered, once policies are done with the request.
#[derive(Debug)]
pub enum Answer {
    /// A 2xx with its body (and `ETag`, when sent).
    Body {
        body: bytes::Bytes,
        etag: Option<String>,
    },
    /// 304: nothing new since the ETag we sent.
    NotModified,
    /// The partner does not know the tracking number (yet): not a partner error.
    NotFound,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    #[error("circuit open")]
    CircuitOpen { until: Instant },
    #[error("gave up after {attempts} attempts: {last}")]
    Exhausted { attempts: u32, last: String },
    /// An answer retrying cannot change (400, 403, an unexpected 404...).
    #[error("refused with {status}: {detail}")]
    Refused { status: u16, detail: String },
    #[error(transparent)]
    Wire(#[from] WireError),
}

/// Counters for the health snapshot. Atomics: bumped from every request task without a lock.
#[derive(Debug, Default)]
pub struct Counters {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub rate_limited_waits: AtomicU64,
    pub throttled: AtomicU64,
    pub timeouts: AtomicU64,
    pub tokens_refreshed: AtomicU64,
    pub not_found: AtomicU64,
    pub documents: AtomicU64,
    pub events: AtomicU64,
    pub refreshed: AtomicU64,
    pub dead_letters: AtomicU64,
    pub sink_busy: AtomicU64,
    pub in_flight: AtomicU64,
    pub state_errors: AtomicU64,
}

/// The policies' state. One std mutex for all of them: each use is a few arithmetic steps,
/// never held across an await.
#[derive(Debug)]
pub struct Policies {
    pub bucket: TokenBucket,
    pub breaker: Breaker,
    pub health: HealthWindow,
    rng: StdRng,
    pub last_success: Option<jiff::Timestamp>,
    pub newest_event_at: Option<jiff::Timestamp>,
}

#[derive(Debug, Clone)]
struct Token {
    value: String,
    refresh_at: Instant,
    expires_at: Instant,
}

pub struct PartnerClient {
    pub cfg: ConnectorConfig,
    http: reqwest::Client,
    backoff: Backoff,
    pub policies: Mutex<Policies>,
    pub counters: Counters,
    /// A tokio mutex, held across the token request on purpose: callers that find the token
    /// stale wait for the one refresh in progress instead of each starting their own.
    token: tokio::sync::Mutex<Option<Token>>,
    trans_ids: AtomicU64,
    /// The real calendar clock: `Retry-After` dates and the last success.
    pub wall: Arc<dyn Clock>,
}

/// Waits until `take` (a token bucket's `try_take`, under its lock) lets a request go;
/// counts a wait when there was one. Every client paces its requests this way.
pub(crate) async fn wait_for_bucket(counters: &Counters, take: impl Fn() -> Result<(), Duration>) {
    let mut waited = false;
    while let Err(d) = take() {
        waited = true;
        tokio::time::sleep(d).await;
    }
    if waited {
        counters.rate_limited_waits.fetch_add(1, Relaxed);
    }
}

/// One HTTP exchange under `timeout`: status, headers and the whole body, counted in
/// `counters`. Shared by every client.
pub(crate) async fn exchange(
    counters: &Counters,
    timeout: Duration,
    req: RequestBuilder,
) -> Result<(StatusCode, HeaderMap, bytes::Bytes), String> {
    counters.requests.fetch_add(1, Relaxed);
    let fut = async {
        let r = req.send().await?;
        let status = r.status();
        let headers = r.headers().clone();
        let body = r.bytes().await?;
        Ok::<_, reqwest::Error>((status, headers, body))
    };
    match tokio::time::timeout(timeout, fut).await {
        Ok(Ok(x)) => Ok(x),
        // Without the URL: it may carry a tracking number, and says nothing useful here.
        Ok(Err(e)) => Err(e.without_url().to_string()),
        Err(_) => {
            counters.timeouts.fetch_add(1, Relaxed);
            Err(format!("no answer within {timeout:?}"))
        }
    }
}

pub(crate) enum Failure {
    /// Worth another attempt after a backoff.
    Transient(String),
    /// The partner asked us to wait: the bucket is closed for that long.
    Throttled(String),
    Final(CallError),
}

impl Failure {
    /// Books a failed attempt with the breaker and the health window, the same way for every
    /// client: refused credentials trip the breaker (the partner is unusable until someone
    /// acts), a throttle is no failure (the partner is fine, only busy, and the bucket already
    /// holds every request back until its Retry-After), a transient failure counts. Returns
    /// the reason to retry on, or the error to give up with. `trial`: the attempt was the
    /// half-open breaker's probe.
    pub(crate) fn settle(
        self,
        breaker: &mut Breaker,
        health: &mut crate::policy::health::HealthWindow,
        trial: bool,
        t: Instant,
        latency: Duration,
    ) -> Result<String, CallError> {
        match self {
            Failure::Final(e) => {
                if matches!(
                    e,
                    CallError::Refused {
                        status: 401 | 403,
                        ..
                    }
                ) {
                    breaker.on_failure(t);
                } else if trial {
                    breaker.on_abandon();
                }
                health.record(t, false, latency);
                Err(e)
            }
            Failure::Throttled(why) => {
                if trial {
                    breaker.on_abandon();
                }
                Ok(why)
            }
            Failure::Transient(why) => {
                breaker.on_failure(t);
                health.record(t, false, latency);
                Ok(why)
            }
        }
    }
}

impl PartnerClient {
    pub fn new(cfg: ConnectorConfig, http: reqwest::Client, wall: Arc<dyn Clock>) -> Self {
        let t = now();
        let policies = Policies {
            bucket: TokenBucket::new(cfg.rate_per_sec, cfg.burst, t),
            breaker: Breaker::new(cfg.breaker(), t),
            health: HealthWindow::new(t),
            rng: StdRng::from_rng(&mut rand::rng()),
            last_success: None,
            newest_event_at: None,
        };
        Self {
            backoff: Backoff::new(cfg.backoff_base, cfg.backoff_cap),
            cfg,
            http,
            wall,
            policies: Mutex::new(policies),
            counters: Counters::default(),
            token: tokio::sync::Mutex::new(None),
            trans_ids: AtomicU64::new(rand::random::<u64>() >> 16),
        }
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, Policies> {
        self.policies.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn next_trans_id(&self) -> u64 {
        self.trans_ids.fetch_add(1, Relaxed)
    }

    /// A backoff delay for attempt `n`, from the client's own rng.
    pub fn backoff_delay(&self, attempt: u32) -> Duration {
        let mut p = self.lock();
        self.backoff.delay(attempt, &mut p.rng)
    }

    /// Waits for the token bucket; counts a wait when there was one.
    async fn rate_limit(&self) {
        wait_for_bucket(&self.counters, || self.lock().bucket.try_take(now())).await;
    }

    /// One HTTP exchange under the timeout: status, headers and the whole body.
    async fn exchange(
        &self,
        req: RequestBuilder,
    ) -> Result<(StatusCode, HeaderMap, bytes::Bytes), String> {
        exchange(&self.counters, self.cfg.timeout, req).await
    }

    /// The bearer token, fetching or refreshing it first when needed. `stale` is a token a
    /// partner just refused: it is replaced even if it looks fresh.
    async fn token(&self, stale: Option<&str>) -> Result<String, Failure> {
        let mut slot = self.token.lock().await;
        let t = now();
        if let Some(tok) = slot.as_ref() {
            let refused = stale.is_some_and(|s| s == tok.value);
            if !refused && t < tok.refresh_at {
                return Ok(tok.value.clone());
            }
        }
        let req =
            partner::token_request(&self.http, &self.cfg).map_err(|e| Failure::Final(e.into()))?;
        let fetched = match self.exchange(req).await {
            Ok((s, _, body)) if s.is_success() => {
                partner::parse_token(&body).map_err(|e| Failure::Transient(e.to_string()))
            }
            Ok((s, h, _)) if s == StatusCode::TOO_MANY_REQUESTS => {
                self.defer(&h);
                Err(Failure::Throttled("token endpoint answered 429".into()))
            }
            Ok((s, _, _)) if s.is_server_error() => {
                Err(Failure::Transient(format!("token endpoint answered {s}")))
            }
            Ok((s, _, body)) => Err(Failure::Final(CallError::Refused {
                status: s.as_u16(),
                detail: format!("token request refused: {}", snippet(&body)),
            })),
            Err(e) => Err(Failure::Transient(format!("token request: {e}"))),
        };
        match fetched {
            Ok((value, lifetime)) => {
                let t = now();
                self.counters.tokens_refreshed.fetch_add(1, Relaxed);
                let tok = Token {
                    value: value.clone(),
                    refresh_at: t + lifetime.mul_f64(self.cfg.token_refresh_at),
                    expires_at: t + lifetime,
                };
                *slot = Some(tok);
                Ok(value)
            }
            // A refresh ahead of expiry that failed: the old token is still good for a while.
            Err(f) => match slot.as_ref() {
                Some(tok) if stale.is_none() && now() < tok.expires_at => Ok(tok.value.clone()),
                _ => Err(f),
            },
        }
    }

    /// Closes the bucket for the partner's `Retry-After` (seconds), or a backoff without one.
    fn defer(&self, headers: &HeaderMap) {
        let wait = headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, self.wall.now()))
            .unwrap_or_else(|| self.backoff_delay(0));
        self.counters.throttled.fetch_add(1, Relaxed);
        self.lock().bucket.defer(now(), wait);
    }

    /// Sends the request `build` makes (given the bearer token, for OAuth partners), with every
    /// policy applied. `build` is called again for each attempt.
    pub async fn call(
        &self,
        build: impl Fn(Option<&str>) -> Result<RequestBuilder, WireError>,
    ) -> Result<Answer, CallError> {
        let oauth = partner::uses_oauth(self.cfg.source);
        let mut attempt: u32 = 0;
        let mut refused_token: Option<String> = None;
        let mut reauthorized = false;
        loop {
            let admit = self.lock().breaker.admit(now());
            if let Admit::No { until } = admit {
                return Err(CallError::CircuitOpen { until });
            }
            let trial = admit == Admit::Trial;
            let outcome = self.attempt(oauth, &build, refused_token.as_deref()).await;
            let t = now();
            let (failure, latency) = match outcome {
                Ok((answer, latency)) => {
                    let mut p = self.lock();
                    p.breaker.on_success(t);
                    p.health.record(t, true, latency);
                    p.last_success = Some(self.wall.now());
                    return Ok(answer);
                }
                Err((Failure::Final(CallError::Refused { status: 401, .. }), Some(tok), _))
                    if oauth && !reauthorized =>
                {
                    // An expired or revoked token: refresh it once and ask again, without
                    // counting it against the partner.
                    reauthorized = true;
                    refused_token = Some(tok);
                    if trial {
                        self.lock().breaker.on_abandon();
                    }
                    continue;
                }
                Err((f, _, latency)) => (f, latency),
            };
            let last = {
                let mut p = self.lock();
                let p = &mut *p;
                failure.settle(&mut p.breaker, &mut p.health, trial, t, latency)?
            };
            if attempt >= self.cfg.max_retries {
                return Err(CallError::Exhausted {
                    attempts: attempt + 1,
                    last,
                });
            }
            let delay = self.backoff_delay(attempt);
            attempt += 1;
            self.counters.retries.fetch_add(1, Relaxed);
            tracing::debug!(connector = %self.cfg.name, attempt, ?delay, reason = %last, "retrying");
            tokio::time::sleep(delay).await;
        }
    }

    /// One attempt: rate limit, token, exchange, classification. On failure, also the token
    /// that was used (a 401 refuses it).
    async fn attempt(
        &self,
        oauth: bool,
        build: &impl Fn(Option<&str>) -> Result<RequestBuilder, WireError>,
        refused_token: Option<&str>,
    ) -> Result<(Answer, Duration), (Failure, Option<String>, Duration)> {
        self.rate_limit().await;
        let token = if oauth {
            let t = self.token(refused_token).await;
            Some(t.map_err(|f| (f, None, Duration::ZERO))?)
        } else {
            None
        };
        let req = build(token.as_deref())
            .map_err(|e| (Failure::Final(e.into()), None, Duration::ZERO))?;
        let started = now();
        let exchanged = self.exchange(req).await;
        // Failures are timed too: a partner that times out is slow, not instant.
        let latency = now().saturating_duration_since(started);
        let (status, headers, body) =
            exchanged.map_err(|e| (Failure::Transient(e), None, latency))?;
        let fail = |f| Err((f, token.clone(), latency));
        if status.is_success() {
            let etag = headers
                .get(ETAG)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            return Ok((Answer::Body { body, etag }, latency));
        }
        if status == StatusCode::NOT_MODIFIED {
            return Ok((Answer::NotModified, latency));
        }
        if partner::is_not_found(self.cfg.source, status, &body) {
            self.counters.not_found.fetch_add(1, Relaxed);
            return Ok((Answer::NotFound, latency));
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            self.defer(&headers);
            return fail(Failure::Throttled("answered 429".into()));
        }
        if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
            if headers.contains_key(RETRY_AFTER) {
                self.defer(&headers);
            }
            return fail(Failure::Transient(format!("answered {status}")));
        }
        fail(Failure::Final(CallError::Refused {
            status: status.as_u16(),
            detail: snippet(&body),
        }))
    }
}

/// `Retry-After` as seconds or as an HTTP date (RFC 9110 allows both); a date in the past
/// means no wait.
pub(crate) fn retry_after(value: &str, now: jiff::Timestamp) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(v)
        .ok()?;
    Some(Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO))
}

/// The start of a body, for an error message.
pub(crate) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    text.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now: jiff::Timestamp = "2015-10-21T07:27:00Z".parse().expect("a timestamp");
        assert_eq!(retry_after(" 120 ", now), Some(Duration::from_secs(120)));
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
    }
}
