//! What only the SQLite backend has: its migrations from older schemas, and its own tables
//! checked directly. The contract itself is `conformance.rs`.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::path::PathBuf;
use waypost_store_sqlite::{Sqlite, open_tool};
use waypost_store_testkit::alerts::{self, alert, raise_write, tenant};
use waypost_store_testkit::dashboard::{history, outcomes, place};
use waypost_store_testkit::prelude::*;
use waypost_store_testkit::tenancy::{interleave, seqs, version};

/// A store in a new folder, and the folder.
fn sqlite() -> (Store, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let backend = Sqlite::new(&path, Durability::Normal);
    (Store::open(Box::new(backend), Box::new(dir)), path)
}

#[test]
fn orders_from_before_the_dashboard_are_filled_in_at_open() {
    let (mut b, dir) = sqlite();
    let mut active = ev("a1", "A", Some("TA"), Status::InTransit, 1);
    active.location = Some(place("US", "IL", 41.8, -87.6));
    let mut evs = history("D", "TD");
    evs.push(active);
    append_apply(&mut b, &[sub("t", evs)]);
    let points = b.reader.map_points(&tenant("t"), None, 10).unwrap();
    let outcomes_before = outcomes(&b, "t");
    assert_eq!(points.len(), 1);
    assert_eq!(outcomes_before.len(), 1);
    // As a store written before migration 8 looks: no rows, the backfill not yet done.
    {
        let conn = open_tool(&dir).unwrap();
        conn.execute_batch(
            "DELETE FROM order_positions; DELETE FROM shipment_outcomes;
             UPDATE meta SET value = 0 WHERE key = 'dashboard_backfill';",
        )
        .unwrap();
    }
    let b = b.reopen();
    let again = b.reader.map_points(&tenant("t"), None, 10).unwrap();
    assert_eq!(
        again
            .iter()
            .map(|p| (&p.order_id, p.lat, p.lon))
            .collect::<Vec<_>>(),
        points
            .iter()
            .map(|p| (&p.order_id, p.lat, p.lon))
            .collect::<Vec<_>>()
    );
    assert_eq!(outcomes(&b, "t"), outcomes_before);
}

#[test]
fn a_store_from_before_migration_10_is_numbered_per_tenant() {
    let (mut b, dir) = sqlite();
    interleave(&mut b, 2);
    b.writer
        .rules_commit(
            &[],
            &[],
            &[raise_write(alert("t", "T1", "", "dwell"))],
            now(),
        )
        .unwrap();
    let before: Vec<Change> = b.reader.changes_after(&tenant("u"), 0, 100).unwrap();
    // As a store written before migration 10 looks: global numbers, no public ids.
    {
        let conn = open_tool(&dir).unwrap();
        conn.execute_batch(
            "UPDATE orders SET version = (SELECT MAX(c.seq) FROM changes c
                 WHERE c.tenant = orders.tenant AND c.order_id = orders.order_id);
             DROP INDEX changes_tenant_seq;
             ALTER TABLE changes DROP COLUMN tenant_seq;
             DROP INDEX alerts_public_id;
             ALTER TABLE alerts DROP COLUMN public_id;
             DELETE FROM schema_migrations WHERE version = 10;",
        )
        .unwrap();
        let global: i64 = conn
            .query_row(
                "SELECT MAX(version) FROM orders WHERE tenant = 'u'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(global, 8, "u's last change is the 8th over both tenants");
    }
    let mut b = b.reopen();
    assert_eq!(seqs(&b, "t"), [1, 2]);
    assert_eq!(seqs(&b, "u"), (1..=6).collect::<Vec<u64>>());
    assert_eq!(
        b.reader.changes_after(&tenant("u"), 0, 100).unwrap(),
        before
    );
    assert_eq!(version(&b, "t", "T1"), 2);
    assert_eq!(version(&b, "u", "U2"), 6);
    let alerts = alerts::all(&b, "t");
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].public_id.len(), 32);
    // And the numbering carries on from there.
    append_apply(
        &mut b,
        &[sub("t", vec![ev("next", "T1", None, Status::Delivered, 9)])],
    );
    assert_eq!(seqs(&b, "t"), [1, 2, 3]);
    assert_eq!(version(&b, "t", "T1"), 3);
}

type AttrRow = (String, Option<String>, Option<i64>, Option<String>);

/// The order attributes the notification planner filters on, as stored.
fn attrs(dir: &std::path::Path) -> Vec<AttrRow> {
    let conn = open_tool(dir).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT order_id, customer_id, customer_id_ns, tags FROM order_attrs ORDER BY order_id",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    /// The stored customer and tags do not depend on arrival order or duplication.
    #[test]
    fn order_attributes_do_not_depend_on_arrival(
        spec in prop::collection::vec((0usize..4, 0i64..30), 1..30),
        seed in any::<u64>(),
    ) {
        let events: Vec<Event> = spec
            .iter()
            .enumerate()
            .map(|(i, (o, m))| {
                let mut e = ev(&format!("e{i}"), &format!("O{o}"), None, Status::InTransit, *m);
                e.attributes.insert("customer_id".into(), format!("cust{}", m % 5).into());
                e.attributes.insert("tags".into(), serde_json::json!([format!("t{}", m % 7), format!("t{}", i % 40)]));
                e
            })
            .collect();
        let (mut in_order, a) = sqlite();
        append_apply(&mut in_order, &[sub("t", events.clone())]);
        let mut shuffled: Vec<Event> = events.iter().chain(events.iter().step_by(2)).cloned().collect();
        let mut s = seed | 1;
        for i in (1..shuffled.len()).rev() {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            shuffled.swap(i, (s % (i as u64 + 1)) as usize);
        }
        let (mut b, d) = sqlite();
        for chunk in shuffled.chunks(3) {
            append_apply(&mut b, &[sub("t", chunk.to_vec())]);
        }
        prop_assert_eq!(attrs(&d), attrs(&a));
    }
}
