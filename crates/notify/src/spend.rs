//! The SMS spend cap: a tenant's text messages cost money per segment, and a bug (or a flood
//! of exceptions) must not send a fortune's worth in a day. Days are civil days in the cap's
//! time zone, so "per day" means the tenant's day.
//!
//! [`SpendLedger`] is the dispatcher's in-memory tally: a message reserves its cost before it
//! is sent, and a reservation that would cross the cap is refused, so concurrent sends can
//! never overshoot together. The store keeps the durable tally (`sms_spend`); the ledger is
//! seeded from it at start.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct SpendCap {
    /// The most a tenant may spend on SMS in one day, in cents. 0 = no SMS at all.
    pub per_day_cents: u64,
    pub cents_per_segment: u64,
    pub tz: TimeZone,
}

impl SpendCap {
    /// The civil day `now` falls on in the cap's zone; its `Display` is `YYYY-MM-DD`, the
    /// store's key.
    pub fn day_of(&self, now: Timestamp) -> Date {
        self.tz.to_datetime(now).date()
    }

    /// [`Self::day_of`] as the store's `YYYY-MM-DD` key.
    pub fn day_key(&self, now: Timestamp) -> String {
        self.day_of(now).to_string()
    }

    /// What a message of `segments` segments costs, in cents.
    pub fn cost(&self, segments: usize) -> u64 {
        u64::try_from(segments)
            .unwrap_or(u64::MAX)
            .saturating_mul(self.cents_per_segment)
    }

    /// Whether a message costing `cost_cents` may go when `spent_cents` are spent today.
    pub fn admits(&self, spent_cents: u64, cost_cents: u64) -> bool {
        spent_cents
            .checked_add(cost_cents)
            .is_some_and(|total| total <= self.per_day_cents)
    }
}

/// Spend per (tenant, day), in cents, with reservations that never cross the cap.
#[derive(Debug, Clone)]
pub struct SpendLedger {
    cap: SpendCap,
    spent: HashMap<(String, Date), u64>,
}

impl SpendLedger {
    pub fn new(cap: SpendCap) -> Self {
        Self {
            cap,
            spent: HashMap::new(),
        }
    }

    pub fn cap(&self) -> &SpendCap {
        &self.cap
    }

    /// What the store says was spent: the ledger keeps the larger of its own tally and this.
    pub fn seed(&mut self, tenant: &str, day: Date, cents: u64) {
        let e = self.spent.entry((tenant.to_string(), day)).or_insert(0);
        *e = (*e).max(cents);
    }

    pub fn spent(&self, tenant: &str, day: Date) -> u64 {
        self.spent
            .get(&(tenant.to_string(), day))
            .copied()
            .unwrap_or(0)
    }

    /// Reserves `cost` cents of the tenant's day; false (and nothing reserved) when that
    /// would cross the cap.
    pub fn try_reserve(&mut self, tenant: &str, day: Date, cost: u64) -> bool {
        let e = self.spent.entry((tenant.to_string(), day)).or_insert(0);
        if self.cap.admits(*e, cost) {
            *e += cost;
            true
        } else {
            false
        }
    }

    /// Gives a reservation back (the message was not sent after all).
    pub fn release(&mut self, tenant: &str, day: Date, cost: u64) {
        if let Some(e) = self.spent.get_mut(&(tenant.to_string(), day)) {
            *e = e.saturating_sub(cost);
        }
    }

    /// Drops the days before `day`: the ledger holds only what can still be spent.
    pub fn forget_before(&mut self, day: Date) {
        self.spent.retain(|(_, d), _| *d >= day);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cap(per_day: u64, tz: &str) -> SpendCap {
        SpendCap {
            per_day_cents: per_day,
            cents_per_segment: 8,
            tz: TimeZone::get(tz).expect("zone"),
        }
    }

    #[test]
    fn days_are_the_tenants_days() {
        let c = cap(1000, "America/Los_Angeles");
        let now: Timestamp = "2026-06-02T05:00:00Z".parse().expect("ts");
        assert_eq!(c.day_key(now), "2026-06-01");
        assert_eq!(cap(1000, "Asia/Tokyo").day_key(now), "2026-06-02");
    }

    #[test]
    fn costs_and_admission() {
        let c = cap(100, "UTC");
        assert_eq!(c.cost(3), 24);
        assert_eq!(c.cost(usize::MAX), u64::MAX);
        assert!(c.admits(76, 24));
        assert!(!c.admits(77, 24));
        assert!(!c.admits(u64::MAX, 1));
        assert!(!cap(0, "UTC").admits(0, 8));
    }

    #[test]
    fn ledger_reserves_releases_and_forgets() {
        let mut l = SpendLedger::new(cap(20, "UTC"));
        let d1 = Date::constant(2026, 1, 1);
        let d2 = Date::constant(2026, 1, 2);
        assert!(l.try_reserve("a", d1, 8));
        assert!(l.try_reserve("a", d1, 8));
        assert!(!l.try_reserve("a", d1, 8));
        assert!(l.try_reserve("b", d1, 8), "tenants are apart");
        assert!(l.try_reserve("a", d2, 8), "days are apart");
        l.release("a", d1, 8);
        assert_eq!(l.spent("a", d1), 8);
        l.seed("a", d1, 16);
        assert_eq!(l.spent("a", d1), 16);
        l.seed("a", d1, 1);
        assert_eq!(l.spent("a", d1), 16);
        l.forget_before(d2);
        assert_eq!(l.spent("a", d1), 0);
        assert_eq!(l.spent("a", d2), 8);
    }

    proptest! {
        #[test]
        fn a_flood_never_crosses_the_cap(
            per_day in 0u64..500,
            costs in proptest::collection::vec((0usize..3, 0u64..60), 0..300),
        ) {
            let mut l = SpendLedger::new(cap(per_day, "UTC"));
            let day = Date::constant(2026, 5, 1);
            let tenants = ["a", "b", "c"];
            let mut admitted = [0u64; 3];
            for (t, cost) in costs {
                let before = l.spent(tenants[t], day);
                let ok = l.try_reserve(tenants[t], day, cost);
                prop_assert_eq!(ok, before + cost <= per_day);
                if ok {
                    admitted[t] += cost;
                }
                prop_assert!(l.spent(tenants[t], day) <= per_day);
            }
            for (t, name) in tenants.iter().enumerate() {
                prop_assert_eq!(l.spent(name, day), admitted[t]);
            }
        }
    }
}
