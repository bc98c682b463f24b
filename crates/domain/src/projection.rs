//! The state machine. A shipment's current state is a fold of its events in which every field is
//! "the value from the greatest event by [`EventKey`]" or a min/max of instants: a join
//! semilattice. So applying a set of events gives the same state whatever the order of arrival and
//! however many copies arrive, which is the invariant of `shared/taxonomy.md`. The property tests
//! in `tests/projection_props.rs` check it on generated histories.

use crate::event::{Event, Location};
use crate::status::{OrderStatus, PartialStatus, Reason, Status, StatusClass};
use crate::time::EventTime;
use serde::{Deserialize, Serialize};

/// The total order in which events decide the state: when it happened, then the status
/// precedence, then the event's identity (only to make ties deterministic).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EventKey {
    pub at_ns: i128,
    pub precedence: u8,
    pub source: String,
    pub event_id: String,
}

impl EventKey {
    pub fn of(e: &Event) -> Self {
        EventKey {
            at_ns: e.occurred_at.as_nanos(),
            precedence: e.status.precedence(),
            source: e.source.as_str().to_string(),
            event_id: e.event_id.as_str().to_string(),
        }
    }
}

/// A value together with the key of the event that set it; a greater key replaces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Latest<T> {
    pub key: EventKey,
    pub value: T,
}

fn offer<T>(slot: &mut Option<Latest<T>>, key: &EventKey, value: Option<T>) -> bool {
    let Some(value) = value else { return false };
    match slot {
        Some(cur) if cur.key >= *key => false,
        _ => {
            *slot = Some(Latest {
                key: key.clone(),
                value,
            });
            true
        }
    }
}

/// What decides the status: the winning event's status, reason and time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Head {
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    pub occurred_at: EventTime,
}

/// The folded state of one stream of events.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StreamState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<Latest<Head>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Latest<Location>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<Latest<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<Latest<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Latest<Location>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<Latest<Location>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promised_at: Option<Latest<EventTime>>,
    /// Instant of the earliest terminal event (delivered, returned, cancelled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_terminal_ns: Option<i128>,
    /// Instant of the latest progress event short of delivery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_progress_ns: Option<i128>,
    /// Instant of the latest event of any kind, unknown codes included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_event_ns: Option<i128>,
    /// Instant of the earliest `shipped` or `in_transit` event: when the shipment left, for
    /// the delivery outcome's transit time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_shipped_ns: Option<i128>,
    /// Instant of the earliest `delivered` event (other terminal statuses are not deliveries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_delivered_ns: Option<i128>,
}

/// Lowers `slot` to `at` when it is earlier; whether it moved. A min: commutative, associative
/// and idempotent, so the fold stays a semilattice.
fn lower(slot: &mut Option<i128>, at: i128) -> bool {
    if slot.is_none_or(|t| at < t) {
        *slot = Some(at);
        true
    } else {
        false
    }
}

impl StreamState {
    /// Folds one event in. Returns whether anything changed. Idempotent and commutative.
    pub fn apply(&mut self, e: &Event) -> bool {
        let key = EventKey::of(e);
        let at = key.at_ns;
        let mut changed = false;
        if e.status != Status::Unknown {
            changed |= offer(
                &mut self.head,
                &key,
                Some(Head {
                    status: e.status,
                    reason: e.reason,
                    occurred_at: e.occurred_at,
                }),
            );
        }
        changed |= offer(&mut self.location, &key, e.location.clone());
        changed |= offer(&mut self.carrier, &key, e.carrier.clone());
        changed |= offer(&mut self.service, &key, e.service.clone());
        changed |= offer(&mut self.origin, &key, e.origin.clone());
        changed |= offer(&mut self.destination, &key, e.destination.clone());
        changed |= offer(&mut self.promised_at, &key, e.promised_at);
        if e.status.is_terminal() {
            changed |= lower(&mut self.first_terminal_ns, at);
        }
        if matches!(e.status, Status::Shipped | Status::InTransit) {
            changed |= lower(&mut self.first_shipped_ns, at);
        }
        if e.status == Status::Delivered {
            changed |= lower(&mut self.first_delivered_ns, at);
        }
        if matches!(e.status.class(), StatusClass::Progress(r) if r < 9)
            && self.last_progress_ns.is_none_or(|t| at > t)
        {
            self.last_progress_ns = Some(at);
            changed = true;
        }
        if self.last_event_ns.is_none_or(|t| at > t) {
            self.last_event_ns = Some(at);
            changed = true;
        }
        changed
    }

    /// A progress event happened after a terminal one: the carrier says it moved again after it
    /// was done. Applied as said, and flagged.
    pub fn regression(&self) -> bool {
        matches!((self.first_terminal_ns, self.last_progress_ns), (Some(t), Some(p)) if p > t)
    }
}

fn later<'a, T>(a: Option<&'a Latest<T>>, b: Option<&'a Latest<T>>) -> Option<&'a Latest<T>> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if x.key >= y.key { x } else { y }),
        (x, None) => x,
        (None, y) => y,
    }
}

/// A shipment as the API shows it: its own events merged with the order-wide ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShipmentView {
    pub tracking_number: String,
    pub status: Status,
    pub reason: Option<Reason>,
    pub status_at: Option<EventTime>,
    pub carrier: Option<String>,
    pub service: Option<String>,
    pub location: Option<Location>,
    pub location_at: Option<EventTime>,
    pub origin: Option<Location>,
    pub destination: Option<Location>,
    pub promised_at: Option<EventTime>,
    pub regression: bool,
}

impl ShipmentView {
    pub fn merge(tracking_number: &str, own: &StreamState, order: Option<&StreamState>) -> Self {
        let head = later(own.head.as_ref(), order.and_then(|o| o.head.as_ref()));
        let location = later(
            own.location.as_ref(),
            order.and_then(|o| o.location.as_ref()),
        );
        let value = |l: Option<&Latest<String>>| l.map(|l| l.value.clone());
        let loc = |l: Option<&Latest<Location>>| l.map(|l| l.value.clone());
        ShipmentView {
            tracking_number: tracking_number.to_string(),
            status: head.map_or(Status::Unknown, |h| h.value.status),
            reason: head.and_then(|h| h.value.reason),
            status_at: head.map(|h| h.value.occurred_at),
            carrier: value(own.carrier.as_ref()),
            service: value(own.service.as_ref()),
            location_at: location.and_then(|l| {
                jiff::Timestamp::from_nanosecond(l.key.at_ns)
                    .ok()
                    .map(EventTime::utc)
            }),
            location: loc(location),
            origin: loc(own.origin.as_ref()).or_else(|| loc(order.and_then(|o| o.origin.as_ref()))),
            destination: loc(own.destination.as_ref())
                .or_else(|| loc(order.and_then(|o| o.destination.as_ref()))),
            promised_at: own
                .promised_at
                .as_ref()
                .or(order.and_then(|o| o.promised_at.as_ref()))
                .map(|p| p.value),
            regression: own.regression() || order.is_some_and(StreamState::regression),
        }
    }
}

/// An order as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderView {
    pub order_id: String,
    pub status: OrderStatus,
    pub reason: Option<Reason>,
    /// When the status-deciding event happened.
    pub status_at: Option<EventTime>,
    pub shipments: Vec<ShipmentView>,
    pub regression: bool,
    /// The latest known location of any of its shipments (or of the order itself).
    pub location: Option<Location>,
    pub promised_at: Option<EventTime>,
}

/// Order-level severity of a condition when several shipments disagree: the one most in need of
/// a person wins.
fn severity(s: Status) -> u8 {
    match s {
        Status::Exception => 6,
        Status::Lost => 5,
        Status::AttemptFailed => 4,
        Status::Delayed => 3,
        Status::Backordered => 2,
        Status::OnHold => 1,
        _ => 0,
    }
}

/// Aggregates an order from its order-wide stream and its shipments' streams (sorted by
/// tracking number so the result does not depend on storage order). Streams keyed "" are the
/// order's own and are skipped here: pass that one as `order_stream`.
pub fn aggregate_order<'a>(
    order_id: &str,
    order_stream: Option<&StreamState>,
    shipments: impl IntoIterator<Item = (&'a str, &'a StreamState)>,
) -> OrderView {
    let mut views: Vec<ShipmentView> = shipments
        .into_iter()
        .filter(|(track, _)| !track.is_empty())
        .map(|(track, st)| ShipmentView::merge(track, st, order_stream))
        .collect();
    views.sort_by(|a, b| a.tracking_number.cmp(&b.tracking_number));

    let regression =
        order_stream.is_some_and(StreamState::regression) || views.iter().any(|v| v.regression);
    let (status, reason, status_at) = if views.is_empty() {
        let head = order_stream.and_then(|o| o.head.as_ref());
        (
            OrderStatus::Shipment(head.map_or(Status::Unknown, |h| h.value.status)),
            head.and_then(|h| h.value.reason),
            head.map(|h| h.value.occurred_at),
        )
    } else {
        let picked = pick_order_status(&views);
        (picked.0, picked.1.reason, picked.1.status_at)
    };
    let location = views
        .iter()
        .filter_map(|v| v.location.as_ref().zip(v.location_at))
        .max_by(|a, b| a.1.cmp(&b.1))
        .map(|(l, _)| l.clone())
        .or_else(|| {
            order_stream
                .and_then(|o| o.location.as_ref())
                .map(|l| l.value.clone())
        });
    let promised_at = views
        .iter()
        .filter_map(|v| v.promised_at)
        .max()
        .or_else(|| {
            order_stream
                .and_then(|o| o.promised_at.as_ref())
                .map(|p| p.value)
        });
    OrderView {
        order_id: order_id.to_string(),
        status,
        reason,
        status_at,
        shipments: views,
        regression,
        location,
        promised_at,
    }
}

/// `views` is non-empty. Returns the order status and the shipment it was taken from.
fn pick_order_status(views: &[ShipmentView]) -> (OrderStatus, &ShipmentView) {
    let known: Vec<&ShipmentView> = views
        .iter()
        .filter(|v| v.status != Status::Unknown)
        .collect();
    let Some(first) = known.first() else {
        return (OrderStatus::Shipment(Status::Unknown), &views[0]);
    };
    let live: Vec<&ShipmentView> = known
        .iter()
        .copied()
        .filter(|v| v.status != Status::Cancelled)
        .collect();
    if live.is_empty() {
        return (OrderStatus::Shipment(Status::Cancelled), first);
    }
    // An open condition on any shipment is the order's condition.
    if let Some(worst) = live
        .iter()
        .copied()
        .filter(|v| severity(v.status) > 0)
        .max_by_key(|v| {
            (
                severity(v.status),
                std::cmp::Reverse(v.tracking_number.clone()),
            )
        })
    {
        return (OrderStatus::Shipment(worst.status), worst);
    }
    // Returns: all back is returned, any on the way is returning.
    if live.iter().all(|v| v.status == Status::Returned) {
        return (OrderStatus::Shipment(Status::Returned), live[0]);
    }
    if let Some(r) = live
        .iter()
        .copied()
        .find(|v| matches!(v.status, Status::Returning | Status::Returned))
    {
        return (OrderStatus::Shipment(Status::Returning), r);
    }
    // Only progress statuses remain.
    let least = live
        .iter()
        .copied()
        .min_by_key(|v| (v.status.rank().unwrap_or(0), v.tracking_number.clone()))
        .unwrap_or(live[0]);
    let delivered = live
        .iter()
        .filter(|v| v.status == Status::Delivered)
        .count();
    if delivered == live.len() {
        return (OrderStatus::Shipment(Status::Delivered), least);
    }
    if delivered > 0 {
        let last = live
            .iter()
            .copied()
            .filter(|v| v.status == Status::Delivered)
            .max_by_key(|v| v.status_at)
            .unwrap_or(least);
        return (
            OrderStatus::Partial(PartialStatus::PartiallyDelivered),
            last,
        );
    }
    let shipped_rank = Status::Shipped.rank().unwrap_or(5);
    let shipped = live
        .iter()
        .filter(|v| v.status.rank().is_some_and(|r| r >= shipped_rank))
        .count();
    if shipped > 0 && shipped < live.len() {
        return (OrderStatus::Partial(PartialStatus::PartiallyShipped), least);
    }
    (OrderStatus::Shipment(least.status), least)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::*;

    fn ev(id: &str, track: Option<&str>, status: Status, at: &str) -> Event {
        Event {
            source: SourceName::new("src").unwrap(),
            event_id: EventId::new(id).unwrap(),
            order_id: OrderId::new("O1").unwrap(),
            status,
            occurred_at: EventTime::parse(at).unwrap(),
            tracking_number: track.map(|t| TrackingNumber::new(t).unwrap()),
            carrier: None,
            service: None,
            reason: None,
            location: None,
            origin: None,
            destination: None,
            raw_code: None,
            raw_description: None,
            promised_at: None,
            attributes: Default::default(),
        }
    }

    fn order_of(events: &[Event]) -> OrderView {
        let mut streams: std::collections::BTreeMap<String, StreamState> = Default::default();
        for e in events {
            streams.entry(e.stream().to_string()).or_default().apply(e);
        }
        let order = streams.get("").cloned();
        let ships: Vec<(String, StreamState)> =
            streams.into_iter().filter(|(k, _)| !k.is_empty()).collect();
        aggregate_order(
            "O1",
            order.as_ref(),
            ships.iter().map(|(k, v)| (k.as_str(), v)),
        )
    }

    #[test]
    fn late_old_event_does_not_move_state_back() {
        let a = ev("1", Some("T"), Status::InTransit, "2024-01-02T00:00:00Z");
        let b = ev("2", Some("T"), Status::Shipped, "2024-01-01T00:00:00Z");
        assert_eq!(
            order_of(&[a.clone(), b.clone()]).status.as_str(),
            "in_transit"
        );
        assert_eq!(order_of(&[b, a]).status.as_str(), "in_transit");
    }

    #[test]
    fn condition_clears_with_later_progress() {
        let d = ev("1", Some("T"), Status::Delayed, "2024-01-02T00:00:00Z");
        let o = ev(
            "2",
            Some("T"),
            Status::OutForDelivery,
            "2024-01-03T00:00:00Z",
        );
        assert_eq!(
            order_of(std::slice::from_ref(&d)).status.as_str(),
            "delayed"
        );
        assert_eq!(order_of(&[o, d]).status.as_str(), "out_for_delivery");
    }

    #[test]
    fn ties_break_by_precedence() {
        let a = ev("1", Some("T"), Status::Delivered, "2024-01-02T00:00:00Z");
        let b = ev(
            "2",
            Some("T"),
            Status::OutForDelivery,
            "2024-01-02T00:00:00Z",
        );
        assert_eq!(
            order_of(&[a.clone(), b.clone()]).status.as_str(),
            "delivered"
        );
        assert_eq!(order_of(&[b, a]).status.as_str(), "delivered");
    }

    #[test]
    fn regression_is_applied_and_flagged() {
        let a = ev("1", Some("T"), Status::Delivered, "2024-01-02T00:00:00Z");
        let b = ev("2", Some("T"), Status::InTransit, "2024-01-03T00:00:00Z");
        let v = order_of(&[a, b]);
        assert_eq!(v.status.as_str(), "in_transit");
        assert!(v.regression);
    }

    #[test]
    fn warehouse_events_then_shipments_aggregate() {
        let evs = [
            ev("1", None, Status::Pending, "2024-01-01T00:00:00Z"),
            ev("2", None, Status::Packed, "2024-01-01T02:00:00Z"),
        ];
        assert_eq!(order_of(&evs).status.as_str(), "packed");
        let mut more = evs.to_vec();
        more.push(ev(
            "3",
            Some("A"),
            Status::InTransit,
            "2024-01-02T00:00:00Z",
        ));
        more.push(ev(
            "4",
            Some("B"),
            Status::LabelCreated,
            "2024-01-02T00:00:00Z",
        ));
        assert_eq!(order_of(&more).status.as_str(), "partially_shipped");
        more.push(ev(
            "5",
            Some("B"),
            Status::Delivered,
            "2024-01-04T00:00:00Z",
        ));
        assert_eq!(order_of(&more).status.as_str(), "partially_delivered");
        more.push(ev(
            "6",
            Some("A"),
            Status::Delivered,
            "2024-01-05T00:00:00Z",
        ));
        assert_eq!(order_of(&more).status.as_str(), "delivered");
        more.push(ev(
            "7",
            Some("A"),
            Status::Exception,
            "2024-01-06T00:00:00Z",
        ));
        assert_eq!(order_of(&more).status.as_str(), "exception");
    }

    #[test]
    fn unknown_codes_never_decide_the_state() {
        let a = ev("1", Some("T"), Status::InTransit, "2024-01-02T00:00:00Z");
        let b = ev("2", Some("T"), Status::Unknown, "2024-01-03T00:00:00Z");
        assert_eq!(order_of(&[a, b.clone()]).status.as_str(), "in_transit");
        assert_eq!(order_of(&[b]).status.as_str(), "unknown");
    }

    #[test]
    fn order_wide_cancel_cancels_every_shipment() {
        let evs = [
            ev("1", Some("A"), Status::LabelCreated, "2024-01-01T00:00:00Z"),
            ev("2", Some("B"), Status::LabelCreated, "2024-01-01T00:00:00Z"),
            ev("3", None, Status::Cancelled, "2024-01-01T05:00:00Z"),
        ];
        let v = order_of(&evs);
        assert_eq!(v.status.as_str(), "cancelled");
        assert!(v.shipments.iter().all(|s| s.status == Status::Cancelled));
    }
}
