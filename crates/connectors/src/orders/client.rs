//! One order channel's HTTP client: the connector runtime's policies around every request
//! (the breaker decides whether to ask, a token bucket *per endpoint* when, a timeout bounds
//! it, transient failures are retried with jittered backoff) and Amazon's Login-with-Amazon
//! access token, fetched from the refresh token, cached, refreshed ahead of expiry and once
//! more on a 403/401 that refuses it. The policies are the ones in `policy/`; only the
//! per-endpoint buckets and the channels' throttling headers are particular here.

use super::config::{Endpoint, OrderChannelConfig, PolledChannel};
use crate::client::{
    CallError, Counters, Failure, exchange, now, retry_after, snippet, wait_for_bucket,
};
use crate::partner::{WireError, parse_token};
use crate::policy::backoff::Backoff;
use crate::policy::breaker::{Admit, Breaker};
use crate::policy::bucket::TokenBucket;
use crate::policy::health::HealthWindow;
use rand::SeedableRng;
use rand::rngs::StdRng;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{RequestBuilder, StatusCode};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use waypost_domain::Clock;

/// A 2xx answer: its headers (paging lives there for WooCommerce) and body (empty on 204).
#[derive(Debug)]
pub(crate) struct Reply {
    pub headers: HeaderMap,
    pub body: bytes::Bytes,
}

/// The policies' state. A std mutex: each use is a few arithmetic steps, never held across
/// an await.
pub(crate) struct Policies {
    buckets: BTreeMap<Endpoint, TokenBucket>,
    pub breaker: Breaker,
    pub health: HealthWindow,
    rng: StdRng,
    pub last_success: Option<jiff::Timestamp>,
}

#[derive(Debug, Clone)]
struct Token {
    value: String,
    refresh_at: Instant,
    expires_at: Instant,
}

pub(crate) struct ChannelClient {
    pub cfg: OrderChannelConfig,
    http: reqwest::Client,
    backoff: Backoff,
    policies: Mutex<Policies>,
    pub counters: Counters,
    /// A tokio mutex held across the token request on purpose: callers finding the token
    /// stale wait for the one refresh under way instead of each starting their own.
    token: tokio::sync::Mutex<Option<Token>>,
    pub wall: Arc<dyn Clock>,
}

impl ChannelClient {
    pub fn new(cfg: OrderChannelConfig, http: reqwest::Client, wall: Arc<dyn Clock>) -> Self {
        let t = now();
        let buckets = [Endpoint::Orders, Endpoint::OrderItems, Endpoint::Token]
            .into_iter()
            .map(|e| {
                let l = cfg.limit(e);
                (e, TokenBucket::new(l.rate_per_sec, l.burst, t))
            })
            .collect();
        let policies = Policies {
            buckets,
            breaker: Breaker::new(cfg.breaker(), t),
            health: HealthWindow::new(t),
            rng: StdRng::from_rng(&mut rand::rng()),
            last_success: None,
        };
        Self {
            backoff: Backoff::new(cfg.backoff_base, cfg.backoff_cap),
            cfg,
            http,
            policies: Mutex::new(policies),
            counters: Counters::default(),
            token: tokio::sync::Mutex::new(None),
            wall,
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, Policies> {
        self.policies.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn backoff_delay(&self, attempt: u32) -> Duration {
        let mut p = self.lock();
        self.backoff.delay(attempt, &mut p.rng)
    }

    async fn rate_limit(&self, ep: Endpoint) {
        wait_for_bucket(&self.counters, || match self.lock().buckets.get_mut(&ep) {
            Some(b) => b.try_take(now()),
            None => Ok(()),
        })
        .await;
    }

    async fn exchange(
        &self,
        req: RequestBuilder,
    ) -> Result<(StatusCode, HeaderMap, bytes::Bytes), String> {
        exchange(&self.counters, self.cfg.timeout, req).await
    }

    /// How long a 429 asks to wait: `Retry-After` (seconds or a date); Amazon sends none but
    /// `x-amzn-RateLimit-Limit`, the endpoint's rate per second, so one request's worth of it;
    /// BigCommerce `X-Rate-Limit-Time-Reset-Ms`.
    fn throttle_wait(&self, headers: &HeaderMap) -> Duration {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        if let Some(d) = header(RETRY_AFTER.as_str()).and_then(|v| retry_after(v, self.wall.now()))
        {
            return d;
        }
        if let Some(rate) =
            header("x-amzn-ratelimit-limit").and_then(|v| v.trim().parse::<f64>().ok())
            && rate.is_finite()
            && rate > 0.0
        {
            return Duration::from_secs_f64((1.0 / rate).min(3600.0));
        }
        // BigCommerce: the milliseconds until its window resets.
        if let Some(ms) =
            header("x-rate-limit-time-reset-ms").and_then(|v| v.trim().parse::<u64>().ok())
        {
            return Duration::from_millis(ms.min(3_600_000));
        }
        self.backoff_delay(0)
    }

    fn defer(&self, ep: Endpoint, headers: &HeaderMap) {
        let wait = self.throttle_wait(headers);
        self.counters.throttled.fetch_add(1, Relaxed);
        if let Some(b) = self.lock().buckets.get_mut(&ep) {
            b.defer(now(), wait);
        }
    }

    /// Amazon's access token, fetched or refreshed first when needed. `stale` is a token the
    /// API just refused: it is replaced even if it looks fresh.
    async fn token(&self, stale: Option<&str>) -> Result<String, Failure> {
        let mut slot = self.token.lock().await;
        if let Some(tok) = slot.as_ref() {
            let refused = stale.is_some_and(|s| s == tok.value);
            if !refused && now() < tok.refresh_at {
                return Ok(tok.value.clone());
            }
        }
        self.rate_limit(Endpoint::Token).await;
        let c = &self.cfg.credentials;
        let req = self.http.post(&c.token_url).form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", super::wire::secret(&c.refresh_token)),
            ("client_id", c.lwa_client_id.as_deref().unwrap_or_default()),
            ("client_secret", super::wire::secret(&c.lwa_client_secret)),
        ]);
        let fetched = match self.exchange(req).await {
            Ok((s, _, body)) if s.is_success() => {
                parse_token(&body).map_err(|e| Failure::Transient(e.to_string()))
            }
            Ok((s, h, _)) if s == StatusCode::TOO_MANY_REQUESTS => {
                self.defer(Endpoint::Token, &h);
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
                *slot = Some(Token {
                    value: value.clone(),
                    refresh_at: t + lifetime.mul_f64(self.cfg.token_refresh_at),
                    expires_at: t + lifetime,
                });
                Ok(value)
            }
            // A refresh ahead of expiry that failed: the old token is still good for a while.
            Err(f) => match slot.as_ref() {
                Some(tok) if stale.is_none() && now() < tok.expires_at => Ok(tok.value.clone()),
                _ => Err(f),
            },
        }
    }

    /// Sends what `build` makes (given Amazon's access token) to `endpoint`, with every
    /// policy applied; `build` is called again for each attempt.
    pub async fn send(
        &self,
        endpoint: Endpoint,
        build: impl Fn(Option<&str>) -> Result<RequestBuilder, WireError>,
    ) -> Result<Reply, CallError> {
        let oauth = self.cfg.channel == PolledChannel::Amazon;
        let mut attempt: u32 = 0;
        let mut refused_token: Option<String> = None;
        let mut reauthorized = false;
        loop {
            let admit = self.lock().breaker.admit(now());
            if let Admit::No { until } = admit {
                return Err(CallError::CircuitOpen { until });
            }
            let trial = admit == Admit::Trial;
            let outcome = self
                .attempt(endpoint, oauth, &build, refused_token.as_deref())
                .await;
            let t = now();
            let (failure, latency) = match outcome {
                Ok((reply, latency)) => {
                    let mut p = self.lock();
                    p.breaker.on_success(t);
                    p.health.record(t, true, latency);
                    p.last_success = Some(self.wall.now());
                    return Ok(reply);
                }
                // SP-API answers 403 `Unauthorized` (and some gateways 401) to an expired
                // access token: refresh it once and ask again.
                Err((
                    Failure::Final(CallError::Refused {
                        status: 401 | 403, ..
                    }),
                    Some(tok),
                    _,
                )) if oauth && !reauthorized => {
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
            tracing::debug!(channel = %self.cfg.name, attempt, ?delay, reason = %last, "retrying");
            tokio::time::sleep(delay).await;
        }
    }

    async fn attempt(
        &self,
        endpoint: Endpoint,
        oauth: bool,
        build: &impl Fn(Option<&str>) -> Result<RequestBuilder, WireError>,
        refused_token: Option<&str>,
    ) -> Result<(Reply, Duration), (Failure, Option<String>, Duration)> {
        self.rate_limit(endpoint).await;
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
        let latency = now().saturating_duration_since(started);
        let (status, headers, body) =
            exchanged.map_err(|e| (Failure::Transient(e), None, latency))?;
        let fail = |f| Err((f, token.clone(), latency));
        if status.is_success() {
            return Ok((Reply { headers, body }, latency));
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            self.defer(endpoint, &headers);
            return fail(Failure::Throttled("answered 429".into()));
        }
        if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
            if headers.contains_key(RETRY_AFTER) {
                self.defer(endpoint, &headers);
            }
            return fail(Failure::Transient(format!("answered {status}")));
        }
        fail(Failure::Final(CallError::Refused {
            status: status.as_u16(),
            detail: snippet(&body),
        }))
    }
}
