//! Pure policies: no I/O, no clock (instants come in as arguments), no async. Each is tested
//! alone with unit and property tests. `backoff` and `breaker` live in `waypost-policy` (the
//! notification dispatcher uses them too) and are re-exported here under their old paths.

pub use waypost_policy::{backoff, breaker};
pub mod bucket;
pub mod health;
pub mod schedule;
