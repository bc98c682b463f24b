//! What the benchmarks and the simulator borrow from the binary that links them. Starting a
//! server needs the binary's configuration and wiring, writing keys and users needs its store
//! tools, and the wall clock is the binary's alone; this crate sits below the binary and never
//! imports it, so the binary hands all of that in as one [`Host`].
//!
//! A server is described the way an operator would describe it: [`Setup::config`] holds
//! sections of the TOML configuration (`[clock]`, `[notify]`, `[[webhooks]]`, `[[rules]]`),
//! so this crate knows the documented format, not the binary's types.

use futures::future::BoxFuture;
use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use waypost_connectors::{ConnectorConfig, Connectors, StateStore};
use waypost_domain::Clock;
use waypost_store::{OnExisting, Role, Scope};

/// The binary's services, for `waypost bench` and `waypost simulate`.
pub trait Host: Send + Sync {
    /// The wall clock: when a receiver heard something, when a load's events happened. The
    /// simulator's world runs on it too.
    fn clock(&self) -> Arc<dyn Clock>;

    /// Starts a server in this process: the binary's configuration with the sections of
    /// `setup` laid over it, a store in `setup.data_dir`, listening on a free loopback port.
    fn start(&self, setup: Setup) -> BoxFuture<'_, anyhow::Result<Server>>;

    /// Creates an API key in the store of `data_dir` (before a server opens it, or beside one)
    /// and returns its secret.
    fn create_key(
        &self,
        data_dir: &Path,
        tenant: &str,
        scopes: &[Scope],
        label: Option<&str>,
    ) -> anyhow::Result<String>;

    /// Creates (or resets) a dashboard user in the store of `data_dir`.
    fn put_user(
        &self,
        data_dir: &Path,
        tenant: &str,
        email: &str,
        role: Role,
        password: &str,
        on_existing: OnExisting,
    ) -> anyhow::Result<()>;

    /// Starts `configs` polling into `server`'s intake, on its clocks, as the server's own
    /// connectors would, but with their state in `store` and no follower of its changes: the
    /// caller picks what they track.
    fn connectors(
        &self,
        server: &Server,
        configs: Vec<ConnectorConfig>,
        store: Arc<dyn StateStore>,
    ) -> anyhow::Result<Connectors>;

    /// Every open dead letter of `key`'s tenant on the server at `base`, following the pages.
    fn dead_letters<'a>(
        &'a self,
        http: &'a reqwest::Client,
        base: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<Vec<Value>>>;
}

/// What a server started through [`Host::start`] differs in from the configured one.
#[derive(Debug, Default)]
pub struct Setup {
    /// A fresh data directory, owned by the caller.
    pub data_dir: PathBuf,
    /// Top-level sections of the TOML configuration, each replacing the configured section
    /// whole: `clock`, `notify`, `webhooks`, `rules`, `orders` (whose settings files are
    /// named by absolute paths).
    pub config: toml::Table,
    /// Replaces the configured `[[connectors]]` (typed: their secrets are already resolved).
    pub connectors: Option<Vec<ConnectorConfig>>,
}

/// A server started in this process. Dropped without [`Server::shutdown`], it is torn down
/// as the binary's handle is.
pub struct Server {
    pub addr: SocketAddr,
    /// What the handlers share: for drivers in this process (the polling bench).
    pub state: waypost_api::AppState,
    shutdown: Box<dyn FnOnce() -> BoxFuture<'static, anyhow::Result<()>> + Send>,
}

impl Server {
    pub fn new(
        addr: SocketAddr,
        state: waypost_api::AppState,
        shutdown: impl FnOnce() -> BoxFuture<'static, anyhow::Result<()>> + Send + 'static,
    ) -> Server {
        Server {
            addr,
            state,
            shutdown: Box::new(shutdown),
        }
    }

    /// Stops accepting, drains, and stops the engine.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let Server {
            state, shutdown, ..
        } = self;
        // The pipeline stops once every intake handle is gone, and this state holds one.
        drop(state);
        shutdown().await
    }
}
