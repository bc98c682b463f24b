//! Pure arithmetic over what the phases recorded: latencies into a histogram, the histogram into
//! percentiles, counts into rates. No clocks and no I/O here, so the numbers the report prints are
//! checked by ordinary unit tests.

use anyhow::Context as _;
use hdrhistogram::Histogram;
use serde::Serialize;
use std::time::Duration;

/// Largest latency the histogram holds: one hour in microseconds. Anything slower is clamped,
/// which only matters for a server that is already hopelessly broken.
const MAX_LATENCY_US: u64 = 3_600_000_000;

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencySummary {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

/// A histogram with microsecond units and 3 significant digits (0.1% error on any percentile).
pub fn new_histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).context("creating the latency histogram")
}

/// Pairs per-event send and seen times and histograms the latencies of events that were seen.
///
/// Both slices hold nanoseconds since a common base instant, plus one, so that 0 can mean "not
/// recorded" in the atomics they were copied from. Returns the histogram and how many events were
/// sent but never seen.
pub fn latencies(sent_ns: &[u64], seen_ns: &[u64]) -> anyhow::Result<(Histogram<u64>, u64)> {
    let mut hist = new_histogram()?;
    let mut missing = 0;
    for (&sent, &seen) in sent_ns.iter().zip(seen_ns) {
        match (sent, seen) {
            (0, _) => {} // never sent (the phase was cut short): neither seen nor missing
            (_, 0) => missing += 1,
            (sent, seen) => {
                // Rounded up so a sub-microsecond latency still lands in the histogram's range.
                let us = seen
                    .saturating_sub(sent)
                    .div_ceil(1_000)
                    .clamp(1, MAX_LATENCY_US);
                hist.record(us).context("recording a latency")?;
            }
        }
    }
    Ok((hist, missing))
}

/// Percentiles of a microsecond histogram, in milliseconds; `None` when nothing was recorded,
/// because a p50 of 0 ms would read as a perfect result rather than an absent one.
pub fn summarize(hist: &Histogram<u64>) -> Option<LatencySummary> {
    if hist.is_empty() {
        return None;
    }
    let ms = |us: u64| us as f64 / 1_000.0;
    Some(LatencySummary {
        p50: ms(hist.value_at_quantile(0.50)),
        p90: ms(hist.value_at_quantile(0.90)),
        p99: ms(hist.value_at_quantile(0.99)),
        max: ms(hist.max()),
    })
}

/// Events per second; 0 for an empty window rather than infinity, which JSON cannot carry.
pub fn per_sec(count: u64, window: Duration) -> f64 {
    let secs = window.as_secs_f64();
    if secs > 0.0 { count as f64 / secs } else { 0.0 }
}

/// Nanoseconds the calling thread has spent on a CPU, from `/proc/thread-self/schedstat`
/// (Linux); `None` elsewhere. Per core is what the benchmarks report, and wall time overstates
/// the cost whenever other processes share the cores.
pub fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Times in the slices' encoding: nanoseconds since the base, plus one.
    fn at_ms(ms: u64) -> u64 {
        ms * 1_000_000 + 1
    }

    fn close(got: f64, want: f64) -> bool {
        // hdrhistogram with 3 significant digits is within 0.1% of the true value.
        (got - want).abs() <= want * 0.001 + 1e-9
    }

    #[test]
    fn percentiles_of_a_uniform_spread() {
        // Latencies 1..=1000 ms, all sent at t=0.
        let sent = vec![at_ms(0); 1000];
        let seen: Vec<u64> = (1..=1000).map(at_ms).collect();
        let (hist, missing) = latencies(&sent, &seen).expect("latencies");
        assert_eq!(missing, 0);
        assert_eq!(hist.len(), 1000);
        let s = summarize(&hist).expect("a summary of a non-empty histogram");
        for (got, want) in [
            (s.p50, 500.0),
            (s.p90, 900.0),
            (s.p99, 990.0),
            (s.max, 1000.0),
        ] {
            assert!(close(got, want), "got {got}, want {want} in {s:?}");
        }
    }

    #[test]
    fn unseen_events_are_missing_and_unsent_ones_are_neither() {
        let sent = [at_ms(0), at_ms(10), at_ms(20), 0];
        let seen = [at_ms(5), 0, at_ms(23), 0];
        let (hist, missing) = latencies(&sent, &seen).expect("latencies");
        assert_eq!(missing, 1);
        assert_eq!(hist.len(), 2);
        let s = summarize(&hist).expect("summary");
        assert!(close(s.max, 5.0), "{s:?}");
        assert!(close(s.p50, 3.0), "{s:?}");
    }

    #[test]
    fn tiny_and_huge_latencies_stay_in_range() {
        // Seen 200 ns after sent: rounds up to 1 µs instead of failing to record 0.
        // Seen before sent (cannot happen, but clocks are read in two tasks): clamped, not a panic.
        // Two hours: clamped to the one-hour ceiling.
        let sent = [100, 5_000_000, 1];
        let seen = [300, 1_000_000, 2 * 3_600_000_000_000 + 1];
        let (hist, missing) = latencies(&sent, &seen).expect("latencies");
        assert_eq!((hist.len(), missing), (3, 0));
        assert_eq!(hist.min(), 1);
        assert!(close(hist.max() as f64, MAX_LATENCY_US as f64));
    }

    #[test]
    fn empty_histogram_has_no_summary() {
        let (hist, missing) = latencies(&[at_ms(1)], &[0]).expect("latencies");
        assert_eq!(missing, 1);
        assert_eq!(summarize(&hist), None);
    }

    #[test]
    fn rates() {
        assert_eq!(per_sec(500, Duration::from_millis(250)), 2000.0);
        assert_eq!(per_sec(10, Duration::ZERO), 0.0);
    }
}
