//! One connection: the TLS handshake (for the TLS listener), the first request head read under
//! the header timeout ([`crate::head`]), then hyper's HTTP/1.1 and HTTP/2 with the edge's
//! limits, closed gracefully when the server stops or the connection has been idle too long.

use crate::activity::Expired;
use crate::config::EdgeLimits;
use crate::head::{self, Refused, Rewind};
use crate::service::Edge;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, watch};
use tokio_rustls::TlsAcceptor;
use waypost_api::client_cert::ClientCert;
use waypost_engine::Metrics;

/// What a connection task needs besides its socket.
pub struct Conn {
    pub peer: SocketAddr,
    pub tls: Option<(TlsAcceptor, Arc<crate::tls::Identities>)>,
    pub limits: Arc<EdgeLimits>,
    pub edge: Edge,
    pub metrics: Arc<Metrics>,
    pub stopped: watch::Receiver<bool>,
    /// The connection's slot of `edge.max_connections`.
    pub slot: OwnedSemaphorePermit,
}

/// Counts the connection open while it lives.
struct Open(Arc<Metrics>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.connections_open.dec();
    }
}

impl Conn {
    pub async fn run(mut self, tcp: TcpStream) {
        self.metrics.connections_open.inc();
        let _open = Open(self.metrics.clone());
        let _ = tcp.set_nodelay(true);
        let peer = self.peer;
        match self.tls.take() {
            None => self.serve(tcp).await,
            Some((acceptor, identities)) => {
                let handshake =
                    tokio::time::timeout(self.limits.handshake_timeout, acceptor.accept(tcp));
                let mut stopped = self.stopped.clone();
                let stream = tokio::select! {
                    r = handshake => r,
                    // A client stalling its handshake must not hold the shutdown.
                    _ = async { drop(stopped.wait_for(|s| *s).await) } => return,
                };
                let stream = match stream {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => {
                        // Debug, not warn: scanners, plain-HTTP clients and refused
                        // certificates are routine on an exposed port; the counter shows
                        // when they are not.
                        tracing::debug!(%peer, error = %e, "TLS handshake failed");
                        self.metrics.tls_handshake_failures.inc();
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%peer, "TLS handshake timed out");
                        self.metrics.tls_handshake_failures.inc();
                        return;
                    }
                };
                let cert: Option<ClientCert> = stream
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|chain| chain.first())
                    .map(|c| identities.resolve(c));
                if let Some(c) = &cert {
                    tracing::debug!(%peer, client_cert = ?c, "client certificate verified");
                }
                self.edge.cert = cert;
                self.serve(stream).await
            }
        }
    }

    async fn serve<I>(self, mut io: I)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Conn {
            peer,
            limits,
            edge,
            metrics,
            mut stopped,
            slot,
            ..
        } = self;
        let read = head::read_head(&mut io, limits.max_request_line, limits.max_header_bytes);
        let first = tokio::select! {
            r = tokio::time::timeout(limits.header_read_timeout, read) => r,
            _ = async { drop(stopped.wait_for(|s| *s).await) } => return,
        };
        let prefix = match first {
            Ok(Ok(p)) => p,
            Ok(Err(Refused::Closed)) => return,
            Ok(Err(Refused::Answered(v))) => {
                let reason = match v {
                    head::Verdict::LineTooLong => "uri_too_long",
                    _ => "headers_too_large",
                };
                metrics.edge_refusals.add(["connection", reason], 1);
                return;
            }
            Err(_) => {
                metrics.edge_refusals.add(["connection", "head_timeout"], 1);
                tracing::debug!(%peer, "no request head within the header timeout");
                return;
            }
        };
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            // The header timeout of later requests is the edge's own (see `activity`): hyper's
            // would run from the moment a request ends, cutting every idle connection early.
            .header_read_timeout(None)
            // hyper's own limit for the heads of later requests on the connection; the first
            // was checked above (hyper's floor is 8 KiB).
            .max_buf_size(limits.max_header_bytes.max(8192));
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_concurrent_streams(limits.http2_max_concurrent_streams)
            .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
            .keep_alive_interval(limits.http2_keep_alive)
            .keep_alive_timeout(limits.http2_keep_alive);
        let activity = edge.activity.clone();
        // HTTP/2 frames (pings, window updates) arrive without a request: only an HTTP/1.1
        // connection's bytes begin a head.
        let heads = (!head::is_h2(&prefix)).then(|| activity.clone());
        let svc = hyper::service::service_fn(move |req| edge.clone().call(req));
        let io = Rewind::new(prefix, io, heads);
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), svc);
        let mut conn = std::pin::pin!(conn);
        let mut closing = false;
        let result = loop {
            tokio::select! {
                r = conn.as_mut() => break r,
                _ = async { drop(stopped.wait_for(|s| *s).await) }, if !closing => {
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                }
                why = activity.expired(limits.idle_timeout, limits.header_read_timeout), if !closing => {
                    match why {
                        Expired::Idle => {
                            metrics.edge_refusals.add(["connection", "idle"], 1);
                            conn.as_mut().graceful_shutdown();
                            closing = true;
                        }
                        // A head half sent: nothing to finish gracefully.
                        Expired::HeadTimeout => {
                            metrics.edge_refusals.add(["connection", "head_timeout"], 1);
                            tracing::debug!(%peer, "no request head within the header timeout");
                            return;
                        }
                    }
                }
            }
        };
        if let Err(e) = result {
            tracing::debug!(%peer, error = %e, "connection ended with an error");
        }
        drop(slot);
    }
}
