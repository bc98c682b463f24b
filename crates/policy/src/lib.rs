//! Pure policies for calling something that may fail: jittered exponential backoff
//! ([`backoff`]) and a circuit breaker ([`breaker`]). Both the connectors (polling partners)
//! and the notification dispatcher (webhooks, SMTP, SMS gateways) use them, so they live
//! here, apart from either shell.
//!
//! **Invariant:** no I/O, no clock, no async, no threads. Instants and randomness come in as
//! arguments, so every behaviour is tested with chosen times.

pub mod backoff;
pub mod breaker;

pub use backoff::Backoff;
pub use breaker::{Admit, Breaker, BreakerConfig, BreakerState};
