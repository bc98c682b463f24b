//! What the dashboard and the tracking page read, kept by the apply transaction
//! (`migrations/0008_dashboard.sql`): each order's customer link, each active order's map
//! position, and each delivered shipment's outcome for the carrier scorecards. Reads are in
//! `dashboard_read.rs`.

use super::write::{Streams, parse_state, view_of};
use super::{ns, tenant_at};
use crate::types::{SqlContext, StoreError};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use waypost_domain::{Location, OrderView, ShipmentView, TenantId};

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

fn point(l: &Location) -> Option<(f64, f64)> {
    Some((l.lat?, l.lon?))
}

/// The first of the shipments' (else the order's own) locations that has coordinates.
fn first_point<'a>(
    view: &'a OrderView,
    order_own: Option<&'a Location>,
    pick: impl Fn(&'a ShipmentView) -> Option<&'a Location>,
) -> Option<(f64, f64)> {
    view.shipments
        .iter()
        .filter_map(&pick)
        .chain(order_own)
        .find_map(point)
}

/// Keeps the order's map row in step with its view: written while the order is active,
/// removed when it closes.
pub(crate) fn note_position(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    order_id: &str,
    view: &OrderView,
    streams: &Streams,
    updated_ns: i64,
) -> Result<(), StoreError> {
    let status = view.status.as_str();
    if view.status.is_closed() {
        tx.prepare_cached("DELETE FROM order_positions WHERE tenant = ?1 AND order_id = ?2")
            .ctx("prepare drop position")?
            .execute(params![tenant.as_str(), order_id])
            .ctx("drop position")?;
        return Ok(());
    }
    let own = streams.get("");
    let at = view.location.as_ref().and_then(point);
    let dest = first_point(
        view,
        own.and_then(|o| o.destination.as_ref()).map(|l| &l.value),
        |s| s.destination.as_ref(),
    );
    let origin = first_point(
        view,
        own.and_then(|o| o.origin.as_ref()).map(|l| &l.value),
        |s| s.origin.as_ref(),
    );
    let carrier = view.shipments.iter().find_map(|s| s.carrier.as_deref());
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
        status,
        at.map(|p| p.0),
        at.map(|p| p.1),
        carrier,
        dest.map(|p| p.0),
        dest.map(|p| p.1),
        origin.map(|p| p.0),
        origin.map(|p| p.1),
        updated_ns,
    ])
    .ctx("write position")?;
    Ok(())
}

/// A lane end: `CC`, or `CC-REGION` when the region is known (both upper-cased).
pub(crate) fn lane_end(l: Option<&Location>) -> Option<String> {
    let l = l?;
    let cc = l
        .country
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())?;
    let cc = cc.to_uppercase();
    match l.region.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => Some(format!("{cc}-{}", r.to_uppercase())),
        None => Some(cc),
    }
}

/// Rewrites the outcome of every delivered shipment among `touched` streams (all of them when
/// the order's own stream, which every shipment's view merges, is touched). The row is a
/// function of the order's events and folded state, so however events arrive, and however
/// often, each delivered shipment is one row with the same values.
pub(crate) fn note_outcomes(
    tx: &Connection,
    tenant: &TenantId,
    order_id: &str,
    streams: &Streams,
    touched: &[&str],
) -> Result<(), StoreError> {
    let all = touched.contains(&"");
    let own = streams.get("");
    for (track, st) in streams {
        // Delivered is terminal: a stream that never saw a terminal event has no outcome.
        if track.is_empty()
            || st.first_terminal_ns.is_none()
            || !(all || touched.contains(&track.as_str()))
        {
            continue;
        }
        let (shipped, delivered): (Option<i64>, Option<i64>) = tx
            .prepare_cached(
                "SELECT MIN(CASE WHEN status IN ('shipped', 'in_transit') THEN occurred_ns END),
                        MIN(CASE WHEN status = 'delivered' AND track = ?3 THEN occurred_ns END)
                 FROM events WHERE tenant = ?1 AND order_id = ?2 AND track IN (?3, '')",
            )
            .ctx("prepare shipment times")?
            .query_row(params![tenant.as_str(), order_id, track], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .ctx("read shipment times")?;
        let Some(delivered) = delivered else { continue };
        let v = ShipmentView::merge(track, st, own);
        let promised = v.promised_at.map(|p| ns(p.instant)).transpose()?;
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
            track,
            v.carrier,
            lane_end(v.origin.as_ref()),
            lane_end(v.destination.as_ref()),
            shipped,
            delivered,
            promised,
        ])
        .ctx("write outcome")?;
    }
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
            note_position(&tx, &tenant, &order_id, &view, &streams, updated_ns)?;
            note_outcomes(&tx, &tenant, &order_id, &streams, &[""])?;
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

    #[test]
    fn lane_ends_are_country_or_country_region() {
        let loc = |cc: Option<&str>, r: Option<&str>| Location {
            country: cc.map(String::from),
            region: r.map(String::from),
            ..Location::default()
        };
        assert_eq!(
            lane_end(Some(&loc(Some("us"), Some("ca")))),
            Some("US-CA".into())
        );
        assert_eq!(lane_end(Some(&loc(Some("DE"), None))), Some("DE".into()));
        assert_eq!(
            lane_end(Some(&loc(Some("DE"), Some(" ")))),
            Some("DE".into())
        );
        assert_eq!(lane_end(Some(&loc(None, Some("CA")))), None);
        assert_eq!(lane_end(None), None);
    }
}
