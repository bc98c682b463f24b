//! RFC 9457 problem details: the one shape every error takes on the wire.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use waypost_domain::FieldError;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem; stable, one per kind.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// For invalid input: every field that was wrong and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
    #[serde(skip)]
    retry_after: Option<u64>,
    #[serde(skip)]
    authenticate: bool,
    #[serde(skip)]
    close: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProblemField {
    /// Path of the field in the request, like `[3].occurred_at`.
    pub field: String,
    pub message: String,
}

impl From<FieldError> for ProblemField {
    fn from(e: FieldError) -> Self {
        ProblemField {
            field: e.field,
            message: e.message,
        }
    }
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Self {
        Problem {
            kind: format!("urn:waypost:problem:{slug}"),
            title: title.to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
            authenticate: false,
            close: false,
        }
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors.into_iter().map(Into::into).collect();
        self
    }

    /// The `Retry-After` this problem will send, if any.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after
    }

    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs.max(1));
        self
    }

    /// Ask the client to close the connection: after refusing a body unread, the connection
    /// holds the rest of it and cannot carry another request.
    pub fn close_connection(mut self) -> Self {
        self.close = true;
        self
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        let mut p = Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            detail,
        );
        p.authenticate = true;
        p
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    pub fn bad_request(slug: &str, detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::BAD_REQUEST, slug, "Bad request", detail)
    }

    pub fn internal(detail: impl Into<String>) -> Self {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            detail,
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_else(|_| b"{}".to_vec());
        let mut resp = (status, body).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            h.insert(header::RETRY_AFTER, v);
        }
        if self.close {
            h.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if self.authenticate {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"waypost\""),
            );
        }
        resp
    }
}

/// A query string the route's parameters cannot be read from: axum says which and why.
/// The one mapping of intake's errors to the wire: a full queue is 429 with its Retry-After,
/// an engine that cannot take work 503 (retry in 5 s), a document that cannot be read 422, and
/// what is neither the sender's fault nor retryable 500. The detail is the error's own message.
impl From<waypost_intake::IntakeError> for Problem {
    fn from(e: waypost_intake::IntakeError) -> Self {
        use waypost_intake::IntakeError as E;
        let detail = e.to_string();
        match e {
            E::QueueFull {
                retry_after_secs, ..
            } => Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "queue-full",
                "Too many requests",
                detail,
            )
            .retry_after(retry_after_secs),
            E::ShuttingDown | E::StoreCommit { .. } => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
                detail,
            )
            .retry_after(5),
            E::Unreadable { .. } | E::ReplayUnreadable { .. } => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unreadable-document",
                "Unreadable document",
                detail,
            ),
            E::Read { .. } | E::Encoding { .. } | E::Task { .. } => Problem::internal(detail),
        }
    }
}

impl From<QueryRejection> for Problem {
    fn from(e: QueryRejection) -> Self {
        Problem::bad_request(
            "invalid-query",
            format!("{}; fix or drop that query parameter", e.body_text()),
        )
    }
}

/// A path segment that does not read as the route's parameter (bad percent-encoding, not
/// UTF-8, not a number).
impl From<PathRejection> for Problem {
    fn from(e: PathRejection) -> Self {
        Problem::bad_request(
            "invalid-path",
            format!("{}; check the URL's path", e.body_text()),
        )
    }
}

/// The longest body of a non-problem error answer that is carried over as the detail: axum's
/// rejections are one line; anything longer is not meant for a client.
const MAX_CARRIED_DETAIL: usize = 1024;

/// Makes every error answer problem+json, whatever produced it: an extractor's plain-text
/// rejection, a bare status from a layer, a route that answers a status alone. Its text (when
/// short) becomes the detail and its headers (`Allow`, `Retry-After`, ...) are kept. HTML
/// error pages are left alone: they are the customer pages' own, meant for a browser.
pub async fn errors_as_problems(resp: Response) -> Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let ct = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ct.starts_with("application/problem+json") || ct.starts_with("text/html") {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = match axum::body::to_bytes(body, MAX_CARRIED_DETAIL).await {
        Ok(b) if ct.starts_with("text/plain") || ct.is_empty() => {
            String::from_utf8_lossy(&b).trim().to_owned()
        }
        _ => String::new(),
    };
    let (slug, title) = kind_of(status);
    let detail = if text.is_empty() {
        format!(
            "{}: the request was refused as it was sent; see the status",
            status.canonical_reason().unwrap_or("error")
        )
    } else {
        text
    };
    let mut out = Problem::new(status, slug, title, detail).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().append(name.clone(), value.clone());
        }
    }
    out
}

/// The problem type of an answer that came without one, by its status.
fn kind_of(status: StatusCode) -> (&'static str, &'static str) {
    match status {
        StatusCode::BAD_REQUEST => ("bad-request", "Bad request"),
        StatusCode::UNAUTHORIZED => ("unauthorized", "Unauthorized"),
        StatusCode::FORBIDDEN => ("forbidden", "Forbidden"),
        StatusCode::NOT_FOUND => ("not-found", "Not found"),
        StatusCode::METHOD_NOT_ALLOWED => ("method-not-allowed", "Method not allowed"),
        StatusCode::PAYLOAD_TOO_LARGE => ("too-large", "Payload too large"),
        StatusCode::URI_TOO_LONG => ("uri-too-long", "URI too long"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported-media-type", "Unsupported media type"),
        StatusCode::UNPROCESSABLE_ENTITY => ("invalid-body", "Invalid request body"),
        StatusCode::TOO_MANY_REQUESTS => ("too-many-requests", "Too many requests"),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
            ("headers-too-large", "Request header fields too large")
        }
        StatusCode::SERVICE_UNAVAILABLE => ("unavailable", "Service unavailable"),
        StatusCode::REQUEST_TIMEOUT => ("timeout", "Request timeout"),
        s if s.is_server_error() => ("internal", "Internal error"),
        _ => ("client-error", "Client error"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use waypost_intake::IntakeError;

    fn wire(e: IntakeError) -> (u16, String, Option<u64>, String) {
        let p = Problem::from(e);
        (p.status, p.kind.clone(), p.retry_after_secs(), p.detail)
    }

    #[test]
    fn intake_errors_answer_as_the_api_always_did() {
        let (status, kind, retry, detail) = wire(IntakeError::QueueFull {
            depth: 7,
            retry_after_secs: 2,
        });
        assert_eq!(
            (status, kind.as_str(), retry),
            (429, "urn:waypost:problem:queue-full", Some(2))
        );
        assert_eq!(
            detail,
            "7 events are waiting to be applied; nothing of this request was stored"
        );
        let (status, kind, retry, _) = wire(IntakeError::ShuttingDown);
        assert_eq!(
            (status, kind.as_str(), retry),
            (503, "urn:waypost:problem:unavailable", Some(5))
        );
        let (status, _, retry, _) = wire(IntakeError::StoreCommit {
            reason: "disk full".into(),
        });
        assert_eq!((status, retry), (503, Some(5)));
        let (status, kind, retry, detail) = wire(IntakeError::Unreadable {
            problem: "not XML".into(),
            kept: true,
        });
        assert_eq!(
            (status, kind.as_str(), retry),
            (422, "urn:waypost:problem:unreadable-document", None)
        );
        assert!(detail.starts_with("not XML; nothing of it was applied; it is kept"));
        let (status, kind, _, _) = wire(IntakeError::ReplayUnreadable {
            problem: "not XML".into(),
        });
        assert_eq!(
            (status, kind.as_str()),
            (422, "urn:waypost:problem:unreadable-document")
        );
        let (status, kind, _, detail) = wire(IntakeError::Encoding {
            what: "encoding the events",
            reason: "too long".into(),
        });
        assert_eq!(
            (status, kind.as_str()),
            (500, "urn:waypost:problem:internal")
        );
        assert_eq!(detail, "encoding the events: too long");
    }
}
