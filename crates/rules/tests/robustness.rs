//! No input makes the crate panic: arbitrary text and arbitrary (mostly wrong) rule tables go
//! through validation, arbitrary facts (instants anywhere in jiff's range) through evaluation.
//! Evaluation also agrees with itself: every deadline it hands out holds when re-checked at
//! that deadline.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use toml::{Table, Value};
use waypost_domain::{Reason, Status};
use waypost_rules::{Arrival, Facts, RuleSet, SourceFacts, Subject, Verdict};

const KEYS: &[&str] = &[
    "name",
    "kind",
    "subject",
    "statuses",
    "reasons",
    "unknown",
    "regression",
    "after",
    "within",
    "max_error_rate",
    "sources",
    "severity",
    "calendar",
    "enabled",
    "filter",
    "overrides",
    "when",
    "tenant",
    "carrier",
    "tenants",
    "min_order_value",
    "max_order_value",
    "zone",
    "days",
    "hours",
    "holidays",
    "junk",
];
const WORDS: &[&str] = &[
    "dwell",
    "silence",
    "promise",
    "event",
    "source",
    "pending",
    "in_transit",
    "weather",
    "4h",
    "0s",
    "1h30m",
    "-2d",
    "mon",
    "08:00-18:00",
    "24:00-08:00",
    "UTC",
    "America/Chicago",
    "2026-12-25",
    "high",
    "order",
    "office",
    "",
    "x",
];

fn arb_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        prop::sample::select(WORDS).prop_map(|w| Value::String(w.to_string())),
        any::<i64>().prop_map(Value::Integer),
        prop_oneof![any::<f64>(), -2.0f64..2.0].prop_map(Value::Float),
        any::<bool>().prop_map(Value::Boolean),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(prop::sample::select(KEYS), inner, 0..6).prop_map(|m| {
                Value::Table(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

fn arb_file() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(
            prop::collection::btree_map(prop::sample::select(KEYS), arb_value(), 0..8),
            0..4,
        ),
        prop::collection::btree_map(
            prop::sample::select(&["office", "Bad", "x"][..]),
            prop::collection::btree_map(prop::sample::select(KEYS), arb_value(), 0..5),
            0..2,
        ),
    )
        .prop_map(|(rules, cals)| {
            let mut doc = Table::new();
            let rules = rules
                .into_iter()
                .map(|r| Value::Table(r.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
                .collect();
            doc.insert("rules".into(), Value::Array(rules));
            let cals: Table = cals
                .into_iter()
                .map(|(n, c)| {
                    (
                        n.to_string(),
                        Value::Table(c.into_iter().map(|(k, v)| (k.to_string(), v)).collect()),
                    )
                })
                .collect();
            doc.insert("calendars".into(), Value::Table(cals));
            toml::to_string(&doc).unwrap_or_default()
        })
}

fn arb_instant() -> impl Strategy<Value = Timestamp> {
    prop_oneof![
        1 => Just(Timestamp::MIN),
        1 => Just(Timestamp::MAX),
        2 => (Timestamp::MIN.as_second()..=Timestamp::MAX.as_second()).prop_map(|s| Timestamp::from_second(s).unwrap()),
        6 => (1_790_000_000i64..1_800_000_000).prop_map(|s| Timestamp::from_second(s).unwrap()),
    ]
}

fn pick<T: Clone + std::fmt::Debug + 'static>(items: &'static [T]) -> impl Strategy<Value = T> {
    prop::sample::select(items)
}

#[derive(Debug, Clone)]
struct OwnedFacts {
    tenant: &'static str,
    subject: Subject,
    status: Status,
    reason: Option<Reason>,
    since: Timestamp,
    last: Timestamp,
    promised: Option<Timestamp>,
    carrier: Option<&'static str>,
    channel: Option<&'static str>,
    value: Option<f64>,
}

fn arb_facts() -> impl Strategy<Value = OwnedFacts> {
    (
        pick(&["acme", "globex"]),
        pick(&[Subject::Order, Subject::Shipment]),
        pick(&Status::ALL),
        prop::option::of(pick(&Reason::ALL)),
        arb_instant(),
        arb_instant(),
        prop::option::of(arb_instant()),
        prop::option::of(pick(&["ups", "fedex", "usps", "wms"])),
        prop::option::of(pick(&["shop", "marketplace"])),
        prop::option::of(prop_oneof![any::<f64>(), 0.0f64..10_000.0]),
    )
        .prop_map(
            |(tenant, subject, status, reason, since, last, promised, carrier, channel, value)| {
                OwnedFacts {
                    tenant,
                    subject,
                    status,
                    reason,
                    since,
                    last,
                    promised,
                    carrier,
                    channel,
                    value,
                }
            },
        )
}

impl OwnedFacts {
    fn facts(&self) -> Facts<'_> {
        Facts {
            tenant: self.tenant,
            subject: self.subject,
            status: self.status,
            reason: self.reason,
            status_since: self.since,
            last_event_at: self.last.max(self.since),
            promised_at: self.promised,
            carrier: self.carrier,
            service: Some("ground"),
            channel: self.channel,
            warehouse: None,
            order_value: self.value,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn any_text_is_accepted_or_refused_without_panicking(text in ".{0,300}") {
        let _ = RuleSet::from_toml(&text);
    }

    #[test]
    fn any_rule_table_is_accepted_or_refused_with_problems(text in arb_file()) {
        if let Err(e) = RuleSet::from_toml(&text) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn evaluation_never_panics_and_deadlines_hold_at_their_due(
        f in arb_facts(),
        fired in arb_instant(),
        now in arb_instant(),
        status in pick(&Status::ALL),
        regression in any::<bool>(),
        rate in prop_oneof![any::<f64>(), 0.0f64..1.0],
    ) {
        let set = RuleSet::from_toml(include_str!("../examples/rules.toml")).unwrap();
        let facts = f.facts();
        for d in set.deadlines(&facts) {
            prop_assert_eq!(set.deadline(d.rule, &facts), Some(d.due));
            prop_assert_eq!(set.recheck(d.rule, d.due, &facts, d.due), Verdict::Holds);
            let _ = set.recheck(d.rule, fired, &facts, now);
        }
        let arrival = Arrival { status, reason: f.reason, regression };
        for r in set.triggered(&facts, &arrival) {
            let _ = set.recheck(r, fired, &facts, now);
        }
        for r in set.rules() {
            let _ = set.recheck(r.id, fired, &facts, now);
        }
        let src = SourceFacts {
            tenant: f.tenant,
            source: f.carrier.unwrap_or("ups"),
            last_success: Some(f.since),
            last_event: f.promised,
            error_rate_5m: rate,
        };
        for r in set.source_rules(&src, now) {
            prop_assert_eq!(set.recheck_source(r, &src, now), Verdict::Holds);
        }
        let _ = set.source_deadlines(&src);
        let _ = waypost_rules::impact(waypost_rules::Severity::High, f.value, now.duration_since(fired).checked_mul(1).or(Some(SignedDuration::MAX)));
    }
}
