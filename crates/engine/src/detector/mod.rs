//! Exception detection, on the writer thread: the shell around `waypost-rules`.
//!
//! After every apply it recomputes the deadlines of the orders the batch touched (from their
//! folded state, in event time), raises event rules' alerts, and re-checks the open alerts of
//! those orders (a late event can clear one, or show it was a false positive). A timer index
//! in memory holds every pending deadline's instant; the pipeline sleeps until the earliest
//! and then [`Detector::fire`] turns what is due into alerts. Deadlines and alerts are written
//! with `RuleStore::rules_commit`, one transaction per round, so a restart reloads exactly
//! what was pending (`Detector::load`).
//!
//! Invariants: one open alert per (subject, rule), kept by the store's unique index; a
//! deadline fires only when due on the engine's clock, never before; the writer thread is
//! the only one that changes alerts, so a person's command and the detector never race.

mod convert;
mod sources;

pub use sources::SourceReport;

use convert::{Subject, audit_in, row_state, with_state};
use jiff::Timestamp;
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use tokio::sync::broadcast;
use waypost_domain::{Status, TenantId};
use waypost_rules::{Arrival, Command, RuleSet, TimerIndex, TransitionError, Verdict};
use waypost_store::{
    AlertRow, AlertWrite, Change, DeadlineRow, Partition, StoreError, StoredEvent, SubjectKey,
    WriteStore,
};

/// Most deadlines turned into alerts per round, so a burst does not hold up intake.
const FIRE_BATCH: usize = 2048;

/// The detector's own name in audit trails.
pub const ACTOR: &str = "waypost";

#[derive(Debug, thiserror::Error)]
pub enum AlertCommandError {
    #[error("no alert {id} for this tenant")]
    NotFound { id: i64 },
    #[error("alert {id}: {source}")]
    Transition { id: i64, source: TransitionError },
    #[error("the store could not change alert {id}: {source}")]
    Store { id: i64, source: StoreError },
    #[error("the engine is shutting down")]
    ShuttingDown,
}

pub struct Detector {
    rules: Arc<RuleSet>,
    timers: TimerIndex<u64>,
    alerts: broadcast::Sender<Arc<AlertRow>>,
    /// While re-scanning every open order (after a reload, or at start-up to catch up with
    /// whatever happened between an apply and its rules commit): the last order done.
    /// The partition being re-scanned (an index into `partitions`) and the last order done.
    rescan: Option<(usize, Option<(TenantId, String)>)>,
    /// The partitions whose timers this detector owns: their deadlines and snoozes are loaded
    /// and fired here, and nowhere else.
    partitions: Vec<Partition>,
    /// Alerts opened since the writer last took them: what the notifier tells subscribers.
    raised: Vec<AlertRow>,
}

/// Orders re-scanned per round, so intake keeps flowing during a re-scan.
const RESCAN_BATCH: usize = 512;

/// A stable key for one (subject, rule): the timer index holds 64-bit keys, not strings.
fn timer_key(s: &SubjectKey, rule: &str) -> u64 {
    hash_key(s.tenant.as_str(), &s.order_id, &s.track, rule)
}

fn hash_key(tenant: &str, order: &str, track: &str, rule: &str) -> u64 {
    // FNV-1a through the std Hasher interface: stable across runs, unlike RandomState.
    struct Fnv(u64);
    impl Hasher for Fnv {
        fn finish(&self) -> u64 {
            self.0
        }
        fn write(&mut self, bytes: &[u8]) {
            for b in bytes {
                self.0 ^= u64::from(*b);
                self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    (tenant, order, track, rule).hash(&mut h);
    h.finish()
}

/// The timer of a snoozed alert's wake-up: no tenant is empty, so it never meets a deadline's.
fn wake_key(id: i64) -> u64 {
    hash_key("", &id.to_string(), "", "~wake")
}

impl Detector {
    pub fn new(
        rules: Arc<RuleSet>,
        alerts: broadcast::Sender<Arc<AlertRow>>,
        partitions: Vec<Partition>,
    ) -> Self {
        Detector {
            rules,
            timers: TimerIndex::new(),
            alerts,
            rescan: None,
            partitions,
            raised: Vec::new(),
        }
    }

    /// The alerts opened since the last call, oldest first.
    pub fn take_raised(&mut self) -> Vec<AlertRow> {
        std::mem::take(&mut self.raised)
    }

    /// Replaces the rules; every open order's deadlines are recomputed over the next rounds.
    /// Alerts of a rule that is gone stay until a person resolves them.
    pub fn reload(&mut self, rules: Arc<RuleSet>) {
        self.rules = rules;
        self.rescan = Some((0, None));
    }

    pub fn rules(&self) -> &Arc<RuleSet> {
        &self.rules
    }

    /// Starts a re-scan of every open order (at start-up).
    pub fn start_rescan(&mut self) {
        if self.active() {
            self.rescan = Some((0, None));
        }
    }

    pub fn rescanning(&self) -> bool {
        self.rescan.is_some()
    }

    /// One round of the re-scan. Returns how many orders it looked at.
    pub fn rescan_step(
        &mut self,
        store: &mut dyn WriteStore,
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        let Some((at, cursor)) = self.rescan.take() else {
            return Ok(0);
        };
        let Some(&partition) = self.partitions.get(at) else {
            return Ok(0);
        };
        let page = store.open_orders(
            partition,
            cursor.as_ref().map(|(t, o)| (t, o.as_str())),
            RESCAN_BATCH,
        )?;
        let mut round = Round::default();
        for (tenant, order_id) in &page {
            self.order(store, tenant, order_id, &[], false, now, &mut round)?;
        }
        self.commit(store, round, now)?;
        if page.len() == RESCAN_BATCH {
            self.rescan = Some((at, page.last().cloned()));
        } else if at + 1 < self.partitions.len() {
            self.rescan = Some((at + 1, None));
        } else {
            tracing::info!(
                deadlines = self.timers.len(),
                "exception rules re-scanned every open order"
            );
        }
        Ok(page.len())
    }

    pub fn active(&self) -> bool {
        !self.rules.is_empty()
    }

    /// Files every stored deadline in the timer index (start-up).
    pub fn load(&mut self, store: &mut dyn WriteStore) -> Result<u64, StoreError> {
        let mut n = 0;
        for &p in &self.partitions {
            let timers = &mut self.timers;
            n += store.for_each_deadline(p, &mut |d| {
                if !d.fired {
                    timers.schedule(timer_key(&d.subject, &d.rule), d.due);
                }
            })?;
            // Every snoozed alert: "until" the latest instant the store can hold (year 2262).
            let latest = Timestamp::from_second(9_200_000_000).unwrap_or(Timestamp::MAX);
            for (_, id, until) in store.snoozed_due(p, latest, usize::MAX >> 1)? {
                self.timers.schedule(wake_key(id), until);
            }
        }
        Ok(n)
    }

    pub fn next_due(&self) -> Option<Timestamp> {
        self.timers.next_due()
    }

    pub fn pending(&self) -> usize {
        self.timers.len()
    }

    pub fn timer_bytes(&self) -> usize {
        self.timers.approx_bytes()
    }

    /// After an apply of `batch` that produced `changes`.
    pub fn after_apply(
        &mut self,
        store: &mut dyn WriteStore,
        batch: &[StoredEvent],
        changes: &[Change],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        if !self.active() {
            return Ok(());
        }
        let mut touched: BTreeMap<(TenantId, String), Vec<&StoredEvent>> = BTreeMap::new();
        for se in batch {
            touched
                .entry((se.tenant.clone(), se.event.order_id.to_string()))
                .or_default()
                .push(se);
        }
        let regressed: BTreeSet<(&str, &str)> = changes
            .iter()
            .filter(|c| c.regression)
            .map(|c| (c.tenant.as_str(), c.order_id.as_str()))
            .collect();
        let mut round = Round::default();
        for ((tenant, order_id), events) in &touched {
            let regression = regressed.contains(&(tenant.as_str(), order_id.as_str()));
            self.order(store, tenant, order_id, events, regression, now, &mut round)?;
        }
        self.commit(store, round, now)
    }

    #[allow(clippy::too_many_arguments)]
    fn order(
        &mut self,
        store: &mut dyn WriteStore,
        tenant: &TenantId,
        order_id: &str,
        events: &[&StoredEvent],
        regression: bool,
        now: Timestamp,
        round: &mut Round,
    ) -> Result<(), StoreError> {
        let facts = store.subject_facts(tenant, order_id)?;
        let subjects: Vec<Subject> = facts
            .iter()
            .filter_map(|f| Subject::of(tenant, order_id, f))
            .collect();
        // Deadlines: what the rules want now against what is filed.
        let mut want: BTreeMap<(String, String), Timestamp> = BTreeMap::new();
        for s in &subjects {
            for d in self.rules.deadlines(&s.facts()) {
                if let Some(rule) = self.rules.get(d.rule) {
                    want.insert((s.key.track.clone(), rule.name.clone()), d.due);
                }
            }
        }
        for have in store.deadlines_of(tenant, order_id)? {
            let k = (have.subject.track.clone(), have.rule.clone());
            match want.get(&k) {
                Some(due) if *due == have.due => {
                    want.remove(&k);
                }
                Some(_) => {}
                None => {
                    self.timers.cancel(timer_key(&have.subject, &have.rule));
                    round.remove.push((have.subject, have.rule));
                }
            }
        }
        for ((track, rule), due) in want {
            let subject = SubjectKey {
                tenant: tenant.clone(),
                order_id: order_id.to_owned(),
                track,
            };
            self.timers.schedule(timer_key(&subject, &rule), due);
            round.upsert.push(DeadlineRow {
                subject,
                rule,
                due,
                fired: false,
            });
        }
        // Open alerts of this order: does each still hold, given what arrived?
        for alert in store.open_alerts_of(tenant, order_id)? {
            let Some(rule) = self.rules.by_name(&alert.rule) else {
                continue;
            };
            let Some(s) = subjects.iter().find(|s| s.key.track == alert.subject.track) else {
                continue;
            };
            let fired = alert.due.unwrap_or(alert.opened_at);
            let (reason, false_positive) = match self.rules.recheck(rule.id, fired, &s.facts(), now)
            {
                Verdict::Holds => continue,
                Verdict::Cleared { reason } => (reason, false),
                Verdict::FalsePositive { reason } => (reason, true),
            };
            let cmd = Command::AutoResolve {
                reason,
                false_positive,
            };
            if let Some(w) = update(alert, cmd, ACTOR, now) {
                round.alerts.push(w);
            }
        }
        // Event rules: each arriving event, against the subject it is about.
        for se in events {
            let track = se.event.stream();
            let Some(s) = subjects
                .iter()
                .find(|s| s.key.track == track)
                .or_else(|| subjects.first())
            else {
                continue;
            };
            let arrival = Arrival {
                status: se.event.status,
                reason: se.event.reason,
                regression,
            };
            for id in self.rules.triggered(&s.facts(), &arrival) {
                let Some(rule) = self.rules.get(id) else {
                    continue;
                };
                let what = match (se.event.status, se.event.reason) {
                    (Status::Unknown, _) => format!(
                        "unmapped code {:?} from {}",
                        se.event.raw_code.as_deref().unwrap_or(""),
                        se.event.source
                    ),
                    (st, Some(r)) => format!("{st} ({r}) from {}", se.event.source),
                    (st, None) => format!("{st} from {}", se.event.source),
                };
                let summary = format!("{}: {what}", rule.name);
                round
                    .alerts
                    .push(s.raise(&self.rules, rule, None, now, summary));
            }
        }
        Ok(())
    }

    /// Turns the deadlines due by `now` into alerts.
    pub fn fire(
        &mut self,
        store: &mut dyn WriteStore,
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        if self.timers.next_due().is_none_or(|d| d > now) {
            return Ok(0);
        }
        self.timers.pop_due(now, FIRE_BATCH);
        let mut n = 0;
        for p in self.partitions.clone() {
            n += self.fire_partition(store, p, now)?;
        }
        Ok(n)
    }

    /// [`Detector::fire`] for the deadlines and snoozes of one partition.
    fn fire_partition(
        &mut self,
        store: &mut dyn WriteStore,
        partition: Partition,
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        let due = store.deadlines_due(partition, now, FIRE_BATCH)?;
        let mut round = Round::default();
        let mut facts_of: BTreeMap<(TenantId, String), Vec<Subject>> = BTreeMap::new();
        for d in &due {
            let Some(rule) = self.rules.by_name(&d.rule) else {
                round.remove.push((d.subject.clone(), d.rule.clone()));
                continue;
            };
            // Kept, marked: the same deadline recomputed from unchanged facts (the order's
            // next event, a re-scan) must not raise it again.
            round.upsert.push(DeadlineRow {
                fired: true,
                ..d.clone()
            });
            let k = (d.subject.tenant.clone(), d.subject.order_id.clone());
            if !facts_of.contains_key(&k) {
                let facts = store.subject_facts(&k.0, &k.1)?;
                let subjects = facts
                    .iter()
                    .filter_map(|f| Subject::of(&k.0, &k.1, f))
                    .collect();
                facts_of.insert(k.clone(), subjects);
            }
            let Some(s) = facts_of
                .get(&k)
                .and_then(|v| v.iter().find(|s| s.key.track == d.subject.track))
            else {
                continue;
            };
            // Filed from the same facts, so it holds unless they moved since (then a newer
            // deadline replaced this one and it is not here).
            if !matches!(
                self.rules.recheck(rule.id, d.due, &s.facts(), now),
                Verdict::Holds
            ) {
                continue;
            }
            let summary = convert::summary(rule, s, d.due);
            round
                .alerts
                .push(s.raise(&self.rules, rule, Some(d.due), now, summary));
        }
        // Snoozes that ended: the alerts come back to the queue.
        for (tenant, id, _) in store.snoozed_due(partition, now, FIRE_BATCH)? {
            if let Some(alert) = store.alert_for_update(&tenant, id)?
                && let Some(w) = update(alert, Command::Wake, ACTOR, now)
            {
                round.alerts.push(w);
            }
        }
        let n = round.alerts.len();
        self.commit(store, round, now)?;
        // More were due than one round takes: what is left is still in the store.
        if due.len() == FIRE_BATCH
            && let Some(first) = store.deadlines_due(partition, now, 1)?.first()
        {
            self.timers
                .schedule(timer_key(&first.subject, &first.rule), first.due);
        }
        Ok(n)
    }

    /// A person's (or the API's) command on an alert.
    pub fn command(
        &mut self,
        store: &mut dyn WriteStore,
        tenant: &TenantId,
        id: i64,
        cmd: Command,
        actor: &str,
        now: Timestamp,
    ) -> Result<AlertRow, AlertCommandError> {
        let alert = store
            .alert_for_update(tenant, id)
            .map_err(|source| AlertCommandError::Store { id, source })?
            .ok_or(AlertCommandError::NotFound { id })?;
        let mut state = row_state(&alert);
        let entry = state
            .apply(cmd, actor, now)
            .map_err(|source| AlertCommandError::Transition { id, source })?;
        match state.snoozed_until {
            Some(until) => self.timers.schedule(wake_key(id), until),
            None => {
                self.timers.cancel(wake_key(id));
            }
        }
        let expected = alert.version;
        let next = with_state(alert, &state, now);
        let write = AlertWrite::Update {
            id,
            expected_version: expected,
            alert: next.clone(),
            audit: audit_in(&entry),
        };
        let out = store
            .rules_commit(&[], &[], std::slice::from_ref(&write), now)
            .map_err(|source| AlertCommandError::Store { id, source })?;
        let mut row = next;
        row.version = out.first().map_or(expected + 1, |o| o.version);
        let row = Arc::new(row);
        let _ = self.alerts.send(row.clone());
        Ok((*row).clone())
    }

    fn commit(
        &mut self,
        store: &mut dyn WriteStore,
        round: Round,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        if round.is_empty() {
            return Ok(());
        }
        let outcomes = store.rules_commit(&round.upsert, &round.remove, &round.alerts, now)?;
        for (w, o) in round.alerts.into_iter().zip(outcomes) {
            let raised_again = matches!(w, AlertWrite::Raise { .. }) && !o.opened;
            let opened = matches!(w, AlertWrite::Raise { .. }) && o.opened;
            let mut row = match w {
                AlertWrite::Raise { alert, .. } | AlertWrite::Update { alert, .. } => alert,
            };
            row.id = o.id;
            row.version = o.version;
            row.public_id = o.public_id;
            // A repeated raise lands on the stored alert, whose status, assignee and trigger
            // count the fresh row it was built from does not know: publish what is stored
            // (one point read, only for re-triggers). On a failed read the row goes out as
            // built rather than not at all.
            if raised_again
                && let Ok(Some(stored)) = store.alert_for_update(&row.subject.tenant, o.id)
            {
                row = stored;
            }
            if opened {
                self.raised.push(row.clone());
            }
            let _ = self.alerts.send(Arc::new(row));
        }
        Ok(())
    }
}

/// What one round writes, in one transaction.
#[derive(Default)]
struct Round {
    upsert: Vec<DeadlineRow>,
    remove: Vec<(SubjectKey, String)>,
    alerts: Vec<AlertWrite>,
}

impl Round {
    fn is_empty(&self) -> bool {
        self.upsert.is_empty() && self.remove.is_empty() && self.alerts.is_empty()
    }
}

fn update(alert: AlertRow, cmd: Command, actor: &str, now: Timestamp) -> Option<AlertWrite> {
    let mut state = row_state(&alert);
    let entry = state.apply(cmd, actor, now).ok()?;
    let expected = alert.version;
    Some(AlertWrite::Update {
        id: alert.id,
        expected_version: expected,
        alert: with_state(alert, &state, now),
        audit: audit_in(&entry),
    })
}
