//! Folding a batch of events into one order: its streams, its view, its change row, its
//! attributes, all inside the applier's transaction (`SqliteWriter::apply_with`).

use super::ns;
use super::write::{Streams, parse_state, view_of};
use crate::types::*;
use jiff::Timestamp;
use rusqlite::{OptionalExtension, Transaction, params};
use waypost_domain::{OrderView, TenantId};

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
    let is_new = row.is_none();
    let (mut streams, old_version, old_updated) = match row {
        Some((state, v, u)) => (parse_state(&state)?, v, u),
        None => (Streams::new(), 0, 0),
    };
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
        changed |= streams
            .entry(track.to_string())
            .or_default()
            .apply(&se.event);
    }
    super::facts::note_attrs(tx, tenant, order_id, evs)?;
    // Before the early return: an older `shipped` event changes no state but moves the
    // shipment's transit start.
    super::dashboard::note_outcomes(tx, tenant, order_id, &streams, &touched)?;
    if !changed {
        // Every event was already reflected (a late, older fact): nothing to write.
        return Ok(None);
    }
    if !new_tracks.is_empty() {
        let mut put = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO shipments (tenant, track, order_id) VALUES (?1, ?2, ?3)",
            )
            .ctx("prepare put shipment")?;
        for track in new_tracks {
            put.execute(params![tenant.as_str(), track, order_id])
                .ctx("index shipment")?;
        }
    }
    let after = view_of(order_id, &streams);
    let visible = before.as_ref() != Some(&after);
    let change = visible.then(|| {
        change_of(
            tenant,
            order_id,
            before.as_ref(),
            &after,
            evs,
            now,
            seqs.tenant,
        )
    });
    if let Some(change) = &change {
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
    let (version, updated_ns) = if visible {
        (seqs.tenant as i64, ns(now)?)
    } else {
        (old_version, old_updated)
    };
    if is_new {
        super::dashboard::new_link(tx, tenant, order_id, ns(now)?)?;
    }
    if visible {
        super::dashboard::note_position(tx, tenant, order_id, &after, &streams, updated_ns)?;
    }
    let state = super::state_codec::encode(&streams);
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
        after.status.as_str(),
        carriers_of(&after),
        version,
        updated_ns,
        state
    ])
    .ctx("upsert order")?;
    Ok(change.map(|c| (c, after)))
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
