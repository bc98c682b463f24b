//! Partitions of the event log. An order's events all go to one partition, chosen by a hash of
//! (tenant, order id) that every process computes alike, so that one consumer per partition
//! applies them in order, owns the partition's checkpoint and fires its timers (rule deadlines,
//! snoozes, notification retries). The embedded store has one partition; a queue with several
//! consumers has as many as it was created with.

use std::fmt;
use waypost_domain::TenantId;

/// One partition, numbered from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Partition(pub u16);

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "partition {}", self.0)
    }
}

/// How many partitions the log has, and which one an order is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partitioning {
    count: u16,
}

impl Partitioning {
    /// Everything in partition 0: the embedded store.
    pub const SINGLE: Partitioning = Partitioning { count: 1 };

    /// `count` partitions; `None` for 0.
    pub fn new(count: u16) -> Option<Partitioning> {
        (count > 0).then_some(Partitioning { count })
    }

    pub fn count(self) -> u16 {
        self.count
    }

    /// Every partition, in order.
    pub fn all(self) -> impl Iterator<Item = Partition> {
        (0..self.count).map(Partition)
    }

    /// The partition of `(tenant, order_id)`. The hash is FNV-1a 64 over the tenant, a 0 byte
    /// and the order id: fixed here, never `std`'s randomly seeded hasher, because processes of
    /// different builds must agree on it for as long as the data lives.
    pub fn of(self, tenant: &TenantId, order_id: &str) -> Partition {
        if self.count == 1 {
            return Partition(0);
        }
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in tenant.as_str().bytes().chain([0]).chain(order_id.bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        Partition((h % u64::from(self.count)) as u16)
    }

    /// Whether `partition` is one of these.
    pub fn contains(self, partition: Partition) -> bool {
        partition.0 < self.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(s: &str) -> TenantId {
        TenantId::new(s).expect("tenant")
    }

    #[test]
    fn the_hash_is_fixed_across_builds() {
        // Golden values: changing them moves every stored order to another partition.
        let p = Partitioning::new(16).expect("16");
        assert_eq!(p.of(&t("acme"), "ORD-1"), p.of(&t("acme"), "ORD-1"));
        let got: Vec<u16> = ["ORD-1", "ORD-2", "ORD-3", "A", ""]
            .iter()
            .map(|o| p.of(&t("acme"), o).0)
            .collect();
        assert_eq!(got, [10, 7, 4, 4, 13]);
        // The separator keeps ("ab", "c") and ("a", "bc") apart.
        let q = Partitioning::new(u16::MAX).expect("max");
        assert_ne!(q.of(&t("ab"), "c"), q.of(&t("a"), "bc"));
    }

    #[test]
    fn single_is_partition_zero_and_zero_partitions_do_not_exist() {
        assert_eq!(Partitioning::SINGLE.of(&t("x"), "y"), Partition(0));
        assert_eq!(Partitioning::new(0), None);
        assert_eq!(
            Partitioning::SINGLE.all().collect::<Vec<_>>(),
            vec![Partition(0)]
        );
    }

    #[test]
    fn orders_spread_evenly() {
        let p = Partitioning::new(8).expect("8");
        let mut counts = [0u32; 8];
        for i in 0..8_000 {
            counts[p.of(&t("acme"), &format!("ORD-{i}")).0 as usize] += 1;
        }
        for c in counts {
            assert!((800..1200).contains(&c), "uneven spread: {counts:?}");
        }
    }

    proptest! {
        #[test]
        fn every_order_is_in_exactly_one_listed_partition(
            n in 1u16..64, tenant in "[a-z]{1,8}", order in ".{0,20}"
        ) {
            let p = Partitioning::new(n).expect("n > 0");
            let part = p.of(&t(&tenant), &order);
            prop_assert!(p.contains(part));
            prop_assert_eq!(p.all().filter(|q| *q == part).count(), 1);
        }
    }
}
