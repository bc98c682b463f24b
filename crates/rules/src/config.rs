//! Reading a rule file: TOML in, a validated [`RuleSet`] or every problem out.
//!
//! The file is read as a plain TOML table and each field is checked by hand ([`crate::fields`])
//! rather than through serde structs: serde stops at the first error, and an operator fixing a
//! file wants all of them, each naming the rule, the field and the value.

use crate::calendar::{Calendar, parse_weekday};
use crate::error::RulesError;
use crate::fields::{Fields, Sink, describe, valid_name};
use crate::model::{Filter, Override, Rule, RuleId, RuleKind, RuleSet, Severity, Subject, When};
use jiff::SignedDuration;
use jiff::civil::Date;
use jiff::tz::TimeZoneDatabase;
use std::collections::BTreeMap;
use toml::{Table, Value};
use waypost_domain::{Reason, Status};

const TOP_KEYS: &[&str] = &["calendars", "rules"];
const CALENDAR_KEYS: &[&str] = &["zone", "days", "hours", "holidays"];
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
const OVERRIDE_KEYS: &[&str] = &["when", "after", "within", "severity", "enabled", "calendar"];
const WHEN_KEYS: &[&str] = &["tenant", "channel", "carrier"];

/// A rule may not need more than this many weeks of its calendar's working time: beyond it the
/// deadline is years away, which is a mistake, and calendar walks would get long.
const MAX_CALENDAR_WEEKS: i64 = 104;

/// Which kinds a rule field means something for. `name`, `kind`, `severity`, `description`,
/// `enabled`, `filter` and `overrides` apply to all.
fn used_by(key: &str, kind: RuleKind) -> bool {
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

fn not_used(kind: RuleKind, key: &str) -> String {
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

impl RuleSet {
    /// Parses and validates a rule file. On failure every problem found is returned.
    pub fn from_toml(text: &str) -> Result<RuleSet, RulesError> {
        let doc: Table = text
            .parse()
            .map_err(|e: toml::de::Error| RulesError::Syntax(e.to_string().trim().to_string()))?;
        let mut problems = Vec::new();
        let top = Fields::new(&doc, "");
        let mut sink = Sink {
            at: "file".into(),
            problems: &mut problems,
        };
        top.deny_unknown(&mut sink, TOP_KEYS);

        let mut calendars = BTreeMap::new();
        if let Some(table) = top.table(&mut sink, "calendars") {
            // The bundled copy, not the system's: validation reads no file (see Cargo.toml).
            let db = TimeZoneDatabase::bundled();
            for (name, value) in table {
                let mut sink = Sink {
                    at: format!("calendars.{name}"),
                    problems: &mut problems,
                };
                if let Some(cal) = calendar(name, value, &db, &mut sink) {
                    calendars.insert(name.clone(), cal);
                }
            }
        }

        let mut rules = Vec::new();
        let mut sink = Sink {
            at: "file".into(),
            problems: &mut problems,
        };
        match doc.get("rules") {
            None => {}
            Some(Value::Array(items)) => {
                if items.len() > usize::from(u16::MAX) + 1 {
                    sink.push(
                        "rules",
                        format!("{} rules, the limit is 65536", items.len()),
                    );
                }
                let mut first_index: BTreeMap<&str, usize> = BTreeMap::new();
                for (ix, value) in items.iter().enumerate() {
                    let name = value.get("name").and_then(Value::as_str);
                    let at = match name {
                        Some(n) if valid_name(n) => format!("rules[{ix}] {n:?}"),
                        _ => format!("rules[{ix}]"),
                    };
                    let mut sink = Sink {
                        at,
                        problems: &mut problems,
                    };
                    if let Some(n) = name {
                        if let Some(first) = first_index.get(n) {
                            sink.push(
                                "name",
                                format!("{n:?} is already the name of rules[{first}]"),
                            );
                        } else {
                            first_index.insert(n, ix);
                        }
                    }
                    let id = RuleId(u16::try_from(ix).unwrap_or(u16::MAX));
                    if let Some(rule) = self::rule(id, value, &calendars, &mut sink) {
                        rules.push(rule);
                    }
                }
            }
            Some(v) => sink.push(
                "rules",
                format!(
                    "expected an array of tables ([[rules]]), found {}",
                    describe(v)
                ),
            ),
        }
        if problems.is_empty() {
            Ok(RuleSet { rules, calendars })
        } else {
            Err(RulesError::Invalid(problems))
        }
    }
}

fn calendar(name: &str, value: &Value, db: &TimeZoneDatabase, sink: &mut Sink) -> Option<Calendar> {
    if !valid_name(name) {
        sink.push("", "a calendar name must match [a-z0-9_-]{1,64}");
    }
    let Value::Table(t) = value else {
        sink.push("", format!("expected a table, found {}", describe(value)));
        return None;
    };
    let f = Fields::new(t, "");
    f.deny_unknown(sink, CALENDAR_KEYS);
    let zone = match f.string(sink, "zone") {
        None if !f.has("zone") => {
            sink.push("zone", "required (an IANA zone like \"America/Chicago\")");
            None
        }
        None => None,
        Some(z) => match db.get(z) {
            Ok(tz) => Some(tz),
            Err(_) => {
                sink.push("zone", format!("unknown time zone {z:?}"));
                None
            }
        },
    };
    let days = f.parsed_list(sink, "days", |s| {
        parse_weekday(s)
            .ok_or_else(|| format!("unknown day {s:?} (valid: mon, tue, wed, thu, fri, sat, sun)"))
    });
    if days.as_ref().is_some_and(Vec::is_empty) {
        sink.push("days", "at least one working day is required");
    }
    let hours = f.string(sink, "hours");
    if !f.has("hours") {
        sink.push("hours", "required (like \"08:00-18:00\")");
    }
    if let Some(h) = hours
        && let Err(e) = crate::calendar::parse_hours(h)
    {
        sink.push("hours", e.to_string());
    }
    let holidays = holidays(&f, sink);
    match (zone, days, hours, holidays) {
        (Some(zone), Some(days), Some(hours), Some(holidays)) if !days.is_empty() => {
            Calendar::new(zone, &days, hours, holidays).ok()
        }
        _ => None,
    }
}

/// Quoted (`"2026-12-25"`) or bare TOML dates (`2026-12-25`).
fn holidays(f: &Fields, sink: &mut Sink) -> Option<Vec<Date>> {
    let Some(v) = f.table.get("holidays") else {
        return Some(Vec::new());
    };
    let Value::Array(items) = v else {
        sink.push(
            "holidays",
            format!("expected a list of dates, found {}", describe(v)),
        );
        return None;
    };
    let mut out = Vec::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let text = match item {
            Value::String(s) => s.clone(),
            Value::Datetime(d) if d.time.is_none() && d.offset.is_none() => d.to_string(),
            other => other.to_string(),
        };
        match text.parse::<Date>() {
            Ok(d) if text.len() == 10 => out.push(d),
            _ => {
                ok = false;
                sink.push(
                    format!("holidays[{i}]"),
                    format!(
                        "expected a date like \"2026-12-25\", found {}",
                        describe(item)
                    ),
                );
            }
        }
    }
    ok.then_some(out)
}

fn rule(
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
fn check_calendar(
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
        sink.push(field, format!("calendar {name:?} has too little working time for this rule: more than {MAX_CALENDAR_WEEKS} weeks"));
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

fn overrides(
    f: &Fields,
    kind: Option<RuleKind>,
    rule_after: Option<SignedDuration>,
    rule_calendar: Option<&str>,
    calendars: &BTreeMap<String, Calendar>,
    sink: &mut Sink,
) -> Option<Vec<Override>> {
    let Some(v) = f.table.get("overrides") else {
        return Some(Vec::new());
    };
    let Value::Array(items) = v else {
        sink.push(
            "overrides",
            format!(
                "expected an array of tables ([[rules.overrides]]), found {}",
                describe(v)
            ),
        );
        return None;
    };
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let prefix = format!("overrides[{i}].");
        let Value::Table(t) = item else {
            sink.push(
                format!("overrides[{i}]"),
                format!("expected a table, found {}", describe(item)),
            );
            ok = false;
            continue;
        };
        let o = Fields::new(t, prefix.clone());
        o.deny_unknown(sink, OVERRIDE_KEYS);
        if let Some(kind) = kind {
            for key in t
                .keys()
                .filter(|k| matches!(k.as_str(), "after" | "within" | "calendar"))
            {
                if !used_by(key, kind) {
                    sink.push(o.path(key), not_used(kind, key));
                }
            }
        }
        let when = match o.table(sink, "when") {
            None => {
                if !o.has("when") {
                    sink.push(
                        o.path("when"),
                        "required (a table of tenant, channel, carrier)",
                    );
                }
                None
            }
            Some(w) => {
                let wf = Fields::new(w, format!("{prefix}when."));
                wf.deny_unknown(sink, WHEN_KEYS);
                if w.is_empty() {
                    sink.push(o.path("when"), "must name a tenant, channel or carrier");
                }
                if kind == Some(RuleKind::Source) && w.contains_key("channel") {
                    sink.push(
                        wf.path("channel"),
                        "not used by source rules (carrier matches the source)",
                    );
                }
                let s = |sink: &mut Sink, k| wf.string(sink, k).map(str::to_string);
                Some(When {
                    tenant: s(sink, "tenant"),
                    channel: s(sink, "channel"),
                    carrier: s(sink, "carrier"),
                })
            }
        };
        let after = o.duration(sink, "after");
        let within = o.duration(sink, "within");
        let severity = o.string(sink, "severity").and_then(|s| {
            s.parse::<Severity>()
                .map_err(|e| sink.push(o.path("severity"), e.to_string()))
                .ok()
        });
        let enabled = o.boolean(sink, "enabled");
        let calendar = o.string(sink, "calendar");
        let cal_name = calendar.or(rule_calendar);
        if calendar.is_some() || after.is_some() {
            check_calendar(
                cal_name,
                &o.path("calendar"),
                after.or(rule_after),
                calendars,
                sink,
            );
        }
        if !t.keys().any(|k| k != "when") {
            sink.push(
                format!("overrides[{i}]"),
                "changes nothing (set after, within, severity, enabled or calendar)",
            );
        }
        match when {
            Some(when) => out.push(Override {
                when,
                after,
                within,
                severity,
                enabled,
                calendar: calendar.map(str::to_string),
            }),
            None => ok = false,
        }
    }
    ok.then_some(out)
}
