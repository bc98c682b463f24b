//! The governed entry flow for orders. Every channel (webhooks, polls, EDI, uploads,
//! `POST /v1/orders`) hands its read [`ChannelOrder`]s to [`OrderDesk::submit`], which:
//! 1. places the order in its tenant's account (order id, promise from the SLA, priority);
//! 2. judges it with the tenant's profile in force (and a shadow profile beside it, which
//!    decides nothing), with the catalogue, stock and duplicate facts from the order book;
//! 3. hands the version to the order book's writer through the lane of its priority (a full
//!    lane refuses at once: 429 upstream, the sender retries; nothing accepted is dropped);
//! 4. once stored, writes the events that start its status history to the event log
//!    (`pending`, `backordered`, `cancelled`) and marks the version emitted. A crash between
//!    the two is healed by [`OrderDesk::recover`] at start and by any redelivery: the events
//!    are a function of the version's content, so writing them twice stores them once.
//!
//! People act on held orders through [`queue`]: fix, release, reject, re-validate; stock
//! arriving clears backorders ([`stock`]).

mod batch;
pub mod drops;
pub mod metrics;
pub mod queue;
pub mod settings;
pub mod stock;
mod writer;

pub use batch::{Batch, EdiAnswer, Refusal};
pub use settings::{SettingsError, TenantOrders};
pub use writer::LaneDepths;

use jiff::Timestamp;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use waypost_domain::{Clock, TenantId};
use waypost_intake::Intake;
use waypost_orders::events::{self, Entry};
use waypost_orders::gates::{self, Decision, Outcome};
use waypost_orders::{Channel, ChannelOrder, ChannelState, Order};
use waypost_store::{
    FindingRow, IntakeStatus, OrderBook, OrderBookReads, PutOutcome, StoreError, VersionIn,
};
use writer::{Job, LaneError, Lanes};

/// One order handed in by a channel.
#[derive(Debug, Clone)]
pub struct Submission {
    pub channel: Channel,
    pub placed: ChannelOrder,
    /// Forces the account (an import for a named account); otherwise the payload's reference
    /// decides.
    pub account: Option<String>,
    /// The transport's delivery id, when it has one (`X-Shopify-Webhook-Id`).
    pub delivery: Option<String>,
}

/// What became of a submitted order.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Receipt {
    pub order_id: String,
    pub account: String,
    pub version: i64,
    pub status: IntakeStatus,
    /// The same version (or delivery) was already in the book: nothing changed.
    pub duplicate: bool,
    /// An older edit than the current version: kept in the history only.
    pub stale: bool,
    /// The outcome and the checks that made it (`hold: sku_known, address_complete`).
    pub outcome: Outcome,
    pub because: Vec<String>,
}

/// Why an order was not taken. Nothing of it was stored unless the variant says so.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    #[error(transparent)]
    Resolve(#[from] waypost_orders::ResolveError),
    /// The lane of this priority is full: send again after `retry_after_secs`.
    #[error(
        "{lane}-priority order intake is full; nothing was stored: send it again after {retry_after_secs} s"
    )]
    Busy {
        lane: &'static str,
        retry_after_secs: u64,
    },
    #[error("order intake is shutting down; nothing was stored: send it to the next server")]
    ShuttingDown,
    #[error("the order book failed: {0}")]
    Store(#[from] StoreError),
    /// The order was stored, but its status history could not be written yet; it is written
    /// at the next start or delivery.
    #[error(
        "order {order_id} was stored, but its status could not be written yet ({reason}); it will be written when the event log takes it again"
    )]
    Emit { order_id: String, reason: String },
    #[error("{0}")]
    Invalid(String),
    /// The document could not be read at all; nothing of it was stored.
    #[error("{0}; nothing of it was stored")]
    Unreadable(waypost_orders::channels::ReadError),
}

impl From<LaneError> for DeskError {
    fn from(e: LaneError) -> Self {
        match e {
            LaneError::Full => DeskError::Busy {
                lane: "this",
                retry_after_secs: 1,
            },
            LaneError::Stopped => DeskError::ShuttingDown,
        }
    }
}

/// The order intake service; cheap to clone.
#[derive(Clone)]
pub struct OrderDesk {
    inner: Arc<Inner>,
}

struct Inner {
    lanes: Lanes,
    metrics: metrics::DeskMetrics,
    reads: Arc<dyn OrderBookReads>,
    intake: Intake,
    clock: Arc<dyn Clock>,
    // A std RwLock: held only to clone or replace an Arc, never across an await.
    tenants: RwLock<HashMap<TenantId, Arc<TenantOrders>>>,
    defaults: Arc<TenantOrders>,
}

/// How the desk is sized.
#[derive(Debug, Clone)]
pub struct DeskConfig {
    /// Orders waiting for the book's writer in each priority lane, past which intake
    /// answers 429.
    pub lane_capacity: usize,
}

impl Default for DeskConfig {
    fn default() -> Self {
        DeskConfig {
            lane_capacity: 4096,
        }
    }
}

impl OrderDesk {
    /// Starts the book's writer thread.
    pub fn start(
        book: Box<dyn OrderBook>,
        reads: Arc<dyn OrderBookReads>,
        intake: Intake,
        clock: Arc<dyn Clock>,
        config: &DeskConfig,
    ) -> std::io::Result<OrderDesk> {
        let (lanes, _thread) = writer::start(book, config.lane_capacity)?;
        Ok(OrderDesk {
            inner: Arc::new(Inner {
                lanes,
                metrics: metrics::DeskMetrics::default(),
                reads,
                intake,
                clock,
                tenants: RwLock::new(HashMap::new()),
                defaults: Arc::new(TenantOrders::default()),
            }),
        })
    }

    /// Swaps a tenant's accounts and profiles; orders submitted after this use them.
    pub fn configure(&self, tenant: TenantId, settings: TenantOrders) {
        let mut map = self
            .inner
            .tenants
            .write()
            .unwrap_or_else(|p| p.into_inner());
        map.insert(tenant, Arc::new(settings));
    }

    /// The settings in force for `tenant` (the built-in ones when it configured none).
    pub fn settings(&self, tenant: &TenantId) -> Arc<TenantOrders> {
        let map = self.inner.tenants.read().unwrap_or_else(|p| p.into_inner());
        map.get(tenant)
            .cloned()
            .unwrap_or_else(|| self.inner.defaults.clone())
    }

    pub fn reads(&self) -> &Arc<dyn OrderBookReads> {
        &self.inner.reads
    }

    pub fn lane_depths(&self) -> &Arc<LaneDepths> {
        &self.inner.lanes.depths
    }

    /// Registers the desk's counters into the process's registry.
    pub fn register_metrics(&self, registry: &mut prometheus_client::registry::Registry) {
        self.inner.metrics.register(registry);
    }

    /// Counts a stored version and its verdicts.
    fn count(&self, order: &Order, status: IntakeStatus, judged: &Judged) {
        let m = &self.inner.metrics;
        m.orders
            .get_or_create(&metrics::OrderLabels {
                channel: order.channel.as_str().into(),
                account: order.account.clone(),
                status: status.as_str().into(),
            })
            .inc();
        let decisions = std::iter::once(("enforced", &judged.decision))
            .chain(judged.shadow.iter().map(|d| ("shadow", d)));
        for (profile, d) in decisions {
            for f in finding_rows(d, true) {
                if f.outcome == Outcome::Pass.as_str() {
                    continue;
                }
                m.verdicts
                    .get_or_create(&metrics::VerdictLabels {
                        check: f.check,
                        channel: order.channel.as_str().into(),
                        account: order.account.clone(),
                        outcome: f.outcome,
                        profile: profile.into(),
                    })
                    .inc();
            }
        }
        self.refresh_lanes();
    }

    fn refresh_lanes(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        let m = &self.inner.metrics;
        let d = &self.inner.lanes.depths;
        for (lane, v) in [("high", &d.high), ("standard", &d.standard)] {
            m.lane_depth
                .get_or_create(&metrics::LaneLabels { lane: lane.into() })
                .set(v.load(Relaxed) as i64);
        }
    }

    /// Counts a release unchanged as a false positive of each check that held.
    pub(crate) fn count_false_positive(&self, row: &waypost_store::IntakeRow) {
        let Some(d) = queue::decision_of(row) else {
            return;
        };
        for f in d.deciding() {
            self.inner
                .metrics
                .false_positives
                .get_or_create(&metrics::CheckLabels {
                    check: f.check.as_str().into(),
                    channel: row.channel.clone(),
                    account: row.account.clone(),
                })
                .inc();
        }
    }

    pub fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    /// Takes one order in: see the module docs for the steps.
    pub async fn submit(&self, tenant: &TenantId, sub: Submission) -> Result<Receipt, DeskError> {
        self.submit_as(tenant, sub, "intake").await
    }

    /// [`Self::submit`] with the actor named in the audit (a person fixing a held order).
    pub async fn submit_as(
        &self,
        tenant: &TenantId,
        sub: Submission,
        actor: &str,
    ) -> Result<Receipt, DeskError> {
        let settings = self.settings(tenant);
        let order = settings
            .accounts
            .resolve(sub.channel, sub.placed, sub.account.as_deref())?;
        let now = self.now();
        let judged = self.judge(tenant, &settings, &order, now).await?;
        let version = judged.version_in(&order, now, sub.delivery, actor)?;
        let status = version.status;
        let priority = order.priority;
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.inner
            .lanes
            .send(
                priority,
                Job::Put {
                    tenant: tenant.clone(),
                    version: Box::new(version),
                    reply,
                },
            )
            .map_err(|e| match e {
                LaneError::Full => DeskError::Busy {
                    lane: priority.as_str(),
                    retry_after_secs: 1,
                },
                LaneError::Stopped => DeskError::ShuttingDown,
            })?;
        let put = rx.await.map_err(|_| DeskError::ShuttingDown)??;
        if matches!(put, PutOutcome::New { .. }) {
            self.count(&order, status, &judged);
        }
        let because = judged
            .decision
            .deciding()
            .map(|f| f.check.as_str().to_string())
            .collect();
        let receipt = |version, status, duplicate, stale| Receipt {
            order_id: order.order_id.clone(),
            account: order.account.clone(),
            version,
            status,
            duplicate,
            stale,
            outcome: judged.decision.outcome,
            because,
        };
        match put {
            PutOutcome::New {
                version,
                current: true,
                previous,
            } => {
                // A version that ends a hold (a person's fix, the channel's correction) enters
                // the flow after the hold, not at the order's creation.
                let after_hold = (previous == Some(IntakeStatus::Held)).then_some(now);
                self.emit(
                    tenant,
                    &order,
                    &judged.hash,
                    &judged.decision,
                    status,
                    after_hold,
                    now,
                    version,
                )
                .await?;
                Ok(receipt(version, status, false, false))
            }
            PutOutcome::New {
                version,
                current: false,
                ..
            } => Ok(receipt(version, status, false, true)),
            PutOutcome::Duplicate { version } => {
                // A redelivery heals a version whose history a crash left unwritten.
                let row = self.read_row(tenant, &order.order_id).await?;
                let status = row.as_ref().map(|r| r.status).unwrap_or(status);
                if let Some(r) = row
                    && r.emitted_version < r.version
                {
                    self.emit_row(tenant, &r).await?;
                }
                Ok(receipt(version, status, true, false))
            }
        }
    }

    /// The gates' judgement of `order` with the book's facts.
    async fn judge(
        &self,
        tenant: &TenantId,
        settings: &TenantOrders,
        order: &Order,
        now: Timestamp,
    ) -> Result<Judged, DeskError> {
        let reads = self.inner.reads.clone();
        let t = tenant.clone();
        let skus: Vec<String> = order
            .placed
            .lines
            .iter()
            .filter_map(|l| l.sku.clone())
            .collect();
        let fingerprint = gates::fingerprint(order);
        let window = settings
            .profiles
            .in_force
            .duplicate_window(order.channel, &order.account);
        let since = now.checked_sub(window).unwrap_or(now);
        let fp = fingerprint.clone();
        let order_id = order.order_id.clone();
        let (facts, similar) = tokio::task::spawn_blocking(move || {
            let facts = reads.sku_facts(&t, &skus)?;
            let similar = reads.intake_similar(&t, &fp, since, &order_id)?;
            Ok::<_, StoreError>((facts, similar))
        })
        .await
        .map_err(|e| DeskError::Invalid(format!("the order book read task failed: {e}")))??;
        let catalogue = settings::BookCatalogue::new(facts);
        let f = gates::Facts {
            now,
            catalogue: &catalogue,
            duplicates: &similar,
        };
        let (decision, shadow) = settings.profiles.evaluate(order, &f);
        let impact = gates::impact(order, now, &settings.profiles.in_force.impact);
        let waiting_for = catalogue.short_skus(order);
        Ok(Judged {
            hash: order.content_hash(),
            decision,
            shadow: shadow.map(|(d, _)| d),
            impact: impact.score,
            fingerprint,
            waiting_for,
        })
    }

    async fn read_row(
        &self,
        tenant: &TenantId,
        order_id: &str,
    ) -> Result<Option<waypost_store::IntakeRow>, DeskError> {
        let reads = self.inner.reads.clone();
        let (t, o) = (tenant.clone(), order_id.to_string());
        tokio::task::spawn_blocking(move || reads.intake_order(&t, &o))
            .await
            .map_err(|e| DeskError::Invalid(format!("the order book read task failed: {e}")))?
            .map_err(DeskError::from)
    }

    /// Writes the status history of an order's current version (as the book holds it: its
    /// status and since when) and marks it emitted.
    #[allow(clippy::too_many_arguments)]
    async fn emit(
        &self,
        tenant: &TenantId,
        order: &Order,
        hash: &str,
        decision: &Decision,
        status: IntakeStatus,
        changed_at: Option<Timestamp>,
        received_at: Timestamp,
        version: i64,
    ) -> Result<(), DeskError> {
        if let Some(entry) = entry_for(status, changed_at, received_at, decision) {
            let evs =
                events::events(order, hash, entry, received_at).map_err(|e| DeskError::Emit {
                    order_id: order.order_id.clone(),
                    reason: e.to_string(),
                })?;
            self.inner
                .intake
                .events(tenant.clone(), evs, received_at)
                .await
                .map_err(|e| DeskError::Emit {
                    order_id: order.order_id.clone(),
                    reason: e.to_string(),
                })?;
        }
        self.inner
            .lanes
            .send_wait(Job::Emitted {
                tenant: tenant.clone(),
                order_id: order.order_id.clone(),
                version,
            })
            .map_err(DeskError::from)
    }

    /// [`Self::emit`] for a row read back from the book.
    pub(crate) async fn emit_row(
        &self,
        tenant: &TenantId,
        row: &waypost_store::IntakeRow,
    ) -> Result<(), DeskError> {
        let unreadable = |what: &str, e: serde_json::Error| {
            DeskError::Invalid(format!(
                "order {}: its {what} in the order book cannot be read back: {e}",
                row.order_id
            ))
        };
        let order: Order = serde_json::from_str(&row.body).map_err(|e| unreadable("order", e))?;
        let decision: Decision =
            serde_json::from_str(&row.decision).map_err(|e| unreadable("decision", e))?;
        self.emit(
            tenant,
            &order,
            &order.content_hash(),
            &decision,
            row.status,
            (row.status_action != "received").then_some(row.status_since),
            row.received_at,
            row.version,
        )
        .await
    }

    /// Hands on what a crash left unwritten: every current version in the flow whose status
    /// history has not reached the event log. Returns how many were written.
    pub async fn recover(&self) -> Result<usize, DeskError> {
        let mut done = 0;
        loop {
            let reads = self.inner.reads.clone();
            let batch = tokio::task::spawn_blocking(move || reads.intake_unemitted(256))
                .await
                .map_err(|e| DeskError::Invalid(format!("recovery read failed: {e}")))??;
            if batch.is_empty() {
                return Ok(done);
            }
            let n = batch.len();
            for (tenant, order_id) in batch {
                if let Some(row) = self.read_row(&tenant, &order_id).await? {
                    self.emit_row(&tenant, &row).await?;
                    done += 1;
                }
            }
            if n < 256 {
                return Ok(done);
            }
        }
    }

    pub(crate) fn lanes(&self) -> &Lanes {
        &self.inner.lanes
    }
}

/// A judged order, ready for the book.
pub(crate) struct Judged {
    pub hash: String,
    pub decision: Decision,
    pub shadow: Option<Decision>,
    pub impact: f64,
    pub fingerprint: String,
    pub waiting_for: Vec<String>,
}

/// What an order's status in the book writes to the event log. A status entered after
/// receipt was a person's (or stock's) doing: release and stock arrival restart the order as
/// `pending`, a rejection after a hold cancels it. An order rejected at receipt never entered
/// the flow and writes nothing.
pub(crate) fn entry_for(
    status: IntakeStatus,
    changed_at: Option<Timestamp>,
    received_at: Timestamp,
    decision: &Decision,
) -> Option<Entry> {
    // A status set after arrival is placed just after the hold it ends, even on a clock that
    // has not moved since.
    let later = changed_at.map(|t| {
        t.max(
            received_at
                .checked_add(jiff::SignedDuration::from_nanos(1))
                .unwrap_or(received_at),
        )
    });
    Some(match (status, later) {
        (IntakeStatus::Accepted | IntakeStatus::Backordered, Some(at)) => Entry::Released(at),
        (IntakeStatus::Accepted, None) => Entry::Accepted,
        (IntakeStatus::Backordered, None) => Entry::Backordered,
        (IntakeStatus::Cancelled, _) => Entry::Cancelled,
        (IntakeStatus::Held, _) => Entry::Held {
            at: received_at,
            reason: hold_reason(decision),
        },
        (IntakeStatus::Rejected, Some(at)) => Entry::Rejected(at),
        (IntakeStatus::Rejected, None) => return None,
    })
}

/// The taxonomy's reason for a hold, from the check that made it.
fn hold_reason(decision: &Decision) -> waypost_domain::Reason {
    use waypost_domain::Reason;
    use waypost_orders::gates::CheckId;
    let checks: Vec<CheckId> = decision.deciding().map(|f| f.check).collect();
    if checks.contains(&CheckId::ChannelRisk) {
        Reason::FraudReview
    } else if checks
        .iter()
        .any(|c| matches!(c, CheckId::AddressComplete | CheckId::PostalFormat))
    {
        Reason::AddressIssue
    } else {
        Reason::Other
    }
}

/// The book's status for a decision on an order in `state`.
pub(crate) fn status_of(state: &ChannelState, outcome: Outcome) -> IntakeStatus {
    if matches!(state, ChannelState::Cancelled { .. }) {
        return IntakeStatus::Cancelled;
    }
    match outcome {
        Outcome::Reject => IntakeStatus::Rejected,
        Outcome::Hold => IntakeStatus::Held,
        Outcome::Backorder => IntakeStatus::Backordered,
        Outcome::Warn | Outcome::Pass => IntakeStatus::Accepted,
    }
}

pub(crate) fn finding_rows(decision: &Decision, enforced: bool) -> Vec<FindingRow> {
    decision
        .findings
        .iter()
        .map(|f| FindingRow {
            check: f.check.as_str().to_string(),
            outcome: f.outcome.as_str().to_string(),
            layer: f.layer.to_string(),
            enforced,
        })
        // One row per check: a check failing on two lines counts once, at its worst.
        .fold(Vec::<FindingRow>::new(), |mut acc, r| {
            match acc.iter_mut().find(|x| x.check == r.check) {
                Some(x) if severity(&r.outcome) > severity(&x.outcome) => *x = r,
                Some(_) => {}
                None => acc.push(r),
            }
            acc
        })
}

fn severity(outcome: &str) -> Option<Outcome> {
    Outcome::parse(outcome)
}

impl Judged {
    fn version_in(
        &self,
        order: &Order,
        now: Timestamp,
        delivery: Option<String>,
        actor: &str,
    ) -> Result<VersionIn, DeskError> {
        let status = status_of(&order.placed.state, self.decision.outcome);
        let body = serde_json::to_string(order)
            .map_err(|e| DeskError::Invalid(format!("order {}: {e}", order.order_id)))?;
        let decision = serde_json::to_string(&self.decision)
            .map_err(|e| DeskError::Invalid(format!("decision: {e}")))?;
        let shadow = self
            .shadow
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| DeskError::Invalid(format!("shadow decision: {e}")))?;
        let mut findings = finding_rows(&self.decision, true);
        if let Some(s) = &self.shadow {
            findings.extend(finding_rows(s, false));
        }
        Ok(VersionIn {
            order_id: order.order_id.clone(),
            channel: order.channel.as_str().to_string(),
            account: order.account.clone(),
            external_id: order.placed.external_id.clone(),
            content_hash: self.hash.clone(),
            updated_at: order.placed.updated_at,
            received_at: now,
            body,
            decision,
            shadow,
            status,
            priority: order.priority.as_str().to_string(),
            impact: self.impact,
            value: order.value().and_then(|d| d.to_string().parse().ok()),
            currency: order.placed.currency.clone(),
            promised_at: order.promised_at,
            fingerprint: self.fingerprint.clone(),
            delivery,
            waiting_for: if status == IntakeStatus::Backordered {
                self.waiting_for.clone()
            } else {
                vec![]
            },
            findings,
            actor: actor.to_string(),
        })
    }
}
