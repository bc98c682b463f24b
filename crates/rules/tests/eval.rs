//! Evaluation through the public API: deadlines, event triggers, re-checks with late events,
//! source rules and the impact order. Times are event times; `now` is always an argument.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use jiff::{SignedDuration, Timestamp};
use waypost_domain::{Reason, Status};
use waypost_rules::{
    Arrival, Deadline, Facts, RuleId, RuleSet, Severity, SourceFacts, Subject, Verdict, impact,
};

const RULES: &str = r#"
[[rules]]
name = "pending-too-long"
kind = "dwell"
subject = "order"
statuses = ["pending"]
after = "4h"
[[rules.overrides]]
when = { tenant = "acme", channel = "marketplace" }
after = "6h"
severity = "critical"
[[rules.overrides]]
when = { tenant = "globex" }
enabled = false

[[rules]]
name = "in-transit-silent"
kind = "silence"
statuses = ["in_transit"]
after = "72h"
[rules.filter]
carriers = ["ups"]

[[rules]]
name = "promise-at-risk"
kind = "promise"
within = "1d"
[rules.filter]
min_order_value = 500

[[rules]]
name = "exceptions"
kind = "event"
statuses = ["exception", "attempt_failed"]

[[rules]]
name = "stockout"
kind = "event"
subject = "order"
statuses = ["backordered"]
reasons = ["stockout"]

[[rules]]
name = "odd"
kind = "event"
unknown = true
regression = true

[[rules]]
name = "partner-down"
kind = "source"
sources = ["ups", "wms"]
after = "30m"
max_error_rate = 0.2
[[rules.overrides]]
when = { carrier = "wms" }
after = "2h"
"#;

fn set() -> RuleSet {
    RuleSet::from_toml(RULES).unwrap_or_else(|e| panic!("{e}"))
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn id(set: &RuleSet, name: &str) -> RuleId {
    set.by_name(name).unwrap().id
}

const T0: &str = "2026-11-27T08:00:00Z";

fn facts(subject: Subject, status: Status, since: &str) -> Facts<'static> {
    Facts {
        tenant: "acme",
        subject,
        status,
        reason: None,
        status_since: t(since),
        last_event_at: t(since),
        promised_at: None,
        carrier: Some("ups"),
        service: None,
        channel: Some("shop"),
        warehouse: None,
        order_value: Some(120.0),
    }
}

fn hours(h: i64) -> Timestamp {
    t(T0).checked_add(SignedDuration::from_hours(h)).unwrap()
}

#[test]
fn dwell_deadline_follows_status_subject_and_overrides() {
    let set = set();
    let order = facts(Subject::Order, Status::Pending, T0);
    let rule = id(&set, "pending-too-long");
    assert_eq!(
        set.deadlines(&order),
        [Deadline {
            rule,
            due: hours(4)
        }]
    );
    // A shipment in pending is not what this rule watches; an order in allocated neither.
    assert!(
        set.deadlines(&facts(Subject::Shipment, Status::Pending, T0))
            .is_empty()
    );
    assert!(
        set.deadlines(&facts(Subject::Order, Status::Allocated, T0))
            .is_empty()
    );
    // acme's marketplace gets 6h and critical; globex has the rule switched off.
    let market = Facts {
        channel: Some("marketplace"),
        ..order
    };
    assert_eq!(set.deadline(rule, &market), Some(hours(6)));
    assert_eq!(
        set.severity(rule, &market.scope()),
        Some(Severity::Critical)
    );
    assert_eq!(set.severity(rule, &order.scope()), Some(Severity::Medium));
    assert!(
        set.deadlines(&Facts {
            tenant: "globex",
            ..order
        })
        .is_empty()
    );
}

#[test]
fn silence_counts_from_the_newest_event_and_filters_by_carrier() {
    let set = set();
    let rule = id(&set, "in-transit-silent");
    let mut f = facts(Subject::Shipment, Status::InTransit, T0);
    f.last_event_at = hours(10);
    assert_eq!(
        set.deadlines(&f),
        [Deadline {
            rule,
            due: hours(82)
        }]
    );
    assert!(
        set.deadlines(&Facts {
            carrier: Some("dhl"),
            ..f
        })
        .is_empty()
    );
    // A filter on carriers does not match a shipment whose carrier is not known yet.
    assert!(set.deadlines(&Facts { carrier: None, ..f }).is_empty());
}

#[test]
fn promise_fires_ahead_by_within_until_delivered() {
    let set = set();
    let rule = id(&set, "promise-at-risk");
    let mut f = facts(Subject::Shipment, Status::Shipped, T0);
    f.carrier = Some("dhl");
    f.promised_at = Some(hours(72));
    assert!(
        set.deadlines(&f).is_empty(),
        "order value 120 is under the filter's 500"
    );
    f.order_value = Some(800.0);
    assert_eq!(
        set.deadlines(&f),
        [Deadline {
            rule,
            due: hours(48)
        }]
    );
    for done in [Status::Delivered, Status::Returned, Status::Cancelled] {
        assert!(set.deadlines(&Facts { status: done, ..f }).is_empty());
    }
    assert!(
        set.deadlines(&Facts {
            promised_at: None,
            ..f
        })
        .is_empty()
    );
}

#[test]
fn event_rules_fire_on_the_arriving_event() {
    let set = set();
    let ship = facts(Subject::Shipment, Status::InTransit, T0);
    let order = facts(Subject::Order, Status::Backordered, T0);
    let arrive = |status, reason, regression| Arrival {
        status,
        reason,
        regression,
    };
    assert_eq!(
        set.triggered(
            &ship,
            &arrive(Status::Exception, Some(Reason::Damaged), false)
        ),
        [id(&set, "exceptions")]
    );
    assert!(
        set.triggered(&ship, &arrive(Status::InTransit, None, false))
            .is_empty()
    );
    // Both status and reason must match; the rule watches orders only.
    assert_eq!(
        set.triggered(
            &order,
            &arrive(Status::Backordered, Some(Reason::Stockout), false)
        ),
        [id(&set, "stockout")]
    );
    assert!(
        set.triggered(&order, &arrive(Status::Backordered, None, false))
            .is_empty()
    );
    assert!(
        set.triggered(
            &ship,
            &arrive(Status::Backordered, Some(Reason::Stockout), false)
        )
        .is_empty()
    );
    assert_eq!(
        set.triggered(&ship, &arrive(Status::Unknown, None, false)),
        [id(&set, "odd")]
    );
    assert_eq!(
        set.triggered(&ship, &arrive(Status::InTransit, None, true)),
        [id(&set, "odd")]
    );
}

/// The issue's case: pending at 08:00, the 4h dwell alert fired at 12:00, then a `packed`
/// stamped 11:00 arrives late. It left pending before the deadline: a false positive.
#[test]
fn a_late_event_before_the_deadline_makes_a_false_positive() {
    let set = set();
    let rule = id(&set, "pending-too-long");
    let fired = hours(4);
    let still = facts(Subject::Order, Status::Pending, T0);
    assert_eq!(set.recheck(rule, fired, &still, hours(5)), Verdict::Holds);

    let late_packed = facts(Subject::Order, Status::Packed, "2026-11-27T11:00:00Z");
    assert_eq!(
        set.recheck(rule, fired, &late_packed, hours(5)),
        Verdict::FalsePositive {
            reason:
                "left pending at 2026-11-27T11:00:00Z, before the 4h deadline 2026-11-27T12:00:00Z"
                    .into()
        }
    );
    let packed_after = facts(Subject::Order, Status::Packed, "2026-11-27T12:30:00Z");
    assert_eq!(
        set.recheck(rule, fired, &packed_after, hours(5)),
        Verdict::Cleared {
            reason: "left pending at 2026-11-27T12:30:00Z".into()
        }
    );
    // A late earlier event moved "entered pending" to 10:00: at 12:00 it had been pending 2h.
    let later_entry = facts(Subject::Order, Status::Pending, "2026-11-27T10:00:00Z");
    assert!(matches!(
        set.recheck(rule, fired, &later_entry, hours(5)),
        Verdict::FalsePositive { .. }
    ));
    // ... but once the new deadline has passed too, the condition holds again.
    assert_eq!(
        set.recheck(rule, fired, &later_entry, hours(6)),
        Verdict::Holds
    );
    // The rule switched off for the tenant, or removed, clears the alert.
    let globex = Facts {
        tenant: "globex",
        ..still
    };
    assert!(matches!(
        set.recheck(rule, fired, &globex, hours(5)),
        Verdict::Cleared { .. }
    ));
    assert!(matches!(
        set.recheck(RuleId(999), fired, &still, hours(5)),
        Verdict::Cleared { .. }
    ));
}

#[test]
fn silence_recheck_uses_the_newest_event_time() {
    let set = set();
    let rule = id(&set, "in-transit-silent");
    let fired = hours(72);
    let silent = facts(Subject::Shipment, Status::InTransit, T0);
    assert_eq!(set.recheck(rule, fired, &silent, hours(73)), Verdict::Holds);
    let late_scan = Facts {
        last_event_at: hours(70),
        ..silent
    };
    assert_eq!(
        set.recheck(rule, fired, &late_scan, hours(73)),
        Verdict::FalsePositive {
            reason: "an event at 2026-11-30T06:00:00Z broke the silence before the 3d deadline 2026-11-30T08:00:00Z".into()
        }
    );
    let new_scan = Facts {
        last_event_at: hours(73),
        ..silent
    };
    assert!(matches!(
        set.recheck(rule, fired, &new_scan, hours(73)),
        Verdict::Cleared { .. }
    ));
    let delivered = facts(Subject::Shipment, Status::Delivered, "2026-11-30T09:00:00Z");
    assert_eq!(
        set.recheck(rule, fired, &delivered, hours(74)),
        Verdict::Cleared {
            reason: "left in_transit at 2026-11-30T09:00:00Z".into()
        }
    );
}

#[test]
fn promise_recheck_delivered_before_after_or_moved() {
    let set = set();
    let rule = id(&set, "promise-at-risk");
    let mut f = facts(Subject::Shipment, Status::InTransit, T0);
    f.order_value = Some(900.0);
    f.promised_at = Some(hours(72));
    let fired = hours(48);
    assert_eq!(set.recheck(rule, fired, &f, hours(49)), Verdict::Holds);
    let early = Facts {
        status: Status::Delivered,
        status_since: hours(40),
        ..f
    };
    assert_eq!(
        set.recheck(rule, fired, &early, hours(49)),
        Verdict::FalsePositive {
            reason: "delivered at 2026-11-29T00:00:00Z, before the deadline 2026-11-29T08:00:00Z (promised 2026-11-30T08:00:00Z)".into()
        }
    );
    let late = Facts {
        status: Status::Delivered,
        status_since: hours(80),
        ..f
    };
    assert_eq!(
        set.recheck(rule, fired, &late, hours(81)),
        Verdict::Cleared {
            reason: "delivered at 2026-11-30T16:00:00Z (promised 2026-11-30T08:00:00Z)".into()
        }
    );
    let moved = Facts {
        promised_at: Some(hours(120)),
        ..f
    };
    assert_eq!(
        set.recheck(rule, fired, &moved, hours(49)),
        Verdict::Cleared {
            reason: "promise moved to 2026-12-02T08:00:00Z".into()
        }
    );
}

#[test]
fn event_alerts_clear_when_the_status_moves_on() {
    let set = set();
    let rule = id(&set, "exceptions");
    let ex = facts(Subject::Shipment, Status::Exception, T0);
    assert_eq!(set.recheck(rule, t(T0), &ex, hours(1)), Verdict::Holds);
    let moving = facts(Subject::Shipment, Status::InTransit, "2026-11-27T09:00:00Z");
    assert!(matches!(
        set.recheck(rule, t(T0), &moving, hours(2)),
        Verdict::Cleared { .. }
    ));
}

#[test]
fn source_rules_watch_silence_and_errors() {
    let set = set();
    let rule = id(&set, "partner-down");
    let ups = SourceFacts {
        tenant: "acme",
        source: "ups",
        last_success: Some(t(T0)),
        last_event: None,
        error_rate_5m: 0.0,
    };
    assert!(set.source_rules(&ups, t("2026-11-27T08:29:59Z")).is_empty());
    assert_eq!(set.source_rules(&ups, t("2026-11-27T08:30:00Z")), [rule]);
    assert_eq!(
        set.source_deadlines(&ups),
        [Deadline {
            rule,
            due: t("2026-11-27T08:30:00Z")
        }]
    );
    let erroring = SourceFacts {
        error_rate_5m: 0.5,
        ..ups
    };
    assert_eq!(set.source_rules(&erroring, t(T0)), [rule]);
    assert!(
        set.source_rules(
            &SourceFacts {
                error_rate_5m: f64::NAN,
                ..ups
            },
            t(T0)
        )
        .is_empty()
    );
    // The wms override gives it 2h; a partner outside `sources` is not watched.
    let wms = SourceFacts {
        source: "wms",
        ..ups
    };
    assert!(set.source_rules(&wms, hours(1)).is_empty());
    assert_eq!(set.source_rules(&wms, hours(2)), [rule]);
    assert!(
        set.source_rules(
            &SourceFacts {
                source: "dhl",
                ..ups
            },
            hours(9)
        )
        .is_empty()
    );
    // Never heard from: no silence to measure.
    let unheard = SourceFacts {
        last_success: None,
        ..ups
    };
    assert!(set.source_rules(&unheard, hours(9)).is_empty());
    assert_eq!(set.recheck_source(rule, &ups, hours(1)), Verdict::Holds);
    let back = SourceFacts {
        last_event: Some(hours(1)),
        ..ups
    };
    assert!(matches!(
        set.recheck_source(rule, &back, hours(1)),
        Verdict::Cleared { .. }
    ));
}

#[test]
fn calendar_rules_count_working_time() {
    let set = RuleSet::from_toml(include_str!("../examples/rules.toml")).unwrap();
    let rule = id(&set, "pending-too-long");
    // Friday 2026-11-27 16:00 CST: 2h on Friday, then Monday 08:00-10:00.
    let mut f = facts(Subject::Order, Status::Pending, "2026-11-27T22:00:00Z");
    f.channel = None;
    assert_eq!(set.deadline(rule, &f), Some(t("2026-11-30T16:00:00Z")));
    // Thanksgiving (2026-11-26) is a holiday: Wednesday 17:00 CST + 4h ends Friday 11:00 CST.
    let f = Facts {
        status_since: t("2026-11-25T23:00:00Z"),
        ..f
    };
    assert_eq!(set.deadline(rule, &f), Some(t("2026-11-27T17:00:00Z")));
}

#[test]
fn impact_orders_severity_then_value_then_urgency() {
    let h = |n| Some(SignedDuration::from_hours(n));
    let ranked = [
        impact(Severity::Critical, None, None),
        impact(Severity::High, Some(10_000.0), h(-48)),
        impact(Severity::High, Some(10_000.0), h(2)),
        impact(Severity::High, Some(10_000.0), h(200)),
        impact(Severity::High, Some(10_000.0), None),
        impact(Severity::High, Some(50.0), h(-500)),
        impact(Severity::High, None, None),
        impact(Severity::Info, Some(1e12), h(-10_000)),
    ];
    for w in ranked.windows(2) {
        assert!(w[0] > w[1], "{ranked:?}");
    }
    assert!(ranked.iter().all(|x| x.is_finite()));
    assert_eq!(
        impact(Severity::Low, Some(f64::NAN), None),
        impact(Severity::Low, None, None)
    );
}

/// A dwell rule over several statuses counts from entering the current one.
#[test]
fn moving_between_watched_statuses_restarts_the_clock() {
    let set = RuleSet::from_toml(
        "[[rules]]\nname = \"early\"\nkind = \"dwell\"\nstatuses = [\"pending\", \"allocated\"]\nafter = \"4h\"\n",
    )
    .unwrap();
    let rule = id(&set, "early");
    let fired = hours(4);
    // A late `allocated` stamped 11:00: pending lasted 3h, so the 12:00 alert was wrong.
    let late = facts(Subject::Shipment, Status::Allocated, "2026-11-27T11:00:00Z");
    assert_eq!(
        set.recheck(rule, fired, &late, hours(5)),
        Verdict::FalsePositive {
            reason: "in allocated only since 2026-11-27T11:00:00Z: the 4h deadline is 2026-11-27T15:00:00Z, not 2026-11-27T12:00:00Z".into()
        }
    );
    // Allocated at 13:00, after the deadline: the alert was right, and is over.
    let after = facts(Subject::Shipment, Status::Allocated, "2026-11-27T13:00:00Z");
    assert_eq!(
        set.recheck(rule, fired, &after, hours(6)),
        Verdict::Cleared {
            reason: "allocated since 2026-11-27T13:00:00Z, after the deadline".into()
        }
    );
    assert_eq!(set.deadline(rule, &after), Some(hours(9)));
}
