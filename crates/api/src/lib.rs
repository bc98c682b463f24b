//! The HTTP boundary. Wire types (`dto`) are defined here and converted from domain views, so
//! the domain never changes shape for a client; every error leaves as RFC 9457 problem+json
//! (`problem`); every route is scoped to the tenant of the caller's API key (`auth`) or of its
//! bound TLS client certificate (`client_cert`).
//!
//! Invariant: a handler never blocks its async worker on the store: reads run on the blocking
//! pool, writes go through the engine's intake.

pub mod auth;
pub mod client_cert;
pub mod dto;
mod openapi;
pub mod problem;
mod routes;

pub use openapi::ApiDoc;

use axum::Router;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use tokio::sync::broadcast;
use waypost_domain::InputLimits;
use waypost_engine::{Clock, IntakeHandle, Metrics};
use waypost_store::{Change, ReadStore};

/// Everything a handler may touch.
#[derive(Clone)]
pub struct AppState {
    pub intake: IntakeHandle,
    pub reader: Arc<dyn ReadStore>,
    pub changes: broadcast::Sender<Arc<Change>>,
    pub metrics: Arc<Metrics>,
    pub ready: Arc<AtomicBool>,
    pub clock: Arc<dyn Clock>,
    pub keys: Arc<auth::KeyCache>,
    pub limits: ApiLimits,
}

#[derive(Debug, Clone, Copy)]
pub struct ApiLimits {
    pub max_body_bytes: usize,
    pub input: InputLimits,
    pub max_page: usize,
}

impl Default for ApiLimits {
    fn default() -> Self {
        ApiLimits {
            max_body_bytes: 4 * 1024 * 1024,
            input: InputLimits::default(),
            max_page: 500,
        }
    }
}

pub fn router(state: AppState) -> Router {
    routes::router(state)
}
