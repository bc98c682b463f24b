//! Notifications in the binary: the `[notify]` configuration, the dispatcher wired to the
//! engine and the store (`glue.rs`), and the `waypost notify` client commands.

pub mod cli;
pub mod config;
pub mod glue;
mod senders;
