//! The dispatcher wired to a running server: due rows from the store's read side, marks
//! through the engine's writer thread, world time from the engine's clock, and the
//! [`RowPolicy`](crate::row_policy) that turns a row into a message. The binary builds the
//! [`Settings`] from `[notify]` and hands in what only it has (the wall clock, the tracking
//! link's spelling, whether the test fault point is armed).

use crate::row_policy::{RowPolicy, TenantRules, TrackingUrl};
use crate::{
    BoxFuture, Clock, EmailError, Hooks, MarkSink, OutboxSource, Outgoing, Senders, SmsConfig,
    SmsError, SmtpConfig, WebhookError,
};
use jiff::Timestamp;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use waypost_domain::TenantId;
use waypost_engine::{IntakeHandle, NotifyCommand};
use waypost_notify::{AddressPolicy, RetryPolicy, Templates};
use waypost_store::{EndpointRow, OutboxMark, OutboxRow, Partition, ReadStore};

/// Everything `[notify]` decides about sending, already checked.
pub struct Settings {
    /// The SSRF policy every webhook connection is checked against.
    pub address_policy: AddressPolicy,
    pub smtp: Option<SmtpConfig>,
    pub sms: Option<SmsConfig>,
    pub retry: RetryPolicy,
    /// Per tenant name: quiet hours, spend cap, brand.
    pub tenants: HashMap<String, TenantRules>,
    pub templates: Templates,
    /// None: messages carry no tracking link.
    pub tracking_url: Option<TrackingUrl>,
    /// Sends in flight at once, over every endpoint, and to one endpoint.
    pub concurrency: usize,
    pub per_endpoint: usize,
    pub breaker_failures: u32,
    pub breaker_cool_off: Duration,
    /// The test-only fault point: abort the process right after a receiver accepted a
    /// notification and before its mark is written, the one window in which a crash re-sends
    /// (with the same id). The binary arms it from its environment.
    pub abort_after_send: bool,
}

/// What the running server lends the dispatcher.
pub struct Wiring {
    pub reader: Arc<dyn ReadStore>,
    pub intake: IntakeHandle,
    /// World time (the engine's, which may follow a simulator): when rows are due.
    pub clock: Arc<dyn Clock>,
    /// Real time: what a receiver measures (signature timestamps).
    pub wall: Arc<dyn Clock>,
    /// The engine's outbox signal: new rows were written.
    pub engine_wake: Arc<tokio::sync::Notify>,
    /// The partitions whose retries this process sends (the engine's).
    pub partitions: Vec<Partition>,
}

/// A sender that could not be built from its settings.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the webhook sender: {0}")]
    Webhook(#[from] WebhookError),
    #[error("notify.smtp: {0}")]
    Smtp(#[from] EmailError),
    #[error("notify.sms: {0}")]
    Sms(#[from] SmsError),
}

pub struct Running {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
    bridge: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops taking rows, waits for sends in flight and writes their marks.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
        self.bridge.abort();
    }
}

/// Starts the dispatcher on the runtime this is called from.
pub fn start(settings: Settings, wiring: Wiring) -> Result<Running, StartError> {
    let Settings {
        address_policy,
        smtp,
        sms,
        retry,
        tenants,
        templates,
        tracking_url,
        concurrency,
        per_endpoint,
        breaker_failures,
        breaker_cool_off,
        abort_after_send,
    } = settings;
    let Wiring {
        reader,
        intake,
        clock,
        wall,
        engine_wake,
        partitions,
    } = wiring;
    let check: crate::AddressCheck =
        Arc::new(move |ip| address_policy.check(ip).map_err(|r| r.to_string()));
    let senders = Senders {
        webhook: crate::WebhookSender::new(check)?,
        email: smtp.map(crate::SmtpSender::new).transpose()?,
        sms: sms.map(crate::SmsSender::new).transpose()?,
        wall,
    };
    let hooks = Hooks {
        source: Arc::new(StoreSource {
            reader: reader.clone(),
            partitions,
        }),
        sink: Arc::new(EngineSink { intake }),
        policy: Arc::new(RowPolicy {
            reader,
            templates,
            tracking_url,
            tenants,
            ledgers: Mutex::new(HashMap::new()),
            reserved: Mutex::new(HashMap::new()),
        }),
        transport: Arc::new(FaultPoint {
            inner: senders,
            abort_after_send,
        }),
        retry: Arc::new(move |done, after| retry.next_delay(done, after, rand::random::<f64>())),
        clock,
        breakers: crate::ConnectorsBreaker::factory(crate::BreakerConfig {
            failures: breaker_failures,
            error_rate: 0.5,
            min_requests: 20,
            window: Duration::from_secs(60),
            cool_off: breaker_cool_off,
        }),
    };
    let dispatcher = crate::Dispatcher::new(
        crate::DispatcherConfig {
            concurrency,
            per_endpoint,
            ..Default::default()
        },
        hooks,
    );
    let wake = dispatcher.waker();
    let bridge = tokio::spawn(async move {
        loop {
            engine_wake.notified().await;
            wake.notify_one();
        }
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(dispatcher.run(async move {
        let _ = stopped.await;
    }));
    Ok(Running { stop, task, bridge })
}

struct StoreSource {
    reader: Arc<dyn ReadStore>,
    partitions: Vec<Partition>,
}

impl OutboxSource for StoreSource {
    fn due(&self, now: Timestamp, limit: usize) -> Result<Vec<OutboxRow>, String> {
        let mut rows = Vec::new();
        for &p in &self.partitions {
            let left = limit - rows.len();
            if left == 0 {
                break;
            }
            rows.extend(
                self.reader
                    .outbox_due(p, now, left)
                    .map_err(|e| e.to_string())?,
            );
        }
        Ok(rows)
    }

    fn next_due(&self) -> Result<Option<Timestamp>, String> {
        let mut next: Option<Timestamp> = None;
        for &p in &self.partitions {
            if let Some(at) = self.reader.outbox_next_due(p).map_err(|e| e.to_string())? {
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        }
        Ok(next)
    }

    fn endpoint(&self, tenant: &TenantId, id: i64) -> Result<Option<EndpointRow>, String> {
        self.reader.endpoint(tenant, id).map_err(|e| e.to_string())
    }
}

struct EngineSink {
    intake: IntakeHandle,
}

impl MarkSink for EngineSink {
    fn report(&self, marks: Vec<OutboxMark>) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            self.intake
                .notify(NotifyCommand::Marks(marks))
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    }
}

/// The transport, with the test-only fault point after a delivered send.
struct FaultPoint {
    inner: Senders,
    abort_after_send: bool,
}

impl crate::Transport for FaultPoint {
    fn send<'a>(
        &'a self,
        row: &'a OutboxRow,
        message: &'a Outgoing,
    ) -> BoxFuture<'a, crate::Attempt> {
        Box::pin(async move {
            let attempt = self.inner.send(row, message).await;
            if self.abort_after_send && attempt.verdict == crate::Verdict::Delivered {
                eprintln!(
                    "fault point notify-after-send: {} delivered, dying before its mark",
                    row.msg_id
                );
                std::process::abort();
            }
            attempt
        })
    }
}
