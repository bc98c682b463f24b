//! A circuit breaker per partner. Closed: requests flow. It opens after `failures` consecutive
//! failures, or when the error rate over the last `window` reaches `error_rate` with at least
//! `min_requests` outcomes in it. Open: nothing is sent for `cool_off`. Then half-open: one
//! trial request goes out; its success closes the breaker, its failure opens it again.
//! A partner that is down is thus asked once per cool-off instead of once per shipment.

use serde::Serialize;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerConfig {
    pub failures: u32,
    pub error_rate: f64,
    pub min_requests: u32,
    pub window: Duration,
    pub cool_off: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    /// The name operators see (the same as the serialized form).
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }
}

/// What the breaker lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    Yes,
    /// The trial of a half-open breaker: its outcome decides.
    Trial,
    /// Not before this instant.
    No {
        until: Instant,
    },
}

#[derive(Debug, Clone)]
pub struct Breaker {
    config: BreakerConfig,
    state: BreakerState,
    consecutive: u32,
    /// Outcomes (time, failed) within the window, oldest first.
    recent: VecDeque<(Instant, bool)>,
    open_until: Instant,
    trial_out: bool,
    /// Times it went closed/half-open → open, and half-open → closed.
    pub opened: u64,
    pub closed: u64,
}

impl Breaker {
    pub fn new(config: BreakerConfig, now: Instant) -> Self {
        Self {
            config,
            state: BreakerState::Closed,
            consecutive: 0,
            recent: VecDeque::new(),
            open_until: now,
            trial_out: false,
            opened: 0,
            closed: 0,
        }
    }

    pub fn state(&self, now: Instant) -> BreakerState {
        match self.state {
            BreakerState::Open if now >= self.open_until => BreakerState::HalfOpen,
            s => s,
        }
    }

    /// Asks to send one request now.
    pub fn admit(&mut self, now: Instant) -> Admit {
        match self.state(now) {
            BreakerState::Closed => Admit::Yes,
            BreakerState::Open => Admit::No {
                until: self.open_until,
            },
            BreakerState::HalfOpen if self.trial_out => Admit::No {
                // The trial is out; ask again a little later rather than spin.
                until: now + (self.config.cool_off / 10).max(Duration::from_millis(10)),
            },
            BreakerState::HalfOpen => {
                self.state = BreakerState::HalfOpen;
                self.trial_out = true;
                Admit::Trial
            }
        }
    }

    pub fn on_success(&mut self, now: Instant) {
        self.consecutive = 0;
        self.push(now, false);
        if self.state(now) == BreakerState::HalfOpen && self.trial_out {
            self.state = BreakerState::Closed;
            self.trial_out = false;
            self.recent.clear();
            self.closed += 1;
        }
    }

    pub fn on_failure(&mut self, now: Instant) {
        self.consecutive = self.consecutive.saturating_add(1);
        self.push(now, true);
        match self.state(now) {
            BreakerState::HalfOpen if self.trial_out => self.open(now),
            BreakerState::Closed if self.should_open() => self.open(now),
            _ => {}
        }
    }

    /// A request that was admitted but had no outcome (cancelled, or it failed on our side):
    /// a trial must be given back, or the breaker would stay half-open for ever.
    pub fn on_abandon(&mut self) {
        self.trial_out = false;
    }

    fn open(&mut self, now: Instant) {
        self.state = BreakerState::Open;
        self.open_until = now + self.config.cool_off;
        self.trial_out = false;
        self.consecutive = 0;
        self.recent.clear();
        self.opened += 1;
    }

    fn push(&mut self, now: Instant, failed: bool) {
        self.recent.push_back((now, failed));
        while let Some(&(at, _)) = self.recent.front() {
            if now.saturating_duration_since(at) > self.config.window {
                self.recent.pop_front();
            } else {
                break;
            }
        }
    }

    fn should_open(&self) -> bool {
        if self.config.failures > 0 && self.consecutive >= self.config.failures {
            return true;
        }
        let n = self.recent.len();
        if n == 0 || n < self.config.min_requests as usize {
            return false;
        }
        let failed = self.recent.iter().filter(|(_, f)| *f).count();
        failed as f64 / n as f64 >= self.config.error_rate
    }

    /// When an open breaker lets a trial through.
    pub fn open_until(&self) -> Option<Instant> {
        (self.state == BreakerState::Open).then_some(self.open_until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn config() -> BreakerConfig {
        BreakerConfig {
            failures: 3,
            error_rate: 0.5,
            min_requests: 10,
            window: Duration::from_secs(60),
            cool_off: Duration::from_secs(30),
        }
    }

    #[test]
    fn opens_after_consecutive_failures_then_half_open_trial_closes() {
        let t0 = Instant::now();
        let mut b = Breaker::new(config(), t0);
        for _ in 0..2 {
            assert_eq!(b.admit(t0), Admit::Yes);
            b.on_failure(t0);
        }
        assert_eq!(b.state(t0), BreakerState::Closed);
        b.on_failure(t0);
        assert_eq!(b.state(t0), BreakerState::Open);
        let until = t0 + Duration::from_secs(30);
        assert_eq!(b.admit(t0 + Duration::from_secs(29)), Admit::No { until });
        let t1 = t0 + Duration::from_secs(30);
        assert_eq!(b.state(t1), BreakerState::HalfOpen);
        assert_eq!(b.admit(t1), Admit::Trial);
        assert!(
            matches!(b.admit(t1), Admit::No { .. }),
            "one trial at a time"
        );
        b.on_success(t1);
        assert_eq!(b.state(t1), BreakerState::Closed);
        assert_eq!((b.opened, b.closed), (1, 1));
    }

    #[test]
    fn a_failed_trial_opens_again_for_a_full_cool_off() {
        let t0 = Instant::now();
        let mut b = Breaker::new(config(), t0);
        for _ in 0..3 {
            b.on_failure(t0);
        }
        let t1 = t0 + Duration::from_secs(31);
        assert_eq!(b.admit(t1), Admit::Trial);
        b.on_failure(t1);
        assert_eq!(b.state(t1), BreakerState::Open);
        assert_eq!(b.open_until(), Some(t1 + Duration::from_secs(30)));
        assert_eq!(b.opened, 2);
    }

    #[test]
    fn opens_on_error_rate_without_a_run_of_failures() {
        let t0 = Instant::now();
        let mut b = Breaker::new(config(), t0);
        // ok, fail, ok, fail ... never 3 failures in a row, but half of them failed.
        for i in 0..10 {
            if i % 2 == 0 {
                b.on_success(t0);
            } else {
                b.on_failure(t0);
            }
        }
        assert_eq!(b.state(t0), BreakerState::Open);
    }

    #[test]
    fn old_failures_leave_the_window() {
        let t0 = Instant::now();
        let mut b = Breaker::new(config(), t0);
        for i in 0..9 {
            if i % 2 == 0 {
                b.on_failure(t0);
            } else {
                b.on_success(t0);
            }
        }
        let later = t0 + Duration::from_secs(120);
        b.on_success(later);
        b.on_failure(later);
        assert_eq!(b.state(later), BreakerState::Closed);
    }

    #[test]
    fn an_abandoned_trial_is_given_back() {
        let t0 = Instant::now();
        let mut b = Breaker::new(config(), t0);
        for _ in 0..3 {
            b.on_failure(t0);
        }
        let t1 = t0 + Duration::from_secs(30);
        assert_eq!(b.admit(t1), Admit::Trial);
        b.on_abandon();
        assert_eq!(b.admit(t1), Admit::Trial);
    }

    proptest! {
        /// Whatever the sequence, while open nothing is admitted, and at most one trial is out
        /// at a time when half-open.
        #[test]
        fn open_admits_nothing_and_half_open_admits_one(
            ops in proptest::collection::vec((0u8..3, 0u64..20_000), 1..200),
        ) {
            let t0 = Instant::now();
            let mut b = Breaker::new(config(), t0);
            let mut now = t0;
            let mut trial_out = false;
            for (op, ms) in ops {
                now += Duration::from_millis(ms);
                match op {
                    0 => {
                        let before = b.state(now);
                        match b.admit(now) {
                            Admit::Yes => prop_assert_eq!(before, BreakerState::Closed),
                            Admit::Trial => {
                                prop_assert_eq!(before, BreakerState::HalfOpen);
                                prop_assert!(!trial_out);
                                trial_out = true;
                            }
                            Admit::No { until } => {
                                prop_assert!(before != BreakerState::Closed);
                                prop_assert!(until > now);
                            }
                        }
                    }
                    1 => { b.on_success(now); trial_out = false; }
                    _ => {
                        b.on_failure(now);
                        trial_out = false;
                    }
                }
                if b.state(now) == BreakerState::Open {
                    trial_out = false;
                }
            }
        }
    }
}
