//! Tracking links, map positions, summaries and shipment outcomes, run by `suite!` through
//! `dashboard::cases!`.

use super::*;
use crate::alerts::tenant;

#[doc(hidden)]
#[macro_export]
macro_rules! dashboard_cases {
    ($backend:ident) => {
        #[test]
        fn tracking_links_are_made_once_stable_and_unique() {
            $crate::dashboard::tracking_links_are_made_once_stable_and_unique(super::$backend);
        }
        #[test]
        fn outcomes_do_not_depend_on_arrival_or_repetition() {
            $crate::dashboard::outcomes_do_not_depend_on_arrival_or_repetition(super::$backend);
        }
        #[test]
        fn a_regression_and_redelivery_keep_the_first_delivery() {
            $crate::dashboard::a_regression_and_redelivery_keep_the_first_delivery(super::$backend);
        }
        #[test]
        fn map_summary_and_warehouses_follow_active_orders_per_tenant() {
            $crate::dashboard::map_summary_and_warehouses_follow_active_orders_per_tenant(
                super::$backend,
            );
        }
    };
}

pub fn place(cc: &str, region: &str, lat: f64, lon: f64) -> Location {
    Location {
        city: Some("Somewhere".into()),
        region: Some(region.into()),
        country: Some(cc.into()),
        lat: Some(lat),
        lon: Some(lon),
        ..Location::default()
    }
}

/// A shipment's history: label, shipped at minute 2, in transit at 3, delivered at 10,
/// promised for minute 9, from US-CA to US-NY.
pub fn history(order: &str, track: &str) -> Vec<Event> {
    let mut evs = vec![
        ev(
            &format!("{order}-1"),
            order,
            Some(track),
            Status::LabelCreated,
            1,
        ),
        ev(
            &format!("{order}-2"),
            order,
            Some(track),
            Status::Shipped,
            2,
        ),
        ev(
            &format!("{order}-3"),
            order,
            Some(track),
            Status::InTransit,
            3,
        ),
        ev(
            &format!("{order}-4"),
            order,
            Some(track),
            Status::Delivered,
            10,
        ),
    ];
    evs[0].origin = Some(place("us", "ca", 34.0, -118.2));
    evs[0].destination = Some(place("US", "NY", 40.7, -74.0));
    evs[0].promised_at = Some(EventTime::parse("2025-12-31T10:09:00-05:00").unwrap());
    evs
}

pub fn minute(m: i64) -> Timestamp {
    EventTime::parse(&format!("2025-12-31T10:{m:02}:00-05:00"))
        .unwrap()
        .instant
}

pub fn outcomes(b: &Store, t: &str) -> Vec<OutcomeRow> {
    b.reader
        .scorecards(&tenant(t), Timestamp::UNIX_EPOCH)
        .unwrap()
}

pub fn tracking_links_are_made_once_stable_and_unique(new: fn() -> Store) {
    let mut b = new();
    append_apply(
        &mut b,
        &[
            sub("t", vec![ev("1", "O1", None, Status::Pending, 1)]),
            sub("t", vec![ev("2", "O2", None, Status::Pending, 1)]),
            sub("u", vec![ev("1", "O1", None, Status::Pending, 1)]),
        ],
    );
    let token = |b: &Store, t: &str, o: &str| b.reader.tracking_token(&tenant(t), o).unwrap();
    let t1 = token(&b, "t", "O1").unwrap();
    let t2 = token(&b, "t", "O2").unwrap();
    let u1 = token(&b, "u", "O1").unwrap();
    for tk in [&t1, &t2, &u1] {
        assert_eq!(tk.len(), 32, "{tk}");
        assert!(
            tk.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')),
            "{tk}"
        );
    }
    assert!(t1 != t2 && t1 != u1 && t2 != u1);
    assert_eq!(token(&b, "t", "nope"), None);
    // Later events, in separate batches, keep the link.
    append_apply(
        &mut b,
        &[sub(
            "t",
            vec![ev("3", "O1", Some("T1"), Status::Shipped, 2)],
        )],
    );
    append_apply(
        &mut b,
        &[sub(
            "t",
            vec![ev("4", "O1", Some("T1"), Status::Delivered, 9)],
        )],
    );
    assert_eq!(token(&b, "t", "O1").as_ref(), Some(&t1));
    let b = b.reopen();
    assert_eq!(token(&b, "t", "O1").as_ref(), Some(&t1));
    assert_eq!(
        b.reader.tracking_link(&t1).unwrap(),
        Some((tenant("t"), "O1".to_string()))
    );
    assert_eq!(
        b.reader.tracking_link(&u1).unwrap(),
        Some((tenant("u"), "O1".to_string()))
    );
    assert_eq!(b.reader.tracking_link(&"0".repeat(32)).unwrap(), None);
    assert_eq!(b.reader.tracking_link("").unwrap(), None);
}

pub fn outcomes_do_not_depend_on_arrival_or_repetition(new: fn() -> Store) {
    let evs = history("O1", "T1");
    let mut in_order = new();
    append_apply(&mut in_order, &[sub("t", evs.clone())]);
    let want = outcomes(&in_order, "t");
    assert_eq!(want.len(), 1);
    let o = &want[0];
    assert_eq!(
        (o.order_id.as_str(), o.tracking_number.as_str()),
        ("O1", "T1")
    );
    assert_eq!(o.carrier.as_deref(), Some("ups"));
    assert_eq!(o.origin.as_deref(), Some("US-CA"));
    assert_eq!(o.destination.as_deref(), Some("US-NY"));
    assert_eq!(o.shipped_at, Some(minute(2)));
    assert_eq!(o.delivered_at, minute(10));
    assert_eq!(o.promised_at, Some(minute(9)));

    // Delivered first, then the older events one by one (the shipped one changes no state but
    // still moves the transit start), each sent twice.
    let mut reversed = new();
    for e in evs.iter().rev() {
        append_apply(&mut reversed, &[sub("t", vec![e.clone()])]);
        append_apply(&mut reversed, &[sub("t", vec![e.clone()])]);
    }
    assert_eq!(outcomes(&reversed, "t"), want);
    // A later unrelated event of the order and a reopen change nothing.
    append_apply(
        &mut reversed,
        &[sub("t", vec![ev("x", "O1", None, Status::Delivered, 11)])],
    );
    let reversed = reversed.reopen();
    assert_eq!(outcomes(&reversed, "t"), want);
    assert!(outcomes(&reversed, "u").is_empty());
    // Filtered by delivery time.
    let late = reversed
        .reader
        .scorecards(&tenant("t"), minute(11))
        .unwrap();
    assert!(late.is_empty());
}

pub fn a_regression_and_redelivery_keep_the_first_delivery(new: fn() -> Store) {
    let mut b = new();
    append_apply(&mut b, &[sub("t", history("O1", "T1"))]);
    let first = outcomes(&b, "t");
    append_apply(
        &mut b,
        &[sub(
            "t",
            vec![
                ev("r1", "O1", Some("T1"), Status::InTransit, 20),
                ev("r2", "O1", Some("T1"), Status::Delivered, 30),
            ],
        )],
    );
    let after = outcomes(&b, "t");
    assert_eq!(after, first);
    assert_eq!(after[0].delivered_at, minute(10));
}

pub fn map_summary_and_warehouses_follow_active_orders_per_tenant(new: fn() -> Store) {
    let mut b = new();
    let at = |id: &str, order: &str, status: Status, m: i64, wh: &str, ch: &str| {
        let mut e = ev(id, order, Some(&format!("T{order}")), status, m);
        e.location = Some(place("US", "IL", 41.8, -87.6));
        e.origin = Some(place("US", "NJ", 40.0, -74.5));
        e.destination = Some(place("US", "TX", 29.7, -95.3));
        e.attributes.insert("warehouse".into(), wh.into());
        e.attributes.insert("channel".into(), ch.into());
        e
    };
    append_apply(
        &mut b,
        &[
            sub("t", vec![at("1", "A", Status::InTransit, 1, "EWR", "web")]),
            sub(
                "t",
                vec![at("2", "B", Status::InTransit, 1, "EWR", "store")],
            ),
            sub("t", vec![at("3", "C", Status::Delivered, 1, "LAX", "web")]),
            sub("u", vec![at("4", "D", Status::InTransit, 1, "EWR", "web")]),
        ],
    );
    let t = tenant("t");
    let points = b.reader.map_points(&t, None, 10).unwrap();
    let ids: Vec<&str> = points.iter().map(|p| p.order_id.as_str()).collect();
    assert_eq!(ids, ["A", "B"]);
    assert_eq!((points[0].lat, points[0].lon), (41.8, -87.6));
    assert_eq!(points[0].dest_lat, Some(29.7));
    assert_eq!(points[0].warehouse.as_deref(), Some("EWR"));
    assert_eq!(points[0].carrier.as_deref(), Some("ups"));
    let page2 = b.reader.map_points(&t, Some("A"), 10).unwrap();
    assert_eq!(page2.len(), 1);
    assert_eq!(page2[0].order_id, "B");
    let wh = b.reader.warehouses(&t).unwrap();
    assert_eq!(wh.len(), 1);
    assert_eq!((wh[0].name.as_str(), wh[0].active_orders), ("EWR", 2));
    assert_eq!((wh[0].lat, wh[0].lon), (Some(40.0), Some(-74.5)));

    let all = b
        .reader
        .dashboard_summary(&t, &DashboardFilter::default())
        .unwrap();
    assert_eq!((all.total, all.active), (3, 2));
    assert_eq!(all.by_status[0], (Some("in_transit".into()), 2));
    assert_eq!(all.by_carrier, vec![(Some("ups".into()), 3)]);
    assert_eq!(all.by_channel[0], (Some("web".into()), 2));
    let web = b
        .reader
        .dashboard_summary(
            &t,
            &DashboardFilter {
                channel: Some("web".into()),
                carrier: Some("UPS".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!((web.total, web.active), (2, 1));
    let none = b
        .reader
        .dashboard_summary(
            &t,
            &DashboardFilter {
                carrier: Some("%".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(none.total, 0);

    // Delivering an order takes it off the map.
    append_apply(
        &mut b,
        &[sub(
            "t",
            vec![at("5", "A", Status::Delivered, 5, "EWR", "web")],
        )],
    );
    let ids: Vec<String> = b
        .reader
        .map_points(&t, None, 10)
        .unwrap()
        .into_iter()
        .map(|p| p.order_id)
        .collect();
    assert_eq!(ids, ["B"]);
}
