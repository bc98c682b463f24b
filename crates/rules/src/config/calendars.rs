//! `[calendars.X]`: a zone, working days, hours and holidays.

use crate::calendar::{Calendar, parse_hours, parse_weekday};
use crate::fields::{Fields, Sink, describe, valid_name};
use jiff::civil::Date;
use jiff::tz::TimeZoneDatabase;
use toml::Value;

const CALENDAR_KEYS: &[&str] = &["zone", "days", "hours", "holidays"];

pub(super) fn calendar(
    name: &str,
    value: &Value,
    db: &TimeZoneDatabase,
    sink: &mut Sink,
) -> Option<Calendar> {
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
        && let Err(e) = parse_hours(h)
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
