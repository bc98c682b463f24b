//! The notification side of the writer thread: people's changes to endpoints, subscriptions
//! and contacts, the dispatcher's reports, replays and test sends all go through the one
//! writer, like alert commands, so the planner's in-memory subscriptions never disagree with
//! what is stored, and a mark never races a replay.

use crate::notifier::Notifier;
use jiff::Timestamp;
use waypost_domain::TenantId;
use waypost_store::{
    AlertRow, ContactRow, EndpointRow, NewOutbox, OutboxMark, OutboxRow, StoreError,
    SubscriptionRow, WriteStore,
};

/// A change to notification settings or to the outbox.
#[derive(Debug, Clone)]
pub enum NotifyCommand {
    PutEndpoint(EndpointRow),
    DeleteEndpoint {
        tenant: TenantId,
        id: i64,
    },
    PutSubscription(SubscriptionRow),
    DeleteSubscription {
        tenant: TenantId,
        id: i64,
    },
    PutContact(ContactRow),
    /// A dead (or skipped) notification back to pending.
    Replay {
        tenant: TenantId,
        id: i64,
    },
    /// Notifications no change caused (a test send).
    Insert(Vec<NewOutbox>),
    /// The dispatcher's reports.
    Marks(Vec<OutboxMark>),
}

#[derive(Debug, Clone)]
pub enum NotifyReply {
    Endpoint(EndpointRow),
    Subscription(SubscriptionRow),
    Contact(ContactRow),
    /// Whether something was deleted.
    Deleted(bool),
    Replayed(Option<OutboxRow>),
    Inserted(Vec<i64>),
    Marked,
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyCommandError {
    #[error("the engine is shutting down")]
    ShuttingDown,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Carries out one command; true in the second value when the dispatcher has new work.
pub(crate) fn run(
    store: &mut dyn WriteStore,
    notifier: &mut Notifier,
    command: NotifyCommand,
    now: Timestamp,
) -> Result<(NotifyReply, bool), StoreError> {
    Ok(match command {
        NotifyCommand::PutEndpoint(row) => {
            let row = store.put_endpoint(&row)?;
            notifier.reload(store)?;
            (NotifyReply::Endpoint(row), false)
        }
        NotifyCommand::DeleteEndpoint { tenant, id } => {
            let gone = store.delete_endpoint(&tenant, id, now)?;
            notifier.reload(store)?;
            (NotifyReply::Deleted(gone), false)
        }
        NotifyCommand::PutSubscription(row) => {
            let row = store.put_subscription(&row)?;
            notifier.reload(store)?;
            (NotifyReply::Subscription(row), false)
        }
        NotifyCommand::DeleteSubscription { tenant, id } => {
            let gone = store.delete_subscription(&tenant, id)?;
            notifier.reload(store)?;
            (NotifyReply::Deleted(gone), false)
        }
        NotifyCommand::PutContact(row) => (NotifyReply::Contact(store.put_contact(&row)?), false),
        NotifyCommand::Replay { tenant, id } => {
            let row = store.outbox_replay(&tenant, id, now)?;
            let wake = row.is_some();
            (NotifyReply::Replayed(row), wake)
        }
        NotifyCommand::Insert(rows) => {
            let ids = store.outbox_insert(&rows)?;
            let wake = !ids.is_empty();
            (NotifyReply::Inserted(ids), wake)
        }
        NotifyCommand::Marks(marks) => {
            let wake = marks.iter().any(|m| {
                matches!(
                    m,
                    OutboxMark::EndpointRecovered { .. }
                        | OutboxMark::Sent { .. }
                        | OutboxMark::Dead { .. }
                        | OutboxMark::Skipped { .. }
                )
            });
            store.outbox_mark(&marks, now)?;
            (NotifyReply::Marked, wake)
        }
    })
}

/// The notifications of the alerts the detector opened (`alert.raised` subscriptions), stored
/// right after the alerts' own commit. True when rows were written: the dispatcher has work.
pub(crate) fn plan_raised(
    store: &mut dyn WriteStore,
    notifier: &Notifier,
    raised: &[AlertRow],
    now: Timestamp,
) -> Result<bool, StoreError> {
    let rows: Vec<NewOutbox> = raised
        .iter()
        .flat_map(|a| notifier.plan_alert(a, now))
        .collect();
    if rows.is_empty() {
        return Ok(false);
    }
    Ok(!store.outbox_insert(&rows)?.is_empty())
}

impl crate::IntakeHandle {
    /// Carries out a notification command on the writer thread. Settings changes are durable
    /// when this resolves.
    pub async fn notify(&self, command: NotifyCommand) -> Result<NotifyReply, NotifyCommandError> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.tx
            .send(crate::pipeline::Job::Notify { command, reply })
            .map_err(|_| NotifyCommandError::ShuttingDown)?;
        rx.await.unwrap_or(Err(NotifyCommandError::ShuttingDown))
    }
}
