//! Storage behind narrow traits. The write side ([`WriteStore`]) is owned by exactly one writer
//! (the engine's pipeline thread); the read side ([`ReadStore`]) is shared by request handlers.
//!
//! Invariants every backend keeps:
//! - `append` is durable when it returns and idempotent: an event whose `(tenant, source,
//!   event_id)` or `(tenant, content hash)` is already stored is counted as a duplicate and
//!   changes nothing;
//! - `apply` commits the projection and the consumer checkpoint in one transaction, so a crash
//!   at any point resumes from the log and converges to the same state;
//! - `rules_commit` is one transaction (deadlines, alerts, audit): any refused write, such as
//!   an update naming a stale version, writes nothing;
//! - at most one alert per (tenant, order, track, rule) is not resolved;
//! - a state change and the notifications it triggers commit in one transaction
//!   (`apply_with`), once per `msg_id`, and one order's notifications to one subscription are
//!   handed out oldest first (`outbox_due`);
//! - every query is scoped by tenant.
//!
//! What a batch does to an order (its new state, change, attributes, outcomes, position and
//! notifications) is decided by the pure `waypost-projection`, whose rows this crate
//! re-exports; a backend loads an order, calls `waypost_projection::project`, and stores the
//! delta, so a second backend copies no projection logic.
//!
//! `sqlite` is the embedded default. A PostgreSQL backend implements the same traits; a NATS
//! JetStream queue replaces `append`'s durability point (publish with a message id, ack after
//! `apply` commits) without touching the domain.

mod dashboard_types;
pub mod event_body;
mod notify_types;
mod session_types;
pub mod sqlite;
mod types;

pub use dashboard_types::*;
pub use notify_types::*;
pub use session_types::*;
pub use types::*;
