//! The change stream as the intake bench reads it: for every order of the day, the instant its
//! first status change arrived (`pending` for an accepted order, `backordered`, `on_hold`,
//! `cancelled`), and which status that was. Slots are atomics indexed by the day's order
//! number, so the reader never waits for the senders.

use crate::sse::{SseMessage, SseParser};
use anyhow::{Context as _, bail};
use futures::StreamExt as _;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

const MAX_RECONNECTS: u32 = 5;

/// The first status an order showed on the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Seen {
    None = 0,
    Pending = 1,
    Backordered = 2,
    OnHold = 3,
    Other = 4,
}

impl Seen {
    fn from_u8(v: u8) -> Seen {
        match v {
            1 => Seen::Pending,
            2 => Seen::Backordered,
            3 => Seen::OnHold,
            4 => Seen::Other,
            _ => Seen::None,
        }
    }
}

/// Shared between senders and the reader; times are nanoseconds since `base`, plus one.
pub struct Board {
    base: Instant,
    index: HashMap<String, usize>,
    pub sent: Vec<AtomicU64>,
    pub seen: Vec<AtomicU64>,
    status: Vec<AtomicU8>,
    pub seen_count: AtomicU64,
    pub changes: AtomicU64,
    pub reconnects: AtomicU64,
}

impl Board {
    pub fn new(order_ids: impl Iterator<Item = String>) -> Board {
        let index: HashMap<String, usize> = order_ids.enumerate().map(|(i, id)| (id, i)).collect();
        let slots = |n: usize| (0..n).map(|_| AtomicU64::new(0)).collect::<Vec<_>>();
        let n = index.len();
        Board {
            base: Instant::now(),
            index,
            sent: slots(n),
            seen: slots(n),
            status: (0..n).map(|_| AtomicU8::new(0)).collect(),
            seen_count: AtomicU64::new(0),
            changes: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
        }
    }

    pub fn ns(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.base).as_nanos()).unwrap_or(u64::MAX - 1)
            + 1
    }

    /// Notes the first send of order `i` (a 429's retry keeps the first instant).
    pub fn mark_sent(&self, i: usize, at_ns: u64) {
        if let Some(slot) = self.sent.get(i) {
            let _ = slot.compare_exchange(0, at_ns, Relaxed, Relaxed);
        }
    }

    pub fn seen_as(&self, i: usize) -> Seen {
        self.status
            .get(i)
            .map_or(Seen::None, |s| Seen::from_u8(s.load(Relaxed)))
    }

    fn observe(&self, order_id: &str, status: &str, at_ns: u64) {
        let Some(&i) = self.index.get(order_id) else {
            return;
        };
        let seen = match status {
            "pending" => Seen::Pending,
            "backordered" => Seen::Backordered,
            "on_hold" => Seen::OnHold,
            _ => Seen::Other,
        };
        if self.status[i]
            .compare_exchange(0, seen as u8, Relaxed, Relaxed)
            .is_ok()
        {
            self.seen[i].store(at_ns, Relaxed);
            self.seen_count.fetch_add(1, Relaxed);
        }
    }
}

#[derive(Deserialize)]
struct ChangeData {
    seq: u64,
    order_id: String,
    status: String,
}

/// The running reader; dropping it stops it.
pub struct Watcher {
    task: JoinHandle<()>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Subscribes and returns once the server answered, so nothing sent afterwards is missed.
pub async fn open(
    client: &reqwest::Client,
    base: &str,
    auth: &str,
    board: Arc<Board>,
) -> anyhow::Result<Watcher> {
    let url = format!("{base}/v1/stream");
    let response = connect(client, &url, auth, None).await?;
    let (client, auth) = (client.clone(), auth.to_owned());
    let task = tokio::spawn(async move {
        let mut response = response;
        let mut last_seq = None;
        let mut reconnects = 0;
        loop {
            if let Err(e) = read(response, &board, &mut last_seq).await {
                eprintln!("bench: intake: stream: {e:#}");
            }
            loop {
                if reconnects == MAX_RECONNECTS {
                    eprintln!("bench: intake: stream: gave up after {MAX_RECONNECTS} reconnects");
                    return;
                }
                reconnects += 1;
                board.reconnects.fetch_add(1, Relaxed);
                tokio::time::sleep(Duration::from_millis(200)).await;
                match connect(&client, &url, &auth, last_seq).await {
                    Ok(r) => {
                        response = r;
                        break;
                    }
                    Err(e) => eprintln!("bench: intake: stream: {e:#}"),
                }
            }
        }
    });
    Ok(Watcher { task })
}

async fn connect(
    client: &reqwest::Client,
    url: &str,
    auth: &str,
    last_seq: Option<u64>,
) -> anyhow::Result<reqwest::Response> {
    let mut request = client
        .get(url)
        .header(reqwest::header::AUTHORIZATION, auth)
        .header(reqwest::header::ACCEPT, "text/event-stream");
    if let Some(seq) = last_seq {
        request = request.header("Last-Event-ID", seq.to_string());
    }
    let response = tokio::time::timeout(Duration::from_secs(10), request.send())
        .await
        .context("the stream did not answer within 10 s")?
        .with_context(|| format!("opening {url}"))?;
    if !response.status().is_success() {
        bail!("{url} answered {}", response.status());
    }
    Ok(response)
}

async fn read(
    response: reqwest::Response,
    board: &Board,
    last_seq: &mut Option<u64>,
) -> anyhow::Result<()> {
    let mut body = response.bytes_stream();
    let mut parser = SseParser::new();
    let mut messages: Vec<SseMessage> = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.context("reading the stream")?;
        let at_ns = board.ns(Instant::now());
        parser.push(&chunk, &mut messages);
        for m in messages.drain(..) {
            if m.event.as_deref() != Some("change") {
                continue;
            }
            let Ok(change) = serde_json::from_str::<ChangeData>(&m.data) else {
                continue;
            };
            *last_seq = Some(last_seq.map_or(change.seq, |s| s.max(change.seq)));
            board.changes.fetch_add(1, Relaxed);
            board.observe(&change.order_id, &change.status, at_ns);
        }
    }
    bail!("the server ended the stream")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_status_counts() {
        let b = Board::new(["a".to_string(), "b".to_string()].into_iter());
        b.observe("a", "pending", 10);
        b.observe("a", "allocated", 20);
        b.observe("x", "pending", 30);
        b.observe("b", "on_hold", 40);
        assert_eq!((b.seen_as(0), b.seen[0].load(Relaxed)), (Seen::Pending, 10));
        assert_eq!(b.seen_as(1), Seen::OnHold);
        assert_eq!(b.seen_count.load(Relaxed), 2);
        b.mark_sent(0, 5);
        b.mark_sent(0, 7);
        assert_eq!(b.sent[0].load(Relaxed), 5, "a retry keeps the first send");
    }
}
