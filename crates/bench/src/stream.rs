//! The observer side of the benchmark: one `GET /v1/stream` reader that notes, for every event of
//! ours that appears in a state change, the instant its chunk arrived. Senders and the reader meet
//! only in [`Tracker`], whose slots are atomics, so neither side waits for the other and the
//! latency phase's numbers are not distorted by a lock.

use super::sse::{SseMessage, SseParser};
use anyhow::{Context as _, bail};
use futures::StreamExt as _;
use serde::Deserialize;
use std::borrow::Cow;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// The `source` every benchmark event carries; changes from other sources are not ours.
pub const SOURCE: &str = "bench";

/// How often the reader reconnects after the stream ends before giving up: a stream that drops
/// repeatedly would make every later number meaningless anyway.
const MAX_RECONNECTS: u32 = 5;

/// How long the server may take to answer a stream request with its headers.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Latency,
    Saturation,
}

impl Phase {
    fn tag(self) -> &'static str {
        match self {
            Phase::Latency => "lat",
            Phase::Saturation => "sat",
        }
    }
}

/// Shared bookkeeping between the senders and the stream reader.
///
/// Times are nanoseconds since `base` plus one, so that 0 means "not yet" in an `AtomicU64`.
pub struct Tracker {
    base: Instant,
    /// A random prefix for this run's ids, so a rerun against the same `--url` server never sends
    /// an id the server already has (it would be a duplicate and produce no change to observe).
    run: String,
    /// Per latency-phase event: when the request carrying it was sent, and when it was seen.
    pub lat_sent: Vec<AtomicU64>,
    pub lat_seen: Vec<AtomicU64>,
    pub lat_seen_count: AtomicU64,
    /// The saturation phase is open-ended, so only a count and the last arrival are kept.
    pub sat_seen: AtomicU64,
    pub sat_last_seen: AtomicU64,
}

impl Tracker {
    pub fn new(latency_events: usize) -> Self {
        let slots = || (0..latency_events).map(|_| AtomicU64::new(0)).collect();
        Tracker {
            base: Instant::now(),
            run: format!("{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff),
            lat_sent: slots(),
            lat_seen: slots(),
            lat_seen_count: AtomicU64::new(0),
            sat_seen: AtomicU64::new(0),
            sat_last_seen: AtomicU64::new(0),
        }
    }

    /// `at` in the tracker's encoding (see the type's doc).
    pub fn ns(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.base).as_nanos()).unwrap_or(u64::MAX - 1)
            + 1
    }

    /// The inverse of [`Tracker::ns`], for encoded values that are not 0.
    pub fn instant(&self, ns: u64) -> Instant {
        self.base + Duration::from_nanos(ns.saturating_sub(1))
    }

    /// Lowercase and short: event and order ids must match `[a-z0-9][a-z0-9_.-]*`, 128 bytes max.
    pub fn event_id(&self, phase: Phase, n: u64) -> String {
        format!("{}-{}-{n}", self.run, phase.tag())
    }

    /// A fresh order per event, so that every event is a state change the stream must report.
    pub fn order_id(&self, phase: Phase, n: u64) -> String {
        format!("b-{}-{}-{n}", self.run, phase.tag())
    }

    /// Which of our events an id names, if any.
    fn parse_id(&self, id: &str) -> Option<(Phase, u64)> {
        let rest = id.strip_prefix(self.run.as_str())?.strip_prefix('-')?;
        let (tag, n) = rest.split_once('-')?;
        let phase = match tag {
            "lat" => Phase::Latency,
            "sat" => Phase::Saturation,
            _ => return None,
        };
        Some((phase, n.parse().ok()?))
    }

    /// Records that `event_id` was seen at `at_ns`. Returns whether the id was one of ours.
    fn observe(&self, event_id: &str, at_ns: u64) -> bool {
        match self.parse_id(event_id) {
            Some((Phase::Latency, n)) => {
                let Some(slot) = usize::try_from(n).ok().and_then(|i| self.lat_seen.get(i)) else {
                    return false;
                };
                // Only the first sighting counts: a replay after a reconnect is not news.
                if slot.compare_exchange(0, at_ns, Relaxed, Relaxed).is_ok() {
                    self.lat_seen_count.fetch_add(1, Relaxed);
                }
                true
            }
            Some((Phase::Saturation, _)) => {
                self.sat_seen.fetch_add(1, Relaxed);
                self.sat_last_seen.fetch_max(at_ns, Relaxed);
                true
            }
            None => false,
        }
    }
}

/// What the reader noticed besides our events; printed in the summary so a surprising result
/// can be traced to the stream rather than to the server's pipeline.
#[derive(Default)]
pub struct StreamStats {
    pub changes: AtomicU64,
    /// Messages that were not `event: change`, or whose data did not parse.
    pub other_messages: AtomicU64,
    pub reconnects: AtomicU64,
    /// The first problem the reader met. A std mutex: it is written at most a few times and never
    /// held across an await.
    pub first_problem: Mutex<Option<String>>,
}

impl StreamStats {
    fn problem(&self, what: String) {
        if let Ok(mut first) = self.first_problem.lock()
            && first.is_none()
        {
            eprintln!("bench: stream: {what}");
            *first = Some(what);
        }
    }
}

/// The running reader; dropping it stops the reader.
pub struct StreamReader {
    task: JoinHandle<()>,
    pub stats: Arc<StreamStats>,
}

impl Drop for StreamReader {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Deserialize)]
struct ChangeData<'a> {
    seq: u64,
    #[serde(default, borrow)]
    events: Vec<ChangeEvent<'a>>,
}

#[derive(Deserialize)]
struct ChangeEvent<'a> {
    #[serde(default, borrow)]
    source: Cow<'a, str>,
    #[serde(borrow)]
    event_id: Cow<'a, str>,
}

/// Opens the stream and returns once the server has answered 200, i.e. once the subscription
/// exists: only then may the senders start, or the first changes could be missed.
pub async fn open(
    client: &reqwest::Client,
    base_url: &str,
    auth: &str,
    tracker: Arc<Tracker>,
) -> anyhow::Result<StreamReader> {
    let url = format!("{base_url}/v1/stream");
    let response = connect(client, &url, auth, None)
        .await
        .with_context(|| format!("opening the change stream {url}"))?;
    let stats = Arc::new(StreamStats::default());
    let task = tokio::spawn(read_loop(
        client.clone(),
        url,
        auth.to_owned(),
        response,
        tracker,
        stats.clone(),
    ));
    Ok(StreamReader { task, stats })
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
        // Lets a server that supports resumption replay what the drop lost.
        request = request.header("Last-Event-ID", seq.to_string());
    }
    // Bounds only the wait for the headers: a request timeout would also cut the endless body.
    let response = tokio::time::timeout(CONNECT_TIMEOUT, request.send())
        .await
        .with_context(|| format!("no answer within {CONNECT_TIMEOUT:?}"))?
        .context("sending the request")?;
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        bail!("the server answered {status}: {}", truncate(&body, 500));
    }
    Ok(response)
}

async fn read_loop(
    client: reqwest::Client,
    url: String,
    auth: String,
    mut response: reqwest::Response,
    tracker: Arc<Tracker>,
    stats: Arc<StreamStats>,
) {
    let mut last_seq = None;
    // After a reconnect a resuming server may replay changes already counted; they are skipped
    // by seq. Before any reconnect nothing is skipped, so no assumption about seq order is made.
    let mut replayed_upto = None;
    let mut reconnects = 0;
    loop {
        match read_response(response, &tracker, &stats, &mut last_seq, replayed_upto).await {
            Ok(()) => stats.problem("the server ended the stream".to_owned()),
            Err(e) => stats.problem(format!("reading failed: {e:#}")),
        }
        loop {
            if reconnects == MAX_RECONNECTS {
                stats.problem(format!("gave up after {MAX_RECONNECTS} reconnects"));
                return;
            }
            reconnects += 1;
            stats.reconnects.fetch_add(1, Relaxed);
            tokio::time::sleep(Duration::from_millis(200)).await;
            match connect(&client, &url, &auth, last_seq).await {
                Ok(r) => {
                    response = r;
                    replayed_upto = last_seq;
                    break;
                }
                Err(e) => stats.problem(format!("reconnecting failed: {e:#}")),
            }
        }
    }
}

/// Reads one connection until it ends.
async fn read_response(
    response: reqwest::Response,
    tracker: &Tracker,
    stats: &StreamStats,
    last_seq: &mut Option<u64>,
    replayed_upto: Option<u64>,
) -> anyhow::Result<()> {
    let mut body = response.bytes_stream();
    let mut parser = SseParser::new();
    let mut messages = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.context("reading the response body")?;
        // The arrival instant is taken before parsing so that parsing a large chunk does not add
        // to the latency of the events at its end.
        let at_ns = tracker.ns(Instant::now());
        parser.push(&chunk, &mut messages);
        for message in messages.drain(..) {
            handle(&message, at_ns, tracker, stats, last_seq, replayed_upto);
        }
    }
    Ok(())
}

fn handle(
    message: &SseMessage,
    at_ns: u64,
    tracker: &Tracker,
    stats: &StreamStats,
    last_seq: &mut Option<u64>,
    replayed_upto: Option<u64>,
) {
    if message.event.as_deref() != Some("change") {
        stats.other_messages.fetch_add(1, Relaxed);
        return;
    }
    let change: ChangeData<'_> = match serde_json::from_str(&message.data) {
        Ok(c) => c,
        Err(e) => {
            stats.other_messages.fetch_add(1, Relaxed);
            let data = truncate(&message.data, 200);
            stats.problem(format!("a change did not parse ({e}): {data}"));
            return;
        }
    };
    if replayed_upto.is_some_and(|upto| change.seq <= upto) {
        return;
    }
    *last_seq = Some(last_seq.map_or(change.seq, |s| s.max(change.seq)));
    stats.changes.fetch_add(1, Relaxed);
    for event in &change.events {
        if event.source == SOURCE {
            tracker.observe(&event.event_id, at_ns);
        }
    }
}

/// Cuts `s` to at most `max` bytes on a character boundary, for error messages.
pub fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_foreign_ids_are_ignored() {
        let t = Tracker::new(4);
        let id = t.event_id(Phase::Latency, 3);
        assert_eq!(t.parse_id(&id), Some((Phase::Latency, 3)));
        assert_eq!(
            t.parse_id(&t.event_id(Phase::Saturation, 99)),
            Some((Phase::Saturation, 99))
        );
        assert!(t.order_id(Phase::Latency, 3).starts_with("b-"));
        assert_eq!(t.parse_id("someone-else-lat-3"), None);
        assert!(!t.observe(&format!("{}-lat-4", t.run), 10), "out of range");
    }

    #[test]
    fn a_change_marks_its_events_seen_once() {
        let t = Tracker::new(2);
        let stats = StreamStats::default();
        let data = serde_json::json!({
            "seq": 7, "order_id": "o", "status": "pending",
            "events": [
                {"source": SOURCE, "event_id": t.event_id(Phase::Latency, 1), "received_at": "x"},
                {"source": SOURCE, "event_id": t.event_id(Phase::Saturation, 5)},
                {"source": "other", "event_id": t.event_id(Phase::Latency, 0)},
            ]
        });
        let message = SseMessage {
            id: Some("7".into()),
            event: Some("change".into()),
            data: data.to_string(),
        };
        let mut last = None;
        handle(&message, 42, &t, &stats, &mut last, None);
        handle(&message, 99, &t, &stats, &mut last, None);
        assert_eq!(last, Some(7));
        assert_eq!(t.lat_seen[1].load(Relaxed), 42, "the first sighting wins");
        assert_eq!(
            t.lat_seen[0].load(Relaxed),
            0,
            "another source's event is not ours"
        );
        assert_eq!(t.lat_seen_count.load(Relaxed), 1);
        assert_eq!(t.sat_seen.load(Relaxed), 2);
        assert_eq!(t.sat_last_seen.load(Relaxed), 99);
        // A replay after a reconnect is skipped by seq.
        handle(&message, 100, &t, &stats, &mut last, Some(7));
        assert_eq!(t.sat_seen.load(Relaxed), 2);
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
