//! What the web-shop readers (Shopify, WooCommerce, BigCommerce, Magento) share on top of
//! [`super::common`]: parsing a JSON body within bounds, and reading one field at a known path
//! so every error names the path it came from.

use super::common::{self, ReadError};
use crate::model::ReadNote;
use jiff::Timestamp;
use rust_decimal::Decimal;
use serde_json::{Map, Value};

/// One reader's view of a document: the channel name for errors, plus the notes gathered
/// while reading one order.
pub(crate) struct Cx {
    pub channel: &'static str,
    pub notes: Vec<ReadNote>,
}

impl Cx {
    pub fn new(channel: &'static str) -> Self {
        Cx {
            channel,
            notes: Vec::new(),
        }
    }

    pub fn err(&self, at: impl Into<String>, problem: impl Into<String>) -> ReadError {
        ReadError::new(self.channel, at, problem)
    }

    pub fn note(&mut self, at: impl Into<String>, note: impl Into<String>) {
        self.notes.push(ReadNote {
            at: at.into(),
            note: note.into(),
        });
    }

    /// The notes gathered so far, leaving none (one order's notes go on that order).
    pub fn take_notes(&mut self) -> Vec<ReadNote> {
        std::mem::take(&mut self.notes)
    }

    /// The body as JSON, refused when too large or malformed. serde_json limits nesting
    /// depth (128), so a hostile document cannot exhaust the stack.
    pub fn parse(&self, body: &[u8]) -> Result<Value, ReadError> {
        if body.len() > common::MAX_DOCUMENT_BYTES {
            return Err(self.err(
                "document",
                format!(
                    "{} bytes is more than the {} a document may have",
                    body.len(),
                    common::MAX_DOCUMENT_BYTES
                ),
            ));
        }
        serde_json::from_slice(body).map_err(|e| {
            self.err(
                format!("line {} column {}", e.line(), e.column()),
                format!("not JSON: {}", strip_position(&e.to_string())),
            )
        })
    }

    /// An object, or an error naming what was there instead.
    pub fn object<'a>(&self, v: &'a Value, at: &str) -> Result<&'a Map<String, Value>, ReadError> {
        v.as_object()
            .ok_or_else(|| self.err(at, format!("expected an object, got {}", common::kind(v))))
    }

    /// An exact amount at `at`; `None` when absent, null, `""` or `{}`. Trailing zeros are
    /// dropped (`"1008.7400"` and `1008.74` are one amount) so a webhook and a poll of the
    /// same order state read alike.
    pub fn money(&self, v: Option<&Value>, at: &str) -> Result<Option<Decimal>, ReadError> {
        match v {
            None => Ok(None),
            Some(v) => common::money(v)
                .map(|m| m.map(|d| d.normalize()))
                .map_err(|p| self.err(at, p)),
        }
    }

    /// A quantity: an amount that must be there and must not be negative.
    pub fn quantity(&self, v: Option<&Value>, at: &str) -> Result<Decimal, ReadError> {
        match self.money(v, at)? {
            Some(q) if q.is_sign_negative() && !q.is_zero() => {
                Err(self.err(at, format!("quantity {q} is negative")))
            }
            Some(q) => Ok(q),
            None => Err(self.err(at, "no quantity")),
        }
    }

    /// An instant at `at`; `None` when absent, null or `""`.
    pub fn instant(
        &self,
        v: Option<&Value>,
        at: &str,
        naive_is_utc: bool,
    ) -> Result<Option<Timestamp>, ReadError> {
        match v {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::Object(m)) if m.is_empty() => Ok(None),
            Some(Value::String(s)) => common::instant(s, naive_is_utc)
                .map(Some)
                .map_err(|p| self.err(at, p)),
            Some(other) => Err(self.err(
                at,
                format!("expected a date and time, got {}", common::kind(other)),
            )),
        }
    }

    /// An id that must be there: a number or a non-empty string.
    pub fn id(&self, v: Option<&Value>, at: &str) -> Result<String, ReadError> {
        match v {
            Some(Value::Number(n)) if n.is_u64() || n.is_i64() => Ok(n.to_string()),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
            None | Some(Value::Null) => Err(self.err(at, "no id")),
            Some(other) => {
                Err(self.err(at, format!("expected an id, got {}", common::kind(other))))
            }
        }
    }

    /// A list the reader needs (an order's lines): absent or null is empty, an array is
    /// read, anything else is refused rather than read as "no lines".
    pub fn list<'a>(&self, v: Option<&'a Value>, at: &str) -> Result<&'a [Value], ReadError> {
        match v {
            None | Some(Value::Null) => Ok(&[]),
            Some(Value::Array(a)) => Ok(a),
            Some(other) => Err(self.err(
                at,
                format!("expected an array, got {}", common::kind(other)),
            )),
        }
    }

    /// A coordinate sent as a string (`"45.41634"`, older Shopify) or a number (newer). One
    /// that does not read as a finite number is dropped with a note: coordinates are a
    /// convenience (the gazetteer gives them otherwise), not a reason to refuse an order.
    pub fn coordinate(&mut self, v: Option<&Value>, at: &str, bound: f64) -> Option<f64> {
        let x = match v? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) if s.trim().is_empty() => return None,
            Value::String(s) => s.trim().parse::<f64>().ok(),
            Value::Null => return None,
            _ => None,
        };
        match x {
            Some(x) if x.is_finite() && x.abs() <= bound => Some(x),
            _ => {
                self.note(at, "coordinate is not a number in range, dropped");
                None
            }
        }
    }
}

/// A field of an object, `None` when the value is not an object.
pub(crate) fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_object()?.get(key)
}

/// A field along a path of keys.
pub(crate) fn dig<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    keys.iter().try_fold(v, |v, k| get(v, k))
}

/// The array at `v`, or an empty slice when it is absent, null or not an array. Readers use
/// it for optional lists; a list the reader needs is checked explicitly.
pub(crate) fn list(v: Option<&Value>) -> &[Value] {
    match v {
        Some(Value::Array(a)) => a,
        _ => &[],
    }
}

/// Trimmed text, as [`common::text`].
pub(crate) fn text(v: Option<&Value>) -> Option<String> {
    common::text(v)
}

/// First name and last name joined, either may be missing.
pub(crate) fn full_name(first: Option<&Value>, last: Option<&Value>) -> Option<String> {
    let parts: Vec<String> = [text(first), text(last)].into_iter().flatten().collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// A currency code, upper case.
pub(crate) fn currency(v: Option<&Value>) -> Option<String> {
    text(v).map(|c| c.to_ascii_uppercase())
}

/// serde_json's message ends with " at line L column C"; the position is already in `at`.
fn strip_position(msg: &str) -> &str {
    msg.rfind(" at line ").map_or(msg, |i| &msg[..i])
}
