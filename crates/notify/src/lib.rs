//! Notifications, the pure part: what a state change or an alert should tell whom, and the
//! policies the dispatcher applies before and after each attempt.
//!
//! The engine calls the planner ([`plan::plan`]) inside the apply transaction; the dispatcher
//! (`waypost-dispatch`) carries the planned rows out and asks this crate everything that
//! needs no socket: may this address be called ([`ssrf`]), is it quiet hours ([`quiet`]), is
//! the SMS budget spent ([`spend`]), how many segments is this text ([`sms`]), when to retry
//! ([`retry`]), what the message says ([`template`], [`payload`]).
//!
//! **Invariant:** no I/O, no clock, no async, no threads. Time and randomness come in as
//! arguments, so each policy is tested with chosen instants.

pub mod model;
pub mod payload;
pub mod plan;
pub mod quiet;
pub mod retry;
pub mod sms;
pub mod spend;
pub mod ssrf;
pub mod template;

pub use ipnet::IpNet;
pub use model::{
    ChannelKind, Contact, Endpoint, EndpointSpec, Filter, ModelError, Recipient, Subscription,
    Trigger, UnknownChannelKind, UnknownTrigger, WebhookSecret,
};
pub use payload::{AlertRaised, Envelope, StatusChanged, alert_raised, status_changed};
pub use plan::{
    AlertFacts, OrderFacts, Planned, ShipmentFacts, alert_notification_id, notification_id, plan,
    plan_alert, recipient_address, suppressed,
};
pub use quiet::{QuietError, QuietHours};
pub use retry::{Outcome, RetryPolicy, parse_retry_after};
pub use sms::{Encoding, Phone, PhoneError, Segments, segments};
pub use spend::{SpendCap, SpendLedger};
pub use ssrf::{AddressClass, AddressPolicy, BadSubnet, Refused};
pub use template::{
    AlertContext, Context, Email, OrderContext, Part, TemplateError, TemplateKey, Templates,
    TenantContext, status_label,
};
