use super::*;
use proptest::prelude::*;

const SEC: Duration = Duration::from_secs(1);
const MIN: Duration = Duration::from_secs(60);

fn limits(max_failures: u32, delay_after: u32) -> Limits {
    Limits {
        max_failures,
        delay_after,
        base_delay: SEC,
        max_delay: 8 * SEC,
    }
}

#[test]
fn the_sixth_failure_within_the_window_waits_for_the_oldest_to_age_out() {
    let th = Arc::new(Throttle::new(limits(5, 5), 5 * MIN, 100));
    let t0 = Instant::now();
    for i in 0..5 {
        th.reserve(&"a", t0 + MIN * i / 2)
            .unwrap_or_else(|w| panic!("attempt {i} refused for {w:?}"))
            .fail();
    }
    let now = t0 + 3 * MIN;
    assert_eq!(th.reserve(&"a", now).err(), Some(2 * MIN));
    assert_eq!(th.check(&"a", now), Err(2 * MIN), "check agrees");
    assert!(th.reserve(&"b", now).is_ok(), "another key is not affected");
    assert!(
        th.reserve(&"a", t0 + 5 * MIN).is_ok(),
        "the oldest aged out"
    );
}

#[test]
fn reservations_count_before_they_are_settled_and_a_refund_gives_the_place_back() {
    let th = Arc::new(Throttle::new(limits(3, 3), MIN, 100));
    let now = Instant::now();
    let held: Vec<_> = (0..3).filter_map(|_| th.reserve(&"a", now).ok()).collect();
    assert_eq!(held.len(), 3);
    assert_eq!(
        th.reserve(&"a", now).err(),
        Some(SEC),
        "all in flight: retry soon"
    );
    let mut held = held.into_iter();
    if let Some(r) = held.next() {
        r.refund();
    }
    let again = th.reserve(&"a", now);
    assert!(again.is_ok(), "the refunded place is free");
    drop(again);
    // Dropped unsettled: counted as failures, so the key stays full.
    drop(held);
    assert!(th.reserve(&"a", now + SEC).is_err());
    assert!(
        th.reserve(&"a", now + MIN).is_ok(),
        "until the window passes"
    );
}

#[test]
fn past_the_free_attempts_each_waits_twice_as_long_up_to_the_maximum() {
    let th = Arc::new(Throttle::new(limits(20, 2), 10 * MIN, 100));
    let mut now = Instant::now();
    for _ in 0..2 {
        th.reserve(&"a", now).map(Reservation::fail).ok();
    }
    let mut waits = Vec::new();
    for _ in 0..6 {
        let wait = th.reserve(&"a", now).err().unwrap_or_default();
        waits.push(wait.as_secs());
        now += wait;
        th.reserve(&"a", now).map(Reservation::fail).ok();
    }
    assert_eq!(waits, [1, 2, 4, 8, 8, 8]);
    th.clear(&"a");
    assert!(th.reserve(&"a", now).is_ok(), "cleared: no delay");
}

#[test]
fn memory_stays_bounded_under_a_flood_of_keys_and_attempts_in_flight_stay() {
    let th = Arc::new(Throttle::new(limits(3, 3), MIN, 50));
    let t0 = Instant::now();
    let held = th.reserve(&u32::MAX, t0);
    for i in 0..10_000u32 {
        let at = t0 + Duration::from_millis(u64::from(i));
        for _ in 0..4 {
            th.reserve(&i, at).map(Reservation::fail).ok();
        }
    }
    assert!(th.len() <= 50, "{}", th.len());
    assert!(
        th.check(&9_999, t0 + 10 * SEC).is_err(),
        "the newest are kept"
    );
    assert!(held.is_ok());
    if let Ok(r) = held {
        r.fail();
    }
    assert!(
        th.check(&u32::MAX, t0 + 10 * SEC).is_ok(),
        "one failure of three"
    );
}

#[test]
fn threads_released_together_get_at_most_the_budget() {
    // No delay: the budget alone decides.
    let th = Arc::new(Throttle::new(limits(7, u32::MAX), MIN, 100));
    let now = Instant::now();
    let start = Arc::new(std::sync::Barrier::new(64));
    let granted: usize = (0..64)
        .map(|_| {
            let (th, start) = (th.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                // Each holds its reservation until every thread has tried.
                th.reserve(&"a", now).ok()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .filter_map(|h| h.join().ok())
        .filter(Option::is_some)
        .count();
    assert_eq!(granted, 7);
}

#[derive(Debug, Clone)]
enum Op {
    /// Time passes (milliseconds).
    Advance(u64),
    Reserve(u8),
    /// Settle the outstanding reservation at this index (modulo), failed or refunded.
    Settle(usize, bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u64..20_000).prop_map(Op::Advance),
        (0u8..3).prop_map(Op::Reserve),
        (0u8..3).prop_map(Op::Reserve),
        (any::<usize>(), any::<bool>()).prop_map(|(i, f)| Op::Settle(i, f)),
    ]
}

proptest! {
    /// Whatever the interleaving of reservations, settlements and time, the attempts granted
    /// to one key within any window and not refunded never exceed its budget.
    #[test]
    fn at_most_the_budget_is_granted_per_window(
        max in 1u32..6,
        delay_after in 0u32..6,
        base_ms in 0u64..3_000,
        ops in proptest::collection::vec(op(), 1..200),
    ) {
        let window = MIN;
        let lim = Limits {
            max_failures: max,
            delay_after,
            base_delay: Duration::from_millis(base_ms),
            max_delay: 10 * SEC,
        };
        let th = Arc::new(Throttle::new(lim, window, 100));
        let t0 = Instant::now();
        let mut now = t0;
        let mut outstanding: Vec<(Reservation<u8>, usize)> = Vec::new();
        // Every grant: key, instant, refunded.
        let mut log: Vec<(u8, Instant, bool)> = Vec::new();
        for op in ops {
            match op {
                Op::Advance(ms) => now += Duration::from_millis(ms),
                Op::Reserve(k) => {
                    if let Ok(r) = th.reserve(&k, now) {
                        log.push((k, now, false));
                        outstanding.push((r, log.len() - 1));
                    }
                }
                Op::Settle(i, failed) if !outstanding.is_empty() => {
                    let (r, at) = outstanding.swap_remove(i % outstanding.len());
                    if failed {
                        r.fail();
                    } else {
                        r.refund();
                        log[at].2 = true;
                    }
                }
                Op::Settle(..) => {}
            }
            for k in 0..3u8 {
                let live = log
                    .iter()
                    .filter(|(key, at, refunded)| {
                        *key == k && !refunded && now.duration_since(*at) < window
                    })
                    .count();
                prop_assert!(live <= max as usize, "key {k}: {live} granted in the window");
            }
        }
    }
}
