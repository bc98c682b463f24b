//! Typed reads of TOML tables that record a [`Problem`] instead of stopping: the validator
//! wants every mistake in a file, not the first one serde would stop at.

use crate::duration::{format_duration, parse_duration};
use crate::error::Problem;
use jiff::SignedDuration;
use toml::{Table, Value};

/// The longest duration a rule may use. Longer is almost surely a typo ("400d" for "40d"), and
/// the bound keeps calendar arithmetic short.
pub(crate) const MAX_DURATION: SignedDuration = SignedDuration::from_hours(366 * 24);

/// Where problems go, and the location every new one names.
pub(crate) struct Sink<'p> {
    pub at: String,
    pub problems: &'p mut Vec<Problem>,
}

impl Sink<'_> {
    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            at: self.at.clone(),
            field: field.into(),
            message: message.into(),
        });
    }
}

/// One table being read, with the dotted path of its fields (`filter.`, `overrides[0].`).
pub(crate) struct Fields<'t> {
    pub table: &'t Table,
    pub prefix: String,
}

/// `integer 4`, `string "x"`, `array`: the offending value, short.
pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("string {s:?}"),
        Value::Integer(i) => format!("integer {i}"),
        Value::Float(f) => format!("float {f}"),
        Value::Boolean(b) => format!("boolean {b}"),
        Value::Datetime(d) => format!("datetime {d}"),
        Value::Array(_) => "an array".to_string(),
        Value::Table(_) => "a table".to_string(),
    }
}

impl<'t> Fields<'t> {
    pub fn new(table: &'t Table, prefix: impl Into<String>) -> Self {
        Fields {
            table,
            prefix: prefix.into(),
        }
    }

    pub fn path(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    pub fn has(&self, key: &str) -> bool {
        self.table.contains_key(key)
    }

    /// Every key not in `known` is a problem (the `deny_unknown_fields` of this reader).
    pub fn deny_unknown(&self, sink: &mut Sink, known: &[&str]) {
        for key in self.table.keys() {
            if !known.contains(&key.as_str()) {
                sink.push(
                    self.path(key),
                    format!("unknown field (valid: {})", known.join(", ")),
                );
            }
        }
    }

    fn wrong(&self, sink: &mut Sink, key: &str, want: &str, v: &Value) {
        sink.push(
            self.path(key),
            format!("expected {want}, found {}", describe(v)),
        );
    }

    pub fn string(&self, sink: &mut Sink, key: &str) -> Option<&'t str> {
        match self.table.get(key)? {
            Value::String(s) => Some(s),
            v => {
                self.wrong(sink, key, "a string", v);
                None
            }
        }
    }

    pub fn boolean(&self, sink: &mut Sink, key: &str) -> Option<bool> {
        match self.table.get(key)? {
            Value::Boolean(b) => Some(*b),
            v => {
                self.wrong(sink, key, "true or false", v);
                None
            }
        }
    }

    /// A finite number; integers are accepted where a float is meant (`min_order_value = 100`).
    pub fn number(&self, sink: &mut Sink, key: &str) -> Option<f64> {
        match self.table.get(key)? {
            Value::Integer(i) => Some(*i as f64),
            Value::Float(f) if f.is_finite() => Some(*f),
            v => {
                self.wrong(sink, key, "a finite number", v);
                None
            }
        }
    }

    /// A list of strings; `Some(vec![])` for an absent key, `None` (with a problem) for a wrong
    /// type. Every wrong element is reported.
    pub fn strings(&self, sink: &mut Sink, key: &str) -> Option<Vec<&'t str>> {
        let Some(v) = self.table.get(key) else {
            return Some(Vec::new());
        };
        let Value::Array(items) = v else {
            self.wrong(sink, key, "a list of strings", v);
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match item {
                Value::String(s) if !s.trim().is_empty() => out.push(s.as_str()),
                other => {
                    ok = false;
                    sink.push(
                        format!("{}[{i}]", self.path(key)),
                        format!("expected a non-empty string, found {}", describe(other)),
                    );
                }
            }
        }
        ok.then_some(out)
    }

    /// Each element parsed by `parse`, whose error message is reported with the element's path.
    pub fn parsed_list<T, E: std::fmt::Display>(
        &self,
        sink: &mut Sink,
        key: &str,
        parse: impl Fn(&str) -> Result<T, E>,
    ) -> Option<Vec<T>> {
        let names = self.strings(sink, key)?;
        let mut out = Vec::with_capacity(names.len());
        let mut ok = true;
        for (i, name) in names.iter().enumerate() {
            match parse(name) {
                Ok(v) => out.push(v),
                Err(e) => {
                    ok = false;
                    sink.push(format!("{}[{i}]", self.path(key)), e.to_string());
                }
            }
        }
        ok.then_some(out)
    }

    /// A positive duration no longer than [`MAX_DURATION`].
    pub fn duration(&self, sink: &mut Sink, key: &str) -> Option<SignedDuration> {
        let text = self.string(sink, key)?;
        match parse_duration(text) {
            Err(e) => {
                sink.push(self.path(key), e.to_string());
                None
            }
            Ok(d) if d <= SignedDuration::ZERO => {
                sink.push(self.path(key), format!("{text:?} must be longer than zero"));
                None
            }
            Ok(d) if d > MAX_DURATION => {
                sink.push(
                    self.path(key),
                    format!(
                        "{text:?} is longer than the limit of {}",
                        format_duration(MAX_DURATION)
                    ),
                );
                None
            }
            Ok(d) => Some(d),
        }
    }

    /// A sub-table; `None` (with a problem) for another type, `None` silently when absent.
    pub fn table(&self, sink: &mut Sink, key: &str) -> Option<&'t Table> {
        match self.table.get(key)? {
            Value::Table(t) => Some(t),
            v => {
                self.wrong(sink, key, "a table", v);
                None
            }
        }
    }
}

/// Rule and calendar names: `[a-z0-9_-]{1,64}`, so they are safe in URLs, metrics labels and
/// file names.
pub(crate) fn valid_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read<T>(toml: &str, f: impl FnOnce(&Fields, &mut Sink) -> T) -> (T, Vec<Problem>) {
        let table: Table = toml.parse().unwrap();
        let mut problems = Vec::new();
        let mut sink = Sink {
            at: "here".into(),
            problems: &mut problems,
        };
        let out = f(&Fields::new(&table, "p."), &mut sink);
        (out, problems)
    }

    #[test]
    fn wrong_types_name_the_field_and_value() {
        let (v, p) = read("after = 4", |f, s| f.duration(s, "after"));
        assert_eq!(v, None);
        assert_eq!(
            p[0].to_string(),
            "here: p.after: expected a string, found integer 4"
        );
        let (v, p) = read("xs = [\"a\", 1, \"\"]", |f, s| {
            f.strings(s, "xs").map(|v| v.len())
        });
        assert_eq!(v, None);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].field, "p.xs[1]");
    }

    #[test]
    fn durations_must_be_positive_and_bounded() {
        for bad in ["\"0m\"", "\"400d\"", "\"-1h\"", "\"soon\""] {
            let (v, p) = read(&format!("after = {bad}"), |f, s| f.duration(s, "after"));
            assert_eq!(v, None, "{bad}");
            assert_eq!(p.len(), 1, "{bad}");
        }
        let (v, _) = read("after = \"1h30m\"", |f, s| f.duration(s, "after"));
        assert_eq!(v, Some(SignedDuration::from_mins(90)));
    }

    #[test]
    fn names_are_slugs() {
        assert!(valid_name("pending-too-long_2"));
        assert!(!valid_name("Pending"));
        assert!(!valid_name(""));
        assert!(!valid_name(&"a".repeat(65)));
        assert!(!valid_name("a b"));
    }
}
