//! The small JSON bodies of the alert commands, read by hand: axum's `Json` rejections are
//! plain text, and every error here is problem+json naming the field that was wrong.

use crate::auth::Caller;
use crate::problem::{Problem, ProblemField};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use serde_json::{Map, Value};

/// Longest assignee or actor name.
pub const MAX_NAME: usize = 256;
/// Longest resolution note.
pub const MAX_NOTE: usize = 4096;

/// A command's body, or 413 when it could not be read within the route's limit (the rest of
/// it stays unread, so the connection closes).
pub fn command_body(body: Result<Bytes, BytesRejection>) -> Result<Bytes, Problem> {
    body.map_err(|e| {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "Payload too large",
            format!("the body could not be read: {e}"),
        )
        .close_connection()
    })
}

/// A 422 naming one field.
pub fn invalid_field(field: &str, message: String) -> Problem {
    let mut p = Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-body",
        "Invalid request body",
        format!("{field}: {message}"),
    );
    p.errors = vec![ProblemField {
        field: field.to_owned(),
        message,
    }];
    p
}

/// A command's body as a JSON object whose fields are taken one by one.
#[derive(Debug)]
pub struct BodyFields(Map<String, Value>);

impl BodyFields {
    /// Reads the body: empty means `{}`; anything but an object of `known` fields is refused.
    pub fn read(body: Result<Bytes, BytesRejection>, known: &[&str]) -> Result<Self, Problem> {
        let body = command_body(body)?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(BodyFields(Map::new()));
        }
        let value = crate::strict_json::value(&body)?;
        let Value::Object(map) = value else {
            return Err(invalid_field("", "the body must be a JSON object".into()));
        };
        if let Some(unknown) = map.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(invalid_field(
                unknown,
                format!("unknown field; this command takes {}", known.join(", ")),
            ));
        }
        Ok(BodyFields(map))
    }

    /// A string field, trimmed; absent or null is `None`, an empty string is refused.
    pub fn optional_text(&mut self, field: &str, max: usize) -> Result<Option<String>, Problem> {
        match self.0.remove(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => {
                let s = s.trim();
                if s.is_empty() {
                    Err(invalid_field(field, "must not be empty".into()))
                } else if s.chars().count() > max {
                    Err(invalid_field(
                        field,
                        format!("longer than {max} characters"),
                    ))
                } else if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
                    Err(invalid_field(
                        field,
                        "must not hold control characters".into(),
                    ))
                } else {
                    Ok(Some(s.to_owned()))
                }
            }
            Some(other) => Err(invalid_field(
                field,
                format!(
                    "must be a string, not {}",
                    waypost_domain::json_kind(&other)
                ),
            )),
        }
    }

    /// A boolean field; absent or null is `None`.
    pub fn optional_bool(&mut self, field: &str) -> Result<Option<bool>, Problem> {
        match self.0.remove(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(other) => Err(invalid_field(
                field,
                format!(
                    "must be true or false, not {}",
                    waypost_domain::json_kind(&other)
                ),
            )),
        }
    }

    /// A whole-number field within `range`; absent or null is `None`.
    pub fn optional_int(
        &mut self,
        field: &str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<Option<i64>, Problem> {
        match self.0.remove(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => match n.as_i64().filter(|v| range.contains(v)) {
                Some(v) => Ok(Some(v)),
                None => Err(invalid_field(
                    field,
                    format!(
                        "{n} is not a whole number from {} to {}",
                        range.start(),
                        range.end()
                    ),
                )),
            },
            Some(other) => Err(invalid_field(
                field,
                format!(
                    "must be a number, not {}",
                    waypost_domain::json_kind(&other)
                ),
            )),
        }
    }

    /// A list of non-empty one-line strings of at most `max` characters each, at most `most`
    /// of them; absent or null is `None`.
    pub fn optional_list(
        &mut self,
        field: &str,
        max: usize,
        most: usize,
    ) -> Result<Option<Vec<String>>, Problem> {
        let items = match self.0.remove(field) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Array(items)) => items,
            Some(other) => {
                return Err(invalid_field(
                    field,
                    format!("must be a list, not {}", waypost_domain::json_kind(&other)),
                ));
            }
        };
        if items.len() > most {
            return Err(invalid_field(field, format!("more than {most} items")));
        }
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            let at = format!("{field}[{i}]");
            match item {
                Value::String(s)
                    if !s.trim().is_empty()
                        && s.chars().count() <= max
                        && !s.chars().any(char::is_control) =>
                {
                    out.push(s.trim().to_owned());
                }
                Value::String(_) => {
                    return Err(invalid_field(
                        &at,
                        format!("must be 1 to {max} characters on one line"),
                    ));
                }
                other => {
                    return Err(invalid_field(
                        &at,
                        format!(
                            "must be a string, not {}",
                            waypost_domain::json_kind(&other)
                        ),
                    ));
                }
            }
        }
        Ok(Some(out))
    }

    /// A field's raw value, for what must be kept exactly as sent (a password is not trimmed).
    pub fn take(&mut self, field: &str) -> Option<Value> {
        self.0.remove(field)
    }

    pub fn required_text(&mut self, field: &str, max: usize) -> Result<String, Problem> {
        self.optional_text(field, max)?
            .ok_or_else(|| invalid_field(field, "required".into()))
    }

    /// Who the audit trail records: the API key always, since it is what authenticated and
    /// stays accountable; a person named in `actor` beside it, as `<actor> via <key id>`.
    pub fn actor(&mut self, caller: &Caller) -> Result<String, Problem> {
        Ok(match self.optional_text("actor", MAX_NAME)? {
            Some(person) if person.contains('\n') || person.contains('\t') => {
                return Err(invalid_field("actor", "must be one line".into()));
            }
            Some(person) => format!("{person} via {}", caller.key_id),
            None => caller.key_id.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(body: &str, known: &[&str]) -> Result<BodyFields, Problem> {
        BodyFields::read(Ok(Bytes::from(body.to_owned())), known)
    }

    #[test]
    fn an_empty_body_is_an_empty_object() {
        let mut f = read("  ", &["actor"]).unwrap();
        assert_eq!(f.optional_text("actor", 10).unwrap(), None);
    }

    #[test]
    fn every_refusal_names_its_field() {
        assert_eq!(read("{", &[]).unwrap_err().status, 400);
        let p = read("[1]", &["to"]).unwrap_err();
        assert_eq!((p.status, p.errors[0].field.as_str()), (422, ""));
        let p = read(r#"{"to":"a","x":1}"#, &["to"]).unwrap_err();
        assert_eq!(p.errors[0].field, "x");
        let mut f = read(r#"{"to":5}"#, &["to"]).unwrap();
        let p = f.required_text("to", 10).unwrap_err();
        assert_eq!((p.status, p.errors[0].field.as_str()), (422, "to"));
        assert!(p.detail.contains("a number"), "{}", p.detail);
        let mut f = read(r#"{"to":"  "}"#, &["to"]).unwrap();
        assert_eq!(f.required_text("to", 10).unwrap_err().errors[0].field, "to");
        let mut f = read(r#"{}"#, &["note"]).unwrap();
        assert!(
            f.required_text("note", 10)
                .unwrap_err()
                .detail
                .contains("required")
        );
        let mut f = read(r#"{"note":"0123456789x"}"#, &["note"]).unwrap();
        assert!(f.required_text("note", 10).is_err());
    }
}
