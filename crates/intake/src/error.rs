//! Why intake refused or could not finish a document or a batch. Each message says what
//! became of the input and what to do about it; the HTTP edge maps the variants to
//! problem+json, the drop folder and the connectors to their own outcomes.

/// What went wrong with one document or one batch of events.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntakeError {
    /// The engine's queue is over its bound; nothing was stored: send it again after
    /// `retry_after_secs`.
    #[error("{depth} events are waiting to be applied; nothing of this request was stored")]
    QueueFull { depth: u64, retry_after_secs: u64 },
    /// The engine stopped taking work; nothing was stored: send it to the next server.
    #[error("the engine is shutting down; nothing of this request was stored")]
    ShuttingDown,
    /// The store refused the commit; nothing was stored: send it again.
    #[error("the store could not commit the events: {reason}; nothing of this request was stored")]
    StoreCommit { reason: String },
    /// No event of the document could be read. It is kept as a dead letter (`kept`), to be
    /// replayed after a fix of the adapter or the mapping tables; if the store was too busy to
    /// keep it, the sender has to send it again.
    #[error("{problem}; nothing of it was applied; {}", kept_note(*.kept))]
    Unreadable { problem: String, kept: bool },
    /// The replay of a dead letter still cannot be read; the letter stays as it was.
    #[error("{problem}; the replay stored nothing")]
    ReplayUnreadable { problem: String },
    /// The tracking-number links could not be read; nothing was stored: send it again.
    #[error("the store could not answer: {reason}")]
    Read { reason: String },
    /// An event could not be put in its stored form (a bug, not the sender's fault).
    #[error("{what}: {reason}")]
    Encoding { what: &'static str, reason: String },
    /// A blocking task (a large document's parse, a store read) died; nothing was stored.
    #[error("{task} task failed: {reason}")]
    Task { task: &'static str, reason: String },
}

fn kept_note(kept: bool) -> &'static str {
    if kept {
        "it is kept as a dead letter for review and replay at /v1/dead-letters"
    } else {
        "it could not be kept (the store is busy); send it again"
    }
}

impl IntakeError {
    /// The document itself is at fault: sending it again unchanged does not help.
    pub fn is_unreadable(&self) -> bool {
        matches!(
            self,
            IntakeError::Unreadable { .. } | IntakeError::ReplayUnreadable { .. }
        )
    }

    /// The intake is over its bound: the seconds after which a retry may succeed.
    pub fn queue_full_retry_after(&self) -> Option<u64> {
        match self {
            IntakeError::QueueFull {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        }
    }

    /// The engine's refusal of a submission, as intake reports it.
    pub(crate) fn from_engine(e: waypost_engine::IntakeError) -> Self {
        match e {
            waypost_engine::IntakeError::Busy {
                depth,
                retry_after_secs,
            } => IntakeError::QueueFull {
                depth,
                retry_after_secs,
            },
            waypost_engine::IntakeError::ShuttingDown => IntakeError::ShuttingDown,
            waypost_engine::IntakeError::Store(reason) => IntakeError::StoreCommit { reason },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_became_of_the_input() {
        let busy = IntakeError::from_engine(waypost_engine::IntakeError::Busy {
            depth: 12,
            retry_after_secs: 3,
        });
        assert_eq!(
            busy.to_string(),
            "12 events are waiting to be applied; nothing of this request was stored"
        );
        assert_eq!(busy.queue_full_retry_after(), Some(3));
        assert_eq!(
            IntakeError::from_engine(waypost_engine::IntakeError::ShuttingDown).to_string(),
            "the engine is shutting down; nothing of this request was stored"
        );
        assert_eq!(
            IntakeError::from_engine(waypost_engine::IntakeError::Store("disk full".into()))
                .to_string(),
            "the store could not commit the events: disk full; nothing of this request was stored"
        );
        let kept = IntakeError::Unreadable {
            problem: "body: not XML".into(),
            kept: true,
        };
        assert!(kept.is_unreadable());
        assert_eq!(
            kept.to_string(),
            "body: not XML; nothing of it was applied; it is kept as a dead letter for review and replay at /v1/dead-letters"
        );
        let lost = IntakeError::Unreadable {
            problem: "body: not XML".into(),
            kept: false,
        };
        assert!(lost.to_string().ends_with("send it again"));
        assert!(!IntakeError::ShuttingDown.is_unreadable());
        assert_eq!(IntakeError::ShuttingDown.queue_full_retry_after(), None);
    }
}
