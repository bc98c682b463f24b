//! The intake's commands besides submissions: people's alert commands, partners' health for
//! the source rules, and rule reloads. Each goes through the writer thread's channel, the one
//! place alerts and rules change.

use crate::detector::{AlertCommandError, SourceReport};
use crate::pipeline::{IntakeError, IntakeHandle, Job};
use std::sync::Arc;
use tokio::sync::oneshot;
use waypost_domain::TenantId;
use waypost_rules::{Command, RuleSet};
use waypost_store::AlertRow;

impl IntakeHandle {
    /// Acknowledges, assigns, snoozes or resolves an alert of `tenant`, as `actor`.
    pub async fn alert_command(
        &self,
        tenant: TenantId,
        id: i64,
        command: Command,
        actor: String,
    ) -> Result<AlertRow, AlertCommandError> {
        let (reply, rx) = oneshot::channel();
        let job = Job::Alert {
            tenant,
            id,
            command,
            actor,
            reply,
        };
        self.tx
            .send(job)
            .map_err(|_| AlertCommandError::ShuttingDown)?;
        rx.await.unwrap_or(Err(AlertCommandError::ShuttingDown))
    }

    /// Hands the partners' health to the source rules. Never waits: when the writer is busy
    /// the report is dropped, and the next one (seconds later) says the same or newer.
    pub fn report_sources(&self, reports: Vec<SourceReport>) {
        let _ = self.tx.try_send(Job::Sources(reports));
    }

    /// Swaps the exception rules. Resolves once the engine uses them; every open order's
    /// deadlines are then recomputed in the background, a page per round.
    pub async fn reload_rules(&self, rules: Arc<RuleSet>) -> Result<(), IntakeError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Job::Rules { rules, reply })
            .map_err(|_| IntakeError::ShuttingDown)?;
        rx.await.map_err(|_| IntakeError::ShuttingDown)
    }
}
