//! `waypost bench verify`: how long `waypost verify` takes and how much memory it needs on a
//! store of `--events` events. The store is written directly through the SQLite writer (append,
//! then apply, in batches: the server's own code without HTTP), as realistic orders of 5 to 10
//! events over several tenants, many orders in progress at once so that one order's events are
//! spread over the log as on a live store. Then `waypost verify` runs as a child process and its
//! wall time and peak resident memory (the kernel's `VmHWM`) are reported: the child holds
//! nothing of the build, so its peak is verify's alone.

use anyhow::{Context as _, bail};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use waypost_domain::{Clock, Event, TenantId};
use waypost_store::{Backend, NewEvent, Submission};
use waypost_store_sqlite::Sqlite;

#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// Events to write to the store before verifying it.
    #[arg(long, default_value_t = 1_000_000)]
    pub events: u64,
    /// Tenants the orders are spread over.
    #[arg(long, default_value_t = 4)]
    pub tenants: usize,
    /// Orders in progress at once while the store is written: each order's events land this
    /// far apart in the log, as they do on a live store.
    #[arg(long, default_value_t = 20_000)]
    pub interleave: usize,
    /// Build the store in this folder and keep it; when the folder already holds a store it is
    /// verified as it is (no events are added). Default: a temporary folder, removed after.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// The `--json` object; field names are a contract with whoever parses the last line.
#[derive(Debug, Serialize)]
struct Report {
    events: u64,
    orders: u64,
    tenants: usize,
    /// How long writing the store took; null when an existing store was reused.
    build_seconds: Option<f64>,
    /// The database and its WAL on disk.
    store_mb: f64,
    verify_seconds: f64,
    events_per_sec: f64,
    /// The verify child's peak resident memory; null where /proc cannot be read.
    peak_rss_mb: Option<f64>,
    mismatched: u64,
}

/// Events per append (and apply) transaction while building.
const BATCH: usize = 20_000;
/// How often the verify child's memory is sampled; `VmHWM` is the kernel's own high-water
/// mark, so only a spike in the last interval before it exits could be missed.
const SAMPLE: Duration = Duration::from_millis(20);

pub async fn run(args: VerifyArgs, json: bool, clock: Arc<dyn Clock>) -> anyhow::Result<()> {
    if args.events == 0 || args.tenants == 0 || args.interleave == 0 {
        bail!("--events, --tenants and --interleave must be at least 1");
    }
    let (tmp, dir) = match &args.dir {
        Some(d) => (None, d.clone()),
        None => {
            let t = tempfile::tempdir().context("creating a temporary data folder")?;
            let d = t.path().to_path_buf();
            (Some(t), d)
        }
    };
    let reuse = Sqlite::new(&dir, waypost_store::Durability::Normal).exists();
    let build_seconds = if reuse {
        eprintln!(
            "bench: verifying the existing store in {} (no events added)",
            dir.display()
        );
        None
    } else {
        let started = Instant::now();
        let (events, tenants, interleave, d) =
            (args.events, args.tenants, args.interleave, dir.clone());
        tokio::task::spawn_blocking(move || build(&d, events, tenants, interleave, &*clock))
            .await
            .context("the store builder panicked")??;
        Some(super::round(started.elapsed().as_secs_f64(), 1))
    };
    let store_mb = store_bytes(&dir) as f64 / 1_048_576.0;
    eprintln!("bench: store of {store_mb:.0} MB; running waypost verify");
    let d = dir.clone();
    let run = tokio::task::spawn_blocking(move || verify_child(&d))
        .await
        .context("the verify runner panicked")??;
    drop(tmp);

    let events = run.report["events"].as_u64().unwrap_or(0);
    let secs = run.wall.as_secs_f64();
    let report = Report {
        events,
        orders: run.report["orders"].as_u64().unwrap_or(0),
        tenants: args.tenants,
        build_seconds,
        store_mb: super::round(store_mb, 1),
        verify_seconds: super::round(secs, 2),
        events_per_sec: super::round(
            if secs > 0.0 {
                events as f64 / secs
            } else {
                0.0
            },
            0,
        ),
        peak_rss_mb: run.peak_kb.map(|kb| super::round(kb as f64 / 1024.0, 1)),
        mismatched: run.report["mismatched"].as_u64().unwrap_or(0),
    };
    if !json {
        eprintln!(
            "verify: {} events, {} orders in {:.1} s ({:.0} events/s), peak RSS {} MB",
            report.events,
            report.orders,
            secs,
            report.events_per_sec,
            report
                .peak_rss_mb
                .map_or_else(|| "unknown".to_string(), |mb| mb.to_string())
        );
    }
    let text = if json {
        serde_json::to_string(&report)
    } else {
        serde_json::to_string_pretty(&report)
    };
    println!("{}", text.context("serializing the report")?);
    if !run.success || report.mismatched > 0 {
        bail!(
            "waypost verify failed on the bench store: {}",
            run.stderr.trim()
        );
    }
    Ok(())
}

/// One order being written: who, and the statuses it has left to send.
struct Plan {
    tenant: usize,
    number: u64,
    statuses: Vec<&'static str>,
    next: usize,
}

/// An order's statuses, `len` (5 to 10) of them: two from the warehouse, then the carrier's
/// label, pick-up, `len - 5` transit scans and the delivery.
fn statuses(len: usize) -> Vec<&'static str> {
    let mut s = vec!["allocated", "packed", "label_created", "shipped"];
    s.extend(std::iter::repeat_n("in_transit", len.saturating_sub(5)));
    s.push("delivered");
    s
}

fn event(tenant: usize, number: u64, step: usize, status: &str) -> anyhow::Result<Event> {
    let order_id = format!("B{tenant}-{number:09}");
    // Event times an hour apart per step, orders a second apart: distinct contents.
    let base: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().context("base time")?;
    let at = base
        .checked_add(jiff::SignedDuration::from_secs(
            i64::try_from(number).unwrap_or(0) + 3_600 * step as i64,
        ))
        .context("event time out of range")?;
    let v = if step < 2 {
        serde_json::json!({
            "source": "wms", "event_id": format!("{order_id}-{step}"), "order_id": order_id,
            "status": status, "occurred_at": at.to_string(),
        })
    } else {
        serde_json::json!({
            "source": "ups", "carrier": "UPS", "event_id": format!("{order_id}-{step}"),
            "order_id": order_id, "tracking_number": format!("1Z{tenant}{number:09}"),
            "status": status, "occurred_at": at.to_string(),
            "location": {"city": "Leeds", "country": "GB"},
        })
    };
    serde_json::from_value(v).context("building a bench event")
}

/// Writes `total` events to a new store in `dir`, received and applied at `clock`'s time.
fn build(
    dir: &Path,
    total: u64,
    tenants: usize,
    interleave: usize,
    clock: &dyn Clock,
) -> anyhow::Result<()> {
    let (mut writer, _reader) = Sqlite::new(dir, waypost_store::Durability::Normal)
        .open()
        .context("opening the bench store")?;
    let tenant_ids = (0..tenants)
        .map(|i| TenantId::new(format!("bench{i}")).context("bench tenant"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut rng = StdRng::seed_from_u64(16);
    let mut planned = 0u64;
    let mut numbers = vec![0u64; tenants];
    let mut new_plan = |rng: &mut StdRng, planned: &mut u64| -> Option<Plan> {
        let left = total - *planned;
        if left == 0 {
            return None;
        }
        let len = (rng.random_range(5..=10) as u64).min(left) as usize;
        *planned += len as u64;
        let tenant = rng.random_range(0..tenants);
        numbers[tenant] += 1;
        let mut statuses = statuses(len.max(5));
        statuses.drain(..statuses.len() - len);
        Some(Plan {
            tenant,
            number: numbers[tenant],
            statuses,
            next: 0,
        })
    };
    let mut active: Vec<Plan> = Vec::with_capacity(interleave);
    while active.len() < interleave {
        match new_plan(&mut rng, &mut planned) {
            Some(p) => active.push(p),
            None => break,
        }
    }
    let started = Instant::now();
    let mut written = 0u64;
    let mut reported = 0u64;
    while !active.is_empty() {
        let mut per_tenant: Vec<Vec<NewEvent>> = (0..tenants).map(|_| Vec::new()).collect();
        let mut in_batch = 0;
        while in_batch < BATCH && !active.is_empty() {
            let i = rng.random_range(0..active.len());
            let p = &mut active[i];
            let step = p.next;
            let e = event(p.tenant, p.number, step, p.statuses[step])?;
            per_tenant[p.tenant].push(NewEvent::new(e).context("encoding a bench event")?);
            p.next += 1;
            in_batch += 1;
            if p.next == p.statuses.len() {
                match new_plan(&mut rng, &mut planned) {
                    Some(fresh) => active[i] = fresh,
                    None => {
                        active.swap_remove(i);
                    }
                }
            }
        }
        let now = clock.now();
        let subs: Vec<Submission> = per_tenant
            .into_iter()
            .zip(&tenant_ids)
            .filter(|(evs, _)| !evs.is_empty())
            .map(|(evs, t)| Submission::new(t.clone(), evs, now))
            .collect();
        let outcomes = writer.append(&subs).context("appending bench events")?;
        let stored: Vec<_> = outcomes.into_iter().flat_map(|o| o.stored).collect();
        writer
            .apply(waypost_store::Partition(0), &stored, now)
            .context("applying bench events")?;
        written += in_batch as u64;
        if written - reported >= 1_000_000 || active.is_empty() {
            reported = written;
            eprintln!(
                "bench: wrote {written} of {total} events ({:.0} events/s)",
                written as f64 / started.elapsed().as_secs_f64().max(1e-9)
            );
        }
    }
    Ok(())
}

fn store_bytes(dir: &Path) -> u64 {
    ["waypost.db", "waypost.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
        .map(|m| m.len())
        .sum()
}

struct ChildRun {
    wall: Duration,
    peak_kb: Option<u64>,
    success: bool,
    report: serde_json::Value,
    stderr: String,
}

/// Runs this binary's `verify` on `dir`, sampling its peak memory until it exits.
fn verify_child(dir: &Path) -> anyhow::Result<ChildRun> {
    let exe = std::env::current_exe().context("finding the waypost binary")?;
    let started = Instant::now();
    let mut child = std::process::Command::new(exe)
        .arg("verify")
        .arg("--data-dir")
        .arg(dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("starting waypost verify")?;
    // Drained on threads: a long mismatch list must not fill the pipe and stall the child.
    let drain = |r: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut r) = r {
                let _ = r.read_to_string(&mut s);
            }
            s
        })
    };
    let out = drain(child.stdout.take().map(|s| Box::new(s) as _));
    let err = drain(child.stderr.take().map(|s| Box::new(s) as _));
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kb: Option<u64> = None;
    let status = loop {
        if let Some(hwm) = std::fs::read_to_string(&status_path)
            .ok()
            .as_deref()
            .and_then(|s| status_kb(s, "VmHWM:"))
        {
            peak_kb = Some(peak_kb.unwrap_or(0).max(hwm));
        }
        if let Some(status) = child.try_wait().context("waiting for waypost verify")? {
            break status;
        }
        std::thread::sleep(SAMPLE);
    };
    let wall = started.elapsed();
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    let report = serde_json::from_str(stdout.trim()).unwrap_or(serde_json::Value::Null);
    Ok(ChildRun {
        wall,
        peak_kb,
        success: status.success(),
        report,
        stderr,
    })
}

/// A `kB` field of a /proc status file.
fn status_kb(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_have_five_to_ten_events_ending_delivered() {
        for len in 5..=10 {
            let s = statuses(len);
            assert_eq!(s.len(), len);
            assert_eq!(s[..4], ["allocated", "packed", "label_created", "shipped"]);
            assert_eq!(s.last(), Some(&"delivered"));
        }
    }

    #[test]
    fn the_bench_writes_exactly_the_events_asked_and_verify_agrees() {
        let dir = tempfile::tempdir().expect("temp dir");
        let at = "2026-12-01T00:00:00Z".parse().expect("a time");
        let clock = waypost_domain::ManualClock::new(at);
        build(dir.path(), 1_234, 3, 50, &clock).expect("build");
        let report = Sqlite::new(dir.path(), waypost_store::Durability::Full)
            .replay_check(&mut |_| {})
            .expect("replay");
        assert_eq!(report.events, 1_234);
        assert_eq!(report.applied_seq, 1_234);
        assert!(report.orders >= 1_234 / 10, "{report:?}");
        assert_eq!(report.mismatched, 0, "{:?}", report.mismatches);
    }

    #[test]
    fn status_fields_are_read_in_kb() {
        let s = "Name:\twaypost\nVmHWM:\t  12345 kB\nVmRSS:\t 100 kB\n";
        assert_eq!(status_kb(s, "VmHWM:"), Some(12_345));
        assert_eq!(status_kb(s, "VmSwap:"), None);
    }
}
