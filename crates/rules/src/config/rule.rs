//! One `[[rules]]` entry: its fields, which of them its kind uses, and what it requires.

use super::overrides::overrides;
use crate::calendar::Calendar;
use crate::fields::{Fields, Sink, describe, valid_name};
use crate::model::{Filter, Rule, RuleId, RuleKind, Severity, Subject};
use jiff::SignedDuration;
use std::collections::BTreeMap;
use toml::{Table, Value};
use waypost_domain::{Reason, Status};

const RULE_KEYS: &[&str] = &[
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
    "description",
    "enabled",
    "filter",
    "overrides",
];
const FILTER_KEYS: &[&str] = &[
    "tenants",
    "channels",
    "carriers",
    "services",
    "warehouses",
    "min_order_value",
    "max_order_value",
];

/// A rule may not need more than this many weeks of its calendar's working time: beyond it the
/// deadline is years away, which is a mistake, and calendar walks would get long.
const MAX_CALENDAR_WEEKS: i64 = 104;

/// Which kinds a rule field means something for. `name`, `kind`, `severity`, `description`,
/// `enabled`, `filter` and `overrides` apply to all.
pub(super) fn used_by(key: &str, kind: RuleKind) -> bool {
    use RuleKind::*;
    match key {
        "subject" | "statuses" => kind != Source,
        "reasons" | "unknown" | "regression" => kind == Event,
        "after" | "calendar" => matches!(kind, Dwell | Silence | Source),
        "within" => kind == Promise,
        "max_error_rate" | "sources" => kind == Source,
        _ => true,
    }
}

pub(super) fn not_used(kind: RuleKind, key: &str) -> String {
    let hint = match (kind, key) {
        (RuleKind::Promise, "after") => " (a promise rule's lead time is `within`)",
        (RuleKind::Promise, "calendar") => " (a promise is an instant, not working time)",
        (RuleKind::Source, "subject") => " (a source rule watches a partner)",
        _ => "",
    };
    format!("not used by {} rules{hint}", kind.as_str())
}

fn status_names() -> String {
    Status::ALL.map(Status::as_str).join(", ")
}

fn reason_names() -> String {
    Reason::ALL.map(Reason::as_str).join(", ")
}

pub(super) fn rule(
    id: RuleId,
    value: &Value,
    calendars: &BTreeMap<String, Calendar>,
    sink: &mut Sink,
) -> Option<Rule> {
    let Value::Table(t) = value else {
        sink.push("", format!("expected a table, found {}", describe(value)));
        return None;
    };
    let f = Fields::new(t, "");
    f.deny_unknown(sink, RULE_KEYS);

    let name = f.string(sink, "name");
    match name {
        None if !f.has("name") => sink.push("name", "required"),
        Some(n) if !valid_name(n) => {
            sink.push("name", format!("{n:?} must match [a-z0-9_-]{{1,64}}"))
        }
        _ => {}
    }
    let kind = match f.string(sink, "kind") {
        None if !f.has("kind") => {
            sink.push(
                "kind",
                format!("required (valid: {})", RuleKind::NAMES.join(", ")),
            );
            None
        }
        None => None,
        Some(k) => k
            .parse::<RuleKind>()
            .map_err(|e| sink.push("kind", e.to_string()))
            .ok(),
    };
    if let Some(kind) = kind {
        for key in t.keys() {
            if RULE_KEYS.contains(&key.as_str()) && !used_by(key, kind) {
                sink.push(key.as_str(), not_used(kind, key));
            }
        }
    }
    let subject = f.string(sink, "subject").and_then(|s| {
        s.parse::<Subject>()
            .map_err(|e| sink.push("subject", e.to_string()))
            .ok()
    });
    let severity = f.string(sink, "severity").and_then(|s| {
        s.parse::<Severity>()
            .map_err(|e| sink.push("severity", e.to_string()))
            .ok()
    });
    let statuses = f.parsed_list(sink, "statuses", |s| {
        s.parse::<Status>()
            .map_err(|_| format!("unknown status {s:?} (valid: {})", status_names()))
    });
    let reasons = f.parsed_list(sink, "reasons", |s| {
        s.parse::<Reason>()
            .map_err(|_| format!("unknown reason {s:?} (valid: {})", reason_names()))
    });
    let unknown = f.boolean(sink, "unknown");
    let regression = f.boolean(sink, "regression");
    let after = f.duration(sink, "after");
    let within = f.duration(sink, "within");
    let max_error_rate = f.number(sink, "max_error_rate");
    if let Some(r) = max_error_rate
        && !(0.0..1.0).contains(&r)
    {
        sink.push("max_error_rate", format!("{r} is not a rate in [0, 1)"));
    }
    let sources = f.strings(sink, "sources");
    let description = f.string(sink, "description");
    let enabled = f.boolean(sink, "enabled");
    let calendar = f.string(sink, "calendar");
    check_calendar(calendar, "calendar", after, calendars, sink);
    let filter = f
        .table(sink, "filter")
        .map_or(Some(Filter::default()), |t| filter(t, kind, sink));
    let overrides = overrides(&f, kind, after, calendar, calendars, sink);

    let kind = kind?;
    let statuses = dedup(statuses?);
    let reasons = dedup(reasons?);
    let (unknown, regression) = (unknown.unwrap_or(false), regression.unwrap_or(false));
    match kind {
        RuleKind::Dwell | RuleKind::Silence => {
            if statuses.is_empty() {
                sink.push(
                    "statuses",
                    format!(
                        "required for {} rules (valid: {})",
                        kind.as_str(),
                        status_names()
                    ),
                );
            }
            if !f.has("after") {
                sink.push(
                    "after",
                    format!("required for {} rules (like \"4h\")", kind.as_str()),
                );
            }
        }
        RuleKind::Event if statuses.is_empty() && reasons.is_empty() && !unknown && !regression => {
            sink.push(
                "",
                "an event rule needs statuses, reasons, unknown = true or regression = true",
            );
        }
        RuleKind::Source if !f.has("after") && !f.has("max_error_rate") => {
            sink.push(
                "",
                "a source rule needs after (silence window) and/or max_error_rate",
            );
        }
        _ => {}
    }
    Some(Rule {
        id,
        name: name?.to_string(),
        kind,
        subject: subject.unwrap_or(Subject::Shipment),
        severity: severity.unwrap_or_default(),
        description: description.map(str::to_string),
        enabled: enabled.unwrap_or(true),
        statuses,
        reasons,
        unknown,
        regression,
        after,
        within,
        max_error_rate,
        sources: sources?.into_iter().map(str::to_string).collect(),
        calendar: calendar.map(str::to_string),
        filter: filter?,
        overrides: overrides?,
        subject_set: f.has("subject"),
    })
}

fn dedup<T: PartialEq>(items: Vec<T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// The calendar must exist and must not turn `after` into years of waiting.
pub(super) fn check_calendar(
    name: Option<&str>,
    field: &str,
    after: Option<SignedDuration>,
    calendars: &BTreeMap<String, Calendar>,
    sink: &mut Sink,
) {
    let Some(name) = name else { return };
    let Some(cal) = calendars.get(name) else {
        let known: Vec<&str> = calendars.keys().map(String::as_str).collect();
        sink.push(
            field,
            format!(
                "unknown calendar {name:?} (defined: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ),
        );
        return;
    };
    let week = cal.nominal_week();
    if let Some(after) = after
        && week > SignedDuration::ZERO
        && after.as_secs() / week.as_secs().max(1) > MAX_CALENDAR_WEEKS
    {
        let weeks = MAX_CALENDAR_WEEKS;
        sink.push(
            field,
            format!("calendar {name:?} would take more than {weeks} weeks to count this long"),
        );
    }
}

fn filter(t: &Table, kind: Option<RuleKind>, sink: &mut Sink) -> Option<Filter> {
    let f = Fields::new(t, "filter.");
    f.deny_unknown(sink, FILTER_KEYS);
    if kind == Some(RuleKind::Source) {
        for key in t
            .keys()
            .filter(|k| k.as_str() != "tenants" && FILTER_KEYS.contains(&k.as_str()))
        {
            sink.push(
                f.path(key),
                "not used by source rules (only tenants; use sources for partners)",
            );
        }
    }
    let list = |sink: &mut Sink, key| {
        f.strings(sink, key)
            .map(|v| v.into_iter().map(str::to_string).collect::<Vec<_>>())
    };
    let (tenants, channels, carriers) = (
        list(sink, "tenants"),
        list(sink, "channels"),
        list(sink, "carriers"),
    );
    let (services, warehouses) = (list(sink, "services"), list(sink, "warehouses"));
    let min = f.number(sink, "min_order_value");
    let max = f.number(sink, "max_order_value");
    if let (Some(lo), Some(hi)) = (min, max)
        && lo > hi
    {
        sink.push(
            "filter.min_order_value",
            format!("{lo} is above max_order_value {hi}"),
        );
    }
    Some(Filter {
        tenants: tenants?,
        channels: channels?,
        carriers: carriers?,
        services: services?,
        warehouses: warehouses?,
        min_order_value: min,
        max_order_value: max,
    })
}
