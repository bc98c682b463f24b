//! What happens to one order, decided the moment it is created: its warehouse steps, each
//! shipment's scans and the trouble it runs into, timed in simulated minutes and compressed to
//! wall-clock milliseconds. Everything is drawn from the order's own random stream, so an order's
//! story depends only on the seed and its number, never on how often the world is polled.

use crate::carriers::{Carrier, Scan, Service};
use crate::cities::{CityId, Geo};
use crate::order::{Actor, Order, Raw, Setting, Shipment, Step};
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use waypost_domain::{Reason, Status};

// Indices into `WAREHOUSES`.
const EAST: usize = 0;
const WEST: usize = 1;
const EU: usize = 2;

/// A range of simulated minutes, drawn uniformly.
type Span = (f64, f64);

const ALLOCATE: Span = (1.0, 10.0);
const PICK: Span = (5.0, 25.0);
const PACK: Span = (3.0, 12.0);
const LABEL: Span = (1.0, 5.0);
const PICKUP: Span = (15.0, 60.0);
const DWELL: Span = (10.0, 30.0);
/// Traffic, weather and loading make each leg a factor of its nominal time.
const LEG_JITTER: Span = (0.8, 1.3);
const TO_VEHICLE: Span = (20.0, 90.0);
const DELIVER: Span = (20.0, 150.0);
const SECOND_PARCEL_LAG: Span = (20.0, 150.0);
const CANCEL: Span = (5.0, 60.0);
const BACKORDER_NOTICE: Span = (3.0, 15.0);
const RESTOCK: Span = (120.0, 480.0);
const NOTICE: Span = (10.0, 40.0);
const DELAY: Span = (120.0, 360.0);
const RESOLVE: Span = (120.0, 360.0);
const DECLARED_LOST: Span = (480.0, 960.0);
const ATTEMPT: Span = (60.0, 240.0);
const NEXT_DAY: Span = (720.0, 960.0);
const RETURN_TRIP: Span = (240.0, 600.0);
/// Margin the shop adds to its own estimate when it promises a date: most smooth orders make it,
/// troubled ones often do not.
const PROMISE_SLACK: f64 = 90.0;

/// How long parcels spend between pickup and the delivery station, per carrier. The demo's
/// default compresses the road hard so an order's life plays out in minutes at speed 60;
/// [`Lanes::realistic`] gives days-long lanes and carriers that slip at different rates, for
/// the partner simulator at a simulated day per minute. Scales of exactly 1 and slip chances of
/// 0 draw nothing extra, so the default world is the same as before lanes existed.
#[derive(Debug, Clone, PartialEq)]
pub struct Lanes {
    /// Multiplies the simulated minutes of every road leg.
    pub leg_scale: f64,
    /// Multiplies the time a parcel sits at a hub between scans.
    pub dwell_scale: f64,
    /// What the shop adds to its estimate of a smooth run when it promises a date.
    pub promise_slack_minutes: f64,
    /// Per carrier (in [`Carrier::ALL`] order), the chance that a leg misses its linehaul.
    pub slip_chance: [f64; 4],
    /// How long a slipped leg waits for the next one, simulated minutes.
    pub slip_minutes: (f64, f64),
}

impl Lanes {
    /// The demo's compressed road.
    pub const DEMO: Lanes = Lanes {
        leg_scale: 1.0,
        dwell_scale: 1.0,
        promise_slack_minutes: PROMISE_SLACK,
        slip_chance: [0.0; 4],
        slip_minutes: (0.0, 0.0),
    };

    /// Measured over 3000 orders: smooth ground parcels arrive in about two days (five at
    /// worst), express in a day or a day and a half, hub sorts take a few hours, and carriers
    /// slip at different rates, UPS least and USPS most (87% to 95% on time when nothing else
    /// goes wrong).
    pub fn realistic() -> Lanes {
        Lanes {
            leg_scale: 60.0,
            dwell_scale: 8.0,
            promise_slack_minutes: 720.0,
            slip_chance: [0.05, 0.06, 0.12, 0.08],
            slip_minutes: (480.0, 1440.0),
        }
    }

    fn slip(&self, carrier: Carrier) -> f64 {
        let i = Carrier::ALL.iter().position(|c| *c == carrier).unwrap_or(0);
        self.slip_chance.get(i).copied().unwrap_or(0.0)
    }
}

fn mid((lo, hi): Span) -> f64 {
    (lo + hi) / 2.0
}

/// Simulated minutes on the road between two sort points: trucks and planes are compressed
/// hard, or a coast-to-coast order would take hours of wall time to watch.
fn leg_minutes(km: f64) -> f64 {
    15.0 + km / 60.0
}

const WMS_RECEIVED: Raw = ("ORD_RCV", "Order received");
const WMS_ALLOCATED: Raw = ("ORD_ALLOC", "Order allocated to wave");
const WMS_RELEASED: Raw = ("BO_RELEASE", "Backorder released, stock allocated");
const WMS_BACKORDERED: Raw = ("ORD_BKO", "Insufficient stock, order backordered");
const WMS_PICKED: Raw = ("PICK_CMP", "Pick complete");
const WMS_PACKED: Raw = ("PACK_CMP", "Pack complete, awaiting carrier");
const WMS_CANCELLED: Raw = ("ORD_CXL", "Order cancelled");

const CHANNELS: &[(&str, u32)] = &[("web", 60), ("amazon", 25), ("edi", 15)];
const CANCEL_REASONS: &[(Reason, u32)] = &[
    (Reason::CustomerRequest, 70),
    (Reason::Payment, 15),
    (Reason::FraudReview, 15),
];
const DELAY_REASONS: &[(Reason, u32)] = &[
    (Reason::Weather, 40),
    (Reason::Volume, 35),
    (Reason::MissedConnection, 25),
];
const MULTI_SHIPMENT: f64 = 0.10;
const EUROPE: f64 = 0.25;
/// The one thing, if any, that goes wrong with an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trouble {
    None,
    StuckPending,
    Backordered,
    Delayed,
    AttemptFailed,
    Exception,
    Lost,
    Returned,
    Cancelled,
}

impl Trouble {
    /// The share of orders each trouble hits; the remaining 83% go smoothly.
    const MIX: [(Trouble, f64); 8] = [
        (Trouble::StuckPending, 0.03),
        (Trouble::Backordered, 0.02),
        (Trouble::Delayed, 0.05),
        (Trouble::AttemptFailed, 0.03),
        (Trouble::Exception, 0.01),
        (Trouble::Lost, 0.01),
        (Trouble::Returned, 0.01),
        (Trouble::Cancelled, 0.01),
    ];

    /// A stable snake_case name (`stuck_pending`, `attempt_failed`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Trouble::None => "none",
            Trouble::StuckPending => "stuck_pending",
            Trouble::Backordered => "backordered",
            Trouble::Delayed => "delayed",
            Trouble::AttemptFailed => "attempt_failed",
            Trouble::Exception => "exception",
            Trouble::Lost => "lost",
            Trouble::Returned => "returned",
            Trouble::Cancelled => "cancelled",
        }
    }

    fn roll(rng: &mut StdRng) -> Trouble {
        let mut u: f64 = rng.random();
        for (t, p) in Self::MIX {
            if u < p {
                return t;
            }
            u -= p;
        }
        Trouble::None
    }
}

fn pick<T: Copy>(rng: &mut StdRng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.random_range(0..total.max(1));
    for &(item, w) in items {
        if x < w {
            return item;
        }
        x -= w;
    }
    items[items.len() - 1].0
}

fn pick_service(rng: &mut StdRng, carrier: Carrier, europe: bool) -> &'static Service {
    let services = carrier.services(europe);
    let total: u32 = services.iter().map(|s| s.weight).sum();
    let mut x = rng.random_range(0..total.max(1));
    for s in services {
        if x < s.weight {
            return s;
        }
        x -= s.weight;
    }
    &services[services.len() - 1]
}

/// The scans between pickup and the delivery station: leaving the origin, in and out of each
/// hub, and arriving at the station.
fn stops(geo: &Geo, carrier: Carrier, origin: CityId, dest: CityId) -> Vec<(CityId, Scan)> {
    let mut stops = vec![(origin, Scan::Departed)];
    for h in geo.route(carrier, origin, dest) {
        stops.push((h, Scan::Arrived));
        stops.push((h, Scan::Departed));
    }
    stops.push((dest, Scan::AtDestination));
    stops
}

/// The simulated minutes a smooth run takes on average: what the shop bases its promise on.
fn expected_minutes(
    setting: &Setting,
    carrier: Carrier,
    pace: f64,
    origin: CityId,
    dest: CityId,
) -> f64 {
    let (geo, lanes) = (&setting.geo, &setting.lanes);
    let mut total = mid(ALLOCATE) + mid(PICK) + mid(PACK) + mid(LABEL) + mid(PICKUP);
    let mut prev = origin;
    for (city, _) in stops(geo, carrier, origin, dest) {
        total += if city == prev {
            mid(DWELL) * lanes.dwell_scale
        } else {
            leg_minutes(geo.distance_km(prev, city)) * pace * mid(LEG_JITTER) * lanes.leg_scale
        };
        prev = city;
    }
    total + mid(TO_VEHICLE) + mid(DELIVER)
}

/// Plans order number `seq`, created `created_ms` after the world started.
pub(crate) fn plan(seq: u64, created_ms: i64, setting: &Setting, rng: &mut StdRng) -> Order {
    let geo = &setting.geo;
    let trouble = Trouble::roll(rng);
    let europe = rng.random_bool(EUROPE);
    let pool = if europe { &geo.europe } else { &geo.us };
    let destination = pool.choose(rng).copied().unwrap_or(0);
    let warehouse = match (europe, geo.city(destination).lon > -100.0) {
        (true, _) => EU,
        (false, true) => EAST,
        (false, false) => WEST,
    };
    let origin = setting.warehouses[warehouse];
    let channel = pick(rng, CHANNELS);
    let can_split = !matches!(trouble, Trouble::StuckPending | Trouble::Cancelled);
    let parcels = if can_split && rng.random_bool(MULTI_SHIPMENT) {
        2
    } else {
        1
    };
    let items = rng.random_range(parcels..=parcels + 3);
    let mut shipments: Vec<Shipment> = Vec::with_capacity(parcels as usize);
    for i in 0..u64::from(parcels) {
        let carrier = match shipments.first() {
            Some(first) if rng.random_bool(0.6) => first.carrier,
            _ => pick(rng, Carrier::mix(europe)),
        };
        let service = pick_service(rng, carrier, europe);
        shipments.push(Shipment {
            carrier,
            service,
            tracking: carrier.tracking_number(seq * 4 + i, service, europe),
            weight_kg: (rng.random_range(0.3..12.0_f64) * 10.0).round() / 10.0,
        });
    }
    let promise = match shipments.first() {
        Some(s) => expected_minutes(setting, s.carrier, s.service.pace, origin, destination),
        None => 0.0,
    } + setting.lanes.promise_slack_minutes;
    let mut planner = Planner {
        rng,
        setting,
        created_ms,
        t: 0.0,
        last_ms: created_ms - 1,
        steps: Vec::with_capacity(24),
    };
    let ends_final = planner.run(trouble, origin, destination, &shipments);
    Order {
        seq,
        trouble,
        channel,
        warehouse,
        origin,
        destination,
        promised_ms: created_ms + (promise * setting.ms_per_sim_minute).round() as i64,
        items,
        shipments,
        steps: planner.steps,
        ends_final,
    }
}

struct Planner<'a> {
    rng: &'a mut StdRng,
    setting: &'a Setting,
    created_ms: i64,
    /// Simulated minutes since the order was created.
    t: f64,
    /// Keeps the steps of one actor strictly increasing even at speeds where two simulated
    /// minutes round to the same millisecond: ties would make the history ambiguous.
    last_ms: i64,
    steps: Vec<Step>,
}

impl Planner<'_> {
    fn wait(&mut self, (lo, hi): Span) {
        self.t += self.rng.random_range(lo..hi);
    }

    fn travel(&mut self, from: CityId, to: CityId, pace: f64, carrier: Carrier) {
        let lanes = &self.setting.lanes;
        let slip = lanes.slip(carrier);
        if slip > 0.0 && self.rng.random_bool(slip.min(1.0)) {
            let (lo, hi) = lanes.slip_minutes;
            self.t += self.rng.random_range(lo..hi.max(lo + 1.0));
        }
        let base = leg_minutes(self.setting.geo.distance_km(from, to)) * lanes.leg_scale;
        self.t += base * pace * self.rng.random_range(LEG_JITTER.0..LEG_JITTER.1);
    }

    fn step(
        &mut self,
        actor: Actor,
        status: Status,
        reason: Option<Reason>,
        raw: Raw,
        city: CityId,
        scan: Option<Scan>,
    ) {
        let at = self.created_ms + (self.t * self.setting.ms_per_sim_minute).round() as i64;
        let at_ms = at.max(self.last_ms + 1);
        self.last_ms = at_ms;
        self.steps.push(Step {
            at_ms,
            actor,
            status,
            reason,
            raw,
            city,
            scan,
        });
    }

    fn wms(&mut self, status: Status, reason: Option<Reason>, raw: Raw, city: CityId) {
        self.step(Actor::Warehouse, status, reason, raw, city, None);
    }

    /// Returns whether the order reaches a final state.
    fn run(
        &mut self,
        trouble: Trouble,
        origin: CityId,
        dest: CityId,
        shipments: &[Shipment],
    ) -> bool {
        self.wms(Status::Pending, None, WMS_RECEIVED, origin);
        match trouble {
            Trouble::StuckPending => return false,
            Trouble::Cancelled => {
                let stage = self.rng.random_range(0..3);
                if stage >= 1 {
                    self.wait(ALLOCATE);
                    self.wms(Status::Allocated, None, WMS_ALLOCATED, origin);
                }
                if stage >= 2 {
                    self.wait(PICK);
                    self.wms(Status::Picked, None, WMS_PICKED, origin);
                }
                self.wait(CANCEL);
                let reason = pick(self.rng, CANCEL_REASONS);
                self.wms(Status::Cancelled, Some(reason), WMS_CANCELLED, origin);
                return true;
            }
            Trouble::Backordered => {
                self.wait(BACKORDER_NOTICE);
                self.wms(
                    Status::Backordered,
                    Some(Reason::Stockout),
                    WMS_BACKORDERED,
                    origin,
                );
                self.wait(RESTOCK);
                self.wms(Status::Allocated, None, WMS_RELEASED, origin);
            }
            _ => {
                self.wait(ALLOCATE);
                self.wms(Status::Allocated, None, WMS_ALLOCATED, origin);
            }
        }
        self.wait(PICK);
        self.wms(Status::Picked, None, WMS_PICKED, origin);
        self.wait(PACK);
        self.wms(Status::Packed, None, WMS_PACKED, origin);
        let (packed_t, packed_ms) = (self.t, self.last_ms);
        let mut all_final = true;
        for (i, s) in shipments.iter().enumerate() {
            self.t = packed_t;
            self.last_ms = packed_ms;
            if i > 0 {
                self.wait(SECOND_PARCEL_LAG);
            }
            let trouble = if i == 0 { trouble } else { Trouble::None };
            all_final &= self.ship(i, s, trouble, origin, dest);
        }
        all_final
    }

    /// One parcel from label to its end. Returns whether it reaches a final state.
    fn ship(
        &mut self,
        i: usize,
        s: &Shipment,
        trouble: Trouble,
        origin: CityId,
        dest: CityId,
    ) -> bool {
        let carrier = s.carrier;
        let scan =
            |me: &mut Self, scan: Scan, status: Status, reason: Option<Reason>, city: CityId| {
                me.step(
                    Actor::Shipment(i),
                    status,
                    reason,
                    carrier.raw(scan),
                    city,
                    Some(scan),
                );
            };
        self.wait(LABEL);
        scan(self, Scan::Label, Status::LabelCreated, None, origin);
        self.wait(PICKUP);
        scan(self, Scan::Pickup, Status::Shipped, None, origin);

        let stops = stops(&self.setting.geo, carrier, origin, dest);
        let damaged = trouble == Trouble::Exception && self.rng.random_bool(0.5);
        // Trouble on the road strikes before the parcel reaches its delivery station.
        let trouble_at = self
            .rng
            .random_range(0..stops.len().saturating_sub(1).max(1));
        let mut prev = origin;
        for (k, &(city, kind)) in stops.iter().enumerate() {
            if city == prev {
                // Times one is exact, so the default lanes draw and add what they always did.
                let dwell = self.setting.lanes.dwell_scale;
                self.t += self.rng.random_range(DWELL.0..DWELL.1) * dwell;
            } else {
                self.travel(prev, city, s.service.pace, carrier);
            }
            prev = city;
            scan(self, kind, Status::InTransit, None, city);
            if k != trouble_at {
                continue;
            }
            match trouble {
                Trouble::Delayed => {
                    let reason = pick(self.rng, DELAY_REASONS);
                    self.wait(NOTICE);
                    scan(
                        self,
                        Scan::Delayed(reason),
                        Status::Delayed,
                        Some(reason),
                        city,
                    );
                    self.wait(DELAY);
                }
                Trouble::Lost => {
                    // The carrier goes silent and only declares the loss after a long search.
                    self.wait(DECLARED_LOST);
                    scan(self, Scan::Lost, Status::Lost, None, city);
                    return true;
                }
                Trouble::Exception if damaged => {
                    self.wait(NOTICE);
                    let reason = Some(Reason::Damaged);
                    scan(
                        self,
                        Scan::Exception(Reason::Damaged),
                        Status::Exception,
                        reason,
                        city,
                    );
                    // Half the exceptions wait for someone to act, which is what a demo should show.
                    if self.rng.random_bool(0.5) {
                        return false;
                    }
                    self.wait(RESOLVE);
                }
                _ => {}
            }
        }
        if trouble == Trouble::Exception && !damaged {
            self.wait(NOTICE);
            let reason = Reason::AddressIssue;
            scan(
                self,
                Scan::Exception(reason),
                Status::Exception,
                Some(reason),
                dest,
            );
            if self.rng.random_bool(0.5) {
                return false;
            }
            self.wait(RESOLVE);
        }
        self.wait(TO_VEHICLE);
        scan(
            self,
            Scan::OutForDelivery,
            Status::OutForDelivery,
            None,
            dest,
        );
        match trouble {
            Trouble::AttemptFailed => {
                self.wait(ATTEMPT);
                let reason = Some(Reason::RecipientUnavailable);
                scan(
                    self,
                    Scan::AttemptFailed,
                    Status::AttemptFailed,
                    reason,
                    dest,
                );
                self.wait(NEXT_DAY);
                scan(
                    self,
                    Scan::OutForDelivery,
                    Status::OutForDelivery,
                    None,
                    dest,
                );
                self.wait(DELIVER);
                scan(self, Scan::Delivered, Status::Delivered, None, dest);
            }
            Trouble::Returned => {
                self.wait(ATTEMPT);
                scan(
                    self,
                    Scan::Returning,
                    Status::Returning,
                    Some(Reason::Refused),
                    dest,
                );
                self.wait(RETURN_TRIP);
                scan(self, Scan::Returned, Status::Returned, None, origin);
            }
            _ => {
                self.wait(DELIVER);
                scan(self, Scan::Delivered, Status::Delivered, None, dest);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn every_trouble_shapes_the_story_it_should() {
        let setting = Setting::new(60.0);
        let mut seen = std::collections::HashSet::new();
        for seq in 0..4000 {
            let mut rng = StdRng::seed_from_u64(seq);
            let o = plan(100_001 + seq, 0, &setting, &mut rng);
            seen.insert(format!("{:?}", o.trouble));
            // Trouble strikes the first parcel; a second one goes smoothly.
            let first: Vec<&Step> = o
                .steps
                .iter()
                .filter(|s| s.actor != Actor::Shipment(1))
                .collect();
            let statuses: Vec<Status> = first.iter().map(|s| s.status).collect();
            let has = |st: Status| statuses.contains(&st);
            match o.trouble {
                Trouble::StuckPending => assert_eq!(statuses, [Status::Pending]),
                Trouble::Cancelled => assert_eq!(statuses.last(), Some(&Status::Cancelled)),
                Trouble::Backordered => assert!(has(Status::Backordered) && has(Status::Delivered)),
                Trouble::Delayed => assert!(has(Status::Delayed) && has(Status::Delivered)),
                Trouble::AttemptFailed => {
                    assert!(has(Status::AttemptFailed) && has(Status::Delivered))
                }
                Trouble::Exception => assert!(has(Status::Exception)),
                Trouble::Lost => assert!(has(Status::Lost) && !has(Status::OutForDelivery)),
                Trouble::Returned => assert!(has(Status::Returning) && has(Status::Returned)),
                Trouble::None => assert!(has(Status::Delivered) && o.ends_final),
            }
            assert!(
                o.items as usize >= o.shipments.len(),
                "{} splits {} items",
                o.id(),
                o.items
            );
            for actor in [Actor::Warehouse, Actor::Shipment(0), Actor::Shipment(1)] {
                let times: Vec<i64> = o
                    .steps
                    .iter()
                    .filter(|s| s.actor == actor)
                    .map(|s| s.at_ms)
                    .collect();
                assert!(
                    times.windows(2).all(|w| w[0] < w[1]),
                    "{actor:?} not increasing in {}",
                    o.id()
                );
            }
        }
        assert_eq!(seen.len(), 9, "{seen:?}");
    }

    #[test]
    fn smooth_orders_take_minutes_of_wall_time_at_speed_60() {
        let setting = Setting::new(60.0);
        let mut durations = Vec::new();
        let mut on_time = 0;
        for seq in 0..500 {
            let mut rng = StdRng::seed_from_u64(seq);
            let o = plan(seq, 0, &setting, &mut rng);
            if o.trouble == Trouble::None && o.shipments.len() == 1 {
                let end = o.steps.iter().map(|s| s.at_ms).max().unwrap_or(0);
                durations.push(end);
                on_time += usize::from(end <= o.promised_ms);
            }
        }
        let mean = durations.iter().sum::<i64>() as f64 / durations.len() as f64 / 60_000.0;
        assert!(
            (2.0..10.0).contains(&mean),
            "a smooth order takes {mean:.1} wall minutes"
        );
        let share = on_time as f64 / durations.len() as f64;
        assert!(
            (0.8..1.0).contains(&share),
            "{share:.2} of smooth orders on time"
        );
    }
}
