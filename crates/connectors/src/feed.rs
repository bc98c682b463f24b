//! A WMS feed connector's task: pages through "changes since cursor", hands each page's events
//! to the sink, and saves the cursor only once the sink has them, so a restart resumes where
//! the last accepted page ended and never skips one.
//!
//! The reconciler lives here too: while the WMS's webhooks flow, the feed is only a safety net
//! polled every `interval`; once none has been seen for `webhook_quiet_after`, it is polled
//! every `catch_up_interval`, and pages back to back while the WMS says `has_more`, so events
//! the webhooks never delivered arrive anyway.

use crate::client::{Answer, CallError, now};
use crate::partner::{self, Page};
use crate::runtime::Shared;
use crate::sink::{Fetched, Sink, SinkError};
use crate::state_store::StateStore;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The state key under which a feed keeps its position.
pub const STATE_KEY: &str = "feed";

/// Where a feed is: the cursor of the next page, and the ETag of the last answer for that very
/// cursor (an ETag belongs to one URL, so it is dropped when the cursor moves).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub cursor: Option<String>,
    pub etag: Option<String>,
}

/// What to do after one poll.
enum Next {
    /// More pages are waiting: ask again now.
    Now,
    /// Up to date: wait for the period (interval or catch-up).
    Idle,
    /// Something failed: wait this long, then ask for the same page.
    After(Duration),
}

pub(crate) async fn run<S: Sink>(
    shared: Arc<Shared>,
    sink: Arc<S>,
    store: Arc<dyn StateStore>,
    mut pos: Position,
    mut shutdown: watch::Receiver<bool>,
) {
    let cfg = &shared.client.cfg;
    let mut failures: u32 = 0;
    loop {
        if *shutdown.borrow() {
            break;
        }
        let polled_at = now();
        // A page cut short by shutdown is not saved, so it is fetched again after a restart.
        let next = tokio::select! {
            _ = shutdown.changed() => return,
            next = poll(&shared, &*sink, &store, &mut pos, &mut failures) => next,
        };
        let wake_at = match next {
            Next::Now => continue,
            Next::After(d) => now() + d,
            Next::Idle => next_poll(&shared, polled_at),
        };
        // Re-evaluated on every webhook: a wake-up only recomputes the deadline.
        let mut wake_at = wake_at;
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                () = tokio::time::sleep_until(tokio::time::Instant::from_std(wake_at)) => break,
                () = shared.wake.notified() => {
                    if matches!(next, Next::Idle) {
                        wake_at = next_poll(&shared, polled_at);
                    }
                }
            }
        }
        tracing::trace!(connector = %cfg.name, "feed poll");
    }
}

/// When the next poll is due after one at `polled_at` that found the feed up to date.
fn next_poll(shared: &Shared, polled_at: Instant) -> Instant {
    let cfg = &shared.client.cfg;
    let quiet_since = shared.quiet_since();
    let quiet_at = quiet_since + cfg.webhook_quiet_after;
    let t = now();
    if t >= quiet_at {
        polled_at + cfg.catch_up_interval
    } else {
        // Webhooks flow: the regular period, unless they fall quiet first.
        (polled_at + cfg.interval).min(quiet_at)
    }
}

async fn save(shared: &Shared, store: &Arc<dyn StateStore>, pos: &Position) {
    shared.set_position(pos);
    let name = shared.client.cfg.name.clone();
    let value = match serde_json::to_string(pos) {
        Ok(v) => v,
        Err(e) => {
            tracing::error!(connector = %name, error = %e, "cannot encode feed position");
            return;
        }
    };
    let store = store.clone();
    let res = tokio::task::spawn_blocking(move || store.save(&name, STATE_KEY, &value)).await;
    let failed = match res {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(e) => Some(e.to_string()),
    };
    if let Some(error) = failed {
        // Keep going from memory: after a crash the feed re-reads from the last saved cursor,
        // and the log's dedup absorbs the repeat.
        shared.client.counters.state_errors.fetch_add(1, Relaxed);
        tracing::error!(connector = %shared.client.cfg.name, %error, "cannot save feed position");
    }
}

async fn poll<S: Sink>(
    shared: &Shared,
    sink: &S,
    store: &Arc<dyn StateStore>,
    pos: &mut Position,
    failures: &mut u32,
) -> Next {
    let client = &shared.client;
    let cfg = &client.cfg;
    let mut backoff = || {
        let d = client.backoff_delay(*failures);
        *failures = failures.saturating_add(1);
        Next::After(d)
    };
    client.counters.in_flight.fetch_add(1, Relaxed);
    let answer = client
        .call(|_| {
            partner::feed_request(
                client.http(),
                cfg,
                pos.cursor.as_deref(),
                pos.etag.as_deref(),
            )
        })
        .await;
    client.counters.in_flight.fetch_sub(1, Relaxed);
    let (body, etag) = match answer {
        Ok(Answer::Body { body, etag }) => (body, etag),
        Ok(Answer::NotModified | Answer::NotFound) => {
            *failures = 0;
            return Next::Idle;
        }
        Err(CallError::CircuitOpen { until }) => {
            return Next::After(until.saturating_duration_since(now()));
        }
        Err(e) => {
            tracing::warn!(connector = %cfg.name, error = %e, "feed poll failed");
            return backoff();
        }
    };
    let page = match Page::parse(&body) {
        Ok(p) => p,
        Err(e) => {
            // A truncated or garbled page: the sink keeps it as a dead letter for a human,
            // and the same page is asked for again (the WMS usually sends it whole next time).
            tracing::warn!(connector = %cfg.name, error = %e, "feed page unreadable");
            let doc = fetched(shared, body);
            if let Err(SinkError::Rejected { .. }) = sink.ingest(doc).await {
                client.counters.dead_letters.fetch_add(1, Relaxed);
            }
            return backoff();
        }
    };
    let moved = pos.cursor.as_deref() != Some(page.next_cursor.as_str());
    let next_pos = Position {
        cursor: Some(page.next_cursor.clone()),
        // The ETag describes the answer for the cursor asked; it stays useful only when the
        // feed did not move.
        etag: if moved { None } else { etag },
    };
    if !page.is_empty() {
        let events = bytes::Bytes::copy_from_slice(page.events.get().as_bytes());
        match sink.ingest(fetched(shared, events)).await {
            Ok(ing) => shared.ingested(&ing),
            Err(SinkError::Rejected { reason }) => {
                // The sink kept the page as a dead letter: move past it rather than stall
                // the feed on it for ever.
                client.counters.dead_letters.fetch_add(1, Relaxed);
                tracing::warn!(connector = %cfg.name, %reason, "feed page rejected");
            }
            Err(SinkError::Busy { retry_after }) => {
                client.counters.sink_busy.fetch_add(1, Relaxed);
                return Next::After(retry_after);
            }
            Err(SinkError::Unavailable { reason }) => {
                tracing::warn!(connector = %cfg.name, %reason, "sink unavailable");
                return backoff();
            }
        }
    }
    *failures = 0;
    if next_pos != *pos {
        *pos = next_pos;
        save(shared, store, pos).await;
    }
    // `has_more` with a cursor that did not move would ask for the same page for ever.
    if page.has_more && moved {
        Next::Now
    } else {
        Next::Idle
    }
}

fn fetched(shared: &Shared, body: bytes::Bytes) -> Fetched {
    let cfg = &shared.client.cfg;
    Fetched {
        connector: cfg.name.clone(),
        tenant: cfg.tenant.clone(),
        source: cfg.source,
        body,
        fetched_at: shared.client.wall.now(),
    }
}
