//! The canonical model of Waypost: the status taxonomy, validated identifiers, the canonical event
//! and the state machine that turns a set of events into the current state of orders and shipments.
//!
//! Invariant: this crate does no I/O, reads no clock and spawns nothing. Every function is a pure
//! function of its inputs (time is passed in), so it can be tested exhaustively and cannot fail
//! for reasons outside its arguments.

pub mod clock;
pub mod event;
pub mod ids;
pub mod input;
pub mod json;
pub mod projection;
pub mod quantile;
pub mod status;
pub mod time;

pub use clock::{Clock, ManualClock, ScaledClock};
pub use event::{Event, Location};
pub use ids::{EventId, IdError, MAX_ID_LEN, OrderId, SourceName, TenantId, TrackingNumber};
pub use input::{FieldError, InputLimits, json_kind, parse_event, parse_events};
pub use json::JsonError;
pub use projection::{OrderView, ShipmentView, StreamState, aggregate_order};
pub use status::{OrderStatus, Reason, Status, StatusClass};
pub use time::{EventTime, MAX_OFFSET_SECONDS, TimeError, offset_in_range};
