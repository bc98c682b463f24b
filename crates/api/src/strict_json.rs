//! JSON request bodies read strictly and refused as problem+json. axum's `Json` extractor
//! keeps the last of two equal keys and answers its rejections in plain text; every JSON body
//! of our own schemas comes through here instead, so a duplicated key is refused naming the
//! key and its place (`[3].occurred_at`), and every refusal is a problem.
//!
//! Vendor documents (`/v1/webhooks/{source}`) do not: they are read as the vendor sends them.

use crate::AppState;
use crate::problem::{Problem, ProblemField};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::Value;
use waypost_domain::JsonError;
use waypost_domain::json;

/// A JSON request body of type `T`: checked for duplicated keys, then deserialized. A body of
/// only whitespace reads as `null`, so `StrictJson<Option<T>>` takes "no body" as `None`.
/// A body declared as anything but JSON is refused (415); an undeclared one is read as JSON.
#[derive(Debug)]
pub struct StrictJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for StrictJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Problem> {
        crate::routes::json_body_type(state, req.headers(), false)?;
        let body = read_body(Bytes::from_request(req, state).await, state)?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return T::deserialize(Value::Null).map(StrictJson).map_err(|e| {
                Problem::bad_request(
                    "malformed-json",
                    format!("the body is empty and this request needs one: {e}"),
                )
            });
        }
        json::check(&body).map_err(json_problem)?;
        serde_json::from_slice(&body).map(StrictJson).map_err(|e| {
            if e.is_data() {
                Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid-body",
                    "Invalid request body",
                    format!("the body is JSON but not what this request takes: {e}"),
                )
            } else {
                Problem::bad_request("malformed-json", format!("the body is not valid JSON: {e}"))
            }
        })
    }
}

/// The body's bytes, or the 413 a body over the limit (or cut off) gets.
pub(crate) fn read_body(
    body: Result<Bytes, BytesRejection>,
    state: &AppState,
) -> Result<Bytes, Problem> {
    body.map_err(|e| {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "Payload too large",
            format!(
                "the body could not be read within the limit of {} bytes: {e}",
                state.limits.max_body_bytes
            ),
        )
        .close_connection()
    })
}

/// A JSON body parsed into a [`Value`] in one pass that also refuses duplicated keys.
pub(crate) fn value(body: &[u8]) -> Result<Value, Problem> {
    json::parse_value(body).map_err(json_problem)
}

/// The problem for a body that is not strict JSON: 400 either way, since the body cannot be
/// read as one meaning; a duplicate names its key in `errors`.
pub(crate) fn json_problem(e: JsonError) -> Problem {
    match &e {
        JsonError::Syntax(_) => Problem::bad_request("malformed-json", e.to_string()),
        JsonError::DuplicateKey { path, key } => {
            let mut p = Problem::bad_request("duplicate-key", e.to_string());
            p.errors = vec![ProblemField {
                field: path.clone(),
                message: format!("the key {key:?} appears more than once in one object"),
            }];
            p
        }
    }
}
