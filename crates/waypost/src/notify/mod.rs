//! Notifications in the binary: the `[notify]` configuration (turned into the dispatcher's
//! settings; the dispatcher and its wiring are `waypost_dispatch::wired`), and the
//! `waypost notify` client commands.

pub mod cli;
pub mod config;
