//! Rule deadlines and alerts (`migrations/0004_alerts.sql`). All writes arrive through
//! [`commit`], inside the writer's one `BEGIN IMMEDIATE` transaction per `rules_commit`, so the
//! deadlines, the alerts, their audit lines and the tally move together or not at all.
//!
//! The invariant "at most one alert per (subject, rule) that is not resolved" is the schema's
//! (a partial unique index); a raise is an upsert on that index, so even two raises in one
//! commit cannot make a duplicate.

use super::{from_ns, ns, tenant_at};
use crate::SqlContext;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Transaction, params, params_from_iter};
use waypost_domain::TenantId;
use waypost_store::*;

pub(crate) fn commit(
    tx: &Transaction<'_>,
    upsert: &[DeadlineRow],
    remove: &[(SubjectKey, String)],
    alerts: &[AlertWrite],
    now: jiff::Timestamp,
) -> Result<Vec<AlertOutcome>, StoreError> {
    // Removes first: a caller that moves a deadline may name it in both lists, and means the
    // new one.
    if !remove.is_empty() {
        let mut del = tx
            .prepare_cached(
                "DELETE FROM deadlines
                 WHERE tenant = ?1 AND order_id = ?2 AND track = ?3 AND rule = ?4",
            )
            .ctx("prepare remove deadline")?;
        for (s, rule) in remove {
            del.execute(params![s.tenant.as_str(), s.order_id, s.track, rule])
                .ctx("remove deadline")?;
        }
    }
    if !upsert.is_empty() {
        let mut put = tx
            .prepare_cached(
                "INSERT INTO deadlines (tenant, order_id, track, rule, due_ns, fired)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (tenant, order_id, track, rule)
                 DO UPDATE SET due_ns = excluded.due_ns, fired = excluded.fired",
            )
            .ctx("prepare upsert deadline")?;
        for d in upsert {
            let s = &d.subject;
            put.execute(params![
                s.tenant.as_str(),
                s.order_id,
                s.track,
                d.rule,
                ns(d.due)?,
                d.fired
            ])
            .ctx("upsert deadline")?;
        }
    }
    let now_ns = ns(now)?;
    alerts
        .iter()
        .map(|w| match w {
            AlertWrite::Raise { alert, audit } => raise(tx, alert, audit, now_ns),
            AlertWrite::Update {
                id,
                expected_version,
                alert,
                audit,
            } => update(tx, *id, *expected_version, alert, audit, now_ns),
        })
        .collect()
}

/// A new alert's public id: 128 random bits as 32 lowercase hex digits. Random rather than
/// time-ordered: an id must tell nothing of when or how many alerts were raised, and the
/// index it costs is written once per alert, not per event.
pub(crate) fn new_public_id() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    b.iter().fold(String::with_capacity(32), |mut s, x| {
        use std::fmt::Write;
        let _ = write!(s, "{x:02x}");
        s
    })
}

/// Whether `s` has the shape of a public alert id (so anything else is no alert, unread).
pub(crate) fn is_public_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn raise(
    tx: &Transaction<'_>,
    a: &AlertRow,
    audit: &AuditEntryIn,
    now_ns: i64,
) -> Result<AlertOutcome, StoreError> {
    check(a, "raised alert")?;
    if a.status == "resolved" {
        // It would sit outside the unique index and so beside the open one: refuse it.
        return Err(StoreError::Invalid {
            what: "raised alert",
            detail: format!("{} is raised as resolved", describe(a)),
        });
    }
    let s = &a.subject;
    // New alerts start at version 1 and every change bumps it, so version 1 on return means
    // this raise inserted the row.
    // A repeated raise keeps the stored alert's public id (the upsert does not set it).
    let (id, version, public_id): (i64, i64, String) = tx
        .prepare_cached(
            "INSERT INTO alerts (tenant, order_id, track, rule, kind, severity, status, assignee,
                 snoozed_until_ns, triggers, due_ns, opened_ns, last_triggered_ns, resolved_ns,
                 resolution, false_positive, carrier, order_value, promised_ns, summary, impact,
                 version, updated_ns, public_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                     ?18, ?19, ?20, ?21, 1, ?22, ?23)
             ON CONFLICT (tenant, order_id, track, rule) WHERE status <> 'resolved'
             DO UPDATE SET triggers = triggers + 1,
                 -- A late-delivered trigger must not move the latest one back.
                 last_triggered_ns = MAX(last_triggered_ns, excluded.last_triggered_ns),
                 version = version + 1, updated_ns = excluded.updated_ns
             RETURNING id, version, public_id",
        )
        .ctx("prepare raise alert")?
        .query_row(
            params![
                s.tenant.as_str(),
                s.order_id,
                s.track,
                a.rule,
                a.kind,
                a.severity,
                a.status,
                a.assignee,
                a.snoozed_until.map(ns).transpose()?,
                i64::from(a.triggers),
                a.due.map(ns).transpose()?,
                ns(a.opened_at)?,
                ns(a.last_triggered)?,
                a.resolved_at.map(ns).transpose()?,
                a.resolution,
                a.false_positive,
                a.carrier,
                a.order_value,
                a.promised_at.map(ns).transpose()?,
                a.summary,
                a.impact,
                now_ns,
                new_public_id(),
            ],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .ctx("raise alert")?;
    let opened = version == 1;
    if opened {
        tally(tx, s.tenant.as_str(), &a.status, &a.severity, 1)?;
    }
    append_audit(tx, id, audit)?;
    Ok(AlertOutcome {
        id,
        opened,
        version,
        public_id,
    })
}

fn update(
    tx: &Transaction<'_>,
    id: i64,
    expected: i64,
    a: &AlertRow,
    audit: &AuditEntryIn,
    now_ns: i64,
) -> Result<AlertOutcome, StoreError> {
    check(a, "alert update")?;
    let tenant = a.subject.tenant.as_str();
    // BEGIN IMMEDIATE holds the write lock, so this read cannot go stale before the write.
    let current: Option<(i64, String, String, String)> = tx
        .prepare_cached(
            "SELECT version, status, severity, public_id FROM alerts WHERE tenant = ?1 AND id = ?2",
        )
        .ctx("prepare read alert version")?
        .query_row(params![tenant, id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()
        .ctx("read alert version")?;
    let Some((found, status, severity, public_id)) = current else {
        return Err(StoreError::NotFound {
            what: "alert",
            tenant: tenant.to_string(),
            id,
        });
    };
    if found != expected {
        return Err(StoreError::Conflict {
            id,
            expected,
            found,
        });
    }
    if status == "resolved" && a.status != "resolved" {
        // Reopening could put a second unresolved alert beside one opened since; a new
        // trigger opens a new alert instead.
        return Err(StoreError::Invalid {
            what: "alert update",
            detail: format!("alert {id} is resolved and cannot become {}", a.status),
        });
    }
    tx.prepare_cached(
        "UPDATE alerts SET status = ?1, assignee = ?2, snoozed_until_ns = ?3, resolved_ns = ?4,
             resolution = ?5, false_positive = ?6, severity = ?7, impact = ?8, summary = ?9,
             version = version + 1, updated_ns = ?10
         WHERE id = ?11",
    )
    .ctx("prepare update alert")?
    .execute(params![
        a.status,
        a.assignee,
        a.snoozed_until.map(ns).transpose()?,
        a.resolved_at.map(ns).transpose()?,
        a.resolution,
        a.false_positive,
        a.severity,
        a.impact,
        a.summary,
        now_ns,
        id,
    ])
    .ctx("update alert")?;
    if (status.as_str(), severity.as_str()) != (a.status.as_str(), a.severity.as_str()) {
        tally(tx, tenant, &status, &severity, -1)?;
        tally(tx, tenant, &a.status, &a.severity, 1)?;
    }
    append_audit(tx, id, audit)?;
    Ok(AlertOutcome {
        id,
        opened: false,
        version: found + 1,
        public_id,
    })
}

/// What the schema would refuse, refused first with a message that names the alert.
fn check(a: &AlertRow, what: &'static str) -> Result<(), StoreError> {
    let bad = |detail: String| Err(StoreError::Invalid { what, detail });
    if !ALERT_STATUSES.contains(&a.status.as_str()) {
        return bad(format!(
            "{} has status {:?}, not one of {}",
            describe(a),
            a.status,
            ALERT_STATUSES.join(", ")
        ));
    }
    // SQLite stores NaN as NULL: it would fail a NOT NULL column, or silently lose a value.
    if !a.impact.is_finite() || a.order_value.is_some_and(|v| !v.is_finite()) {
        return bad(format!(
            "{} has a non-finite impact ({}) or order value ({:?})",
            describe(a),
            a.impact,
            a.order_value
        ));
    }
    Ok(())
}

fn describe(a: &AlertRow) -> String {
    let s = &a.subject;
    format!(
        "alert of rule {:?} on {}/{}/{:?}",
        a.rule, s.tenant, s.order_id, s.track
    )
}

fn tally(
    tx: &Transaction<'_>,
    tenant: &str,
    status: &str,
    severity: &str,
    delta: i64,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO alert_tally (tenant, status, severity, n) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (tenant, status, severity) DO UPDATE SET n = n + excluded.n",
    )
    .ctx("prepare alert tally")?
    .execute(params![tenant, status, severity, delta])
    .ctx("count alert")?;
    Ok(())
}

fn append_audit(tx: &Transaction<'_>, id: i64, e: &AuditEntryIn) -> Result<(), StoreError> {
    // The next number is read from the primary key's last entry for this alert: one seek.
    tx.prepare_cached(
        "INSERT INTO alert_audit (alert_id, n, at_ns, actor, action, detail)
         VALUES (?1, (SELECT COALESCE(MAX(n), 0) + 1 FROM alert_audit WHERE alert_id = ?1),
                 ?2, ?3, ?4, ?5)",
    )
    .ctx("prepare audit")?
    .execute(params![id, ns(e.at)?, e.actor, e.action, e.detail])
    .ctx("append audit")?;
    Ok(())
}

pub(crate) fn for_each_deadline(
    c: &Connection,
    f: &mut dyn FnMut(DeadlineRow),
) -> Result<u64, StoreError> {
    let mut stmt = c
        .prepare_cached("SELECT tenant, order_id, track, rule, due_ns, fired FROM deadlines")
        .ctx("prepare load deadlines")?;
    let mut rows = stmt.query([]).ctx("query load deadlines")?;
    let mut count = 0u64;
    // Rows come in key order, tenant first: a tenant's rows share one checked id instead of
    // checking the same string again per row (a million rows at start-up).
    let mut last: Option<TenantId> = None;
    while let Some(r) = rows.next().ctx("read deadline row")? {
        let tenant = match &last {
            Some(t)
                if r.get_ref(0).ctx("read deadline tenant")?.as_str().ok() == Some(t.as_str()) =>
            {
                t.clone()
            }
            _ => tenant_at(r, 0).ctx("read deadline tenant")?,
        };
        last = Some(tenant.clone());
        f(deadline_row(tenant, r).ctx("read deadline row")?);
        count += 1;
    }
    Ok(count)
}

fn deadline_row(tenant: TenantId, r: &rusqlite::Row<'_>) -> rusqlite::Result<DeadlineRow> {
    Ok(DeadlineRow {
        subject: SubjectKey {
            tenant,
            order_id: r.get(1)?,
            track: r.get(2)?,
        },
        rule: r.get(3)?,
        due: from_ns(r.get(4)?),
        fired: r.get(5)?,
    })
}

pub(crate) fn deadlines_of(
    c: &Connection,
    tenant: &TenantId,
    order_id: &str,
) -> Result<Vec<DeadlineRow>, StoreError> {
    let mut stmt = c
        .prepare_cached(
            "SELECT tenant, order_id, track, rule, due_ns, fired FROM deadlines
             WHERE tenant = ?1 AND order_id = ?2 ORDER BY track, rule",
        )
        .ctx("prepare deadlines of order")?;
    let rows = stmt
        .query_map(params![tenant.as_str(), order_id], |r| {
            deadline_row(tenant.clone(), r)
        })
        .ctx("query deadlines of order")?;
    rows.collect::<Result<Vec<_>, _>>().ctx("read deadline row")
}

pub(crate) fn deadlines_due(
    c: &Connection,
    until: jiff::Timestamp,
    limit: usize,
) -> Result<Vec<DeadlineRow>, StoreError> {
    let mut stmt = c
        .prepare_cached(
            "SELECT tenant, order_id, track, rule, due_ns, fired FROM deadlines
             WHERE due_ns <= ?1 AND fired = 0 ORDER BY due_ns LIMIT ?2",
        )
        .ctx("prepare deadlines due")?;
    let until = ns(until)?;
    let rows = stmt
        .query_map(params![until, limit.min(i64::MAX as usize) as i64], |r| {
            let tenant = tenant_at(r, 0)?;
            deadline_row(tenant, r)
        })
        .ctx("query deadlines due")?;
    rows.collect::<Result<Vec<_>, _>>().ctx("read due deadline")
}

pub(crate) fn snoozed_due(
    c: &Connection,
    until: jiff::Timestamp,
    limit: usize,
) -> Result<Vec<(TenantId, i64, jiff::Timestamp)>, StoreError> {
    let mut stmt = c
        .prepare_cached(
            "SELECT tenant, id, snoozed_until_ns FROM alerts
             WHERE status = 'snoozed' AND snoozed_until_ns <= ?1
             ORDER BY snoozed_until_ns LIMIT ?2",
        )
        .ctx("prepare snoozed due")?;
    let until = ns(until)?;
    let rows = stmt
        .query_map(params![until, limit.min(i64::MAX as usize) as i64], |r| {
            Ok((tenant_at(r, 0)?, r.get::<_, i64>(1)?, from_ns(r.get(2)?)))
        })
        .ctx("query snoozed due")?;
    rows.collect::<Result<Vec<_>, _>>()
        .ctx("read snoozed alert")
}

const ALERT_COLUMNS: &str = "id, tenant, order_id, track, rule, kind, severity, status, assignee,
    snoozed_until_ns, triggers, due_ns, opened_ns, last_triggered_ns, resolved_ns, resolution,
    false_positive, carrier, order_value, promised_ns, summary, impact, version, public_id";

fn alert_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AlertRow> {
    let opt_ts = |i: usize| -> rusqlite::Result<_> { Ok(r.get::<_, Option<i64>>(i)?.map(from_ns)) };
    Ok(AlertRow {
        id: r.get(0)?,
        subject: SubjectKey {
            tenant: tenant_at(r, 1)?,
            order_id: r.get(2)?,
            track: r.get(3)?,
        },
        rule: r.get(4)?,
        kind: r.get(5)?,
        severity: r.get(6)?,
        status: r.get(7)?,
        assignee: r.get(8)?,
        snoozed_until: opt_ts(9)?,
        triggers: u32::try_from(r.get::<_, i64>(10)?).unwrap_or(u32::MAX),
        due: opt_ts(11)?,
        opened_at: from_ns(r.get(12)?),
        last_triggered: from_ns(r.get(13)?),
        resolved_at: opt_ts(14)?,
        resolution: r.get(15)?,
        false_positive: r.get(16)?,
        carrier: r.get(17)?,
        order_value: r.get(18)?,
        promised_at: opt_ts(19)?,
        summary: r.get(20)?,
        impact: r.get(21)?,
        version: r.get(22)?,
        public_id: r.get(23)?,
    })
}

pub(crate) fn open_alerts_of(
    c: &Connection,
    tenant: &TenantId,
    order_id: &str,
) -> Result<Vec<AlertRow>, StoreError> {
    // Worded as the partial index's own condition, so SQLite can use that index.
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT {ALERT_COLUMNS} FROM alerts
             WHERE tenant = ?1 AND order_id = ?2 AND status <> 'resolved' ORDER BY id"
        ))
        .ctx("prepare open alerts of order")?;
    let rows = stmt
        .query_map(params![tenant.as_str(), order_id], alert_row)
        .ctx("query open alerts of order")?;
    rows.collect::<Result<Vec<_>, _>>().ctx("read alert row")
}

pub(crate) fn alert(
    c: &Connection,
    tenant: &TenantId,
    id: i64,
) -> Result<Option<AlertRow>, StoreError> {
    c.prepare_cached(&format!(
        "SELECT {ALERT_COLUMNS} FROM alerts WHERE tenant = ?1 AND id = ?2"
    ))
    .ctx("prepare alert")?
    .query_row(params![tenant.as_str(), id], alert_row)
    .optional()
    .ctx("read alert")
}

/// One alert of the tenant by its public id.
pub(crate) fn alert_by_public_id(
    c: &Connection,
    tenant: &TenantId,
    public_id: &str,
) -> Result<Option<AlertRow>, StoreError> {
    if !is_public_id(public_id) {
        return Ok(None);
    }
    c.prepare_cached(&format!(
        "SELECT {ALERT_COLUMNS} FROM alerts WHERE public_id = ?1 AND tenant = ?2"
    ))
    .ctx("prepare alert by public id")?
    .query_row(params![public_id, tenant.as_str()], alert_row)
    .optional()
    .ctx("read alert by public id")
}

/// `AND column IN (?, ?, ...)` for a non-empty list; an empty list does not filter.
fn push_in(sql: &mut String, args: &mut Vec<Value>, column: &str, values: &[String]) {
    if values.is_empty() {
        return;
    }
    let marks = vec!["?"; values.len()].join(", ");
    sql.push_str(&format!(" AND {column} IN ({marks})"));
    args.extend(values.iter().map(|v| Value::from(v.clone())));
}

fn clamp_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) fn alerts(
    c: &Connection,
    tenant: &TenantId,
    q: &AlertQuery,
) -> Result<Vec<AlertRow>, StoreError> {
    let mut sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE tenant = ?");
    let mut args: Vec<Value> = vec![tenant.as_str().to_string().into()];
    push_in(&mut sql, &mut args, "status", &q.statuses);
    push_in(&mut sql, &mut args, "severity", &q.severities);
    push_in(&mut sql, &mut args, "rule", &q.rules);
    let carriers: Vec<String> = q.carriers.iter().map(|c| c.to_lowercase()).collect();
    push_in(&mut sql, &mut args, "lower(carrier)", &carriers);
    if let Some(o) = &q.order_id {
        sql.push_str(" AND order_id = ?");
        args.push(o.clone().into());
    }
    if let Some(t) = q.opened_before {
        // An instant beyond what i64 nanoseconds hold matches all or nothing.
        let n = i64::try_from(t.as_nanosecond()).unwrap_or(if t.as_second() < 0 {
            i64::MIN
        } else {
            i64::MAX
        });
        sql.push_str(" AND opened_ns < ?");
        args.push(n.into());
    }
    // The id breaks ties, so pages by offset neither skip nor repeat rows of equal keys.
    sql.push_str(match q.sort {
        AlertSort::Impact => " ORDER BY impact DESC, opened_ns, id",
        AlertSort::Newest => " ORDER BY opened_ns DESC, id DESC",
        AlertSort::Oldest => " ORDER BY opened_ns, id",
    });
    sql.push_str(" LIMIT ? OFFSET ?");
    args.push(clamp_i64(q.limit).into());
    args.push(clamp_i64(q.offset).into());
    let mut stmt = c.prepare_cached(&sql).ctx("prepare alerts")?;
    let rows = stmt
        .query_map(params_from_iter(args), alert_row)
        .ctx("query alerts")?;
    rows.collect::<Result<Vec<_>, _>>().ctx("read alert row")
}

pub(crate) fn alert_audit(
    c: &Connection,
    tenant: &TenantId,
    id: i64,
) -> Result<Vec<AuditRow>, StoreError> {
    let mut stmt = c
        .prepare_cached(
            "SELECT u.alert_id, u.n, u.at_ns, u.actor, u.action, u.detail
             FROM alerts a JOIN alert_audit u ON u.alert_id = a.id
             WHERE a.tenant = ?1 AND a.id = ?2 ORDER BY u.n",
        )
        .ctx("prepare alert audit")?;
    let rows = stmt
        .query_map(params![tenant.as_str(), id], |r| {
            Ok(AuditRow {
                alert_id: r.get(0)?,
                n: u32::try_from(r.get::<_, i64>(1)?).unwrap_or(u32::MAX),
                at: from_ns(r.get(2)?),
                actor: r.get(3)?,
                action: r.get(4)?,
                detail: r.get(5)?,
            })
        })
        .ctx("query alert audit")?;
    rows.collect::<Result<Vec<_>, _>>()
        .ctx("read alert audit row")
}

pub(crate) fn alert_counts(
    c: &Connection,
) -> Result<Vec<(String, String, String, u64)>, StoreError> {
    let mut stmt = c
        .prepare_cached(
            "SELECT tenant, status, severity, n FROM alert_tally ORDER BY tenant, status, severity",
        )
        .ctx("prepare alert counts")?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get::<_, i64>(3)?.max(0) as u64,
            ))
        })
        .ctx("query alert counts")?;
    rows.collect::<Result<Vec<_>, _>>().ctx("read alert count")
}
