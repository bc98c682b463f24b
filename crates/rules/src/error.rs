//! The crate's errors: why a rule file was refused, and why a name did not parse.

use std::fmt;

/// One thing wrong with a rule file: where (`rules[0] "pending-too-long"`, `calendars.office`,
/// `file`), which field (`after`, `filter.min_order_value`, `overrides[1].when.tenant`) and
/// what, with the offending value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub at: String,
    pub field: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}: {}", self.at, self.message)
        } else {
            write!(f, "{}: {}: {}", self.at, self.field, self.message)
        }
    }
}

/// Why [`crate::RuleSet::from_toml`] refused a file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RulesError {
    /// Not TOML at all; the message carries toml's line and column.
    #[error("rules are not valid toml: {0}")]
    Syntax(String),
    /// Valid TOML, invalid rules: every problem found, not just the first, one per line.
    #[error("{}", lines(.0))]
    Invalid(Vec<Problem>),
}

impl RulesError {
    /// The problems of an `Invalid` error (empty for a syntax error).
    pub fn problems(&self) -> &[Problem] {
        match self {
            RulesError::Invalid(p) => p,
            RulesError::Syntax(_) => &[],
        }
    }
}

fn lines(problems: &[Problem]) -> String {
    let mut out = String::new();
    for (i, p) in problems.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&p.to_string());
    }
    out
}

/// A name that is not in a closed vocabulary (severity, kind, subject, alert status).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?} (valid: {})", .valid.join(", "))]
pub struct UnknownName {
    pub what: &'static str,
    pub value: String,
    pub valid: &'static [&'static str],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_prints_one_problem_per_line() {
        let e = RulesError::Invalid(vec![
            Problem {
                at: "rules[0] \"a\"".into(),
                field: "after".into(),
                message: "bad".into(),
            },
            Problem {
                at: "file".into(),
                field: String::new(),
                message: "worse".into(),
            },
        ]);
        assert_eq!(e.to_string(), "rules[0] \"a\": after: bad\nfile: worse");
        assert_eq!(e.problems().len(), 2);
    }
}
