//! The accept loop: a slot of `edge.max_connections` per connection, a refusal that costs
//! nothing over it, and the drain on shutdown.

use crate::tls::TlsSetup;
use crate::{EdgeLimits, activity, body, conn, head, service};
use axum::Router;
use axum::http::StatusCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use waypost_engine::Metrics;

/// Serves `app` on `listener` (over TLS when `tls` is given) until `stopped` turns true, then
/// lets open connections finish their requests (the caller bounds how long).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<TlsSetup>,
    limits: EdgeLimits,
    metrics: Arc<Metrics>,
    mut stopped: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let limits = Arc::new(limits);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let bodies = Arc::new(Semaphore::new(limits.max_bodies_in_flight));
    let tls = tls.map(|t| (tokio_rustls::TlsAcceptor::from(t.server), t.identities));
    let pace = body::Pace {
        timeout: limits.body_read_timeout,
        min_rate: limits.min_body_rate,
        grace: limits.min_body_rate_grace,
    };
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            // The guard `wait_for` returns is not Send: drop it inside the branch.
            _ = async { drop(stopped.wait_for(|s| *s).await) } => break,
        };
        let (tcp, peer) = match accepted {
            Ok(c) => c,
            Err(e) => {
                // Errors here belong to one connection (reset before accept) or are transient
                // (out of file descriptors): keep serving, without spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            metrics
                .edge_refusals
                .add(["connection", "over_capacity"], 1);
            if tls.is_none() {
                // One non-blocking write, whatever the client does: a refusal must cost
                // nothing. A TLS client gets no answer (that would need a handshake).
                let _ = tcp.try_write(&head::problem_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "too-many-connections",
                    "Service unavailable",
                    "the server has as many connections open as it allows; retry shortly",
                ));
            }
            drop(tcp);
            continue;
        };
        let conn = conn::Conn {
            peer,
            tls: tls.clone(),
            limits: limits.clone(),
            edge: service::Edge {
                app: app.clone(),
                peer,
                cert: None,
                bodies: bodies.clone(),
                pace,
                metrics: metrics.clone(),
                activity: activity::Activity::new(),
            },
            metrics: metrics.clone(),
            stopped: stopped.clone(),
            slot,
        };
        tokio::spawn(conn.run(tcp));
    }
    drop(listener);
    // Every connection holds a slot until it ends: having them all back is the drain.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
    Ok(())
}

/// Raises this process's soft limit of open files towards its hard limit, so the connection
/// cap, not the descriptor limit (often 1024), is what refuses connections.
pub fn raise_fd_limit(wanted: u64) {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut lim = getrlimit(Resource::Nofile);
    let want = lim.maximum.map_or(wanted, |max| wanted.min(max));
    if lim.current.is_some_and(|cur| cur < want) {
        lim.current = Some(want);
        if let Err(e) = setrlimit(Resource::Nofile, lim) {
            tracing::warn!(wanted, error = %e, "could not raise the open-files limit");
        }
    }
}
