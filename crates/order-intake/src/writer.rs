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

fn run(
    book: &mut dyn OrderBook,
    high: &Receiver<Job>,
    standard: &Receiver<Job>,
    depths: &LaneDepths,
) {
    loop {
        // High first whenever it has work; otherwise whichever comes.
        let job = match high.try_recv() {
            Ok(j) => {
                depths.high.fetch_sub(1, Relaxed);
                j
            }
            Err(_) => select_biased! {
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
