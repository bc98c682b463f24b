//! Reading a rule file: TOML in, a validated [`RuleSet`] or every problem out.
//!
//! The file is read as a plain TOML table and each field is checked by hand ([`crate::fields`])
//! rather than through serde structs: serde stops at the first error, and an operator fixing a
//! file wants all of them, each naming the rule, the field and the value.
//!
//! `calendars.rs` reads `[calendars.X]`, `rule.rs` one `[[rules]]` entry, `overrides.rs` its
//! `[[rules.overrides]]`.

mod calendars;
mod overrides;
mod rule;

use crate::error::RulesError;
use crate::fields::{Fields, Sink, describe, valid_name};
use crate::model::{RuleId, RuleSet};
use jiff::tz::TimeZoneDatabase;
use std::collections::BTreeMap;
use toml::{Table, Value};

const TOP_KEYS: &[&str] = &["calendars", "rules"];

impl RuleSet {
    /// Parses and validates a rule file. On failure every problem found is returned.
    pub fn from_toml(text: &str) -> Result<RuleSet, RulesError> {
        let doc: Table = text
            .parse()
            .map_err(|e: toml::de::Error| RulesError::Syntax(e.to_string().trim().to_string()))?;
        RuleSet::from_table(&doc)
    }

    /// Validates an already parsed table with the file's shape (`calendars`, `rules`): for a
    /// rule section embedded in a larger configuration file.
    pub fn from_table(doc: &Table) -> Result<RuleSet, RulesError> {
        let mut problems = Vec::new();
        let top = Fields::new(doc, "");
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
                if let Some(cal) = calendars::calendar(name, value, &db, &mut sink) {
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
                    if let Some(rule) = rule::rule(id, value, &calendars, &mut sink) {
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
