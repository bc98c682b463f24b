//! A carrier connector's task: takes the shipments that are due, asks the carrier about them
//! (in batches where the API allows), hands each answer to the sink, and schedules each
//! shipment's next poll. At most `concurrency` requests are out at once.

use crate::client::{Answer, CallError, now};
use crate::partner;
use crate::runtime::Shared;
use crate::sink::{Fetched, Sink, SinkError};
use crate::targets::Polled;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

pub(crate) async fn run<S: Sink>(
    shared: Arc<Shared>,
    sink: Arc<S>,
    mut shutdown: watch::Receiver<bool>,
) {
    let batch = shared.client.cfg.batch().max(1);
    let concurrency = shared.client.cfg.concurrency.max(1);
    let mut running: JoinSet<()> = JoinSet::new();
    loop {
        if *shutdown.borrow() {
            break;
        }
        // While the breaker is open every poll would fail at once: wait for the trial
        // instead of cycling each due shipment through a refusal.
        let open_until = shared
            .client
            .lock()
            .breaker
            .open_until()
            .filter(|u| *u > now());
        if let Some(until) = open_until {
            tokio::select! {
                _ = shutdown.changed() => break,
                () = sleep_until(Some(until)) => continue,
            }
        }
        let free = concurrency.saturating_sub(running.len());
        if free > 0 {
            let due = shared.targets().take_due(now(), free * batch);
            for chunk in due.chunks(batch) {
                let (sh, sk, numbers) = (shared.clone(), sink.clone(), chunk.to_vec());
                running.spawn(async move { poll(&sh, &*sk, numbers).await });
            }
        }
        let next = if running.len() < concurrency {
            shared.targets().next_due()
        } else {
            None
        };
        tokio::select! {
            _ = shutdown.changed() => break,
            Some(_) = running.join_next(), if !running.is_empty() => {}
            () = shared.wake.notified() => {}
            () = sleep_until(next), if next.is_some() => {}
        }
    }
    running.shutdown().await;
}

async fn sleep_until(at: Option<std::time::Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
    }
}

/// One request about `numbers`, its answer to the sink, and their next due times.
async fn poll<S: Sink>(shared: &Shared, sink: &S, numbers: Vec<String>) {
    let client = &shared.client;
    let cfg = &client.cfg;
    let n = numbers.len() as u64;
    client.counters.in_flight.fetch_add(n, Relaxed);
    // UPS wants a transId unique per request: a fresh one for every attempt.
    let answer = client
        .call(|token| {
            partner::track_request(client.http(), cfg, &numbers, token, client.next_trans_id())
        })
        .await;
    // After a failure, ask again after a short wait: `fast` at most, so a flaky carrier does
    // not leave an urgent shipment waiting longer than its schedule would.
    let soon = cfg.schedule.fast.min(cfg.backoff_cap);
    let outcome = match answer {
        Ok(Answer::Body { body, .. }) => {
            let doc = Fetched {
                connector: cfg.name.clone(),
                tenant: cfg.tenant.clone(),
                source: cfg.source,
                body,
                fetched_at: shared.client.wall.now(),
            };
            match sink.ingest(doc).await {
                Ok(ing) => {
                    shared.ingested(&ing);
                    Polled::Done
                }
                Err(SinkError::Rejected { reason }) => {
                    // Kept by the sink; a later answer about the same numbers is usually good.
                    client.counters.dead_letters.fetch_add(1, Relaxed);
                    tracing::warn!(connector = %cfg.name, %reason, "answer rejected");
                    Polled::RetryAt(now() + soon)
                }
                Err(SinkError::Busy { retry_after }) => {
                    client.counters.sink_busy.fetch_add(1, Relaxed);
                    Polled::RetryAt(now() + retry_after)
                }
                Err(SinkError::Unavailable { reason }) => {
                    tracing::warn!(connector = %cfg.name, %reason, "sink unavailable");
                    Polled::RetryAt(now() + soon)
                }
            }
        }
        Ok(Answer::NotFound | Answer::NotModified) => Polled::Done,
        Err(CallError::CircuitOpen { until }) => Polled::RetryAt(until),
        Err(e) => {
            tracing::warn!(connector = %cfg.name, error = %e, numbers = numbers.len(), "poll failed");
            Polled::RetryAt(now() + soon.max(Duration::from_millis(1)))
        }
    };
    if outcome == Polled::Done {
        client.counters.refreshed.fetch_add(n, Relaxed);
    }
    {
        let mut t = shared.targets();
        let (at, wall) = (now(), shared.world_now());
        for number in &numbers {
            t.finish(number, outcome, at, wall);
        }
    }
    client.counters.in_flight.fetch_sub(n, Relaxed);
}
