//! What the dispatcher is given: the outbox to read, where marks go, the policy that decides
//! whether and what to send, the transports, the retry schedule, the clock and the breakers.
//! Each is a narrow trait so the loop is tested with in-memory fakes; [`crate::wired`] implements
//! them for a running server over the store's `ReadStore`, the engine's writer thread, waypost-notify and the
//! engine's `Clock`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use waypost_policy::breaker::{Admit, Breaker, BreakerConfig};

use crate::Secret;
use crate::attempt::Attempt;
use crate::email::{EmailMessage, SmtpSender};
use crate::rows::later;
use crate::sms::{SmsMessage, SmsSender};
use crate::webhook::{WebhookRequest, WebhookSender};
use waypost_domain::TenantId;
use waypost_store::{EndpointRow, OutboxMark, OutboxRow};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The outbox, read side. Blocking calls (SQLite reads): the dispatcher runs them on tokio's
/// blocking pool. Errors are texts for the log; the dispatcher tries again a second later.
pub trait OutboxSource: Send + Sync + 'static {
    /// `OutboxReads::outbox_due`: pending rows with `next_at <= now`, oldest first, only the
    /// oldest pending row of each (tenant, subscription, order).
    fn due(&self, now: Timestamp, limit: usize) -> Result<Vec<OutboxRow>, String>;
    /// `OutboxReads::outbox_next_due`: the earliest `next_at` of a pending row.
    fn next_due(&self) -> Result<Option<Timestamp>, String>;
    /// The endpoint, or `None` when it was deleted.
    fn endpoint(&self, tenant: &TenantId, id: i64) -> Result<Option<EndpointRow>, String>;
}

/// Where marks go: the engine's writer thread, which writes a batch in one transaction
/// (`OutboxStore::outbox_mark`). `Ok` only once they are written: until then the rows stay
/// in flight, so a row is never sent twice because its mark was not written yet.
pub trait MarkSink: Send + Sync + 'static {
    fn report(&self, marks: Vec<OutboxMark>) -> BoxFuture<'_, Result<(), String>>;
}

/// A rendered message, ready for its transport.
#[derive(Debug, Clone)]
pub enum Outgoing {
    Webhook {
        url: String,
        secrets: Vec<Secret>,
        body: Vec<u8>,
        timeout: Duration,
    },
    Email {
        to: String,
        subject: String,
        text: String,
        html: String,
    },
    Sms {
        to: String,
        body: String,
    },
}

/// The policy's decision for one due row.
#[derive(Debug, Clone)]
pub enum Prepared {
    /// Send it; `on_sent` are reported with the `Sent` mark (an SMS's `SpendAdd`), never
    /// without it.
    Send {
        message: Outgoing,
        on_sent: Vec<OutboxMark>,
    },
    /// Not now (quiet hours): no attempt is counted.
    Defer(Timestamp),
    /// Never (opted out, spend cap reached, no address): a `Skipped` mark with the reason.
    Skip(String),
}

/// Opt-outs, quiet hours, spend caps and templates: the binary's, over waypost-notify.
/// Blocking allowed (it may read contacts): it runs on the blocking pool, one call per row,
/// concurrently for different rows.
pub trait Policy: Send + Sync + 'static {
    fn prepare(&self, row: &OutboxRow, endpoint: &EndpointRow, now: Timestamp) -> Prepared;
}

/// Sends one message. [`Senders`] is the real one.
pub trait Transport: Send + Sync + 'static {
    fn send<'a>(&'a self, row: &'a OutboxRow, message: &'a Outgoing) -> BoxFuture<'a, Attempt>;
}

/// World time (the engine's clock, one trait for the whole house): due times, retry times and
/// breakers' cool-offs.
pub use waypost_domain::Clock;

/// `(attempts done, Retry-After asked) -> delay`, `None` = give up (dead letter). The
/// binary wires waypost-notify's `RetryPolicy::next_delay` (with its jitter) here.
pub type RetrySchedule = Arc<dyn Fn(u32, Option<Duration>) -> Option<Duration> + Send + Sync>;

/// What a breaker lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Yes,
    /// The one trial of a half-open breaker.
    Trial,
    No {
        until: Timestamp,
    },
}

/// A circuit breaker per endpoint, in world time.
pub trait EndpointBreaker: Send {
    fn admit(&mut self, now: Timestamp) -> Admission;
    /// `true` when this success closed an open breaker (the endpoint recovered).
    fn on_success(&mut self, now: Timestamp) -> bool;
    fn on_failure(&mut self, now: Timestamp);
    /// An admitted request that had no outcome for the endpoint: a trial is given back.
    fn on_abandon(&mut self);
}

/// Makes the breaker of a newly seen endpoint.
pub type BreakerFactory = Arc<dyn Fn(Timestamp) -> Box<dyn EndpointBreaker> + Send + Sync>;

/// waypost-connectors' breaker (moving to waypost-policy), which counts in `Instant`s: world
/// timestamps are laid on an `Instant` axis from the breaker's creation.
pub struct ConnectorsBreaker {
    inner: Breaker,
    origin_ts: Timestamp,
    origin: Instant,
}

impl ConnectorsBreaker {
    pub fn new(config: BreakerConfig, now: Timestamp) -> ConnectorsBreaker {
        let origin = Instant::now();
        ConnectorsBreaker {
            inner: Breaker::new(config, origin),
            origin_ts: now,
            origin,
        }
    }

    /// A factory for [`Hooks::breakers`].
    pub fn factory(config: BreakerConfig) -> BreakerFactory {
        Arc::new(move |now| Box::new(ConnectorsBreaker::new(config, now)))
    }

    fn instant(&self, ts: Timestamp) -> Instant {
        let since = self.origin_ts.duration_until(ts);
        if since.is_negative() {
            return self.origin;
        }
        self.origin + since.unsigned_abs()
    }

    fn timestamp(&self, at: Instant) -> Timestamp {
        later(self.origin_ts, at.saturating_duration_since(self.origin))
    }
}

impl EndpointBreaker for ConnectorsBreaker {
    fn admit(&mut self, now: Timestamp) -> Admission {
        match self.inner.admit(self.instant(now)) {
            Admit::Yes => Admission::Yes,
            Admit::Trial => Admission::Trial,
            Admit::No { until } => Admission::No {
                until: self.timestamp(until),
            },
        }
    }

    fn on_success(&mut self, now: Timestamp) -> bool {
        let closed = self.inner.closed;
        self.inner.on_success(self.instant(now));
        self.inner.closed > closed
    }

    fn on_failure(&mut self, now: Timestamp) {
        self.inner.on_failure(self.instant(now));
    }

    fn on_abandon(&mut self) {
        self.inner.on_abandon();
    }
}

/// The real transports. A channel that is not configured answers every message with a
/// retryable attempt naming what is missing (configuring it later lets them go).
#[derive(Clone)]
pub struct Senders {
    pub webhook: WebhookSender,
    pub email: Option<SmtpSender>,
    pub sms: Option<SmsSender>,
    /// The real clock a webhook's signature is dated by: the receiver checks it against its
    /// own, so it is the binary's system clock, never the engine's world clock.
    pub wall: Arc<dyn Clock>,
}

impl Transport for Senders {
    fn send<'a>(&'a self, row: &'a OutboxRow, message: &'a Outgoing) -> BoxFuture<'a, Attempt> {
        Box::pin(async move {
            match message {
                Outgoing::Webhook {
                    url,
                    secrets,
                    body,
                    timeout,
                } => {
                    let req = WebhookRequest {
                        url,
                        msg_id: &row.msg_id,
                        secrets,
                        body,
                        // Transport time: the receiver checks it against its own clock.
                        timestamp: self.wall.now(),
                        timeout: *timeout,
                    };
                    self.webhook.send(&req).await
                }
                Outgoing::Email {
                    to,
                    subject,
                    text,
                    html,
                } => match &self.email {
                    None => Attempt::retry(None, Duration::ZERO, "no smtp server is configured"),
                    Some(sender) => {
                        let msg = EmailMessage {
                            to,
                            subject,
                            text,
                            html,
                            msg_id: &row.msg_id,
                            tenant: row.tenant.as_str(),
                            order_id: &row.order_id,
                            transition: row.seq,
                            trigger: &row.trigger,
                        };
                        sender.send(&msg).await
                    }
                },
                Outgoing::Sms { to, body } => match &self.sms {
                    None => Attempt::retry(None, Duration::ZERO, "no sms gateway is configured"),
                    Some(sender) => {
                        let msg = SmsMessage {
                            to,
                            body,
                            msg_id: &row.msg_id,
                            tenant: row.tenant.as_str(),
                            order_id: &row.order_id,
                            transition: row.seq,
                            trigger: &row.trigger,
                        };
                        sender.send(&msg).await
                    }
                },
            }
        })
    }
}

/// Everything the dispatcher is given.
#[derive(Clone)]
pub struct Hooks {
    pub source: Arc<dyn OutboxSource>,
    pub sink: Arc<dyn MarkSink>,
    pub policy: Arc<dyn Policy>,
    pub transport: Arc<dyn Transport>,
    pub retry: RetrySchedule,
    pub clock: Arc<dyn Clock>,
    pub breakers: BreakerFactory,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> BreakerConfig {
        BreakerConfig {
            failures: 2,
            error_rate: 1.0,
            min_requests: 100,
            window: Duration::from_secs(60),
            cool_off: Duration::from_secs(30),
        }
    }

    #[test]
    fn connectors_breaker_in_world_time() {
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().expect("ts");
        let mut b = ConnectorsBreaker::new(config(), t0);
        assert_eq!(b.admit(t0), Admission::Yes);
        b.on_failure(t0);
        b.on_failure(t0);
        let until = later(t0, Duration::from_secs(30));
        assert_eq!(b.admit(t0), Admission::No { until });
        assert_eq!(b.admit(until), Admission::Trial);
        assert!(b.on_success(until), "the trial's success closes it");
        assert_eq!(b.admit(until), Admission::Yes);
        assert!(!b.on_success(until), "an ordinary success is no recovery");
    }
}
