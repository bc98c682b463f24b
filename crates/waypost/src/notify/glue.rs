//! The dispatcher wired to this process: due rows from the store's read side, marks through
//! the engine's writer thread, world time from the engine's clock, and the policy that turns
//! a row into a message (opt-outs, quiet hours, the SMS spend cap, templates).

use super::config::{NotifyConfig, TenantRules};
use anyhow::Context as _;
use jiff::Timestamp;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use waypost_dispatch::{
    BoxFuture, Hooks, MarkSink, OutboxSource, Outgoing, Policy, Prepared, Secret, Senders,
};
use waypost_domain::TenantId;
use waypost_engine::{IntakeHandle, NotifyCommand};
use waypost_notify::{
    AlertFacts, ChannelKind, Contact, Context, EndpointSpec, OrderFacts, Phone, SpendLedger,
    Templates, TenantContext, Trigger,
};
use waypost_store::{EndpointRow, OutboxMark, OutboxRow, Partition, ReadStore};

/// A test-only fault point (`WAYPOST_TEST_FAULT=notify-after-send`): the process dies right
/// after a receiver accepted a notification and before its mark is written, the one window in
/// which a crash re-sends (with the same id).
pub const FAULT_AFTER_SEND: &str = "notify-after-send";

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

/// Starts the dispatcher. `engine_wake` is the engine's outbox signal.
pub fn start(
    cfg: &NotifyConfig,
    reader: Arc<dyn ReadStore>,
    intake: IntakeHandle,
    clock: Arc<dyn waypost_engine::Clock>,
    engine_wake: Arc<tokio::sync::Notify>,
    partitions: Vec<Partition>,
) -> anyhow::Result<Running> {
    let policy = cfg.address_policy()?;
    let check: waypost_dispatch::AddressCheck =
        Arc::new(move |ip| policy.check(ip).map_err(|r| r.to_string()));
    let senders = Senders {
        webhook: waypost_dispatch::WebhookSender::new(check).context("the webhook sender")?,
        email: cfg
            .smtp
            .as_ref()
            .map(|s| {
                waypost_dispatch::SmtpSender::new(super::senders::smtp(s)?)
                    .map_err(anyhow::Error::from)
            })
            .transpose()
            .context("notify.smtp")?,
        sms: cfg
            .sms
            .as_ref()
            .map(|s| {
                waypost_dispatch::SmsSender::new(super::senders::sms(s)?)
                    .map_err(anyhow::Error::from)
            })
            .transpose()
            .context("notify.sms")?,
        wall: Arc::new(crate::clock::SystemClock),
    };
    let retry = cfg.retry_policy()?;
    let mut tenants = HashMap::new();
    for (name, t) in &cfg.tenants {
        tenants.insert(name.clone(), cfg.tenant_rules(name, t)?);
    }
    let templates = match &cfg.templates {
        Some(dir) => super::senders::load_templates(dir)?,
        None => Templates::builtin(),
    };
    let fault = std::env::var("WAYPOST_TEST_FAULT").ok();
    let hooks = Hooks {
        source: Arc::new(StoreSource {
            reader: reader.clone(),
            partitions,
        }),
        sink: Arc::new(EngineSink { intake }),
        policy: Arc::new(RowPolicy {
            reader,
            templates,
            public_url: cfg.public_url.clone(),
            tenants,
            ledgers: Mutex::new(HashMap::new()),
            reserved: Mutex::new(HashMap::new()),
        }),
        transport: Arc::new(FaultPoint {
            inner: senders,
            abort_after_send: fault.as_deref() == Some(FAULT_AFTER_SEND),
        }),
        retry: Arc::new(move |done, after| retry.next_delay(done, after, rand::random::<f64>())),
        clock,
        breakers: waypost_dispatch::ConnectorsBreaker::factory(waypost_dispatch::BreakerConfig {
            failures: cfg.breaker_failures,
            error_rate: 0.5,
            min_requests: 20,
            window: Duration::from_secs(60),
            cool_off: cfg.breaker_cool_off()?,
        }),
    };
    let dispatcher = waypost_dispatch::Dispatcher::new(
        waypost_dispatch::DispatcherConfig {
            concurrency: cfg.concurrency,
            per_endpoint: cfg.per_endpoint,
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
    /// The partitions whose retries this process sends (the engine's).
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

impl waypost_dispatch::Transport for FaultPoint {
    fn send<'a>(
        &'a self,
        row: &'a OutboxRow,
        message: &'a Outgoing,
    ) -> BoxFuture<'a, waypost_dispatch::Attempt> {
        Box::pin(async move {
            let attempt = self.inner.send(row, message).await;
            if self.abort_after_send && attempt.verdict == waypost_dispatch::Verdict::Delivered {
                eprintln!(
                    "fault point {FAULT_AFTER_SEND}: {} delivered, dying before its mark",
                    row.msg_id
                );
                std::process::abort();
            }
            attempt
        })
    }
}

/// Decides, for one due row, what goes out: the checks that must hold at the moment of sending
/// (an opt-out made after the row was planned still stops it), then the message.
struct RowPolicy {
    reader: Arc<dyn ReadStore>,
    templates: Templates,
    /// `notify.public_url`, for [`waypost_api::tracking_url`].
    public_url: Option<String>,
    tenants: HashMap<String, TenantRules>,
    /// Per tenant: SMS spend reserved and spent per local day.
    ledgers: Mutex<HashMap<String, SpendLedger>>,
    /// Rows whose cost is reserved (a retry reuses its reservation): (day, cents).
    reserved: Mutex<HashMap<i64, (jiff::civil::Date, u64)>>,
}

/// What a row's payload says: a state change or an alert.
enum Facts {
    Order(OrderFacts),
    Alert(AlertFacts),
}

impl Facts {
    fn customer(&self) -> (Option<&str>, Option<&str>, Option<&str>) {
        match self {
            Facts::Order(f) => (
                f.customer_id.as_deref(),
                f.customer_email.as_deref(),
                f.customer_phone.as_deref(),
            ),
            Facts::Alert(a) => (
                a.customer_id.as_deref(),
                a.customer_email.as_deref(),
                a.customer_phone.as_deref(),
            ),
        }
    }
}

impl RowPolicy {
    fn contact(
        &self,
        tenant: &TenantId,
        customer: Option<&str>,
    ) -> Result<Option<Contact>, String> {
        let Some(id) = customer else {
            return Ok(None);
        };
        let Some(row) = self
            .reader
            .contact_of(tenant, id)
            .map_err(|e| e.to_string())?
        else {
            return Ok(None);
        };
        Ok(Some(Contact {
            customer_id: row.customer_id,
            email: row.email,
            phone: row.phone.as_deref().and_then(|p| Phone::parse(p).ok()),
            locale: row.locale,
            opted_out: row
                .opted_out
                .iter()
                .filter_map(|k| ChannelKind::from_str(k).ok())
                .collect(),
        }))
    }

    fn context(&self, row: &OutboxRow, facts: &Facts) -> Context {
        let tenant = TenantContext {
            name: row.tenant.to_string(),
            brand: self
                .tenants
                .get(row.tenant.as_str())
                .and_then(|t| t.brand.clone()),
        };
        // The order's customer page (its link token, from the store). A store that cannot
        // answer costs the message its link, not the message.
        let tracking_url = self.public_url.as_ref().and_then(|base| {
            let token = match self.reader.tracking_token(&row.tenant, &row.order_id) {
                Ok(t) => t?,
                Err(e) => {
                    tracing::warn!(error = %e, order = %row.order_id, "no tracking link");
                    return None;
                }
            };
            Some(waypost_api::tracking_url(base, &token))
        });
        match facts {
            Facts::Order(f) => Context::for_order(f, tenant, tracking_url),
            Facts::Alert(a) => Context::for_alert(a, tenant, tracking_url),
        }
    }

    /// Reserves an SMS's cost under the tenant's cap; `Err` says why it may not go.
    fn reserve(
        &self,
        row: &OutboxRow,
        rules: &TenantRules,
        text: &str,
        now: Timestamp,
    ) -> Result<Vec<OutboxMark>, String> {
        let segments = waypost_notify::segments(text);
        let Some(cap) = &rules.cap else {
            return Ok(Vec::new());
        };
        let cost = cap.cost(segments.segments);
        let day = cap.day_of(now);
        let mut reserved = self
            .reserved
            .lock()
            .map_err(|_| "the spend ledger is poisoned")?;
        if reserved.get(&row.id).is_none_or(|(d, _)| *d != day) {
            let mut ledgers = self
                .ledgers
                .lock()
                .map_err(|_| "the spend ledger is poisoned")?;
            let ledger = match ledgers.get_mut(row.tenant.as_str()) {
                Some(l) => l,
                None => {
                    let mut l = SpendLedger::new(cap.clone());
                    let tenant = row.tenant.clone();
                    let (_, cents) = self
                        .reader
                        .sms_spent(&tenant, &day.to_string())
                        .map_err(|e| e.to_string())?;
                    l.seed(row.tenant.as_str(), day, cents);
                    ledgers.entry(row.tenant.to_string()).or_insert(l)
                }
            };
            if !ledger.try_reserve(row.tenant.as_str(), day, cost) {
                return Err(format!(
                    "the tenant's daily SMS spend cap of {} cents is reached ({} cents spent on {day}; this message costs {cost})",
                    cap.per_day_cents,
                    ledger.spent(row.tenant.as_str(), day)
                ));
            }
            reserved.insert(row.id, (day, cost));
        }
        Ok(vec![OutboxMark::SpendAdd {
            tenant: row.tenant.clone(),
            day: day.to_string(),
            segments: segments.segments as u64,
            cents: cost,
        }])
    }

    fn prepare_row(
        &self,
        row: &OutboxRow,
        endpoint: &EndpointRow,
        now: Timestamp,
    ) -> Result<Prepared, String> {
        let tenant = row.tenant.clone();
        let spec: EndpointSpec = serde_json::from_str(&endpoint.spec)
            // The tenant reads this error: it names the endpoint, not its row number.
            .map_err(|e| format!("endpoint {:?} has an unreadable spec: {e}", endpoint.name))?;
        let trigger = Trigger::from_str(&row.trigger).map_err(|e| e.to_string())?;
        let facts = if trigger == Trigger::AlertRaised {
            Facts::Alert(serde_json::from_str(&row.payload).map_err(|e| format!("payload: {e}"))?)
        } else {
            Facts::Order(serde_json::from_str(&row.payload).map_err(|e| format!("payload: {e}"))?)
        };
        let (customer_id, email, phone) = facts.customer();
        let contact = self.contact(&tenant, customer_id)?;
        let notify_endpoint = waypost_notify::Endpoint {
            id: endpoint.id,
            tenant: tenant.clone(),
            name: endpoint.name.clone(),
            spec: spec.clone(),
            enabled: endpoint.enabled,
            disabled_reason: endpoint.disabled_reason.clone(),
        };
        if waypost_notify::suppressed(&notify_endpoint, contact.as_ref()) {
            return Ok(Prepared::Skip(format!(
                "customer {:?} opted out of {}",
                customer_id.unwrap_or_default(),
                spec.kind()
            )));
        }
        let address =
            waypost_notify::recipient_address(&notify_endpoint, contact.as_ref(), email, phone);
        Ok(match spec {
            EndpointSpec::Webhook {
                url,
                secrets,
                timeout_ms,
            } => {
                let body = match &facts {
                    Facts::Order(f) => {
                        waypost_notify::payload::to_body(&waypost_notify::status_changed(f, now))
                    }
                    Facts::Alert(a) => {
                        waypost_notify::payload::to_body(&waypost_notify::alert_raised(a))
                    }
                }
                .map_err(|e| format!("the payload does not serialize: {e}"))?;
                let secrets = secrets
                    .iter()
                    .map(|s| {
                        Secret::from_config(s.expose())
                            .map_err(|e| format!("a signing secret: {e}"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Prepared::Send {
                    message: Outgoing::Webhook {
                        url,
                        secrets,
                        body,
                        timeout: Duration::from_millis(timeout_ms),
                    },
                    on_sent: Vec::new(),
                }
            }
            EndpointSpec::Email { .. } => {
                let Some(to) = address else {
                    return Ok(Prepared::Skip("no email address for the customer".into()));
                };
                let ctx = self.context(row, &facts);
                let mail = self
                    .templates
                    .render_email(row.tenant.as_str(), trigger, &ctx)
                    .map_err(|e| e.to_string())?;
                Prepared::Send {
                    message: Outgoing::Email {
                        to,
                        subject: mail.subject,
                        text: mail.text,
                        html: mail.html,
                    },
                    on_sent: Vec::new(),
                }
            }
            EndpointSpec::Sms { .. } => {
                let Some(to) = address else {
                    return Ok(Prepared::Skip("no phone number for the customer".into()));
                };
                let rules = self.tenants.get(row.tenant.as_str()).cloned();
                if let Some(quiet) = rules.as_ref().and_then(|r| r.quiet.as_ref())
                    && let Some(until) = quiet.release_at(now)
                {
                    return Ok(Prepared::Defer(until));
                }
                let ctx = self.context(row, &facts);
                let body = self
                    .templates
                    .render_sms(row.tenant.as_str(), trigger, &ctx)
                    .map_err(|e| e.to_string())?;
                let on_sent = match &rules {
                    Some(r) => match self.reserve(row, r, &body, now) {
                        Ok(marks) => marks,
                        Err(why) => return Ok(Prepared::Skip(why)),
                    },
                    None => Vec::new(),
                };
                Prepared::Send {
                    message: Outgoing::Sms { to, body },
                    on_sent,
                }
            }
        })
    }
}

impl Policy for RowPolicy {
    fn prepare(&self, row: &OutboxRow, endpoint: &EndpointRow, now: Timestamp) -> Prepared {
        match self.prepare_row(row, endpoint, now) {
            Ok(p) => p,
            // A row this version cannot read or render is kept, visible, for an operator:
            // a skip with the reason, replayable once the cause is fixed.
            Err(why) => Prepared::Skip(format!("cannot prepare: {why}")),
        }
    }
}
