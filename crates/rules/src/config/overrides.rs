//! `[[rules.overrides]]`: per tenant, channel or carrier changes to a rule.

use super::rule::{check_calendar, not_used, used_by};
use crate::calendar::Calendar;
use crate::fields::{Fields, Sink, describe};
use crate::model::{Override, RuleKind, Severity, When};
use jiff::SignedDuration;
use std::collections::BTreeMap;
use toml::Value;

const OVERRIDE_KEYS: &[&str] = &["when", "after", "within", "severity", "enabled", "calendar"];
const WHEN_KEYS: &[&str] = &["tenant", "channel", "carrier"];

pub(super) fn overrides(
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
