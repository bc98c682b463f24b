//! The order book's writer on SQLite: `orders.db` beside `waypost.db`, a file of its own so
//! the order-intake service's writes never wait for the event log's writer (SQLite has one
//! writer per file).

use crate::{SqlContext, connect, migrate_with, ns};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use std::path::{Path, PathBuf};
use waypost_domain::TenantId;
use waypost_store::*;

pub use crate::order_book_read::BookReader;

const BOOK_MIGRATIONS: &[(u32, &str)] =
    &[(1, include_str!("../migrations/orders/0001_order_book.sql"))];

pub fn book_path(data_dir: &Path) -> PathBuf {
    data_dir.join("orders.db")
}

/// Opens (creating and migrating) the order book in `data_dir`.
pub fn open_book(
    data_dir: &Path,
    durability: Durability,
) -> Result<(BookWriter, BookReader), StoreError> {
    std::fs::create_dir_all(data_dir).map_err(|e| StoreError::Open {
        path: data_dir.display().to_string(),
        source: e.into(),
    })?;
    let path = book_path(data_dir);
    let mut conn = connect(&path, durability)?;
    migrate_with(&mut conn, BOOK_MIGRATIONS)?;
    let reader = BookReader::open(&path)?;
    Ok((BookWriter { conn }, reader))
}

/// The single writer of `orders.db`.
pub struct BookWriter {
    conn: Connection,
}

fn opt_ns(t: Option<jiff::Timestamp>) -> Result<Option<i64>, StoreError> {
    t.map(ns).transpose()
}

fn audit(
    tx: &Transaction<'_>,
    tenant: &str,
    order_id: &str,
    at: i64,
    actor: &str,
    action: &str,
    detail: &str,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO intake_audit (tenant, order_id, seq, at_ns, actor, action, detail)
         VALUES (?1, ?2, (SELECT COALESCE(MAX(seq), 0) + 1 FROM intake_audit
                          WHERE tenant = ?1 AND order_id = ?2), ?3, ?4, ?5, ?6)",
    )
    .ctx("prepare audit")?
    .execute(params![tenant, order_id, at, actor, action, detail])
    .ctx("insert audit")?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn findings(
    tx: &Transaction<'_>,
    tenant: &str,
    order_id: &str,
    version: i64,
    channel: &str,
    account: &str,
    at: i64,
    rows: &[FindingRow],
) -> Result<(), StoreError> {
    let mut st = tx
        .prepare_cached(
            "INSERT OR REPLACE INTO intake_findings
             (tenant, order_id, version, enforced, check_name, outcome, layer, channel, account, at_ns)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .ctx("prepare findings")?;
    for f in rows {
        st.execute(params![
            tenant, order_id, version, f.enforced, f.check, f.outcome, f.layer, channel, account,
            at
        ])
        .ctx("insert finding")?;
    }
    Ok(())
}

fn waiting(
    tx: &Transaction<'_>,
    tenant: &str,
    order_id: &str,
    skus: &[String],
) -> Result<(), StoreError> {
    tx.prepare_cached("DELETE FROM intake_waiting WHERE tenant = ?1 AND order_id = ?2")
        .ctx("prepare clear waiting")?
        .execute(params![tenant, order_id])
        .ctx("clear waiting")?;
    let mut st = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO intake_waiting (tenant, sku, order_id) VALUES (?1, ?2, ?3)",
        )
        .ctx("prepare waiting")?;
    for s in skus {
        st.execute(params![tenant, s, order_id])
            .ctx("insert waiting")?;
    }
    Ok(())
}

impl OrderBook for BookWriter {
    fn intake_put(&mut self, tenant: &TenantId, v: &VersionIn) -> Result<PutOutcome, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .ctx("begin intake put")?;
        let out = put_in(&tx, tenant, v)?;
        tx.commit().ctx("commit intake put")?;
        Ok(out)
    }

    fn intake_put_batch(
        &mut self,
        items: &[(TenantId, VersionIn)],
    ) -> Result<Vec<PutOutcome>, StoreError> {
        // One transaction, one fsync, for every version waiting: the group commit that lets a
        // spike of orders cost a commit per batch, not per order.
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .ctx("begin intake batch")?;
        let mut out = Vec::with_capacity(items.len());
        for (tenant, v) in items {
            out.push(put_in(&tx, tenant, v)?);
        }
        tx.commit().ctx("commit intake batch")?;
        Ok(out)
    }

    fn intake_emitted_batch(
        &mut self,
        marks: &[(TenantId, String, i64)],
    ) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .ctx("begin emitted marks")?;
        {
            let mut st = tx
                .prepare_cached(
                    "UPDATE intake_orders SET emitted_version = MAX(emitted_version, ?3)
                     WHERE tenant = ?1 AND order_id = ?2",
                )
                .ctx("prepare emitted")?;
            for (t, o, v) in marks {
                st.execute(params![t.as_str(), o, v]).ctx("mark emitted")?;
            }
        }
        tx.commit().ctx("commit emitted marks")?;
        Ok(())
    }

    fn intake_status(&mut self, tenant: &TenantId, c: &StatusChange) -> Result<(), StoreError> {
        let t = tenant.as_str();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .ctx("begin intake status")?;
        let head: Option<(i64, String, String)> = tx
            .prepare_cached(
                "SELECT version, channel, account FROM intake_orders WHERE tenant = ?1 AND order_id = ?2",
            )
            .ctx("prepare status head")?
            .query_row(params![t, c.order_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()
            .ctx("query status head")?;
        let Some((version, channel, account)) = head else {
            return Err(StoreError::Invalid {
                what: "order",
                detail: format!("order {:?} is not in the order book of {t}", c.order_id),
            });
        };
        if version != c.version {
            return Err(StoreError::Conflict {
                id: version,
                expected: c.version,
                found: version,
            });
        }
        let at = ns(c.at)?;
        tx.prepare_cached(
            "UPDATE intake_orders SET
               status_ns = CASE WHEN status = ?3 THEN status_ns ELSE ?4 END,
               status = ?3, status_action = ?6, impact = COALESCE(?5, impact),
               emitted_version = MIN(emitted_version, version - 1)
             WHERE tenant = ?1 AND order_id = ?2",
        )
        .ctx("prepare status update")?
        .execute(params![
            t,
            c.order_id,
            c.status.as_str(),
            at,
            c.impact,
            c.action
        ])
        .ctx("update status")?;
        tx.prepare_cached(
            "UPDATE intake_versions SET status = ?4, decision = COALESCE(?5, decision)
             WHERE tenant = ?1 AND order_id = ?2 AND version = ?3",
        )
        .ctx("prepare version status")?
        .execute(params![
            t,
            c.order_id,
            version,
            c.status.as_str(),
            c.decision
        ])
        .ctx("update version status")?;
        if c.false_positive {
            tx.prepare_cached(
                "UPDATE intake_findings SET false_positive = 1
                 WHERE tenant = ?1 AND order_id = ?2 AND version = ?3 AND enforced = 1
                   AND outcome = 'hold'",
            )
            .ctx("prepare false positive")?
            .execute(params![t, c.order_id, version])
            .ctx("mark false positives")?;
        }
        if let Some(rows) = &c.findings {
            tx.prepare_cached(
                "DELETE FROM intake_findings WHERE tenant = ?1 AND order_id = ?2 AND version = ?3 AND enforced = 1",
            )
            .ctx("prepare findings reset")?
            .execute(params![t, c.order_id, version])
            .ctx("reset findings")?;
            findings(&tx, t, &c.order_id, version, &channel, &account, at, rows)?;
        }
        if let Some(skus) = &c.waiting_for {
            waiting(&tx, t, &c.order_id, skus)?;
        }
        audit(&tx, t, &c.order_id, at, &c.actor, &c.action, &c.detail)?;
        tx.commit().ctx("commit intake status")?;
        Ok(())
    }

    fn intake_emitted(
        &mut self,
        tenant: &TenantId,
        order_id: &str,
        version: i64,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "UPDATE intake_orders SET emitted_version = MAX(emitted_version, ?3)
                 WHERE tenant = ?1 AND order_id = ?2",
            )
            .ctx("prepare emitted")?
            .execute(params![tenant.as_str(), order_id, version])
            .ctx("mark emitted")?;
        Ok(())
    }

    fn catalogue_put(
        &mut self,
        tenant: &TenantId,
        items: &[CatalogueItem],
    ) -> Result<usize, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .ctx("begin catalogue")?;
        let mut n = 0;
        {
            let mut st = tx
                .prepare_cached(
                    "INSERT INTO catalogue (tenant, sku, title) VALUES (?1, ?2, ?3)
                     ON CONFLICT (tenant, sku) DO UPDATE SET title = COALESCE(excluded.title, title)",
                )
                .ctx("prepare catalogue")?;
            for i in items {
                n += st
                    .execute(params![tenant.as_str(), i.sku, i.title])
                    .ctx("upsert sku")?;
            }
        }
        tx.commit().ctx("commit catalogue")?;
        Ok(n)
    }

    fn stock_put(&mut self, tenant: &TenantId, levels: &[StockLevel]) -> Result<usize, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .ctx("begin stock")?;
        let mut n = 0;
        {
            let mut st = tx
                .prepare_cached(
                    "INSERT INTO stock (tenant, sku, warehouse, available, counted_ns)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (tenant, sku, warehouse) DO UPDATE SET
                       available = excluded.available, counted_ns = excluded.counted_ns
                     WHERE excluded.counted_ns > stock.counted_ns",
                )
                .ctx("prepare stock")?;
            for l in levels {
                if !l.available.is_finite() {
                    return Err(StoreError::Invalid {
                        what: "stock level",
                        detail: format!(
                            "{} at {}: {} is not a number",
                            l.sku, l.warehouse, l.available
                        ),
                    });
                }
                n += st
                    .execute(params![
                        tenant.as_str(),
                        l.sku,
                        l.warehouse,
                        l.available,
                        ns(l.counted_at)?
                    ])
                    .ctx("upsert stock")?;
            }
        }
        tx.commit().ctx("commit stock")?;
        Ok(n)
    }
}

/// One version into the book, inside the caller's transaction (see `OrderBook::intake_put`).
fn put_in(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    v: &VersionIn,
) -> Result<PutOutcome, StoreError> {
    let t = tenant.as_str();
    let received = ns(v.received_at)?;
    if let Some(d) = &v.delivery {
        let seen: Option<String> = tx
                .prepare_cached(
                    "SELECT order_id FROM intake_deliveries WHERE tenant = ?1 AND channel = ?2 AND delivery = ?3",
                )
                .ctx("prepare delivery")?
                .query_row(params![t, v.channel, d], |r| r.get(0))
                .optional()
                .ctx("query delivery")?;
        if seen.is_some() {
            let version = current_version(tx, t, &v.order_id)?.unwrap_or(0);
            return Ok(PutOutcome::Duplicate { version });
        }
        tx.prepare_cached(
            "INSERT INTO intake_deliveries (tenant, channel, delivery, order_id, received_ns)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .ctx("prepare delivery insert")?
        .execute(params![t, v.channel, d, v.order_id, received])
        .ctx("insert delivery")?;
    }
    let same: Option<i64> = tx
            .prepare_cached(
                "SELECT version FROM intake_versions WHERE tenant = ?1 AND order_id = ?2 AND content_hash = ?3",
            )
            .ctx("prepare version lookup")?
            .query_row(params![t, v.order_id, v.content_hash], |r| r.get(0))
            .optional()
            .ctx("query version")?;
    if let Some(version) = same {
        // The delivery id (if new) is kept: a retry of it is then answered unread.
        return Ok(PutOutcome::Duplicate { version });
    }
    let head: Option<(i64, Option<i64>, String)> = tx
            .prepare_cached(
                "SELECT version, updated_ns, status FROM intake_orders WHERE tenant = ?1 AND order_id = ?2",
            )
            .ctx("prepare head")?
            .query_row(params![t, v.order_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()
            .ctx("query head")?;
    let version: i64 = tx
            .prepare_cached(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM intake_versions WHERE tenant = ?1 AND order_id = ?2",
            )
            .ctx("prepare next version")?
            .query_row(params![t, v.order_id], |r| r.get(0))
            .ctx("next version")?;
    let updated = opt_ns(v.updated_at)?;
    // Channel time decides which version is current; equal times (or none) go to the
    // later arrival, which is the channel's own retry order.
    let current = match &head {
        None => true,
        Some((_, head_updated, _)) => updated >= *head_updated,
    };
    let previous = head.as_ref().and_then(|(_, _, s)| IntakeStatus::parse(s));
    tx.prepare_cached(
            "INSERT INTO intake_versions
             (tenant, order_id, version, content_hash, updated_ns, received_ns, status, body, decision, shadow)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .ctx("prepare version insert")?
        .execute(params![
            t,
            v.order_id,
            version,
            v.content_hash,
            updated,
            received,
            v.status.as_str(),
            v.body,
            v.decision,
            v.shadow
        ])
        .ctx("insert version")?;
    findings(
        tx,
        t,
        &v.order_id,
        version,
        &v.channel,
        &v.account,
        received,
        &v.findings,
    )?;
    if current {
        tx.prepare_cached(
            "INSERT INTO intake_orders
                 (tenant, order_id, channel, account, external_id, status, priority, impact, value,
                  currency, promised_ns, version, updated_ns, received_ns, status_ns, fingerprint)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14, ?15)
                 ON CONFLICT (tenant, order_id) DO UPDATE SET
                   channel = excluded.channel, account = excluded.account,
                   external_id = excluded.external_id,
                   status_ns = CASE WHEN intake_orders.status = excluded.status
                                    THEN intake_orders.status_ns ELSE excluded.status_ns END,
                   status = excluded.status, status_action = 'received',
                   priority = excluded.priority,
                   impact = excluded.impact, value = excluded.value, currency = excluded.currency,
                   promised_ns = excluded.promised_ns, version = excluded.version,
                   updated_ns = excluded.updated_ns, received_ns = excluded.received_ns,
                   fingerprint = excluded.fingerprint",
        )
        .ctx("prepare order upsert")?
        .execute(params![
            t,
            v.order_id,
            v.channel,
            v.account,
            v.external_id,
            v.status.as_str(),
            v.priority,
            v.impact,
            v.value,
            v.currency,
            opt_ns(v.promised_at)?,
            version,
            updated,
            received,
            v.fingerprint
        ])
        .ctx("upsert order")?;
        waiting(tx, t, &v.order_id, &v.waiting_for)?;
    }
    let detail = format!(
        "version {version} ({}){}",
        v.status.as_str(),
        if current {
            ""
        } else {
            ", older than the current version by channel time: kept in the history only"
        }
    );
    audit(tx, t, &v.order_id, received, &v.actor, "received", &detail)?;
    Ok(PutOutcome::New {
        version,
        current,
        previous,
    })
}

fn current_version(
    tx: &Transaction<'_>,
    tenant: &str,
    order_id: &str,
) -> Result<Option<i64>, StoreError> {
    tx.prepare_cached("SELECT version FROM intake_orders WHERE tenant = ?1 AND order_id = ?2")
        .ctx("prepare current version")?
        .query_row(params![tenant, order_id], |r| r.get(0))
        .optional()
        .ctx("query current version")
}
