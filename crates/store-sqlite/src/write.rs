//! The single writer: appends to the log (the durable inbox) and folds the log into the
//! projection. Both are group commits: one transaction, one fsync, for everything waiting.

use super::{corrupt, from_ns, ns};
use crate::SqlContext;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use std::collections::HashMap;
use std::sync::LazyLock;
use waypost_domain::{Status, TenantId};
use waypost_store::*;
use waypost_store::{ContactRow, EndpointRow, NewOutbox, OutboxMark, OutboxRow, SubscriptionRow};

pub struct SqliteWriter {
    conn: Connection,
    /// The WAL file, synced by [`WalSync`] outside the write lock when durability is full.
    wal: std::path::PathBuf,
    durability: super::Durability,
    /// Cached copy of meta.applied_seq; the row is the truth and is written in the same
    /// transaction as the projection.
    applied: Seq,
    /// The next change row's key: a sequence over all tenants, never shown to one.
    next_change: Seq,
    /// Each tenant's last change number (`changes.tenant_seq`), what the tenant sees as its
    /// stream ids and orders' versions. Filled on a tenant's first change since start from the
    /// index's end; like `applied`, updated only after a commit.
    tenant_last: HashMap<TenantId, Seq>,
}

impl SqliteWriter {
    pub(crate) fn new(
        conn: Connection,
        db: &std::path::Path,
        durability: super::Durability,
    ) -> Result<Self, StoreError> {
        let applied: i64 = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'applied_seq'",
                [],
                |r| r.get(0),
            )
            .ctx("read applied_seq")?;
        let last_change: i64 = conn
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM changes", [], |r| {
                r.get(0)
            })
            .ctx("read last change")?;
        // No commit fsyncs inside SQLite (NORMAL: only checkpoints do). The log's durability
        // comes from `WalSync`, which the engine runs after the commit, outside the write lock,
        // so the fsync of one round overlaps the projection work of the next. The projection
        // is derived and replayed from its checkpoint after a crash; WAL order is file order,
        // so no projection commit can outlive the log commit it came from.
        conn.execute_batch("PRAGMA synchronous = NORMAL")
            .ctx("set synchronous")?;
        let mut wal = db.as_os_str().to_owned();
        wal.push("-wal");
        Ok(SqliteWriter {
            conn,
            wal: wal.into(),
            durability,
            applied: applied.max(0) as Seq,
            next_change: last_change.max(0) as Seq + 1,
            tenant_last: HashMap::new(),
        })
    }
}

/// Orders not in a closed status, in key order: the list is [`Status::is_closed`]'s, so the
/// SQL cannot drift from the domain.
static OPEN_ORDERS: LazyLock<String> = LazyLock::new(|| {
    let closed: Vec<String> = Status::ALL
        .into_iter()
        .filter(|s| s.is_closed())
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    format!(
        "SELECT tenant, order_id FROM orders
         WHERE (tenant, order_id) > (?1, ?2) AND status NOT IN ({})
         ORDER BY tenant, order_id LIMIT ?3",
        closed.join(", ")
    )
});

/// A tenant's last change number in the store (0 before its first): the end of its range
/// of the `changes_tenant_seq` index.
fn last_tenant_seq(tx: &Transaction<'_>, tenant: &TenantId) -> Result<Seq, StoreError> {
    let n: i64 = tx
        .prepare_cached("SELECT COALESCE(MAX(tenant_seq), 0) FROM changes WHERE tenant = ?1")
        .ctx("prepare last tenant change")?
        .query_row(params![tenant.as_str()], |r| r.get(0))
        .ctx("read last tenant change")?;
    Ok(n.max(0) as Seq)
}

impl SqliteWriter {
    /// Runs `f` in one `BEGIN IMMEDIATE` transaction, committed iff `f` succeeds.
    fn in_tx<T>(
        &mut self,
        op: &'static str,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(op)?;
        let out = f(&tx)?;
        tx.commit().ctx(op)?;
        Ok(out)
    }
}

impl EventLog for SqliteWriter {
    fn append(&mut self, batch: &[Submission]) -> Result<Vec<AppendOutcome>, StoreError> {
        // IMMEDIATE: take the write lock before reading, so the transaction's snapshot cannot go
        // stale between its first read and its first write (which fails at once, unretried).
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("begin append")?;
        let mut outcomes = Vec::with_capacity(batch.len());
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO events
                     (tenant, source, event_id, order_id, track, status, occurred_ns, received_ns, content_hash, body)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .ctx("prepare append")?;
            for sub in batch {
                let mut out = AppendOutcome::default();
                let received_ns = ns(sub.received_at)?;
                let mut quarantined: Vec<(Seq, &NewEvent)> = Vec::new();
                for ne in &sub.events {
                    let e = &ne.event;
                    let occurred_ns = ns(e.occurred_at.instant)?;
                    let n = insert
                        .execute(params![
                            sub.tenant.as_str(),
                            e.source.as_str(),
                            e.event_id.as_str(),
                            e.order_id.as_str(),
                            e.stream(),
                            e.status.as_str(),
                            occurred_ns,
                            received_ns,
                            &ne.content_hash[..],
                            ne.body,
                        ])
                        .ctx("append event")?;
                    if n == 1 {
                        out.accepted += 1;
                        let seq = tx.last_insert_rowid() as Seq;
                        if !ne.unmapped.is_empty() {
                            quarantined.push((seq, ne));
                        }
                        out.stored.push(StoredEvent {
                            seq,
                            tenant: sub.tenant.clone(),
                            event: ne.event.clone(),
                            received_at: sub.received_at,
                        });
                    } else {
                        out.duplicates += 1;
                    }
                }
                if sub.document.is_some()
                    || !quarantined.is_empty()
                    || !sub.resolves.is_empty()
                    || sub.replays_document.is_some()
                {
                    super::documents::record(&tx, sub, received_ns, &quarantined, &out.stored)?;
                }
                outcomes.push(out);
            }
        }
        tx.commit().ctx("commit append")?;
        Ok(outcomes)
    }

    fn applied_seq(&mut self, partition: Partition) -> Result<Seq, StoreError> {
        super::only_partition(partition)?;
        Ok(self.applied)
    }

    fn events_after(
        &mut self,
        partition: Partition,
        after: Seq,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        super::only_partition(partition)?;
        read_events_after(&self.conn, after, limit)
    }

    fn log_sync(&self) -> Option<std::sync::Arc<dyn LogSync>> {
        (self.durability == super::Durability::Full).then(|| {
            std::sync::Arc::new(WalSync {
                wal: self.wal.clone(),
            }) as std::sync::Arc<dyn LogSync>
        })
    }
}

impl ProjectionStore for SqliteWriter {
    fn apply(
        &mut self,
        partition: Partition,
        events: &[StoredEvent],
        now: Timestamp,
    ) -> Result<Vec<Change>, StoreError> {
        self.apply_with(partition, events, now, &mut NoOutbox)
    }

    fn apply_with(
        &mut self,
        partition: Partition,
        events: &[StoredEvent],
        now: Timestamp,
        planner: &mut dyn OutboxPlanner,
    ) -> Result<Vec<Change>, StoreError> {
        super::only_partition(partition)?;
        let mut todo: Vec<StoredEvent> = Vec::new();
        // The caller hands events in seq order; if it skipped some (it never should), read the
        // gap from the log rather than jump the checkpoint over unapplied events.
        if let Some(first) = events.iter().find(|e| e.seq > self.applied)
            && first.seq > self.applied + 1
        {
            todo = self.events_after(
                partition,
                self.applied,
                (first.seq - self.applied - 1) as usize,
            )?;
            todo.retain(|e| e.seq < first.seq);
        }
        todo.extend(events.iter().filter(|e| e.seq > self.applied).cloned());
        let Some(last) = todo.last().map(|e| e.seq) else {
            return Ok(Vec::new());
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("begin apply")?;
        let mut changes = Vec::new();
        // Group by order, keeping first-seen order so changes come out in log order.
        let mut groups: Vec<((TenantId, String), Vec<&StoredEvent>)> = Vec::new();
        let mut index: HashMap<(TenantId, String), usize> = HashMap::new();
        for e in &todo {
            let k = (e.tenant.clone(), e.event.order_id.as_str().to_string());
            let i = *index.entry(k.clone()).or_insert_with(|| {
                groups.push((k, Vec::new()));
                groups.len() - 1
            });
            groups[i].1.push(e);
        }
        // Counted locally and kept only on commit: a failed apply leaves no gap in change seqs.
        let mut next_change = self.next_change;
        let mut tenant_last: HashMap<TenantId, Seq> = HashMap::new();
        for ((tenant, order_id), evs) in groups {
            let last_of_tenant = match tenant_last.get(&tenant).or(self.tenant_last.get(&tenant)) {
                Some(n) => *n,
                None => last_tenant_seq(&tx, &tenant)?,
            };
            let seqs = super::apply::ChangeSeqs {
                global: next_change,
                tenant: last_of_tenant + 1,
            };
            let applied = super::apply::apply_order(&tx, &tenant, &order_id, &evs, now, seqs)?;
            if let Some((change, view)) = applied {
                next_change += 1;
                tenant_last.insert(tenant.clone(), seqs.tenant);
                // After apply_order's note_attrs: this batch's attributes count. Read only for
                // a planner that may notify of this change (plain `apply` reads nothing more).
                if planner.wants(&change) {
                    let kept = super::facts::attrs(&tx, &tenant, &order_id)?;
                    let rows = waypost_projection::plan(planner, &change, &view, kept);
                    super::outbox::insert_planned(&tx, &tenant, &rows, now)?;
                }
                changes.push(change);
            }
        }
        tx.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'applied_seq'",
            [last as i64],
        )
        .ctx("advance applied_seq")?;
        tx.commit().ctx("commit apply")?;
        self.applied = last;
        self.next_change = next_change;
        self.tenant_last.extend(tenant_last);
        Ok(changes)
    }

    fn open_orders(
        &mut self,
        partition: Partition,
        after: Option<(&TenantId, &str)>,
        limit: usize,
    ) -> Result<Vec<(TenantId, String)>, StoreError> {
        super::only_partition(partition)?;
        let (t, o) = after.map_or(("", ""), |(t, o)| (t.as_str(), o));
        let mut stmt = self
            .conn
            .prepare_cached(&OPEN_ORDERS)
            .ctx("prepare open orders")?;
        let rows = stmt
            .query_map(params![t, o, limit.min(i64::MAX as usize) as i64], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .ctx("query open orders")?;
        let mut out = Vec::new();
        for row in rows {
            let (tenant, order) = row.ctx("read open order")?;
            out.push((
                TenantId::new(tenant).map_err(|e| corrupt("tenant", e))?,
                order,
            ));
        }
        Ok(out)
    }

    fn subject_facts(
        &mut self,
        tenant: &TenantId,
        order_id: &str,
    ) -> Result<Vec<waypost_store::SubjectFacts>, StoreError> {
        let state: Option<Vec<u8>> = self
            .conn
            .prepare_cached("SELECT state FROM orders WHERE tenant = ?1 AND order_id = ?2")
            .ctx("prepare facts")?
            .query_row(params![tenant.as_str(), order_id], |r| {
                super::bytes_of(r, 0)
            })
            .optional()
            .ctx("load order for facts")?;
        match state {
            Some(state) => {
                let attrs = super::facts::attrs(&self.conn, tenant, order_id)?;
                Ok(waypost_projection::subject_facts(
                    order_id,
                    &parse_state(&state)?,
                    &attrs,
                ))
            }
            None => Ok(Vec::new()),
        }
    }
}

impl RuleStore for SqliteWriter {
    fn rules_commit(
        &mut self,
        upsert: &[DeadlineRow],
        remove: &[(SubjectKey, String)],
        alerts: &[AlertWrite],
        now: Timestamp,
    ) -> Result<Vec<AlertOutcome>, StoreError> {
        // IMMEDIATE, as for the log: an Update's version check and its write see one snapshot.
        // Dropping the transaction on an error rolls every part of the commit back.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("begin rules commit")?;
        let outcomes = super::alerts::commit(&tx, upsert, remove, alerts, now)?;
        tx.commit().ctx("commit rules")?;
        Ok(outcomes)
    }

    fn for_each_deadline(
        &mut self,
        partition: Partition,
        f: &mut dyn FnMut(DeadlineRow),
    ) -> Result<u64, StoreError> {
        super::only_partition(partition)?;
        super::alerts::for_each_deadline(&self.conn, f)
    }

    fn deadlines_of(
        &mut self,
        tenant: &TenantId,
        order_id: &str,
    ) -> Result<Vec<DeadlineRow>, StoreError> {
        super::alerts::deadlines_of(&self.conn, tenant, order_id)
    }

    fn open_alerts_of(
        &mut self,
        tenant: &TenantId,
        order_id: &str,
    ) -> Result<Vec<AlertRow>, StoreError> {
        super::alerts::open_alerts_of(&self.conn, tenant, order_id)
    }

    fn alert_for_update(
        &mut self,
        tenant: &TenantId,
        id: i64,
    ) -> Result<Option<AlertRow>, StoreError> {
        super::alerts::alert(&self.conn, tenant, id)
    }

    fn deadlines_due(
        &mut self,
        partition: Partition,
        until: Timestamp,
        limit: usize,
    ) -> Result<Vec<DeadlineRow>, StoreError> {
        super::only_partition(partition)?;
        super::alerts::deadlines_due(&self.conn, until, limit)
    }

    fn snoozed_due(
        &mut self,
        partition: Partition,
        until: Timestamp,
        limit: usize,
    ) -> Result<Vec<(TenantId, i64, Timestamp)>, StoreError> {
        super::only_partition(partition)?;
        super::alerts::snoozed_due(&self.conn, until, limit)
    }
}

impl OutboxStore for SqliteWriter {
    fn outbox_insert(&mut self, rows: &[NewOutbox]) -> Result<Vec<i64>, StoreError> {
        self.in_tx("outbox insert", |tx| super::outbox::insert(tx, rows))
    }

    fn outbox_mark(&mut self, marks: &[OutboxMark], now: Timestamp) -> Result<(), StoreError> {
        self.in_tx("outbox mark", |tx| super::outbox::mark(tx, marks, now))
    }

    fn outbox_replay(
        &mut self,
        tenant: &TenantId,
        id: i64,
        now: Timestamp,
    ) -> Result<Option<OutboxRow>, StoreError> {
        self.in_tx("outbox replay", |tx| {
            super::outbox::replay(tx, tenant, id, now)
        })
    }
}

impl NotifyConfigStore for SqliteWriter {
    fn put_endpoint(&mut self, row: &EndpointRow) -> Result<EndpointRow, StoreError> {
        self.in_tx("put endpoint", |tx| {
            super::notify_config::put_endpoint(tx, row)
        })
    }

    fn delete_endpoint(
        &mut self,
        tenant: &TenantId,
        id: i64,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.in_tx("delete endpoint", |tx| {
            super::notify_config::delete_endpoint(tx, tenant, id, now)
        })
    }

    fn put_subscription(&mut self, row: &SubscriptionRow) -> Result<SubscriptionRow, StoreError> {
        self.in_tx("put subscription", |tx| {
            super::notify_config::put_subscription(tx, row)
        })
    }

    fn delete_subscription(&mut self, tenant: &TenantId, id: i64) -> Result<bool, StoreError> {
        self.in_tx("delete subscription", |tx| {
            super::notify_config::delete_subscription(tx, tenant, id)
        })
    }

    fn put_contact(&mut self, row: &ContactRow) -> Result<ContactRow, StoreError> {
        self.in_tx("put contact", |tx| {
            super::notify_config::put_contact(tx, row)
        })
    }

    fn notify_config(&mut self) -> Result<(Vec<EndpointRow>, Vec<SubscriptionRow>), StoreError> {
        super::notify_config::config(&self.conn)
    }

    fn contact(
        &mut self,
        tenant: &TenantId,
        customer_id: &str,
    ) -> Result<Option<ContactRow>, StoreError> {
        super::notify_config::contact(&self.conn, tenant, customer_id)
    }
}

/// fdatasync of the WAL file: everything committed before the call is on disk when it returns.
/// The file is opened per call: SQLite keeps it while the store is open, but a handle kept
/// across a (hypothetical) re-creation would sync a dead inode.
struct WalSync {
    wal: std::path::PathBuf,
}

impl LogSync for WalSync {
    fn sync(&self) -> Result<(), StoreError> {
        let io = |e: std::io::Error| StoreError::Open {
            path: self.wal.display().to_string(),
            source: e.into(),
        };
        match std::fs::File::open(&self.wal) {
            Ok(f) => f.sync_data().map_err(io),
            // No WAL yet (nothing committed): nothing to make durable.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(e)),
        }
    }
}

pub(crate) fn read_events_after(
    conn: &Connection,
    after: Seq,
    limit: usize,
) -> Result<Vec<StoredEvent>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT seq, tenant, received_ns, source, event_id, order_id, track, status, body
             FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )
        .ctx("prepare events_after")?;
    let rows = stmt
        .query_map(params![after as i64, limit as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                super::event_columns(r, 3)?,
            ))
        })
        .ctx("query events_after")?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, tenant, received_ns, cols) = row.ctx("read event row")?;
        out.push(StoredEvent {
            seq: seq as Seq,
            tenant: TenantId::new(tenant).map_err(|e| corrupt("tenant", e))?,
            event: waypost_store::event_body::decode(cols)?,
            received_at: from_ns(received_ns),
        });
    }
    Ok(out)
}

pub(crate) use waypost_projection::{Streams, view_of};

pub(crate) fn parse_state(state: &[u8]) -> Result<Streams, StoreError> {
    super::state_codec::decode(state)
}

/// Used by tests and the replay check.
pub(crate) fn applied_seq_of(conn: &Connection) -> Result<Seq, StoreError> {
    let v: Option<i64> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'applied_seq'",
            [],
            |r| r.get(0),
        )
        .optional()
        .ctx("read applied_seq")?;
    Ok(v.unwrap_or(0).max(0) as Seq)
}
