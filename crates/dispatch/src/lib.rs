//! The I/O edge of notifications: the transports that send one attempt each (signed webhooks,
//! SMTP email, SMS gateways) and, above them, the dispatcher loop that drains the outbox.
//!
//! Each transport turns one message into an [`Attempt`]: it never returns an error for what a
//! receiver does; configuration problems are refused when the sender is built, and a message
//! that can never go (an invalid recipient, an address the SSRF policy refuses) is a
//! [`Verdict::Refused`] attempt. Deciding *what* to send and *when to retry* is not done here:
//! the retry schedule, quiet hours, opt-outs, spend caps and templates come in as hooks.
//!
//! [`wired`] puts it all together for a running server: the store's read side as the outbox,
//! the engine's writer for marks, and [`row_policy`], which turns a due row into a message
//! (opt-outs, quiet hours, spend caps, templates) at the moment of sending.
//!
//! **Invariants:** redirects are never followed; every outbound HTTP connection is checked
//! against the SSRF [`ssrf::AddressCheck`] at connect time (DNS rebinding included); at most one
//! notification per (subscription, order) is in flight.

pub mod attempt;
pub mod dispatcher;
pub mod email;
pub mod hooks;
pub mod row_policy;
pub mod rows;
pub mod sms;
pub mod ssrf;
mod templates_dir;
#[cfg(feature = "tls")]
mod tls;
pub mod webhook;
pub mod wired;

pub use attempt::{Attempt, Verdict, retry_after_delay};
pub use dispatcher::{Dispatcher, DispatcherConfig};
pub use email::{EmailError, EmailMessage, SmtpConfig, SmtpMode, SmtpSender};
pub use hooks::{
    Admission, BoxFuture, BreakerFactory, Clock, ConnectorsBreaker, EndpointBreaker, Hooks,
    MarkSink, OutboxSource, Outgoing, Policy, Prepared, RetrySchedule, Senders, Transport,
};
// The notification rows are the store's (`waypost_store::{OutboxRow, EndpointRow, AttemptRow,
// OutboxMark}`): named from there, not re-exported, so each row type has one home.
pub use row_policy::{TenantRules, TrackingUrl};
pub use rows::{FifoKey, attempt_row, fifo_key, mark_row_id};
pub use sms::{SmsConfig, SmsError, SmsMessage, SmsProvider, SmsSender};
pub use ssrf::{AddressCheck, allow_all};
pub use templates_dir::{TemplatesError, load_templates};
pub use waypost_adapters::signature::Secret;
pub use waypost_policy::breaker::BreakerConfig;
pub use webhook::{WebhookError, WebhookRequest, WebhookSender};
