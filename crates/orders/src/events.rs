//! What an order's intake tells the event log: the canonical events that start (or update,
//! cancel, backorder, allocate) its status history, so the rules, notifications, map and
//! scorecards see the order from its first minute.
//!
//! Every event is a function of the order's content (ids from its content hash), so emitting
//! a version twice (a retry after a crash, a duplicate delivery) stores it once.

use crate::model::{ChannelState, Order};
use jiff::{SignedDuration, Timestamp};
use waypost_domain::{Event, EventId, EventTime, Location, OrderId, Reason, SourceName, Status};

/// The source name of the events order intake writes.
pub const SOURCE: &str = "order-intake";

/// Why events could not be made for an order (an id the event log refuses).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("order {order_id:?} cannot enter the event log: {problem}")]
pub struct EmitError {
    pub order_id: String,
    pub problem: String,
}

/// The instant an order's `pending` event carries. The first version is placed at the order's
/// creation; an edit restates it a little later, by the edit's age in nanoseconds (a day's
/// edit moves it 86 µs), so the attributes of the latest edit win (the projection keeps the
/// latest by event time) while any warehouse scan, which follows creation by far more, stays
/// later than every restatement and the status history keeps its real progress. It depends
/// on content only (creation and channel update times), never on arrival.
pub fn pending_at(order: &Order, received_at: Timestamp) -> Timestamp {
    let created = order.placed.created_at.unwrap_or(received_at);
    let age = order
        .placed
        .updated_at
        .and_then(|u| u.duration_since(created).as_secs().try_into().ok())
        .unwrap_or(0u64)
        .min(10_000_000);
    created
        .checked_add(SignedDuration::from_nanos(age as i64))
        .unwrap_or(created)
}

/// The order's attributes as the projection reads them.
fn attributes(order: &Order) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::Value;
    let mut a = serde_json::Map::new();
    let p = &order.placed;
    a.insert("channel".into(), Value::from(order.channel.as_str()));
    a.insert("account".into(), Value::from(order.account.clone()));
    a.insert("priority".into(), Value::from(order.priority.as_str()));
    if let Some(v) = order
        .value()
        .and_then(|d| d.to_string().parse::<f64>().ok())
    {
        a.insert("order_value".into(), Value::from(v));
    }
    if let Some(c) = &p.currency {
        a.insert("currency".into(), Value::from(c.clone()));
    }
    if let Some(id) = &p.customer.id {
        a.insert("customer_id".into(), Value::from(id.clone()));
    }
    if let Some(e) = &p.customer.email {
        a.insert("customer_email".into(), Value::from(e.clone()));
    }
    if let Some(ph) = &p.customer.phone {
        a.insert("customer_phone".into(), Value::from(ph.clone()));
    }
    if let Some(t) = &order.customer_tier {
        a.insert("customer_tier".into(), Value::from(t.clone()));
    }
    if let Some(s) = &p.service_level {
        a.insert("service_level".into(), Value::from(s.clone()));
    }
    if !p.tags.is_empty() {
        a.insert(
            "tags".into(),
            Value::from(p.tags.iter().cloned().map(Value::from).collect::<Vec<_>>()),
        );
    }
    a.insert("external_id".into(), Value::from(p.external_id.clone()));
    a
}

fn destination(order: &Order) -> Option<Location> {
    let a = order.placed.ship_to.as_ref()?;
    Some(Location {
        city: a.city.clone(),
        region: a.region.clone(),
        postal_code: a.postal_code.clone(),
        country: a.country.clone(),
        lat: a.lat,
        lon: a.lon,
    })
}

/// How an order version enters the operational flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// Accepted: `pending` with its promise and attributes.
    Accepted,
    /// Accepted, but stock is short: `pending`, then `backordered` (reason `stockout`).
    Backordered,
    /// Held for review at intake (at its receipt): `on_hold` with the reason of the check that
    /// held it.
    Held { at: Timestamp, reason: Reason },
    /// Released by a person, or stock arrived for a backordered order, at this instant:
    /// `pending` again, which ends the hold or the backorder.
    Released(Timestamp),
    /// Rejected by a person after a hold, at this instant: `cancelled` (the order leaves the
    /// flow it entered as held).
    Rejected(Timestamp),
    /// Cancelled in the channel: `cancelled` at the channel's update time.
    Cancelled,
}

/// The events for one entry of `order` (whose content hash is `hash`), received at
/// `received_at`.
pub fn events(
    order: &Order,
    hash: &str,
    entry: Entry,
    received_at: Timestamp,
) -> Result<Vec<Event>, EmitError> {
    let err = |problem: String| EmitError {
        order_id: order.order_id.clone(),
        problem,
    };
    let source = SourceName::new(SOURCE).map_err(|e| err(e.to_string()))?;
    let order_id = OrderId::new(order.order_id.clone()).map_err(|e| err(e.to_string()))?;
    let short = &hash[..hash.len().min(16)];
    let make = |kind: &str, status: Status, at: Timestamp| -> Result<Event, EmitError> {
        Ok(Event {
            source: source.clone(),
            event_id: EventId::new(format!("{}:{kind}:{short}", order.order_id))
                .map_err(|e| err(e.to_string()))?,
            order_id: order_id.clone(),
            status,
            occurred_at: EventTime::utc(at),
            tracking_number: None,
            carrier: None,
            service: order.placed.service_level.clone(),
            reason: None,
            location: None,
            origin: None,
            destination: destination(order),
            raw_code: Some(format!("intake:{kind}")),
            raw_description: None,
            promised_at: order.promised_at.map(EventTime::utc),
            attributes: attributes(order),
        })
    };
    let pending = pending_at(order, received_at);
    Ok(match entry {
        Entry::Accepted => vec![make("pending", Status::Pending, pending)?],
        Entry::Backordered => {
            let mut b = make(
                "backordered",
                Status::Backordered,
                pending
                    .checked_add(SignedDuration::from_nanos(1))
                    .unwrap_or(pending),
            )?;
            b.reason = Some(Reason::Stockout);
            vec![make("pending", Status::Pending, pending)?, b]
        }
        Entry::Held { at, reason } => {
            let mut e = make("on_hold", Status::OnHold, at.max(pending))?;
            e.reason = Some(reason);
            vec![e]
        }
        Entry::Released(at) => {
            let at = at.max(pending);
            let mut e = make("released", Status::Pending, at)?;
            e.event_id = EventId::new(format!(
                "{}:released:{short}:{}",
                order.order_id,
                at.as_nanosecond()
            ))
            .map_err(|e| err(e.to_string()))?;
            vec![e]
        }
        Entry::Rejected(at) => {
            let mut e = make("rejected", Status::Cancelled, at.max(pending))?;
            e.raw_description = Some("rejected at order intake".into());
            vec![e]
        }
        Entry::Cancelled => {
            let at = order.placed.updated_at.unwrap_or(received_at).max(pending);
            let mut e = make("cancelled", Status::Cancelled, at)?;
            if let ChannelState::Cancelled { reason: Some(r) } = &order.placed.state {
                e.raw_description = Some(r.clone());
            }
            vec![e]
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Channel, ChannelOrder, Derived, Priority};

    fn order(updated: Option<&str>) -> Order {
        Order {
            channel: Channel::Shopify,
            account: "acme".into(),
            order_id: "#1001".into(),
            placed: ChannelOrder {
                external_id: "1".into(),
                created_at: "2024-03-01T10:00:00Z".parse().ok(),
                updated_at: updated.and_then(|u| u.parse().ok()),
                ..ChannelOrder::default()
            },
            promised_at: "2024-03-05T10:00:00Z".parse().ok(),
            promise_from: Derived::Payload,
            priority: Priority::Standard,
            priority_because: vec![],
            customer_tier: None,
        }
    }

    #[test]
    fn an_edit_restates_pending_just_after_creation_and_later_edits_win() {
        let now: Timestamp = "2024-03-09T00:00:00Z".parse().unwrap_or_default();
        let first = pending_at(&order(None), now);
        let edit = pending_at(&order(Some("2024-03-01T12:00:00Z")), now);
        let later = pending_at(&order(Some("2024-03-02T12:00:00Z")), now);
        assert!(first < edit && edit < later);
        let one_ms: Timestamp = "2024-03-01T10:00:00.001Z".parse().unwrap_or_default();
        assert!(later < one_ms, "a restatement stays before any real scan");
    }

    #[test]
    fn events_are_a_function_of_content() {
        let now: Timestamp = "2024-03-09T00:00:00Z".parse().unwrap_or_default();
        let a =
            events(&order(None), "abcdef0123456789ff", Entry::Backordered, now).unwrap_or_default();
        let b =
            events(&order(None), "abcdef0123456789ff", Entry::Backordered, now).unwrap_or_default();
        assert_eq!(a.len(), 2);
        assert_eq!(a, b);
        assert_eq!(a[1].reason, Some(Reason::Stockout));
        assert_eq!(a[0].status, Status::Pending);
        assert!(a[0].promised_at.is_some());
        let c = events(&order(None), "ffff", Entry::Accepted, now).unwrap_or_default();
        assert_ne!(a[0].event_id, c[0].event_id);
    }
}
