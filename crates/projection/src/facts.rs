//! What the exception rules see of an order: its own view and each shipment's, from the folded
//! streams, with the times the rules count from.

use crate::planner::OrderAttrs;
use crate::rows::SubjectFacts;
use crate::{Streams, view_of};
use jiff::Timestamp;
use waypost_domain::{OrderStatus, StreamState};

fn newest(streams: &[&StreamState]) -> Option<Timestamp> {
    streams
        .iter()
        .filter_map(|s| s.last_event_ns)
        .max()
        .and_then(|n| Timestamp::from_nanosecond(n).ok())
}

/// The order (track "") and each of its shipments as the rules see them.
pub fn subject_facts(order_id: &str, streams: &Streams, attrs: &OrderAttrs) -> Vec<SubjectFacts> {
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
