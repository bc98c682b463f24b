//! `waypost bench rules`: how late the exception detector raises an alert after its deadline,
//! with many shipments in flight, against the real engine, the real SQLite store (in a
//! temporary folder, at the default durability) and the real clock.
//!
//! Every shipment gets one `in_transit` event, so the silence rule below files one deadline
//! for it, through the production path: the intake, the log, the applier and the detector's
//! `after_apply`, which writes the deadline row and schedules it in the timer index. Most
//! shipments heard from their carrier an hour ago, so their deadline lies 71 h ahead and stays
//! pending (they are the load the timer index and the store carry). The measured ones are
//! stamped so that their deadlines fall `--expire-per-minute` per minute, evenly spaced, for
//! `--minutes`, starting after the load is done. Each alert's latency is the wall instant the
//! bench received it from `Engine::alerts` minus its deadline: a little more than the
//! detector's own figure (store commit, then publish), never less.

mod tally;

use super::round;
use super::stats::{self, LatencySummary};
use anyhow::{Context as _, bail};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};
use tally::{Tally, spawn_receiver};
use waypost_domain::{Clock, Event, TenantId};
use waypost_engine::{Engine, EngineConfig, IntakeError, IntakeHandle};
use waypost_rules::RuleSet;
use waypost_store::Backend;
use waypost_store_sqlite::Sqlite;

/// One timed rule on shipments. Silence counts from the last event, which the bench sets.
const RULES: &str = r#"
[[rules]]
name = "transit-silent-72h"
kind = "silence"
statuses = ["in_transit"]
after = "72h"
severity = "high"
"#;
const SILENCE: SignedDuration = SignedDuration::from_hours(72);
const TENANT: &str = "bench";
/// Events per submission and submissions in flight while loading: big batches keep the
/// writer's group commits full, a few in flight keep it from waiting for the next one.
const LOAD_BATCH: usize = 4_000;
const LOAD_TASKS: usize = 4;
/// The first measured deadline is at least this far beyond the end of the load, so that the
/// writer is idle (as in steady state) when the window opens.
const MIN_LEAD: Duration = Duration::from_secs(30);
/// How long after the last deadline the bench waits for alerts still missing.
const GRACE: Duration = Duration::from_secs(30);

#[derive(clap::Args, Debug)]
pub struct RulesArgs {
    /// Shipments in flight, each with one pending deadline.
    #[arg(long, default_value_t = 1_000_000)]
    pub in_flight: u64,
    /// Deadlines that come due per minute during the measured window.
    #[arg(long, default_value_t = 100_000)]
    pub expire_per_minute: u64,
    /// Length of the measured window, in minutes.
    #[arg(long, default_value_t = 1)]
    pub minutes: u64,
    /// Events per second sent during the window besides, each a later scan of a pending
    /// shipment (which moves its deadline): the writer then applies while it fires.
    #[arg(long, default_value_t = 0)]
    pub events_per_sec: u64,
}

/// The `--json` object; field names are a contract with whoever parses the last line.
#[derive(Debug, Serialize)]
struct Report {
    in_flight: u64,
    expire_per_minute: u64,
    minutes: u64,
    alerts_expected: u64,
    /// Distinct expected alerts seen on the alert channel.
    alerts_received: u64,
    /// Alerts published again for a subject already alerted.
    duplicates: u64,
    /// Alerts for shipments whose deadline was not in the window (must be 0).
    unexpected: u64,
    /// Alerts the channel dropped because the bench's receiver fell behind.
    lagged: u64,
    /// Alerts published before their deadline (must be 0).
    early: u64,
    /// Null when no alert arrived: 0 ms would read as a perfect result.
    detection_latency_ms: Option<LatencyMs>,
    timer_index_mb: f64,
    deadlines_pending_after_load: u64,
    /// Resident memory of the whole process (engine, SQLite cache, bench) after the load.
    rss_mb: Option<f64>,
    rss_before_load_mb: Option<f64>,
    peak_rss_mb: Option<f64>,
    load_seconds: f64,
    load_events_per_sec: f64,
    /// How far beyond the end of the load the first measured deadline fell (negative: the
    /// window opened while the writer was still loading).
    lead_seconds: f64,
    /// Offered rate of the background scans during the window, and what the intake took.
    events_per_sec: u64,
    background_accepted: u64,
    background_busy: u64,
    /// Bytes the process wrote (write calls: the WAL, checkpoints into the database) during
    /// the window, per minute: the disk cost of raising alerts at this rate.
    window_written_mb_per_min: Option<f64>,
    durability: &'static str,
}

#[derive(Debug, Serialize)]
struct LatencyMs {
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
}

impl From<LatencySummary> for LatencyMs {
    fn from(l: LatencySummary) -> Self {
        LatencyMs {
            p50: round(l.p50, 3),
            p90: round(l.p90, 3),
            p99: round(l.p99, 3),
            max: round(l.max, 3),
        }
    }
}

/// The measured shipments are `M-<j>`, the others `F-<i>`: the order id says which.
fn measured_id(j: u64) -> String {
    format!("M-{j:07}")
}

fn far_id(i: u64) -> String {
    format!("F-{i:07}")
}

/// The index of a measured shipment, from its order id.
fn measured_index(order_id: &str) -> Option<u64> {
    order_id.strip_prefix("M-")?.parse().ok()
}

/// When measured deadline `j` is due: evenly spaced, `per_minute` per minute from `base`.
fn due_of(base: Timestamp, j: u64, per_minute: u64) -> anyhow::Result<Timestamp> {
    let offset_ns = i128::from(j) * 60_000_000_000 / i128::from(per_minute.max(1));
    let offset = SignedDuration::from_nanos(i64::try_from(offset_ns).context("window too long")?);
    base.checked_add(offset).context("deadline out of range")
}

fn event(order_id: &str, scan: u64, occurred_at: Timestamp) -> anyhow::Result<Event> {
    let track = format!("1Z{}", order_id.replace('-', ""));
    let v = serde_json::json!({
        "source": "ups", "carrier": "ups", "event_id": format!("{order_id}-s{scan}"),
        "order_id": order_id, "tracking_number": track, "status": "in_transit",
        "occurred_at": occurred_at.to_string(),
    });
    serde_json::from_value(v).context("building a bench event")
}

/// Resident and peak memory of this process, in MB, from /proc (Linux only; None elsewhere).
fn proc_mb(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(round(kb / 1024.0, 1))
}

/// Bytes this process has passed to write calls so far (Linux only; None elsewhere).
fn proc_written() -> Option<u64> {
    let io = std::fs::read_to_string("/proc/self/io").ok()?;
    let line = io.lines().find(|l| l.starts_with("wchar:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Submits the events of `ids` (with their event times) through the intake, `LOAD_TASKS`
/// submissions in flight, retrying when the queue is full. Returns the events accepted.
async fn submit_all(
    intake: &IntakeHandle,
    ids: Vec<(String, Timestamp)>,
    clock: &Arc<dyn Clock>,
) -> anyhow::Result<u64> {
    let tenant = TenantId::new(TENANT).context("tenant")?;
    let chunks: Vec<Vec<(String, Timestamp)>> = ids.chunks(LOAD_BATCH).map(<[_]>::to_vec).collect();
    let chunks = Arc::new(std::sync::Mutex::new(chunks.into_iter()));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..LOAD_TASKS {
        let (intake, tenant, chunks, clock) = (
            intake.clone(),
            tenant.clone(),
            chunks.clone(),
            clock.clone(),
        );
        tasks.spawn(async move {
            let mut accepted = 0u64;
            loop {
                // A std mutex: held only to take the next chunk, never across an await.
                let next = chunks
                    .lock()
                    .map_err(|_| anyhow::anyhow!("poisoned"))?
                    .next();
                let Some(chunk) = next else {
                    return anyhow::Ok(accepted);
                };
                let events = chunk
                    .iter()
                    .map(|(id, at)| event(id, 0, *at))
                    .collect::<anyhow::Result<Vec<_>>>()?;
                loop {
                    let now = clock.now();
                    match intake.submit(tenant.clone(), events.clone(), now).await {
                        Ok(r) => {
                            accepted += r.accepted as u64;
                            break;
                        }
                        Err(IntakeError::Busy { .. }) => {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        Err(e) => return Err(e).context("submitting bench events"),
                    }
                }
            }
        });
    }
    let mut accepted = 0;
    while let Some(r) = tasks.join_next().await {
        accepted += r.context("a load task panicked")??;
    }
    Ok(accepted)
}

/// Waits until the writer applied `total` events and every deadline they filed is either
/// pending in the timer index or already raised.
async fn wait_applied(engine: &Engine, total: u64) -> anyhow::Result<()> {
    let m = &engine.metrics;
    let started = Instant::now();
    loop {
        let applied = m.events_applied.get();
        let filed = m.deadlines_pending.get() + m.alerts_raised.get();
        if applied >= total && filed >= total {
            return Ok(());
        }
        if m.store_errors.get() > 0 {
            bail!("the store reported errors while loading; see the log");
        }
        if started.elapsed() > Duration::from_secs(3600) {
            bail!("loading did not finish within an hour ({applied} of {total} applied)");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn run(args: RulesArgs, json: bool, clock: Arc<dyn Clock>) -> anyhow::Result<()> {
    let per_minute = args.expire_per_minute;
    let expected = per_minute
        .checked_mul(args.minutes)
        .context("--expire-per-minute × --minutes overflows")?;
    if per_minute == 0 || args.minutes == 0 {
        bail!("--expire-per-minute and --minutes must be at least 1");
    }
    if args.events_per_sec > 0 && expected == args.in_flight {
        bail!("--events-per-sec needs shipments outside the window to scan (raise --in-flight)");
    }
    if expected > args.in_flight {
        bail!(
            "--in-flight ({}) must be at least --expire-per-minute × --minutes ({expected})",
            args.in_flight
        );
    }
    let rss_before = proc_mb("VmRSS:");
    let dir = tempfile::tempdir().context("creating a temporary data folder")?;
    let durability = waypost_store::Durability::default();
    let (writer, _reader) = Sqlite::new(dir.path(), durability)
        .open()
        .context("opening the bench store")?;
    let config = EngineConfig {
        rules: Arc::new(RuleSet::from_toml(RULES).context("the bench rules")?),
        ..EngineConfig::default()
    };
    let engine = Engine::start(writer, clock.clone(), config).context("starting the pipeline")?;
    let ready = engine.ready_flag();
    while !ready.load(Relaxed) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Subscribed before anything is loaded, so that every alert ever raised is seen.
    let progress = Arc::new(AtomicU64::new(0));
    let receiver = spawn_receiver(
        engine.alerts.subscribe(),
        Tally::new(expected)?,
        progress.clone(),
        clock.clone(),
    )?;

    let measured = run_load_and_window(&engine, &args, expected, &progress, &clock).await;
    // Stopping the engine closes the alert channel, which ends the receiver.
    let timer_bytes = engine.metrics.timer_index_bytes.get();
    engine.shutdown();
    let tally = receiver
        .join()
        .map_err(|_| anyhow::anyhow!("the alert receiver panicked"))??;
    let load = measured?;

    let report = Report {
        in_flight: args.in_flight,
        expire_per_minute: per_minute,
        minutes: args.minutes,
        alerts_expected: expected,
        alerts_received: tally.received,
        duplicates: tally.duplicates,
        unexpected: tally.unexpected,
        lagged: tally.lagged,
        early: tally.early,
        detection_latency_ms: stats::summarize(&tally.hist).map(LatencyMs::from),
        timer_index_mb: round(load.timer_bytes.max(timer_bytes) as f64 / 1e6, 1),
        deadlines_pending_after_load: load.pending,
        rss_mb: load.rss_after,
        rss_before_load_mb: rss_before,
        // The kernel folds per-thread RSS counters into the peak lazily, so it can read a
        // little below a current value taken earlier.
        peak_rss_mb: match (proc_mb("VmHWM:"), load.rss_after) {
            (Some(p), Some(r)) => Some(p.max(r)),
            (p, r) => p.or(r),
        },
        load_seconds: round(load.seconds, 1),
        load_events_per_sec: round(args.in_flight as f64 / load.seconds.max(1e-9), 0),
        lead_seconds: round(load.lead_seconds, 1),
        events_per_sec: args.events_per_sec,
        background_accepted: load.background.0,
        background_busy: load.background.1,
        window_written_mb_per_min: load.written_mb_per_min,
        durability: match durability {
            waypost_store::Durability::Full => "full",
            waypost_store::Durability::Normal => "normal",
        },
    };
    let summary = summary(&report);
    if json {
        eprint!("{summary}");
    } else {
        print!("{summary}");
    }
    if json {
        println!("{}", serde_json::to_string(&report).context("serializing")?);
    }
    drop(dir);
    Ok(())
}

/// What the load phase measured.
struct Loaded {
    seconds: f64,
    timer_bytes: u64,
    pending: u64,
    rss_after: Option<f64>,
    lead_seconds: f64,
    /// Background scans accepted, and refused as busy.
    background: (u64, u64),
    written_mb_per_min: Option<f64>,
}

async fn run_load_and_window(
    engine: &Engine,
    args: &RulesArgs,
    expected: u64,
    progress: &AtomicU64,
    clock: &Arc<dyn Clock>,
) -> anyhow::Result<Loaded> {
    let far = args.in_flight - expected;
    let started = Instant::now();
    // The pending ones first: their rate tells how long the measured ones will take.
    let heard = clock.now() - SignedDuration::from_hours(1);
    eprintln!("rules bench: loading {far} shipments with a deadline 71 h ahead");
    let ids: Vec<_> = (0..far).map(|i| (far_id(i), heard)).collect();
    let accepted = submit_all(&engine.intake, ids, clock).await?;
    wait_applied(engine, far).await?;
    let far_secs = started.elapsed().as_secs_f64();
    // Until measured, assume a slow 5,000 events/s; then twice what it took, plus the margin.
    let rate = if far > 0 {
        far as f64 / far_secs.max(1e-3)
    } else {
        5_000.0
    };
    let lead = MIN_LEAD + Duration::from_secs_f64(2.0 * expected as f64 / rate);
    let base = clock
        .now()
        .checked_add(SignedDuration::try_from(lead).context("lead")?)
        .context("window start")?;
    eprintln!(
        "rules bench: {far} loaded in {far_secs:.1} s ({rate:.0}/s); loading {expected} \
         measured shipments, deadlines from {base} at {} per minute",
        args.expire_per_minute
    );
    let ids = (0..expected)
        .map(|j| {
            Ok((
                measured_id(j),
                due_of(base, j, args.expire_per_minute)? - SILENCE,
            ))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let accepted = accepted + submit_all(&engine.intake, ids, clock).await?;
    if accepted != args.in_flight {
        bail!(
            "the intake accepted {accepted} of {} events (duplicates?)",
            args.in_flight
        );
    }
    wait_applied(engine, args.in_flight).await?;
    let seconds = started.elapsed().as_secs_f64();
    let lead_seconds = base.duration_since(clock.now()).as_secs_f64();
    let m = &engine.metrics;
    let loaded = Loaded {
        seconds,
        timer_bytes: m.timer_index_bytes.get(),
        pending: m.deadlines_pending.get(),
        rss_after: proc_mb("VmRSS:"),
        lead_seconds,
        background: (0, 0),
        written_mb_per_min: None,
    };
    eprintln!(
        "rules bench: {} shipments loaded in {seconds:.1} s; {} deadlines pending, timer index \
         {:.1} MB; first measured deadline in {lead_seconds:.1} s",
        args.in_flight,
        loaded.pending,
        loaded.timer_bytes as f64 / 1e6
    );
    let last = due_of(base, expected.saturating_sub(1), args.expire_per_minute)?;
    let give_up = last
        .checked_add(SignedDuration::try_from(GRACE).context("grace")?)
        .context("give-up instant")?;
    let scans = (args.events_per_sec > 0).then(|| {
        let intake = engine.intake.clone();
        let clock = clock.clone();
        tokio::spawn(background(
            intake,
            far,
            args.events_per_sec,
            (base, last),
            clock,
        ))
    });
    let (written_before, window_started) = (proc_written(), Instant::now());
    let mut reported = Instant::now();
    while progress.load(Relaxed) < expected && clock.now() < give_up {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if reported.elapsed() >= Duration::from_secs(10) {
            reported = Instant::now();
            eprintln!(
                "rules bench: {} of {expected} alerts received",
                progress.load(Relaxed)
            );
        }
    }
    let mut loaded = loaded;
    let minutes = window_started.elapsed().as_secs_f64() / 60.0;
    loaded.written_mb_per_min = match (written_before, proc_written()) {
        (Some(a), Some(b)) if minutes > 0.0 => {
            Some(round(b.saturating_sub(a) as f64 / 1e6 / minutes, 1))
        }
        _ => None,
    };
    if let Some(task) = scans {
        loaded.background = task.await.context("the background scans panicked")??;
    }
    Ok(loaded)
}

/// Later scans of pending shipments at `rate` per second from `from` until `until`, in ten
/// submissions a second. Each moves its shipment's deadline (a reschedule in the index, an
/// upsert in the store), so the writer applies events while it fires, as it does in
/// production. Returns the events accepted and those refused as busy.
async fn background(
    intake: IntakeHandle,
    far: u64,
    rate: u64,
    (from, until): (Timestamp, Timestamp),
    clock: Arc<dyn Clock>,
) -> anyhow::Result<(u64, u64)> {
    let tenant = TenantId::new(TENANT).context("tenant")?;
    if let Ok(wait) = Duration::try_from(from.duration_since(clock.now())) {
        tokio::time::sleep(wait).await;
    }
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut sent, mut accepted, mut busy) = (0u64, 0u64, 0u64);
    while clock.now() < until {
        tick.tick().await;
        // Catch up to the offered rate, so a slow commit does not lower it.
        let n = ((started.elapsed().as_secs_f64() * rate as f64) as u64).saturating_sub(sent);
        if n == 0 {
            continue;
        }
        let now = clock.now();
        // Heard from later than at load, so each scan moves a deadline and raises nothing.
        let heard = now - SignedDuration::from_hours(1);
        let events = (sent..sent + n)
            .map(|k| event(&far_id(k % far), 1 + k / far, heard))
            .collect::<anyhow::Result<Vec<_>>>()?;
        sent += n;
        match intake.submit(tenant.clone(), events, now).await {
            Ok(r) => accepted += r.accepted as u64,
            Err(IntakeError::Busy { .. }) => busy += n,
            Err(e) => return Err(e).context("submitting background scans"),
        }
    }
    Ok((accepted, busy))
}

/// The readable report: on stdout, or on stderr before the JSON line with `--json`.
fn summary(r: &Report) -> String {
    let mut out = format!(
        "rules bench: {} in flight, {} deadlines/min for {} min; alerts {} of {} (duplicates {}, \
         unexpected {}, lagged {}, early {})\n",
        r.in_flight,
        r.expire_per_minute,
        r.minutes,
        r.alerts_received,
        r.alerts_expected,
        r.duplicates,
        r.unexpected,
        r.lagged,
        r.early
    );
    out += &match &r.detection_latency_ms {
        Some(l) => format!(
            "detection latency (deadline -> alert published): p50 {} ms, p90 {} ms, p99 {} ms, \
             max {} ms\n",
            l.p50, l.p90, l.p99, l.max
        ),
        None => "detection latency: no alert arrived\n".to_owned(),
    };
    let mb = |v: Option<f64>| v.map_or("?".to_owned(), |v| format!("{v} MB"));
    out += &format!(
        "memory: timer index {} MB for {} pending deadlines; process RSS {} before the load, {} \
         after, peak {}\n",
        r.timer_index_mb,
        r.deadlines_pending_after_load,
        mb(r.rss_before_load_mb),
        mb(r.rss_mb),
        mb(r.peak_rss_mb)
    );
    if let Some(w) = r.window_written_mb_per_min {
        out += &format!("disk: {w} MB written per minute during the window\n");
    }
    out += &format!(
        "load: {:.1} s ({} events/s, durability {})\n",
        r.load_seconds, r.load_events_per_sec, r.durability
    );
    if r.events_per_sec > 0 {
        out += &format!(
            "background: {} scans/s offered during the window; {} accepted, {} refused as busy\n",
            r.events_per_sec, r.background_accepted, r.background_busy
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_are_spread_evenly_over_the_minute() {
        let base: Timestamp = "2026-11-27T00:00:00Z".parse().expect("ts");
        assert_eq!(due_of(base, 0, 100_000).expect("due"), base);
        let one = due_of(base, 1, 100_000).expect("due");
        assert_eq!(one.duration_since(base), SignedDuration::from_micros(600));
        let minute = due_of(base, 100_000, 100_000).expect("due");
        assert_eq!(minute.duration_since(base), SignedDuration::from_secs(60));
    }
}
