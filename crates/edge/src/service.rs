//! What every request goes through before the router: the peer's address and client
//! certificate attached, a slot of the bodies-in-flight cap taken for a request with a body
//! (503 without reading it when none is free), the body paced, and a cut body answered 408.

use crate::activity::{Activity, Busy};
use crate::body::{Cut, Pace, PacedBody};
use axum::Router;
use axum::body::Body;
use axum::body::Bytes;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response, StatusCode};
use axum::response::IntoResponse;
use hyper::body::{Body as _, Frame, Incoming, SizeHint};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::Semaphore;
use tower::ServiceExt;
use waypost_api::client_cert::ClientCert;
use waypost_api::problem::Problem;
use waypost_engine::Metrics;

/// Shared by the requests of one connection.
#[derive(Clone)]
pub struct Edge {
    pub app: Router,
    pub peer: SocketAddr,
    pub cert: Option<ClientCert>,
    pub bodies: Arc<Semaphore>,
    pub pace: Pace,
    pub metrics: Arc<Metrics>,
    pub activity: Activity,
}

impl Edge {
    pub async fn call(
        self,
        mut req: Request<Incoming>,
    ) -> Result<Response<Body>, std::convert::Infallible> {
        let start = tokio::time::Instant::now();
        let busy = self.activity.begin();
        if let Some(c) = &self.cert {
            req.extensions_mut().insert(c.clone());
        }
        // As axum's own server does: allow-lists and the client address read it.
        req.extensions_mut().insert(ConnectInfo(self.peer));
        let cut = Cut::default();
        let req = if req.body().is_end_stream() {
            req.map(Body::new)
        } else {
            let Ok(permit) = self.bodies.clone().try_acquire_owned() else {
                self.metrics
                    .edge_refusals
                    .add(["request", "bodies_in_flight"], 1);
                let p = Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    "Service unavailable",
                    "too many requests are sending bodies right now; retry shortly",
                )
                .retry_after(1)
                .close_connection();
                return Ok(with_guard(p.into_response(), busy));
            };
            let pace = self.pace;
            let cut = cut.clone();
            req.map(move |b| Body::new(PacedBody::new(b, pace, start, cut, permit)))
        };
        let resp = match self.app.oneshot(req).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        let resp = match cut.reason() {
            Some(reason) => {
                self.metrics.edge_refusals.add(["request", reason], 1);
                tracing::debug!(peer = %self.peer, reason, "request body cut");
                Problem::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "body-timeout",
                    "Request timeout",
                    format!(
                        "the body must arrive within {} s and at no less than {} bytes/s (after {} s); send it again, faster",
                        self.pace.timeout.as_secs(),
                        self.pace.min_rate,
                        self.pace.grace.as_secs()
                    ),
                )
                .close_connection()
                .into_response()
            }
            None => resp,
        };
        Ok(with_guard(resp, busy))
    }
}

/// Keeps the connection counted busy until the answer's body has been sent (an event stream
/// is a request in flight for as long as it lasts).
fn with_guard(resp: Response<Body>, busy: Busy) -> Response<Body> {
    resp.map(move |inner| Body::new(Guarded { inner, _busy: busy }))
}

/// A body that holds a [`Busy`]; everything else is the inner body's (its size hint included,
/// so a sized answer keeps its Content-Length).
struct Guarded {
    inner: Body,
    _busy: Busy,
}

impl hyper::body::Body for Guarded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
