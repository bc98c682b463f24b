//! The timer index against a plain reference (a BTreeMap of key -> due, scanned in full) for
//! random schedule / cancel / pop sequences: same answers, same order, every step.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use jiff::Timestamp;
use proptest::prelude::*;
use std::collections::BTreeMap;
use waypost_rules::TimerIndex;

type Key = (u64, u16);

#[derive(Debug, Clone)]
enum Op {
    Schedule(Key, i64),
    Cancel(Key),
    Pop(i64, usize),
}

fn arb_key() -> impl Strategy<Value = Key> {
    (0u64..12, 0u16..3)
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (arb_key(), 0i64..100).prop_map(|(k, d)| Op::Schedule(k, d)),
        2 => arb_key().prop_map(Op::Cancel),
        2 => (0i64..110, 0usize..6).prop_map(|(n, m)| Op::Pop(n, m)),
    ]
}

fn t(s: i64) -> Timestamp {
    // Milliseconds apart, plus nanoseconds, so ties and sub-second order both occur.
    Timestamp::from_nanosecond(1_800_000_000_000_000_000 + i128::from(s) * 1_000_123).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn behaves_like_the_reference(ops in prop::collection::vec(arb_op(), 0..200)) {
        let mut idx: TimerIndex<Key> = TimerIndex::new();
        let mut model: BTreeMap<Key, i64> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Schedule(k, d) => {
                    idx.schedule(k, t(d));
                    model.insert(k, d);
                }
                Op::Cancel(k) => {
                    prop_assert_eq!(idx.cancel(k), model.remove(&k).is_some());
                }
                Op::Pop(now, max) => {
                    let mut due: Vec<(i64, Key)> =
                        model.iter().filter(|(_, d)| **d <= now).map(|(k, d)| (*d, *k)).collect();
                    due.sort();
                    due.truncate(max);
                    for (_, k) in &due {
                        model.remove(k);
                    }
                    let want: Vec<(Key, Timestamp)> = due.into_iter().map(|(d, k)| (k, t(d))).collect();
                    prop_assert_eq!(idx.pop_due(t(now), max), want);
                }
            }
            prop_assert_eq!(idx.len(), model.len());
            prop_assert_eq!(idx.next_due(), model.values().min().map(|d| t(*d)));
            for (k, d) in &model {
                prop_assert_eq!(idx.get(*k), Some(t(*d)));
            }
        }
    }
}
