//! Exception rules for Waypost: declarative rule definitions read from TOML, deadline
//! computation, business calendars, the alert lifecycle and the timer index.
//!
//! The engine's detector is the shell around this crate: it keeps the facts about every order
//! and shipment, asks [`RuleSet::deadlines`] when they change, files each deadline in a
//! [`TimerIndex`], and when one is due (or an event arrives, [`RuleSet::triggered`]) drives an
//! [`AlertState`] through its lifecycle, persisting what comes back.
//!
//! Invariants:
//! - Pure: no I/O, no clock (every "now" is an argument), no async, no threads, no global
//!   state. Time zones come from the tzdb compiled into the binary, so a rule file validates and
//!   evaluates the same everywhere.
//! - A [`RuleSet`] only exists validated: every rule names existing statuses, reasons and
//!   calendars, has the fields its kind needs and none it does not, and positive durations.
//! - Evaluation uses event time (when things happened), never arrival time; a late event can
//!   therefore show an alert was a false positive ([`RuleSet::recheck`]).
//! - No panics on any input: arithmetic saturates (an unreachable deadline is no deadline).

mod alert;
mod calendar;
mod config;
mod duration;
mod error;
mod eval;
mod fields;
mod model;
mod timers;

pub use alert::{AlertState, AlertStatus, AuditEntry, Command, Resolution, TransitionError};
pub use calendar::{Calendar, CalendarError, parse_hours, parse_weekday};
pub use duration::{DurationError, format_duration, parse_duration};
pub use error::{Problem, RulesError, UnknownName};
pub use eval::{Arrival, Deadline, Facts, SourceFacts, Verdict, impact};
pub use model::{
    Filter, Override, Rule, RuleId, RuleKind, RuleSet, Scope, Settings, Severity, Subject, When,
};
pub use timers::TimerIndex;

#[cfg(test)]
mod tests {
    /// The detector shares one rule set between threads (behind an `Arc`, swapped on reload)
    /// and moves the index and alert states across them.
    #[test]
    fn shared_types_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<super::RuleSet>();
        check::<super::TimerIndex<(u64, u16)>>();
        check::<super::AlertState>();
        check::<super::RulesError>();
    }
}
