//! When to ask a carrier about a shipment again. A shipment about to be delivered, or in
//! trouble, changes often and someone is waiting for the news: `fast`. One moving through the
//! network: `normal`. One that just got its label or just left: `slow`, nothing will happen
//! for hours. A final status: once more, `after_final` later (carriers post scans late: a
//! delivery photo, an in-transit scan uploaded after the delivery), then never again. A
//! shipment whose promised date is near (or past) is polled `fast` whatever its status,
//! because that is when a customer asks.

use serde::Deserialize;
use std::time::Duration;
use waypost_domain::Status;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleConfig {
    /// Out for delivery, exception, delayed, attempt failed, or near the promised date.
    #[serde(with = "crate::config::duration")]
    pub fast: Duration,
    /// In transit and everything not named elsewhere.
    #[serde(with = "crate::config::duration")]
    pub normal: Duration,
    /// Label created, or shipped less than `fresh_for` ago.
    #[serde(with = "crate::config::duration")]
    pub slow: Duration,
    /// How long a shipment counts as "just left".
    #[serde(with = "crate::config::duration")]
    pub fresh_for: Duration,
    /// A promised date closer than this (or already past) makes the poll `fast`.
    #[serde(with = "crate::config::duration")]
    pub near_delivery: Duration,
    /// The last look at a shipment in a final status, this long after it got there; zero
    /// stops polling at the final status.
    #[serde(with = "crate::config::duration")]
    pub after_final: Duration,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        Self {
            fast: Duration::from_secs(15 * 60),
            normal: Duration::from_secs(60 * 60),
            slow: Duration::from_secs(4 * 60 * 60),
            fresh_for: Duration::from_secs(12 * 60 * 60),
            near_delivery: Duration::from_secs(24 * 60 * 60),
            after_final: Duration::from_secs(24 * 60 * 60),
        }
    }
}

/// What the schedule knows about a shipment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tracked {
    pub status: Status,
    /// When it entered `status`.
    pub status_at: jiff::Timestamp,
    pub promised_at: Option<jiff::Timestamp>,
}

impl ScheduleConfig {
    /// How long after `now` the last look at a shipment in a final status is due (zero when
    /// already due), or `None` when there is none to take.
    pub fn final_look(&self, t: &Tracked, now: jiff::Timestamp) -> Option<Duration> {
        if self.after_final.is_zero() {
            return None;
        }
        let age = Duration::try_from(now.duration_since(t.status_at)).unwrap_or(Duration::ZERO);
        Some(self.after_final.saturating_sub(age))
    }

    /// How long until the next poll of a shipment, or `None` to stop polling it.
    pub fn interval(&self, t: &Tracked, now: jiff::Timestamp) -> Option<Duration> {
        if t.status.is_closed() {
            return None;
        }
        let urgent = matches!(
            t.status,
            Status::OutForDelivery | Status::Exception | Status::Delayed | Status::AttemptFailed
        );
        let near = t.promised_at.is_some_and(|p| {
            let left = p.duration_since(now);
            left.as_secs() < i64::try_from(self.near_delivery.as_secs()).unwrap_or(i64::MAX)
        });
        if urgent || near {
            return Some(self.fast);
        }
        let age = now.duration_since(t.status_at);
        let fresh = age.as_secs() < i64::try_from(self.fresh_for.as_secs()).unwrap_or(i64::MAX);
        Some(match t.status {
            Status::Pending
            | Status::Allocated
            | Status::Picked
            | Status::Packed
            | Status::LabelCreated => self.slow,
            Status::Shipped if fresh => self.slow,
            _ => self.normal,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(s: &str) -> jiff::Timestamp {
        s.parse().expect("a valid timestamp literal")
    }

    fn tracked(status: Status, status_at: &str, promised: Option<&str>) -> Tracked {
        Tracked {
            status,
            status_at: at(status_at),
            promised_at: promised.map(at),
        }
    }

    #[test]
    fn the_table() {
        let c = ScheduleConfig::default();
        let now = at("2026-03-10T12:00:00Z");
        let cases = [
            (
                Status::OutForDelivery,
                "2026-03-10T08:00:00Z",
                None,
                Some(c.fast),
            ),
            (
                Status::Exception,
                "2026-03-01T08:00:00Z",
                None,
                Some(c.fast),
            ),
            (Status::Delayed, "2026-03-09T08:00:00Z", None, Some(c.fast)),
            (
                Status::AttemptFailed,
                "2026-03-10T11:00:00Z",
                None,
                Some(c.fast),
            ),
            (
                Status::InTransit,
                "2026-03-09T08:00:00Z",
                None,
                Some(c.normal),
            ),
            (
                Status::LabelCreated,
                "2026-03-10T11:00:00Z",
                None,
                Some(c.slow),
            ),
            (Status::Shipped, "2026-03-10T11:00:00Z", None, Some(c.slow)),
            // Shipped two days ago and silent since: it should have moved, look more often.
            (
                Status::Shipped,
                "2026-03-08T11:00:00Z",
                None,
                Some(c.normal),
            ),
            (Status::Delivered, "2026-03-10T11:00:00Z", None, None),
            (Status::Returned, "2026-03-10T11:00:00Z", None, None),
            (Status::Cancelled, "2026-03-10T11:00:00Z", None, None),
            (Status::Lost, "2026-03-10T11:00:00Z", None, None),
            // Promised tomorrow morning: fast, whatever the status says.
            (
                Status::InTransit,
                "2026-03-09T08:00:00Z",
                Some("2026-03-11T09:00:00Z"),
                Some(c.fast),
            ),
            // Promised date passed: fast.
            (
                Status::InTransit,
                "2026-03-09T08:00:00Z",
                Some("2026-03-09T09:00:00Z"),
                Some(c.fast),
            ),
            (
                Status::InTransit,
                "2026-03-09T08:00:00Z",
                Some("2026-03-20T09:00:00Z"),
                Some(c.normal),
            ),
        ];
        for (status, since, promised, want) in cases {
            assert_eq!(
                c.interval(&tracked(status, since, promised), now),
                want,
                "{status} since {since}, promised {promised:?}"
            );
        }
    }

    proptest! {
        /// Final statuses are never polled; every other status is polled at one of the three
        /// configured intervals; trouble is never polled slower than calm transit.
        #[test]
        fn final_never_others_one_of_three(
            i in 0usize..Status::ALL.len(),
            age_s in 0i64..30 * 86_400,
            promised_in in proptest::option::of(-10 * 86_400i64..30 * 86_400),
        ) {
            let c = ScheduleConfig::default();
            let now = at("2026-03-10T12:00:00Z");
            let status = Status::ALL[i];
            let t = Tracked {
                status,
                status_at: now - jiff::SignedDuration::from_secs(age_s),
                promised_at: promised_in.map(|s| now + jiff::SignedDuration::from_secs(s)),
            };
            let got = c.interval(&t, now);
            if status.is_closed() {
                prop_assert_eq!(got, None);
            } else {
                let got = got.expect("a live shipment is polled");
                prop_assert!([c.fast, c.normal, c.slow].contains(&got));
                if matches!(status, Status::Exception | Status::OutForDelivery) {
                    prop_assert_eq!(got, c.fast);
                }
            }
        }
    }
}
