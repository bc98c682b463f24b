//! The order book's contract: versions stored once by content and by delivery id, the current
//! version chosen by channel time whatever the arrival order, status changes checked against
//! the version the actor saw, counts and false positives, catalogue and stock facts. Run by
//! `suite!` through `order_book_cases!`.

use super::*;
use crate::alerts::tenant;

#[doc(hidden)]
#[macro_export]
macro_rules! order_book_cases {
    ($backend:ident) => {
        #[test]
        fn order_versions_are_stored_once_and_ordered_by_channel_time() {
            $crate::order_book::versions_once_and_by_channel_time(super::$backend);
        }
        #[test]
        fn a_delivery_id_is_answered_once() {
            $crate::order_book::delivery_once(super::$backend);
        }
        #[test]
        fn releases_are_checked_audited_and_counted() {
            $crate::order_book::release_flow(super::$backend);
        }
        #[test]
        fn catalogue_and_stock_facts() {
            $crate::order_book::catalogue_and_stock(super::$backend);
        }
        #[test]
        fn the_queue_sorts_by_impact_and_pages() {
            $crate::order_book::queue_pages(super::$backend);
        }
        #[test]
        fn a_batch_is_one_commit_with_the_same_answers() {
            $crate::order_book::batch_like_singles(super::$backend);
        }
        #[test]
        fn order_book_survives_a_reopen() {
            $crate::order_book::reopen_keeps_book(super::$backend);
        }
    };
}

fn at(s: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_700_000_000 + s).unwrap()
}

/// A version of `order` with `hash`, channel time `updated` (seconds), arriving at `received`.
pub fn version_in(order: &str, hash: &str, updated: Option<i64>, received: i64) -> VersionIn {
    VersionIn {
        order_id: order.into(),
        channel: "shopify".into(),
        account: "acme-shop".into(),
        external_id: format!("x-{order}"),
        content_hash: hash.into(),
        updated_at: updated.map(at),
        received_at: at(received),
        body: format!("{{\"hash\":\"{hash}\"}}"),
        decision: "{\"outcome\":\"pass\"}".into(),
        shadow: None,
        status: IntakeStatus::Accepted,
        priority: "standard".into(),
        impact: 1.0,
        value: Some(10.0),
        currency: Some("USD".into()),
        promised_at: Some(at(86_400)),
        fingerprint: format!("fp-{order}"),
        delivery: None,
        waiting_for: vec![],
        findings: vec![FindingRow {
            check: "sku_known".into(),
            outcome: "pass".into(),
            layer: "global".into(),
            enforced: true,
        }],
        actor: "intake".into(),
    }
}

pub fn versions_once_and_by_channel_time(make: fn() -> Store) {
    let b = make();
    let (mut w, r) = b.backend.order_book().unwrap();
    let t = tenant("t");
    // The edit (v2 by channel time) arrives first, the original second, then the edit again.
    let edit = version_in("O1", "h2", Some(20), 1);
    let orig = version_in("O1", "h1", Some(10), 2);
    assert_eq!(
        w.intake_put(&t, &edit).unwrap(),
        PutOutcome::New {
            version: 1,
            current: true,
            previous: None
        }
    );
    assert_eq!(
        w.intake_put(&t, &orig).unwrap(),
        PutOutcome::New {
            version: 2,
            current: false,
            previous: Some(IntakeStatus::Accepted)
        }
    );
    assert_eq!(
        w.intake_put(&t, &edit).unwrap(),
        PutOutcome::Duplicate { version: 1 }
    );
    let row = r.intake_order(&t, "O1").unwrap().unwrap();
    assert_eq!(
        row.version, 1,
        "the later edit by channel time stays current"
    );
    assert_eq!(row.body, "{\"hash\":\"h2\"}");
    let versions = r.intake_versions(&t, "O1").unwrap();
    assert_eq!(versions.len(), 2);
    // Another tenant's same order is its own.
    assert_eq!(
        w.intake_put(&tenant("u"), &orig).unwrap(),
        PutOutcome::New {
            version: 1,
            current: true,
            previous: None
        }
    );
    assert!(r.intake_order(&t, "nope").unwrap().is_none());
    let audit = r.intake_audit(&t, "O1").unwrap();
    assert_eq!(audit.len(), 2, "{audit:?}");
    assert!(audit[1].detail.contains("history only"), "{audit:?}");
}

pub fn delivery_once(make: fn() -> Store) {
    let b = make();
    let (mut w, r) = b.backend.order_book().unwrap();
    let t = tenant("t");
    let mut v = version_in("O1", "h1", Some(10), 1);
    v.delivery = Some("wh-1".into());
    assert!(matches!(
        w.intake_put(&t, &v).unwrap(),
        PutOutcome::New { .. }
    ));
    // The same delivery id with other content (a replayed webhook) is not read again.
    let mut again = version_in("O1", "h9", Some(30), 2);
    again.delivery = Some("wh-1".into());
    assert_eq!(
        w.intake_put(&t, &again).unwrap(),
        PutOutcome::Duplicate { version: 1 }
    );
    assert!(r.intake_delivery_seen(&t, "shopify", "wh-1").unwrap());
    assert!(!r.intake_delivery_seen(&t, "woocommerce", "wh-1").unwrap());
    assert!(
        !r.intake_delivery_seen(&tenant("u"), "shopify", "wh-1")
            .unwrap()
    );
}

pub fn release_flow(make: fn() -> Store) {
    let b = make();
    let (mut w, r) = b.backend.order_book().unwrap();
    let t = tenant("t");
    let mut v = version_in("O1", "h1", Some(10), 1);
    v.status = IntakeStatus::Held;
    v.findings = vec![
        FindingRow {
            check: "address_complete".into(),
            outcome: "hold".into(),
            layer: "channel shopify".into(),
            enforced: true,
        },
        FindingRow {
            check: "address_complete".into(),
            outcome: "reject".into(),
            layer: "global".into(),
            enforced: false,
        },
    ];
    w.intake_put(&t, &v).unwrap();
    let change = |version: i64| StatusChange {
        order_id: "O1".into(),
        version,
        status: IntakeStatus::Accepted,
        decision: None,
        findings: None,
        impact: None,
        waiting_for: None,
        actor: "ops@example.com".into(),
        action: "released".into(),
        detail: "released unchanged".into(),
        false_positive: true,
        at: at(100),
    };
    // A stale version is refused and changes nothing.
    assert!(matches!(
        w.intake_status(&t, &change(7)),
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(
        r.intake_order(&t, "O1").unwrap().unwrap().status,
        IntakeStatus::Held
    );
    w.intake_status(&t, &change(1)).unwrap();
    let row = r.intake_order(&t, "O1").unwrap().unwrap();
    assert_eq!(row.status, IntakeStatus::Accepted);
    assert_eq!(row.status_since, at(100));
    let counts = r.intake_counts(&t, None).unwrap();
    let hold = counts
        .iter()
        .find(|c| c.enforced && c.outcome == "hold")
        .unwrap();
    assert_eq!((hold.count, hold.false_positives), (1, 1));
    assert_eq!(hold.layer, "channel shopify");
    let shadow = counts.iter().find(|c| !c.enforced).unwrap();
    assert_eq!(
        (shadow.outcome.as_str(), shadow.false_positives),
        ("reject", 0)
    );
    let audit = r.intake_audit(&t, "O1").unwrap();
    assert_eq!(audit.last().unwrap().actor, "ops@example.com");
    assert!(r.intake_counts(&t, Some(at(1_000))).unwrap().is_empty());
    // Unemitted until marked.
    assert_eq!(
        r.intake_unemitted(10).unwrap(),
        vec![(t.clone(), "O1".to_string())]
    );
    w.intake_emitted(&t, "O1", 1).unwrap();
    assert!(r.intake_unemitted(10).unwrap().is_empty());
}

pub fn catalogue_and_stock(make: fn() -> Store) {
    let b = make();
    let (mut w, r) = b.backend.order_book().unwrap();
    let t = tenant("t");
    let skus = vec!["A".to_string(), "B".to_string(), "Z".to_string()];
    assert_eq!(r.sku_facts(&t, &skus).unwrap(), SkuFacts::default());
    w.catalogue_put(
        &t,
        &[
            CatalogueItem {
                sku: "A".into(),
                title: Some("Apple".into()),
            },
            CatalogueItem {
                sku: "B".into(),
                title: None,
            },
        ],
    )
    .unwrap();
    let level = |wh: &str, sku: &str, n: f64, s: i64| StockLevel {
        warehouse: wh.into(),
        sku: sku.into(),
        available: n,
        counted_at: at(s),
    };
    w.stock_put(
        &t,
        &[level("EWR", "A", 3.0, 10), level("JFK", "A", 2.0, 10)],
    )
    .unwrap();
    // An older count does not replace a newer one.
    assert_eq!(w.stock_put(&t, &[level("EWR", "A", 100.0, 5)]).unwrap(), 0);
    let f = r.sku_facts(&t, &skus).unwrap();
    assert!(f.has_catalogue);
    assert_eq!(f.known, vec!["A".to_string(), "B".to_string()]);
    assert_eq!(f.available, vec![("A".to_string(), 5.0)]);
    assert!(w.stock_put(&t, &[level("EWR", "A", f64::NAN, 20)]).is_err());
    assert_eq!(r.stock_list(&t, Some("A"), 10).unwrap().len(), 2);
    assert_eq!(r.catalogue_list(&t, Some("A"), 10).unwrap().len(), 1);
    assert!(r.sku_facts(&tenant("u"), &skus).unwrap().known.is_empty());
    // Backordered orders are found by the SKU they wait for.
    let mut v = version_in("O9", "h", None, 1);
    v.status = IntakeStatus::Backordered;
    v.waiting_for = vec!["Z".into()];
    w.intake_put(&t, &v).unwrap();
    assert_eq!(
        r.intake_waiting_for(&t, &["Z".to_string()]).unwrap(),
        vec!["O9".to_string()]
    );
    assert!(
        r.intake_waiting_for(&t, &["A".to_string()])
            .unwrap()
            .is_empty()
    );
}

pub fn queue_pages(make: fn() -> Store) {
    let b = make();
    let (mut w, r) = b.backend.order_book().unwrap();
    let t = tenant("t");
    for (i, impact) in [5.0, 50.0, 20.0, 20.0, 1.0].into_iter().enumerate() {
        let mut v = version_in(&format!("O{i}"), "h", None, i as i64);
        v.status = if i == 4 {
            IntakeStatus::Accepted
        } else {
            IntakeStatus::Held
        };
        v.impact = impact;
        v.fingerprint = "same".into();
        w.intake_put(&t, &v).unwrap();
    }
    let q = |after| QueueQuery {
        statuses: vec![IntakeStatus::Held],
        after,
        limit: 2,
        ..QueueQuery::default()
    };
    let first: Vec<String> = r
        .intake_queue(&t, &q(None))
        .unwrap()
        .into_iter()
        .map(|x| x.order_id)
        .collect();
    assert_eq!(first, vec!["O1", "O2"]);
    let second: Vec<String> = r
        .intake_queue(&t, &q(Some((20.0, "O2".into()))))
        .unwrap()
        .into_iter()
        .map(|x| x.order_id)
        .collect();
    assert_eq!(second, vec!["O3", "O0"]);
    let similar = r.intake_similar(&t, "same", at(2), "O3").unwrap();
    assert_eq!(similar, vec!["O2", "O4"]);
}

pub fn reopen_keeps_book(make: fn() -> Store) {
    let b = make();
    let t = tenant("t");
    {
        let (mut w, _) = b.backend.order_book().unwrap();
        w.intake_put(&t, &version_in("O1", "h1", Some(1), 1))
            .unwrap();
    }
    let b = b.reopen();
    let (mut w, r) = b.backend.order_book().unwrap();
    assert_eq!(r.intake_order(&t, "O1").unwrap().unwrap().version, 1);
    assert_eq!(
        w.intake_put(&t, &version_in("O1", "h1", Some(1), 5))
            .unwrap(),
        PutOutcome::Duplicate { version: 1 }
    );
}

pub fn batch_like_singles(make: fn() -> Store) {
    let b = make();
    let (mut w, r) = b.backend.order_book().unwrap();
    let (t, u) = (tenant("t"), tenant("u"));
    let items = vec![
        (t.clone(), version_in("O1", "h1", Some(10), 1)),
        // The same version twice in one batch: stored once.
        (t.clone(), version_in("O1", "h1", Some(10), 1)),
        (t.clone(), version_in("O1", "h2", Some(20), 2)),
        (u.clone(), version_in("O1", "h1", Some(10), 1)),
    ];
    let out = w.intake_put_batch(&items).unwrap();
    assert_eq!(
        out,
        vec![
            PutOutcome::New {
                version: 1,
                current: true,
                previous: None
            },
            PutOutcome::Duplicate { version: 1 },
            PutOutcome::New {
                version: 2,
                current: true,
                previous: Some(IntakeStatus::Accepted)
            },
            PutOutcome::New {
                version: 1,
                current: true,
                previous: None
            },
        ]
    );
    assert_eq!(r.intake_order(&t, "O1").unwrap().unwrap().version, 2);
    w.intake_emitted_batch(&[(t.clone(), "O1".into(), 2), (u.clone(), "O1".into(), 1)])
        .unwrap();
    assert!(r.intake_unemitted(10).unwrap().is_empty());
}
