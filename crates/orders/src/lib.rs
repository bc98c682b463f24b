//! Orders as they enter Waypost, the pure part: the canonical order ([`model`]), placing it in
//! the tenant's account ([`resolve`]), the sales channels' readers ([`channels`]), and the
//! quality gates that accept, warn, backorder, hold or reject it ([`gates`]).
//!
//! Nothing here does I/O or reads a clock: the intake service hands in bytes, the tenant's
//! settings and "now".

pub mod channels;
pub mod events;
pub mod gates;
pub mod model;
pub mod resolve;

pub use model::{
    Address, Channel, ChannelOrder, ChannelState, Customer, Derived, Hint, Line, Order, Priority,
    ReadNote, Risk, RiskLevel,
};
pub use resolve::{Account, Accounts, ResolveError, X12Agreement};
pub use rust_decimal::Decimal;
