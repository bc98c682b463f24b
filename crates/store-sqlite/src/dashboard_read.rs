//! The dashboard's and the tracking page's queries (rows kept by `dashboard.rs`).

use super::{from_ns, ns, tenant_at};
use crate::SqlContext;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashMap;
use waypost_domain::TenantId;
use waypost_store::StoreError;
use waypost_store::*;

pub(crate) fn tracking_token(
    c: &Connection,
    tenant: &TenantId,
    order_id: &str,
) -> Result<Option<String>, StoreError> {
    c.prepare_cached("SELECT token FROM tracking_links WHERE tenant = ?1 AND order_id = ?2")
        .ctx("prepare tracking token")?
        .query_row(params![tenant.as_str(), order_id], |r| r.get(0))
        .optional()
        .ctx("read tracking token")
}

pub(crate) fn tracking_link(
    c: &Connection,
    token: &str,
) -> Result<Option<(TenantId, String)>, StoreError> {
    c.prepare_cached("SELECT tenant, order_id FROM tracking_links WHERE token = ?1")
        .ctx("prepare tracking link")?
        .query_row([token], |r| Ok((tenant_at(r, 0)?, r.get(1)?)))
        .optional()
        .ctx("read tracking link")
}

type Tally = HashMap<Option<String>, u64>;

/// Largest count first, then by key (`None` last), so equal counts keep a stable order.
fn sorted(t: Tally) -> Vec<(Option<String>, u64)> {
    let mut v: Vec<_> = t.into_iter().collect();
    v.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then_with(|| a.0.is_none().cmp(&b.0.is_none()))
            .then_with(|| a.0.cmp(&b.0))
    });
    v
}

pub(crate) fn summary(
    c: &Connection,
    tenant: &TenantId,
    f: &DashboardFilter,
) -> Result<DashboardSummary, StoreError> {
    // One pass over the tenant's orders grouped by every breakdown at once; the four tallies
    // are summed from the groups (an order's carriers split here, from `|a|b|`).
    let mut stmt = c
        .prepare_cached(
            "SELECT o.status, o.carriers, a.warehouse, a.channel, COUNT(*)
             FROM orders o
             LEFT JOIN order_attrs a ON a.tenant = o.tenant AND a.order_id = o.order_id
             WHERE o.tenant = ?1
               AND (?2 IS NULL OR o.status = ?2)
               AND (?3 IS NULL OR o.carriers LIKE ?3 ESCAPE '\\')
               AND (?4 IS NULL OR a.warehouse = ?4)
               AND (?5 IS NULL OR a.channel = ?5)
             GROUP BY 1, 2, 3, 4",
        )
        .ctx("prepare dashboard summary")?;
    let rows = stmt
        .query_map(
            params![
                tenant.as_str(),
                f.status,
                f.carrier.as_deref().map(super::apply::carrier_pattern),
                f.warehouse,
                f.channel
            ],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            },
        )
        .ctx("query dashboard summary")?;
    let mut out = DashboardSummary::default();
    let (mut st, mut ca, mut wh, mut ch) = (Tally::new(), Tally::new(), Tally::new(), Tally::new());
    for row in rows {
        let (status, carriers, warehouse, channel, n) = row.ctx("read summary row")?;
        let n = n.max(0) as u64;
        out.total += n;
        // A status this build does not know is counted active, as an open order would be.
        if !status
            .parse::<waypost_domain::OrderStatus>()
            .is_ok_and(|s| s.is_closed())
        {
            out.active += n;
        }
        *st.entry(Some(status)).or_default() += n;
        let mut any = false;
        for carrier in carriers.split('|').filter(|s| !s.is_empty()) {
            any = true;
            *ca.entry(Some(carrier.to_string())).or_default() += n;
        }
        if !any {
            *ca.entry(None).or_default() += n;
        }
        *wh.entry(warehouse).or_default() += n;
        *ch.entry(channel).or_default() += n;
    }
    out.by_status = sorted(st);
    out.by_carrier = sorted(ca);
    out.by_warehouse = sorted(wh);
    out.by_channel = sorted(ch);
    out.alerts_open = c
        .prepare_cached("SELECT COUNT(*) FROM alerts WHERE tenant = ?1 AND status <> 'resolved'")
        .ctx("prepare open alerts")?
        .query_row([tenant.as_str()], |r| r.get::<_, i64>(0))
        .ctx("count open alerts")?
        .max(0) as u64;
    Ok(out)
}

pub(crate) fn map_points(
    c: &Connection,
    tenant: &TenantId,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<MapPoint>, StoreError> {
    let mut stmt = c
        .prepare_cached(
            "SELECT p.order_id, p.status, p.lat, p.lon, p.carrier, a.warehouse, p.dest_lat,
                    p.dest_lon, p.updated_ns
             FROM order_positions p
             LEFT JOIN order_attrs a ON a.tenant = p.tenant AND a.order_id = p.order_id
             WHERE p.tenant = ?1 AND p.order_id > ?2
               AND p.lat IS NOT NULL AND p.lon IS NOT NULL
             ORDER BY p.order_id LIMIT ?3",
        )
        .ctx("prepare map points")?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt
        .query_map(params![tenant.as_str(), after.unwrap_or(""), limit], |r| {
            Ok(MapPoint {
                order_id: r.get(0)?,
                status: r.get(1)?,
                lat: r.get(2)?,
                lon: r.get(3)?,
                carrier: r.get(4)?,
                warehouse: r.get(5)?,
                dest_lat: r.get(6)?,
                dest_lon: r.get(7)?,
                updated_at: from_ns(r.get(8)?),
            })
        })
        .ctx("query map points")?;
    rows.collect::<Result<Vec<_>, _>>().ctx("read map point")
}

pub(crate) fn warehouses(
    c: &Connection,
    tenant: &TenantId,
) -> Result<Vec<WarehouseRow>, StoreError> {
    let mut stmt = c
        .prepare_cached(
            "SELECT a.warehouse, AVG(p.origin_lat), AVG(p.origin_lon), COUNT(*)
             FROM order_positions p
             JOIN order_attrs a ON a.tenant = p.tenant AND a.order_id = p.order_id
             WHERE p.tenant = ?1 AND a.warehouse IS NOT NULL
             GROUP BY a.warehouse ORDER BY a.warehouse",
        )
        .ctx("prepare warehouses")?;
    let rows = stmt
        .query_map([tenant.as_str()], |r| {
            Ok(WarehouseRow {
                name: r.get(0)?,
                lat: r.get(1)?,
                lon: r.get(2)?,
                active_orders: r.get::<_, i64>(3)?.max(0) as u64,
            })
        })
        .ctx("query warehouses")?;
    rows.collect::<Result<Vec<_>, _>>().ctx("read warehouse")
}

pub(crate) fn outcomes(
    c: &Connection,
    tenant: &TenantId,
    since: Timestamp,
) -> Result<Vec<OutcomeRow>, StoreError> {
    // An instant before what i64 nanoseconds hold: every row.
    let since = ns(since).unwrap_or(i64::MIN);
    let mut stmt = c
        .prepare_cached(
            "SELECT order_id, track, carrier, origin, destination, shipped_ns, delivered_ns,
                    promised_ns
             FROM shipment_outcomes WHERE tenant = ?1 AND delivered_ns >= ?2
             ORDER BY delivered_ns, order_id, track",
        )
        .ctx("prepare outcomes")?;
    let rows = stmt
        .query_map(params![tenant.as_str(), since], |r| {
            Ok(OutcomeRow {
                order_id: r.get(0)?,
                tracking_number: r.get(1)?,
                carrier: r.get(2)?,
                origin: r.get(3)?,
                destination: r.get(4)?,
                shipped_at: r.get::<_, Option<i64>>(5)?.map(from_ns),
                delivered_at: from_ns(r.get(6)?),
                promised_at: r.get::<_, Option<i64>>(7)?.map(from_ns),
            })
        })
        .ctx("query outcomes")?;
    rows.collect::<Result<Vec<_>, _>>().ctx("read outcome")
}
