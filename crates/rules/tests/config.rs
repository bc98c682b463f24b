//! Rule files in, rule sets or every problem out: data-driven, each bad file checked against
//! the exact messages an operator would read.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use jiff::SignedDuration;
use waypost_domain::Status;
use waypost_rules::{RuleKind, RuleSet, RulesError, Severity, Subject};

fn problems(toml: &str) -> String {
    match RuleSet::from_toml(toml) {
        Ok(_) => panic!("accepted:\n{toml}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_documented_example_loads() {
    let text = include_str!("../examples/rules.toml");
    let set = RuleSet::from_toml(text).unwrap_or_else(|e| panic!("{e}"));
    let kinds: Vec<_> = set.rules().iter().map(|r| r.kind).collect();
    for k in RuleKind::ALL {
        assert!(kinds.contains(k), "example lacks a {k} rule");
    }
    for (i, r) in set.rules().iter().enumerate() {
        assert_eq!(usize::from(r.id.0), i);
    }
    let pending = set.by_name("pending-too-long").unwrap();
    assert_eq!(pending.subject, Subject::Order);
    assert_eq!(pending.severity, Severity::High);
    assert_eq!(pending.statuses, [Status::Pending]);
    assert_eq!(pending.after, Some(SignedDuration::from_hours(4)));
    assert_eq!(pending.calendar.as_deref(), Some("warehouse-hours"));
    assert_eq!(pending.overrides.len(), 2);
    assert!(set.calendar("warehouse-hours").is_some());
    assert_eq!(
        set.by_name("promise-missed").unwrap().severity,
        Severity::Critical
    );
}

#[test]
fn an_empty_file_is_an_empty_set() {
    assert!(RuleSet::from_toml("").unwrap().is_empty());
    assert!(RuleSet::empty().rules().is_empty());
}

#[test]
fn syntax_errors_carry_the_position() {
    let e = RuleSet::from_toml("[[rules]\nname = 1").unwrap_err();
    assert!(matches!(e, RulesError::Syntax(_)));
    assert!(e.to_string().contains("line 1"), "{e}");
}

#[test]
fn every_problem_is_reported_with_rule_field_and_value() {
    let toml = r#"
        colour = "red"

        [calendars.office]
        zone = "Mars/Olympus"
        days = ["mon", "funday"]
        hours = "18:00-08:00"
        holidays = ["2026-13-01", 2026-12-25]

        [calendars.never]
        zone = "UTC"
        days = []
        hours = "09:00-17:00"

        [[rules]]
        name = "pending-too-long"
        kind = "dwell"
        statuses = ["pendng"]
        after = "0h"
        severity = "urgent"
        calendar = "shop"
        colour = "blue"

        [[rules]]
        name = "pending-too-long"
        kind = "dwell"
        after = "4h"

        [[rules]]
        name = "Bad Name"
        kind = "silence"
        statuses = ["in_transit"]

        [[rules]]
        name = "late"
        kind = "promise"
        after = "1h"
        calendar = "office"
        reasons = ["weather"]
        [rules.filter]
        min_order_value = 500
        max_order_value = 100

        [[rules]]
        name = "exceptions"
        kind = "event"

        [[rules]]
        name = "partner"
        kind = "source"
        max_error_rate = 1.5
        [rules.filter]
        carriers = ["ups"]
        [[rules.overrides]]
        when = { channel = "shop", planet = "mars" }
        [[rules.overrides]]
        after = "soon"

        [[rules]]
        kind = "teleport"
        after = 4
    "#;
    let got = problems(toml);
    let expected = r#"file: colour: unknown field (valid: calendars, rules)
calendars.never: days: at least one working day is required
calendars.office: zone: unknown time zone "Mars/Olympus"
calendars.office: days[1]: unknown day "funday" (valid: mon, tue, wed, thu, fri, sat, sun)
calendars.office: hours: window "18:00-08:00" ends at or before it starts (overnight windows are not supported)
calendars.office: holidays[0]: expected a date like "2026-12-25", found string "2026-13-01"
rules[0] "pending-too-long": colour: unknown field (valid: name, kind, subject, statuses, reasons, unknown, regression, after, within, max_error_rate, sources, severity, calendar, description, enabled, filter, overrides)
rules[0] "pending-too-long": severity: unknown severity "urgent" (valid: info, low, medium, high, critical)
rules[0] "pending-too-long": statuses[0]: unknown status "pendng" (valid: pending, allocated, picked, packed, label_created, shipped, in_transit, out_for_delivery, available_for_pickup, delivered, delayed, attempt_failed, exception, on_hold, backordered, returning, returned, cancelled, lost, unknown)
rules[0] "pending-too-long": after: "0h" must be longer than zero
rules[0] "pending-too-long": calendar: unknown calendar "shop" (defined: none)
rules[1] "pending-too-long": name: "pending-too-long" is already the name of rules[0]
rules[1] "pending-too-long": statuses: required for dwell rules (valid: pending, allocated, picked, packed, label_created, shipped, in_transit, out_for_delivery, available_for_pickup, delivered, delayed, attempt_failed, exception, on_hold, backordered, returning, returned, cancelled, lost, unknown)
rules[2]: name: "Bad Name" must match [a-z0-9_-]{1,64}
rules[2]: after: required for silence rules (like "4h")
rules[3] "late": after: not used by promise rules (a promise rule's lead time is `within`)
rules[3] "late": calendar: not used by promise rules (a promise is an instant, not working time)
rules[3] "late": reasons: not used by promise rules
rules[3] "late": calendar: unknown calendar "office" (defined: none)
rules[3] "late": filter.min_order_value: 500 is above max_order_value 100
rules[4] "exceptions": an event rule needs statuses, reasons, unknown = true or regression = true
rules[5] "partner": max_error_rate: 1.5 is not a rate in [0, 1)
rules[5] "partner": filter.carriers: not used by source rules (only tenants; use sources for partners)
rules[5] "partner": overrides[0].when.planet: unknown field (valid: tenant, channel, carrier)
rules[5] "partner": overrides[0].when.channel: not used by source rules (carrier matches the source)
rules[5] "partner": overrides[0]: changes nothing (set after, within, severity, enabled or calendar)
rules[5] "partner": overrides[1].when: required (a table of tenant, channel, carrier)
rules[5] "partner": overrides[1].after: "soon" is not a duration: expected numbers with units w, d, h, m, s, like "1h30m"
rules[6]: name: required
rules[6]: kind: unknown kind "teleport" (valid: dwell, silence, promise, event, source)
rules[6]: after: expected a string, found integer 4"#;
    if got != expected {
        // Line by line, so a failure shows which message changed.
        for (g, e) in got.lines().zip(expected.lines()) {
            assert_eq!(g, e);
        }
        assert_eq!(got.lines().count(), expected.lines().count(), "{got}");
    }
}

#[test]
fn a_section_of_a_larger_config_validates_the_same() {
    let main: toml::Table = format!(
        "[server]\nlisten = \"0.0.0.0:8080\"\n\n[exceptions]\n{}",
        "[[exceptions.rules]]\nname = \"stuck\"\nkind = \"dwell\"\nstatuses = [\"packed\"]\nafter = \"24h\"\n"
    )
    .parse()
    .unwrap();
    let section = main["exceptions"].as_table().unwrap();
    let set = RuleSet::from_table(section).unwrap();
    assert_eq!(set.rules()[0].name, "stuck");
    let mut bad = section.clone();
    bad.insert("colour".into(), toml::Value::String("red".into()));
    assert_eq!(
        RuleSet::from_table(&bad).unwrap_err().to_string(),
        "file: colour: unknown field (valid: calendars, rules)"
    );
}
