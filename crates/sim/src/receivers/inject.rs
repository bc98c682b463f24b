//! The receivers' faults, pure: a seeded draw per (channel, message id, attempt) for the
//! transient errors, and the outage window in simulated time.

use super::{Channel, ReceiverOutage};
use crate::faults::unit;
use jiff::{SignedDuration, Timestamp};

/// What an injected failure looks like on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Injected {
    /// HTTP 500 or 503 (portal, SMS); SMTP answers 451 whatever the code.
    Error(u16),
}

/// The failure for attempt `attempt` (0-based) of `msg_id` on `channel`, if any: a share
/// `error_rate` of attempts fail, each decided independently of every other.
pub fn decide(
    seed: u64,
    error_rate: f64,
    channel: Channel,
    msg_id: &str,
    attempt: u32,
) -> Option<Injected> {
    let attempt = attempt.to_string();
    let u = unit(seed, &["receiver", channel.as_str(), msg_id, &attempt]);
    if u >= error_rate.clamp(0.0, 1.0) {
        return None;
    }
    let pick = unit(
        seed,
        &["receiver.status", channel.as_str(), msg_id, &attempt],
    );
    Some(Injected::Error(if pick < 0.5 { 500 } else { 503 }))
}

/// Whether simulated instant `sim` lies in the outage `[start, start + duration)` of
/// `channel`, counted from the world's start `origin`.
pub fn in_outage(
    outage: Option<&ReceiverOutage>,
    channel: Channel,
    origin: Timestamp,
    sim: Timestamp,
) -> bool {
    let Some(o) = outage else {
        return false;
    };
    if !o.channels.contains(&channel) {
        return false;
    }
    let offset = SignedDuration::try_from_secs_f64(o.start_sim_minutes * 60.0).unwrap_or_default();
    let length =
        SignedDuration::try_from_secs_f64(o.duration_sim_minutes * 60.0).unwrap_or_default();
    let Some(total) = offset.checked_add(length) else {
        return false;
    };
    let (Ok(start), Ok(end)) = (origin.checked_add(offset), origin.checked_add(total)) else {
        return false;
    };
    start <= sim && sim < end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_reproducible_independent_and_near_the_rate() {
        let mut failed = 0;
        for i in 0..10_000 {
            let id = format!("msg_{i}");
            let a = decide(7, 0.10, Channel::Webhook, &id, 0);
            assert_eq!(a, decide(7, 0.10, Channel::Webhook, &id, 0));
            failed += usize::from(a.is_some());
        }
        let share = failed as f64 / 10_000.0;
        assert!((0.08..0.12).contains(&share), "{share}");
        // Another seed draws differently; a rate of 0 never fails, 1 always.
        let differs = (0..200)
            .filter(|i| {
                let id = format!("msg_{i}");
                decide(7, 0.5, Channel::Sms, &id, 0) != decide(8, 0.5, Channel::Sms, &id, 0)
            })
            .count();
        assert!(differs > 50, "{differs}");
        assert_eq!(decide(7, 0.0, Channel::Email, "m", 0), None);
        assert!(decide(7, 1.0, Channel::Email, "m", 3).is_some());
    }

    #[test]
    fn a_retry_gets_a_fresh_draw() {
        // With 10 % errors, no message fails ten attempts in a row.
        for i in 0..1000 {
            let id = format!("msg_{i}");
            assert!(
                (0..10).any(|n| decide(1, 0.10, Channel::Webhook, &id, n).is_none()),
                "{id}"
            );
        }
    }

    #[test]
    fn the_outage_is_half_open_in_simulated_time_and_per_channel() {
        let origin: Timestamp = "2026-11-26T00:00:00Z"
            .parse()
            .unwrap_or(Timestamp::UNIX_EPOCH);
        let o = ReceiverOutage {
            start_sim_minutes: 60.0,
            duration_sim_minutes: 30.0,
            channels: vec![Channel::Webhook],
        };
        let at = |mins: i64| origin + SignedDuration::from_mins(mins);
        let hit = |c, m| in_outage(Some(&o), c, origin, at(m));
        assert!(!hit(Channel::Webhook, 59));
        assert!(hit(Channel::Webhook, 60));
        assert!(hit(Channel::Webhook, 89));
        assert!(!hit(Channel::Webhook, 90));
        assert!(!hit(Channel::Sms, 70));
        assert!(!in_outage(None, Channel::Webhook, origin, at(70)));
    }
}
