//! A public, read-only view of the world's plans, for tools that need the whole story of an order
//! rather than its events one by one: the partner simulator (`waypost-sim`) renders each planned
//! step in a vendor's own format and keeps the truth. [`Plans`] yields exactly the orders a
//! [`World`](crate::World) of the same configuration and start creates, at the same instants,
//! with the same steps and send times: both draw from the same [`Arrivals`](crate::Arrivals)
//! and the same per-order random stream.

use crate::carriers::{Carrier, Scan};
use crate::cities::City;
use crate::order::{self, Actor, Order, Setting, WAREHOUSES};
use crate::plan::{self, Lanes, Trouble};
use crate::{Arrivals, DemoConfig, derive_seed, effective_speed};
use jiff::Timestamp;
use rand::SeedableRng;
use rand::rngs::StdRng;
use waypost_domain::{Reason, Status};

/// A city of the map, with what an address needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub city: &'static str,
    /// State, province or county.
    pub region: &'static str,
    pub postal_code: &'static str,
    /// ISO 3166-1 alpha-2.
    pub country: &'static str,
    pub lat: f64,
    pub lon: f64,
    /// The city's fixed offset from UTC, in seconds (the world models no daylight saving).
    pub utc_offset_secs: i32,
}

impl Place {
    fn of(c: &City) -> Place {
        Place {
            city: c.name,
            region: c.region,
            postal_code: c.postal_code,
            country: c.country,
            lat: c.lat,
            lon: c.lon,
            utc_offset_secs: c.utc_offset,
        }
    }
}

/// One parcel of an order.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedShipment {
    pub carrier: Carrier,
    /// The service's marketing name (`UPS Ground`, `FedEx 2Day`).
    pub service: &'static str,
    /// Nominal speed of the service: time on the road is scaled by it (express below 1).
    pub pace: f64,
    pub tracking_number: String,
    pub weight_kg: f64,
}

/// One thing that happens to an order, as planned.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedStep {
    /// When it happens (wall clock: the world's time is compressed by its speed).
    pub at: Timestamp,
    pub actor: Actor,
    pub status: Status,
    pub reason: Option<Reason>,
    /// The code and text `waypost demo` sends for it (canonical events carry them as raw).
    pub raw_code: &'static str,
    pub raw_description: &'static str,
    pub place: Place,
    /// What the carrier scanned, for carrier steps; `None` for warehouse steps.
    pub scan: Option<Scan>,
}

/// An order's whole planned story.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedOrder {
    /// The order number; its id is `SO-<seq>`.
    pub seq: u64,
    pub id: String,
    /// The sales channel (`web`, `amazon`, `edi`).
    pub channel: &'static str,
    /// The warehouse that ships it (`wms-east`, `wms-west`, `wms-eu`).
    pub warehouse: &'static str,
    pub origin: Place,
    pub destination: Place,
    pub created_at: Timestamp,
    pub promised_at: Timestamp,
    pub items: u32,
    pub shipments: Vec<PlannedShipment>,
    /// In the order they were planned: each actor's steps are strictly increasing in time.
    pub steps: Vec<PlannedStep>,
    /// When each step is sent by `waypost demo`: `(instant, index into steps)`. A few steps are
    /// sent late (after a later step of the order) and a few twice.
    pub sends: Vec<(Timestamp, usize)>,
    pub trouble: Trouble,
    /// Whether the story ends delivered, returned, cancelled or lost (not stuck or open).
    pub ends_final: bool,
}

/// Every order a [`World`](crate::World) with this configuration and start would create, in
/// creation order. Endless unless [`DemoConfig::max_orders`] is set.
pub struct Plans {
    seed: u64,
    setting: Setting,
    start_ms: i64,
    arrivals: Arrivals,
}

impl Plans {
    pub fn new(cfg: &DemoConfig, start: Timestamp) -> Plans {
        Plans {
            seed: cfg.seed,
            setting: Setting::new(effective_speed(cfg.speed)),
            start_ms: start.as_millisecond(),
            arrivals: Arrivals::new(cfg),
        }
    }

    /// Plans with other lanes than the demo's (see [`Lanes::realistic`]).
    pub fn with_lanes(mut self, lanes: Lanes) -> Plans {
        self.setting.lanes = lanes;
        self
    }

    fn at(&self, ms: i64) -> Timestamp {
        // Out of range only thousands of years away, which the world never reaches.
        Timestamp::from_millisecond(self.start_ms.saturating_add(ms))
            .unwrap_or(Timestamp::UNIX_EPOCH)
    }

    fn view(&self, order: &Order, created_ms: i64, sends: &[(i64, usize)]) -> PlannedOrder {
        let geo = &self.setting.geo;
        PlannedOrder {
            seq: order.seq,
            id: order.id(),
            channel: order.channel,
            warehouse: WAREHOUSES[order.warehouse].name,
            origin: Place::of(geo.city(order.origin)),
            destination: Place::of(geo.city(order.destination)),
            created_at: self.at(created_ms),
            promised_at: self.at(order.promised_ms),
            items: order.items,
            shipments: order
                .shipments
                .iter()
                .map(|s| PlannedShipment {
                    carrier: s.carrier,
                    service: s.service.name,
                    pace: s.service.pace,
                    tracking_number: s.tracking.clone(),
                    weight_kg: s.weight_kg,
                })
                .collect(),
            steps: order
                .steps
                .iter()
                .map(|s| PlannedStep {
                    at: self.at(s.at_ms),
                    actor: s.actor,
                    status: s.status,
                    reason: s.reason,
                    raw_code: s.raw.0,
                    raw_description: s.raw.1,
                    place: Place::of(geo.city(s.city)),
                    scan: s.scan,
                })
                .collect(),
            sends: sends.iter().map(|&(ms, i)| (self.at(ms), i)).collect(),
            trouble: order.trouble,
            ends_final: order.ends_final,
        }
    }
}

impl Iterator for Plans {
    type Item = PlannedOrder;

    fn next(&mut self) -> Option<PlannedOrder> {
        let (seq, at_ms) = self.arrivals.take()?;
        // The same stream, drawn in the same order, as `World::create_order`.
        let mut rng = StdRng::seed_from_u64(derive_seed(self.seed, seq));
        let order = plan::plan(seq, at_ms, &self.setting, &mut rng);
        let sends = order::sends(&order.steps, &mut rng);
        Some(self.view(&order, at_ms, &sends))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::World;

    #[test]
    fn plans_match_what_the_world_sends() {
        let cfg = DemoConfig {
            seed: 9,
            orders_per_minute: 600.0,
            max_orders: Some(40),
            speed: 600.0,
        };
        let start: Timestamp = "2026-11-26T15:00:00Z".parse().unwrap();
        let plans: Vec<PlannedOrder> = Plans::new(&cfg, start).collect();
        assert_eq!(plans.len(), 40);
        let mut world = World::new(cfg, start);
        let mut sent = std::collections::HashMap::<String, usize>::new();
        let mut now = start;
        while !world.is_done() {
            now += jiff::SignedDuration::from_millis(250);
            for e in world.poll(now) {
                let id = e["order_id"].as_str().unwrap().to_owned();
                *sent.entry(id).or_default() += 1;
            }
        }
        for p in &plans {
            assert_eq!(sent.get(&p.id), Some(&p.sends.len()), "{}", p.id);
            assert!(p.steps.iter().all(|s| s.at >= p.created_at));
            for s in &p.steps {
                assert_eq!(s.scan.is_some(), matches!(s.actor, Actor::Shipment(_)));
            }
        }
        assert_eq!(plans[0].created_at, start);
    }

    #[test]
    fn realistic_lanes_take_days_and_keep_the_story() {
        let cfg = DemoConfig {
            seed: 3,
            orders_per_minute: 600.0,
            max_orders: Some(300),
            speed: 60.0,
        };
        let start: Timestamp = "2026-11-26T15:00:00Z".parse().unwrap();
        let hours = |lanes: Lanes| {
            let plans: Vec<PlannedOrder> = Plans::new(&cfg, start).with_lanes(lanes).collect();
            let smooth: Vec<f64> = plans
                .iter()
                .filter(|p| p.trouble == Trouble::None)
                .map(|p| {
                    let end = p.steps.iter().map(|s| s.at).max().unwrap();
                    // At speed 60 a wall second is a simulated minute.
                    end.duration_since(p.created_at).as_secs_f64() / 60.0
                })
                .collect();
            let troubles: Vec<Trouble> = plans.iter().map(|p| p.trouble).collect();
            (smooth.iter().sum::<f64>() / smooth.len() as f64, troubles)
        };
        let (demo, demo_troubles) = hours(Lanes::DEMO);
        let (real, real_troubles) = hours(Lanes::realistic());
        assert!(demo < 12.0, "{demo:.1} h");
        assert!((30.0..72.0).contains(&real), "{real:.1} h");
        // Lanes change how long the road is, never what happens.
        assert_eq!(demo_troubles, real_troubles);
    }
}
