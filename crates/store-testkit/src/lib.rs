//! The store contract's conformance suite, written once against `waypost-store`'s traits and
//! run by every backend with one macro call:
//!
//! ```ignore
//! fn sqlite() -> waypost_store_testkit::Store {
//!     let dir = tempfile::tempdir().unwrap();
//!     let backend = waypost_store_sqlite::Sqlite::new(dir.path(), Durability::Normal);
//!     waypost_store_testkit::Store::open(Box::new(backend), Box::new(dir))
//! }
//! waypost_store_testkit::suite!(sqlite);
//! ```
//!
//! The suite reaches the store only through [`Backend`], [`WriteStore`] and [`ReadStore`]: no SQL,
//! no backend type. It includes the projection invariant as a property through the real store
//! (any split, order and duplication of deliveries gives the same state, the same rule facts,
//! dashboard rows and a clean replay check). A backend's own tests (its migrations, its files)
//! stay beside it. The suite runs a backend with one partition; partition routing has tests of
//! its own.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use jiff::Timestamp;
#[allow(unused_imports)]
use proptest::prelude::*;
use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;
use waypost_domain::*;
use waypost_store::*;

/// What the suite imports into each backend's test module.
pub mod prelude {
    pub use crate::{P0, Store, append_apply, ev, now, statuses, sub};
    pub use jiff::Timestamp;
    pub use proptest::prelude::*;
    pub use serde_json;
    pub use std::collections::BTreeMap;
    pub use waypost_domain::*;
    pub use waypost_store::*;
}

/// The one partition of the backends the suite runs.
pub const P0: Partition = Partition(0);

pub fn now() -> Timestamp {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

pub fn ev(id: &str, order: &str, track: Option<&str>, status: Status, minute: i64) -> Event {
    Event {
        source: SourceName::new("src").unwrap(),
        event_id: EventId::new(id).unwrap(),
        order_id: OrderId::new(order).unwrap(),
        status,
        occurred_at: EventTime::parse(&format!("2025-12-31T10:{minute:02}:00-05:00")).unwrap(),
        tracking_number: track.map(|t| TrackingNumber::new(t).unwrap()),
        carrier: track.map(|_| "ups".to_string()),
        service: None,
        reason: None,
        location: None,
        origin: None,
        destination: None,
        raw_code: Some(format!("RC-{id}")),
        raw_description: None,
        promised_at: None,
        attributes: Default::default(),
    }
}

pub fn sub(tenant: &str, events: Vec<Event>) -> Submission {
    Submission::new(
        TenantId::new(tenant).unwrap(),
        events
            .into_iter()
            .map(|e| NewEvent::new(e).unwrap())
            .collect(),
        now(),
    )
}

pub mod alert_model;
pub mod alerts;
pub mod dashboard;
pub mod notify;
pub mod notify_config;
pub mod notify_outbox;
pub mod order_book;
pub mod tenancy;

/// An open store under test: its writer and reader, and the backend that opened them (and can
/// open them again, as after a restart).
pub struct Store {
    pub writer: Box<dyn WriteStore>,
    pub reader: Arc<dyn ReadStore>,
    pub backend: Box<dyn Backend>,
    /// What keeps the store's place alive (a temporary folder, a scratch database).
    _place: Box<dyn Any + Send>,
}

impl Store {
    /// Opens `backend`, a new empty store whose place `place` keeps alive.
    pub fn open(backend: Box<dyn Backend>, place: Box<dyn Any + Send>) -> Store {
        let (writer, reader) = backend.open().unwrap();
        Store {
            writer,
            reader,
            backend,
            _place: place,
        }
    }

    /// Closes the store (writer and reader) and opens it again from what it persisted.
    pub fn reopen(self) -> Store {
        let Store {
            writer,
            reader,
            backend,
            _place,
        } = self;
        drop(writer);
        drop(reader);
        Store::open(backend, _place)
    }
}

pub fn append_apply(b: &mut Store, subs: &[Submission]) -> Vec<AppendOutcome> {
    let out = b.writer.append(subs).unwrap();
    let stored: Vec<StoredEvent> = out.iter().flat_map(|o| o.stored.clone()).collect();
    b.writer.apply(P0, &stored, now()).unwrap();
    out
}

pub fn statuses(b: &Store, tenant: &str) -> BTreeMap<String, String> {
    let t = TenantId::new(tenant).unwrap();
    let filter = OrderFilter {
        limit: 10_000,
        ..Default::default()
    };
    b.reader
        .orders(&t, &filter)
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r.view.order_id.clone(),
                serde_json::to_string(&r.view).unwrap(),
            )
        })
        .collect()
}

/// The whole suite for the backend made by the function `$backend` (`fn() -> Store`), as a
/// module of tests named after it.
#[macro_export]
macro_rules! suite {
    ($backend:ident) => {
        mod $backend {
            use $crate::prelude::*;

            #[test]
            fn duplicates_by_id_and_by_content_are_stored_once() {
                let mut b = super::$backend();
                let a = ev("1", "O1", Some("T1"), Status::InTransit, 1);
                let mut same_content = a.clone();
                same_content.event_id = EventId::new("other-id").unwrap();
                let out = append_apply(&mut b, &[sub("t", vec![a.clone(), a.clone()]), sub("t", vec![same_content])]);
                assert_eq!((out[0].accepted, out[0].duplicates), (1, 1));
                assert_eq!((out[1].accepted, out[1].duplicates), (0, 1));
                // Another tenant's identical event is its own.
                let out = append_apply(&mut b, &[sub("u", vec![a])]);
                assert_eq!(out[0].accepted, 1);
                let tl = b.reader.timeline(&TenantId::new("t").unwrap(), "O1").unwrap();
                assert_eq!(tl.len(), 1);
            }

            #[test]
            fn apply_is_idempotent_and_checkpointed() {
                let mut b = super::$backend();
                let out = b.writer.append(&[sub("t", vec![ev("1", "O1", None, Status::Packed, 1)])]).unwrap();
                let stored = out[0].stored.clone();
                let first = b.writer.apply(P0, &stored, now()).unwrap();
                assert_eq!(first.len(), 1);
                assert_eq!(first[0].status, "packed");
                assert!(b.writer.apply(P0, &stored, now()).unwrap().is_empty());
                assert_eq!(b.writer.applied_seq(P0).unwrap(), stored[0].seq);
            }

            #[test]
            fn appended_but_unapplied_events_are_found_after_reopen() {
                let mut b = super::$backend();
                b.writer
                    .append(&[sub("t", vec![ev("1", "O1", None, Status::Picked, 1), ev("2", "O2", None, Status::Packed, 2)])])
                    .unwrap();
                let b = b.reopen();
                let (mut w, r) = (b.writer, b.reader);
                let from = w.applied_seq(P0).unwrap();
                let pending = w.events_after(P0, from, 100).unwrap();
                assert_eq!(pending.len(), 2);
                w.apply(P0, &pending, now()).unwrap();
                let o2 = r.order(&TenantId::new("t").unwrap(), "O2").unwrap().unwrap();
                assert_eq!(o2.view.status.as_str(), "packed");
            }

            #[test]
            fn a_gap_in_what_the_caller_hands_over_is_read_from_the_log() {
                let mut b = super::$backend();
                let out = b
                    .writer
                    .append(&[sub("t", vec![ev("1", "O1", None, Status::Picked, 1), ev("2", "O2", None, Status::Packed, 2)])])
                    .unwrap();
                // Hand over only the second: the first must not be skipped.
                b.writer.apply(P0, &out[0].stored[1..], now()).unwrap();
                let t = TenantId::new("t").unwrap();
                assert!(b.reader.order(&t, "O1").unwrap().is_some());
            }

            #[test]
            fn every_order_is_in_one_partition_and_others_are_refused() {
                let mut b = super::$backend();
                let parting = b.writer.partitioning();
                let out = b.writer.append(&[sub("t", vec![ev("1", "O1", None, Status::Picked, 1), ev("2", "O2", None, Status::Packed, 2)])]).unwrap();
                // Each partition's checkpoint moves with what is applied in it, and its log
                // holds exactly its orders' events.
                for p in parting.all() {
                    let mine: Vec<StoredEvent> = out[0]
                        .stored
                        .iter()
                        .filter(|e| parting.of(&e.tenant, e.event.order_id.as_str()) == p)
                        .cloned()
                        .collect();
                    let from = b.writer.applied_seq(p).unwrap();
                    let logged = b.writer.events_after(p, from, 100).unwrap();
                    assert_eq!(logged.iter().map(|e| e.seq).collect::<Vec<_>>(), mine.iter().map(|e| e.seq).collect::<Vec<_>>());
                    b.writer.apply(p, &mine, now()).unwrap();
                    if let Some(last) = mine.last() {
                        assert_eq!(b.writer.applied_seq(p).unwrap(), last.seq);
                    }
                }
                // A partition the store does not have is an error, never an empty answer.
                let beyond = Partition(parting.count());
                assert!(b.writer.applied_seq(beyond).is_err());
                assert!(b.writer.events_after(beyond, 0, 10).is_err());
                assert!(b.writer.deadlines_due(beyond, now(), 10).is_err());
                assert!(b.reader.outbox_due(beyond, now(), 10).is_err());
            }

            #[test]
            fn changes_are_tenant_scoped_and_resumable() {
                let mut b = super::$backend();
                append_apply(&mut b, &[sub("t", vec![ev("1", "O1", None, Status::Picked, 1)])]);
                append_apply(&mut b, &[sub("u", vec![ev("1", "O9", None, Status::Picked, 1)])]);
                append_apply(&mut b, &[sub("t", vec![ev("2", "O1", None, Status::Packed, 2)])]);
                let t = TenantId::new("t").unwrap();
                let all = b.reader.changes_after(&t, 0, 100).unwrap();
                assert_eq!(all.iter().map(|c| c.status.as_str()).collect::<Vec<_>>(), ["picked", "packed"]);
                let rest = b.reader.changes_after(&t, all[0].seq, 100).unwrap();
                assert_eq!(rest.len(), 1);
                assert_eq!(rest[0].previous_status.as_deref(), Some("picked"));
            }

            #[test]
            fn resumed_changes_equal_what_was_published() {
                // A client resuming the stream must see exactly the messages a live client saw.
                let mut b = super::$backend();
                let mut published = Vec::new();
                let batches = [
                    vec![ev("1", "O1", Some("T1"), Status::Shipped, 1), ev("2", "O1", None, Status::Packed, 0)],
                    vec![ev("3", "O1", Some("T1"), Status::Delivered, 5), ev("4", "O2", Some("T2"), Status::InTransit, 2)],
                    vec![ev("5", "O1", Some("T1"), Status::InTransit, 9)],
                ];
                for evs in batches {
                    let out = b.writer.append(&[sub("t", evs)]).unwrap();
                    let stored: Vec<StoredEvent> = out.iter().flat_map(|o| o.stored.clone()).collect();
                    published.extend(b.writer.apply(P0, &stored, now()).unwrap());
                }
                assert!(published.iter().any(|c| c.regression), "the late in_transit is a regression");
                let t = TenantId::new("t").unwrap();
                assert_eq!(b.reader.changes_after(&t, 0, 100).unwrap(), published);
            }

            #[test]
            fn quarantine_keeps_documents_and_settles_with_the_remap() {
                let mut b = super::$backend();
                let t = TenantId::new("t").unwrap();
                let mut unknown = sub("t", vec![ev("u1", "O1", Some("T1"), Status::Unknown, 1)]);
                unknown.events[0].unmapped = vec![UnmappedCode { kind: "status".into(), code: "ZZ".into(), proposal: None }];
                unknown.document = Some(Document { source: "ups".into(), body: b"{\"doc\":1}".to_vec(), problem: None, origin: None });
                append_apply(&mut b, &[unknown.clone()]);
                // The same delivery again: a duplicate, so no second quarantine row.
                append_apply(&mut b, &[unknown]);
                let open = UnmappedFilter { open_only: true, limit: 10, ..Default::default() };
                let rows = b.reader.unmapped(&t, &open).unwrap();
                assert_eq!(rows.len(), 1);
                assert_eq!((rows[0].kind.as_str(), rows[0].code.as_str()), ("status", "ZZ"));
                assert_eq!(rows[0].event.event_id.as_str(), "u1");
                let doc = b.reader.document(&t, rows[0].document_id.unwrap()).unwrap().unwrap();
                assert_eq!(doc.body, b"{\"doc\":1}");
                assert!(b.reader.document(&TenantId::new("u").unwrap(), doc.id).unwrap().is_none());
                assert!(b.reader.unmapped(&TenantId::new("u").unwrap(), &open).unwrap().is_empty());

                let mut remap = sub("t", vec![ev("u1~remap", "O1", Some("T1"), Status::InTransit, 1)]);
                remap.resolves = vec![rows[0].id];
                append_apply(&mut b, &[remap]);
                assert!(b.reader.unmapped(&t, &open).unwrap().is_empty());
                let all = b.reader.unmapped(&t, &UnmappedFilter { limit: 10, ..Default::default() }).unwrap();
                assert!(all[0].resolved_at.is_some() && all[0].resolved_seq.is_some());
                assert_eq!(b.reader.order(&t, "O1").unwrap().unwrap().view.status.to_string(), "in_transit");

                let mut bad = sub("t", vec![]);
                bad.document = Some(Document { source: "fedex".into(), body: b"not json".to_vec(), problem: Some("line 1: expected value".into()), origin: Some("poll:fx".into()) });
                append_apply(&mut b, &[bad.clone()]);
                // The same body refused again (a partner polled twice) is one letter, two attempts.
                bad.received_at = bad.received_at.checked_add(jiff::SignedDuration::from_secs(5)).unwrap();
                append_apply(&mut b, &[bad.clone()]);
                let rejected = b.reader.rejected(&t, 0, 10).unwrap();
                assert_eq!(rejected.len(), 1);
                assert_eq!(rejected[0].problem.as_deref(), Some("line 1: expected value"));
                assert_eq!(rejected[0].attempts, 2);
                assert_eq!(rejected[0].origin.as_deref(), Some("poll:fx"));
                assert_eq!((rejected[0].last_at - rejected[0].received_at).get_seconds(), 5);
                let counts = b.reader.dead_letter_counts(None).unwrap();
                assert_eq!(counts.len(), 1);
                assert_eq!((counts[0].0.as_str(), counts[0].1.count), ("t", 1));
                assert!(b.reader.dead_letter_counts(Some(&TenantId::new("u").unwrap())).unwrap().is_empty());
                let mut replay = sub("t", vec![ev("f1", "O2", Some("T2"), Status::Shipped, 1)]);
                replay.replays_document = Some(rejected[0].id);
                append_apply(&mut b, &[replay]);
                assert!(b.reader.rejected(&t, 0, 10).unwrap().is_empty());
                assert!(b.reader.dead_letter_counts(None).unwrap().is_empty());
                // Refused again after its replay: a new letter, not a revived one.
                append_apply(&mut b, &[bad]);
                let again = b.reader.rejected(&t, 0, 10).unwrap();
                assert_eq!((again.len(), again[0].attempts), (1, 1));
                assert_ne!(again[0].id, rejected[0].id);
            }

            #[test]
            fn list_filters_and_pages_by_version() {
                let mut b = super::$backend();
                for i in 0..25 {
                    let track = format!("T{i}");
                    let st = if i % 2 == 0 { Status::InTransit } else { Status::Delivered };
                    append_apply(&mut b, &[sub("t", vec![ev(&format!("e{i}"), &format!("O{i}"), Some(&track), st, 1)])]);
                }
                let t = TenantId::new("t").unwrap();
                let mut seen = Vec::new();
                let mut after = None;
                loop {
                    let page = b.reader.orders(&t, &OrderFilter { limit: 7, after_version: after, ..Default::default() }).unwrap();
                    if page.is_empty() {
                        break;
                    }
                    after = page.last().map(|r| r.version);
                    seen.extend(page.into_iter().map(|r| r.view.order_id));
                }
                assert_eq!(seen.len(), 25);
                let delivered = b
                    .reader
                    .orders(&t, &OrderFilter { limit: 100, status: Some("delivered".into()), carrier: Some("UPS".into()), ..Default::default() })
                    .unwrap();
                assert_eq!(delivered.len(), 12);
                let none = b
                    .reader
                    .orders(&t, &OrderFilter { limit: 100, carrier: Some("%".into()), ..Default::default() })
                    .unwrap();
                assert!(none.is_empty(), "LIKE wildcards in input must be literal");
                let s = b.reader.shipment(&t, "T3").unwrap().unwrap();
                assert_eq!((s.order_id.as_str(), s.shipment.status), ("O3", Status::Delivered));
            }

            $crate::alerts_cases!($backend);
            $crate::notify_cases!($backend);
            $crate::dashboard_cases!($backend);
            $crate::tenancy_cases!($backend);
            $crate::order_book_cases!($backend);

            proptest! {
                #![proptest_config(ProptestConfig::with_cases(48))]
                #[test]
                fn any_split_order_and_duplication_gives_the_same_state(
                    spec in prop::collection::vec((0usize..4, prop::option::of(0usize..2), prop::sample::select(Status::ALL.to_vec()), 0i64..30), 1..40),
                    seed in any::<u64>(),
                    splits in prop::collection::vec(1usize..6, 1..20),
                ) {
                    let events: Vec<Event> = spec
                        .iter()
                        .enumerate()
                        .map(|(i, (o, t, st, m))| {
                            let track = t.map(|t| format!("T{o}-{t}"));
                            let mut e = ev(&format!("e{i}"), &format!("O{o}"), track.as_deref(), *st, *m);
                            // Some events name the order's channel and value, differently:
                            // what the rules read must not depend on which came first.
                            if i % 3 == 0 {
                                e.attributes.insert("channel".into(), format!("c{}", m % 3).into());
                                e.attributes.insert("order_value".into(), (*m as f64).into());
                            }
                            // And the customer and tags the notifications filter on.
                            if i % 4 == 1 {
                                e.attributes.insert("customer_id".into(), format!("cust{}", m % 5).into());
                                e.attributes.insert("tags".into(), serde_json::json!([format!("t{}", m % 7), format!("t{}", i % 40)]));
                            }
                            e
                        })
                        .collect();
                    let mut in_order = super::$backend();
                    append_apply(&mut in_order, &[sub("t", events.clone())]);
                    let expected = statuses(&in_order, "t");

                    let mut shuffled: Vec<Event> = events.iter().chain(events.iter().step_by(3)).cloned().collect();
                    let mut s = seed | 1;
                    for i in (1..shuffled.len()).rev() {
                        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                        shuffled.swap(i, (s % (i as u64 + 1)) as usize);
                    }
                    let mut b = super::$backend();
                    let mut rest = &shuffled[..];
                    let mut k = 0;
                    while !rest.is_empty() {
                        let n = splits[k % splits.len()].min(rest.len());
                        append_apply(&mut b, &[sub("t", rest[..n].to_vec())]);
                        rest = &rest[n..];
                        k += 1;
                    }
                    let got = statuses(&b, "t");
                    // Views equal; versions and apply times may differ, so compare views only.
                    prop_assert_eq!(got, expected);
                    // And what the exception rules see of each order: their deadlines follow.
                    let t = TenantId::new("t").unwrap();
                    for o in 0..4 {
                        let order = format!("O{o}");
                        let want = in_order.writer.subject_facts(&t, &order).unwrap();
                        let have = b.writer.subject_facts(&t, &order).unwrap();
                        prop_assert_eq!(have, want, "{}", order);
                    }
                    // And what the dashboard reads: outcomes, map rows, counts.
                    prop_assert_eq!(b.reader.scorecards(&t, Timestamp::UNIX_EPOCH).unwrap(), in_order.reader.scorecards(&t, Timestamp::UNIX_EPOCH).unwrap());
                    let points = |b: &Store| b.reader.map_points(&t, None, 100).unwrap().into_iter().map(|p| (p.order_id, p.status, p.carrier)).collect::<Vec<_>>();
                    prop_assert_eq!(points(&b), points(&in_order));
                    prop_assert_eq!(b.reader.dashboard_summary(&t, &DashboardFilter::default()).unwrap(), in_order.reader.dashboard_summary(&t, &DashboardFilter::default()).unwrap());
                    let report = b.backend.replay_check(&mut |_| {}).unwrap();
                    prop_assert!(report.mismatches.is_empty(), "{:?}", report.mismatches);
                }
            }
        }
    };
}
