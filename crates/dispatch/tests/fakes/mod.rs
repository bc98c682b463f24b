//! In-memory fakes for the dispatcher tests: an outbox that behaves like the store's (per
//! order FIFO optional, marks applied as `outbox_mark` would), a scripted transport that
//! records what was in flight, a fake policy and a hand-moved clock.

#![allow(dead_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use waypost_dispatch::{
    Attempt, BoxFuture, Clock, FifoKey, MarkSink, OutboxSource, Outgoing, Policy, Prepared,
    Transport, fifo_key, mark_row_id,
};
use waypost_domain::TenantId;
use waypost_store::{EndpointRow, OutboxMark, OutboxRow};

pub fn acme() -> TenantId {
    TenantId::new("acme").expect("a tenant id")
}

pub fn t0() -> Timestamp {
    "2026-03-01T12:00:00Z".parse().expect("t0")
}

pub fn plus(t: Timestamp, secs: i64) -> Timestamp {
    t + jiff::SignedDuration::from_secs(secs)
}

#[derive(Debug, Clone, PartialEq)]
pub enum State {
    Pending,
    Sent,
    Dead,
    Skipped,
}

/// The outbox and the clock.
pub struct World {
    pub rows: Mutex<Vec<(OutboxRow, State)>>,
    pub endpoints: Mutex<HashMap<i64, EndpointRow>>,
    pub marks: Mutex<Vec<OutboxMark>>,
    /// Whether `due` applies the store's per-order FIFO (off: the loop alone must keep it).
    pub fifo: bool,
    pub fail_reports: AtomicUsize,
    pub now: Mutex<Timestamp>,
}

impl World {
    pub fn new(fifo: bool, endpoints: &[i64]) -> Arc<World> {
        let endpoints = endpoints
            .iter()
            .map(|&id| {
                let e = EndpointRow {
                    id,
                    tenant: acme(),
                    name: format!("ep{id}"),
                    kind: "sms".to_owned(),
                    spec: "{}".to_owned(),
                    enabled: true,
                    disabled_reason: None,
                    created_at: t0(),
                    updated_at: t0(),
                };
                (id, e)
            })
            .collect();
        Arc::new(World {
            rows: Mutex::default(),
            endpoints: Mutex::new(endpoints),
            marks: Mutex::default(),
            fifo,
            fail_reports: AtomicUsize::new(0),
            now: Mutex::new(t0()),
        })
    }

    pub fn add(&self, id: i64, order: &str, endpoint_id: i64, trigger: &str, next_at: Timestamp) {
        let row = OutboxRow {
            id,
            tenant: acme(),
            order_id: order.to_owned(),
            seq: u64::try_from(id).expect("id"),
            subscription_id: 1,
            endpoint_id,
            kind: "sms".to_owned(),
            trigger: trigger.to_owned(),
            msg_id: format!("msg_{id}"),
            payload: "{}".to_owned(),
            state: "pending".to_owned(),
            attempts: 0,
            next_at,
            created_at: next_at,
            done_at: None,
            last_code: None,
            last_error: None,
        };
        self.rows.lock().expect("rows").push((row, State::Pending));
    }

    pub fn advance(&self, secs: i64) {
        let mut now = self.now.lock().expect("now");
        *now = plus(*now, secs);
    }

    pub fn state(&self, id: i64) -> State {
        let rows = self.rows.lock().expect("rows");
        rows.iter()
            .find(|(r, _)| r.id == id)
            .map(|(_, s)| s.clone())
            .expect("row")
    }

    pub fn marks(&self) -> Vec<OutboxMark> {
        self.marks.lock().expect("marks").clone()
    }

    pub fn marks_of(&self, id: i64) -> Vec<OutboxMark> {
        self.marks()
            .into_iter()
            .filter(|m| mark_row_id(m) == Some(id))
            .collect()
    }

    pub fn all_settled(&self) -> bool {
        let rows = self.rows.lock().expect("rows");
        rows.iter().all(|(_, s)| *s != State::Pending)
    }
}

impl OutboxSource for World {
    fn due(&self, now: Timestamp, limit: usize) -> Result<Vec<OutboxRow>, String> {
        let rows = self.rows.lock().expect("rows");
        let mut seen: HashSet<FifoKey> = HashSet::new();
        let mut out = Vec::new();
        for (row, state) in rows.iter() {
            if *state != State::Pending {
                continue;
            }
            let first_of_key = seen.insert(fifo_key(row));
            if self.fifo && !first_of_key {
                continue;
            }
            if row.next_at <= now && out.len() < limit {
                out.push(row.clone());
            }
        }
        Ok(out)
    }

    fn next_due(&self) -> Result<Option<Timestamp>, String> {
        let rows = self.rows.lock().expect("rows");
        Ok(rows
            .iter()
            .filter(|(_, s)| *s == State::Pending)
            .map(|(r, _)| r.next_at)
            .min())
    }

    fn endpoint(&self, _tenant: &TenantId, id: i64) -> Result<Option<EndpointRow>, String> {
        Ok(self.endpoints.lock().expect("endpoints").get(&id).cloned())
    }
}

impl MarkSink for World {
    fn report(&self, marks: Vec<OutboxMark>) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            if self
                .fail_reports
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                return Err("writer busy".to_owned());
            }
            let mut rows = self.rows.lock().expect("rows");
            for mark in &marks {
                let mut set =
                    |id: i64, state: State, attempts: Option<u32>, next: Option<Timestamp>| {
                        if let Some((row, s)) = rows.iter_mut().find(|(r, _)| r.id == id) {
                            *s = state;
                            if let Some(n) = attempts {
                                row.attempts = n;
                            }
                            if let Some(next) = next {
                                row.next_at = next;
                            }
                        }
                    };
                match mark {
                    OutboxMark::Sent { id, attempt } => {
                        set(*id, State::Sent, Some(attempt.n), None)
                    }
                    OutboxMark::Retry { id, attempt, next } => {
                        set(*id, State::Pending, Some(attempt.n), Some(*next))
                    }
                    OutboxMark::Defer { id, next } => set(*id, State::Pending, None, Some(*next)),
                    OutboxMark::Dead { id, attempt } => {
                        set(*id, State::Dead, attempt.as_ref().map(|a| a.n), None)
                    }
                    OutboxMark::Skipped { id, .. } => set(*id, State::Skipped, None, None),
                    OutboxMark::EndpointDisabled {
                        endpoint_id,
                        reason,
                    } => {
                        let mut eps = self.endpoints.lock().expect("endpoints");
                        if let Some(e) = eps.get_mut(endpoint_id) {
                            e.enabled = false;
                            e.disabled_reason = Some(reason.clone());
                        }
                    }
                    OutboxMark::EndpointRecovered { endpoint_id, now } => {
                        for (row, s) in rows.iter_mut() {
                            if *s == State::Pending && row.endpoint_id == *endpoint_id {
                                row.next_at = *now;
                            }
                        }
                    }
                    OutboxMark::SpendAdd { .. } => {}
                }
            }
            self.marks.lock().expect("marks").extend(marks);
            Ok(())
        })
    }
}

impl Clock for World {
    fn now(&self) -> Timestamp {
        *self.now.lock().expect("now")
    }

    /// The clock is moved by hand: poll often.
    fn real_wait(&self, at: Timestamp) -> Duration {
        let world = self.now().duration_until(at);
        if world.is_negative() {
            return Duration::ZERO;
        }
        world.unsigned_abs().min(Duration::from_millis(20))
    }
}

/// Answers from a script per endpoint (then 200), after `delay`, recording concurrency.
#[derive(Default)]
pub struct Scripted {
    pub script: Mutex<HashMap<i64, VecDeque<Attempt>>>,
    pub delay: Duration,
    pub sending: Mutex<(HashSet<FifoKey>, HashMap<i64, usize>, usize)>,
    pub max_global: AtomicUsize,
    pub max_per_endpoint: AtomicUsize,
    pub same_order_overlaps: AtomicUsize,
    pub sent: Mutex<Vec<i64>>,
}

impl Scripted {
    pub fn with_delay(delay: Duration) -> Arc<Scripted> {
        Arc::new(Scripted {
            delay,
            ..Scripted::default()
        })
    }

    pub fn then(&self, endpoint: i64, attempt: Attempt) {
        let mut script = self.script.lock().expect("script");
        script.entry(endpoint).or_default().push_back(attempt);
    }

    pub fn sent(&self) -> Vec<i64> {
        self.sent.lock().expect("sent").clone()
    }
}

impl Transport for Scripted {
    fn send<'a>(&'a self, row: &'a OutboxRow, _message: &'a Outgoing) -> BoxFuture<'a, Attempt> {
        Box::pin(async move {
            {
                let mut guard = self.sending.lock().expect("sending");
                let (keys, per, total) = &mut *guard;
                if !keys.insert(fifo_key(row)) {
                    self.same_order_overlaps.fetch_add(1, Ordering::SeqCst);
                }
                let n = per.entry(row.endpoint_id).or_default();
                *n += 1;
                *total += 1;
                self.max_per_endpoint.fetch_max(*n, Ordering::SeqCst);
                self.max_global.fetch_max(*total, Ordering::SeqCst);
                self.sent.lock().expect("sent").push(row.id);
            }
            if !self.delay.is_zero() {
                tokio::time::sleep(self.delay).await;
            }
            {
                let mut guard = self.sending.lock().expect("sending");
                let (keys, per, total) = &mut *guard;
                keys.remove(&fifo_key(row));
                *per.entry(row.endpoint_id).or_default() -= 1;
                *total -= 1;
            }
            let scripted = self
                .script
                .lock()
                .expect("script")
                .get_mut(&row.endpoint_id)
                .and_then(VecDeque::pop_front);
            scripted.unwrap_or_else(|| Attempt::delivered(Some(200), Duration::from_millis(3)))
        })
    }
}

/// Triggers steer it: `quiet` is deferred an hour, `optout` skipped, `spend` sent with a
/// `SpendAdd`, anything else sent.
pub struct FakePolicy;

impl Policy for FakePolicy {
    fn prepare(&self, row: &OutboxRow, _endpoint: &EndpointRow, now: Timestamp) -> Prepared {
        let message = Outgoing::Sms {
            to: "+14155552671".to_owned(),
            body: "hi".to_owned(),
        };
        match row.trigger.as_str() {
            "quiet" => Prepared::Defer(plus(now, 3600)),
            "optout" => Prepared::Skip("customer opted out of sms".to_owned()),
            "spend" => Prepared::Send {
                message,
                on_sent: vec![OutboxMark::SpendAdd {
                    tenant: row.tenant.clone(),
                    day: "2026-03-01".to_owned(),
                    segments: 1,
                    cents: 1,
                }],
            },
            _ => Prepared::Send {
                message,
                on_sent: vec![],
            },
        }
    }
}
