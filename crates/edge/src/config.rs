//! `[edge]`: how long and how much a client may take of the server before it has been
//! authenticated. Defaults are sized so a legitimate client never meets them (a partner's 16 MiB
//! document over a slow link still passes the minimum rate) while a slow or silent client is cut
//! in seconds, and so that the worst case of every limit at once fits in memory.

use crate::ConfigError;
use crate::error::{bail, config_error};
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EdgeConfig {
    /// Connections open at once; over it, new ones are closed as soon as accepted (a plain
    /// HTTP one after a 503). Each costs a task, a socket and a few KiB of buffers.
    pub max_connections: usize,
    /// The TLS handshake must finish within this.
    pub handshake_timeout_secs: u64,
    /// A request's line and headers must arrive within this, from their first byte.
    pub header_read_timeout_secs: u64,
    /// A connection with no request in flight, and none arriving, for this long is closed
    /// (HTTP/1.1 and HTTP/2).
    pub idle_timeout_secs: u64,
    /// A request body must arrive in full within this, however fast it flows.
    pub body_read_timeout_secs: u64,
    /// After `min_body_rate_grace_secs`, a body must have averaged at least this many bytes
    /// per second since its request began, or it is cut.
    pub min_body_rate_bytes: u64,
    pub min_body_rate_grace_secs: u64,
    /// Requests whose bodies are being read at once, over every connection; over it a request
    /// with a body is answered 503 without reading it.
    pub max_bodies_in_flight: usize,
    /// The longest request line (method, target, version) answered; longer is 414.
    pub max_request_line_bytes: usize,
    /// The longest request head (line and headers) answered; longer is 431.
    pub max_header_bytes: usize,
    /// HTTP/2: streams one connection may have open at once.
    pub http2_max_concurrent_streams: u32,
    /// HTTP/2: ping an idle-looking connection this often; no answer within as long closes it.
    pub http2_keep_alive_secs: u64,
}

impl Default for EdgeConfig {
    fn default() -> Self {
        EdgeConfig {
            max_connections: 4096,
            handshake_timeout_secs: 10,
            header_read_timeout_secs: 10,
            idle_timeout_secs: 60,
            body_read_timeout_secs: 30,
            min_body_rate_bytes: 1024,
            min_body_rate_grace_secs: 5,
            max_bodies_in_flight: 256,
            max_request_line_bytes: 8 * 1024,
            max_header_bytes: 32 * 1024,
            http2_max_concurrent_streams: 100,
            http2_keep_alive_secs: 30,
        }
    }
}

/// The section as the edge uses it: durations, not numbers of seconds.
#[derive(Debug, Clone)]
pub struct EdgeLimits {
    pub max_connections: usize,
    pub handshake_timeout: Duration,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub body_read_timeout: Duration,
    pub min_body_rate: u64,
    pub min_body_rate_grace: Duration,
    pub max_bodies_in_flight: usize,
    pub max_request_line: usize,
    pub max_header_bytes: usize,
    pub http2_max_concurrent_streams: u32,
    pub http2_keep_alive: Duration,
}

impl EdgeConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let secs = |name: &str, v: u64, min: u64, max: u64| {
            if (min..=max).contains(&v) {
                Ok(())
            } else {
                Err(config_error!(
                    "edge.{name} must be from {min} to {max} seconds, got {v}"
                ))
            }
        };
        secs(
            "handshake_timeout_secs",
            self.handshake_timeout_secs,
            1,
            300,
        )?;
        secs(
            "header_read_timeout_secs",
            self.header_read_timeout_secs,
            1,
            300,
        )?;
        secs("idle_timeout_secs", self.idle_timeout_secs, 1, 3600)?;
        secs(
            "body_read_timeout_secs",
            self.body_read_timeout_secs,
            1,
            3600,
        )?;
        secs(
            "min_body_rate_grace_secs",
            self.min_body_rate_grace_secs,
            0,
            self.body_read_timeout_secs,
        )?;
        if !(1..=1_000_000).contains(&self.max_connections) {
            bail!(
                "edge.max_connections must be from 1 to 1000000, got {}",
                self.max_connections
            );
        }
        // Not tied to max_connections: an HTTP/2 connection carries many bodies at once.
        if !(1..=1_000_000).contains(&self.max_bodies_in_flight) {
            bail!(
                "edge.max_bodies_in_flight must be from 1 to 1000000, got {}",
                self.max_bodies_in_flight
            );
        }
        // hyper refuses a URI over 64 KiB itself, with an empty answer; below that, ours.
        if !(256..=65_534).contains(&self.max_request_line_bytes) {
            bail!(
                "edge.max_request_line_bytes must be from 256 to 65534, got {}",
                self.max_request_line_bytes
            );
        }
        if !(self.max_request_line_bytes..=1 << 20).contains(&self.max_header_bytes) {
            bail!(
                "edge.max_header_bytes must be from edge.max_request_line_bytes ({}) to 1048576, got {}",
                self.max_request_line_bytes,
                self.max_header_bytes
            );
        }
        if !(1..=10_000).contains(&self.http2_max_concurrent_streams) {
            bail!(
                "edge.http2_max_concurrent_streams must be from 1 to 10000, got {}",
                self.http2_max_concurrent_streams
            );
        }
        secs("http2_keep_alive_secs", self.http2_keep_alive_secs, 1, 3600)?;
        Ok(())
    }

    pub fn limits(&self) -> EdgeLimits {
        EdgeLimits {
            max_connections: self.max_connections,
            handshake_timeout: Duration::from_secs(self.handshake_timeout_secs),
            header_read_timeout: Duration::from_secs(self.header_read_timeout_secs),
            idle_timeout: Duration::from_secs(self.idle_timeout_secs),
            body_read_timeout: Duration::from_secs(self.body_read_timeout_secs),
            min_body_rate: self.min_body_rate_bytes,
            min_body_rate_grace: Duration::from_secs(self.min_body_rate_grace_secs),
            max_bodies_in_flight: self.max_bodies_in_flight,
            max_request_line: self.max_request_line_bytes,
            max_header_bytes: self.max_header_bytes,
            http2_max_concurrent_streams: self.http2_max_concurrent_streams,
            http2_keep_alive: Duration::from_secs(self.http2_keep_alive_secs),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_each_bound_names_its_key() {
        EdgeConfig::default().validate().unwrap();
        let err = |f: fn(&mut EdgeConfig)| {
            let mut c = EdgeConfig::default();
            f(&mut c);
            format!("{:#}", c.validate().unwrap_err())
        };
        assert!(err(|c| c.header_read_timeout_secs = 0).contains("edge.header_read_timeout_secs"));
        assert!(err(|c| c.max_connections = 0).contains("edge.max_connections"));
        assert!(err(|c| c.max_bodies_in_flight = 0).contains("edge.max_bodies_in_flight"));
        assert!(err(|c| c.min_body_rate_grace_secs = 31).contains("min_body_rate_grace_secs"));
        assert!(err(|c| c.max_request_line_bytes = 70_000).contains("65534"));
        assert!(err(|c| c.max_header_bytes = 1024).contains("edge.max_header_bytes"));
        assert!(err(|c| c.http2_max_concurrent_streams = 0).contains("http2_max_concurrent"));
    }
}
