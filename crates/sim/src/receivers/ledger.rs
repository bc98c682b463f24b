//! The receivers' accounting: what arrived, what was accepted once, what twice, what out of
//! order. Pure: times come in as arguments. Built to hold a few million keys: every idempotency
//! key and every name (tenant, endpoint, order, trigger) interned once in an arena
//! ([`Strings`]), a key's state a fixed 64-byte record in a vector indexed by its id, times as
//! `i64` nanoseconds.

use super::Channel;
use super::strings::Strings;
use jiff::Timestamp;
use serde::Serialize;
use std::collections::HashMap;

/// Counters of one channel (or of all of them, in [`ReceiverReport::total`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ChannelCounts {
    /// Requests (HTTP) or messages and refused connections (SMTP) that reached the receiver.
    pub received: u64,
    /// Distinct idempotency keys accepted (2xx, 250).
    pub accepted: u64,
    /// Deliveries of an already-accepted key that were accepted again.
    pub duplicated: u64,
    /// Failures injected on purpose (random errors and the outage), never accepted.
    pub rejected_injected: u64,
    /// The part of `rejected_injected` that the outage window refused.
    pub rejected_outage: u64,
    /// Webhooks whose Standard Webhooks signature did not verify (401).
    pub bad_signatures: u64,
    /// SMS requests without the right basic auth (401).
    pub unauthorized: u64,
    /// Requests that could not be read: unknown tenant, missing id, order or seq, bad JSON;
    /// emails over the size limit or with a line over 1000 bytes.
    pub malformed: u64,
    /// Accepted transitions whose seq is lower than one already accepted for the same
    /// (channel, endpoint or recipient, order).
    pub out_of_order: u64,
}

impl ChannelCounts {
    fn add(&mut self, o: &ChannelCounts) {
        self.received += o.received;
        self.accepted += o.accepted;
        self.duplicated += o.duplicated;
        self.rejected_injected += o.rejected_injected;
        self.rejected_outage += o.rejected_outage;
        self.bad_signatures += o.bad_signatures;
        self.unauthorized += o.unauthorized;
        self.malformed += o.malformed;
        self.out_of_order += o.out_of_order;
    }
}

/// The body of `GET /receivers/report`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ReceiverReport {
    pub webhook: ChannelCounts,
    pub email: ChannelCounts,
    pub sms: ChannelCounts,
    /// The three channels added up.
    pub total: ChannelCounts,
}

impl ReceiverReport {
    pub fn channel(&self, c: Channel) -> &ChannelCounts {
        match c {
            Channel::Webhook => &self.webhook,
            Channel::Email => &self.email,
            Channel::Sms => &self.sms,
        }
    }
}

/// One accepted idempotency key, as the report lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AcceptedKey {
    pub channel: Channel,
    /// Empty when the message did not say (an email or SMS without `X-Waypost-Tenant`).
    pub tenant: String,
    /// The portal hook name (webhook), the recipient address or number (email, SMS).
    pub endpoint: String,
    pub order_id: String,
    /// The transition's seq (an alert's id for `alert.raised`).
    pub seq: u64,
    /// The status the order reached, or `alert.raised`; empty when the message did not say.
    pub trigger: String,
    pub msg_id: String,
    /// Simulated and wall-clock instants of the first acceptance.
    pub first_accepted_sim: Timestamp,
    pub first_accepted_wall: Timestamp,
    /// The transition's `changed_at` (simulated time) when the message carried it.
    pub changed_at: Option<Timestamp>,
    /// How many times it was accepted (1 + duplicates).
    pub accepted_times: u32,
}

impl AcceptedKey {
    /// Real time from the transition to the first acceptance, when `changed_at` is known.
    pub fn latency(&self, clock: &crate::SimClock) -> Option<jiff::SignedDuration> {
        let changed = clock.wall_at(self.changed_at?);
        Some(self.first_accepted_wall.duration_since(changed))
    }
}

/// What one delivery says about itself, borrowed from the request.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    pub channel: Channel,
    pub tenant: &'a str,
    pub endpoint: &'a str,
    pub order_id: &'a str,
    pub seq: u64,
    pub trigger: &'a str,
    pub msg_id: &'a str,
    pub changed_at: Option<Timestamp>,
    /// A status transition (alerts are not ordered against transitions).
    pub transition: bool,
}

/// How an acceptance was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acceptance {
    First,
    Duplicate,
}

const NO_TIME: i64 = i64::MIN;

fn nanos(t: Timestamp) -> i64 {
    i64::try_from(t.as_nanosecond()).unwrap_or(NO_TIME)
}

fn from_nanos(n: i64) -> Option<Timestamp> {
    (n != NO_TIME)
        .then(|| Timestamp::from_nanosecond(i128::from(n)).ok())
        .flatten()
}

/// One idempotency key's state. `accepted_times == 0`: only failed attempts so far, the
/// other fields unset.
struct KeyState {
    attempts: u32,
    accepted_times: u32,
    channel: Channel,
    tenant: u32,
    endpoint: u32,
    order: u32,
    trigger: u32,
    seq: u64,
    sim_ns: i64,
    wall_ns: i64,
    changed_ns: i64,
}

/// The accounting of every receiver.
#[derive(Default)]
pub struct Ledger {
    counts: [ChannelCounts; 3],
    /// Idempotency keys; a key's id indexes `states`.
    keys: Strings,
    states: Vec<KeyState>,
    names: Strings,
    /// Highest accepted transition seq per (interned "channel/tenant/endpoint", order).
    highest: HashMap<(u32, u32), u64>,
}

impl Ledger {
    pub fn counts_mut(&mut self, c: Channel) -> &mut ChannelCounts {
        &mut self.counts[c as usize]
    }

    /// Counts a request and returns which attempt (0-based) of `msg_id` on `channel` this is:
    /// the number of earlier draws, so the fault decided from it does not depend on timing.
    pub fn attempt(&mut self, channel: Channel, msg_id: &str) -> u32 {
        let k = self.state(channel, msg_id);
        let n = k.attempts;
        k.attempts = k.attempts.saturating_add(1);
        n
    }

    /// The state of `msg_id`, created empty if new.
    fn state(&mut self, channel: Channel, msg_id: &str) -> &mut KeyState {
        let id = self.keys.intern(msg_id) as usize;
        if id >= self.states.len() {
            self.states.push(KeyState {
                attempts: 0,
                accepted_times: 0,
                channel,
                tenant: 0,
                endpoint: 0,
                order: 0,
                trigger: 0,
                seq: 0,
                sim_ns: NO_TIME,
                wall_ns: NO_TIME,
                changed_ns: NO_TIME,
            });
        }
        let last = self.states.len() - 1;
        &mut self.states[id.min(last)]
    }

    /// Records an accepted delivery at (`sim`, `wall`).
    pub fn accept(&mut self, d: &Delivery<'_>, sim: Timestamp, wall: Timestamp) -> Acceptance {
        let endpoint_key = format!("{}\u{1f}{}\u{1f}{}", d.channel, d.tenant, d.endpoint);
        let endpoint_key = self.names.intern(&endpoint_key);
        let order = self.names.intern(d.order_id);
        let tenant = self.names.intern(d.tenant);
        let endpoint = self.names.intern(d.endpoint);
        let trigger = self.names.intern(d.trigger);
        let k = self.state(d.channel, d.msg_id);
        let first = k.accepted_times == 0;
        k.accepted_times = k.accepted_times.saturating_add(1);
        if first {
            *k = KeyState {
                attempts: k.attempts,
                accepted_times: 1,
                channel: d.channel,
                tenant,
                endpoint,
                order,
                trigger,
                seq: d.seq,
                sim_ns: nanos(sim),
                wall_ns: nanos(wall),
                changed_ns: d.changed_at.map_or(NO_TIME, nanos),
            };
        }
        // Only a first acceptance is judged for order: a duplicate is counted as one already.
        if first && d.transition {
            let high = self.highest.entry((endpoint_key, order)).or_insert(d.seq);
            if d.seq < *high {
                self.counts[d.channel as usize].out_of_order += 1;
            }
            *high = (*high).max(d.seq);
        }
        let counts = &mut self.counts[d.channel as usize];
        if first {
            counts.accepted += 1;
            Acceptance::First
        } else {
            counts.duplicated += 1;
            Acceptance::Duplicate
        }
    }

    pub fn report(&self) -> ReceiverReport {
        let [webhook, email, sms] = self.counts;
        let mut total = ChannelCounts::default();
        for c in &self.counts {
            total.add(c);
        }
        ReceiverReport {
            webhook,
            email,
            sms,
            total,
        }
    }

    /// Every accepted key, first accepted first.
    pub fn accepted(&self) -> Vec<AcceptedKey> {
        let mut out: Vec<AcceptedKey> = self
            .states
            .iter()
            .enumerate()
            .filter(|(_, k)| k.accepted_times > 0)
            .map(|(id, k)| AcceptedKey {
                channel: k.channel,
                tenant: self.names.get(k.tenant).to_owned(),
                endpoint: self.names.get(k.endpoint).to_owned(),
                order_id: self.names.get(k.order).to_owned(),
                seq: k.seq,
                trigger: self.names.get(k.trigger).to_owned(),
                msg_id: self
                    .keys
                    .get(u32::try_from(id).unwrap_or(u32::MAX))
                    .to_owned(),
                first_accepted_sim: from_nanos(k.sim_ns).unwrap_or(Timestamp::UNIX_EPOCH),
                first_accepted_wall: from_nanos(k.wall_ns).unwrap_or(Timestamp::UNIX_EPOCH),
                changed_at: from_nanos(k.changed_ns),
                accepted_times: k.accepted_times,
            })
            .collect();
        out.sort_by(|a, b| {
            (a.first_accepted_wall, &a.msg_id).cmp(&(b.first_accepted_wall, &b.msg_id))
        });
        out
    }

    /// Whether `msg_id` has been accepted.
    pub fn is_accepted(&self, msg_id: &str) -> bool {
        self.keys
            .find(msg_id)
            .and_then(|id| self.states.get(id as usize))
            .is_some_and(|k| k.accepted_times > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    fn d<'a>(msg: &'a str, order: &'a str, seq: u64) -> Delivery<'a> {
        Delivery {
            channel: Channel::Webhook,
            tenant: "acme",
            endpoint: "webhook",
            order_id: order,
            seq,
            trigger: "shipped",
            msg_id: msg,
            changed_at: Some(at(-5)),
            transition: true,
        }
    }

    #[test]
    fn a_key_twice_is_one_accepted_and_one_duplicate() {
        let mut l = Ledger::default();
        assert_eq!(l.attempt(Channel::Webhook, "m1"), 0);
        assert_eq!(
            l.accept(&d("m1", "o1", 3), at(100), at(1)),
            Acceptance::First
        );
        assert_eq!(l.attempt(Channel::Webhook, "m1"), 1);
        assert_eq!(
            l.accept(&d("m1", "o1", 3), at(200), at(2)),
            Acceptance::Duplicate
        );
        let r = l.report();
        assert_eq!(r.webhook.accepted, 1);
        assert_eq!(r.webhook.duplicated, 1);
        assert_eq!(r.webhook.out_of_order, 0);
        assert_eq!(r.total.accepted, 1);
        let keys = l.accepted();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].first_accepted_sim, at(100));
        assert_eq!(keys[0].first_accepted_wall, at(1));
        assert_eq!(keys[0].changed_at, Some(at(-5)));
        assert_eq!(keys[0].accepted_times, 2);
        assert_eq!(keys[0].order_id, "o1");
        assert_eq!(keys[0].trigger, "shipped");
    }

    #[test]
    fn a_lower_seq_after_a_higher_one_is_out_of_order() {
        let mut l = Ledger::default();
        l.accept(&d("m5", "o1", 5), at(1), at(1));
        l.accept(&d("m3", "o1", 3), at(2), at(2));
        // Its duplicate is a duplicate, not a second disorder.
        l.accept(&d("m3", "o1", 3), at(2), at(2));
        // Another order, another endpoint, an alert: none of them compare with o1's seq 5.
        l.accept(&d("m4", "o2", 4), at(3), at(3));
        let mut other = d("m2", "o1", 2);
        other.endpoint = "other";
        l.accept(&other, at(4), at(4));
        let mut alert = d("a1", "o1", 1);
        alert.transition = false;
        l.accept(&alert, at(5), at(5));
        assert_eq!(l.report().webhook.out_of_order, 1);
        assert_eq!(l.report().webhook.accepted, 5);
        assert_eq!(l.report().webhook.duplicated, 1);
    }

    #[test]
    fn failed_attempts_alone_are_not_accepted() {
        let mut l = Ledger::default();
        assert_eq!(l.attempt(Channel::Sms, "m"), 0);
        assert_eq!(l.attempt(Channel::Sms, "m"), 1);
        assert!(!l.is_accepted("m"));
        assert!(l.accepted().is_empty());
        let mut s = d("m", "o", 1);
        s.channel = Channel::Sms;
        l.accept(&s, at(1), at(1));
        assert!(l.is_accepted("m"));
        assert_eq!(
            l.attempt(Channel::Sms, "m"),
            2,
            "attempts survive acceptance"
        );
    }
}
