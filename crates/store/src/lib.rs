//! The store contract: traits and rows only, no database. Backends (`waypost-store-sqlite`, the
//! embedded default; a PostgreSQL one later) implement the traits, and one conformance suite
//! (`waypost-store-testkit`) runs against each of them through these traits alone.
//!
//! Cut by concern, each a write trait owned by the single writer of a partition and a read trait
//! shared by request handlers:
//!
//! | concern               | write                 | read                |
//! |-----------------------|-----------------------|---------------------|
//! | event log, documents  | [`EventLog`]          | [`DocumentReads`]   |
//! | projection, changes   | [`ProjectionStore`]   | [`OrderReads`]      |
//! | rule deadlines, alerts| [`RuleStore`]         | [`AlertReads`]      |
//! | outbox                | [`OutboxStore`]       | [`OutboxReads`]     |
//! | notification config   | [`NotifyConfigStore`] | [`NotifyConfigReads`] |
//! | dashboard             | (kept by `apply`)     | [`DashboardReads`]  |
//! | keys, users, sessions | [`Admin`]             | [`KeyReads`], [`SessionStore`] |
//!
//! [`WriteStore`] and [`ReadStore`] are the sums, and [`Backend`] opens a store's parts.
//!
//! Invariants every backend keeps:
//! - `append` is durable when it returns and idempotent: an event whose `(tenant, source,
//!   event_id)` or `(tenant, content hash)` is already stored is counted as a duplicate and
//!   changes nothing;
//! - every event of an order is in one partition ([`Partitioning::of`]); `apply` commits the
//!   projection and that partition's checkpoint in one transaction, so a crash at any point
//!   resumes from the log and converges to the same state;
//! - `rules_commit` is one transaction (deadlines, alerts, audit): any refused write, such as
//!   an update naming a stale version, writes nothing;
//! - at most one alert per (tenant, order, track, rule) is not resolved;
//! - a state change and the notifications it triggers commit in one transaction
//!   (`apply_with`), once per `msg_id`, and one order's notifications to one subscription are
//!   handed out oldest first (`outbox_due`);
//! - changes are numbered per tenant by the applying transaction, so a stream's resume id is
//!   valid across processes;
//! - every query is scoped by tenant.
//!
//! What a batch does to an order (its new state, change, attributes, outcomes, position and
//! notifications) is decided by the pure `waypost-projection`, whose rows this crate
//! re-exports; a backend loads an order, calls `waypost_projection::project`, and stores the
//! delta, so a second backend copies no projection logic.

mod admin;
mod alert_store;
mod dashboard_store;
mod dashboard_types;
pub mod event_body;
mod log;
mod log_types;
mod notify_config_store;
mod notify_types;
mod order_book;
mod outbox_store;
mod partition;
mod projection_store;
mod session_types;

pub use admin::*;
pub use alert_store::*;
pub use dashboard_store::*;
pub use dashboard_types::*;
pub use log::*;
pub use log_types::*;
pub use notify_config_store::*;
pub use notify_types::*;
pub use order_book::*;
pub use outbox_store::*;
pub use partition::*;
pub use projection_store::*;
pub use session_types::*;

use std::sync::Arc;

/// The single writer's side: every write concern. Not `Sync`: exactly one owner.
pub trait WriteStore:
    EventLog + ProjectionStore + RuleStore + OutboxStore + NotifyConfigStore
{
}
impl<T: EventLog + ProjectionStore + RuleStore + OutboxStore + NotifyConfigStore> WriteStore for T {}

/// Every read concern. Safe to share between request handlers (`Arc<dyn ReadStore>`).
pub trait ReadStore:
    OrderReads
    + DocumentReads
    + AlertReads
    + OutboxReads
    + NotifyConfigReads
    + DashboardReads
    + KeyReads
    + 'static
{
}
impl<T> ReadStore for T where
    T: OrderReads
        + DocumentReads
        + AlertReads
        + OutboxReads
        + NotifyConfigReads
        + DashboardReads
        + KeyReads
        + 'static
{
}

/// An opened store: its one writer and a reader to share.
pub type Opened = (Box<dyn WriteStore>, Arc<dyn ReadStore>);

/// One kind of store as the binary sees it: how to open each of its parts. The binary picks a
/// backend from its configuration and calls nothing backend-specific after that.
pub trait Backend: Send + Sync {
    /// A short name for messages and metrics (`sqlite`).
    fn name(&self) -> &'static str;
    /// Opens (creating and migrating if needed) the store: its writer and a shared reader.
    fn open(&self) -> Result<Opened, StoreError>;
    /// The logins' store, on a connection of its own.
    fn sessions(&self) -> Result<Arc<dyn SessionStore>, StoreError>;
    /// Keys and users, for a one-off tool beside a possibly running server.
    fn admin(&self) -> Result<Box<dyn Admin>, StoreError>;
    /// Whether a store already exists where this backend points (nothing is created).
    fn exists(&self) -> bool;
    /// The order book (orders as they entered, the intake queue, catalogue and stock): its
    /// writer, for the order-intake service, and a reader to share.
    fn order_book(&self) -> Result<OpenedBook, StoreError>;
    /// Replays the whole log and compares the result with the stored projection, streaming
    /// (memory does not grow with the log) and from one consistent snapshot, so it may run
    /// beside a live server. `progress` is called every few thousand orders and at the end.
    fn replay_check(
        &self,
        progress: &mut dyn FnMut(&ReplayProgress),
    ) -> Result<ReplayReport, StoreError>;
}
