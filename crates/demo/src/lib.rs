//! A seeded demo world for Waypost. Orders arrive at a steady rate, move through warehouse and
//! carrier statuses across a small built-in map of US and European cities, and run into trouble
//! in realistic proportions (stockouts, weather delays, failed delivery attempts, exceptions, lost
//! and refused parcels). The events are handed out the way real feeds deliver them: a few twice,
//! a few late and out of order, shuffled within each batch. `waypost demo` polls a [`World`] on a
//! timer and posts what it returns, so a newcomer sees orders moving at once. [`Plans`] hands
//! out the same orders as whole stories ahead of time (optionally on realistic [`Lanes`]), for
//! the partner simulator.
//!
//! Invariant: the world is a pure function of its configuration, its start instant and the
//! instants it is polled at. It does no I/O, reads no clock and spawns nothing. Every event it
//! returns is canonical event JSON that `waypost_domain::parse_event` accepts, and its
//! `occurred_at` is never after the `now` it was returned for. What happens to each order depends
//! only on the seed and the order's number, so the events due by a given instant are the same
//! however often the world was polled; only their grouping into batches changes.

mod carriers;
mod cities;
mod order;
mod plan;
mod render;
#[cfg(test)]
mod tests;
mod view;

pub use carriers::{Carrier, Scan};
pub use order::Actor;
pub use plan::{Lanes, Trouble};
pub use view::{Place, PlannedOrder, PlannedShipment, PlannedStep, Plans};

use order::{Order, Setting};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

/// How the demo world runs.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoConfig {
    /// Same seed, same world.
    pub seed: u64,
    /// New orders per minute of wall-clock time. Zero or less (or not a number) creates none.
    pub orders_per_minute: f64,
    /// Stop creating orders after this many; those already created still run to their end.
    pub max_orders: Option<usize>,
    /// Simulated seconds per wall-clock second. A non-positive or non-finite value is taken as 60.
    pub speed: f64,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            seed: 42,
            orders_per_minute: 120.0,
            max_orders: None,
            // One simulated minute per wall second: an order's life plays out in a few minutes.
            speed: 60.0,
        }
    }
}

/// Counters of the world so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WorldStats {
    pub orders_created: usize,
    /// Orders whose every event has been sent and that ended delivered, returned, cancelled or
    /// lost. Orders left stuck in `pending` or with an open exception never count.
    pub orders_finished: usize,
    /// Orders with events still to send: the world's memory footprint.
    pub orders_active: usize,
    /// Events returned by [`World::poll`], duplicates included.
    pub events_sent: u64,
}

/// The first order is `SO-100001`.
const FIRST_ORDER: u64 = 100_001;

/// An order whose events are still being sent.
struct Active {
    order: Order,
    unsent: usize,
}

/// A send waiting in the queue. The derived order (time, then order, then step) makes the queue
/// drain identically on every run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Due {
    at_ms: i64,
    seq: u64,
    step: usize,
}

/// The demo world: orders in flight and the events they still have to send.
pub struct World {
    cfg: DemoConfig,
    setting: Setting,
    /// Unix milliseconds of the start; all internal times are milliseconds after it.
    start_ms: i64,
    arrivals: Arrivals,
    /// Shuffles each batch; the only randomness that depends on how the world is polled.
    shuffler: StdRng,
    active: BTreeMap<u64, Active>,
    queue: BinaryHeap<Reverse<Due>>,
    stats: WorldStats,
}

impl World {
    pub fn new(cfg: DemoConfig, start: jiff::Timestamp) -> World {
        World {
            setting: Setting::new(effective_speed(cfg.speed)),
            start_ms: start.as_millisecond(),
            arrivals: Arrivals::new(&cfg),
            shuffler: StdRng::seed_from_u64(derive_seed(cfg.seed, u64::MAX - 1)),
            active: BTreeMap::new(),
            queue: BinaryHeap::new(),
            stats: WorldStats::default(),
            cfg,
        }
    }

    /// Every event due at or before `now` (wall clock), as canonical event JSON objects, in the
    /// order they should be SENT (which on purpose includes duplicates, out-of-order and late
    /// deliveries). A `now` before the start returns nothing. The batch is unbounded after a long
    /// pause: callers split it to the server's batch limit.
    pub fn poll(&mut self, now: jiff::Timestamp) -> Vec<Value> {
        let now_ms = now.as_millisecond().saturating_sub(self.start_ms);
        if now_ms < 0 {
            return Vec::new();
        }
        while self.arrivals.next_ms.is_some_and(|at| at <= now_ms) {
            if let Some((seq, at)) = self.arrivals.take() {
                self.create_order(seq, at);
            }
        }
        let mut out = Vec::new();
        while let Some(&Reverse(due)) = self.queue.peek() {
            if due.at_ms > now_ms {
                break;
            }
            self.queue.pop();
            let Some(active) = self.active.get_mut(&due.seq) else {
                continue;
            };
            out.push(render::render(
                &active.order,
                due.step,
                &self.setting,
                self.start_ms,
            ));
            active.unsent -= 1;
            if active.unsent == 0 {
                // Dropping finished orders keeps memory proportional to the orders in flight.
                if let Some(done) = self.active.remove(&due.seq)
                    && done.order.ends_final
                {
                    self.stats.orders_finished += 1;
                }
            }
        }
        out.shuffle(&mut self.shuffler);
        self.stats.events_sent += out.len() as u64;
        out
    }

    /// Orders created so far, and how many reached a final state.
    pub fn stats(&self) -> WorldStats {
        WorldStats {
            orders_active: self.active.len(),
            ..self.stats
        }
    }

    /// The next instant at which [`World::poll`] would return something new, or `None` when
    /// the world has nothing left to do. Lets a caller sleep instead of polling blindly.
    pub fn next_due(&self) -> Option<jiff::Timestamp> {
        let queued = self.queue.peek().map(|Reverse(d)| d.at_ms);
        let next = match (queued, self.arrivals.next_ms) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        jiff::Timestamp::from_millisecond(self.start_ms.saturating_add(next)).ok()
    }

    /// Whether no order will be created any more and every created one has been fully sent.
    pub fn is_done(&self) -> bool {
        self.arrivals.next_ms.is_none() && self.queue.is_empty()
    }

    fn create_order(&mut self, seq: u64, at_ms: i64) {
        self.stats.orders_created += 1;
        let mut rng = StdRng::seed_from_u64(derive_seed(self.cfg.seed, seq));
        let order = plan::plan(seq, at_ms, &self.setting, &mut rng);
        let sends = order::sends(&order.steps, &mut rng);
        for &(send_ms, step) in &sends {
            self.queue.push(Reverse(Due {
                at_ms: send_ms,
                seq,
                step,
            }));
        }
        self.active.insert(
            seq,
            Active {
                order,
                unsent: sends.len(),
            },
        );
    }
}

/// A non-positive or non-finite speed is taken as 60, as [`DemoConfig::speed`] documents.
fn effective_speed(speed: f64) -> f64 {
    if speed.is_finite() && speed > 0.0 {
        speed
    } else {
        60.0
    }
}

/// When orders arrive and which number each gets. Shared by the [`World`] and [`Plans`] so both
/// see the same orders at the same times.
struct Arrivals {
    /// Spacing of arrivals; drawn only when an order is created, so polling cadence does not
    /// change it.
    rng: StdRng,
    /// Milliseconds after the start of the next arrival; `None` once no more will come.
    next_ms: Option<i64>,
    next_seq: u64,
    created: usize,
    per_minute: f64,
    max_orders: Option<usize>,
}

impl Arrivals {
    fn new(cfg: &DemoConfig) -> Arrivals {
        let creates = cfg.orders_per_minute.is_finite()
            && cfg.orders_per_minute > 0.0
            && cfg.max_orders != Some(0);
        Arrivals {
            rng: StdRng::seed_from_u64(derive_seed(cfg.seed, u64::MAX)),
            // The first order arrives at once, so there is something to see immediately.
            next_ms: creates.then_some(0),
            next_seq: FIRST_ORDER,
            created: 0,
            per_minute: cfg.orders_per_minute,
            max_orders: cfg.max_orders,
        }
    }

    /// The next arrival, `(order number, ms after the start)`, and the draw of the one after.
    fn take(&mut self) -> Option<(u64, i64)> {
        let at_ms = self.next_ms?;
        let seq = self.next_seq;
        self.next_seq += 1;
        self.created += 1;
        let limit_reached = self.max_orders.is_some_and(|max| self.created >= max);
        self.next_ms = if limit_reached {
            None
        } else {
            // Steady with jitter: the mean gap is the configured rate, each gap 50% to 150% of it.
            let gap = 60_000.0 / self.per_minute * self.rng.random_range(0.5..1.5);
            Some(at_ms.saturating_add((gap.round() as i64).max(1)))
        };
        Some((seq, at_ms))
    }
}

/// One independent random stream per order (and per world-level use), so an order's story does
/// not depend on the orders before it or on polling. SplitMix64 spreads nearby inputs apart.
fn derive_seed(seed: u64, stream: u64) -> u64 {
    fn splitmix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    splitmix(seed ^ splitmix(stream))
}
