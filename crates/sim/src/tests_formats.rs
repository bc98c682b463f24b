//! Does the simulator speak the partners' formats? Every document it can serve is read back
//! with `waypost_adapters::normalize` and the built-in tables, and each event must come back
//! with the status, reason, tracking number, instant and country the world intended.

#![allow(clippy::unwrap_used)]

use crate::codes::{CODES, VendorCode};
use crate::faults::{Faults, Outage};
use crate::vendor;
use crate::world::{SimOrder, SimScan, World, WorldConfig, visible_scans};
use jiff::Timestamp;
use std::collections::HashSet;
use waypost_adapters::{Source, normalize};
use waypost_demo::Carrier;
use waypost_domain::{Reason, Status};

fn start() -> Timestamp {
    "2026-11-26T15:00:00Z".parse().unwrap()
}

fn world(seed: u64, orders: usize, faults: Faults) -> World {
    World::build(
        &WorldConfig {
            seed,
            orders,
            orders_per_minute: 600.0,
            speed: 600.0,
            tenants: vec!["acme".into(), "globex".into(), "initech".into()],
            lanes: waypost_demo::Lanes::realistic(),
            faults,
        },
        start(),
    )
}

fn source(c: Carrier) -> Source {
    c.slug().parse().unwrap()
}

/// Normalizes a carrier document and checks each event against the scans shown, in order.
fn check_carrier_doc(order: &SimOrder, ship_index: usize, scans: &[&SimScan]) {
    let ship = &order.shipments[ship_index];
    let src = source(ship.carrier);
    let table = src.builtin_table().unwrap();
    let doc = vendor::tracking_doc(order, ship, scans).to_string();
    let events = normalize(src, doc.as_bytes(), &table)
        .unwrap_or_else(|e| panic!("{} {}: {e}\n{doc}", order.plan.id, ship.carrier.slug()));
    assert!(events.unreadable.is_empty(), "{doc}");
    let events = events.events;
    assert_eq!(events.len(), scans.len(), "{doc}");
    for (n, scan) in events.iter().zip(scans) {
        let what = format!("{} {:?} {:?}", order.plan.id, ship.carrier, scan.code.scan);
        assert!(n.unmapped.is_empty(), "{what}: unmapped {:?}", n.unmapped);
        let e = &n.event;
        assert_eq!(e.status, scan.code.status, "{what}");
        assert_eq!(e.reason, scan.code.reason, "{what}");
        assert_eq!(
            e.tracking_number.as_ref().map(|t| t.as_str()),
            Some(ship.tracking_number.as_str()),
            "{what}"
        );
        // USPS documents name no order: Waypost links them by tracking number.
        let order_id = if ship.carrier == Carrier::Usps {
            ship.tracking_number.as_str()
        } else {
            order.plan.id.as_str()
        };
        assert_eq!(e.order_id.as_str(), order_id, "{what}");
        assert_eq!(e.occurred_at.instant, scan.at, "{what}");
        assert_eq!(
            e.occurred_at.offset.seconds(),
            scan.place.utc_offset_secs,
            "{what}"
        );
        let country = e.location.as_ref().and_then(|l| l.country.as_deref());
        assert_eq!(country, Some(scan.place.country), "{what}");
    }
}

#[test]
fn every_code_of_every_carrier_reads_back_as_intended() {
    let w = world(3, 300, Faults::none());
    let mut covered: HashSet<(Carrier, &str, &str, Status)> = HashSet::new();
    for carrier in Carrier::ALL {
        let (order, si) = w
            .orders
            .iter()
            .find_map(|o| {
                let si = o.shipments.iter().position(|s| s.carrier == carrier)?;
                (!o.shipments[si].scans.is_empty()).then_some((o, si))
            })
            .unwrap_or_else(|| panic!("no {carrier:?} shipment in the world"));
        let template = order.shipments[si].scans[0].clone();
        let codes: Vec<&'static VendorCode> =
            CODES.iter().filter(|c| c.carrier == carrier).collect();
        for (k, code) in codes.iter().enumerate() {
            let scan = SimScan {
                code,
                at: template.at + jiff::SignedDuration::from_mins(k as i64),
                ..template.clone()
            };
            check_carrier_doc(order, si, &[&scan]);
            covered.insert((carrier, code.code, code.aux, code.status));
        }
    }
    assert!(covered.len() >= 40, "{}", covered.len());
}

#[test]
fn every_history_the_world_serves_reads_back_as_intended() {
    let w = world(11, 400, Faults::chaos());
    let mut scenarios = HashSet::new();
    for order in &w.orders {
        scenarios.insert(order.plan.trouble.as_str());
        for (si, ship) in order.shipments.iter().enumerate() {
            // The whole history, copies included, and a partial one half way.
            let end = ship
                .scans
                .iter()
                .map(|s| s.visible_at)
                .max()
                .unwrap_or(w.start);
            let all = visible_scans(ship, end + jiff::SignedDuration::from_hours(1));
            check_carrier_doc(order, si, &all);
            if let Some(mid) = ship.scans.get(ship.scans.len() / 2) {
                check_carrier_doc(order, si, &visible_scans(ship, mid.visible_at));
            }
        }
    }
    assert_eq!(scenarios.len(), 9, "{scenarios:?}");
}

#[test]
fn every_wms_event_reads_back_as_intended() {
    let table = Source::Wms.builtin_table().unwrap();
    let w = world(5, 300, Faults::none());
    let mut types = HashSet::new();
    for order in &w.orders {
        for e in &order.wms {
            let body = vendor::wms::event(order, e).to_string();
            let got = normalize(Source::Wms, body.as_bytes(), &table)
                .unwrap()
                .events;
            assert_eq!(got.len(), 1);
            let n = &got[0];
            assert!(n.unmapped.is_empty(), "{body}");
            let (status, reason) = match e.event_type {
                "created" => (Status::Pending, None),
                "allocated" | "released" => (Status::Allocated, None),
                "picked" => (Status::Picked, None),
                "packed" => (Status::Packed, None),
                "backordered" => (Status::Backordered, Some(Reason::Stockout)),
                "labelled" => (Status::LabelCreated, None),
                "shipped" => (Status::Shipped, None),
                "return_received" => (Status::Returned, None),
                "cancelled" => (Status::Cancelled, n.event.reason),
                other => panic!("unexpected type {other}"),
            };
            assert_eq!(n.event.status, status, "{body}");
            assert_eq!(n.event.reason, reason, "{body}");
            assert_eq!(n.event.occurred_at.instant, e.at, "{body}");
            assert_eq!(n.event.event_id.as_str(), e.event_id);
            let tracking = e
                .shipment
                .map(|i| order.shipments[i].tracking_number.as_str());
            assert_eq!(
                n.event.tracking_number.as_ref().map(|t| t.as_str()),
                tracking
            );
            let country = n.event.location.as_ref().and_then(|l| l.country.as_deref());
            assert_eq!(country, Some(e.place.country));
            types.insert(e.event_type);
        }
    }
    assert_eq!(types.len(), 10, "{types:?}");
}

#[test]
fn same_seed_same_truth_and_faults_do_not_change_it() {
    let faults = Faults {
        outages: vec![Outage {
            start_sim_minutes: 30.0,
            duration_sim_minutes: 30.0,
        }],
        ..Faults::chaos()
    };
    let a = crate::truth::truths(&world(21, 120, faults.clone())).unwrap();
    let b = crate::truth::truths(&world(21, 120, faults)).unwrap();
    assert_eq!(a, b);
    let c = crate::truth::truths(&world(22, 120, Faults::none())).unwrap();
    assert_ne!(a, c);
    // Faults move visibility, never what happened.
    let d = crate::truth::truths(&world(21, 120, Faults::none())).unwrap();
    for (x, y) in a.iter().zip(&d) {
        assert_eq!(
            (&x.order_id, &x.status, &x.shipments),
            (&y.order_id, &y.status, &y.shipments)
        );
    }
    assert_eq!(a.iter().map(|t| t.malformed_planted).sum::<u32>(), 3);
    let tenants: HashSet<&str> = a.iter().map(|t| t.tenant.as_str()).collect();
    assert_eq!(tenants.len(), 3);
}

#[test]
fn final_statuses_follow_the_story() {
    let w = world(8, 400, Faults::none());
    let truths = crate::truth::truths(&w).unwrap();
    for (o, t) in w.orders.iter().zip(&truths) {
        let expect: &[&str] = match t.scenario.as_str() {
            "none" | "backordered" => &["delivered"],
            "stuck_pending" => &["pending"],
            "cancelled" => &["cancelled"],
            "returned" => &["returned", "returning"],
            "attempt_failed" | "delayed" => &["delivered"],
            "lost" => &["lost", "exception"],
            "exception" => &["exception", "delivered"],
            _ => &[],
        };
        let multi = o.shipments.len() > 1;
        assert!(
            expect.contains(&t.status.as_str()) || multi,
            "{} {} ended {}",
            t.order_id,
            t.scenario,
            t.status
        );
        for events in t.history.values() {
            assert!(events.iter().all(|e| e.visible_at >= start()));
        }
        // Every shipment of the truth was named by someone, and ended somewhere.
        for s in &t.shipments {
            assert!(t.history.contains_key(&s.tracking_number), "{}", t.order_id);
            assert_ne!(s.status, "unknown", "{}", t.order_id);
        }
        if t.scenario == "stuck_pending" || t.scenario == "cancelled" {
            assert!(t.shipments.is_empty(), "{}", t.order_id);
        }
    }
}

#[test]
fn late_events_show_up_late_and_copies_after_the_original() {
    let faults = Faults {
        late_rate: 1.0,
        duplicate_rate: 1.0,
        ..Faults::none()
    };
    let w = world(9, 60, faults);
    // 600 simulated minutes per wall minute: the 60-minute minimum lateness is 6 wall seconds.
    let min_late = jiff::SignedDuration::from_secs(6);
    // Events are stamped in simulated time; when they show is wall time.
    let clock = crate::SimClock {
        start: w.start,
        speed: w.speed,
    };
    let shown = |at| clock.wall_at(at);
    for o in &w.orders {
        for e in &o.wms {
            assert!(e.visible_at >= shown(e.at) + min_late, "{}", e.event_id);
            assert!(e.copy_at.is_some_and(|c| c >= e.visible_at));
        }
        for s in &o.shipments {
            for sc in &s.scans {
                assert!(sc.visible_at >= shown(sc.at) + min_late);
                assert!(sc.copy_at.is_some_and(|c| c >= sc.visible_at));
            }
        }
    }
    // The feed lists copies too, in the order events became visible.
    let listed: usize = w.feeds.iter().map(Vec::len).sum();
    let events: usize = w.orders.iter().map(|o| o.wms.len()).sum();
    assert_eq!(listed, 2 * events);
    for feed in &w.feeds {
        assert!(feed.windows(2).all(|p| p[0].visible_at <= p[1].visible_at));
    }
}
