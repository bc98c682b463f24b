//! An order as the world keeps it while its events are being sent: where it ships from and to,
//! its shipments, its planned steps, and when each of those steps is sent, which is not always
//! when it happened.

use crate::carriers::Scan;
use crate::carriers::{Carrier, Service};
use crate::cities::{CityId, Geo};
use crate::plan::{Lanes, Trouble};
use rand::Rng;
use rand::rngs::StdRng;
use waypost_domain::{Reason, Status};

pub(crate) struct Warehouse {
    pub name: &'static str,
    pub city: &'static str,
}

pub(crate) const WAREHOUSES: [Warehouse; 3] = [
    Warehouse {
        name: "wms-east",
        city: "Columbus",
    },
    Warehouse {
        name: "wms-west",
        city: "Reno",
    },
    Warehouse {
        name: "wms-eu",
        city: "Venlo",
    },
];

/// Everything an order is planned against: the map, where the warehouses are, and how fast
/// simulated time runs.
pub(crate) struct Setting {
    pub geo: Geo,
    pub warehouses: [CityId; 3],
    /// Wall-clock milliseconds per simulated minute (60 000 / speed).
    pub ms_per_sim_minute: f64,
    pub lanes: Lanes,
}

impl Setting {
    pub fn new(speed: f64) -> Setting {
        let geo = Geo::load();
        // A missing warehouse city is a broken data file, which a test catches; falling back to
        // the first city keeps the library panic-free.
        let warehouses = WAREHOUSES.map(|w| geo.find(w.city).unwrap_or(0));
        Setting {
            geo,
            warehouses,
            ms_per_sim_minute: 60_000.0 / speed,
            lanes: Lanes::DEMO,
        }
    }
}

/// A raw code and its text.
pub(crate) type Raw = (&'static str, &'static str);

/// Who reports a step: the warehouse, or the carrier of one of the order's shipments (its index
/// in the order's shipments).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Actor {
    Warehouse,
    Shipment(usize),
}

#[derive(Debug, Clone)]
pub(crate) struct Step {
    /// When it happens, in wall-clock milliseconds since the world started.
    pub at_ms: i64,
    pub actor: Actor,
    pub status: Status,
    pub reason: Option<Reason>,
    pub raw: Raw,
    pub city: CityId,
    /// What the carrier scanned; `None` for warehouse steps.
    pub scan: Option<Scan>,
}

#[derive(Debug)]
pub(crate) struct Shipment {
    pub carrier: Carrier,
    pub service: &'static Service,
    pub tracking: String,
    pub weight_kg: f64,
}

#[derive(Debug)]
pub(crate) struct Order {
    pub seq: u64,
    /// What the plan was built around: the world never needs it again; tests and the partner
    /// simulator's truth do.
    pub trouble: Trouble,
    pub channel: &'static str,
    pub warehouse: usize,
    pub origin: CityId,
    pub destination: CityId,
    pub promised_ms: i64,
    pub items: u32,
    pub shipments: Vec<Shipment>,
    pub steps: Vec<Step>,
    /// Whether the story ends in delivered, returned, cancelled or lost (not stuck or open).
    pub ends_final: bool,
}

impl Order {
    pub fn id(&self) -> String {
        format!("SO-{}", self.seq)
    }
}

/// Share of events sent late, after a later event of the same order.
const LATE: f64 = 0.03;
/// Share of events sent twice.
const DUPLICATE: f64 = 0.02;

/// When each step is sent, which is not always when it happened: a few are sent late, after a
/// later event of the same order, and a few twice. Returns `(send_ms, step index)` pairs.
pub(crate) fn sends(steps: &[Step], rng: &mut StdRng) -> Vec<(i64, usize)> {
    let mut out = Vec::with_capacity(steps.len() + 1);
    for (i, s) in steps.iter().enumerate() {
        let next = steps.iter().map(|o| o.at_ms).filter(|&t| t > s.at_ms).min();
        let mut at = s.at_ms;
        if let Some(next) = next
            && rng.random_bool(LATE)
        {
            at = next + rng.random_range(1_000..=30_000);
        }
        out.push((at, i));
        if rng.random_bool(DUPLICATE) {
            out.push((at + rng.random_range(0..=5_000), i));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn step(at_ms: i64) -> Step {
        Step {
            at_ms,
            actor: Actor::Warehouse,
            status: Status::Pending,
            reason: None,
            raw: ("X", "x"),
            city: 0,
            scan: None,
        }
    }

    #[test]
    fn every_warehouse_is_on_the_map() {
        let geo = Geo::load();
        for w in WAREHOUSES {
            assert!(
                geo.find(w.city).is_some(),
                "{} is not in data/cities.csv",
                w.city
            );
        }
    }

    #[test]
    fn late_sends_follow_a_later_step_and_copies_are_rare() {
        let steps: Vec<Step> = (0..20).map(|i| step(i * 10_000)).collect();
        let mut rng = StdRng::seed_from_u64(1);
        let (mut late, mut copies, mut total) = (0, 0, 0);
        for _ in 0..500 {
            let sends = sends(&steps, &mut rng);
            total += steps.len();
            copies += sends.len() - steps.len();
            for (at, i) in sends {
                assert!(at >= steps[i].at_ms, "sent before it happened");
                if at > steps[i].at_ms + 5_000 {
                    late += 1;
                    // Late means after the next step of the order, by 1 to 35 seconds.
                    let next = steps[i].at_ms + 10_000;
                    assert!(
                        (next + 1_000..=next + 35_000).contains(&at),
                        "{at} vs {next}"
                    );
                }
            }
        }
        let (late, copies) = (late as f64 / total as f64, copies as f64 / total as f64);
        assert!((0.02..0.04).contains(&late), "{late:.3} late");
        assert!((0.012..0.03).contains(&copies), "{copies:.3} copied");
    }
}
