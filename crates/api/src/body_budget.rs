//! Per-tenant budget of request-body bytes being read at once. A partner (or anyone who knows
//! a tenant's name and sends a signed delivery's header names) can open many slow uploads; the
//! budget bounds what one tenant's uploads hold in memory, so the others' go on.
//!
//! A [`Reservation`] holds bytes until it is dropped: reserved up front for a declared
//! `Content-Length`, grown chunk by chunk for a chunked body.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use waypost_domain::TenantId;

#[derive(Debug, Default)]
pub struct TenantBodies {
    // A std mutex: held for one map update, never across an await.
    in_flight: Mutex<HashMap<TenantId, usize>>,
}

/// Over the tenant's budget: how many bytes it already has in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverBudget {
    pub in_flight: usize,
    pub max: usize,
}

impl TenantBodies {
    /// Reserves `bytes` for `tenant`, or refuses when that would pass `max` in flight. A first
    /// reservation larger than `max` on its own still refuses: the budget is a hard bound.
    pub fn reserve(
        self: &Arc<Self>,
        tenant: &TenantId,
        bytes: usize,
        max: usize,
    ) -> Result<Reservation, OverBudget> {
        let mut r = Reservation {
            owner: self.clone(),
            tenant: tenant.clone(),
            bytes: 0,
        };
        r.grow(bytes, max)?;
        Ok(r)
    }

    /// Bytes in flight for `tenant` (for tests and metrics).
    pub fn in_flight(&self, tenant: &TenantId) -> usize {
        self.in_flight
            .lock()
            .map(|m| m.get(tenant).copied().unwrap_or(0))
            .unwrap_or(0)
    }
}

/// Bytes held against a tenant's budget; given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    owner: Arc<TenantBodies>,
    tenant: TenantId,
    bytes: usize,
}

impl Reservation {
    /// Makes the reservation at least `total` bytes.
    pub fn grow_to(&mut self, total: usize, max: usize) -> Result<(), OverBudget> {
        match total.checked_sub(self.bytes) {
            Some(more) if more > 0 => self.grow(more, max),
            _ => Ok(()),
        }
    }

    fn grow(&mut self, more: usize, max: usize) -> Result<(), OverBudget> {
        let Ok(mut map) = self.owner.in_flight.lock() else {
            // A poisoned map means a panic elsewhere; refusing is the safe side.
            return Err(OverBudget { in_flight: 0, max });
        };
        let now = map.get(&self.tenant).copied().unwrap_or(0);
        let after = now.saturating_add(more);
        if after > max {
            return Err(OverBudget {
                in_flight: now,
                max,
            });
        }
        map.insert(self.tenant.clone(), after);
        self.bytes += more;
        Ok(())
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.bytes == 0 {
            return;
        }
        if let Ok(mut map) = self.owner.in_flight.lock()
            && let Some(v) = map.get_mut(&self.tenant)
        {
            *v = v.saturating_sub(self.bytes);
            // Entries go when they reach zero: the map holds only tenants uploading now.
            if *v == 0 {
                map.remove(&self.tenant);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_tenant_over_its_budget_is_refused_and_others_are_not() {
        let b = Arc::new(TenantBodies::default());
        let acme = TenantId::new("acme").unwrap();
        let other = TenantId::new("other").unwrap();
        let first = b.reserve(&acme, 60, 100).unwrap();
        assert_eq!(
            b.reserve(&acme, 41, 100).unwrap_err(),
            OverBudget {
                in_flight: 60,
                max: 100
            }
        );
        let mut second = b.reserve(&acme, 40, 100).unwrap();
        assert!(second.grow_to(41, 100).is_err());
        assert!(b.reserve(&other, 100, 100).is_ok());
        drop(first);
        assert!(second.grow_to(100, 100).is_ok());
        assert_eq!(b.in_flight(&acme), 100);
        drop(second);
        assert_eq!(b.in_flight(&acme), 0);
        assert!(b.in_flight.lock().unwrap().is_empty());
    }

    proptest! {
        /// Whatever the order of reservations, growths and drops: the tenant's bytes in flight
        /// never pass the budget and equal the sum of the live reservations.
        #[test]
        fn the_budget_is_never_exceeded(ops in prop::collection::vec((0u8..3, 0usize..80), 1..60)) {
            let b = Arc::new(TenantBodies::default());
            let t = TenantId::new("t").unwrap();
            let mut live: Vec<Reservation> = Vec::new();
            for (op, n) in ops {
                match op {
                    0 => if let Ok(r) = b.reserve(&t, n, 200) { live.push(r) },
                    1 => if let Some(r) = live.last_mut() {
                        let total = r.bytes + n;
                        let _ = r.grow_to(total, 200);
                    },
                    _ => { if !live.is_empty() { live.remove(n % live.len()); } }
                }
                let sum: usize = live.iter().map(|r| r.bytes).sum();
                prop_assert!(sum <= 200);
                prop_assert_eq!(b.in_flight(&t), sum);
            }
        }
    }
}
