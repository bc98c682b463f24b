//! The projection every backend uses: one order's stored state and a batch of its events in,
//! everything the backend must write out ([`OrderDelta`]): the new streams, the visible
//! [`Change`], the attribute update, the delivery outcomes, the map position, the new tracking
//! numbers, and (through [`plan`]) the notifications.
//!
//! Invariant: pure. No I/O, no clock (`now` is an argument), no randomness: a backend loads,
//! calls [`project`], and stores; every decision (what changed, which outcome, which position,
//! which attributes win) is made here, once, for SQLite and any later backend alike.

mod attrs;
mod dashboard;
mod facts;
mod planner;
mod rows;

pub use attrs::{AttrUpdate, MAX_TAG_CHARS, MAX_TAGS, Stamped, merge_tags, wins};
pub use dashboard::{DeliveryOutcome, Position, PositionWrite, lane_end, outcomes, position};
pub use facts::subject_facts;
pub use planner::{NewOutbox, NoOutbox, OrderAttrs, OutboxPlanner, plan};
pub use rows::{Change, ChangeCause, Seq, ShipmentChange, StoredEvent, SubjectFacts};

use jiff::Timestamp;
use std::collections::BTreeMap;
use waypost_domain::projection::{StreamState, aggregate_order};
use waypost_domain::{OrderView, TenantId};

/// An order's streams, keyed by tracking number ("" for the order's own events).
pub type Streams = BTreeMap<String, StreamState>;

/// The order as the API shows it, from its streams.
pub fn view_of(order_id: &str, streams: &Streams) -> OrderView {
    aggregate_order(
        order_id,
        streams.get(""),
        streams.iter().map(|(k, v)| (k.as_str(), v)),
    )
}

/// What a backend loads for one order before a batch: its streams and, for an order already
/// stored, its version and the time of its last visible change.
#[derive(Debug, Clone, Default)]
pub struct OrderState {
    pub streams: Streams,
    pub stored: Option<Stored>,
}

/// The order row's version and last visible change, kept when a batch changes nothing visible.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stored {
    pub version: Seq,
    pub updated_at: Timestamp,
}

/// Everything one batch does to one order. When `state_changed` is false, every event was
/// already reflected (a late, older fact): only `attrs` may need writing.
#[derive(Debug, Clone)]
pub struct OrderDelta<'e> {
    /// The streams after the batch; written when `state_changed`.
    pub streams: Streams,
    pub state_changed: bool,
    /// The order as the API shows it after the batch.
    pub view: OrderView,
    /// The visible change, numbered `version`; `None` when the view did not move.
    pub change: Option<Change>,
    /// The order row's version and last visible change after the batch.
    pub version: Seq,
    pub updated_at: Timestamp,
    /// The batch's attributes, reduced; merged into the kept ones by the backend.
    pub attrs: AttrUpdate<'e>,
    /// Delivered shipments whose outcome the batch may have moved: upsert each.
    pub outcomes: Vec<DeliveryOutcome>,
    /// The map row to write after a visible change.
    pub position: Option<PositionWrite>,
    /// Tracking numbers the order did not have: index them.
    pub new_tracks: Vec<&'e str>,
    /// A new order: it needs its customer link.
    pub new_order: bool,
}

/// Folds `evs` (one order's, in log order) into `state`. `version` is the number a visible
/// change would get (the tenant's next change number) and `now` the time it is applied at.
pub fn project<'e>(
    tenant: &TenantId,
    order_id: &str,
    state: OrderState,
    evs: &[&'e StoredEvent],
    now: Timestamp,
    version: Seq,
) -> OrderDelta<'e> {
    let OrderState {
        mut streams,
        stored,
    } = state;
    let before = (!streams.is_empty()).then(|| view_of(order_id, &streams));
    let mut changed = false;
    let mut new_tracks: Vec<&str> = Vec::new();
    let mut touched: Vec<&str> = Vec::new();
    for se in evs {
        let track = se.event.stream();
        if !touched.contains(&track) {
            touched.push(track);
        }
        if !track.is_empty() && !streams.contains_key(track) && !new_tracks.contains(&track) {
            new_tracks.push(track);
        }
        // `get_mut` first: the key is allocated only for a new stream.
        changed |= match streams.get_mut(track) {
            Some(s) => s.apply(&se.event),
            None => streams
                .entry(track.to_string())
                .or_default()
                .apply(&se.event),
        };
    }
    let attrs = AttrUpdate::of(evs);
    let kept = stored.map_or((0, now), |s| (s.version, s.updated_at));
    if !changed {
        return OrderDelta {
            view: before.unwrap_or_else(|| view_of(order_id, &streams)),
            streams,
            state_changed: false,
            change: None,
            version: kept.0,
            updated_at: kept.1,
            attrs,
            outcomes: Vec::new(),
            position: None,
            new_tracks: Vec::new(),
            new_order: false,
        };
    }
    let after = view_of(order_id, &streams);
    let visible = before.as_ref() != Some(&after);
    let change =
        visible.then(|| change_of(tenant, order_id, before.as_ref(), &after, evs, now, version));
    let (version, updated_at) = if visible { (version, now) } else { kept };
    OrderDelta {
        outcomes: outcomes(&streams, &touched),
        position: visible.then(|| position(&after, &streams, updated_at)),
        view: after,
        streams,
        state_changed: true,
        change,
        version,
        updated_at,
        attrs,
        new_tracks,
        new_order: stored.is_none(),
    }
}

fn change_of(
    tenant: &TenantId,
    order_id: &str,
    before: Option<&OrderView>,
    after: &OrderView,
    evs: &[&StoredEvent],
    now: Timestamp,
    seq: Seq,
) -> Change {
    Change {
        seq,
        tenant: tenant.to_string(),
        order_id: order_id.to_string(),
        status: after.status.to_string(),
        previous_status: before.map(|b| b.status.to_string()),
        reason: after.reason.map(|r| r.to_string()),
        regression: after.regression,
        changed_at: now,
        shipments: after
            .shipments
            .iter()
            .filter(|s| {
                before.and_then(|b| {
                    b.shipments
                        .iter()
                        .find(|p| p.tracking_number == s.tracking_number)
                }) != Some(*s)
            })
            .map(|s| ShipmentChange {
                tracking_number: s.tracking_number.clone(),
                status: s.status.to_string(),
                reason: s.reason.map(|r| r.to_string()),
                location: s.location.clone(),
            })
            .collect(),
        events: evs
            .iter()
            .map(|se| ChangeCause {
                source: se.event.source.to_string(),
                event_id: se.event.event_id.to_string(),
                status: se.event.status.to_string(),
                occurred_at: se.event.occurred_at.to_string(),
                received_at: se.received_at,
            })
            .collect(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// 2024-03-01T10:00:00Z, the minute 0 of [`stored`].
    pub(crate) const BASE_NS: i128 = 1_709_287_200_000_000_000;

    /// An event of order "O" at minute `minute` after [`BASE_NS`].
    pub(crate) fn stored(
        seq: u64,
        id: &str,
        track: Option<&str>,
        status: &str,
        minute: i64,
        attributes: serde_json::Value,
    ) -> StoredEvent {
        let mut v = serde_json::json!({
            "source": "src", "event_id": id, "order_id": "O", "status": status,
            "occurred_at": format!("2024-03-01T{:02}:{:02}:00Z", 10 + minute / 60, minute % 60),
        });
        if let Some(t) = track {
            v["tracking_number"] = t.into();
        }
        if !attributes.is_null() {
            v["attributes"] = attributes;
        }
        StoredEvent {
            seq,
            tenant: TenantId::new("t").unwrap(),
            event: serde_json::from_value(v).unwrap(),
            received_at: Timestamp::from_second(1).unwrap(),
        }
    }

    pub(crate) fn fold(evs: &[StoredEvent]) -> Streams {
        let mut streams = Streams::new();
        for se in evs {
            streams
                .entry(se.event.stream().to_string())
                .or_default()
                .apply(&se.event);
        }
        streams
    }

    fn run<'e>(state: OrderState, evs: &[&'e StoredEvent], version: Seq) -> OrderDelta<'e> {
        let t = TenantId::new("t").unwrap();
        project(
            &t,
            "O",
            state,
            evs,
            Timestamp::from_second(100).unwrap(),
            version,
        )
    }

    #[test]
    fn a_new_order_gets_a_change_a_link_and_its_tracks() {
        let a = stored(1, "a", Some("T"), "in_transit", 1, serde_json::Value::Null);
        let b = stored(
            2,
            "b",
            None,
            "packed",
            0,
            serde_json::json!({"channel": "web"}),
        );
        let d = run(OrderState::default(), &[&a, &b], 7);
        assert!(d.state_changed && d.new_order);
        assert_eq!(d.new_tracks, ["T"]);
        let c = d.change.unwrap();
        assert_eq!(
            (c.seq, c.status.as_str(), c.previous_status),
            (7, "in_transit", None)
        );
        assert_eq!(c.events.len(), 2);
        assert_eq!(c.shipments.len(), 1);
        assert_eq!(
            (d.version, d.updated_at),
            (7, Timestamp::from_second(100).unwrap())
        );
        assert!(matches!(d.position, Some(PositionWrite::Upsert(_))));
        assert_eq!(d.attrs.channel.map(|s| s.value), Some("web"));
    }

    #[test]
    fn a_late_old_fact_changes_nothing_and_keeps_the_version() {
        let a = stored(1, "a", Some("T"), "in_transit", 5, serde_json::Value::Null);
        let streams = fold(std::slice::from_ref(&a));
        let kept = Stored {
            version: 3,
            updated_at: Timestamp::from_second(50).unwrap(),
        };
        let again = run(
            OrderState {
                streams: streams.clone(),
                stored: Some(kept),
            },
            &[&a],
            9,
        );
        assert!(!again.state_changed && again.change.is_none() && !again.new_order);
        assert_eq!(
            (again.version, again.updated_at),
            (kept.version, kept.updated_at)
        );
        assert_eq!(again.streams, streams);

        // An older shipped scan moves no view, but moves the transit start: the state is
        // written, the version is not.
        let older = stored(2, "b", Some("T"), "shipped", 1, serde_json::Value::Null);
        let d = run(
            OrderState {
                streams,
                stored: Some(kept),
            },
            &[&older],
            9,
        );
        assert!(d.state_changed && d.change.is_none() && d.position.is_none());
        assert_eq!(d.version, 3);
        assert_eq!(
            d.streams["T"].first_shipped_ns,
            Some(BASE_NS + 60_000_000_000)
        );
    }

    #[test]
    fn a_delivery_closes_the_order_and_writes_its_outcome() {
        let a = stored(1, "a", Some("T"), "shipped", 1, serde_json::Value::Null);
        let streams = fold(std::slice::from_ref(&a));
        let kept = Stored {
            version: 1,
            updated_at: Timestamp::from_second(50).unwrap(),
        };
        let del = stored(2, "b", Some("T"), "delivered", 30, serde_json::Value::Null);
        let d = run(
            OrderState {
                streams,
                stored: Some(kept),
            },
            &[&del],
            2,
        );
        let c = d.change.unwrap();
        assert_eq!(
            (c.status.as_str(), c.previous_status.as_deref()),
            ("delivered", Some("shipped"))
        );
        assert_eq!(d.position, Some(PositionWrite::Delete));
        assert_eq!(d.outcomes.len(), 1);
        assert_eq!(d.outcomes[0].shipped_ns, Some(BASE_NS + 60_000_000_000));
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        const STATUSES: [&str; 6] = [
            "packed",
            "shipped",
            "in_transit",
            "delivered",
            "lost",
            "exception",
        ];

        fn arb_events() -> impl Strategy<Value = Vec<StoredEvent>> {
            prop::collection::vec((0usize..3, 0usize..STATUSES.len(), 0i64..30), 1..25).prop_map(
                |picks| {
                    picks
                        .into_iter()
                        .enumerate()
                        .map(|(i, (t, s, m))| {
                            let track = [None, Some("A"), Some("B")][t];
                            stored(
                                i as u64 + 1,
                                &format!("e{i}"),
                                track,
                                STATUSES[s],
                                m,
                                serde_json::Value::Null,
                            )
                        })
                        .collect()
                },
            )
        }

        /// Projects `evs` in batches cut at `cuts`, carrying the state from one to the next as
        /// a backend would; the last delta, and every outcome written on the way (last wins).
        fn in_batches(
            evs: &[StoredEvent],
            cuts: &[usize],
        ) -> (Streams, OrderView, BTreeMap<String, DeliveryOutcome>) {
            let mut state = OrderState::default();
            let mut written = BTreeMap::new();
            let mut view = None;
            let mut start = 0;
            let mut ends: Vec<usize> = cuts.iter().map(|c| c % (evs.len() + 1)).collect();
            ends.push(evs.len());
            ends.sort_unstable();
            for (n, end) in ends.into_iter().enumerate() {
                let batch: Vec<&StoredEvent> = evs[start..end].iter().collect();
                start = end;
                if batch.is_empty() {
                    continue;
                }
                let d = run(state, &batch, n as Seq + 1);
                for o in d.outcomes {
                    written.insert(o.track.clone(), o);
                }
                state = OrderState {
                    stored: Some(Stored {
                        version: d.version,
                        updated_at: d.updated_at,
                    }),
                    streams: d.streams,
                };
                view = Some(d.view);
            }
            (state.streams, view.unwrap(), written)
        }

        proptest! {
            /// However a backend batches an order's events, the streams, the view and the
            /// outcomes it ends with are those of one batch of all of them.
            #[test]
            fn batching_does_not_change_what_is_stored(
                evs in arb_events(),
                cuts in prop::collection::vec(any::<usize>(), 0..5),
            ) {
                let (streams, view, outcomes_written) = in_batches(&evs, &cuts);
                let (whole, whole_view, whole_outcomes) = in_batches(&evs, &[]);
                prop_assert_eq!(&streams, &whole);
                prop_assert_eq!(view, whole_view);
                prop_assert_eq!(&outcomes_written, &whole_outcomes);
                let from_state: BTreeMap<String, DeliveryOutcome> = outcomes(&whole, &[""])
                    .into_iter()
                    .map(|o| (o.track.clone(), o))
                    .collect();
                prop_assert_eq!(outcomes_written, from_state);
            }
        }
    }
}
