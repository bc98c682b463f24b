//! Status-code tables: data, not code. One TOML file per source (`mappings/<source>.toml`),
//! compiled in as the defaults; a tenant may override or extend any table with a file of the same
//! shape, loaded at start without rebuilding.
//!
//! ```toml
//! source = "ups"
//! vendor = "UPS Track API"
//! documentation = "https://developer.ups.com/..."
//!
//! [codes]
//! "D" = { status = "delivered", description = "Delivered" }
//! "X:AG" = { status = "exception", reason = "address_issue", description = "..." }
//!
//! [reasons]            # optional: a second code some vendors send with the status (EDI AT7-02)
//! "AF" = { reason = "weather", description = "Weather or natural disaster related" }
//! "NS" = { description = "Normal status" }   # known, and means no reason
//!
//! [[patterns]]         # optional: a code whose meaning depends on the vendor's text
//! code = "X"           # the key it refines; without it, it serves any key and text-only events
//! text = "*severe weather*"
//! status = "delayed"
//! reason = "weather"
//! description = "UPS exception text for a weather delay"
//! ref = "UPS Track API reference, Activity.status.description examples"
//! ```
//!
//! Every entry may cite where its meaning comes from (`ref`). TOML itself refuses a key given
//! twice, so a table cannot hold two mappings for one code. Patterns are tried in file order
//! (a tenant's before the shipped ones): see [`crate::pattern`] for their syntax and
//! [`MappingTable::lookup`] for the order in which codes and patterns are consulted.

use crate::pattern::{Pattern, fold};
use serde::Deserialize;
use std::collections::BTreeMap;
use waypost_domain::{Reason, Status};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("mapping table {file}: {message}")]
    Syntax { file: String, message: String },
    #[error("mapping table {file}: says source {found:?}, expected {expected:?}")]
    WrongSource {
        file: String,
        found: String,
        expected: String,
    },
    #[error("mapping table {file}: code {code:?}: {message}")]
    Entry {
        file: String,
        code: String,
        message: String,
    },
}

/// What one vendor status code means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub status: Status,
    pub reason: Option<Reason>,
    /// The vendor's own words for the code, from its documentation.
    pub description: String,
    /// Where the meaning comes from (the vendor's list, a documentation page), when cited.
    pub reference: Option<String>,
}

/// A code refined by the vendor's text: `code` (or any key, when `None`) whose description
/// matches `text` means `mapping`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextRule {
    pub code: Option<String>,
    pub text: Pattern,
    pub mapping: Mapping,
}

/// The table's answer for one event, and which of its rows gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule<'a> {
    pub mapping: &'a Mapping,
    pub by: MappedBy,
    /// The index of the pattern that decided, when one did.
    pub pattern: Option<usize>,
}

/// How an event's status was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MappedBy {
    /// The code's entry in the table.
    Code,
    /// A `[[patterns]]` row: the code together with the vendor's text.
    Pattern,
    /// No row knew the code; the description fallback read the vendor's text at or above the
    /// tenant's threshold (`attributes.mapped_by = "description"`).
    Description,
}

impl MappedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            MappedBy::Code => "code",
            MappedBy::Pattern => "pattern",
            MappedBy::Description => "description",
        }
    }
}

/// What one vendor reason code means; `reason: None` is a known code that means "no reason".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasonMapping {
    pub reason: Option<Reason>,
    pub description: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct MappingTable {
    pub source: String,
    pub vendor: String,
    pub documentation: String,
    pub codes: BTreeMap<String, Mapping>,
    pub reasons: BTreeMap<String, ReasonMapping>,
    /// In the order they are tried.
    pub patterns: Vec<TextRule>,
    /// The description fallback for codes no row knows: applied at or above this confidence,
    /// otherwise (or when `None`, the fallback off) the event is quarantined with the proposal.
    /// Not part of the file: it is the tenant's setting, laid on by the [`crate::MappingSet`].
    pub description_threshold: Option<f32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRepr {
    source: String,
    #[serde(default)]
    vendor: String,
    #[serde(default)]
    documentation: String,
    #[serde(default)]
    codes: BTreeMap<String, EntryRepr>,
    #[serde(default)]
    reasons: BTreeMap<String, ReasonRepr>,
    #[serde(default)]
    patterns: Vec<PatternRepr>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatternRepr {
    #[serde(default)]
    code: Option<String>,
    text: String,
    status: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default, rename = "ref")]
    reference: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryRepr {
    status: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default, rename = "ref")]
    reference: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonRepr {
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default, rename = "ref")]
    _reference: Option<String>,
}

impl MappingTable {
    /// Reads a table. `file` names it in errors; `expected_source` is the source the table is
    /// for, which the file must name itself (a table copied under the wrong name is refused).
    pub fn from_toml(file: &str, expected_source: &str, text: &str) -> Result<Self, MappingError> {
        let repr: FileRepr = toml::from_str(text).map_err(|e| MappingError::Syntax {
            file: file.to_owned(),
            message: e.to_string(),
        })?;
        if repr.source != expected_source {
            return Err(MappingError::WrongSource {
                file: file.to_owned(),
                found: repr.source,
                expected: expected_source.to_owned(),
            });
        }
        let entry_err = |code: &str, message: String| MappingError::Entry {
            file: file.to_owned(),
            code: code.to_owned(),
            message,
        };
        let mut codes = BTreeMap::new();
        for (code, e) in repr.codes {
            if code.trim().is_empty() {
                return Err(entry_err(&code, "code must not be empty".into()));
            }
            let mapping = Mapping::read(e.status, e.reason, e.description, e.reference)
                .map_err(|m| entry_err(&code, m))?;
            codes.insert(code, mapping);
        }
        let mut patterns = Vec::with_capacity(repr.patterns.len());
        for (i, p) in repr.patterns.into_iter().enumerate() {
            let what = format!("patterns[{i}] ({:?})", p.text);
            let text = Pattern::new(&p.text).map_err(|m| entry_err(&what, m))?;
            let mapping = Mapping::read(p.status, p.reason, p.description, p.reference)
                .map_err(|m| entry_err(&what, m))?;
            patterns.push(TextRule {
                code: p.code,
                text,
                mapping,
            });
        }
        let mut reasons = BTreeMap::new();
        for (code, r) in repr.reasons {
            let reason = parse_reason(r.reason.as_deref()).map_err(|m| entry_err(&code, m))?;
            reasons.insert(
                code,
                ReasonMapping {
                    reason,
                    description: r.description,
                },
            );
        }
        Ok(MappingTable {
            source: repr.source,
            vendor: repr.vendor,
            documentation: repr.documentation,
            codes,
            reasons,
            patterns,
            description_threshold: Some(crate::classify::DEFAULT_THRESHOLD),
        })
    }

    /// This table with `overrides` laid over it: the override wins code by code, and codes the
    /// default does not know are added.
    pub fn overlay(&self, overrides: &MappingTable) -> MappingTable {
        let mut out = self.clone();
        out.codes
            .extend(overrides.codes.iter().map(|(k, v)| (k.clone(), v.clone())));
        out.reasons.extend(
            overrides
                .reasons
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        // A tenant's patterns are tried first: they are its corrections of the shipped ones.
        out.patterns = overrides
            .patterns
            .iter()
            .chain(&self.patterns)
            .cloned()
            .collect();
        out
    }

    pub fn status(&self, code: &str) -> Option<&Mapping> {
        self.codes.get(code)
    }

    /// What an event with mapping key `code` and the vendor's text `description` means: the
    /// patterns written for this code (in order), then the code's own entry, then the patterns
    /// that name no code. `None` when nothing matches: the event is unmapped.
    pub fn lookup(&self, code: &str, description: Option<&str>) -> Option<(&Mapping, MappedBy)> {
        self.rule(code, description).map(|r| (r.mapping, r.by))
    }

    /// [`MappingTable::lookup`], also saying which pattern decided (its index in
    /// [`MappingTable::patterns`]), so coverage of a table's patterns can be measured.
    pub fn rule(&self, code: &str, description: Option<&str>) -> Option<Rule<'_>> {
        if self.patterns.is_empty() {
            return self.codes.get(code).map(|mapping| Rule {
                mapping,
                by: MappedBy::Code,
                pattern: None,
            });
        }
        // Folded only when a pattern is a candidate: most events of a table with patterns are
        // settled by their code's entry alone.
        let folded = std::cell::OnceCell::new();
        let matches = |p: &TextRule| {
            folded
                .get_or_init(|| description.map(fold))
                .as_deref()
                .is_some_and(|t| p.text.matches(t))
        };
        fn pattern((i, p): (usize, &TextRule)) -> Rule<'_> {
            Rule {
                mapping: &p.mapping,
                by: MappedBy::Pattern,
                pattern: Some(i),
            }
        }
        let mut indexed = self.patterns.iter().enumerate();
        if let Some(found) = indexed
            .clone()
            .find(|(_, p)| p.code.as_deref() == Some(code) && matches(p))
        {
            return Some(pattern(found));
        }
        if let Some(mapping) = self.codes.get(code) {
            return Some(Rule {
                mapping,
                by: MappedBy::Code,
                pattern: None,
            });
        }
        indexed
            .find(|(_, p)| p.code.is_none() && matches(p))
            .map(pattern)
    }

    pub fn reason(&self, code: &str) -> Option<&ReasonMapping> {
        self.reasons.get(code)
    }

    /// Checks that go beyond parsing: `unknown` is what an unmapped code becomes, so a table
    /// that maps a code to it on purpose hides a gap; and codes differing only by case or
    /// surrounding spaces are one code said twice.
    pub fn check(&self, file: &str) -> Vec<MappingError> {
        let mut problems = Vec::new();
        let mut seen: BTreeMap<String, &str> = BTreeMap::new();
        for (code, m) in &self.codes {
            if m.status == Status::Unknown {
                problems.push(MappingError::Entry {
                    file: file.to_owned(),
                    code: code.clone(),
                    message: "maps to unknown; leave the code out instead, so it is quarantined"
                        .into(),
                });
            }
            if m.description.trim().is_empty() {
                problems.push(MappingError::Entry {
                    file: file.to_owned(),
                    code: code.clone(),
                    message: "has no description; copy the vendor's own words".into(),
                });
            }
            let folded = code.trim().to_ascii_lowercase();
            if let Some(other) = seen.insert(folded, code) {
                problems.push(MappingError::Entry {
                    file: file.to_owned(),
                    code: code.clone(),
                    message: format!("duplicates {other:?} but for case or spaces"),
                });
            }
        }
        for (i, p) in self.patterns.iter().enumerate() {
            let what = format!("patterns[{i}] ({:?})", p.text.source());
            if p.mapping.status == Status::Unknown {
                problems.push(MappingError::Entry {
                    file: file.to_owned(),
                    code: what.clone(),
                    message: "maps to unknown; leave the pattern out instead".into(),
                });
            }
            if let Some(code) = &p.code
                && code.trim().is_empty()
            {
                problems.push(MappingError::Entry {
                    file: file.to_owned(),
                    code: what,
                    message: "has an empty code; leave `code` out to match any key".into(),
                });
            }
        }
        problems
    }
}

impl Mapping {
    fn read(
        status: String,
        reason: Option<String>,
        description: String,
        reference: Option<String>,
    ) -> Result<Mapping, String> {
        let status: Status = status
            .parse()
            .map_err(|_| format!("{status:?} is not a status"))?;
        let reason = parse_reason(reason.as_deref())?;
        Ok(Mapping {
            status,
            reason,
            description,
            reference: reference.filter(|r| !r.trim().is_empty()),
        })
    }
}

fn parse_reason(s: Option<&str>) -> Result<Option<Reason>, String> {
    match s {
        None => Ok(None),
        Some(r) => Reason::ALL
            .iter()
            .copied()
            .find(|x| x.as_str() == r)
            .map(Some)
            .ok_or_else(|| format!("{r:?} is not a reason")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = r#"
source = "ups"
vendor = "UPS"
[codes]
"D" = { status = "delivered", description = "Delivered" }
"X" = { status = "exception", reason = "address_issue", description = "Exception" }
[reasons]
"NS" = { description = "Normal" }
"#;

    #[test]
    fn reads_codes_and_reasons() {
        let t = MappingTable::from_toml("ups.toml", "ups", T).unwrap();
        assert_eq!(t.status("D").unwrap().status, Status::Delivered);
        assert_eq!(t.status("X").unwrap().reason, Some(Reason::AddressIssue));
        assert_eq!(t.reason("NS").unwrap().reason, None);
        assert!(t.check("ups.toml").is_empty());
    }

    #[test]
    fn refuses_duplicates_unknown_targets_and_wrong_source() {
        let dup = format!("{T}\n[codes]\n\"D\" = {{ status = \"delivered\" }}");
        assert!(MappingTable::from_toml("f", "ups", &dup).is_err());
        let dup_key = T.replace("\"X\" =", "\"D\" =");
        assert!(matches!(
            MappingTable::from_toml("f", "ups", &dup_key),
            Err(MappingError::Syntax { .. })
        ));
        let bad = T.replace("\"exception\"", "\"exploded\"");
        let err = MappingTable::from_toml("f", "ups", &bad).unwrap_err();
        assert!(err.to_string().contains("exploded"), "{err}");
        let bad = T.replace("address_issue", "gremlins");
        assert!(MappingTable::from_toml("f", "ups", &bad).is_err());
        assert!(matches!(
            MappingTable::from_toml("f", "fedex", T),
            Err(MappingError::WrongSource { .. })
        ));
    }

    #[test]
    fn check_flags_case_twins_and_unknown_targets() {
        let t = T.replace(
            "[reasons]",
            "\"d\" = { status = \"delivered\", description = \"x\" }\n\"Q\" = { status = \"unknown\", description = \"q\" }\n[reasons]",
        );
        let t = MappingTable::from_toml("f", "ups", &t).unwrap();
        assert_eq!(t.check("f").len(), 2);
    }

    #[test]
    fn overlay_overrides_and_extends() {
        let base = MappingTable::from_toml("f", "ups", T).unwrap();
        let over = MappingTable::from_toml(
            "o",
            "ups",
            "source = \"ups\"\n[codes]\n\"X\" = { status = \"on_hold\", description = \"held\" }\n\"ZZ\" = { status = \"lost\", description = \"lost\" }",
        )
        .unwrap();
        let merged = base.overlay(&over);
        assert_eq!(merged.status("X").unwrap().status, Status::OnHold);
        assert_eq!(merged.status("ZZ").unwrap().status, Status::Lost);
        assert_eq!(merged.status("D").unwrap().status, Status::Delivered);
    }
}
