//! The transactional outbox (`migrations/0006_notify.sql`): notifications written in the
//! transaction of the state change that caused them, read by the dispatcher when due, marked
//! with how each attempt went.
//!
//! Two rules hold for every write here:
//! - per-order FIFO: a pending row is handed out only when no older pending row of the same
//!   (tenant, subscription, order) exists ([`due`]);
//! - a pending row's `next_ns` is never earlier than that of an older pending row of the same
//!   (tenant, subscription, order) ([`settle_next`]), so the earliest `next_ns` of all pending
//!   rows is when something can really go out: a row blocked behind a retrying one does not
//!   count as due, and [`due`] does not wade through the rows held behind it.

use super::{from_ns, ns, tenant_at};
use crate::SqlContext;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use waypost_domain::TenantId;
use waypost_store::*;
use waypost_store::{AttemptRow, DeliveryLogEntry, NewOutbox, OutboxMark, OutboxRow};

const COLS: &str = "id, tenant, order_id, seq, subscription_id, endpoint_id, kind, trigger, \
                    msg_id, payload, state, attempts, next_ns, created_ns, done_ns, last_code, \
                    last_error";

fn outbox_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxRow> {
    Ok(OutboxRow {
        id: r.get(0)?,
        tenant: tenant_at(r, 1)?,
        order_id: r.get(2)?,
        seq: r.get::<_, i64>(3)?.max(0) as Seq,
        subscription_id: r.get(4)?,
        endpoint_id: r.get(5)?,
        kind: r.get(6)?,
        trigger: r.get(7)?,
        msg_id: r.get(8)?,
        payload: r.get(9)?,
        state: r.get(10)?,
        attempts: r.get(11)?,
        next_at: from_ns(r.get(12)?),
        created_at: from_ns(r.get(13)?),
        done_at: r.get::<_, Option<i64>>(14)?.map(from_ns),
        last_code: r.get(15)?,
        last_error: r.get(16)?,
    })
}

fn attempt_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AttemptRow> {
    Ok(AttemptRow {
        outbox_id: r.get(0)?,
        n: r.get(1)?,
        started_at: from_ns(r.get(2)?),
        latency_ms: r.get::<_, i64>(3)?.max(0) as u64,
        code: r.get(4)?,
        error: r.get(5)?,
    })
}

fn int(what: &'static str, n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Range {
        what,
        detail: n.to_string(),
    })
}

/// Inserts one row unless its `msg_id` is stored, or its endpoint is not the row's tenant's (a
/// planner's stale view of a deleted endpoint: its pending rows were skipped, so a new one must
/// not appear). The row's id when inserted.
fn insert_one(
    tx: &Transaction<'_>,
    row: &NewOutbox,
    created_ns: i64,
) -> Result<Option<i64>, StoreError> {
    let not_before = ns(row.not_before)?;
    tx.prepare_cached(
        "INSERT OR IGNORE INTO outbox (tenant, order_id, seq, subscription_id, endpoint_id, kind,
             trigger, msg_id, payload, state, attempts, next_ns, created_ns)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending', 0,
             -- Never due before an older pending row of its subscription and order; the
             -- youngest of those is due last (this module's second rule): one index probe.
             MAX(?10, COALESCE((SELECT next_ns FROM outbox
                                WHERE tenant = ?1 AND subscription_id = ?4 AND order_id = ?2
                                  AND state = 'pending'
                                ORDER BY id DESC LIMIT 1), ?10)),
             ?11
         WHERE EXISTS (SELECT 1 FROM notify_endpoints WHERE id = ?5 AND tenant = ?1)
         RETURNING id",
    )
    .ctx("prepare insert outbox")?
    .query_row(
        params![
            row.tenant.as_str(),
            row.order_id,
            int("outbox seq", row.seq)?,
            row.subscription_id,
            row.endpoint_id,
            row.kind,
            row.trigger,
            row.msg_id,
            row.payload,
            not_before,
            created_ns,
        ],
        |r| r.get(0),
    )
    .optional()
    .ctx("insert outbox")
}

/// The rows a planner returned for one of `tenant`'s changes, inside the apply transaction.
/// A row of another tenant is a planner's bug, refused: the whole apply writes nothing.
pub(crate) fn insert_planned(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    rows: &[NewOutbox],
    now: jiff::Timestamp,
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let now_ns = ns(now)?;
    for row in rows {
        if &row.tenant != tenant {
            return Err(StoreError::Invalid {
                what: "planned notification",
                detail: format!(
                    "{} is for tenant {}, planned for a change of tenant {tenant}",
                    row.msg_id, row.tenant
                ),
            });
        }
        insert_one(tx, row, now_ns)?;
    }
    Ok(())
}

/// `outbox_insert`: rows no change caused (created at their `not_before`). Ids of those inserted.
pub(crate) fn insert(tx: &Transaction<'_>, rows: &[NewOutbox]) -> Result<Vec<i64>, StoreError> {
    let mut ids = Vec::with_capacity(rows.len());
    for row in rows {
        if let Some(id) = insert_one(tx, row, ns(row.not_before)?)? {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// Moves pending row `id` to `next` (or later, if an older pending row of its subscription and
/// order is due later), and its younger pending siblings to no earlier than that.
fn settle_next(tx: &Transaction<'_>, id: i64, next: i64) -> Result<(), StoreError> {
    let moved: Option<(String, i64, String, i64)> = tx
        .prepare_cached(
            "UPDATE outbox SET next_ns = MAX(?2, COALESCE(
                 (SELECT p.next_ns FROM outbox p
                  WHERE p.tenant = outbox.tenant AND p.subscription_id = outbox.subscription_id
                    AND p.order_id = outbox.order_id AND p.state = 'pending' AND p.id < outbox.id
                  ORDER BY p.id DESC LIMIT 1),
                 ?2))
             WHERE id = ?1 AND state = 'pending'
             RETURNING tenant, subscription_id, order_id, next_ns",
        )
        .ctx("prepare move outbox row")?
        .query_row(params![id, next], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()
        .ctx("move outbox row")?;
    if let Some((tenant, sub, order, next)) = moved {
        tx.prepare_cached(
            "UPDATE outbox SET next_ns = ?5
             WHERE tenant = ?1 AND subscription_id = ?2 AND order_id = ?3 AND state = 'pending'
               AND id > ?4 AND next_ns < ?5",
        )
        .ctx("prepare move outbox followers")?
        .execute(params![tenant, sub, order, id, next])
        .ctx("move outbox followers")?;
    }
    Ok(())
}

/// Logs an attempt at row `id`, numbered by the store (after every attempt logged, whatever
/// the mark says), and keeps its outcome on the row. The row's `attempts` counts the attempts
/// since it was planned or last replayed (the retry schedule's position); the log keeps them
/// all. False when there is no such row.
fn record_attempt(tx: &Transaction<'_>, id: i64, a: &AttemptRow) -> Result<bool, StoreError> {
    let n: Option<i64> = tx
        .prepare_cached(
            "UPDATE outbox SET attempts = attempts + 1, last_code = ?2, last_error = ?3
             WHERE id = ?1 RETURNING attempts",
        )
        .ctx("prepare count attempt")?
        .query_row(params![id, a.code, a.error], |r| r.get(0))
        .optional()
        .ctx("count attempt")?;
    if n.is_none() {
        return Ok(false);
    }
    tx.prepare_cached(
        "INSERT INTO outbox_attempts (outbox_id, n, started_ns, latency_ms, code, error)
         VALUES (?1, (SELECT COALESCE(MAX(n), 0) + 1 FROM outbox_attempts WHERE outbox_id = ?1),
                 ?2, ?3, ?4, ?5)",
    )
    .ctx("prepare log attempt")?
    .execute(params![
        id,
        ns(a.started_at)?,
        int("attempt latency", a.latency_ms)?,
        a.code,
        a.error
    ])
    .ctx("log attempt")?;
    Ok(true)
}

/// Sets a row's state, from pending only (a row that left pending meanwhile, for example
/// skipped because its endpoint was deleted, is not revived or overwritten).
fn finish(
    tx: &Transaction<'_>,
    id: i64,
    state: &str,
    why: Option<&str>,
    now_ns: i64,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "UPDATE outbox SET state = ?2, done_ns = ?3, last_error = COALESCE(?4, last_error)
         WHERE id = ?1 AND state = 'pending'",
    )
    .ctx("prepare finish outbox row")?
    .execute(params![id, state, now_ns, why])
    .ctx("finish outbox row")?;
    Ok(())
}

/// `outbox_mark`: the dispatcher's reports, in order, inside one transaction. A report on a row
/// the store does not have is logged and passed over, so one stray id cannot wedge the batch.
pub(crate) fn mark(
    tx: &Transaction<'_>,
    marks: &[OutboxMark],
    now: jiff::Timestamp,
) -> Result<(), StoreError> {
    let now_ns = ns(now)?;
    let missing = |id: i64| tracing::warn!(id, "outbox mark for an unknown row");
    for m in marks {
        match m {
            OutboxMark::Sent { id, attempt } => {
                if !record_attempt(tx, *id, attempt)? {
                    missing(*id);
                    continue;
                }
                // Delivered is the truth, whatever else was said of the row meanwhile.
                tx.prepare_cached(
                    "UPDATE outbox SET state = 'sent', done_ns = ?2
                     WHERE id = ?1 AND state <> 'sent'",
                )
                .ctx("prepare mark sent")?
                .execute(params![id, now_ns])
                .ctx("mark sent")?;
            }
            OutboxMark::Retry { id, attempt, next } => {
                if !record_attempt(tx, *id, attempt)? {
                    missing(*id);
                    continue;
                }
                settle_next(tx, *id, ns(*next)?)?;
            }
            OutboxMark::Defer { id, next } => settle_next(tx, *id, ns(*next)?)?,
            OutboxMark::Dead { id, attempt } => {
                if let Some(a) = attempt
                    && !record_attempt(tx, *id, a)?
                {
                    missing(*id);
                    continue;
                }
                finish(tx, *id, "dead", None, now_ns)?;
            }
            OutboxMark::Skipped { id, why } => finish(tx, *id, "skipped", Some(why), now_ns)?,
            OutboxMark::EndpointDisabled {
                endpoint_id,
                reason,
            } => {
                tx.prepare_cached(
                    "UPDATE notify_endpoints SET enabled = 0, disabled_reason = ?2, updated_ns = ?3
                     WHERE id = ?1",
                )
                .ctx("prepare disable endpoint")?
                .execute(params![endpoint_id, reason, now_ns])
                .ctx("disable endpoint")?;
            }
            OutboxMark::EndpointRecovered { endpoint_id, now } => {
                // Every pending row of the endpoint keeps min(next, now): the order between
                // siblings' next_ns, and so the module's second rule, is kept.
                tx.prepare_cached(
                    "UPDATE outbox SET next_ns = ?2
                     WHERE endpoint_id = ?1 AND state = 'pending' AND next_ns > ?2",
                )
                .ctx("prepare recover endpoint")?
                .execute(params![endpoint_id, ns(*now)?])
                .ctx("recover endpoint")?;
            }
            OutboxMark::SpendAdd {
                tenant,
                day,
                segments,
                cents,
            } => {
                tx.prepare_cached(
                    "INSERT INTO sms_spend (tenant, day, segments, cents) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (tenant, day) DO UPDATE SET
                       segments = segments + excluded.segments, cents = cents + excluded.cents",
                )
                .ctx("prepare add spend")?
                .execute(params![
                    tenant.as_str(),
                    day,
                    int("sms segments", *segments)?,
                    int("sms cents", *cents)?
                ])
                .ctx("add spend")?;
            }
        }
    }
    Ok(())
}

/// `outbox_replay`: a dead or skipped row of the tenant back to pending, due at `now`, unless
/// its endpoint is gone (nothing could send it). It starts the retry schedule afresh (its
/// `attempts` back to 0; the attempt log keeps every earlier attempt): a replay whose first
/// attempt meets one more hiccup is retried, not dead again at once.
pub(crate) fn replay(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    id: i64,
    now: jiff::Timestamp,
) -> Result<Option<OutboxRow>, StoreError> {
    let now_ns = ns(now)?;
    let n = tx
        .prepare_cached(
            "UPDATE outbox SET state = 'pending', next_ns = ?3, done_ns = NULL, attempts = 0
             WHERE tenant = ?1 AND id = ?2 AND state IN ('dead', 'skipped')
               AND EXISTS (SELECT 1 FROM notify_endpoints e
                           WHERE e.id = outbox.endpoint_id AND e.tenant = outbox.tenant)",
        )
        .ctx("prepare replay outbox row")?
        .execute(params![tenant.as_str(), id, now_ns])
        .ctx("replay outbox row")?;
    if n == 0 {
        return Ok(None);
    }
    settle_next(tx, id, now_ns)?;
    row(tx, tenant, id)
}

pub(crate) fn row(
    c: &Connection,
    tenant: &TenantId,
    id: i64,
) -> Result<Option<OutboxRow>, StoreError> {
    c.prepare_cached(&format!(
        "SELECT {COLS} FROM outbox WHERE id = ?1 AND tenant = ?2"
    ))
    .ctx("prepare outbox row")?
    .query_row(params![id, tenant.as_str()], outbox_row)
    .optional()
    .ctx("read outbox row")
}

/// Pending rows due by `now` that no older pending row of their (tenant, subscription, order)
/// holds back, by when they are due. The `outbox_due` index yields them in that order; each
/// candidate costs one probe of `outbox_fifo`.
pub(crate) fn due(
    c: &Connection,
    now: jiff::Timestamp,
    limit: usize,
) -> Result<Vec<OutboxRow>, StoreError> {
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT {COLS} FROM outbox o
             WHERE o.state = 'pending' AND o.next_ns <= ?1
               AND NOT EXISTS (SELECT 1 FROM outbox p
                               WHERE p.tenant = o.tenant AND p.subscription_id = o.subscription_id
                                 AND p.order_id = o.order_id AND p.state = 'pending'
                                 AND p.id < o.id)
             ORDER BY o.next_ns, o.id LIMIT ?2"
        ))
        .ctx("prepare outbox due")?;
    let rows = stmt
        .query_map(
            params![ns(now)?, limit.min(i64::MAX as usize) as i64],
            outbox_row,
        )
        .ctx("query outbox due")?;
    rows.collect::<Result<_, _>>().ctx("read outbox due")
}

pub(crate) fn next_due(c: &Connection) -> Result<Option<jiff::Timestamp>, StoreError> {
    let n: Option<i64> = c
        .prepare_cached("SELECT MIN(next_ns) FROM outbox WHERE state = 'pending'")
        .ctx("prepare outbox next due")?
        .query_row([], |r| r.get(0))
        .ctx("query outbox next due")?;
    Ok(n.map(from_ns))
}

/// One notification with its attempts.
pub(crate) fn entry(
    c: &Connection,
    tenant: &TenantId,
    id: i64,
) -> Result<Option<DeliveryLogEntry>, StoreError> {
    match row(c, tenant, id)? {
        Some(r) => Ok(with_attempts(c, vec![r])?.pop()),
        None => Ok(None),
    }
}

fn with_attempts(
    c: &Connection,
    rows: Vec<OutboxRow>,
) -> Result<Vec<DeliveryLogEntry>, StoreError> {
    let mut stmt = c
        .prepare_cached(
            "SELECT outbox_id, n, started_ns, latency_ms, code, error
             FROM outbox_attempts WHERE outbox_id = ?1 ORDER BY n",
        )
        .ctx("prepare attempts")?;
    rows.into_iter()
        .map(|row| {
            let attempts = stmt
                .query_map([row.id], attempt_row)
                .ctx("query attempts")?
                .collect::<Result<_, _>>()
                .ctx("read attempt")?;
            Ok(DeliveryLogEntry { row, attempts })
        })
        .collect()
}

pub(crate) fn delivery_log(
    c: &Connection,
    tenant: &TenantId,
    order_id: &str,
) -> Result<Vec<DeliveryLogEntry>, StoreError> {
    let rows: Vec<OutboxRow> = c
        .prepare_cached(&format!(
            "SELECT {COLS} FROM outbox WHERE tenant = ?1 AND order_id = ?2 ORDER BY id"
        ))
        .ctx("prepare delivery log")?
        .query_map(params![tenant.as_str(), order_id], outbox_row)
        .ctx("query delivery log")?
        .collect::<Result<_, _>>()
        .ctx("read delivery log")?;
    with_attempts(c, rows)
}

pub(crate) fn dead(
    c: &Connection,
    tenant: &TenantId,
    after: i64,
    limit: usize,
) -> Result<Vec<DeliveryLogEntry>, StoreError> {
    let rows: Vec<OutboxRow> = c
        .prepare_cached(&format!(
            "SELECT {COLS} FROM outbox WHERE tenant = ?1 AND state = 'dead' AND id > ?2
             ORDER BY id LIMIT ?3"
        ))
        .ctx("prepare outbox dead")?
        .query_map(
            params![tenant.as_str(), after, limit.min(i64::MAX as usize) as i64],
            outbox_row,
        )
        .ctx("query outbox dead")?
        .collect::<Result<_, _>>()
        .ctx("read outbox dead")?;
    with_attempts(c, rows)
}

pub(crate) fn counts(c: &Connection) -> Result<Vec<(String, String, u64)>, StoreError> {
    c.prepare_cached("SELECT tenant, state, n FROM outbox_tally ORDER BY tenant, state")
        .ctx("prepare outbox counts")?
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)?.max(0) as u64))
        })
        .ctx("query outbox counts")?
        .collect::<Result<_, _>>()
        .ctx("read outbox counts")
}

pub(crate) fn sms_spent(
    c: &Connection,
    tenant: &TenantId,
    day: &str,
) -> Result<(u64, u64), StoreError> {
    let spent: Option<(i64, i64)> = c
        .prepare_cached("SELECT segments, cents FROM sms_spend WHERE tenant = ?1 AND day = ?2")
        .ctx("prepare sms spent")?
        .query_row(params![tenant.as_str(), day], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()
        .ctx("query sms spent")?;
    let (s, c) = spent.unwrap_or((0, 0));
    Ok((s.max(0) as u64, c.max(0) as u64))
}
