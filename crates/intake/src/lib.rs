//! The one way into the pipeline for every source: webhooks, drop folders, polling connectors,
//! replays of dead letters and the canonical events API all call [`Intake`], which normalizes
//! vendor documents with the tenant's mapping tables, links bare carrier updates to their
//! order, quarantines unmapped codes, keeps unreadable documents as dead letters, and submits
//! to the engine.
//!
//! Invariant: no transport here. Intake knows nothing of HTTP (its errors are [`IntakeError`],
//! mapped to problem+json only at the HTTP edge), reads no wall clock (world time comes from
//! the engine's [`Clock`]) and no environment; it is built from exactly what it uses. Its
//! settings ([`settings`]: the `[[webhooks]]` and `[[drops]]` sections, checked into
//! [`webhooks::WebhookSettings`] and drop folders) take an environment lookup from the binary.

mod document;
pub mod drop_folder;
mod error;
pub mod settings;
pub mod webhooks;

pub use document::{DocumentIn, DocumentReceipt, encode};
pub use error::IntakeError;

use std::sync::{Arc, RwLock};
use waypost_adapters::MappingSet;
use waypost_domain::{Event, InputLimits, TenantId};
use waypost_engine::{Clock, IntakeHandle, Metrics, Receipt, Rejection};
use waypost_store::{ReadStore, Submission};

/// The mapping tables in force, swapped whole when an operator reloads them; shared with
/// whoever reloads them (the API's `POST /v1/unmapped/remap`, SIGHUP).
// A std RwLock: held only to clone or replace the Arc, never across an await.
pub type MappingHandle = Arc<RwLock<Arc<MappingSet>>>;

/// The intake service; cheap to clone (every part is shared).
#[derive(Clone)]
pub struct Intake {
    engine: IntakeHandle,
    reader: Arc<dyn ReadStore>,
    mappings: MappingHandle,
    clock: Arc<dyn Clock>,
    limits: InputLimits,
    metrics: Arc<Metrics>,
}

impl Intake {
    /// `reader` answers which order named a tracking number; `metrics` are the engine's (the
    /// documents, unmapped codes and refusals intake counts).
    pub fn new(
        engine: IntakeHandle,
        reader: Arc<dyn ReadStore>,
        mappings: MappingHandle,
        clock: Arc<dyn Clock>,
        limits: InputLimits,
        metrics: Arc<Metrics>,
    ) -> Self {
        Intake {
            engine,
            reader,
            mappings,
            clock,
            limits,
            metrics,
        }
    }

    /// World time, as the engine reads it: a document's `received_at`.
    pub fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }

    /// The mapping tables in force.
    pub fn mappings(&self) -> Arc<MappingSet> {
        self.mappings
            .read()
            .map(|m| m.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// Canonical events, already parsed and checked: stored whole or not at all. Answers once
    /// they are durable.
    pub async fn events(
        &self,
        tenant: TenantId,
        events: Vec<Event>,
        received_at: jiff::Timestamp,
    ) -> Result<Receipt, IntakeError> {
        let n = events.len() as u64;
        // Refuse a full queue before the work of encoding, then re-checked on submit.
        self.engine
            .has_room(events.len())
            .map_err(|e| self.refused(e, n))?;
        // Geocoding, encoding and hashing happen here, on the caller's thread, not on the
        // single writer.
        let events = events
            .into_iter()
            .map(waypost_engine::prepare)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| IntakeError::Encoding {
                what: "encoding the events",
                reason: e.to_string(),
            })?;
        self.submit(Submission::new(tenant, events, received_at), n)
            .await
    }

    /// Submits a prepared submission (events encoded with [`encode`] or
    /// [`waypost_engine::prepare`]); a refusal is counted against its `events`.
    pub async fn submit(&self, sub: Submission, events: u64) -> Result<Receipt, IntakeError> {
        self.engine
            .submit_prepared(sub)
            .await
            .map_err(|e| self.refused(e, events))
    }

    /// A submission the engine refused, counted with its events.
    fn refused(&self, e: waypost_engine::IntakeError, events: u64) -> IntakeError {
        let why = match e {
            waypost_engine::IntakeError::Busy { .. } => Rejection::Throttled,
            _ => Rejection::Unavailable,
        };
        self.metrics.reject(why, events);
        IntakeError::from_engine(e)
    }
}

#[cfg(test)]
mod tests;
