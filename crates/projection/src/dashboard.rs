//! What the dashboard and the tracking page read, decided from the folded state: each active
//! order's map position and each delivered shipment's outcome for the carrier scorecards.

use crate::Streams;
use jiff::Timestamp;
use waypost_domain::{Location, OrderView, ShipmentView};

/// An active order's map row.
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    /// The order's status (`OrderStatus::as_str`).
    pub status: &'static str,
    /// Where it is, then where it goes and where it came from, as (lat, lon).
    pub at: Option<(f64, f64)>,
    pub destination: Option<(f64, f64)>,
    pub origin: Option<(f64, f64)>,
    /// The first of its shipments' carriers.
    pub carrier: Option<String>,
    pub updated_at: Timestamp,
}

/// What to do with an order's map row.
#[derive(Debug, Clone, PartialEq)]
pub enum PositionWrite {
    Upsert(Position),
    /// The order is closed ([`waypost_domain::Status::is_closed`]): it leaves the map.
    Delete,
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

/// The order's map row after a change to `view` (the view of `streams`) at `updated_at`.
pub fn position(view: &OrderView, streams: &Streams, updated_at: Timestamp) -> PositionWrite {
    if view.status.is_closed() {
        return PositionWrite::Delete;
    }
    let own = streams.get("");
    PositionWrite::Upsert(Position {
        status: view.status.as_str(),
        at: view.location.as_ref().and_then(point),
        destination: first_point(
            view,
            own.and_then(|o| o.destination.as_ref()).map(|l| &l.value),
            |s| s.destination.as_ref(),
        ),
        origin: first_point(
            view,
            own.and_then(|o| o.origin.as_ref()).map(|l| &l.value),
            |s| s.origin.as_ref(),
        ),
        carrier: view.shipments.iter().find_map(|s| s.carrier.clone()),
        updated_at,
    })
}

/// A delivered shipment's outcome, one row per (order, track).
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryOutcome {
    pub track: String,
    pub carrier: Option<String>,
    /// Lane ends ([`lane_end`]).
    pub origin: Option<String>,
    pub destination: Option<String>,
    /// The earliest `shipped` or `in_transit` event of the shipment or of the order itself.
    pub shipped_ns: Option<i128>,
    /// The shipment's earliest `delivered` event.
    pub delivered_ns: i128,
    pub promised_at: Option<Timestamp>,
}

/// A lane end: `CC`, or `CC-REGION` when the region is known (both upper-cased).
pub fn lane_end(l: Option<&Location>) -> Option<String> {
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

/// The outcome of every delivered shipment among the `touched` streams (all of them when the
/// order's own stream, which every shipment's view merges, is touched). Each is a function of
/// the folded state alone, so however events arrive, and however often, a delivered shipment
/// has one outcome with the same values.
pub fn outcomes(streams: &Streams, touched: &[&str]) -> Vec<DeliveryOutcome> {
    let all = touched.contains(&"");
    let own = streams.get("");
    let mut out = Vec::new();
    for (track, st) in streams {
        if track.is_empty() || !(all || touched.contains(&track.as_str())) {
            continue;
        }
        let Some(delivered_ns) = st.first_delivered_ns else {
            continue;
        };
        let shipped_ns = match (st.first_shipped_ns, own.and_then(|o| o.first_shipped_ns)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let v = ShipmentView::merge(track, st, own);
        out.push(DeliveryOutcome {
            track: track.clone(),
            origin: lane_end(v.origin.as_ref()),
            destination: lane_end(v.destination.as_ref()),
            carrier: v.carrier,
            shipped_ns,
            delivered_ns,
            promised_at: v.promised_at.map(|p| p.instant),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::tests::{fold, stored};
    use crate::view_of;

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

    #[test]
    fn outcomes_take_the_earliest_shipment_of_either_stream_and_the_own_delivery() {
        let none = serde_json::Value::Null;
        let evs = [
            stored(1, "w", None, "shipped", 3, none.clone()),
            stored(2, "a", Some("T"), "in_transit", 5, none.clone()),
            stored(3, "b", Some("T"), "delivered", 9, none.clone()),
            stored(4, "c", Some("T"), "delivered", 8, none.clone()),
            stored(5, "d", Some("U"), "in_transit", 2, none.clone()),
            stored(6, "e", None, "delivered", 1, none),
        ];
        let streams = fold(&evs);
        let got = outcomes(&streams, &["T"]);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].track, "T");
        let min = |m: i64| i128::from(m) * 60_000_000_000 + crate::tests::BASE_NS;
        assert_eq!(got[0].shipped_ns, Some(min(3)));
        // The order's own delivered event is not the shipment's delivery.
        assert_eq!(got[0].delivered_ns, min(8));
        // U was never delivered; touching the order's stream looks at every shipment.
        assert_eq!(outcomes(&streams, &[""]).len(), 1);
        assert!(outcomes(&streams, &["U"]).is_empty());
    }

    #[test]
    fn a_closed_order_leaves_the_map() {
        let mut ev = stored(1, "a", Some("T"), "in_transit", 1, serde_json::Value::Null);
        ev.event.location = Some(Location {
            lat: Some(1.0),
            lon: Some(2.0),
            ..Location::default()
        });
        ev.event.carrier = Some("ups".into());
        let streams = fold(std::slice::from_ref(&ev));
        let at = Timestamp::from_second(7).unwrap();
        let PositionWrite::Upsert(p) = position(&view_of("O", &streams), &streams, at) else {
            panic!("an order in transit is on the map")
        };
        assert_eq!(
            (p.status, p.at, p.carrier.as_deref()),
            ("in_transit", Some((1.0, 2.0)), Some("ups"))
        );
        let lost = stored(2, "b", Some("T"), "lost", 2, serde_json::Value::Null);
        let streams = fold(&[ev, lost]);
        assert_eq!(
            position(&view_of("O", &streams), &streams, at),
            PositionWrite::Delete
        );
    }
}
