//! The dispatcher loop: reads due outbox rows, sends them, reports marks.
//!
//! One task owns all the state (what is in flight, per-endpoint counts, breakers, marks not yet
//! reported), so nothing is locked; each send runs as its own task in a `JoinSet`. The loop wakes
//! on the engine's [`Notify`] (new rows), at the next due time, when a send finishes and when
//! marks are to be reported (every `flush_every` or `flush_marks` marks).
//!
//! **Invariants:** a row is in flight from the moment it is taken until its mark is *written*
//! (the sink answered `Ok`), so a row whose mark is still on its way is never read as due and
//! sent again; at most one row per (tenant, subscription, order) is in flight (the store's
//! `outbox_due` returns only the oldest pending row of each, and the loop checks again), so an
//! order's notifications to one subscription go out in order; at most `concurrency` sends at
//! once, `per_endpoint` to one endpoint.

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::Notify;
use tokio::task::{Id as TaskId, JoinSet};
use tokio::time::Instant;

use crate::attempt::{Attempt, Verdict};
use crate::hooks::{Admission, EndpointBreaker, Hooks, Prepared};
use crate::rows::{FifoKey, attempt_row, fifo_key, later};
use waypost_domain::TenantId;
use waypost_store::{EndpointRow, OutboxMark, OutboxRow};

/// Limits and cadences.
#[derive(Debug, Clone)]
pub struct DispatcherConfig {
    /// Most rows read per round.
    pub fetch_limit: usize,
    /// Most sends at once.
    pub concurrency: usize,
    /// Most sends at once to one endpoint.
    pub per_endpoint: usize,
    /// Marks are reported at most this long after the first of a batch...
    pub flush_every: Duration,
    /// ...or as soon as this many are waiting.
    pub flush_marks: usize,
    /// Longest sleep without a wake-up: a safety net for a missed notification.
    pub max_idle: Duration,
}

impl Default for DispatcherConfig {
    fn default() -> Self {
        DispatcherConfig {
            fetch_limit: 512,
            concurrency: 64,
            per_endpoint: 8,
            flush_every: Duration::from_millis(10),
            flush_marks: 256,
            max_idle: Duration::from_secs(30),
        }
    }
}

/// What a send task comes back with.
enum Finished {
    Attempted {
        started_at: Timestamp,
        attempt: Attempt,
        on_sent: Vec<OutboxMark>,
    },
    Deferred(Timestamp),
    Skipped(String),
}

/// What the loop remembers of a running task, so a panicking one can be cleaned up.
struct Running {
    row: OutboxRow,
    endpoint: EndpointRow,
    trial: bool,
}

pub struct Dispatcher {
    config: DispatcherConfig,
    hooks: Hooks,
    wake: Arc<Notify>,
    in_flight: HashSet<i64>,
    keys: HashSet<FifoKey>,
    per_endpoint: HashMap<i64, usize>,
    breakers: HashMap<i64, Box<dyn EndpointBreaker>>,
    /// Endpoints disabled by this loop whose `EndpointDisabled` is not written yet.
    disabled: HashSet<i64>,
    running: HashMap<TaskId, Running>,
    marks: Vec<OutboxMark>,
    /// Rows whose marks are in `marks` (released when they are written).
    settled: Vec<(i64, FifoKey)>,
    /// When the oldest unreported mark must be reported.
    flush_at: Option<Instant>,
    /// When to read the outbox again without being woken.
    poll_at: Instant,
    /// Rows of the last read held back only by a concurrency limit: started as sends finish,
    /// without reading the outbox again for each (a read per finished send would cost more
    /// than the send). Replaced by every read.
    backlog: VecDeque<(OutboxRow, EndpointRow)>,
}

impl Dispatcher {
    pub fn new(config: DispatcherConfig, hooks: Hooks) -> Dispatcher {
        Dispatcher {
            config,
            hooks,
            wake: Arc::new(Notify::new()),
            in_flight: HashSet::new(),
            keys: HashSet::new(),
            per_endpoint: HashMap::new(),
            breakers: HashMap::new(),
            disabled: HashSet::new(),
            running: HashMap::new(),
            marks: Vec::new(),
            settled: Vec::new(),
            flush_at: None,
            poll_at: Instant::now(),
            backlog: VecDeque::new(),
        }
    }

    /// `notify_one` after writing outbox rows (or replaying one) wakes the loop. A wake-up
    /// before the loop waits is kept, not lost.
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Runs until `shutdown` resolves, then lets running sends finish and reports their marks.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut tasks: JoinSet<Finished> = JoinSet::new();
        let mut refill = true;
        let mut stopping = false;
        let wake = self.wake.clone();
        loop {
            if refill && !stopping {
                self.fill(&mut tasks).await;
                refill = false;
            }
            if stopping && tasks.is_empty() {
                self.flush().await;
                if !self.marks.is_empty() {
                    tracing::warn!(
                        marks = self.marks.len(),
                        "dispatcher stopped with marks unreported"
                    );
                }
                return;
            }
            let flush_at = self.flush_at;
            tokio::select! {
                () = &mut shutdown, if !stopping => stopping = true,
                Some(joined) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                    match joined {
                        Ok((id, finished)) => self.finish(id, finished),
                        Err(e) => self.lost(e.id(), &e.to_string()),
                    }
                    if !stopping {
                        self.start_backlog(&mut tasks);
                    }
                    if self.marks.len() >= self.config.flush_marks {
                        self.flush().await;
                        refill = true;
                    }
                }
                () = wake.notified(), if !stopping => refill = true,
                () = sleep_until(flush_at), if flush_at.is_some() => {
                    self.flush().await;
                    refill = true;
                }
                () = tokio::time::sleep_until(self.poll_at), if !stopping => refill = true,
            }
        }
    }

    /// Reads what is due and starts what may start.
    async fn fill(&mut self, tasks: &mut JoinSet<Finished>) {
        if tasks.len() >= self.config.concurrency {
            // Full: the next finished send brings the loop back here.
            self.poll_at = Instant::now() + self.config.max_idle;
            return;
        }
        let now = self.hooks.clock.now();
        let source = self.hooks.source.clone();
        let limit = self.config.fetch_limit;
        let read = tokio::task::spawn_blocking(move || read_due(source.as_ref(), now, limit))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r);
        let (rows, endpoints, next) = match read {
            Ok(read) => read,
            Err(e) => {
                tracing::warn!(error = %e, "outbox read failed");
                self.poll_at = Instant::now() + Duration::from_secs(1);
                return;
            }
        };
        self.backlog.clear();
        for row in rows {
            if self.in_flight.contains(&row.id) || self.keys.contains(&fifo_key(&row)) {
                continue;
            }
            let Some(endpoint) = endpoints
                .get(&(row.tenant.clone(), row.endpoint_id))
                .cloned()
                .flatten()
            else {
                // Kept as the notification's error, which its tenant reads: the store's row
                // number is numbered over every tenant, so it is not named.
                let why = "its endpoint no longer exists".to_owned();
                self.settle(&row, vec![OutboxMark::Skipped { id: row.id, why }]);
                continue;
            };
            self.backlog.push_back((row, endpoint));
        }
        self.start_backlog(tasks);
        // Sleep until the next due row; when rows are due but held (in flight, at an
        // endpoint's limit), a finished send or a report wakes the loop anyway.
        let wait = match next {
            Some(at) => self.hooks.clock.real_wait(at),
            None => self.config.max_idle,
        };
        let wait = if wait.is_zero() {
            self.config.max_idle.min(Duration::from_secs(1))
        } else {
            wait
        };
        self.poll_at = Instant::now() + wait.min(self.config.max_idle);
    }

    /// Starts what the backlog holds, as far as the limits allow; what an endpoint's limit
    /// holds back stays for the next finished send.
    fn start_backlog(&mut self, tasks: &mut JoinSet<Finished>) {
        let now = self.hooks.clock.now();
        let mut held = VecDeque::new();
        while let Some((row, endpoint)) = self.backlog.pop_front() {
            if tasks.len() >= self.config.concurrency {
                held.push_back((row, endpoint));
                break;
            }
            if self.in_flight.contains(&row.id) || self.keys.contains(&fifo_key(&row)) {
                continue;
            }
            if !endpoint.enabled || self.disabled.contains(&endpoint.id) {
                let reason = endpoint.disabled_reason.as_deref().unwrap_or("disabled");
                let why = format!("endpoint {} is disabled: {reason}", endpoint.name);
                self.settle(&row, vec![OutboxMark::Skipped { id: row.id, why }]);
                continue;
            }
            let busy = self.per_endpoint.get(&endpoint.id).copied().unwrap_or(0);
            if busy >= self.config.per_endpoint {
                held.push_back((row, endpoint));
                continue;
            }
            let factory = self.hooks.breakers.clone();
            let breaker = self
                .breakers
                .entry(endpoint.id)
                .or_insert_with(|| factory(now));
            let trial = match breaker.admit(now) {
                Admission::No { until } => {
                    self.settle(
                        &row,
                        vec![OutboxMark::Defer {
                            id: row.id,
                            next: until,
                        }],
                    );
                    continue;
                }
                Admission::Yes => false,
                Admission::Trial => true,
            };
            self.in_flight.insert(row.id);
            self.keys.insert(fifo_key(&row));
            *self.per_endpoint.entry(endpoint.id).or_default() += 1;
            let handle = tasks.spawn(deliver(self.hooks.clone(), row.clone(), endpoint.clone()));
            self.running.insert(
                handle.id(),
                Running {
                    row,
                    endpoint,
                    trial,
                },
            );
        }
        held.append(&mut self.backlog);
        self.backlog = held;
    }

    /// A send task ended: its marks, its breaker.
    fn finish(&mut self, id: TaskId, finished: Finished) {
        let Some(Running {
            row,
            endpoint,
            trial,
        }) = self.running.remove(&id)
        else {
            return;
        };
        self.release_endpoint(endpoint.id);
        let now = self.hooks.clock.now();
        let marks = match finished {
            Finished::Deferred(next) => {
                self.abandon(endpoint.id, trial);
                vec![OutboxMark::Defer { id: row.id, next }]
            }
            Finished::Skipped(why) => {
                self.abandon(endpoint.id, trial);
                vec![OutboxMark::Skipped { id: row.id, why }]
            }
            Finished::Attempted {
                started_at,
                attempt,
                on_sent,
            } => self.judge(&row, &endpoint, trial, started_at, &attempt, on_sent, now),
        };
        self.settle(&row, marks);
    }

    #[allow(clippy::too_many_arguments)]
    fn judge(
        &mut self,
        row: &OutboxRow,
        endpoint: &EndpointRow,
        trial: bool,
        started_at: Timestamp,
        attempt: &Attempt,
        on_sent: Vec<OutboxMark>,
        now: Timestamp,
    ) -> Vec<OutboxMark> {
        let log = attempt_row(row, started_at, attempt);
        let breaker = self.breakers.get_mut(&endpoint.id);
        match attempt.verdict {
            Verdict::Delivered => {
                let recovered = breaker.is_some_and(|b| b.on_success(now));
                let mut marks = vec![OutboxMark::Sent {
                    id: row.id,
                    attempt: log,
                }];
                marks.extend(on_sent);
                if recovered {
                    tracing::info!(endpoint = endpoint.id, "endpoint recovered");
                    marks.push(OutboxMark::EndpointRecovered {
                        endpoint_id: endpoint.id,
                        now,
                    });
                }
                marks
            }
            Verdict::Gone => {
                if let Some(b) = breaker {
                    b.on_failure(now);
                }
                self.disabled.insert(endpoint.id);
                let reason = format!("410 Gone from endpoint {}", endpoint.name);
                tracing::warn!(endpoint = endpoint.id, "endpoint gone, disabled");
                vec![
                    OutboxMark::Dead {
                        id: row.id,
                        attempt: Some(log),
                    },
                    OutboxMark::EndpointDisabled {
                        endpoint_id: endpoint.id,
                        reason,
                    },
                ]
            }
            Verdict::Refused => {
                // The message's fault, not the endpoint's health.
                self.abandon(endpoint.id, trial);
                vec![OutboxMark::Dead {
                    id: row.id,
                    attempt: Some(log),
                }]
            }
            Verdict::Retry => {
                if let Some(b) = breaker {
                    b.on_failure(now);
                }
                let asked = attempt.retry_after_delay(now);
                match (self.hooks.retry)(log.n, asked) {
                    Some(delay) => {
                        let next = later(now, delay);
                        vec![OutboxMark::Retry {
                            id: row.id,
                            attempt: log,
                            next,
                        }]
                    }
                    None => vec![OutboxMark::Dead {
                        id: row.id,
                        attempt: Some(log),
                    }],
                }
            }
        }
    }

    /// A send task panicked: no mark; the row stays pending and is read again.
    fn lost(&mut self, id: TaskId, why: &str) {
        let Some(Running {
            row,
            endpoint,
            trial,
        }) = self.running.remove(&id)
        else {
            return;
        };
        tracing::error!(outbox_id = row.id, error = why, "send task failed");
        self.release_endpoint(endpoint.id);
        self.abandon(endpoint.id, trial);
        self.in_flight.remove(&row.id);
        self.keys.remove(&fifo_key(&row));
    }

    fn abandon(&mut self, endpoint_id: i64, trial: bool) {
        if let (true, Some(b)) = (trial, self.breakers.get_mut(&endpoint_id)) {
            b.on_abandon();
        }
    }

    fn release_endpoint(&mut self, endpoint_id: i64) {
        if let Some(n) = self.per_endpoint.get_mut(&endpoint_id) {
            *n = n.saturating_sub(1);
        }
    }

    /// Queues `marks` for `row`, which stays in flight until they are written.
    fn settle(&mut self, row: &OutboxRow, marks: Vec<OutboxMark>) {
        self.in_flight.insert(row.id);
        self.keys.insert(fifo_key(row));
        self.settled.push((row.id, fifo_key(row)));
        self.marks.extend(marks);
        if self.flush_at.is_none() {
            self.flush_at = Some(Instant::now() + self.config.flush_every);
        }
    }

    /// Reports the waiting marks; on success their rows leave the in-flight set. On failure
    /// they are kept (rows still in flight) and tried again after `flush_every`.
    async fn flush(&mut self) {
        if self.marks.is_empty() {
            self.flush_at = None;
            return;
        }
        let marks = self.marks.clone();
        match self.hooks.sink.report(marks).await {
            Ok(()) => {
                // Written: the source now says these endpoints are disabled (and will say so
                // until an operator enables them again, which must then be obeyed).
                for mark in &self.marks {
                    if let OutboxMark::EndpointDisabled { endpoint_id, .. } = mark {
                        self.disabled.remove(endpoint_id);
                    }
                }
                self.marks.clear();
                for (id, key) in self.settled.drain(..) {
                    self.in_flight.remove(&id);
                    self.keys.remove(&key);
                }
                self.flush_at = None;
            }
            Err(e) => {
                tracing::warn!(error = %e, marks = self.marks.len(), "reporting marks failed");
                self.flush_at =
                    Some(Instant::now() + self.config.flush_every.max(Duration::from_millis(100)));
            }
        }
    }
}

type Read = (
    Vec<OutboxRow>,
    HashMap<(TenantId, i64), Option<EndpointRow>>,
    Option<Timestamp>,
);

/// One blocking round trip: the due rows, their endpoints, the next due time.
fn read_due(
    source: &dyn crate::hooks::OutboxSource,
    now: Timestamp,
    limit: usize,
) -> Result<Read, String> {
    let rows = source.due(now, limit)?;
    let mut endpoints = HashMap::new();
    for row in &rows {
        let key = (row.tenant.clone(), row.endpoint_id);
        if let std::collections::hash_map::Entry::Vacant(slot) = endpoints.entry(key) {
            slot.insert(source.endpoint(&row.tenant, row.endpoint_id)?);
        }
    }
    let next = source.next_due()?;
    Ok((rows, endpoints, next))
}

/// One row: ask the policy (on the blocking pool), then send.
async fn deliver(hooks: Hooks, row: OutboxRow, endpoint: EndpointRow) -> Finished {
    let now = hooks.clock.now();
    let policy = hooks.policy.clone();
    let (row, prepared) = match tokio::task::spawn_blocking(move || {
        let prepared = policy.prepare(&row, &endpoint, now);
        (row, prepared)
    })
    .await
    {
        Ok(done) => done,
        // The policy panicked: a retry without an attempt, a minute on.
        Err(e) => {
            return Finished::Deferred(later(now, Duration::from_secs(60))).log(&e.to_string());
        }
    };
    match prepared {
        Prepared::Defer(until) => Finished::Deferred(until),
        Prepared::Skip(why) => Finished::Skipped(why),
        Prepared::Send { message, on_sent } => {
            let started_at = hooks.clock.now();
            let attempt = hooks.transport.send(&row, &message).await;
            Finished::Attempted {
                started_at,
                attempt,
                on_sent,
            }
        }
    }
}

impl Finished {
    fn log(self, error: &str) -> Finished {
        tracing::error!(error, "notification policy failed");
        self
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
