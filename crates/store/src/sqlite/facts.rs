//! What the exception rules see of an order: its own view and each shipment's, from the folded
//! streams, with the times the rules count from.

use super::corrupt;
use super::write::{Streams, view_of};
use crate::types::SqlContext;
use crate::{OrderAttrs, StoreError, StoredEvent, SubjectFacts};
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use std::collections::BTreeSet;
use std::sync::LazyLock;
use waypost_domain::TenantId;
use waypost_domain::{OrderStatus, StreamState};

fn at(ns: Option<i128>) -> Option<Timestamp> {
    ns.and_then(|n| Timestamp::from_nanosecond(n).ok())
}

fn newest(streams: &[&StreamState]) -> Option<Timestamp> {
    at(streams.iter().filter_map(|s| s.last_event_ns).max())
}

/// Columns of `order_attrs` kept "latest by event time": (value, its event time).
const LATEST: [(&str, &str); 6] = [
    ("channel", "channel_ns"),
    ("warehouse", "warehouse_ns"),
    ("order_value", "value_ns"),
    ("customer_id", "customer_id_ns"),
    ("customer_email", "customer_email_ns"),
    ("customer_phone", "customer_phone_ns"),
];

/// At most this many tags are kept per order (the smallest), each at most this many chars.
pub(crate) const MAX_TAGS: usize = 32;
pub(crate) const MAX_TAG_CHARS: usize = 64;

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

/// Keeps `v` in `best` if it is later (by event time, then value) than what `best` holds.
fn keep<T: PartialOrd + Copy>(best: &mut Option<(i64, T)>, at: i64, v: Option<T>) {
    if let Some(v) = v
        && best.is_none_or(|b| (at, v) > b)
    {
        *best = Some((at, v));
    }
}

/// The tags an event's `tags` attribute names that the store keeps: strings, not empty, at
/// most [`MAX_TAG_CHARS`] long (a longer one is dropped, not cut, so two long tags never merge).
fn tags_of(v: Option<&serde_json::Value>) -> impl Iterator<Item = &str> {
    v.and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(serde_json::Value::as_str)
        .filter(|t| !t.is_empty() && t.chars().count() <= MAX_TAG_CHARS)
}

/// The union of `old` and `new`, sorted, deduplicated, the [`MAX_TAGS`] smallest: the same set
/// whatever order and grouping the tags came in (the smallest k of a union are among the
/// smallest k of its parts).
pub(crate) fn merge_tags<'a>(
    old: impl IntoIterator<Item = &'a str>,
    new: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let all: BTreeSet<&str> = old.into_iter().chain(new).collect();
    all.into_iter().take(MAX_TAGS).map(str::to_string).collect()
}

/// Keeps what the batch's events say of the order's channel, warehouse, value, customer and
/// tags: per field, the latest event time wins (ties: the greater value), tags accumulate, so
/// arrival order does not matter. The batch is reduced first: one write per order.
pub(crate) fn note_attrs(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    order_id: &str,
    evs: &[&StoredEvent],
) -> Result<(), StoreError> {
    let mut text: [Option<(i64, &str)>; 5] = [None; 5];
    let mut value: Option<(i64, f64)> = None;
    let mut tags: BTreeSet<&str> = BTreeSet::new();
    for se in evs {
        let a = &se.event.attributes;
        let get = |k: &str| a.get(k).and_then(|v| v.as_str()).filter(|s| !s.is_empty());
        let at = i64::try_from(se.event.occurred_at.instant.as_nanosecond()).unwrap_or(i64::MAX);
        keep(&mut text[0], at, get("channel"));
        keep(
            &mut text[1],
            at,
            get("warehouse_id").or_else(|| get("warehouse")),
        );
        keep(&mut text[2], at, get("customer_id"));
        keep(&mut text[3], at, get("customer_email"));
        keep(&mut text[4], at, get("customer_phone"));
        let v = a
            .get("order_value")
            .and_then(serde_json::Value::as_f64)
            .filter(|v| v.is_finite());
        keep(&mut value, at, v);
        tags.extend(tags_of(a.get("tags")));
    }
    if text.iter().all(Option::is_none) && value.is_none() && tags.is_empty() {
        return Ok(());
    }
    let tags = if tags.is_empty() {
        None
    } else {
        let old = attrs(tx, tenant, order_id)?.tags;
        let merged = merge_tags(old.iter().map(String::as_str), tags);
        Some(serde_json::to_string(&merged).map_err(|e| corrupt("order tags", e))?)
    };
    let v = text.map(|f| f.map(|(_, v)| v));
    let at = text.map(|f| f.map(|(at, _)| at));
    tx.prepare_cached(&UPSERT)
        .ctx("prepare order attrs")?
        .execute(params![
            tenant.as_str(),
            order_id,
            v[0],
            at[0],
            v[1],
            at[1],
            value.map(|(_, v)| v),
            value.map(|(at, _)| at),
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

pub(crate) fn of(order_id: &str, streams: &Streams, attrs: &OrderAttrs) -> Vec<SubjectFacts> {
    let view = view_of(order_id, streams);
    let order_stream = streams.get("");
    let all: Vec<&StreamState> = streams.values().collect();
    let mut out = Vec::with_capacity(view.shipments.len() + 1);
    out.push(SubjectFacts {
        track: String::new(),
        status: match view.status {
            OrderStatus::Shipment(s) => Some(s),
            OrderStatus::Partial(_) => None,
        },
        reason: view.reason,
        status_since: view.status_at.map(|t| t.instant),
        last_event_at: newest(&all),
        promised_at: view.promised_at.map(|t| t.instant),
        carrier: None,
        service: None,
        channel: attrs.channel.clone(),
        warehouse: attrs.warehouse.clone(),
        order_value: attrs.order_value,
    });
    for s in &view.shipments {
        // A shipment hears from its carrier and, for the order-wide part, from the warehouse.
        let own: Vec<&StreamState> = streams
            .get(&s.tracking_number)
            .into_iter()
            .chain(order_stream)
            .collect();
        out.push(SubjectFacts {
            track: s.tracking_number.clone(),
            status: Some(s.status),
            reason: s.reason,
            status_since: s.status_at.map(|t| t.instant),
            last_event_at: newest(&own),
            promised_at: s.promised_at.map(|t| t.instant),
            carrier: s.carrier.clone(),
            service: s.service.clone(),
            channel: attrs.channel.clone(),
            warehouse: attrs.warehouse.clone(),
            order_value: attrs.order_value,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tags_keep_strings_of_at_most_64_chars() {
        let long = "é".repeat(MAX_TAG_CHARS);
        let v = serde_json::json!(["vip", "", 7, null, long.clone(), format!("{long}x"), ["x"]]);
        assert_eq!(
            tags_of(Some(&v)).collect::<Vec<_>>(),
            ["vip", long.as_str()]
        );
        assert_eq!(tags_of(Some(&serde_json::json!("vip"))).count(), 0);
        assert_eq!(tags_of(None).count(), 0);
    }

    #[test]
    fn merged_tags_are_sorted_distinct_and_the_smallest_32() {
        assert_eq!(merge_tags(["b", "a"], ["a", "c"]), ["a", "b", "c"]);
        let many: Vec<String> = (0..50).rev().map(|i| format!("t{i:02}")).collect();
        let merged = merge_tags([], many.iter().map(String::as_str));
        assert_eq!(merged.len(), MAX_TAGS);
        assert_eq!((merged[0].as_str(), merged[31].as_str()), ("t00", "t31"));
    }

    proptest! {
        /// What `order_attrs` keeps must not depend on how the tags were batched or ordered.
        #[test]
        fn merging_tags_in_any_grouping_gives_the_same_set(
            tags in prop::collection::vec("[a-z]{1,2}", 0..120),
            cut in any::<prop::sample::Index>(),
        ) {
            let all = merge_tags([], tags.iter().map(String::as_str));
            let (a, b) = tags.split_at(cut.index(tags.len() + 1));
            let first = merge_tags([], b.iter().map(String::as_str));
            let stepwise = merge_tags(first.iter().map(String::as_str), a.iter().map(String::as_str));
            prop_assert_eq!(stepwise, all);
        }
    }
}
