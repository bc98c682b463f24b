//! The invariant of `shared/taxonomy.md`, as a property: any permutation and any duplication of a
//! set of events gives the same projection of every order.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use proptest::prelude::*;
use std::collections::BTreeMap;
use waypost_domain::projection::{StreamState, aggregate_order};
use waypost_domain::{
    Event, EventId, EventTime, Location, OrderId, OrderView, Reason, SourceName, Status,
    TrackingNumber,
};

fn arb_event() -> impl Strategy<Value = Event> {
    (
        0usize..3,                   // order
        prop::option::of(0usize..3), // tracking number (None: order-wide)
        prop::sample::select(Status::ALL.to_vec()),
        0i64..20,        // coarse time: ties are common on purpose
        0usize..3,       // source
        0u32..1_000_000, // event id
        prop::option::of(prop::sample::select(vec![
            Reason::Weather,
            Reason::Damaged,
            Reason::Stockout,
        ])),
        prop::option::of((-80.0f64..80.0, -170.0f64..170.0)),
    )
        .prop_map(|(o, t, status, minute, src, id, reason, loc)| Event {
            source: SourceName::new(["wms", "ups", "dhl"][src]).unwrap(),
            event_id: EventId::new(format!("e{id}")).unwrap(),
            order_id: OrderId::new(format!("O{o}")).unwrap(),
            status,
            occurred_at: EventTime::parse(&format!("2024-03-01T10:{minute:02}:00+02:00")).unwrap(),
            tracking_number: t.map(|t| TrackingNumber::new(format!("T{o}{t}")).unwrap()),
            carrier: t.map(|_| "ups".to_string()),
            service: None,
            reason,
            location: loc.map(|(lat, lon)| Location {
                lat: Some(lat),
                lon: Some(lon),
                ..Default::default()
            }),
            origin: None,
            destination: None,
            raw_code: None,
            raw_description: None,
            promised_at: None,
            attributes: Default::default(),
        })
}

/// In real life `(source, event_id)` is unique (the store deduplicates it); the generator must
/// not make two different events with one identity.
fn unique_ids(mut events: Vec<Event>) -> Vec<Event> {
    for (i, e) in events.iter_mut().enumerate() {
        e.event_id = EventId::new(format!("e{i}")).unwrap();
    }
    events
}

fn fold(events: &[Event]) -> BTreeMap<(String, String), StreamState> {
    let mut streams: BTreeMap<(String, String), StreamState> = BTreeMap::new();
    for e in events {
        streams
            .entry((e.order_id.to_string(), e.stream().to_string()))
            .or_default()
            .apply(e);
    }
    streams
}

fn project(events: &[Event]) -> BTreeMap<String, OrderView> {
    let streams = fold(events);
    #[allow(clippy::type_complexity)]
    let mut by_order: BTreeMap<String, (Option<StreamState>, Vec<(String, StreamState)>)> =
        BTreeMap::new();
    for ((order, track), st) in streams {
        let entry = by_order.entry(order).or_default();
        if track.is_empty() {
            entry.0 = Some(st);
        } else {
            entry.1.push((track, st));
        }
    }
    by_order
        .into_iter()
        .map(|(o, (os, ships))| {
            let v = aggregate_order(&o, os.as_ref(), ships.iter().map(|(k, v)| (k.as_str(), v)));
            (o, v)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn permutation_and_duplication_do_not_change_the_projection(
        events in prop::collection::vec(arb_event(), 1..40),
        shuffle_seed in any::<u64>(),
        dup_mask in prop::collection::vec(0u8..3, 40),
    ) {
        let events = unique_ids(events);
        let expected = project(&events);
        // Duplicate some events (up to two extra copies) and shuffle deterministically by seed.
        let mut delivered: Vec<Event> = Vec::new();
        for (i, e) in events.iter().enumerate() {
            for _ in 0..=dup_mask[i % dup_mask.len()] {
                delivered.push(e.clone());
            }
        }
        let mut state = shuffle_seed | 1;
        for i in (1..delivered.len()).rev() {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            delivered.swap(i, (state % (i as u64 + 1)) as usize);
        }
        prop_assert_eq!(project(&delivered), expected);
        // The whole folded state, not only the view: the delivery outcome's first shipped and
        // first delivered times are read from it.
        prop_assert_eq!(fold(&delivered), fold(&events));
    }

    /// The first shipped and first delivered times are the minimum over the stream's events of
    /// those statuses, however the events were split into batches.
    #[test]
    fn first_shipped_and_delivered_are_the_earliest_of_their_events(
        events in prop::collection::vec(arb_event(), 1..40),
        cut in any::<prop::sample::Index>(),
    ) {
        let events = unique_ids(events);
        let whole = fold(&events);
        let (a, b) = events.split_at(cut.index(events.len() + 1));
        let mut batched = fold(b);
        for e in a {
            batched
                .entry((e.order_id.to_string(), e.stream().to_string()))
                .or_default()
                .apply(e);
        }
        prop_assert_eq!(&batched, &whole);
        for ((order, track), st) in &whole {
            let mine = || events.iter().filter(|e| e.order_id.as_str() == order && e.stream() == track);
            let min_of = |f: &dyn Fn(Status) -> bool| {
                mine().filter(|e| f(e.status)).map(|e| e.occurred_at.as_nanos()).min()
            };
            prop_assert_eq!(
                st.first_shipped_ns,
                min_of(&|s| matches!(s, Status::Shipped | Status::InTransit))
            );
            prop_assert_eq!(st.first_delivered_ns, min_of(&|s| s == Status::Delivered));
        }
    }

    #[test]
    fn applying_an_event_twice_changes_nothing_the_second_time(events in prop::collection::vec(arb_event(), 1..20)) {
        let events = unique_ids(events);
        let mut st = StreamState::default();
        for e in &events { st.apply(e); }
        for e in &events { prop_assert!(!st.apply(e)); }
    }
}
