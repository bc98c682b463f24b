//! What the dashboard and the tracking page read, kept by the apply transaction
//! (`migrations/0008_dashboard.sql`): each order's customer link, each active order's map
//! position, and each delivered shipment's outcome for the carrier scorecards. The projection
//! decides the rows (`waypost_projection::{position, outcomes}`); this writes them. Reads are
//! in `dashboard_read.rs`.

use super::write::parse_state;
use super::{ns, tenant_at};
use crate::SqlContext;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use waypost_domain::TenantId;
use waypost_projection::{DeliveryOutcome, PositionWrite, outcomes, position, view_of};
use waypost_store::StoreError;

/// A new customer-link token, 32 lowercase hex characters: the creation time in milliseconds
/// (48 bits), then 80 random bits. The time first so each new link lands at the end of the
/// token index instead of at a random page of it (a random key cost every apply a random page
/// write: `waypost bench` fell from 89k to 40k events/s); 80 random bits still leave a guesser
/// nothing to go on.
pub(crate) fn new_token(now_ns: i64) -> String {
    let ms = (now_ns / 1_000_000) as u64 & 0xFFFF_FFFF_FFFF;
    let random = rand::random::<u128>() & ((1u128 << 80) - 1);
    format!("{ms:012x}{random:020x}")
}

/// Gives a newly written order its customer link (no-op when it has one).
pub(crate) fn new_link(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    order_id: &str,
    now_ns: i64,
) -> Result<(), StoreError> {
    // A token collision (2^-80 within one millisecond) fails the apply rather than leave the
    // order without a link.
    tx.prepare_cached(
        "INSERT INTO tracking_links (token, tenant, order_id) VALUES (?1, ?2, ?3)
         ON CONFLICT (tenant, order_id) DO NOTHING",
    )
    .ctx("prepare tracking link")?
    .execute(params![new_token(now_ns), tenant.as_str(), order_id])
    .ctx("insert tracking link")?;
    Ok(())
}

/// Writes (or, for a closed order, removes) the order's map row.
pub(crate) fn write_position(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    order_id: &str,
    write: &PositionWrite,
) -> Result<(), StoreError> {
    let p = match write {
        PositionWrite::Delete => {
            tx.prepare_cached("DELETE FROM order_positions WHERE tenant = ?1 AND order_id = ?2")
                .ctx("prepare drop position")?
                .execute(params![tenant.as_str(), order_id])
                .ctx("drop position")?;
            return Ok(());
        }
        PositionWrite::Upsert(p) => p,
    };
    tx.prepare_cached(
        "INSERT INTO order_positions
           (tenant, order_id, status, lat, lon, carrier, dest_lat, dest_lon, origin_lat,
            origin_lon, updated_ns)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (tenant, order_id) DO UPDATE SET
           status = excluded.status, lat = excluded.lat, lon = excluded.lon,
           carrier = excluded.carrier, dest_lat = excluded.dest_lat,
           dest_lon = excluded.dest_lon, origin_lat = excluded.origin_lat,
           origin_lon = excluded.origin_lon, updated_ns = excluded.updated_ns",
    )
    .ctx("prepare position")?
    .execute(params![
        tenant.as_str(),
        order_id,
        p.status,
        p.at.map(|p| p.0),
        p.at.map(|p| p.1),
        p.carrier,
        p.destination.map(|p| p.0),
        p.destination.map(|p| p.1),
        p.origin.map(|p| p.0),
        p.origin.map(|p| p.1),
        ns(p.updated_at)?,
    ])
    .ctx("write position")?;
    Ok(())
}

/// Event times as the `events` table keeps them (i64 nanoseconds).
fn ns64(n: i128) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Range {
        what: "timestamp",
        detail: n.to_string(),
    })
}

/// Writes one delivered shipment's outcome (one row per order and track, replaced).
pub(crate) fn put_outcome(
    tx: &Connection,
    tenant: &TenantId,
    order_id: &str,
    o: &DeliveryOutcome,
) -> Result<(), StoreError> {
    let promised = o.promised_at.map(ns).transpose()?;
    tx.prepare_cached(
        "INSERT INTO shipment_outcomes
           (tenant, order_id, track, carrier, origin, destination, shipped_ns, delivered_ns,
            promised_ns)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (tenant, order_id, track) DO UPDATE SET
           carrier = excluded.carrier, origin = excluded.origin,
           destination = excluded.destination, shipped_ns = excluded.shipped_ns,
           delivered_ns = excluded.delivered_ns, promised_ns = excluded.promised_ns",
    )
    .ctx("prepare outcome")?
    .execute(params![
        tenant.as_str(),
        order_id,
        o.track,
        o.carrier,
        o.origin,
        o.destination,
        o.shipped_ns.map(ns64).transpose()?,
        ns64(o.delivered_ns)?,
        promised,
    ])
    .ctx("write outcome")?;
    Ok(())
}

/// Fills each stream's first shipped and first delivered times, from the log, into the states
/// of orders written before migration 11, once. The fields are minimums over the stream's
/// events, so counting an appended but not yet applied event early changes nothing: its apply
/// lowers them to the same values.
pub(crate) fn backfill_transit_times(conn: &mut Connection) -> Result<(), StoreError> {
    let done: Option<i64> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'transit_times_backfill'",
            [],
            |r| r.get(0),
        )
        .optional()
        .ctx("read transit_times_backfill")?;
    if done != Some(0) {
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .ctx("begin transit backfill")?;
    {
        let mut orders = tx
            .prepare("SELECT tenant, order_id, state FROM orders")
            .ctx("prepare transit backfill orders")?;
        let mut times = tx
            .prepare(
                "SELECT track,
                        MIN(CASE WHEN status IN ('shipped', 'in_transit') THEN occurred_ns END),
                        MIN(CASE WHEN status = 'delivered' THEN occurred_ns END)
                 FROM events WHERE tenant = ?1 AND order_id = ?2 GROUP BY track",
            )
            .ctx("prepare transit backfill times")?;
        let mut put = tx
            .prepare("UPDATE orders SET state = ?3 WHERE tenant = ?1 AND order_id = ?2")
            .ctx("prepare transit backfill state")?;
        let mut rows = orders.query([]).ctx("query transit backfill orders")?;
        while let Some(r) = rows.next().ctx("read transit backfill order")? {
            let tenant: String = r.get(0).ctx("read transit backfill tenant")?;
            let order_id: String = r.get(1).ctx("read transit backfill order id")?;
            let mut streams =
                parse_state(&super::bytes_of(r, 2).ctx("read transit backfill state")?)?;
            let found = times
                .query_map(params![tenant, order_id], |t| {
                    Ok((
                        t.get::<_, String>(0)?,
                        t.get::<_, Option<i64>>(1)?,
                        t.get::<_, Option<i64>>(2)?,
                    ))
                })
                .ctx("query transit backfill times")?;
            let mut moved = false;
            for t in found {
                let (track, shipped, delivered) = t.ctx("read transit backfill times")?;
                // A stream not in the state has no applied event yet: its apply sets them.
                let Some(st) = streams.get_mut(&track) else {
                    continue;
                };
                for (slot, at) in [
                    (&mut st.first_shipped_ns, shipped),
                    (&mut st.first_delivered_ns, delivered),
                ] {
                    if let Some(at) = at.map(i128::from)
                        && slot.is_none_or(|t| at < t)
                    {
                        *slot = Some(at);
                        moved = true;
                    }
                }
            }
            if moved {
                put.execute(params![
                    tenant,
                    order_id,
                    super::state_codec::encode(&streams)
                ])
                .ctx("write transit backfill state")?;
            }
        }
    }
    tx.execute(
        "UPDATE meta SET value = 1 WHERE key = 'transit_times_backfill'",
        [],
    )
    .ctx("mark transit backfill")?;
    tx.commit().ctx("commit transit backfill")?;
    Ok(())
}

/// Fills positions and outcomes for orders written before migration 8, once.
pub(crate) fn backfill(conn: &mut Connection) -> Result<(), StoreError> {
    let done: Option<i64> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'dashboard_backfill'",
            [],
            |r| r.get(0),
        )
        .optional()
        .ctx("read dashboard_backfill")?;
    if done != Some(0) {
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .ctx("begin dashboard backfill")?;
    {
        let mut stmt = tx
            .prepare("SELECT tenant, order_id, state, updated_ns FROM orders")
            .ctx("prepare backfill orders")?;
        let mut rows = stmt.query([]).ctx("query backfill orders")?;
        while let Some(r) = rows.next().ctx("read backfill order")? {
            let tenant = tenant_at(r, 0).ctx("read backfill tenant")?;
            let order_id: String = r.get(1).ctx("read backfill order id")?;
            let streams = parse_state(&super::bytes_of(r, 2).ctx("read backfill state")?)?;
            let updated_ns: i64 = r.get(3).ctx("read backfill updated_ns")?;
            let view = view_of(&order_id, &streams);
            let at = super::from_ns(updated_ns);
            write_position(&tx, &tenant, &order_id, &position(&view, &streams, at))?;
            for outcome in outcomes(&streams, &[""]) {
                put_outcome(&tx, &tenant, &order_id, &outcome)?;
            }
        }
    }
    tx.execute(
        "UPDATE meta SET value = 1 WHERE key = 'dashboard_backfill'",
        [],
    )
    .ctx("mark dashboard backfill")?;
    tx.commit().ctx("commit dashboard backfill")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_32_lowercase_hex_and_differ() {
        let a = new_token(1_700_000_000_000_000_000);
        let b = new_token(1_700_000_000_000_000_000);
        assert_eq!(a.len(), 32);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(a, b);
        // Later links sort after earlier ones.
        assert!(new_token(1_700_000_000_001_000_000) > a);
    }

    /// A store whose states were written before migration 11 (no transit times) gets them
    /// from the log at open, and the outcomes computed from them are the ones the log gave.
    #[test]
    #[allow(clippy::unwrap_used)]
    fn states_from_before_the_transit_times_are_filled_in_at_open() {
        use waypost_store::{EventLog, NewEvent, Partition, ProjectionStore, Submission};
        let dir = tempfile::tempdir().unwrap();
        let t = TenantId::new("t").unwrap();
        let ev = |id: &str, track: Option<&str>, status: &str, minute: u32| {
            let mut v = serde_json::json!({
                "source": "src", "event_id": id, "order_id": "O", "status": status,
                "occurred_at": format!("2024-03-01T10:{minute:02}:00Z"),
                "destination": {"country": "us", "region": "ny"},
            });
            if let Some(track) = track {
                v["tracking_number"] = track.into();
            }
            NewEvent::new(serde_json::from_value(v).unwrap()).unwrap()
        };
        let now = jiff::Timestamp::from_second(1_709_300_000).unwrap();
        let read = |conn: &Connection| {
            let states: Vec<(String, Vec<u8>)> = conn
                .prepare("SELECT order_id, state FROM orders ORDER BY order_id")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let outcomes: Vec<(String, Option<i64>, i64, Option<String>)> = conn
                .prepare(
                    "SELECT track, shipped_ns, delivered_ns, destination
                     FROM shipment_outcomes ORDER BY order_id, track",
                )
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            (states, outcomes)
        };
        {
            let (mut w, _r) =
                super::super::open(dir.path(), super::super::Durability::Normal).unwrap();
            let sub = Submission::new(
                t.clone(),
                vec![
                    ev("w", None, "shipped", 3),
                    ev("a", Some("T"), "in_transit", 5),
                    ev("b", Some("T"), "delivered", 9),
                    ev("c", Some("U"), "delivered", 7),
                ],
                now,
            );
            let out = w.append(&[sub]).unwrap();
            w.apply(Partition(0), &out[0].stored, now).unwrap();
        }
        let conn = super::super::open_tool(dir.path()).unwrap();
        let (states, outcomes) = read(&conn);
        assert_eq!(outcomes.len(), 2);
        assert_eq!(outcomes[0].3.as_deref(), Some("US-NY"));
        // As a store written before migration 11 looks: no transit times, nothing backfilled.
        for (order, state) in &states {
            let mut streams = parse_state(state).unwrap();
            for st in streams.values_mut() {
                st.first_shipped_ns = None;
                st.first_delivered_ns = None;
            }
            conn.execute(
                "UPDATE orders SET state = ?1 WHERE order_id = ?2",
                params![super::super::state_codec::encode(&streams), order],
            )
            .unwrap();
        }
        conn.execute_batch(
            "DELETE FROM shipment_outcomes;
             UPDATE meta SET value = 0 WHERE key IN ('transit_times_backfill', 'dashboard_backfill');",
        )
        .unwrap();
        drop(conn);
        drop(super::super::open(dir.path(), super::super::Durability::Normal).unwrap());
        let conn = super::super::open_tool(dir.path()).unwrap();
        assert_eq!(read(&conn), (states, outcomes));
    }
}
