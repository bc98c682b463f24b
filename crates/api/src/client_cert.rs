//! Callers known by a TLS client certificate (mutual TLS) instead of an API key.
//!
//! The server verifies the certificate against the configured CA during the handshake and maps
//! its names to a binding of the configuration; the result travels to the handlers as a request
//! extension, set by the server only (a client cannot forge an extension the way it can a header).

use waypost_domain::{SourceName, TenantId};
use waypost_store::Scope;

/// What a connection's verified client certificate stands for: one tenant, one source of
/// events, and the scopes granted to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    pub tenant: TenantId,
    pub source: SourceName,
    pub scopes: Vec<Scope>,
    /// The certificate name that matched the binding (a DNS name or a common name), for
    /// messages and logs.
    pub name: String,
}

/// The request extension for a connection that presented a client certificate the CA vouches
/// for. Absent when the connection presented none (or is plain HTTP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientCert {
    /// The certificate is bound to a tenant and source.
    Bound(ClientIdentity),
    /// Verified, but no binding names it: authenticated, not authorized.
    Unbound {
        /// The certificate's names as shown to the caller, like `CN=x, DNS=a.example`.
        subject: String,
    },
}
