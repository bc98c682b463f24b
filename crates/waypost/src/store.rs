//! Which store the process runs on: the one place the binary names a backend. Everything else
//! reaches the store through `waypost_store`'s traits.

use anyhow::Context;
use std::path::Path;
use waypost_store::{Admin, Backend, Durability};
use waypost_store_sqlite::Sqlite;

/// The embedded store in `data_dir`.
pub fn at(data_dir: &Path, durability: Durability) -> Box<dyn Backend> {
    Box::new(Sqlite::new(data_dir, durability))
}

/// The configured store.
pub fn of(cfg: &crate::config::Config) -> Box<dyn Backend> {
    at(cfg.data_dir(), cfg.store.durability)
}

/// Keys and users, for a command beside a possibly running server.
pub fn admin(data_dir: &Path) -> anyhow::Result<Box<dyn Admin>> {
    at(data_dir, Durability::Full)
        .admin()
        .with_context(|| format!("opening the store in {}", data_dir.display()))
}
