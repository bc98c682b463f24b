//! How a change is kept in the `changes` table. The published [`Change`] repeats what other rows
//! already hold (tenant and order in columns, each cause's source, id, status and times in the
//! event log), and it was the largest row written per event. The stored form keeps only what
//! nothing else holds and refers to the causes by their log sequence numbers; reading it back
//! (an SSE client resuming) joins them to the log, which is a rare path.

use super::{corrupt, from_ns, ns};
use crate::SqlContext;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use waypost_store::*;

#[derive(Serialize, Deserialize)]
struct Stored {
    #[serde(rename = "s")]
    status: String,
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    previous_status: Option<String>,
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(rename = "g", default, skip_serializing_if = "std::ops::Not::not")]
    regression: bool,
    #[serde(rename = "t")]
    changed_ns: i64,
    #[serde(rename = "h")]
    shipments: Vec<ShipmentChange>,
    /// Log sequence numbers of the causes, in the change's order.
    #[serde(rename = "e")]
    events: Vec<i64>,
}

/// The row body for `change`, whose causes are the log entries `cause_seqs` (same order).
pub(crate) fn encode(change: &Change, cause_seqs: &[Seq]) -> Result<String, StoreError> {
    let stored = Stored {
        status: change.status.clone(),
        previous_status: change.previous_status.clone(),
        reason: change.reason.clone(),
        regression: change.regression,
        changed_ns: ns(change.changed_at)?,
        shipments: change.shipments.clone(),
        events: cause_seqs.iter().map(|s| *s as i64).collect(),
    };
    serde_json::to_string(&stored).map_err(|e| corrupt("change", e))
}

/// The event-log fields a cause needs; the body is read only for the offset of `occurred_at`.
#[derive(Deserialize)]
struct CauseBody {
    occurred_at: String,
}

/// The change stored as `body`; `seq` is its number within its tenant (`tenant_seq`).
pub(crate) fn decode(
    conn: &Connection,
    seq: Seq,
    tenant: &str,
    order_id: &str,
    body: &str,
) -> Result<Change, StoreError> {
    let stored: Stored = match serde_json::from_str(body) {
        Ok(s) => s,
        // Rows written before the compact form hold the whole change, with the global seq
        // they had then: the tenant's own number replaces it.
        Err(_) => {
            let mut whole: Change = serde_json::from_str(body).map_err(|e| corrupt("change", e))?;
            whole.seq = seq;
            return Ok(whole);
        }
    };
    let mut lookup = conn
        .prepare_cached(
            "SELECT source, event_id, status, received_ns, body FROM events WHERE seq = ?1",
        )
        .ctx("prepare change cause")?;
    let mut events = Vec::with_capacity(stored.events.len());
    for cause in &stored.events {
        let row = lookup
            .query_row(params![cause], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })
            .optional()
            .ctx("read change cause")?;
        let Some((source, event_id, status, received_ns, body)) = row else {
            return Err(corrupt(
                "change",
                format!("change {seq} names event {cause}, which is not in the log"),
            ));
        };
        let cause_body: CauseBody =
            serde_json::from_str(&body).map_err(|e| corrupt("event body", e))?;
        events.push(ChangeCause {
            source,
            event_id,
            status,
            occurred_at: cause_body.occurred_at,
            received_at: from_ns(received_ns),
        });
    }
    Ok(Change {
        seq,
        tenant: tenant.to_owned(),
        order_id: order_id.to_owned(),
        status: stored.status,
        previous_status: stored.previous_status,
        reason: stored.reason,
        regression: stored.regression,
        changed_at: from_ns(stored.changed_ns),
        shipments: stored.shipments,
        events,
    })
}
