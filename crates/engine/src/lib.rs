//! The pipeline that carries an accepted event to the current state:
//! intake -> durable log (group commit) -> applier (projection, one transaction) -> change stream.
//!
//! Invariants: a submission is answered, and a change published, only after the events behind
//! it are durable in the log (committed, and fsynced when the store defers that); the
//! applier consumes the log strictly in seq order and commits its checkpoint with the projection,
//! so a crash anywhere resumes exactly where it was; memory is bounded by the queue limits, and
//! past them callers are told to come back later ([`IntakeError::Busy`]) instead of queued.

mod commands;
pub mod detector;
mod metrics;
pub mod notifier;
pub mod outbox;
mod pipeline;
mod syncer;

// The clock is an input; its trait lives in the domain, and only the binary reads the system's.
pub use metrics::{Metrics, Rejection};
pub use notifier::NotifyConfig;
pub use outbox::{NotifyCommand, NotifyCommandError, NotifyReply};
pub use pipeline::{Engine, EngineConfig, IntakeError, IntakeHandle, Receipt, prepare};
pub use waypost_domain::{Clock, ManualClock, ScaledClock};
