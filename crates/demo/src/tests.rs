//! Tests of the world as a whole, through its public API only.

// A failed unwrap is a failed test, with the value in the message.
#![allow(clippy::unwrap_used)]

use super::*;
use jiff::{SignedDuration, Timestamp};
use std::collections::{BTreeMap, HashMap, HashSet};
use waypost_domain::input::FIELDS;
use waypost_domain::{EventTime, InputLimits, Status, parse_event};

fn start() -> Timestamp {
    "2026-11-26T15:00:00Z".parse().unwrap()
}

fn cfg(seed: u64, orders_per_minute: f64, max_orders: Option<usize>) -> DemoConfig {
    DemoConfig {
        seed,
        orders_per_minute,
        max_orders,
        ..DemoConfig::default()
    }
}

/// Polls every `every` from the start until `until` after it, both ends included.
fn run(
    cfg: DemoConfig,
    every: SignedDuration,
    until: SignedDuration,
) -> Vec<(Timestamp, Vec<Value>)> {
    let mut world = World::new(cfg, start());
    let mut batches = Vec::new();
    let mut at = SignedDuration::ZERO;
    loop {
        let now = start() + at.min(until);
        batches.push((now, world.poll(now)));
        if at >= until {
            return batches;
        }
        at += every;
    }
}

/// Polls once a second until the world is done; panics if it never is.
fn run_to_end(cfg: DemoConfig) -> (World, Vec<(Timestamp, Vec<Value>)>) {
    let mut world = World::new(cfg, start());
    let mut batches = Vec::new();
    for s in 0..4 * 3600 {
        let now = start() + SignedDuration::from_secs(s);
        batches.push((now, world.poll(now)));
        if world.is_done() {
            return (world, batches);
        }
    }
    panic!("the world never finished: {:?}", world.stats());
}

fn str_of<'a>(e: &'a Value, field: &str) -> &'a str {
    e[field].as_str().unwrap_or_default()
}

fn instant(e: &Value) -> Timestamp {
    EventTime::parse(str_of(e, "occurred_at")).unwrap().instant
}

fn status(e: &Value) -> Status {
    str_of(e, "status").parse().unwrap()
}

#[test]
fn same_seed_same_events_and_another_seed_others() {
    let every = SignedDuration::from_millis(700);
    let until = SignedDuration::from_mins(5);
    let a = run(cfg(7, 120.0, None), every, until);
    let b = run(cfg(7, 120.0, None), every, until);
    let c = run(cfg(8, 120.0, None), every, until);
    assert!(a.iter().map(|(_, b)| b.len()).sum::<usize>() > 1000);
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn what_is_due_does_not_depend_on_the_polling_cadence() {
    let until = SignedDuration::from_mins(8);
    let sorted = |batches: Vec<(Timestamp, Vec<Value>)>| {
        let mut all: Vec<String> = batches
            .iter()
            .flat_map(|(_, b)| b.iter().map(Value::to_string))
            .collect();
        all.sort();
        all
    };
    let often = sorted(run(cfg(3, 90.0, None), SignedDuration::from_secs(1), until));
    let seldom = sorted(run(
        cfg(3, 90.0, None),
        SignedDuration::from_secs(37),
        until,
    ));
    assert!(often.len() > 1000);
    assert_eq!(often, seldom);
}

#[test]
fn every_event_is_valid_canonical_json_and_never_in_the_future() {
    let (_, batches) = run_to_end(cfg(11, 240.0, Some(500)));
    let limits = InputLimits::default();
    let mut count = 0;
    for (now, batch) in &batches {
        for e in batch {
            count += 1;
            let obj = e.as_object().unwrap();
            for k in obj.keys() {
                assert!(FIELDS.contains(&k.as_str()), "unknown field {k} in {e}");
            }
            let parsed =
                parse_event(e, *now, &limits).unwrap_or_else(|errs| panic!("{errs:?} in {e}"));
            assert!(parsed.occurred_at.instant <= *now, "{e} is after {now}");
            assert!(
                parsed.promised_at.is_none_or(|p| p.instant > start()),
                "{e}"
            );
            let at = str_of(e, "occurred_at");
            let offset = &at[at.len() - 6..];
            assert!(
                offset.starts_with(['+', '-']) && offset.as_bytes()[3] == b':',
                "{at}"
            );
            let source = str_of(e, "source");
            if source.starts_with("wms-") {
                assert!(
                    parsed.tracking_number.is_none() && parsed.carrier.is_none(),
                    "{e}"
                );
                assert!(
                    matches!(parsed.status.rank(), Some(0..=3)) || parsed.status.rank().is_none(),
                    "{e}"
                );
                let channel = str_of(&e["attributes"], "channel");
                assert!(["web", "amazon", "edi"].contains(&channel), "{e}");
            } else {
                assert!(["ups", "fedex", "usps", "dhl"].contains(&source), "{e}");
                assert_eq!(parsed.carrier.as_deref(), Some(source));
                assert!(
                    parsed.tracking_number.is_some() && parsed.service.is_some(),
                    "{e}"
                );
                assert!(parsed.status.rank().is_none_or(|r| r >= 4), "{e}");
            }
            let loc = parsed.location.unwrap();
            assert!(
                loc.lat.is_some() && loc.city.is_some() && loc.postal_code.is_some(),
                "{e}"
            );
            assert!(
                parsed.raw_code.is_some() && parsed.raw_description.is_some(),
                "{e}"
            );
            assert!(str_of(e, "order_id").starts_with("SO-1"), "{e}");
        }
    }
    assert!(count > 5000, "{count} events");
}

/// What a long run looks like, order by order.
struct Census {
    orders: BTreeMap<String, Vec<Value>>,
    events: usize,
    duplicates: usize,
    out_of_order: usize,
}

fn census(batches: &[(Timestamp, Vec<Value>)]) -> Census {
    let mut orders: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut copies: HashMap<String, usize> = HashMap::new();
    let mut latest: HashMap<String, Timestamp> = HashMap::new();
    let mut out_of_order = 0;
    let mut events = 0;
    for (_, batch) in batches {
        for e in batch {
            events += 1;
            *copies.entry(e.to_string()).or_default() += 1;
            let id = str_of(e, "order_id").to_string();
            if latest.get(&id).is_some_and(|&t| instant(e) < t) {
                out_of_order += 1;
            }
            orders.entry(id).or_default().push(e.clone());
        }
        // Only what came in earlier batches counts: within a batch the order is shuffled anyway.
        for e in batch {
            let t = latest
                .entry(str_of(e, "order_id").to_string())
                .or_insert(instant(e));
            *t = (*t).max(instant(e));
        }
    }
    let duplicates = copies.values().filter(|&&n| n > 1).count();
    Census {
        orders,
        events,
        duplicates,
        out_of_order,
    }
}

#[test]
fn a_long_run_shows_the_trouble_mix_in_realistic_proportions() {
    let n = 3000;
    let (world, batches) = run_to_end(cfg(42, 600.0, Some(n)));
    let c = census(&batches);
    assert_eq!(c.orders.len(), n);
    let share = |pred: &dyn Fn(&[Value]) -> bool| {
        c.orders.values().filter(|evs| pred(evs)).count() as f64 / n as f64
    };
    let with = |st: Status| move |evs: &[Value]| evs.iter().any(|e| status(e) == st);
    let stuck = share(&|evs| evs.iter().all(|e| status(e) == Status::Pending));
    let multi = share(&|evs| {
        let tracks: HashSet<&str> = evs
            .iter()
            .filter_map(|e| e["tracking_number"].as_str())
            .collect();
        tracks.len() == 2
    });
    let expect = [
        ("stuck in pending", stuck, 0.018, 0.045),
        (
            "backordered",
            share(&with(Status::Backordered)),
            0.01,
            0.035,
        ),
        ("delayed", share(&with(Status::Delayed)), 0.035, 0.07),
        (
            "attempt failed",
            share(&with(Status::AttemptFailed)),
            0.018,
            0.045,
        ),
        ("exception", share(&with(Status::Exception)), 0.003, 0.02),
        ("lost", share(&with(Status::Lost)), 0.003, 0.02),
        ("returned", share(&with(Status::Returned)), 0.003, 0.02),
        ("cancelled", share(&with(Status::Cancelled)), 0.003, 0.02),
        ("multi-shipment", multi, 0.07, 0.13),
        ("delivered", share(&with(Status::Delivered)), 0.85, 0.95),
    ];
    for (what, got, lo, hi) in expect {
        assert!(
            (lo..=hi).contains(&got),
            "{what}: {got:.3} of orders, expected {lo}..{hi}"
        );
    }
    let dup_share = c.duplicates as f64 / c.events as f64;
    assert!(
        (0.01..0.035).contains(&dup_share),
        "{dup_share:.3} of events duplicated"
    );
    let late_share = c.out_of_order as f64 / c.events as f64;
    assert!(
        (0.01..0.06).contains(&late_share),
        "{late_share:.3} of events out of order"
    );
    // Backordered orders come back, stuck ones never leave pending.
    for evs in c
        .orders
        .values()
        .filter(|evs| with(Status::Backordered)(evs))
    {
        let mut sorted: Vec<&Value> = evs.iter().collect();
        sorted.sort_by_key(|e| instant(e));
        let after: Vec<Status> = sorted
            .iter()
            .map(|e| status(e))
            .skip_while(|s| *s != Status::Backordered)
            .collect();
        assert!(after.contains(&Status::Allocated), "{after:?}");
    }
    let stats = world.stats();
    assert_eq!(stats.orders_created, n);
    assert_eq!(stats.orders_active, 0);
    assert_eq!(stats.events_sent as usize, c.events);
    let finished = stats.orders_finished as f64 / n as f64;
    assert!((0.93..0.98).contains(&finished), "{finished:.3} finished");
}

#[test]
fn a_healthy_orders_statuses_progress_in_rank_order() {
    let (_, batches) = run_to_end(cfg(5, 300.0, Some(600)));
    let c = census(&batches);
    let mut healthy = 0;
    for (id, evs) in &c.orders {
        let smooth = evs.iter().all(|e| status(e).rank().is_some());
        if !smooth || !evs.iter().any(|e| status(e) == Status::Delivered) {
            continue;
        }
        healthy += 1;
        // One stream per tracking number, plus the warehouse's; copies count once.
        let mut streams: BTreeMap<&str, BTreeMap<&str, &Value>> = BTreeMap::new();
        for e in evs {
            let track = e["tracking_number"].as_str().unwrap_or("");
            streams
                .entry(track)
                .or_default()
                .insert(str_of(e, "event_id"), e);
        }
        let mut packed_at = None;
        for (track, by_id) in &streams {
            let mut timeline: Vec<&Value> = by_id.values().copied().collect();
            timeline.sort_by_key(|e| instant(e));
            let ranks: Vec<u8> = timeline.iter().filter_map(|e| status(e).rank()).collect();
            assert!(
                ranks.windows(2).all(|w| w[0] <= w[1]),
                "{id} {track}: {ranks:?}"
            );
            let statuses: Vec<Status> = timeline.iter().map(|e| status(e)).collect();
            if track.is_empty() {
                use Status::*;
                assert_eq!(statuses, [Pending, Allocated, Picked, Packed], "{id}");
                packed_at = timeline.last().map(|e| instant(e));
            } else {
                assert_eq!(
                    &statuses[..2],
                    [Status::LabelCreated, Status::Shipped],
                    "{id} {track}"
                );
                assert_eq!(
                    &statuses[statuses.len() - 2..],
                    [Status::OutForDelivery, Status::Delivered]
                );
                assert!(
                    statuses.iter().filter(|s| **s == Status::InTransit).count() >= 2,
                    "{id} {statuses:?}"
                );
                let label_at = timeline.first().map(|e| instant(e));
                assert!(
                    packed_at.is_some() && label_at > packed_at,
                    "{id}: label before packing"
                );
            }
        }
        assert!(streams.len() >= 2, "{id} has no carrier events");
    }
    assert!(
        healthy as f64 >= 0.75 * c.orders.len() as f64,
        "{healthy} healthy of {}",
        c.orders.len()
    );
}

#[test]
fn memory_stays_bounded_while_orders_keep_coming() {
    let mut world = World::new(cfg(9, 60.0, None), start());
    let mut active_at = Vec::new();
    for s in 0..=3600 {
        world.poll(start() + SignedDuration::from_secs(s));
        if s % 900 == 0 {
            active_at.push(world.stats().orders_active);
        }
    }
    let stats = world.stats();
    assert!(stats.orders_created > 3000, "{stats:?}");
    assert!(stats.orders_finished > 2000, "{stats:?}");
    // Once the first orders finish, what is in flight stops growing.
    let (half, end) = (active_at[2], active_at[4]);
    assert!(
        end < 1200 && end <= half + half / 4,
        "active over time: {active_at:?}"
    );
    assert!(!world.is_done() && world.next_due().is_some());
}

#[test]
fn max_orders_stops_creation_and_the_world_then_empties() {
    let (world, batches) = run_to_end(cfg(1, 120.0, Some(25)));
    let stats = world.stats();
    assert_eq!((stats.orders_created, stats.orders_active), (25, 0));
    assert!(world.next_due().is_none());
    let ids: HashSet<&str> = batches
        .iter()
        .flat_map(|(_, b)| b.iter().map(|e| str_of(e, "order_id")))
        .collect();
    assert_eq!(ids.len(), 25);
    assert!(ids.contains("SO-100001") && ids.contains("SO-100025"));
    let mut idle = World::new(cfg(1, 120.0, Some(0)), start());
    assert!(
        idle.poll(start() + SignedDuration::from_hours(1))
            .is_empty()
            && idle.is_done()
    );
}

#[test]
fn the_first_order_shows_up_at_once_and_nothing_before_the_start() {
    let mut world = World::new(DemoConfig::default(), start());
    assert!(
        world
            .poll(start() - SignedDuration::from_secs(5))
            .is_empty()
    );
    let first = world.poll(start());
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(str_of(&first[0], "status"), "pending");
    assert_eq!(str_of(&first[0], "order_id"), "SO-100001");
    assert!(world.next_due().is_some_and(|t| t > start()));
    let later = world.poll(start() + SignedDuration::from_secs(60));
    assert!(
        later.len() > 100,
        "{} events in the first minute",
        later.len()
    );
}
