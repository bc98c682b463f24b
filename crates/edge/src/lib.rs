//! The HTTP edge, in front of the API's router: TLS acceptance (`[server.tls]`: the server's
//! certificate, mutual TLS, and client certificates bound to a tenant and source, [`tls`]), the
//! one accept loop of both listeners (plain and TLS), and every limit on what a client may take
//! of the server before the router has authenticated it.
//!
//! - connections: at most `edge.max_connections` open; over it a new one is closed at once
//!   (a plain one after a short 503), so refused connections cost nothing while they wait;
//! - the TLS handshake, the first request head and every later head have a timeout; the first
//!   head is read here so an over-long line or head gets a problem+json 414 or 431 ([`head`]);
//! - a connection with no request in flight is closed after `edge.idle_timeout_secs`;
//! - a request body must arrive within a deadline and above a minimum rate ([`body`]), and at
//!   most `edge.max_bodies_in_flight` bodies are read at once ([`service`]).
//!
//! Invariant: what an unauthenticated client can hold is bounded by these numbers alone: per
//! connection a task, a socket and at most one head (`edge.max_header_bytes`); bodies only once
//! a route has authenticated the request (the webhook route's per-tenant budget bounds those).
//!
//! API boundary: [`serve`] takes a bound listener, the router, an optional [`tls::TlsSetup`]
//! (from [`tls::load`]) and the [`EdgeLimits`] (from the `[edge]` section, [`EdgeConfig`]); the
//! binary wires it. Time here is only durations (tokio's clock, pausable in tests): the edge
//! reads no business time and no environment; it reads files only
//! in [`tls::load`], at start.

mod activity;
pub mod body;
pub mod config;
mod conn;
mod error;
pub mod head;
mod serve;
mod service;
pub mod tls;

pub use config::{EdgeConfig, EdgeLimits};
pub use error::ConfigError;
pub use serve::{raise_fd_limit, serve};
