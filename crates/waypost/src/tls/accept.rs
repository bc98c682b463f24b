//! The HTTPS accept loop: TCP accept, the rustls handshake on a task of its own, then hyper's
//! HTTP/1.1 + HTTP/2 server with the axum router, the client certificate's binding attached to
//! every request of the connection.

use super::{Identities, TlsSetup};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;
use waypost_engine::Metrics;

/// A client that opens a connection and stalls (or trickles) its handshake holds a task and a
/// socket, never the accept loop; this bounds how long.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `app` over TLS until `stopped` turns true, then lets open connections finish their
/// requests (the caller bounds how long).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: TlsSetup,
    metrics: Arc<Metrics>,
    mut stopped: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::from(tls.server);
    let graceful = GracefulShutdown::new();
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
        let conn = Connection {
            peer,
            acceptor: acceptor.clone(),
            app: app.clone(),
            identities: tls.identities.clone(),
            metrics: metrics.clone(),
            watcher: graceful.watcher(),
            stopped: stopped.clone(),
        };
        tokio::spawn(conn.run(tcp));
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

struct Connection {
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    app: Router,
    identities: Arc<Identities>,
    metrics: Arc<Metrics>,
    watcher: Watcher,
    stopped: watch::Receiver<bool>,
}

impl Connection {
    async fn run(mut self, tcp: TcpStream) {
        let peer = self.peer;
        let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, self.acceptor.accept(tcp));
        let stream = tokio::select! {
            r = handshake => r,
            // This task holds a `Watcher`, and the graceful drain waits for every watcher: a
            // client stalling its handshake must not hold the shutdown for the whole timeout.
            _ = async { drop(self.stopped.wait_for(|s| *s).await) } => return,
        };
        let stream = match stream {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                // Debug, not warn: scanners, plain-HTTP clients and refused certificates are
                // routine on an exposed port; the counter shows when they are not.
                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                self.metrics.tls_handshake_failures.fetch_add(1, Relaxed);
                return;
            }
            Err(_) => {
                tracing::debug!(%peer, "TLS handshake timed out");
                self.metrics.tls_handshake_failures.fetch_add(1, Relaxed);
                return;
            }
        };
        let cert = stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(|c| self.identities.resolve(c));
        if let Some(c) = &cert {
            tracing::debug!(%peer, client_cert = ?c, "client certificate verified");
        }
        let app = self.app;
        let svc = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            if let Some(c) = &cert {
                req.extensions_mut().insert(c.clone());
            }
            // As axum's plain server does: webhook endpoints check it against allow-lists.
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
            app.clone().oneshot(req)
        });
        let builder = auto::Builder::new(TokioExecutor::new());
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), svc);
        if let Err(e) = self.watcher.watch(conn.into_owned()).await {
            tracing::debug!(%peer, error = %e, "connection ended with an error");
        }
    }
}
