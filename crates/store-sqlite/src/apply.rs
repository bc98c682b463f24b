//! Storing what the projection decides for one order, inside the applier's transaction
//! (`SqliteWriter::apply_with`): load the order's row, [`project`], write the delta. No
//! decision is made here; the SQL is.

use super::write::parse_state;
use super::{from_ns, ns};
use crate::SqlContext;
use jiff::Timestamp;
use rusqlite::{OptionalExtension, Transaction, params};
use waypost_domain::{OrderView, TenantId};
use waypost_projection::{OrderState, Stored, project};
use waypost_store::*;

/// The numbers a change would get: its row's key over all tenants, and its number within its
/// tenant, the only one the tenant sees (as the change's `seq` and the order's `version`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChangeSeqs {
    pub global: Seq,
    pub tenant: Seq,
}

/// Folds one order's events; its visible change, if any, with the order's view after it.
pub(crate) fn apply_order(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    order_id: &str,
    evs: &[&StoredEvent],
    now: Timestamp,
    seqs: ChangeSeqs,
) -> Result<Option<(Change, OrderView)>, StoreError> {
    let row: Option<(Vec<u8>, i64, i64)> = tx
        .prepare_cached(
            "SELECT state, version, updated_ns FROM orders WHERE tenant = ?1 AND order_id = ?2",
        )
        .ctx("prepare load order")?
        .query_row(params![tenant.as_str(), order_id], |r| {
            Ok((super::bytes_of(r, 0)?, r.get(1)?, r.get(2)?))
        })
        .optional()
        .ctx("load order")?;
    let state = match row {
        Some((state, version, updated_ns)) => OrderState {
            streams: parse_state(&state)?,
            stored: Some(Stored {
                version: version.max(0) as Seq,
                updated_at: from_ns(updated_ns),
            }),
        },
        None => OrderState::default(),
    };
    let delta = project(tenant, order_id, state, evs, now, seqs.tenant);
    super::facts::note_attrs(tx, tenant, order_id, &delta.attrs)?;
    if !delta.state_changed {
        return Ok(None);
    }
    for outcome in &delta.outcomes {
        super::dashboard::put_outcome(tx, tenant, order_id, outcome)?;
    }
    if !delta.new_tracks.is_empty() {
        let mut put = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO shipments (tenant, track, order_id) VALUES (?1, ?2, ?3)",
            )
            .ctx("prepare put shipment")?;
        for track in &delta.new_tracks {
            put.execute(params![tenant.as_str(), track, order_id])
                .ctx("index shipment")?;
        }
    }
    if let Some(change) = &delta.change {
        let causes: Vec<Seq> = evs.iter().map(|se| se.seq).collect();
        let body = super::change_row::encode(change, &causes)?;
        tx.prepare_cached(
            "INSERT INTO changes (seq, tenant, order_id, body, tenant_seq)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .ctx("prepare change")?
        .execute(params![
            seqs.global as i64,
            tenant.as_str(),
            order_id,
            body,
            seqs.tenant as i64
        ])
        .ctx("insert change")?;
    }
    let updated_ns = ns(delta.updated_at)?;
    if delta.new_order {
        super::dashboard::new_link(tx, tenant, order_id, ns(now)?)?;
    }
    if let Some(position) = &delta.position {
        super::dashboard::write_position(tx, tenant, order_id, position)?;
    }
    let state = super::state_codec::encode(&delta.streams);
    tx.prepare_cached(
        "INSERT INTO orders (tenant, order_id, status, carriers, version, updated_ns, state)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (tenant, order_id) DO UPDATE SET
           status = excluded.status, carriers = excluded.carriers, version = excluded.version,
           updated_ns = excluded.updated_ns, state = excluded.state",
    )
    .ctx("prepare upsert order")?
    .execute(params![
        tenant.as_str(),
        order_id,
        delta.view.status.as_str(),
        carriers_of(&delta.view),
        delta.version as i64,
        updated_ns,
        state
    ])
    .ctx("upsert order")?;
    Ok(delta.change.map(|c| (c, delta.view)))
}

/// The `LIKE ... ESCAPE '\'` pattern that finds `carrier` in a [`carriers_of`] column:
/// `%|carrier|%`, lower-cased, with the caller's LIKE wildcards escaped.
pub(crate) fn carrier_pattern(carrier: &str) -> String {
    let esc = carrier
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%|{esc}|%")
}

/// Carriers as `|a|b|`, so a LIKE '%|a|%' filter matches whole names only.
fn carriers_of(view: &OrderView) -> String {
    let mut cs: Vec<String> = view
        .shipments
        .iter()
        .filter_map(|s| s.carrier.as_deref())
        .map(str::to_lowercase)
        .collect();
    cs.sort_unstable();
    cs.dedup();
    if cs.is_empty() {
        String::new()
    } else {
        format!("|{}|", cs.join("|"))
    }
}
