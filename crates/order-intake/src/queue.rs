//! The intake queue's actions: a person fixes, releases or rejects a held order, or
//! re-validates the held orders after a profile change. Each is checked against the version
//! the person saw (a newer one in the meantime refuses it), written with an audit line, and
//! followed by the order's status history.

use crate::{DeskError, OrderDesk, Submission, finding_rows, status_of};
use serde::Serialize;
use waypost_domain::TenantId;
use waypost_orders::gates::{self, Decision};
use waypost_orders::{ChannelOrder, Order};
use waypost_store::{IntakeRow, IntakeStatus, QueueQuery, StatusChange, StoreError};

/// A person's decision on a held order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Into the flow as it is. The holds were false positives of the checks that made them.
    Release { note: Option<String> },
    /// Out for good, with the reason.
    Reject { reason: String },
}

/// What a bulk re-validation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Revalidated {
    pub examined: u64,
    pub accepted: u64,
    pub backordered: u64,
    pub still_held: u64,
    pub rejected: u64,
}

impl OrderDesk {
    /// Releases or rejects a held order at `version`, as `actor`.
    pub async fn act(
        &self,
        tenant: &TenantId,
        order_id: &str,
        version: i64,
        action: Action,
        actor: &str,
    ) -> Result<IntakeRow, DeskError> {
        let held = self.current(tenant, order_id).await?;
        let row = held.clone();
        if row.status != IntakeStatus::Held {
            return Err(DeskError::Invalid(format!(
                "order {order_id} is {}, not held: only a held order can be released or rejected",
                row.status.as_str()
            )));
        }
        let (status, action_name, detail, false_positive) = match action {
            Action::Release { note } => (
                IntakeStatus::Accepted,
                "released",
                note.unwrap_or_else(|| "released unchanged".into()),
                true,
            ),
            Action::Reject { reason } => (IntakeStatus::Rejected, "rejected", reason, false),
        };
        let change = StatusChange {
            order_id: order_id.to_string(),
            version,
            status,
            decision: None,
            findings: None,
            impact: None,
            waiting_for: None,
            actor: actor.to_string(),
            action: action_name.to_string(),
            detail,
            false_positive,
            at: self.now(),
        };
        self.change(tenant, change).await?;
        if false_positive {
            self.count_false_positive(&held);
        }
        let row = self.current(tenant, order_id).await?;
        self.emit_row(tenant, &row).await?;
        Ok(row)
    }

    /// A person's corrected order replaces a held one: a new version, judged again as if it
    /// had just arrived. It must keep the order's channel, account and id.
    pub async fn fix(
        &self,
        tenant: &TenantId,
        order_id: &str,
        version: i64,
        mut fixed: ChannelOrder,
        actor: &str,
    ) -> Result<crate::Receipt, DeskError> {
        let row = self.current(tenant, order_id).await?;
        if row.version != version {
            return Err(DeskError::Store(StoreError::Conflict {
                id: row.version,
                expected: version,
                found: row.version,
            }));
        }
        let held: Order = serde_json::from_str(&row.body).map_err(|e| {
            DeskError::Invalid(format!("order {order_id} in the book cannot be read: {e}"))
        })?;
        fixed.order_id = Some(held.order_id.clone());
        fixed.external_id = held.placed.external_id.clone();
        fixed.account_ref = held.placed.account_ref.clone();
        fixed.read_notes.push(waypost_orders::ReadNote {
            at: "intake queue".into(),
            note: format!("fixed by {actor} from version {version}"),
        });
        self.submit_as(
            tenant,
            Submission {
                channel: held.channel,
                placed: fixed,
                account: Some(held.account.clone()),
                delivery: None,
            },
            actor,
        )
        .await
    }

    /// Judges every held order again with the profile now in force. Orders that now pass
    /// enter the flow; the rest keep their hold with the new decision.
    pub async fn revalidate(
        &self,
        tenant: &TenantId,
        actor: &str,
    ) -> Result<Revalidated, DeskError> {
        let mut out = Revalidated::default();
        let mut after: Option<(f64, String)> = None;
        let settings = self.settings(tenant);
        loop {
            let reads = self.reads().clone();
            let (t, a) = (tenant.clone(), after.clone());
            let page = tokio::task::spawn_blocking(move || {
                reads.intake_queue(
                    &t,
                    &QueueQuery {
                        statuses: vec![IntakeStatus::Held],
                        after: a,
                        limit: 200,
                        ..QueueQuery::default()
                    },
                )
            })
            .await
            .map_err(|e| DeskError::Invalid(format!("queue read failed: {e}")))??;
            let Some(last) = page.last() else {
                return Ok(out);
            };
            after = Some((last.impact, last.order_id.clone()));
            for row in page {
                out.examined += 1;
                let order: Order = serde_json::from_str(&row.body).map_err(|e| {
                    DeskError::Invalid(format!("order {} cannot be read: {e}", row.order_id))
                })?;
                let now = self.now();
                let judged = self.judge(tenant, &settings, &order, now).await?;
                let status = status_of(&order.placed.state, judged.decision.outcome);
                match status {
                    IntakeStatus::Accepted => out.accepted += 1,
                    IntakeStatus::Backordered => out.backordered += 1,
                    IntakeStatus::Held => out.still_held += 1,
                    _ => out.rejected += 1,
                }
                let decision = serde_json::to_string(&judged.decision)
                    .map_err(|e| DeskError::Invalid(format!("decision: {e}")))?;
                let change = StatusChange {
                    order_id: row.order_id.clone(),
                    version: row.version,
                    status,
                    decision: Some(decision),
                    findings: Some(finding_rows(&judged.decision, true)),
                    impact: Some(judged.impact),
                    waiting_for: Some(if status == IntakeStatus::Backordered {
                        judged.waiting_for.clone()
                    } else {
                        vec![]
                    }),
                    actor: actor.to_string(),
                    action: "revalidated".into(),
                    detail: format!(
                        "profile {:?}: {}",
                        judged.decision.profile,
                        judged.decision.outcome.as_str()
                    ),
                    false_positive: false,
                    at: now,
                };
                match self.change(tenant, change).await {
                    Ok(()) => {}
                    // A new version arrived meanwhile and was judged on its own.
                    Err(DeskError::Store(StoreError::Conflict { .. })) => continue,
                    Err(e) => return Err(e),
                }
                if status != IntakeStatus::Held {
                    let row = self.current(tenant, &row.order_id).await?;
                    self.emit_row(tenant, &row).await?;
                }
            }
        }
    }

    /// The order's row, or a clear error naming it.
    pub(crate) async fn current(
        &self,
        tenant: &TenantId,
        order_id: &str,
    ) -> Result<IntakeRow, DeskError> {
        self.read_row(tenant, order_id).await?.ok_or_else(|| {
            DeskError::Invalid(format!(
                "order {order_id} is not in the order book of tenant {tenant}"
            ))
        })
    }

    pub(crate) async fn change(
        &self,
        tenant: &TenantId,
        change: StatusChange,
    ) -> Result<(), DeskError> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.lanes().send_wait(crate::writer::Job::Status {
            tenant: tenant.clone(),
            change: Box::new(change),
            reply,
        })?;
        rx.await.map_err(|_| DeskError::ShuttingDown)??;
        Ok(())
    }
}

/// The stored decision of a row, for `explain`.
pub fn decision_of(row: &IntakeRow) -> Option<Decision> {
    serde_json::from_str(&row.decision).ok()
}

/// The stored shadow decision of a row, and how it differs from the one in force.
pub fn shadow_of(row: &IntakeRow) -> Option<(Decision, Option<gates::ShadowDiff>)> {
    let s: Decision = serde_json::from_str(row.shadow.as_deref()?).ok()?;
    let d = decision_of(row)?;
    let diff = gates::shadow(&d, &s);
    Some((s, diff))
}
