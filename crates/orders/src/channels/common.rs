//! What several readers share: the error, exact money from strings or numbers, and the
//! channels' many ways of writing an instant.

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde_json::Value;

/// A document a reader could not read, naming where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{channel} document, at {at}: {problem}")]
pub struct ReadError {
    pub channel: &'static str,
    /// A JSON path (`line_items[2].quantity`), an X12 segment (`segment 14 (PO1)`), a CSV line.
    pub at: String,
    pub problem: String,
}

impl ReadError {
    pub fn new(channel: &'static str, at: impl Into<String>, problem: impl Into<String>) -> Self {
        ReadError {
            channel,
            at: at.into(),
            problem: problem.into(),
        }
    }
}

/// Most bytes a reader accepts in one document: larger is refused before parsing.
pub const MAX_DOCUMENT_BYTES: usize = 8 << 20;

/// An exact amount from a JSON value that may be a string (`"199.00"`, `"1008.7400"`) or a
/// number (`3`, `195.66`). `None` for null, `""` and `{}` (BigCommerce sends empty objects).
/// Numbers are read from their decimal text, never through a float.
pub fn money(v: &Value) -> Result<Option<Decimal>, String> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::Object(m) if m.is_empty() => Ok(None),
        Value::String(s) => decimal(s.trim()).map(Some),
        Value::Number(n) => decimal(&n.to_string()).map(Some),
        other => Err(format!("expected an amount, got {}", kind(other))),
    }
}

/// A decimal from its text (`"12"`, `"0.9"`, `"-3.5"`, `"1e2"` refused: channels do not
/// send exponents for money, and accepting them would let `"1e30"` through).
pub fn decimal(s: &str) -> Result<Decimal, String> {
    if s.len() > 40 || s.contains(['e', 'E']) {
        return Err(format!("{s:?} is not a decimal amount"));
    }
    s.parse::<Decimal>()
        .map_err(|_| format!("{s:?} is not a decimal amount"))
}

/// An instant from the formats channels use:
/// - RFC 3339 with `Z` or an offset (`2008-01-10T11:00:00-05:00`);
/// - a date-time without a zone (`2017-03-22T19:28:02`, `2017-08-21 22:22:19`), read in
///   `assume_utc` when the channel documents it as UTC, refused otherwise;
/// - RFC 2822 (`Thu, 20 Jun 2019 16:07:08 +0000`).
pub fn instant(s: &str, naive_is_utc: bool) -> Result<Timestamp, String> {
    let s = s.trim();
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t);
    }
    if let Ok(t) = jiff::fmt::rfc2822::parse(s).map(|z| z.timestamp()) {
        return Ok(t);
    }
    if let Ok(dt) = s.replacen(' ', "T", 1).parse::<jiff::civil::DateTime>() {
        if naive_is_utc {
            return dt
                .to_zoned(jiff::tz::TimeZone::UTC)
                .map(|z| z.timestamp())
                .map_err(|e| format!("{s:?}: {e}"));
        }
        return Err(format!(
            "{s:?} has no time zone, and this field is not documented as UTC"
        ));
    }
    Err(format!("{s:?} is not a date and time this channel sends"))
}

/// A JSON value's kind, for messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A string field, trimmed, `None` when missing, null, empty or `{}`. Numbers are given as
/// their text (ids arrive as either).
pub fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => {
            let t = s.trim();
            (!t.is_empty()).then(|| t.to_string())
        }
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A boolean that may be sent as `true`, `"true"`, `1` or `"1"`.
pub fn flag(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true") || s == "1",
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn money_is_exact_from_strings_and_numbers() {
        assert_eq!(
            money(&json!("1008.7400")),
            Ok(Some("1008.74".parse().unwrap_or_default()))
        );
        assert_eq!(
            money(&json!(195.66)),
            Ok(Some("195.66".parse().unwrap_or_default()))
        );
        assert_eq!(money(&json!({})), Ok(None));
        assert_eq!(money(&json!("")), Ok(None));
        assert!(money(&json!("1e30")).is_err());
        assert!(money(&json!([1])).is_err());
    }

    #[test]
    fn instants_in_every_channel_format() {
        let want: Timestamp = "2019-06-20T16:07:08Z".parse().unwrap_or_default();
        assert_eq!(instant("Thu, 20 Jun 2019 16:07:08 +0000", false), Ok(want));
        assert_eq!(instant("2019-06-20 16:07:08", true), Ok(want));
        assert_eq!(instant("2019-06-20T16:07:08", true), Ok(want));
        assert_eq!(instant("2019-06-20T11:07:08-05:00", false), Ok(want));
        assert!(instant("2019-06-20T16:07:08", false).is_err());
        assert!(instant("1.569521782042E9", true).is_err());
    }
}
