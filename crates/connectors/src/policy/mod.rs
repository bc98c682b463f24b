//! Pure policies: no I/O, no clock (instants come in as arguments), no async. Each is tested
//! alone with unit and property tests.

pub mod backoff;
pub mod breaker;
pub mod bucket;
pub mod health;
pub mod schedule;
