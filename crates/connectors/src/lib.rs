//! The connector runtime: polls partners' APIs (carriers' tracking endpoints, WMS change
//! feeds) and hands what it fetches to the same intake the webhooks use.
//!
//! The policies (`policy/`: token bucket, backoff, breaker, schedule, health window) are pure:
//! no I/O, time passed in, each tested alone. The shell around them (`client`, `carrier`,
//! `feed`, `runtime`) does the HTTP, the sleeping and the spawning. The integrator supplies
//! the two boundaries: a [`Sink`] (the intake) and a [`StateStore`] (where feed cursors are
//! kept; [`FileStateStore`] is provided). [`served`] is that wiring for a running server: the
//! intake as the sink, targets followed from the store and the engine's changes, health
//! reported to the engine's source rules.
//!
//! **Invariant:** a feed's cursor is saved only after the sink accepted the page it ends, so a
//! restart resumes at the first page not yet stored; never past it.

pub mod config;
pub mod metrics;
pub mod orders;
pub mod partner;
pub mod policy;
pub mod served;
pub mod sink;
pub mod state_store;
pub mod targets;

mod carrier;
mod client;
mod feed;
mod runtime;

pub use client::CallError;
pub use config::{ConfigError, ConnectorConfig, Credentials, Env, Secret, validate_all};
pub use feed::Position;
pub use orders::{
    NoticeError, OrderChannelConfig, OrderChannelHealth, OrderPollers, OrderSink, OrderSinkError,
    OrderStartError, PolledChannel,
};
pub use policy::breaker::BreakerState;
pub use policy::health::{HealthState, WindowStats};
pub use policy::schedule::ScheduleConfig;
pub use runtime::{Clocks, ConnectorHealth, Connectors, FeedHealth, StartError, Target};
pub use sink::{Fetched, Ingested, Sink, SinkError};
pub use state_store::{FileStateStore, MemoryStateStore, StateError, StateStore};
pub use targets::World;
