//! The simulated world, decided in full before anything is served: the demo planner's orders,
//! spread across tenants and channels, each warehouse step turned into a WMS event and each
//! carrier scan into the carrier's code (`codes.rs`), with the instant each becomes visible at
//! its partner. Pure: a function of the configuration and the start instant, nothing else.

use crate::clock::SimClock;
use crate::codes::{self, VendorCode};
use crate::faults::{Faults, unit};

mod extras;
use jiff::{SignedDuration, Timestamp};
use std::collections::HashMap;
use waypost_demo::{
    Actor, Carrier, DemoConfig, Lanes, Place, PlannedOrder, PlannedStep, Plans, Scan,
};
use waypost_domain::{Reason, Status};

/// One WMS event as the warehouse records it.
#[derive(Debug, Clone)]
pub struct WmsEvent {
    pub event_id: String,
    /// `docs/wms.md` event type (`created`, `picked`, `labelled`, `return_received`...).
    pub event_type: &'static str,
    /// `docs/wms.md` reason code, if any.
    pub reason: Option<&'static str>,
    pub description: &'static str,
    /// Milliseconds for the order's own events; whole seconds, like the carriers' scans, for
    /// events about a parcel (they share its stream, and carriers only give seconds).
    pub at: Timestamp,
    pub place: Place,
    /// Index into the order's shipments for `labelled`, `shipped` and `return_received`.
    pub shipment: Option<usize>,
    pub visible_at: Timestamp,
    /// When a second copy shows up in the feed and is pushed again, if one does.
    pub copy_at: Option<Timestamp>,
    /// Whether the webhook pusher sends it (false inside an outage window).
    pub pushed: bool,
    /// Pushed with a malformed body on purpose.
    pub planted_malformed: bool,
}

/// One carrier scan.
#[derive(Debug, Clone)]
pub struct SimScan {
    pub at: Timestamp,
    pub place: Place,
    pub code: &'static VendorCode,
    pub visible_at: Timestamp,
    /// Listed twice in the history once this instant has passed.
    pub copy_at: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct SimShipment {
    pub carrier: Carrier,
    pub service: &'static str,
    pub tracking_number: String,
    pub weight_kg: f64,
    pub scans: Vec<SimScan>,
}

/// An order line.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub sku: &'static str,
    pub quantity: u32,
}

/// Where the order goes: a street address in the destination city, with its coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct Address {
    pub street: String,
    pub lat: f64,
    pub lon: f64,
}

#[derive(Debug, Clone)]
pub struct SimOrder {
    /// Index into [`World::tenants`].
    pub tenant: usize,
    pub channel: &'static str,
    pub plan: PlannedOrder,
    pub ship_to: Address,
    pub lines: Vec<Line>,
    /// In the order they happened.
    pub wms: Vec<WmsEvent>,
    pub shipments: Vec<SimShipment>,
}

/// A tenant of the world and its sales channels.
#[derive(Debug, Clone, PartialEq)]
pub struct Tenant {
    pub name: String,
    pub channels: &'static [&'static str],
}

/// One entry of a tenant's WMS changes feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct FeedEntry {
    pub visible_at: Timestamp,
    pub order: usize,
    pub event: usize,
}

/// What the world is built from.
#[derive(Debug, Clone, PartialEq)]
pub struct WorldConfig {
    pub seed: u64,
    pub orders: usize,
    pub orders_per_minute: f64,
    pub speed: f64,
    pub tenants: Vec<String>,
    pub lanes: Lanes,
    pub faults: Faults,
}

pub struct World {
    pub start: Timestamp,
    pub speed: f64,
    pub seed: u64,
    pub tenants: Vec<Tenant>,
    pub orders: Vec<SimOrder>,
    /// Per tenant, in the order the WMS recorded the events.
    pub feeds: Vec<Vec<FeedEntry>>,
    /// Webhook outage windows, wall clock.
    pub outages: Vec<(Timestamp, Timestamp)>,
    tracking: HashMap<String, (usize, usize)>,
}

const CHANNELS: [&[&str]; 3] = [
    &["web", "amazon", "edi"],
    &["shopify", "marketplace"],
    &["b2b-portal", "web", "phone"],
];

impl World {
    pub fn build(cfg: &WorldConfig, start: Timestamp) -> World {
        let demo = DemoConfig {
            seed: cfg.seed,
            orders_per_minute: cfg.orders_per_minute,
            max_orders: Some(cfg.orders),
            speed: cfg.speed,
        };
        let speed = if cfg.speed.is_finite() && cfg.speed > 0.0 {
            cfg.speed
        } else {
            60.0
        };
        let tenants: Vec<Tenant> = cfg
            .tenants
            .iter()
            .enumerate()
            .map(|(i, name)| Tenant {
                name: name.clone(),
                channels: CHANNELS[i % CHANNELS.len()],
            })
            .collect();
        let wall = |sim_minutes: f64| {
            SignedDuration::from_millis((sim_minutes * 60_000.0 / speed).round() as i64)
        };
        let outages = cfg
            .faults
            .outages
            .iter()
            .map(|o| {
                let from = start + wall(o.start_sim_minutes);
                (from, from + wall(o.duration_sim_minutes))
            })
            .collect();
        let mut world = World {
            start,
            speed,
            seed: cfg.seed,
            tenants,
            orders: Vec::new(),
            feeds: vec![Vec::new(); cfg.tenants.len()],
            outages,
            tracking: HashMap::new(),
        };
        // Events are stamped with simulated time (a parcel's three days in transit read as
        // three days), while what becomes visible when stays on the compressed wall clock.
        let clock = SimClock { start, speed };
        let sim = |wall: Timestamp| clock.sim_time(wall);
        let builder = Builder {
            seed: cfg.seed,
            faults: &cfg.faults,
            wall: &wall,
            sim: &sim,
        };
        let plans = Plans::new(&demo, start).with_lanes(cfg.lanes.clone());
        for plan in plans.take(cfg.orders) {
            let order = builder.order(plan, &world.tenants);
            world.orders.push(order);
        }
        world.plant_malformed(cfg.faults.planted_malformed);
        world.index();
        world
    }

    fn index(&mut self) {
        let outages = self.outages.clone();
        for (oi, o) in self.orders.iter_mut().enumerate() {
            for (si, s) in o.shipments.iter().enumerate() {
                self.tracking.insert(s.tracking_number.clone(), (oi, si));
            }
            for (ei, e) in o.wms.iter_mut().enumerate() {
                e.pushed = !outages
                    .iter()
                    .any(|&(a, b)| a <= e.visible_at && e.visible_at < b);
                // Every order has a tenant when there is one; with none there is no feed.
                let Some(feed) = self.feeds.get_mut(o.tenant) else {
                    continue;
                };
                for at in std::iter::once(e.visible_at).chain(e.copy_at) {
                    feed.push(FeedEntry {
                        visible_at: at,
                        order: oi,
                        event: ei,
                    });
                }
            }
        }
        for feed in &mut self.feeds {
            feed.sort();
        }
    }

    /// The planted malformed deliveries: the pushed events with the lowest draws, so the choice
    /// does not depend on how many orders there are before them.
    fn plant_malformed(&mut self, n: u32) {
        if n == 0 {
            return;
        }
        let outages = &self.outages;
        let mut candidates: Vec<(u64, usize, usize)> = Vec::new();
        for (oi, o) in self.orders.iter().enumerate() {
            for (ei, e) in o.wms.iter().enumerate() {
                if outages
                    .iter()
                    .any(|&(a, b)| a <= e.visible_at && e.visible_at < b)
                {
                    continue;
                }
                let draw = unit(self.seed, &["plant", &e.event_id]);
                candidates.push(((draw * 1e15) as u64, oi, ei));
            }
        }
        candidates.sort();
        for &(_, oi, ei) in candidates.iter().take(n as usize) {
            self.orders[oi].wms[ei].planted_malformed = true;
        }
    }

    /// The order and shipment index of a tracking number of `carrier` known to `tenant`.
    pub fn shipment(
        &self,
        tenant: usize,
        carrier: Carrier,
        tracking: &str,
    ) -> Option<(&SimOrder, &SimShipment)> {
        let &(oi, si) = self.tracking.get(tracking)?;
        let order = self.orders.get(oi)?;
        let ship = order.shipments.get(si)?;
        (order.tenant == tenant && ship.carrier == carrier).then_some((order, ship))
    }

    /// The last instant at which anything becomes visible.
    pub fn last_visible(&self) -> Timestamp {
        let mut last = self.start;
        for o in &self.orders {
            for e in &o.wms {
                last = last.max(e.copy_at.unwrap_or(e.visible_at).max(e.visible_at));
            }
            for s in &o.shipments {
                for sc in &s.scans {
                    last = last.max(sc.copy_at.unwrap_or(sc.visible_at).max(sc.visible_at));
                }
            }
        }
        last
    }

    pub fn tenant_index(&self, name: &str) -> Option<usize> {
        self.tenants.iter().position(|t| t.name == name)
    }
}

/// Scans of a shipment visible at `now`, with their copies, newest first (as every carrier
/// here lists them).
pub fn visible_scans(ship: &SimShipment, now: Timestamp) -> Vec<&SimScan> {
    let mut out: Vec<&SimScan> = Vec::new();
    for s in &ship.scans {
        if s.visible_at <= now {
            out.push(s);
            if s.copy_at.is_some_and(|c| c <= now) {
                out.push(s);
            }
        }
    }
    out.sort_by_key(|s| std::cmp::Reverse(s.at));
    out
}

struct Builder<'a> {
    seed: u64,
    faults: &'a Faults,
    wall: &'a dyn Fn(f64) -> SignedDuration,
    /// Simulated time at a compressed wall-clock instant.
    sim: &'a dyn Fn(Timestamp) -> Timestamp,
}

fn whole_seconds(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second()).unwrap_or(t)
}

fn whole_millis(t: Timestamp) -> Timestamp {
    Timestamp::from_millisecond(t.as_millisecond()).unwrap_or(t)
}

impl Builder<'_> {
    fn draw(&self, parts: &[&str]) -> f64 {
        unit(self.seed, parts)
    }

    /// When an event is first visible and when its copy is: the demo's send times (a few late,
    /// a few twice) with the simulator's own late and duplicate faults on top. `at` is the
    /// event's (whole-second) time, `lags` how long after it the demo sends it, in seconds.
    /// The demo's lags are wall seconds at its default speed of 60, where a wall second is a
    /// simulated minute; they are taken as simulated minutes here, so they scale with speed.
    fn visibility(&self, id: &str, at: Timestamp, lags: &[f64]) -> (Timestamp, Option<Timestamp>) {
        let after = |lag: f64| at + (self.wall)(lag.max(0.0));
        let first = lags.iter().copied().reduce(f64::min);
        let last = lags.iter().copied().reduce(f64::max);
        let mut visible = first.map_or(at, after);
        let mut copy = (lags.len() > 1).then(|| after(last.unwrap_or(0.0)));
        if self.draw(&["late", id]) < self.faults.late_rate {
            let (lo, hi) = self.faults.late_sim_minutes;
            let minutes = lo + (hi - lo).max(0.0) * self.draw(&["late-by", id]);
            visible = at + (self.wall)(minutes);
        }
        if copy.is_none() && self.draw(&["dup", id]) < self.faults.duplicate_rate {
            copy = Some(visible + (self.wall)(5.0 + 55.0 * self.draw(&["dup-by", id])));
        }
        (visible, copy.map(|c| c.max(visible)))
    }

    fn order(&self, plan: PlannedOrder, tenants: &[Tenant]) -> SimOrder {
        let id = plan.id.clone();
        let tenant = ((self.draw(&["tenant", &id]) * tenants.len() as f64) as usize)
            .min(tenants.len().saturating_sub(1));
        let channels = tenants.get(tenant).map_or(&["web"][..], |t| t.channels);
        let channel = channels[((self.draw(&["channel", &id]) * channels.len() as f64) as usize)
            .min(channels.len() - 1)];
        let lines = self.lines(&id, plan.items);
        let ship_to = self.address(&id, &plan.destination);
        let mut wms = Vec::new();
        let mut shipments: Vec<SimShipment> = plan
            .shipments
            .iter()
            .map(|s| SimShipment {
                carrier: s.carrier,
                service: s.service,
                tracking_number: s.tracking_number.clone(),
                weight_kg: s.weight_kg,
                scans: Vec::new(),
            })
            .collect();
        let sends_of = |i: usize| -> Vec<f64> {
            let Some(step) = plan.steps.get(i) else {
                return Vec::new();
            };
            plan.sends
                .iter()
                .filter(|(_, s)| *s == i)
                .map(|(t, _)| t.duration_since(step.at).as_secs_f64())
                .collect()
        };
        let mut after_backorder = false;
        for (i, step) in plan.steps.iter().enumerate() {
            let shown = step.at;
            let at = whole_seconds((self.sim)(step.at));
            let event_id = format!("{}-{id}-{i:02}", plan.warehouse);
            match step.actor {
                Actor::Warehouse => {
                    // A WMS records milliseconds, and the order's own stream shares no instant
                    // with a carrier's whole-second scans, so it keeps them.
                    let at = whole_millis((self.sim)(step.at));
                    let (event_type, reason) = wms_type(step, after_backorder);
                    after_backorder |= step.status == Status::Backordered;
                    let mut e = WmsEvent {
                        event_id,
                        event_type,
                        reason,
                        description: step.raw_description,
                        at,
                        place: step.place.clone(),
                        shipment: None,
                        visible_at: at,
                        copy_at: None,
                        pushed: true,
                        planted_malformed: false,
                    };
                    (e.visible_at, e.copy_at) = self.visibility(&e.event_id, shown, &sends_of(i));
                    wms.push(e);
                }
                Actor::Shipment(si) => {
                    let Some(ship) = shipments.get_mut(si) else {
                        continue;
                    };
                    let Some(code) = step.scan.and_then(|scan| codes::lookup(ship.carrier, scan))
                    else {
                        continue;
                    };
                    let key = format!("{}-{i:02}", ship.tracking_number);
                    let (visible_at, copy_at) = self.visibility(&key, shown, &sends_of(i));
                    ship.scans.push(SimScan {
                        at,
                        place: step.place.clone(),
                        code,
                        visible_at,
                        copy_at,
                    });
                    // The warehouse's own records of the parcel: the label it printed, the
                    // ship-confirm at the dock, and the return coming back in.
                    let (event_type, at, shown, description) = match step.scan {
                        Some(Scan::Label) => ("labelled", at, shown, "Carrier label printed"),
                        Some(Scan::Pickup) => ("shipped", at, shown, "Ship-confirmed at dock"),
                        Some(Scan::Returned) => {
                            let minutes = 60.0 + 180.0 * self.draw(&["rtn", &key]);
                            let lag = SignedDuration::from_secs((minutes * 60.0) as i64);
                            let at = whole_seconds(at + lag);
                            let shown = shown + (self.wall)(minutes);
                            ("return_received", at, shown, "Return received into stock")
                        }
                        _ => continue,
                    };
                    let mut e = WmsEvent {
                        event_id,
                        event_type,
                        reason: None,
                        description,
                        at,
                        place: plan.origin.clone(),
                        shipment: Some(si),
                        visible_at: at,
                        copy_at: None,
                        pushed: true,
                        planted_malformed: false,
                    };
                    (e.visible_at, e.copy_at) = self.visibility(&e.event_id, shown, &[]);
                    wms.push(e);
                }
            }
        }
        wms.sort_by_key(|e| e.at);
        // The planner gives every order its parcels, but an order cancelled or stuck before
        // packing never ships them: no carrier or WMS record names them, so they do not exist.
        let mut renumber = Vec::with_capacity(shipments.len());
        let mut kept = 0;
        for s in &shipments {
            renumber.push((!s.scans.is_empty()).then_some(kept));
            kept += usize::from(!s.scans.is_empty());
        }
        shipments.retain(|s| !s.scans.is_empty());
        for e in &mut wms {
            e.shipment = e.shipment.and_then(|i| renumber.get(i).copied().flatten());
        }
        // The order's own dates in simulated time, like its events. Its steps and sends keep
        // the planner's compressed wall clock: they say when things become visible.
        let mut plan = plan;
        plan.created_at = (self.sim)(plan.created_at);
        plan.promised_at = (self.sim)(plan.promised_at);
        SimOrder {
            tenant,
            channel,
            plan,
            ship_to,
            lines,
            wms,
            shipments,
        }
    }
}

/// The WMS event type and reason code of a warehouse step.
fn wms_type(step: &PlannedStep, after_backorder: bool) -> (&'static str, Option<&'static str>) {
    match step.status {
        Status::Pending => ("created", None),
        Status::Allocated if after_backorder => ("released", None),
        Status::Allocated => ("allocated", None),
        Status::Picked => ("picked", None),
        Status::Packed => ("packed", None),
        Status::Backordered => ("backordered", Some("out_of_stock")),
        Status::Cancelled => (
            "cancelled",
            Some(match step.reason {
                Some(Reason::Payment) => "payment_declined",
                Some(Reason::FraudReview) => "fraud_review",
                _ => "customer_request",
            }),
        ),
        Status::OnHold => ("on_hold", Some("other")),
        _ => ("exception", Some("other")),
    }
}
