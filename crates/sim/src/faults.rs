//! Fault injection: what goes wrong, how often, decided by a pure function of the seed and
//! what is being asked. A request's fault depends on (request kind, key, attempt): the same
//! run asked the same questions in the same order misbehaves the same way, and a connector that
//! retries sees a fresh draw per attempt. Body faults (truncated, malformed) never strike two
//! attempts in a row, so a refetch always recovers; only the planted malformed webhook
//! deliveries (counted in the truth) are permanent.

use crate::SimError;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// A webhook outage, in simulated minutes after the world's start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outage {
    pub start_sim_minutes: f64,
    pub duration_sim_minutes: f64,
}

/// The fault knobs. Rates are probabilities per request (or per event for `duplicate_rate`
/// and `late_rate`); a rate outside 0..=1 is clamped.
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// 500, 502 or 503.
    pub error_rate: f64,
    /// The request hangs for `hang`, then gets a 504: longer than any sane client timeout.
    pub timeout_rate: f64,
    pub hang: Duration,
    /// 429 with `Retry-After: retry_after_secs`.
    pub rate_limit_rate: f64,
    pub retry_after_secs: u64,
    /// The answer is right but comes after `slow_delay`.
    pub slow_rate: f64,
    pub slow_delay: Duration,
    /// 200 with the body cut in half.
    pub truncated_rate: f64,
    /// 200 with a body that is JSON of the wrong shape or not JSON at all.
    pub malformed_rate: f64,
    /// A carrier scan listed twice in a history, a WMS event twice in the feed and pushed twice.
    pub duplicate_rate: f64,
    /// An event becomes visible `late_sim_minutes` (a range) after it happened.
    pub late_rate: f64,
    pub late_sim_minutes: (f64, f64),
    /// Windows in which the WMS pushes nothing; those events are never pushed.
    pub outages: Vec<Outage>,
    /// WMS webhook deliveries sent with a malformed body on purpose (never corrected by a
    /// retry; the feed still serves the event). Counted in the truth.
    pub planted_malformed: u32,
}

impl Default for Faults {
    fn default() -> Self {
        Faults::none()
    }
}

impl Faults {
    /// A well-behaved world.
    pub fn none() -> Faults {
        Faults {
            error_rate: 0.0,
            timeout_rate: 0.0,
            hang: Duration::from_secs(20),
            rate_limit_rate: 0.0,
            retry_after_secs: 1,
            slow_rate: 0.0,
            slow_delay: Duration::from_millis(1500),
            truncated_rate: 0.0,
            malformed_rate: 0.0,
            duplicate_rate: 0.0,
            late_rate: 0.0,
            late_sim_minutes: (60.0, 360.0),
            outages: Vec::new(),
            planted_malformed: 0,
        }
    }

    /// The chaos test of the issue: 10% partner errors and timeouts, 5% duplicated and 5%
    /// out-of-order (late) events, one 30-minute webhook outage, a few malformed payloads, and
    /// some rate limiting and slowness on top.
    pub fn chaos() -> Faults {
        Faults {
            error_rate: 0.07,
            timeout_rate: 0.03,
            rate_limit_rate: 0.02,
            slow_rate: 0.03,
            truncated_rate: 0.01,
            malformed_rate: 0.01,
            duplicate_rate: 0.05,
            late_rate: 0.05,
            outages: vec![Outage {
                start_sim_minutes: 60.0,
                duration_sim_minutes: 30.0,
            }],
            planted_malformed: 3,
            ..Faults::none()
        }
    }

    /// `none` or `chaos`.
    pub fn profile(name: &str) -> Result<Faults, SimError> {
        match name {
            "none" => Ok(Faults::none()),
            "chaos" => Ok(Faults::chaos()),
            other => Err(SimError::UnknownProfile(other.to_owned())),
        }
    }

    /// The fault for attempt `attempt` (0-based) of request `kind` on `key`. `body` says whether
    /// the answer has a body worth breaking (token endpoints' do not: a client cannot sink them
    /// anywhere).
    pub fn decide(&self, seed: u64, kind: &str, key: &str, attempt: u32, body: bool) -> Fault {
        let fault = self.raw(seed, kind, key, attempt, body);
        // A broken body is transient: the next attempt of the same request is not broken.
        if fault.breaks_body()
            && attempt > 0
            && self.raw(seed, kind, key, attempt - 1, body).breaks_body()
        {
            return Fault::None;
        }
        fault
    }

    fn raw(&self, seed: u64, kind: &str, key: &str, attempt: u32, body: bool) -> Fault {
        let attempt = attempt.to_string();
        let mut u = unit(seed, &["fault", kind, key, &attempt]);
        let body_rate = |r: f64| if body { r } else { 0.0 };
        let table = [
            (self.error_rate, Fault::Error(0)),
            (self.timeout_rate, Fault::Hang),
            (self.rate_limit_rate, Fault::RateLimited),
            (self.slow_rate, Fault::Slow),
            (body_rate(self.truncated_rate), Fault::Truncated),
            (body_rate(self.malformed_rate), Fault::Malformed),
        ];
        for (rate, fault) in table {
            let rate = rate.clamp(0.0, 1.0);
            if u < rate {
                return match fault {
                    Fault::Error(_) => {
                        let codes = [500, 502, 503];
                        let pick = unit(seed, &["status", kind, key, &attempt]);
                        Fault::Error(codes[((pick * 3.0) as usize).min(2)])
                    }
                    f => f,
                };
            }
            u -= rate;
        }
        Fault::None
    }
}

/// What happens to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    /// This HTTP status (500, 502, 503).
    Error(u16),
    Hang,
    RateLimited,
    Slow,
    Truncated,
    Malformed,
}

impl Fault {
    fn breaks_body(self) -> bool {
        matches!(self, Fault::Truncated | Fault::Malformed)
    }

    /// A short stable name, for stats.
    pub fn name(self) -> &'static str {
        match self {
            Fault::None => "none",
            Fault::Error(_) => "error",
            Fault::Hang => "timeout",
            Fault::RateLimited => "rate_limited",
            Fault::Slow => "slow",
            Fault::Truncated => "truncated",
            Fault::Malformed => "malformed",
        }
    }
}

/// A uniform draw in `0..1` from the seed and a list of labels: the simulator's only source of
/// randomness outside the demo planner, so every decision is reproducible and independent of
/// the order in which decisions are made.
pub(crate) fn unit(seed: u64, parts: &[&str]) -> f64 {
    let mut h = Sha256::new();
    h.update(seed.to_le_bytes());
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    let d = h.finalize();
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    // 53 bits: exactly representable, uniform in [0, 1).
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_are_reproducible_and_near_their_rates() {
        let f = Faults::chaos();
        let mut errors = 0;
        for i in 0..10_000 {
            let key = i.to_string();
            let a = f.decide(7, "ups.track", &key, 0, true);
            assert_eq!(a, f.decide(7, "ups.track", &key, 0, true));
            errors += usize::from(matches!(a, Fault::Error(_) | Fault::Hang));
        }
        let share = errors as f64 / 10_000.0;
        assert!((0.08..0.12).contains(&share), "{share}");
        assert_eq!(
            Faults::none().decide(7, "ups.track", "x", 0, true),
            Fault::None
        );
    }

    #[test]
    fn a_broken_body_is_never_broken_twice_in_a_row() {
        let f = Faults {
            malformed_rate: 0.5,
            truncated_rate: 0.5,
            ..Faults::none()
        };
        for k in 0..200 {
            let key = k.to_string();
            let mut prev = Fault::None;
            for attempt in 0..6 {
                let now = f.decide(1, "wms.feed", &key, attempt, true);
                assert!(
                    !(prev.breaks_body() && now.breaks_body()),
                    "{key} {attempt}"
                );
                prev = now;
            }
            assert_eq!(f.decide(1, "ups.token", &key, 0, false), Fault::None);
        }
    }

    #[test]
    fn profiles_by_name() {
        assert_eq!(Faults::profile("none").ok(), Some(Faults::none()));
        assert_eq!(Faults::profile("chaos").ok(), Some(Faults::chaos()));
        assert!(Faults::profile("mayhem").is_err());
    }
}
