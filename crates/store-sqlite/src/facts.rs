//! What `order_attrs` keeps of an order's attributes: the projection reduces a batch
//! ([`AttrUpdate`]); the upsert here merges it by the same rule ([`waypost_projection::wins`]),
//! in SQL so that the merge needs no read (tags aside).

use super::corrupt;
use crate::SqlContext;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use std::sync::LazyLock;
use waypost_domain::TenantId;
use waypost_projection::{AttrUpdate, merge_tags};
use waypost_store::{OrderAttrs, StoreError};

/// Columns of `order_attrs` kept "latest by event time": (value, its event time).
const LATEST: [(&str, &str); 6] = [
    ("channel", "channel_ns"),
    ("warehouse", "warehouse_ns"),
    ("order_value", "value_ns"),
    ("customer_id", "customer_id_ns"),
    ("customer_email", "customer_email_ns"),
    ("customer_phone", "customer_phone_ns"),
];

/// What `order_attrs` keeps of an order: what the rules and the notification planner see.
pub(crate) fn attrs(
    c: &Connection,
    tenant: &TenantId,
    order_id: &str,
) -> Result<OrderAttrs, StoreError> {
    let row = c
        .prepare_cached(
            "SELECT channel, warehouse, order_value, customer_id, customer_email, customer_phone,
                    tags
             FROM order_attrs WHERE tenant = ?1 AND order_id = ?2",
        )
        .ctx("prepare order attrs")?
        .query_row(params![tenant.as_str(), order_id], |r| {
            Ok((
                OrderAttrs {
                    channel: r.get(0)?,
                    warehouse: r.get(1)?,
                    order_value: r.get(2)?,
                    customer_id: r.get(3)?,
                    customer_email: r.get(4)?,
                    customer_phone: r.get(5)?,
                    // Filled by the caller that has the folded state (`apply_with`).
                    ..OrderAttrs::default()
                },
                r.get::<_, Option<String>>(6)?,
            ))
        })
        .optional()
        .ctx("read order attrs")?;
    let Some((mut attrs, tags)) = row else {
        return Ok(OrderAttrs::default());
    };
    if let Some(tags) = tags {
        attrs.tags = serde_json::from_str(&tags)
            .map_err(|e| corrupt("order tags", format!("{tenant}/{order_id}: {e}")))?;
    }
    Ok(attrs)
}

/// The upsert of one order's attributes: per field, the later (event time, value) wins (ties:
/// the greater value), so neither arrival order nor batching changes the row. Tags come merged.
static UPSERT: LazyLock<String> = LazyLock::new(|| {
    let cols: Vec<&str> = LATEST.iter().flat_map(|(v, n)| [*v, *n]).collect();
    let marks: Vec<String> = (3..=cols.len() + 3).map(|i| format!("?{i}")).collect();
    let sets: Vec<String> = LATEST
        .iter()
        .flat_map(|(v, n)| {
            let wins = format!(
                "excluded.{n} IS NOT NULL AND ({n} IS NULL OR (excluded.{n}, excluded.{v}) > ({n}, {v}))"
            );
            [
                format!("{v} = CASE WHEN {wins} THEN excluded.{v} ELSE {v} END"),
                format!("{n} = CASE WHEN {wins} THEN excluded.{n} ELSE {n} END"),
            ]
        })
        .collect();
    format!(
        "INSERT INTO order_attrs (tenant, order_id, {}, tags) VALUES (?1, ?2, {})
         ON CONFLICT (tenant, order_id) DO UPDATE SET {}, tags = COALESCE(excluded.tags, tags)",
        cols.join(", "),
        marks.join(", "),
        sets.join(", ")
    )
});

/// Merges one batch's reduced attributes into the order's row: per field, the later (event
/// time, value) wins (ties: the greater value); tags are merged with the kept ones.
pub(crate) fn note_attrs(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    order_id: &str,
    update: &AttrUpdate<'_>,
) -> Result<(), StoreError> {
    if update.is_empty() {
        return Ok(());
    }
    let tags = if update.tags.is_empty() {
        None
    } else {
        let old = attrs(tx, tenant, order_id)?.tags;
        let merged = merge_tags(old.iter().map(String::as_str), update.tags.iter().copied());
        Some(serde_json::to_string(&merged).map_err(|e| corrupt("order tags", e))?)
    };
    let text = update.text();
    let v = text.map(|f| f.map(|s| s.value));
    let at = text.map(|f| f.map(|s| s.at_ns));
    tx.prepare_cached(&UPSERT)
        .ctx("prepare order attrs")?
        .execute(params![
            tenant.as_str(),
            order_id,
            v[0],
            at[0],
            v[1],
            at[1],
            update.order_value.map(|s| s.value),
            update.order_value.map(|s| s.at_ns),
            v[2],
            at[2],
            v[3],
            at[3],
            v[4],
            at[4],
            tags,
        ])
        .ctx("keep order attrs")?;
    Ok(())
}
