//! The receiving end of `waypost bench rules`: every alert the engine publishes, stamped the
//! moment it arrives and counted against the deadlines the bench planted.

use super::measured_index;
use crate::stats;
use anyhow::Context as _;
use hdrhistogram::Histogram;
use jiff::Timestamp;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use tokio::sync::broadcast;
use waypost_domain::Clock;
use waypost_store::AlertRow;

/// What the receiver of the alert channel has seen so far. Pure: the instant of receipt is an
/// argument, so the counting is checked by unit tests.
pub(super) struct Tally {
    expected: u64,
    seen: Vec<bool>,
    pub(super) hist: Histogram<u64>,
    pub(super) received: u64,
    pub(super) duplicates: u64,
    pub(super) unexpected: u64,
    pub(super) lagged: u64,
    pub(super) early: u64,
}

impl Tally {
    pub(super) fn new(expected: u64) -> anyhow::Result<Tally> {
        Ok(Tally {
            expected,
            seen: vec![false; usize::try_from(expected).context("too many alerts")?],
            hist: stats::new_histogram()?,
            received: 0,
            duplicates: 0,
            unexpected: 0,
            lagged: 0,
            early: 0,
        })
    }

    fn record(&mut self, row: &AlertRow, at: Timestamp) -> anyhow::Result<()> {
        let slot = measured_index(&row.subject.order_id)
            .filter(|j| *j < self.expected)
            .and_then(|j| usize::try_from(j).ok());
        let (Some(slot), Some(due)) = (slot, row.due) else {
            self.unexpected += 1;
            return Ok(());
        };
        if std::mem::replace(&mut self.seen[slot], true) {
            self.duplicates += 1;
            return Ok(());
        }
        self.received += 1;
        let ns = at.duration_since(due).as_nanos();
        if ns < 0 {
            self.early += 1;
        }
        // Microseconds, rounded up so that a sub-microsecond latency still lands in range.
        let us = u64::try_from(ns.max(0)).unwrap_or(u64::MAX).div_ceil(1_000);
        self.hist
            .record(us.clamp(1, self.hist.high()))
            .context("recording a latency")
    }
}

/// Receives every alert on its own thread, stamping each the moment it arrives: a task on the
/// busy runtime could be scheduled late and charge its own delay to the detector.
pub(super) fn spawn_receiver(
    mut rx: broadcast::Receiver<Arc<AlertRow>>,
    mut tally: Tally,
    progress: Arc<AtomicU64>,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<std::thread::JoinHandle<anyhow::Result<Tally>>> {
    std::thread::Builder::new()
        .name("bench-alerts".into())
        .spawn(move || {
            loop {
                match rx.blocking_recv() {
                    Ok(row) => {
                        let at = clock.now();
                        tally.record(&row, at)?;
                        progress.store(tally.received, Relaxed);
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => tally.lagged += n,
                    Err(broadcast::error::RecvError::Closed) => return Ok(tally),
                }
            }
        })
        .context("starting the alert receiver")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{TENANT, far_id, measured_id};
    use jiff::SignedDuration;
    use waypost_domain::TenantId;
    use waypost_store::SubjectKey;

    fn alert(order_id: &str, due: Option<Timestamp>) -> AlertRow {
        AlertRow {
            id: 1,
            public_id: String::new(),
            subject: SubjectKey {
                tenant: TenantId::new(TENANT).expect("tenant"),
                order_id: order_id.into(),
                track: "1Z".into(),
            },
            rule: "transit-silent-72h".into(),
            kind: "silence".into(),
            severity: "high".into(),
            status: "open".into(),
            assignee: None,
            snoozed_until: None,
            triggers: 1,
            due,
            opened_at: Timestamp::UNIX_EPOCH,
            last_triggered: Timestamp::UNIX_EPOCH,
            resolved_at: None,
            resolution: None,
            false_positive: false,
            carrier: None,
            order_value: None,
            promised_at: None,
            summary: String::new(),
            impact: 0.0,
            version: 1,
        }
    }

    #[test]
    fn the_tally_counts_latency_duplicates_and_strangers() {
        let due: Timestamp = "2026-11-27T00:00:00Z".parse().expect("ts");
        let mut t = Tally::new(3).expect("tally");
        let late = |ms| due + SignedDuration::from_millis(ms);
        t.record(&alert(&measured_id(0), Some(due)), late(5))
            .expect("record");
        t.record(&alert(&measured_id(1), Some(due)), late(700))
            .expect("record");
        t.record(&alert(&measured_id(1), Some(due)), late(900))
            .expect("record");
        t.record(&alert(&far_id(0), Some(due)), late(1))
            .expect("record");
        t.record(&alert(&measured_id(7), Some(due)), late(1))
            .expect("record");
        t.record(&alert(&measured_id(2), Some(due)), late(-3))
            .expect("record");
        assert_eq!(
            (t.received, t.duplicates, t.unexpected, t.early),
            (3, 1, 2, 1)
        );
        let l = stats::summarize(&t.hist).expect("latencies");
        assert!((l.max - 700.0).abs() < 1.0, "{l:?}");
        assert_eq!(measured_index("M-0000042"), Some(42));
        assert_eq!(measured_index("F-0000042"), None);
    }
}
