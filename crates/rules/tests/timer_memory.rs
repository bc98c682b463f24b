//! The memory target: 1,000,000 pending deadlines keyed `(u64, u16)` in well under
//! 200 MB, and `approx_bytes` honest about it. Measured as the growth of this process's
//! resident memory (its own test binary, so no other test allocates meanwhile).
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use jiff::{SignedDuration, Timestamp};
use waypost_rules::TimerIndex;

fn rss_bytes() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[test]
fn a_million_deadlines_fit_and_are_counted_honestly() {
    const N: u64 = 1_000_000;
    let start: Timestamp = "2026-11-27T00:00:00Z".parse().unwrap();
    let before = rss_bytes();
    let mut idx: TimerIndex<(u64, u16)> = TimerIndex::new();
    // Deadlines spread over a week in a scrambled order, as a real backlog would be.
    for i in 0..N {
        let due = start
            .checked_add(SignedDuration::from_secs(((i * 7_919) % 604_800) as i64))
            .unwrap();
        idx.schedule((i, (i % 5) as u16), due);
    }
    assert_eq!(idx.len(), N as usize);
    let estimate = idx.approx_bytes();
    let mb = estimate as f64 / 1e6;
    println!("timer index: {N} deadlines, approx_bytes {mb:.1} MB");
    assert!(estimate < 200_000_000, "{mb:.1} MB");
    if let (Some(b), Some(a)) = (before, rss_bytes()) {
        let grown = a.saturating_sub(b) as f64;
        println!("resident memory grew {:.1} MB", grown / 1e6);
        assert!(grown < 200e6, "resident memory grew {:.1} MB", grown / 1e6);
        // The estimate is within a third of what the process really took.
        let ratio = estimate as f64 / grown;
        assert!(
            (0.66..1.5).contains(&ratio),
            "estimate {mb:.1} MB vs measured {:.1} MB",
            grown / 1e6
        );
    }
    // And it still works at that size: the first minute's deadlines pop in order.
    let popped = idx.pop_due(
        start.checked_add(SignedDuration::from_secs(59)).unwrap(),
        usize::MAX,
    );
    assert!(!popped.is_empty());
    assert!(popped.windows(2).all(|w| w[0].1 <= w[1].1));
    assert_eq!(idx.len() + popped.len(), N as usize);
}
