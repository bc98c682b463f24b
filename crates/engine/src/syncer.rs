//! The second half of a group commit: making the log durable, then acknowledging and publishing.
//!
//! The writer commits a round's appends without waiting for the disk and goes straight on to
//! apply; this thread fsyncs the log meanwhile, then answers the round's submitters and, in
//! order, publishes the changes applied after it. A submitter never hears 202, and a subscriber
//! never sees a change, before the events behind them are on disk. Several rounds queued here
//! share one fsync.

use crate::metrics::Metrics;
use crate::pipeline::{IntakeError, Receipt};
use crossbeam_channel::{Receiver, Sender};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{broadcast, oneshot};
use waypost_domain::Clock;
use waypost_store::{Change, LogSync};

pub(crate) type Reply = oneshot::Sender<Result<Receipt, IntakeError>>;

pub(crate) enum After {
    /// Answers for one committed round, sent once the log is durable.
    Ack {
        answers: Vec<(Reply, Receipt)>,
        committed: Instant,
        started: Instant,
    },
    /// Changes applied after the rounds queued before them.
    Publish(Vec<Change>),
}

/// Publishes changes on the broadcast channel and measures their latency.
#[derive(Clone)]
pub(crate) struct Publisher {
    pub metrics: Arc<Metrics>,
    pub changes: broadcast::Sender<Arc<Change>>,
    pub clock: Arc<dyn Clock>,
    /// The dispatcher's wake-up: a change may have planned notifications, and they may go out
    /// only now that the events behind them are durable.
    pub outbox_wake: Arc<tokio::sync::Notify>,
}

impl Publisher {
    pub fn publish(&self, changes: Vec<Change>, live: bool) {
        let planned = !changes.is_empty();
        let now = self.clock.now();
        // Latency is a real duration: on an accelerated clock, world seconds are divided back.
        let speed = self.clock.speed().max(f64::MIN_POSITIVE);
        self.metrics.state_changes.inc_by(changes.len() as u64);
        for c in changes {
            if live {
                for cause in &c.events {
                    let secs = now.duration_since(cause.received_at).as_secs_f64() / speed;
                    self.metrics.e2e_latency.observe(secs);
                }
            }
            // No subscribers is fine: the change is in the store for anyone who asks later.
            let _ = self.changes.send(Arc::new(c));
        }
        if planned {
            self.outbox_wake.notify_one();
        }
    }

    pub fn answer(&self, answers: Vec<(Reply, Receipt)>, started: Instant) {
        self.metrics
            .append_latency
            .observe(started.elapsed().as_secs_f64());
        for (reply, receipt) in answers {
            // The submitter may have gone away; its events are stored all the same.
            let _ = reply.send(Ok(receipt));
        }
    }
}

pub(crate) fn spawn(
    sync: Arc<dyn LogSync>,
    publisher: Publisher,
) -> std::io::Result<(Sender<After>, std::thread::JoinHandle<()>)> {
    // Unbounded: the writer never waits on it, and what it holds is bounded by the intake's
    // own bounds (submissions waiting, events unapplied).
    let (tx, rx) = crossbeam_channel::unbounded();
    let handle = std::thread::Builder::new()
        .name("waypost-syncer".into())
        .spawn(move || run(rx, sync, publisher))?;
    Ok((tx, handle))
}

fn run(rx: Receiver<After>, sync: Arc<dyn LogSync>, publisher: Publisher) {
    // Everything committed up to here is covered once `synced_at` passes its commit instant.
    let mut synced_at: Option<Instant> = None;
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        jobs.extend(rx.try_iter());
        for job in jobs {
            match job {
                After::Ack {
                    answers,
                    committed,
                    started,
                } => {
                    if synced_at.is_none_or(|s| s < committed) {
                        let at = Instant::now();
                        if let Err(e) = sync.sync() {
                            // The events are committed but not known durable: say so to their
                            // senders, who will retry (and be deduplicated if it did land).
                            publisher.metrics.store_errors.inc();
                            tracing::error!(error = %e, "log fsync failed");
                            for (reply, _) in answers {
                                let _ = reply.send(Err(IntakeError::Store(format!(
                                    "the log could not be made durable: {e}"
                                ))));
                            }
                            continue;
                        }
                        synced_at = Some(at);
                    }
                    publisher.answer(answers, started);
                }
                After::Publish(changes) => publisher.publish(changes, true),
            }
        }
    }
}
