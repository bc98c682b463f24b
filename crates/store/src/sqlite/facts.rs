//! What the exception rules see of an order: its own view and each shipment's, from the folded
//! streams, with the times the rules count from.

use super::write::{Streams, view_of};
use crate::types::SqlContext;
use crate::{StoreError, StoredEvent, SubjectFacts};
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use waypost_domain::TenantId;
use waypost_domain::{OrderStatus, StreamState};

fn at(ns: Option<i128>) -> Option<Timestamp> {
    ns.and_then(|n| Timestamp::from_nanosecond(n).ok())
}

fn newest(streams: &[&StreamState]) -> Option<Timestamp> {
    at(streams.iter().filter_map(|s| s.last_event_ns).max())
}

/// The order's channel, warehouse and value, as `order_attrs` keeps them.
#[derive(Debug, Default)]
pub(crate) struct Attrs {
    channel: Option<String>,
    warehouse: Option<String>,
    value: Option<f64>,
}

pub(crate) fn attrs(
    c: &Connection,
    tenant: &TenantId,
    order_id: &str,
) -> Result<Attrs, StoreError> {
    c.prepare_cached(
        "SELECT channel, warehouse, order_value FROM order_attrs WHERE tenant = ?1 AND order_id = ?2",
    )
    .ctx("prepare order attrs")?
    .query_row(params![tenant.as_str(), order_id], |r| {
        Ok(Attrs {
            channel: r.get(0)?,
            warehouse: r.get(1)?,
            value: r.get(2)?,
        })
    })
    .optional()
    .ctx("read order attrs")
    .map(Option::unwrap_or_default)
}

/// Keeps what the batch's events say of the order's channel, warehouse and value: per field,
/// the latest event time wins (ties: the greater value), so arrival order does not matter.
pub(crate) fn note_attrs(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    order_id: &str,
    evs: &[&StoredEvent],
) -> Result<(), StoreError> {
    for se in evs {
        let a = &se.event.attributes;
        let text = |k: &str| a.get(k).and_then(|v| v.as_str()).filter(|s| !s.is_empty());
        let channel = text("channel");
        let warehouse = text("warehouse_id").or_else(|| text("warehouse"));
        let value = a
            .get("order_value")
            .and_then(serde_json::Value::as_f64)
            .filter(|v| v.is_finite());
        if channel.is_none() && warehouse.is_none() && value.is_none() {
            continue;
        }
        let at = i64::try_from(se.event.occurred_at.instant.as_nanosecond()).unwrap_or(i64::MAX);
        let seen = |p: bool| p.then_some(at);
        tx.prepare_cached(
            "INSERT INTO order_attrs (tenant, order_id, channel, channel_ns, warehouse,
                                      warehouse_ns, order_value, value_ns)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (tenant, order_id) DO UPDATE SET
               channel = CASE WHEN excluded.channel_ns IS NOT NULL AND (channel_ns IS NULL
                   OR (excluded.channel_ns, excluded.channel) > (channel_ns, channel))
                 THEN excluded.channel ELSE channel END,
               channel_ns = CASE WHEN excluded.channel_ns IS NOT NULL AND (channel_ns IS NULL
                   OR (excluded.channel_ns, excluded.channel) > (channel_ns, channel))
                 THEN excluded.channel_ns ELSE channel_ns END,
               warehouse = CASE WHEN excluded.warehouse_ns IS NOT NULL AND (warehouse_ns IS NULL
                   OR (excluded.warehouse_ns, excluded.warehouse) > (warehouse_ns, warehouse))
                 THEN excluded.warehouse ELSE warehouse END,
               warehouse_ns = CASE WHEN excluded.warehouse_ns IS NOT NULL AND (warehouse_ns IS NULL
                   OR (excluded.warehouse_ns, excluded.warehouse) > (warehouse_ns, warehouse))
                 THEN excluded.warehouse_ns ELSE warehouse_ns END,
               order_value = CASE WHEN excluded.value_ns IS NOT NULL AND (value_ns IS NULL
                   OR (excluded.value_ns, excluded.order_value) > (value_ns, order_value))
                 THEN excluded.order_value ELSE order_value END,
               value_ns = CASE WHEN excluded.value_ns IS NOT NULL AND (value_ns IS NULL
                   OR (excluded.value_ns, excluded.order_value) > (value_ns, order_value))
                 THEN excluded.value_ns ELSE value_ns END",
        )
        .ctx("prepare order attrs")?
        .execute(params![
            tenant.as_str(),
            order_id,
            channel,
            seen(channel.is_some()),
            warehouse,
            seen(warehouse.is_some()),
            value,
            seen(value.is_some()),
        ])
        .ctx("keep order attrs")?;
    }
    Ok(())
}

pub(crate) fn of(order_id: &str, streams: &Streams, attrs: &Attrs) -> Vec<SubjectFacts> {
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
        order_value: attrs.value,
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
            order_value: attrs.value,
        });
    }
    out
}
