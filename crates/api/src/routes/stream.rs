use crate::AppState;
use crate::auth::Caller;
use crate::dto::AlertDto;
use crate::problem::Problem;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use waypost_store::{AlertRow, Change, Scope};

const PAGE: usize = 1000;

/// Server-Sent Events of every state change of the caller's tenant, and of its alerts.
///
/// Each change is `event: change`, `id: <seq>`, `data: <change JSON>`. Changes are numbered
/// per tenant (1, 2, 3, ...), so the ids say nothing of other tenants' traffic. Reconnect with
/// `Last-Event-ID: <seq>` to resume without a gap: missed changes are read
/// from the store first, then the stream goes live.
///
/// Each alert raised or changed (by the detector or a person) is `event: alert`,
/// `data: <alert JSON, as GET /v1/alerts/{id} without the audit trail>`, live only: it has no
/// `id:` line, so a client's last event id stays the last change's and resuming is unaffected;
/// alerts missed while disconnected are not replayed (list them with `GET /v1/alerts`).
#[utoipa::path(get, path = "/v1/stream", tag = "query",
    params(
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this change seq"),
    ),
    responses(
        (status = 200, description = "An endless text/event-stream", body = String, content_type = "text/event-stream"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Problem> {
    caller.require(Scope::Read, &state)?;
    let after = match headers.get("last-event-id") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    Problem::bad_request("invalid-header", "Last-Event-ID must be a change seq")
                })?,
        ),
    };
    // Subscribe before reading the backlog so nothing falls between the two.
    let mut live = state.changes.subscribe();
    // Alerts are live only; subscribing here means those raised during the catch-up wait in
    // the receiver (up to its buffer) and go out once the stream is live.
    let mut alerts = Some(state.alerts.subscribe());
    // Without Last-Event-ID a subscriber starts from now: "now" is fixed before the response
    // goes out, so every change committed after the client sees 200 is sent.
    let mut last = match after {
        Some(a) => a,
        None => {
            let t = caller.tenant.clone();
            super::read(&state, move |r| r.last_seq(&t)).await?
        }
    };
    let (tx, rx) = mpsc::channel::<Event>(256);
    let tenant = caller.tenant.clone();
    let reader = state.reader.clone();
    tokio::spawn(async move {
        loop {
            // Catch up from the store until a page comes back short.
            loop {
                let r = reader.clone();
                let t = tenant.clone();
                let page = match tokio::task::spawn_blocking(move || {
                    r.changes_after(&t, last, PAGE)
                })
                .await
                {
                    Ok(Ok(p)) => p,
                    _ => return,
                };
                let short = page.len() < PAGE;
                for c in page {
                    last = c.seq;
                    if tx.send(to_event(&c)).await.is_err() {
                        return;
                    }
                }
                if short {
                    break;
                }
            }
            // Live until the subscriber lags behind the broadcast buffer; then back to the store.
            loop {
                let next = tokio::select! {
                    c = live.recv() => Next::Change(c),
                    a = recv_alert(&mut alerts) => Next::Alert(a),
                };
                match next {
                    Next::Change(Ok(c)) => {
                        if c.tenant != tenant.as_str() || c.seq <= last {
                            continue;
                        }
                        last = c.seq;
                        if tx.send(to_event(&c)).await.is_err() {
                            return;
                        }
                    }
                    Next::Change(Err(RecvError::Lagged(_))) => break,
                    Next::Change(Err(RecvError::Closed)) => return,
                    Next::Alert(Ok(a)) => {
                        if a.subject.tenant != tenant {
                            continue;
                        }
                        if tx.send(alert_event(&a)).await.is_err() {
                            return;
                        }
                    }
                    // Alerts are not resumable: a lagging subscriber skips what it missed
                    // (the listing has it) and carries on.
                    Next::Alert(Err(RecvError::Lagged(n))) => {
                        tracing::debug!(skipped = n, "stream subscriber lagged on alerts");
                    }
                    Next::Alert(Err(RecvError::Closed)) => alerts = None,
                }
            }
        }
    });
    Ok(
        Sse::new(ReceiverStream::new(rx).map(Ok::<Event, Infallible>))
            .keep_alive(KeepAlive::new().interval(Duration::from_secs(15))),
    )
}

enum Next {
    Change(Result<Arc<Change>, RecvError>),
    Alert(Result<Arc<AlertRow>, RecvError>),
}

/// The next alert, or never once the alert channel is closed (changes keep flowing).
async fn recv_alert(
    rx: &mut Option<broadcast::Receiver<Arc<AlertRow>>>,
) -> Result<Arc<AlertRow>, RecvError> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

fn alert_event(a: &AlertRow) -> Event {
    let data = serde_json::to_string(&AlertDto::from(a)).unwrap_or_else(|_| "{}".into());
    Event::default().event("alert").data(data)
}

fn to_event(c: &Change) -> Event {
    let data = serde_json::to_string(c).unwrap_or_else(|_| "{}".into());
    Event::default()
        .event("change")
        .id(c.seq.to_string())
        .data(data)
}
