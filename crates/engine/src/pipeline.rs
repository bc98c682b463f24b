//! The embedded pipeline: one OS thread owns the store's writer. It alternates between
//! 1. draining every waiting submission into one log transaction (group commit), and
//! 2. applying what the log holds beyond the checkpoint, in one projection transaction.
//!
//! Answering the submitters and publishing the changes wait for the log to be durable; when the
//! store defers its fsync (`EventLog::log_sync`), that wait runs on the syncer thread
//! (`syncer.rs`) while this one goes on applying.
//!
//! A dedicated thread, not a task: SQLite calls block for milliseconds (fsync), which would
//! stall an async worker; and one owner of the connection needs no lock.

use crate::detector::{AlertCommandError, Detector, SourceReport};
use crate::metrics::Metrics;
use crate::notifier::Notifier;
use crate::outbox::{NotifyCommand, NotifyCommandError, NotifyReply};
use crate::syncer::{self, After, Publisher, Reply};
use crossbeam_channel::{Receiver, Sender, TrySendError};
use jiff::Timestamp;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::{Notify, broadcast, oneshot};
use waypost_domain::Clock;
use waypost_domain::{Event, TenantId};
use waypost_rules::{Command, RuleSet};
use waypost_store::{
    AlertRow, Change, NewEvent, Partition, Partitioning, StoreError, StoredEvent, Submission,
    WriteStore,
};

/// Least real time between two rounds that raise alerts: deadlines due within it share one
/// commit instead of one commit each (at 100,000 a minute they come 0.6 ms apart, and a
/// commit per alert rewrote ~24 KB of WAL pages per alert: 2.4 GB a minute, and a checkpoint
/// stall every second; measured with `waypost bench rules`).
///
/// The first alert after a quiet spell is not delayed: only a round that raised alerts starts
/// the spacing.
const FIRE_SPACING: Duration = Duration::from_millis(20);

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Events accepted but not yet applied, past which intake answers Busy.
    pub max_queue_events: u64,
    /// Submissions waiting for the writer, past which intake answers Busy.
    pub max_waiting_submissions: usize,
    /// Most events folded into one projection transaction.
    pub apply_batch: usize,
    /// Most events appended in one log transaction.
    pub append_batch: usize,
    /// Changes kept for live subscribers that fall behind; older ones are read from the store.
    pub change_buffer: usize,
    /// The exception rules the detector applies (none: it stays idle).
    pub rules: Arc<RuleSet>,
    /// How state changes become notifications (templates are the dispatcher's).
    pub notify: crate::notifier::NotifyConfig,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            max_queue_events: 200_000,
            max_waiting_submissions: 4096,
            apply_batch: 8192,
            append_batch: 16_384,
            change_buffer: 65_536,
            rules: Arc::new(RuleSet::empty()),
            notify: crate::notifier::NotifyConfig::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("the queue is full ({depth} events waiting); retry after {retry_after_secs} s")]
    Busy { depth: u64, retry_after_secs: u64 },
    #[error("the engine is shutting down")]
    ShuttingDown,
    #[error("the store could not commit the events: {0}")]
    Store(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    pub accepted: usize,
    pub duplicates: usize,
}

pub(crate) enum Job {
    Submit {
        submission: Submission,
        reply: Reply,
    },
    /// A person's command on an alert: through the writer, the only one that changes alerts.
    Alert {
        tenant: TenantId,
        id: i64,
        command: Command,
        actor: String,
        reply: oneshot::Sender<Result<AlertRow, AlertCommandError>>,
    },
    /// Partners' health, for the source rules.
    Sources(Vec<SourceReport>),
    /// New exception rules (a reload).
    Rules {
        rules: Arc<RuleSet>,
        reply: oneshot::Sender<()>,
    },
    /// Notification settings and the dispatcher's reports (`outbox.rs`).
    Notify {
        command: NotifyCommand,
        reply: oneshot::Sender<Result<NotifyReply, NotifyCommandError>>,
    },
}

impl Job {
    fn events(&self) -> usize {
        match self {
            Job::Submit { submission, .. } => submission.events.len(),
            Job::Alert { .. } | Job::Rules { .. } | Job::Sources(_) | Job::Notify { .. } => 0,
        }
    }
}

/// The front door of the pipeline, cheap to clone into every request handler.
#[derive(Clone)]
pub struct IntakeHandle {
    pub(crate) tx: Sender<Job>,
    metrics: Arc<Metrics>,
    max_queue: u64,
}

/// An event as the log stores it: geocoded first (places named without coordinates get
/// them from the gazetteer, so the stored event and its content hash carry them), then
/// encoded and hashed. Every way into the log goes through here; run it on the caller's
/// thread, not the writer's.
pub fn prepare(event: Event) -> Result<NewEvent, StoreError> {
    NewEvent::new(waypost_geo::filled(event))
}

impl IntakeHandle {
    /// Whether `events` more fit under the queue bound: callers check before doing the work of
    /// encoding a request that would only be refused.
    pub fn has_room(&self, events: usize) -> Result<(), IntakeError> {
        let depth = self.metrics.queue_depth.get();
        if depth + events as u64 > self.max_queue {
            return Err(IntakeError::Busy {
                depth,
                retry_after_secs: 1,
            });
        }
        Ok(())
    }

    /// Resolves once the events are durable in the log; applying them happens after.
    pub async fn submit(
        &self,
        tenant: TenantId,
        events: Vec<Event>,
        received_at: Timestamp,
    ) -> Result<Receipt, IntakeError> {
        self.has_room(events.len())?;
        // Encoding and hashing happen here, on the caller's thread, not on the single writer.
        let events = events
            .into_iter()
            .map(prepare)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| IntakeError::Store(e.to_string()))?;
        self.submit_prepared(Submission::new(tenant, events, received_at))
            .await
    }

    /// Submits events already encoded (with [`prepare`], on the caller's thread), with
    /// whatever the submission carries besides: a vendor document to keep, quarantine rows a
    /// remap settles.
    pub async fn submit_prepared(&self, submission: Submission) -> Result<Receipt, IntakeError> {
        self.has_room(submission.events.len())?;
        let (reply, rx) = oneshot::channel();
        let job = Job::Submit { submission, reply };
        match self.tx.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                return Err(IntakeError::Busy {
                    depth: self.metrics.queue_depth.get(),
                    retry_after_secs: 1,
                });
            }
            Err(TrySendError::Disconnected(_)) => return Err(IntakeError::ShuttingDown),
        }
        rx.await.unwrap_or(Err(IntakeError::ShuttingDown))
    }
}

/// A running pipeline.
pub struct Engine {
    pub intake: IntakeHandle,
    pub changes: broadcast::Sender<Arc<Change>>,
    /// Every alert raised or changed, as stored.
    pub alerts: broadcast::Sender<Arc<AlertRow>>,
    /// Signalled when the outbox may hold work that is due: after durable changes, a replay, a
    /// test send or a mark that frees an order's next notification.
    pub outbox_wake: Arc<Notify>,
    pub metrics: Arc<Metrics>,
    /// The partitions this engine's writer owns; their outbox retries are this process's to
    /// send.
    pub partitions: Vec<Partition>,
    ready: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Engine {
    /// Starts the writer thread. It first applies whatever the log holds beyond the checkpoint
    /// (the recovery after a crash), then reports ready.
    pub fn start(
        store: Box<dyn WriteStore>,
        clock: Arc<dyn Clock>,
        config: EngineConfig,
    ) -> std::io::Result<Engine> {
        let metrics = Arc::new(Metrics::default());
        let (tx, rx) = crossbeam_channel::bounded(config.max_waiting_submissions);
        let (changes, _) = broadcast::channel(config.change_buffer);
        let (alerts, _) = broadcast::channel(4096);
        let ready = Arc::new(AtomicBool::new(false));
        let outbox_wake = Arc::new(Notify::new());
        // This writer owns every partition of the store: the embedded deployment. A worker of a
        // partitioned queue would own the partitions it was assigned.
        let partitioning = store.partitioning();
        let worker = Worker {
            partitions: partitioning.all().collect(),
            partitioning,
            store,
            clock: clock.clone(),
            rx,
            metrics: metrics.clone(),
            publisher: Publisher {
                metrics: metrics.clone(),
                changes: changes.clone(),
                clock,
                outbox_wake: outbox_wake.clone(),
            },
            after: None,
            ready: ready.clone(),
            pending: VecDeque::new(),
            detector: Detector::new(
                config.rules.clone(),
                alerts.clone(),
                partitioning.all().collect(),
            ),
            notifier: Notifier::new(config.notify.clone()),
            outbox_wake: outbox_wake.clone(),
            last_fire: None,
            config: config.clone(),
        };
        // The gazetteer takes tens of milliseconds to build: done now, beside recovery, not on
        // the thread of the first request that carries a location. Failing to spawn only means
        // it is built on first use instead.
        let _ = std::thread::Builder::new()
            .name("waypost-geo".into())
            .spawn(|| {
                waypost_geo::Gazetteer::embedded();
            });
        let thread = std::thread::Builder::new()
            .name("waypost-writer".into())
            .spawn(move || worker.run())?;
        Ok(Engine {
            intake: IntakeHandle {
                tx,
                metrics: metrics.clone(),
                max_queue: config.max_queue_events,
            },
            changes,
            alerts,
            outbox_wake,
            metrics,
            partitions: partitioning.all().collect(),
            ready,
            thread: Some(thread),
        })
    }

    pub fn ready_flag(&self) -> Arc<AtomicBool> {
        self.ready.clone()
    }

    /// Stops taking submissions, applies everything accepted, and waits for the writer to finish.
    /// Every clone of the intake handle must be dropped first, or this waits for them.
    pub fn shutdown(mut self) {
        let thread = self.thread.take();
        drop(self);
        if let Some(t) = thread {
            let _ = t.join();
        }
    }
}

struct Worker {
    store: Box<dyn WriteStore>,
    /// How the store spreads orders, and the partitions this writer owns (their checkpoints,
    /// their timers).
    partitioning: Partitioning,
    partitions: Vec<Partition>,
    clock: Arc<dyn Clock>,
    rx: Receiver<Job>,
    metrics: Arc<Metrics>,
    publisher: Publisher,
    /// The syncer, when the store defers its fsync: answers and changes go through it.
    after: Option<Sender<After>>,
    ready: Arc<AtomicBool>,
    /// Appended, not yet applied, in seq order. Bounded by max_queue_events via intake.
    pending: VecDeque<StoredEvent>,
    detector: Detector,
    notifier: Notifier,
    outbox_wake: Arc<Notify>,
    /// When the detector last raised alerts (real time).
    last_fire: Option<Instant>,
    config: EngineConfig,
}

impl Worker {
    fn run(mut self) {
        if let Err(e) = self.recover() {
            tracing::error!(error = %e, "recovery failed; the engine will not accept events");
            return;
        }
        let mut syncer_thread = None;
        if let Some(sync) = self.store.log_sync() {
            match syncer::spawn(sync, self.publisher.clone()) {
                Ok((tx, handle)) => {
                    self.after = Some(tx);
                    syncer_thread = Some(handle);
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot start the syncer; the engine will not accept events");
                    return;
                }
            }
        }
        self.ready.store(true, Relaxed);
        tracing::info!("pipeline ready");
        let mut open = true;
        while open || !self.pending.is_empty() {
            let mut jobs = Vec::new();
            if self.pending.is_empty() && open {
                // Nothing to apply: sleep until a submission arrives or a deadline is due
                // (not at all while the rules re-scan).
                let wait = if self.detector.rescanning() {
                    Some(Duration::ZERO)
                } else {
                    self.detector.next_due().map(|d| {
                        let spacing = self
                            .last_fire
                            .map_or(Duration::ZERO, |t| FIRE_SPACING.saturating_sub(t.elapsed()));
                        self.clock.real_wait(d).max(spacing)
                    })
                };
                match wait {
                    Some(w) => match self.rx.recv_timeout(w) {
                        Ok(j) => jobs.push(j),
                        Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                        Err(crossbeam_channel::RecvTimeoutError::Disconnected) => open = false,
                    },
                    None => match self.rx.recv() {
                        Ok(j) => jobs.push(j),
                        Err(_) => open = false,
                    },
                }
            }
            let mut n: usize = jobs.iter().map(Job::events).sum();
            while n < self.config.append_batch && open {
                match self.rx.try_recv() {
                    Ok(j) => {
                        n += j.events();
                        jobs.push(j);
                    }
                    Err(crossbeam_channel::TryRecvError::Empty) => break,
                    Err(crossbeam_channel::TryRecvError::Disconnected) => {
                        open = false;
                        break;
                    }
                }
            }
            let round = Instant::now();
            let (alert_jobs, jobs): (Vec<Job>, Vec<Job>) = jobs
                .into_iter()
                .partition(|j| !matches!(j, Job::Submit { .. }));
            let appended = jobs.len();
            if !jobs.is_empty() {
                self.append(jobs);
            }
            let append_took = round.elapsed();
            let applying = self.pending.len().min(self.config.apply_batch);
            if applying > 0 {
                self.apply_pending();
            }
            for job in alert_jobs {
                self.alert_job(job);
            }
            self.fire_due();
            if self.detector.rescanning()
                && let Err(e) = self
                    .detector
                    .rescan_step(&mut *self.store, self.clock.now())
            {
                self.metrics.store_errors.inc();
                tracing::error!(error = %e, "re-scanning orders for the rules failed; retrying");
                self.detector.start_rescan();
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            self.notify_raised();
            tracing::debug!(
                requests = appended,
                events = n,
                append_ms = append_took.as_secs_f64() * 1e3,
                applied = applying,
                apply_ms = (round.elapsed() - append_took).as_secs_f64() * 1e3,
                "round"
            );
        }
        // The syncer drains what is queued (answers, changes), then ends.
        self.after = None;
        if let Some(t) = syncer_thread {
            let _ = t.join();
        }
        self.ready.store(false, Relaxed);
        tracing::info!("pipeline stopped");
    }

    fn alert_job(&mut self, job: Job) {
        match job {
            Job::Alert {
                tenant,
                id,
                command,
                actor,
                reply,
            } => {
                let now = self.clock.now();
                let mut out =
                    self.detector
                        .command(&mut *self.store, &tenant, id, command, &actor, now);
                // A person was told it is done: make it so on disk, as a submission's 202 is
                // (the writer's commits do not fsync on their own; people act rarely).
                if out.is_ok()
                    && let Some(sync) = self.store.log_sync()
                    && let Err(e) = sync.sync()
                {
                    out = Err(AlertCommandError::Store { id, source: e });
                }
                let _ = reply.send(out);
            }
            Job::Rules { rules, reply } => {
                tracing::info!(rules = rules.len(), "exception rules reloaded");
                self.detector.reload(rules);
                let _ = reply.send(());
            }
            Job::Sources(reports) => {
                let now = self.clock.now();
                if let Err(e) = self.detector.sources(&mut *self.store, &reports, now) {
                    self.metrics.store_errors.inc();
                    tracing::error!(error = %e, "source rules failed; next report retries");
                }
            }
            Job::Notify { command, reply } => {
                let now = self.clock.now();
                let persist = !matches!(command, NotifyCommand::Marks(_));
                let mut out =
                    crate::outbox::run(&mut *self.store, &mut self.notifier, command, now)
                        .map_err(NotifyCommandError::from);
                // Settings a person changed are on disk when they are told so; the
                // dispatcher's marks are not waited for (a lost one re-sends with the same id).
                if persist
                    && out.is_ok()
                    && let Some(sync) = self.store.log_sync()
                    && let Err(e) = sync.sync()
                {
                    out = Err(NotifyCommandError::Store(e));
                }
                let out = out.map(|(reply, wake)| {
                    if wake {
                        self.outbox_wake.notify_one();
                    }
                    reply
                });
                let _ = reply.send(out);
            }
            Job::Submit { .. } => {}
        }
    }

    /// Plans the notifications of the alerts opened this round (applying, firing deadlines,
    /// partners' reports, re-scanning) and wakes the dispatcher when there are any.
    fn notify_raised(&mut self) {
        let raised = self.detector.take_raised();
        if raised.is_empty() {
            return;
        }
        let now = self.clock.now();
        match crate::outbox::plan_raised(&mut *self.store, &self.notifier, &raised, now) {
            Ok(true) => self.outbox_wake.notify_one(),
            Ok(false) => {}
            Err(e) => {
                self.metrics.store_errors.inc();
                tracing::error!(error = %e, alerts = raised.len(), "planning alert notifications failed");
            }
        }
    }

    fn fire_due(&mut self) {
        if self.last_fire.is_some_and(|t| t.elapsed() < FIRE_SPACING) {
            return;
        }
        let now = self.clock.now();
        match self.detector.fire(&mut *self.store, now) {
            Ok(0) => {}
            Ok(n) => {
                self.last_fire = Some(Instant::now());
                self.metrics.alerts_raised.inc_by(n as u64);
            }
            Err(e) => {
                self.metrics.store_errors.inc();
                tracing::error!(error = %e, "raising due alerts failed; retrying next round");
            }
        }
        self.metrics
            .deadlines_pending
            .set(self.detector.pending() as u64);
        self.metrics
            .timer_index_bytes
            .set(self.detector.timer_bytes() as u64);
    }

    fn recover(&mut self) -> Result<(), StoreError> {
        self.notifier.reload(&mut *self.store)?;
        let loaded = self.detector.load(&mut *self.store)?;
        if loaded > 0 {
            tracing::info!(deadlines = loaded, "pending deadlines loaded");
        }
        let mut total = 0usize;
        for p in self.partitions.clone() {
            total += self.recover_partition(p)?;
        }
        if total > 0 {
            tracing::info!(events = total, "replayed events beyond the checkpoint");
        }
        // Deadlines are committed after the projection: whatever a crash left between the
        // two, or a rule changed while stopped, the re-scan puts right.
        self.detector.start_rescan();
        Ok(())
    }

    /// Applies what `partition` of the log holds beyond its checkpoint; how many events.
    fn recover_partition(&mut self, partition: Partition) -> Result<usize, StoreError> {
        let mut total = 0usize;
        loop {
            let from = self.store.applied_seq(partition)?;
            let batch = self
                .store
                .events_after(partition, from, self.config.apply_batch)?;
            if batch.is_empty() {
                break;
            }
            total += batch.len();
            let now = self.clock.now();
            let changes =
                self.store
                    .apply_with(partition, &batch, now, &mut self.notifier.planner(now))?;
            self.detector
                .after_apply(&mut *self.store, &batch, &changes, now)?;
            // Counted apart: these were accepted by an earlier process, so counting them as
            // applied here would make applied exceed accepted.
            self.metrics.events_recovered.inc_by(batch.len() as u64);
            self.publisher.publish(changes, false);
        }
        Ok(total)
    }

    fn append(&mut self, jobs: Vec<Job>) {
        let (subs, replies): (Vec<Submission>, Vec<_>) = jobs
            .into_iter()
            .filter_map(|j| match j {
                Job::Submit { submission, reply } => Some((submission, reply)),
                Job::Alert { .. } | Job::Rules { .. } | Job::Sources(_) | Job::Notify { .. } => {
                    None
                }
            })
            .unzip();
        let started = Instant::now();
        match self.store.append(&subs) {
            Ok(outcomes) => {
                let committed = Instant::now();
                self.metrics.append_commits.inc();
                let mut answers = Vec::with_capacity(replies.len());
                for (outcome, reply) in outcomes.into_iter().zip(replies) {
                    let receipt = Receipt {
                        accepted: outcome.accepted,
                        duplicates: outcome.duplicates,
                    };
                    self.metrics.events_accepted.inc_by(outcome.accepted as u64);
                    self.metrics
                        .events_duplicate
                        .inc_by(outcome.duplicates as u64);
                    self.metrics.queue_depth.inc_by(outcome.accepted as u64);
                    // Applying may start before the fsync: what it writes comes after these
                    // events in the WAL, so it can never be durable without them.
                    self.pending.extend(outcome.stored);
                    answers.push((reply, receipt));
                }
                match &self.after {
                    Some(after) => {
                        let _ = after.send(After::Ack {
                            answers,
                            committed,
                            started,
                        });
                    }
                    None => self.publisher.answer(answers, started),
                }
            }
            Err(e) => {
                self.metrics.store_errors.inc();
                tracing::error!(error = %e, submissions = subs.len(), "append failed");
                for reply in replies {
                    let _ = reply.send(Err(IntakeError::Store(e.to_string())));
                }
            }
        }
    }

    fn apply_pending(&mut self) {
        let n = self.pending.len().min(self.config.apply_batch);
        let now = self.clock.now();
        let parting = self.partitioning;
        let batch = &self.pending.make_contiguous()[..n];
        // One partition per commit (its checkpoint moves with it): the run of pending events
        // in the first one's partition. With one partition that is the whole batch.
        let of = |e: &StoredEvent| parting.of(&e.tenant, e.event.order_id.as_str());
        let Some(partition) = batch.first().map(of) else {
            return;
        };
        let n = if parting.count() == 1 {
            n
        } else {
            batch.iter().take_while(|e| of(e) == partition).count()
        };
        let batch = &batch[..n];
        match self
            .store
            .apply_with(partition, batch, now, &mut self.notifier.planner(now))
        {
            Ok(changes) => {
                // Its own transaction, after the projection's: a failure here is logged and
                // leaves the state applied (the rules catch up at the order's next event).
                if let Err(e) = self
                    .detector
                    .after_apply(&mut *self.store, batch, &changes, now)
                {
                    self.metrics.store_errors.inc();
                    tracing::error!(error = %e, events = n, "exception rules failed on a batch");
                }
                self.pending.drain(..n);
                self.metrics.apply_commits.inc();
                self.metrics.events_applied.inc_by(n as u64);
                self.metrics.queue_depth.dec_by(n as u64);
                match &self.after {
                    Some(after) => {
                        let _ = after.send(After::Publish(changes));
                    }
                    None => self.publisher.publish(changes, true),
                }
            }
            Err(e) => {
                // Keep the events: they are in the log and the next round retries them. Back off
                // a little so a persistent failure does not spin.
                self.metrics.store_errors.inc();
                tracing::error!(error = %e, events = n, "apply failed; will retry");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}
