//! The sending side: building batches of canonical events, posting them with the 429 back-off
//! the API asks for, and the two load shapes — an open-loop paced sender for latency and
//! closed-loop clients for saturation.

use super::stats;
use super::stream::{Phase, SOURCE, Tracker, truncate};
use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Statuses cycled through by event number: every event opens a fresh order, so each one is a
/// state change whatever its status, and the server's whole progress taxonomy gets exercised.
const STATUSES: [&str; 9] = [
    "pending",
    "allocated",
    "picked",
    "packed",
    "label_created",
    "shipped",
    "in_transit",
    "out_for_delivery",
    "delivered",
];

/// Each latency-phase sender is budgeted this long per request (response plus any 429 back-off):
/// the pool is sized so that requests this slow still keep up with the schedule. The server
/// answers only after a durable commit, so tens of milliseconds per answer is ordinary.
const SENDER_BUDGET: Duration = Duration::from_millis(250);

/// Bounds of the latency-phase sender pool: the floor keeps low rates from being stalled by one
/// slow answer, the ceiling keeps the connection count well under the usual 1024-descriptor limit.
const SENDERS: (f64, f64) = (16.0, 512.0);

/// Requests in flight at once in the latency phase. Pacing is open-loop (the ticker never waits
/// for an answer), but bounded: a server that stalls should show as send lag and missing events,
/// not as thousands of open connections. The pool grows with the request rate so that the bound
/// does not become the bottleneck of a healthy server.
fn latency_senders(rate: u64, batch: u64) -> usize {
    let requests_per_sec = rate as f64 / batch as f64;
    (requests_per_sec * SENDER_BUDGET.as_secs_f64())
        .ceil()
        .clamp(SENDERS.0, SENDERS.1) as usize
}

/// A request that goes out this much after its tick counts as late in the summary. Tokio's timer
/// has millisecond granularity, so a lag of a millisecond or two is the timer, not a backlog.
const LATE: Duration = Duration::from_millis(5);

/// How long to retry a 429'd batch after its phase ends before abandoning it as an error; a
/// server that keeps refusing for that long is not going to be measured usefully anyway.
const RETRY_GRACE: Duration = Duration::from_secs(30);

/// A request unanswered for this long is an error, so a hung server ends the run instead of
/// hanging it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Error bodies printed per phase: enough to diagnose, not enough to flood the terminal.
const ERROR_SAMPLES: usize = 5;

/// Where to send and as whom.
pub struct Target {
    pub client: reqwest::Client,
    pub events_url: String,
    /// The whole `Authorization` header value.
    pub auth: String,
    /// The wall clock the events' times are read from.
    pub clock: Arc<dyn waypost_domain::Clock>,
}

/// Outcome counts of one phase's requests.
#[derive(Default)]
pub struct Counters {
    pub requests: AtomicU64,
    pub accepted: AtomicU64,
    pub duplicates: AtomicU64,
    pub throttled: AtomicU64,
    pub errors: AtomicU64,
    /// A std mutex: locked only on the rare error path and never across an await.
    samples: Mutex<Vec<String>>,
}

impl Counters {
    fn error(&self, phase: &str, what: String) {
        self.errors.fetch_add(1, Relaxed);
        if let Ok(mut samples) = self.samples.lock()
            && samples.len() < ERROR_SAMPLES
        {
            eprintln!("bench: {phase}: {what}");
            samples.push(what);
        }
    }
}

#[derive(Serialize)]
struct WireEvent<'a> {
    source: &'static str,
    event_id: String,
    order_id: String,
    status: &'static str,
    occurred_at: &'a str,
    tracking_number: String,
}

#[derive(Deserialize)]
struct Accepted {
    accepted: u64,
    #[serde(default)]
    duplicates: u64,
}

/// The JSON array for events `range` of `phase`, all stamped `now` (the server bounds
/// `occurred_at` by its own clock, and this machine's is the same one or close to it).
fn batch_body(
    tracker: &Tracker,
    phase: Phase,
    range: Range<u64>,
    now: jiff::Timestamp,
) -> anyhow::Result<Vec<u8>> {
    let now = now.to_string();
    let events: Vec<WireEvent<'_>> = range
        .map(|n| WireEvent {
            source: SOURCE,
            event_id: tracker.event_id(phase, n),
            order_id: tracker.order_id(phase, n),
            status: STATUSES[(n % STATUSES.len() as u64) as usize],
            occurred_at: &now,
            tracking_number: format!("bench{n}"),
        })
        .collect();
    serde_json::to_vec(&events).context("serializing a batch")
}

/// Posts one batch, retrying the same body on 429 as the API asks. Everything else that is not
/// 2xx is counted as an error and not retried: the batch may or may not have been committed.
async fn post(
    target: &Target,
    body: Vec<u8>,
    counters: &Counters,
    phase: &str,
    give_up_at: Instant,
) {
    loop {
        counters.requests.fetch_add(1, Relaxed);
        let sent = target
            .client
            .post(&target.events_url)
            .header(reqwest::header::AUTHORIZATION, &target.auth)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.clone())
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => return counters.error(phase, format!("request failed: {}", chain(&e))),
        };
        let status = response.status();
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            counters.throttled.fetch_add(1, Relaxed);
            let wait = retry_after(response.headers());
            if Instant::now() + wait > give_up_at {
                let what = "still throttled (429) long after the phase ended, batch abandoned";
                return counters.error(phase, what.to_owned());
            }
            tokio::time::sleep(wait).await;
            continue;
        }
        let text = match response.text().await {
            Ok(t) => t,
            Err(e) => {
                return counters.error(phase, format!("{status}, body unreadable: {}", chain(&e)));
            }
        };
        if !status.is_success() {
            return counters.error(phase, format!("{status}: {}", truncate(&text, 500)));
        }
        match serde_json::from_str::<Accepted>(&text) {
            Ok(a) => {
                counters.accepted.fetch_add(a.accepted, Relaxed);
                counters.duplicates.fetch_add(a.duplicates, Relaxed);
            }
            Err(e) => counters.error(
                phase,
                format!(
                    "{status} with an unexpected body ({e}): {}",
                    truncate(&text, 500)
                ),
            ),
        }
        return;
    }
}

/// The back-off a 429 asks for: `Retry-After` in whole seconds, or 50 ms when it is missing, zero
/// or an HTTP date (a server under load has no business asking clients to parse dates).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Duration {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&s| s > 0)
        .map_or(Duration::from_millis(50), Duration::from_secs)
}

/// reqwest's `Display` hides the cause ("error sending request"); the chain says what happened.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

pub struct LatencyRun {
    pub events_sent: u64,
    pub requests: u64,
    /// First tick to last request sent.
    pub send_window: Duration,
    pub max_lag: Duration,
    pub late_requests: u64,
    pub counters: Arc<Counters>,
}

/// Offers `rate` events/s in requests of `batch` for `seconds`, then waits up to `straggle` for
/// the stream to report them. Request `k` is due at `start + k·batch/rate`, computed from the
/// start rather than by adding intervals, so rounding never drifts the offered rate; a tick that
/// is missed is sent as soon as possible and the lag is reported.
pub async fn latency_phase(
    target: &Arc<Target>,
    tracker: &Arc<Tracker>,
    rate: u64,
    batch: usize,
    seconds: u64,
    straggle: Duration,
) -> anyhow::Result<LatencyRun> {
    let total = tracker.lat_sent.len() as u64;
    let batch = batch as u64;
    let requests = total.div_ceil(batch);
    let counters = Arc::new(Counters::default());
    let slots = Arc::new(Semaphore::new(latency_senders(rate, batch)));
    let mut tasks = JoinSet::new();
    let (mut max_lag, mut late_requests) = (Duration::ZERO, 0);
    let start = tokio::time::Instant::now() + Duration::from_millis(10);
    let give_up_at = start.into_std() + Duration::from_secs(seconds) + RETRY_GRACE;
    let mut first_sent = None;
    for k in 0..requests {
        let due_ns = u128::from(k) * u128::from(batch) * 1_000_000_000 / u128::from(rate);
        let due = start + Duration::from_nanos(u64::try_from(due_ns).context("schedule overflow")?);
        tokio::time::sleep_until(due).await;
        let permit = slots
            .clone()
            .acquire_owned()
            .await
            .context("the sender pool closed")?;
        let now = tokio::time::Instant::now();
        let lag = now.saturating_duration_since(due);
        max_lag = max_lag.max(lag);
        late_requests += u64::from(lag > LATE);
        first_sent.get_or_insert(now.into_std());
        let range = k * batch..((k + 1) * batch).min(total);
        let (target, tracker, counters) = (target.clone(), tracker.clone(), counters.clone());
        tasks.spawn(async move {
            let _permit = permit;
            let body = batch_body(&tracker, Phase::Latency, range.clone(), target.clock.now())?;
            // Stamped after serializing, just before the request leaves, so the latency is the
            // server's and the network's, not this client's JSON encoder's.
            let sent_ns = tracker.ns(Instant::now());
            for n in range {
                let slot = tracker
                    .lat_sent
                    .get(n as usize)
                    .context("event index out of range")?;
                slot.store(sent_ns, Relaxed);
            }
            post(&target, body, &counters, "latency", give_up_at).await;
            anyhow::Ok(())
        });
        // Reaped as they finish so a failure surfaces now and the set stays small.
        while let Some(done) = tasks.try_join_next() {
            done.context("a latency sender panicked")??;
        }
    }
    let last_sent = Instant::now();
    while let Some(done) = tasks.join_next().await {
        done.context("a latency sender panicked")??;
    }
    // Stragglers: every accepted event should show up; errors never will, so they are not waited for.
    let wait_until = Instant::now() + straggle;
    while tracker.lat_seen_count.load(Relaxed) < counters.accepted.load(Relaxed)
        && Instant::now() < wait_until
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(LatencyRun {
        events_sent: total,
        requests,
        send_window: first_sent.map_or(Duration::ZERO, |f| last_sent - f),
        max_lag,
        late_requests,
        counters,
    })
}

pub struct SaturationRun {
    /// First send to the last answer received.
    pub send_window: Duration,
    /// Events seen on the stream, and first send to the last one seen.
    pub seen: u64,
    pub applied_window: Duration,
    pub counters: Arc<Counters>,
}

/// `clients` closed-loop senders post batches of `batch` until `seconds` have passed, then the
/// stream gets up to `catch_up` to report what was accepted.
pub async fn saturation_phase(
    target: &Arc<Target>,
    tracker: &Arc<Tracker>,
    clients: usize,
    batch: usize,
    seconds: u64,
    catch_up: Duration,
) -> anyhow::Result<SaturationRun> {
    let counters = Arc::new(Counters::default());
    let next = Arc::new(AtomicU64::new(0));
    let first_send = Instant::now();
    let end = first_send + Duration::from_secs(seconds);
    let mut tasks = JoinSet::new();
    for _ in 0..clients {
        let (target, tracker, counters, next) = (
            target.clone(),
            tracker.clone(),
            counters.clone(),
            next.clone(),
        );
        tasks.spawn(async move {
            while Instant::now() < end {
                let from = next.fetch_add(batch as u64, Relaxed);
                let body = batch_body(
                    &tracker,
                    Phase::Saturation,
                    from..from + batch as u64,
                    target.clock.now(),
                )?;
                post(&target, body, &counters, "saturation", end + RETRY_GRACE).await;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.context("a saturation client panicked")??;
    }
    let send_window = first_send.elapsed();
    let wait_until = Instant::now() + catch_up;
    while tracker.sat_seen.load(Relaxed) < counters.accepted.load(Relaxed)
        && Instant::now() < wait_until
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seen = tracker.sat_seen.load(Relaxed);
    let last_seen = tracker.sat_last_seen.load(Relaxed);
    let applied_window = if last_seen == 0 {
        Duration::ZERO
    } else {
        tracker
            .instant(last_seen)
            .saturating_duration_since(first_send)
    };
    Ok(SaturationRun {
        send_window,
        seen,
        applied_window,
        counters,
    })
}

/// Per-phase rates derived from a run, kept here beside the counters they read.
impl SaturationRun {
    pub fn events_per_sec(&self) -> f64 {
        stats::per_sec(self.seen, self.applied_window)
    }

    pub fn accepted_per_sec(&self) -> f64 {
        stats::per_sec(self.counters.accepted.load(Relaxed), self.send_window)
    }

    pub fn unapplied(&self) -> u64 {
        self.counters
            .accepted
            .load(Relaxed)
            .saturating_sub(self.seen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

    #[test]
    fn sender_pool_grows_with_the_request_rate() {
        assert_eq!(latency_senders(500, 10), 16, "50 req/s: the floor");
        assert_eq!(latency_senders(5_000, 10), 125, "500 req/s × 250 ms");
        assert_eq!(latency_senders(10_000_000, 1), 512, "the ceiling");
    }

    #[test]
    fn retry_after_defaults_to_50ms() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), Duration::from_millis(50));
        h.insert(RETRY_AFTER, HeaderValue::from_static("0"));
        assert_eq!(retry_after(&h), Duration::from_millis(50));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), Duration::from_millis(50));
        h.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Duration::from_secs(2));
    }

    #[test]
    fn batches_are_canonical_events_with_fresh_orders() {
        let tracker = Tracker::new(0);
        let body = batch_body(
            &tracker,
            Phase::Saturation,
            8..10,
            jiff::Timestamp::UNIX_EPOCH,
        )
        .expect("a batch");
        let events: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        let events = events.as_array().expect("an array");
        assert_eq!(events.len(), 2);
        assert_eq!(events[0]["source"], SOURCE);
        assert_eq!(events[0]["status"], "delivered");
        assert_eq!(events[1]["status"], "pending");
        assert_ne!(events[0]["order_id"], events[1]["order_id"]);
        let at = events[0]["occurred_at"].as_str().expect("a string");
        assert!(at.ends_with('Z'), "RFC 3339 with an offset: {at}");
        for field in ["event_id", "order_id"] {
            let id = events[1][field].as_str().expect("a string");
            let slug = id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            assert!(slug && id.len() <= 128, "{field} {id}");
        }
    }
}
