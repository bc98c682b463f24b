//! Rebuilds the projection from the log and compares it with the stored one: the check that a
//! crash left nothing behind that a from-scratch replay would not produce.
//!
//! It streams: the log is read grouped by order (the `events_content` index starts with
//! `(tenant, order_id)`) beside the projection in the same key order (`orders_key`), a merge of
//! two sorted cursors. One order's events are folded, compared with its stored row and dropped,
//! so memory holds one order at a time whatever the size of the store (a first version kept
//! every order's replay in a map: 11 GB on 8.8 million events).
//!
//! Everything is read in ONE read transaction. In WAL mode that is a snapshot, so a server
//! writing beside it cannot make the projection and the log disagree between two reads: the
//! projection and `applied_seq` are committed together by the applier, and the snapshot sees
//! both as of one commit. (Reading them in separate statements is what produced "stored state
//! (in_transit) differs from a replay (in_transit)" on a running server: the orders were read
//! after the applier had moved past the `applied_seq` the replay stopped at.)

use super::write::{Streams, applied_seq_of, parse_state, view_of};
use crate::SqlContext;
use rusqlite::{Connection, Rows, params};
use std::cmp::Ordering;
use waypost_domain::Event;
use waypost_store::*;

/// Progress is reported after this many orders of the projection (and once at the end).
const PROGRESS_EVERY: u64 = 4_096;

/// The log grouped by order. `INDEXED BY` makes the order come from the index (a missing index
/// is an error, not a silent sort of the whole table in memory); within an order the index is
/// by content hash, so the few events of one order are put back in seq order here.
const EVENTS_BY_ORDER: &str = "SELECT tenant, seq, source, event_id, order_id, track, status, body
     FROM events INDEXED BY events_content
     WHERE seq <= ?1
     ORDER BY tenant, order_id";

/// The projection in the same key order as [`EVENTS_BY_ORDER`].
const ORDERS_BY_KEY: &str = "SELECT tenant, order_id, state
     FROM orders INDEXED BY orders_key
     ORDER BY tenant, order_id";

/// (tenant, order id): the key both cursors are sorted by. SQLite's BINARY collation compares
/// the UTF-8 bytes, as `String`'s `Ord` does, so the two orders agree.
type Key = (String, String);

pub fn replay_check(conn: &Connection) -> Result<ReplayReport, StoreError> {
    replay_check_with(conn, &mut |_| {})
}

/// [`replay_check`], calling `progress` every few thousand orders and once at the end.
pub fn replay_check_with(
    conn: &Connection,
    progress: &mut dyn FnMut(&ReplayProgress),
) -> Result<ReplayReport, StoreError> {
    // Deferred: the snapshot is taken at the first read below and held until the end (the
    // transaction is rolled back on drop; nothing is written).
    let tx = conn
        .unchecked_transaction()
        .ctx("begin the replay's read transaction")?;
    let applied_seq = applied_seq_of(&tx)?;
    let last_seq: i64 = tx
        .query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))
        .ctx("read the last seq")?;
    let orders_total: i64 = tx
        .query_row("SELECT COUNT(*) FROM orders", [], |r| r.get(0))
        .ctx("count the projection's orders")?;
    let mut report = ReplayReport {
        applied_seq,
        last_seq: last_seq.max(0) as Seq,
        ..Default::default()
    };
    let mut at = ReplayProgress {
        orders_done: 0,
        orders_total: orders_total.max(0) as u64,
        events: 0,
    };

    let mut events_stmt = tx.prepare(EVENTS_BY_ORDER).ctx("prepare replay events")?;
    let mut log = LogCursor {
        rows: events_stmt
            .query(params![applied_seq as i64])
            .ctx("query replay events")?,
        pending: None,
    };
    let mut orders_stmt = tx.prepare(ORDERS_BY_KEY).ctx("prepare replay orders")?;
    let mut orders = orders_stmt.query([]).ctx("query replay orders")?;

    let mut replayed = log.next_order()?;
    let mut stored = next_stored(&mut orders)?;
    loop {
        let side = match (&replayed, &stored) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(r), Some(s)) => r.key.cmp(&s.0),
        };
        match side {
            Ordering::Equal => {
                if let (Some(r), Some((key, state))) = (&replayed, &stored) {
                    // Compare the folded streams themselves, not only the views derived from
                    // them.
                    let s = parse_state(state)?;
                    if s != r.streams {
                        report.note_mismatch(format!(
                            "order {}/{}: stored state ({}) differs from a replay ({})",
                            key.0,
                            key.1,
                            view_of(&key.1, &s).status,
                            view_of(&key.1, &r.streams).status
                        ));
                    }
                }
                count(&mut report, &replayed);
                replayed = log.next_order()?;
                stored = next_stored(&mut orders)?;
                at.orders_done += 1;
            }
            Ordering::Less => {
                if let Some(r) = &replayed {
                    report.note_mismatch(format!(
                        "order {}/{}: missing from the projection",
                        r.key.0, r.key.1
                    ));
                }
                count(&mut report, &replayed);
                replayed = log.next_order()?;
            }
            Ordering::Greater => {
                if let Some((key, _)) = &stored {
                    report.note_mismatch(format!(
                        "order {}/{}: in the projection but no applied event",
                        key.0, key.1
                    ));
                }
                stored = next_stored(&mut orders)?;
                at.orders_done += 1;
            }
        }
        if at.orders_done.is_multiple_of(PROGRESS_EVERY) && side != Ordering::Less {
            at.events = report.events;
            progress(&at);
        }
    }
    at.events = report.events;
    progress(&at);
    Ok(report)
}

/// Counts a replayed order and its events.
fn count(report: &mut ReplayReport, replayed: &Option<Replayed>) {
    if let Some(r) = replayed {
        report.orders += 1;
        report.events += r.events;
    }
}

/// One order folded from the log.
struct Replayed {
    key: Key,
    streams: Streams,
    events: u64,
}

/// The log cursor, with the first event of the next order read ahead.
struct LogCursor<'s> {
    rows: Rows<'s>,
    pending: Option<(Key, Seq, Event)>,
}

impl LogCursor<'_> {
    fn read(&mut self) -> Result<Option<(Key, Seq, Event)>, StoreError> {
        let Some(r) = self.rows.next().ctx("read replay event")? else {
            return Ok(None);
        };
        let tenant: String = r.get(0).ctx("read replay event tenant")?;
        let seq: i64 = r.get(1).ctx("read replay event seq")?;
        let cols = super::event_columns(r, 2).ctx("read replay event")?;
        let order_id = cols.order_id.clone();
        let event = waypost_store::event_body::decode(cols)?;
        Ok(Some(((tenant, order_id), seq.max(0) as Seq, event)))
    }

    /// The next order's events folded in seq order, as the applier folded them.
    fn next_order(&mut self) -> Result<Option<Replayed>, StoreError> {
        let first = match self.pending.take() {
            Some(p) => p,
            None => match self.read()? {
                Some(p) => p,
                None => return Ok(None),
            },
        };
        let key = first.0;
        let mut evs = vec![(first.1, first.2)];
        while let Some((k, seq, event)) = self.read()? {
            if k != key {
                self.pending = Some((k, seq, event));
                break;
            }
            evs.push((seq, event));
        }
        evs.sort_unstable_by_key(|(seq, _)| *seq);
        let mut streams = Streams::new();
        for (_, event) in &evs {
            streams
                .entry(event.stream().to_string())
                .or_default()
                .apply(event);
        }
        Ok(Some(Replayed {
            key,
            streams,
            events: evs.len() as u64,
        }))
    }
}

fn next_stored(rows: &mut Rows<'_>) -> Result<Option<(Key, Vec<u8>)>, StoreError> {
    let Some(r) = rows.next().ctx("read replay order")? else {
        return Ok(None);
    };
    let tenant: String = r.get(0).ctx("read replay order tenant")?;
    let order_id: String = r.get(1).ctx("read replay order id")?;
    let state = super::bytes_of(r, 2).ctx("read replay order state")?;
    Ok(Some(((tenant, order_id), state)))
}

#[cfg(test)]
mod tests {
    use super::super::{SqliteWriter, open, open_tool};
    use super::*;
    use waypost_domain::TenantId;
    use waypost_store::MAX_LISTED_MISMATCHES as MAX_LISTED;

    /// An event of `order` (tenant `t`) with status `status`, `n`-th of its order.
    fn event(order: &str, n: u32, status: &str) -> Event {
        serde_json::from_value(serde_json::json!({
            "source": "wms", "event_id": format!("{order}-{n}"), "order_id": order,
            "status": status, "occurred_at": format!("2026-01-01T{:02}:00:00Z", n % 24),
        }))
        .expect("test event")
    }

    /// Appends and applies one batch: `(tenant, order, n, status)` each.
    fn write(w: &mut SqliteWriter, evs: &[(&str, &str, u32, &str)]) {
        let now = jiff::Timestamp::UNIX_EPOCH;
        let subs: Vec<Submission> = evs
            .iter()
            .map(|(t, o, n, st)| {
                Submission::new(
                    TenantId::new(*t).expect("tenant"),
                    vec![NewEvent::new(event(o, *n, st)).expect("encode")],
                    now,
                )
            })
            .collect();
        let stored: Vec<StoredEvent> = w
            .append(&subs)
            .expect("append")
            .into_iter()
            .flat_map(|o| o.stored)
            .collect();
        w.apply(Partition(0), &stored, now).expect("apply");
    }

    /// Both cursors must walk an index, never sort a whole table in memory: that is what keeps
    /// the check's memory flat on a store of any size.
    #[test]
    fn both_cursors_read_an_index_without_a_sort() {
        let dir = tempfile::tempdir().expect("temp dir");
        let conn = open_tool(dir.path()).expect("open");
        for sql in [EVENTS_BY_ORDER, ORDERS_BY_KEY] {
            let plan: Vec<String> = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .expect("prepare plan")
                .query_map(
                    rusqlite::params_from_iter(std::iter::repeat_n(
                        0_i64,
                        sql.matches('?').count(),
                    )),
                    |r| r.get::<_, String>(3),
                )
                .expect("plan")
                .collect::<Result<_, _>>()
                .expect("plan rows");
            let text = plan.join("; ");
            assert!(!text.contains("TEMP B-TREE"), "{sql}: {text}");
            assert!(text.contains("USING INDEX"), "{sql}: {text}");
        }
    }

    #[test]
    fn a_consistent_store_replays_to_no_mismatch_and_unapplied_events_wait() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (mut w, _r) = open(dir.path(), Durability::Normal).expect("open");
        // Two tenants with the same order id, events of one order interleaved with others.
        write(
            &mut w,
            &[
                ("acme", "O1", 1, "packed"),
                ("beta", "O1", 1, "allocated"),
                ("acme", "O2", 1, "packed"),
                ("acme", "O1", 2, "shipped"),
                ("beta", "O1", 2, "cancelled"),
            ],
        );
        // Appended, not applied: not part of the replay, and no mismatch.
        let late = Submission::new(
            TenantId::new("acme").expect("tenant"),
            vec![NewEvent::new(event("O9", 1, "packed")).expect("encode")],
            jiff::Timestamp::UNIX_EPOCH,
        );
        w.append(&[late]).expect("append");
        let conn = open_tool(dir.path()).expect("open tool");
        let report = replay_check(&conn).expect("replay");
        assert_eq!(report.mismatches, Vec::<String>::new());
        assert_eq!(
            (
                report.events,
                report.orders,
                report.applied_seq,
                report.last_seq
            ),
            (5, 3, 5, 6)
        );
    }

    #[test]
    fn a_tampered_state_a_lost_row_and_an_orphan_row_are_each_named() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (mut w, _r) = open(dir.path(), Durability::Normal).expect("open");
        write(
            &mut w,
            &[
                ("acme", "O1", 1, "packed"),
                ("acme", "O2", 1, "packed"),
                ("acme", "O2", 2, "shipped"),
                ("acme", "O3", 1, "packed"),
                ("beta", "O4", 1, "allocated"),
            ],
        );
        let conn = open_tool(dir.path()).expect("open tool");
        conn.execute_batch(
            "UPDATE orders SET state = (SELECT state FROM orders WHERE order_id = 'O1')
                 WHERE order_id = 'O2';
             DELETE FROM orders WHERE order_id = 'O3';
             INSERT INTO orders (tenant, order_id, status, carriers, version, updated_ns, state)
                 SELECT 'beta', 'O5', status, carriers, version, updated_ns, state
                 FROM orders WHERE order_id = 'O4';",
        )
        .expect("tamper");
        let report = replay_check(&conn).expect("replay");
        assert_eq!(report.mismatched, 3, "{:?}", report.mismatches);
        assert_eq!(
            report.mismatches,
            [
                "order acme/O2: stored state (packed) differs from a replay (shipped)",
                "order acme/O3: missing from the projection",
                "order beta/O5: in the projection but no applied event",
            ]
        );
    }

    #[test]
    fn mismatches_are_all_counted_and_the_first_ones_listed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (mut w, _r) = open(dir.path(), Durability::Normal).expect("open");
        let ids: Vec<String> = (0..MAX_LISTED + 5).map(|i| format!("O{i:05}")).collect();
        let evs: Vec<(&str, &str, u32, &str)> = ids
            .iter()
            .map(|o| ("acme", o.as_str(), 1, "packed"))
            .collect();
        write(&mut w, &evs);
        let conn = open_tool(dir.path()).expect("open tool");
        conn.execute("DELETE FROM orders", []).expect("tamper");
        let report = replay_check(&conn).expect("replay");
        assert_eq!(report.mismatched, (MAX_LISTED + 5) as u64);
        assert_eq!(report.mismatches.len(), MAX_LISTED);
        assert_eq!(
            report.mismatches[0],
            "order acme/O00000: missing from the projection"
        );
    }

    /// The writer applies more events in the middle of a check (from the progress callback,
    /// after the check has read part of both tables): the check still sees one snapshot, so
    /// no false mismatch, and none of the new events.
    #[test]
    fn a_writer_committing_during_the_check_causes_no_false_mismatch() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (mut w, _r) = open(dir.path(), Durability::Normal).expect("open");
        let n = 2 * PROGRESS_EVERY as usize + 10;
        let ids: Vec<String> = (0..n).map(|i| format!("O{i:05}")).collect();
        let evs: Vec<(&str, &str, u32, &str)> = ids
            .iter()
            .map(|o| ("acme", o.as_str(), 1, "packed"))
            .collect();
        write(&mut w, &evs);
        let conn = open_tool(dir.path()).expect("open tool");
        let mut calls = Vec::new();
        let report = replay_check_with(&conn, &mut |p| {
            if calls.is_empty() {
                // Orders already compared, orders still ahead, and new ones.
                let more: Vec<(&str, &str, u32, &str)> = ids
                    .iter()
                    .map(|o| ("acme", o.as_str(), 2, "shipped"))
                    .chain([
                        ("acme", "A-new", 1, "packed"),
                        ("acme", "Z-new", 1, "packed"),
                    ])
                    .collect();
                write(&mut w, &more);
            }
            calls.push(*p);
        })
        .expect("replay");
        assert_eq!(report.mismatches, Vec::<String>::new());
        assert_eq!((report.events, report.orders), (n as u64, n as u64));
        assert_eq!(calls[0].orders_done, PROGRESS_EVERY);
        assert_eq!(calls[0].orders_total, n as u64);
        let last = calls.last().expect("a final progress call");
        assert_eq!((last.orders_done, last.events), (n as u64, n as u64));
        // And afterwards the new state replays clean too.
        let after = replay_check(&conn).expect("replay");
        assert_eq!(after.mismatches, Vec::<String>::new());
        assert_eq!(after.events, 2 * n as u64 + 2);
    }
}
