//! When to try a notification again, and what one attempt came to.
//!
//! The schedule spreads retries over about a day: a receiver that is down for a deploy gets the
//! message seconds later, one that is down for a night gets it in the morning. `steps` are the
//! delays before each retry (default 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, so the retries fall at
//! about 5 s, 5 min, 35 min, 2 h 35, 7 h 35 and 17 h 35 after the first attempt); `horizon`
//! then adds one last retry at that time after the first attempt (default 24 h). After it the
//! message is a dead letter: 8 attempts in all by default.
//!
//! Each delay is jittered by ±20 % so that the messages of an endpoint that failed together do
//! not all come back at the same second. A receiver's `Retry-After` is honoured when it asks
//! for longer than the schedule would wait, up to 24 h.

use serde::{Deserialize, Serialize};
use std::time::Duration;

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;

/// The longest `Retry-After` honoured.
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(24 * HOUR);

/// The relative spread of a delay: ±20 %.
pub const JITTER: f64 = 0.2;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// The delay before retry n (n = 0 for the first retry).
    pub steps: Vec<Duration>,
    /// When set and later than the steps' sum: one last retry this long after the first
    /// attempt.
    pub horizon: Option<Duration>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            steps: vec![
                Duration::from_secs(5),
                Duration::from_secs(5 * MINUTE),
                Duration::from_secs(30 * MINUTE),
                Duration::from_secs(2 * HOUR),
                Duration::from_secs(5 * HOUR),
                Duration::from_secs(10 * HOUR),
            ],
            horizon: Some(Duration::from_secs(24 * HOUR)),
        }
    }
}

impl RetryPolicy {
    /// The un-jittered delays before each retry, the horizon's last one included.
    pub fn delays(&self) -> Vec<Duration> {
        let mut out = self.steps.clone();
        let sum: Duration = self.steps.iter().sum();
        if let Some(h) = self.horizon
            && h > sum
        {
            out.push(h - sum);
        }
        out
    }

    /// Attempts in all before a dead letter: the first and every retry.
    pub fn max_attempts(&self) -> u32 {
        u32::try_from(self.delays().len())
            .unwrap_or(u32::MAX - 1)
            .saturating_add(1)
    }

    /// The wait before the next attempt after `attempts_done` attempts (the first included)
    /// failed, or None: give up, dead letter. `rand01` in [0, 1] picks the jitter (0.5 = none);
    /// `retry_after` is the receiver's request, honoured when longer (capped at 24 h).
    pub fn next_delay(
        &self,
        attempts_done: u32,
        retry_after: Option<Duration>,
        rand01: f64,
    ) -> Option<Duration> {
        if attempts_done == 0 {
            return Some(Duration::ZERO);
        }
        let delays = self.delays();
        let base = *delays.get(usize::try_from(attempts_done - 1).ok()?)?;
        let r = if rand01.is_finite() {
            rand01.clamp(0.0, 1.0)
        } else {
            0.5
        };
        let jittered = base.mul_f64(1.0 + JITTER * (2.0 * r - 1.0));
        Some(match retry_after {
            Some(asked) if asked > jittered => asked.min(RETRY_AFTER_CAP),
            _ => jittered,
        })
    }
}

/// What one delivery attempt came to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Accepted (2xx, SMTP 250, the gateway's created).
    Delivered { code: u16 },
    /// A failure that may pass: try again per the policy.
    Retry {
        code: Option<u16>,
        retry_after: Option<Duration>,
        error: String,
    },
    /// HTTP 410: the receiver says the endpoint is gone. Disable it, dead letter.
    Gone { code: u16 },
    /// Permanent (an SSRF refusal, an invalid recipient): dead letter without retries.
    Refused { error: String },
}

impl Outcome {
    /// The outcome of an HTTP response: 2xx delivered, 410 gone, anything else retried
    /// (Standard Webhooks asks receivers' 4xx to be retried too).
    pub fn from_http(code: u16, retry_after: Option<Duration>) -> Outcome {
        match code {
            200..=299 => Outcome::Delivered { code },
            410 => Outcome::Gone { code },
            _ => Outcome::Retry {
                code: Some(code),
                retry_after,
                error: format!("http status {code}"),
            },
        }
    }

    /// Whether the endpoint's breaker counts it as a failure. A refusal is about the message
    /// or our own policy, not the endpoint's health.
    pub fn is_endpoint_failure(&self) -> bool {
        matches!(self, Outcome::Retry { .. } | Outcome::Gone { .. })
    }

    /// The code to record, if the attempt got one.
    pub fn code(&self) -> Option<u16> {
        match self {
            Outcome::Delivered { code } | Outcome::Gone { code } => Some(*code),
            Outcome::Retry { code, .. } => *code,
            Outcome::Refused { .. } => None,
        }
    }
}

/// Reads a `Retry-After` header: delta-seconds (`120`) or an HTTP-date in IMF-fixdate form
/// (`Wed, 21 Oct 2015 07:28:00 GMT`), the latter as the time left after `now` (zero when it
/// is past). None for anything else.
pub fn parse_retry_after(value: &str, now: jiff::Timestamp) -> Option<Duration> {
    let v = value.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        // More seconds than u64 holds is "very long": the caller caps it anyway.
        return Some(Duration::from_secs(v.parse().unwrap_or(u64::MAX)));
    }
    if !v.ends_with(" GMT") {
        return None;
    }
    let at = jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(v)
        .ok()?;
    let left = at.duration_since(now);
    Some(Duration::try_from(left).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn default_schedule_ends_a_day_after_the_first_attempt() {
        let p = RetryPolicy::default();
        let mut at = Duration::ZERO;
        let mut points = Vec::new();
        for n in 1..=20 {
            match p.next_delay(n, None, 0.5) {
                Some(d) => {
                    at += d;
                    points.push(at.as_secs());
                }
                None => break,
            }
        }
        assert_eq!(
            points,
            [
                5,
                5 + 300,
                5 + 300 + 1800,
                2105 + 7200,
                9305 + 18000,
                27305 + 36000,
                24 * HOUR
            ]
        );
        assert_eq!(p.max_attempts(), 8);
        assert_eq!(p.next_delay(8, None, 0.5), None);
        assert_eq!(p.next_delay(0, None, 0.5), Some(Duration::ZERO));
    }

    #[test]
    fn jitter_is_twenty_percent_either_way() {
        let p = RetryPolicy::default();
        assert_eq!(p.next_delay(2, None, 0.0), Some(secs(240)));
        assert_eq!(p.next_delay(2, None, 1.0), Some(secs(360)));
        assert_eq!(p.next_delay(2, None, f64::NAN), Some(secs(300)));
        assert_eq!(p.next_delay(2, None, 7.0), Some(secs(360)));
    }

    #[test]
    fn retry_after_is_honoured_when_longer_and_capped() {
        let p = RetryPolicy::default();
        assert_eq!(p.next_delay(1, Some(secs(60)), 0.5), Some(secs(60)));
        assert_eq!(p.next_delay(1, Some(secs(1)), 0.5), Some(secs(5)));
        assert_eq!(
            p.next_delay(1, Some(secs(100 * HOUR)), 0.5),
            Some(RETRY_AFTER_CAP)
        );
        // Retry-After does not extend the schedule past giving up.
        assert_eq!(p.next_delay(8, Some(secs(60)), 0.5), None);
    }

    #[test]
    fn a_horizon_shorter_than_the_steps_adds_nothing() {
        let p = RetryPolicy {
            steps: vec![secs(10), secs(20)],
            horizon: Some(secs(15)),
        };
        assert_eq!(p.delays(), [secs(10), secs(20)]);
        assert_eq!(p.max_attempts(), 3);
        let none = RetryPolicy {
            steps: vec![],
            horizon: None,
        };
        assert_eq!(none.next_delay(1, None, 0.5), None);
    }

    #[test]
    fn retry_after_forms() {
        let now: jiff::Timestamp = "2015-10-21T07:27:00Z".parse().expect("ts");
        assert_eq!(parse_retry_after("120", now), Some(secs(120)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(secs(0)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(secs(60))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
        for bad in ["", "-5", "1.5", "soon", "Wed, 21 Oct 2015 07:28:00 +0000"] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn outcomes_of_http_codes() {
        assert_eq!(
            Outcome::from_http(204, None),
            Outcome::Delivered { code: 204 }
        );
        assert_eq!(Outcome::from_http(410, None), Outcome::Gone { code: 410 });
        let r = Outcome::from_http(429, Some(secs(30)));
        assert!(matches!(
            r,
            Outcome::Retry {
                code: Some(429),
                retry_after: Some(_),
                ..
            }
        ));
        assert!(r.is_endpoint_failure());
        assert!(matches!(
            Outcome::from_http(400, None),
            Outcome::Retry { .. }
        ));
        assert!(!Outcome::Refused { error: "x".into() }.is_endpoint_failure());
    }

    proptest! {
        #[test]
        fn delays_stay_within_the_jitter_band(n in 1u32..10, r in 0.0f64..=1.0) {
            let p = RetryPolicy::default();
            let delays = p.delays();
            match p.next_delay(n, None, r) {
                Some(d) => {
                    let base = delays[(n - 1) as usize];
                    prop_assert!(d >= base.mul_f64(0.8) && d <= base.mul_f64(1.2));
                }
                None => prop_assert!(n as usize > delays.len()),
            }
        }

        #[test]
        fn retry_after_never_shortens_nor_exceeds_the_cap(
            n in 1u32..8, r in 0.0f64..=1.0, ra in 0u64..400_000
        ) {
            let p = RetryPolicy::default();
            let plain = p.next_delay(n, None, r).expect("within schedule");
            let asked = p.next_delay(n, Some(secs(ra)), r).expect("within schedule");
            prop_assert!(asked >= plain.min(RETRY_AFTER_CAP));
            prop_assert!(asked <= plain.max(RETRY_AFTER_CAP));
        }
    }
}
