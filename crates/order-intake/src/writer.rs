//! The order book's single writer: one OS thread owns the `OrderBook`, and takes work from two
//! bounded lanes, high priority (express, VIP, marketplace SLAs) always first. A full lane is
//! answered at once (`Busy`, 429 with Retry-After upstream); nothing already taken is dropped.
//!
//! A thread, not a task: the book's commits block for an fsync.

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded, select_biased};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::thread::JoinHandle;
use tokio::sync::oneshot;
use waypost_domain::TenantId;
use waypost_orders::Priority;
use waypost_store::{
    CatalogueItem, OrderBook, PutOutcome, StatusChange, StockLevel, StoreError, VersionIn,
};

/// One unit of work for the book.
pub(crate) enum Job {
    Put {
        tenant: TenantId,
        version: Box<VersionIn>,
        reply: oneshot::Sender<Result<PutOutcome, StoreError>>,
    },
    Status {
        tenant: TenantId,
        change: Box<StatusChange>,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    Emitted {
        tenant: TenantId,
        order_id: String,
        version: i64,
    },
    Catalogue {
        tenant: TenantId,
        items: Vec<CatalogueItem>,
        reply: oneshot::Sender<Result<usize, StoreError>>,
    },
    Stock {
        tenant: TenantId,
        levels: Vec<StockLevel>,
        reply: oneshot::Sender<Result<usize, StoreError>>,
    },
}

/// The lanes' depths, for metrics and the bench.
#[derive(Debug, Default)]
pub struct LaneDepths {
    pub high: AtomicU64,
    pub standard: AtomicU64,
}

/// The handle request tasks hold.
#[derive(Clone)]
pub(crate) struct Lanes {
    high: Sender<Job>,
    standard: Sender<Job>,
    pub depths: Arc<LaneDepths>,
}

/// A lane was full: the caller answers 429 and the sender retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LaneError {
    Full,
    Stopped,
}

impl Lanes {
    pub fn send(&self, priority: Priority, job: Job) -> Result<(), LaneError> {
        let (tx, depth) = match priority {
            Priority::High => (&self.high, &self.depths.high),
            Priority::Standard => (&self.standard, &self.depths.standard),
        };
        match tx.try_send(job) {
            Ok(()) => {
                depth.fetch_add(1, Relaxed);
                Ok(())
            }
            Err(TrySendError::Full(_)) => Err(LaneError::Full),
            Err(TrySendError::Disconnected(_)) => Err(LaneError::Stopped),
        }
    }

    /// Work that must not be refused (a person's action, a mark): waits for room.
    pub fn send_wait(&self, job: Job) -> Result<(), LaneError> {
        self.high.send(job).map_err(|_| LaneError::Stopped)?;
        self.depths.high.fetch_add(1, Relaxed);
        Ok(())
    }
}

/// Starts the writer thread with lanes of `capacity` jobs each.
pub(crate) fn start(
    mut book: Box<dyn OrderBook>,
    capacity: usize,
) -> std::io::Result<(Lanes, JoinHandle<()>)> {
    let (high, high_rx) = bounded(capacity.max(1));
    let (standard, standard_rx) = bounded(capacity.max(1));
    let depths = Arc::new(LaneDepths::default());
    let d = depths.clone();
    let handle = std::thread::Builder::new()
        .name("order-book".into())
        .spawn(move || run(&mut *book, &high_rx, &standard_rx, &d))?;
    Ok((
        Lanes {
            high,
            standard,
            depths,
        },
        handle,
    ))
}

/// Most jobs folded into one commit.
const BATCH: usize = 256;

fn run(
    book: &mut dyn OrderBook,
    high: &Receiver<Job>,
    standard: &Receiver<Job>,
    depths: &LaneDepths,
) {
    let take = |lane: &Receiver<Job>, depth: &AtomicU64| {
        lane.try_recv().ok().inspect(|_| {
            depth.fetch_sub(1, Relaxed);
        })
    };
    loop {
        // High first whenever it has work; otherwise whichever comes.
        let first = match take(high, &depths.high) {
            Some(j) => j,
            None => select_biased! {
                recv(high) -> j => match j {
                    Ok(j) => { depths.high.fetch_sub(1, Relaxed); j }
                    Err(_) => return,
                },
                recv(standard) -> j => match j {
                    Ok(j) => { depths.standard.fetch_sub(1, Relaxed); j }
                    Err(_) => return,
                },
            },
        };
        // Group commit: everything already waiting (high lane first) goes into one round, its
        // versions in one transaction and its marks in another, so a spike costs a commit per
        // round rather than per order. Other jobs run alone, in arrival order after the round.
        let mut round = vec![first];
        while round.len() < BATCH {
            match take(high, &depths.high).or_else(|| take(standard, &depths.standard)) {
                Some(j) => round.push(j),
                None => break,
            }
        }
        handle_round(book, round);
    }
}

fn handle_round(book: &mut dyn OrderBook, round: Vec<Job>) {
    let mut puts = Vec::new();
    let mut replies = Vec::new();
    let mut marks = Vec::new();
    let mut others = Vec::new();
    for job in round {
        match job {
            Job::Put {
                tenant,
                version,
                reply,
            } => {
                puts.push((tenant, *version));
                replies.push(reply);
            }
            Job::Emitted {
                tenant,
                order_id,
                version,
            } => marks.push((tenant, order_id, version)),
            other => others.push(other),
        }
    }
    if !puts.is_empty() {
        match book.intake_put_batch(&puts) {
            Ok(outcomes) => {
                for (reply, o) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(o));
                }
            }
            Err(e) if puts.len() == 1 => {
                if let Some(reply) = replies.into_iter().next() {
                    let _ = reply.send(Err(e));
                }
            }
            // One bad version must not fail its neighbours: each alone, then.
            Err(_) => {
                for ((tenant, v), reply) in puts.iter().zip(replies) {
                    let _ = reply.send(book.intake_put(tenant, v));
                }
            }
        }
    }
    if !marks.is_empty()
        && let Err(e) = book.intake_emitted_batch(&marks)
    {
        // The start-up scan hands them on again: emitting twice stores once.
        tracing::warn!(error = %e, marks = marks.len(), "could not mark orders' status histories as written");
    }
    for job in others {
        handle(book, job);
    }
}

fn handle(book: &mut dyn OrderBook, job: Job) {
    match job {
        Job::Put {
            tenant,
            version,
            reply,
        } => {
            let _ = reply.send(book.intake_put(&tenant, &version));
        }
        Job::Status {
            tenant,
            change,
            reply,
        } => {
            let _ = reply.send(book.intake_status(&tenant, &change));
        }
        Job::Emitted {
            tenant,
            order_id,
            version,
        } => {
            if let Err(e) = book.intake_emitted(&tenant, &order_id, version) {
                // The start-up scan hands it on again: emitting twice stores once.
                tracing::warn!(%tenant, order_id, version, error = %e, "could not mark an order's status history as written");
            }
        }
        Job::Catalogue {
            tenant,
            items,
            reply,
        } => {
            let _ = reply.send(book.catalogue_put(&tenant, &items));
        }
        Job::Stock {
            tenant,
            levels,
            reply,
        } => {
            let _ = reply.send(book.stock_put(&tenant, &levels));
        }
    }
}
