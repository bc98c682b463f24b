//! Reads of the order book (`orders.db`), on a small pool of its own.

use crate::{SqlContext, SqliteReader, from_ns, ns};
use rusqlite::{OptionalExtension, params};
use std::path::Path;
use waypost_domain::TenantId;
use waypost_store::*;

/// The order book's reader: shared by request handlers and the intake service.
pub struct BookReader {
    pool: SqliteReader,
}

impl BookReader {
    pub(crate) fn open(path: &Path) -> Result<Self, StoreError> {
        Ok(BookReader {
            pool: SqliteReader::open(path, 4)?,
        })
    }
}

const ROW_COLUMNS: &str = "o.order_id, o.channel, o.account, o.external_id, o.status, o.priority,
    o.impact, o.value, o.currency, o.promised_ns, o.version, o.received_ns, o.status_ns,
    v.body, v.decision, v.shadow, o.emitted_version, o.status_action";

fn status_of(s: &str) -> rusqlite::Result<IntakeStatus> {
    IntakeStatus::parse(s).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("unknown intake status {s:?}").into(),
        )
    })
}

fn intake_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<IntakeRow> {
    Ok(IntakeRow {
        order_id: r.get(0)?,
        channel: r.get(1)?,
        account: r.get(2)?,
        external_id: r.get(3)?,
        status: status_of(&r.get::<_, String>(4)?)?,
        priority: r.get(5)?,
        impact: r.get(6)?,
        value: r.get(7)?,
        currency: r.get(8)?,
        promised_at: r.get::<_, Option<i64>>(9)?.map(from_ns),
        version: r.get(10)?,
        received_at: from_ns(r.get(11)?),
        status_since: from_ns(r.get(12)?),
        body: r.get(13)?,
        decision: r.get(14)?,
        shadow: r.get(15)?,
        emitted_version: r.get(16)?,
        status_action: r.get(17)?,
    })
}

impl OrderBookReads for BookReader {
    fn intake_order(
        &self,
        tenant: &TenantId,
        order_id: &str,
    ) -> Result<Option<IntakeRow>, StoreError> {
        let c = self.pool.lease()?;
        c.prepare_cached(&format!(
            "SELECT {ROW_COLUMNS} FROM intake_orders o
             JOIN intake_versions v ON v.tenant = o.tenant AND v.order_id = o.order_id AND v.version = o.version
             WHERE o.tenant = ?1 AND o.order_id = ?2"
        ))
        .ctx("prepare intake order")?
        .query_row(params![tenant.as_str(), order_id], intake_row)
        .optional()
        .ctx("query intake order")
    }

    fn intake_versions(
        &self,
        tenant: &TenantId,
        order_id: &str,
    ) -> Result<Vec<VersionRow>, StoreError> {
        let c = self.pool.lease()?;
        let mut st = c
            .prepare_cached(
                "SELECT version, content_hash, updated_ns, received_ns, status, decision
                 FROM intake_versions WHERE tenant = ?1 AND order_id = ?2 ORDER BY version",
            )
            .ctx("prepare versions")?;
        st.query_map(params![tenant.as_str(), order_id], |r| {
            Ok(VersionRow {
                version: r.get(0)?,
                content_hash: r.get(1)?,
                updated_at: r.get::<_, Option<i64>>(2)?.map(from_ns),
                received_at: from_ns(r.get(3)?),
                status: status_of(&r.get::<_, String>(4)?)?,
                decision: r.get(5)?,
            })
        })
        .ctx("query versions")?
        .collect::<Result<_, _>>()
        .ctx("read versions")
    }

    fn intake_audit(
        &self,
        tenant: &TenantId,
        order_id: &str,
    ) -> Result<Vec<IntakeAuditRow>, StoreError> {
        let c = self.pool.lease()?;
        let mut st = c
            .prepare_cached(
                "SELECT at_ns, actor, action, detail FROM intake_audit
                 WHERE tenant = ?1 AND order_id = ?2 ORDER BY seq",
            )
            .ctx("prepare audit")?;
        st.query_map(params![tenant.as_str(), order_id], |r| {
            Ok(IntakeAuditRow {
                at: from_ns(r.get(0)?),
                actor: r.get(1)?,
                action: r.get(2)?,
                detail: r.get(3)?,
            })
        })
        .ctx("query audit")?
        .collect::<Result<_, _>>()
        .ctx("read audit")
    }

    fn intake_queue(
        &self,
        tenant: &TenantId,
        q: &QueueQuery,
    ) -> Result<Vec<IntakeRow>, StoreError> {
        let statuses: Vec<&str> = if q.statuses.is_empty() {
            IntakeStatus::ALL.iter().map(|s| s.as_str()).collect()
        } else {
            q.statuses.iter().map(|s| s.as_str()).collect()
        };
        let list = serde_json::to_string(&statuses).unwrap_or_default();
        let (after_impact, after_id) = match &q.after {
            Some((i, id)) => (Some(*i), Some(id.as_str())),
            None => (None, None),
        };
        let c = self.pool.lease()?;
        let mut st = c
            .prepare_cached(&format!(
                "SELECT {ROW_COLUMNS} FROM intake_orders o
                 JOIN intake_versions v ON v.tenant = o.tenant AND v.order_id = o.order_id AND v.version = o.version
                 WHERE o.tenant = ?1 AND o.status IN (SELECT value FROM json_each(?2))
                   AND (?3 IS NULL OR o.channel = ?3) AND (?4 IS NULL OR o.account = ?4)
                   AND (?5 IS NULL OR o.impact < ?5 OR (o.impact = ?5 AND o.order_id > ?6))
                 ORDER BY o.impact DESC, o.order_id LIMIT ?7"
            ))
            .ctx("prepare queue")?;
        st.query_map(
            params![
                tenant.as_str(),
                list,
                q.channel,
                q.account,
                after_impact,
                after_id,
                q.limit.clamp(1, 1000) as i64
            ],
            intake_row,
        )
        .ctx("query queue")?
        .collect::<Result<_, _>>()
        .ctx("read queue")
    }

    fn intake_counts(
        &self,
        tenant: &TenantId,
        since: Option<jiff::Timestamp>,
    ) -> Result<Vec<GateCount>, StoreError> {
        let since = since.map(ns).transpose()?.unwrap_or(i64::MIN);
        let c = self.pool.lease()?;
        let mut st = c
            .prepare_cached(
                "SELECT check_name, channel, account, outcome, layer, enforced, COUNT(*),
                        SUM(false_positive)
                 FROM intake_findings WHERE tenant = ?1 AND at_ns >= ?2
                 GROUP BY check_name, channel, account, outcome, layer, enforced
                 ORDER BY check_name, channel, account, outcome, layer, enforced",
            )
            .ctx("prepare counts")?;
        st.query_map(params![tenant.as_str(), since], |r| {
            Ok(GateCount {
                check: r.get(0)?,
                channel: r.get(1)?,
                account: r.get(2)?,
                outcome: r.get(3)?,
                layer: r.get(4)?,
                enforced: r.get(5)?,
                count: r.get::<_, i64>(6)?.max(0) as u64,
                false_positives: r.get::<_, i64>(7)?.max(0) as u64,
            })
        })
        .ctx("query counts")?
        .collect::<Result<_, _>>()
        .ctx("read counts")
    }

    fn intake_similar(
        &self,
        tenant: &TenantId,
        fingerprint: &str,
        since: jiff::Timestamp,
        except_order: &str,
    ) -> Result<Vec<String>, StoreError> {
        let c = self.pool.lease()?;
        let mut st = c
            .prepare_cached(
                "SELECT order_id FROM intake_orders
                 WHERE tenant = ?1 AND fingerprint = ?2 AND received_ns >= ?3 AND order_id <> ?4
                   AND status <> 'cancelled' AND status <> 'rejected'
                 ORDER BY order_id LIMIT 20",
            )
            .ctx("prepare similar")?;
        st.query_map(
            params![tenant.as_str(), fingerprint, ns(since)?, except_order],
            |r| r.get(0),
        )
        .ctx("query similar")?
        .collect::<Result<_, _>>()
        .ctx("read similar")
    }

    fn intake_delivery_seen(
        &self,
        tenant: &TenantId,
        channel: &str,
        delivery: &str,
    ) -> Result<bool, StoreError> {
        let c = self.pool.lease()?;
        c.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM intake_deliveries WHERE tenant = ?1 AND channel = ?2 AND delivery = ?3)",
        )
        .ctx("prepare delivery seen")?
        .query_row(params![tenant.as_str(), channel, delivery], |r| r.get(0))
        .ctx("query delivery seen")
    }

    fn intake_waiting_for(
        &self,
        tenant: &TenantId,
        skus: &[String],
    ) -> Result<Vec<String>, StoreError> {
        let list = serde_json::to_string(skus).unwrap_or_default();
        let c = self.pool.lease()?;
        let mut st = c
            .prepare_cached(
                "SELECT DISTINCT order_id FROM intake_waiting
                 WHERE tenant = ?1 AND sku IN (SELECT value FROM json_each(?2)) ORDER BY order_id",
            )
            .ctx("prepare waiting")?;
        st.query_map(params![tenant.as_str(), list], |r| r.get(0))
            .ctx("query waiting")?
            .collect::<Result<_, _>>()
            .ctx("read waiting")
    }

    fn intake_unemitted(&self, limit: usize) -> Result<Vec<(TenantId, String)>, StoreError> {
        let c = self.pool.lease()?;
        let mut st = c
            .prepare_cached(
                "SELECT tenant, order_id FROM intake_orders
                 WHERE emitted_version < version
                 LIMIT ?1",
            )
            .ctx("prepare unemitted")?;
        let rows: Vec<(String, String)> = st
            .query_map(params![limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))
            .ctx("query unemitted")?
            .collect::<Result<_, _>>()
            .ctx("read unemitted")?;
        rows.into_iter()
            .map(|(t, o)| {
                TenantId::new(t.clone())
                    .map(|t| (t, o))
                    .map_err(|e| StoreError::Corrupt {
                        what: "tenant",
                        detail: format!("{t:?}: {e}"),
                    })
            })
            .collect()
    }

    fn sku_facts(&self, tenant: &TenantId, skus: &[String]) -> Result<SkuFacts, StoreError> {
        let list = serde_json::to_string(skus).unwrap_or_default();
        let c = self.pool.lease()?;
        let has_catalogue: bool = c
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM catalogue WHERE tenant = ?1)")
            .ctx("prepare has catalogue")?
            .query_row(params![tenant.as_str()], |r| r.get(0))
            .ctx("query has catalogue")?;
        let known = c
            .prepare_cached(
                "SELECT sku FROM catalogue WHERE tenant = ?1 AND sku IN (SELECT value FROM json_each(?2)) ORDER BY sku",
            )
            .ctx("prepare known skus")?
            .query_map(params![tenant.as_str(), list], |r| r.get(0))
            .ctx("query known skus")?
            .collect::<Result<Vec<String>, _>>()
            .ctx("read known skus")?;
        let available = c
            .prepare_cached(
                "SELECT sku, SUM(MAX(available, 0)) FROM stock
                 WHERE tenant = ?1 AND sku IN (SELECT value FROM json_each(?2))
                 GROUP BY sku ORDER BY sku",
            )
            .ctx("prepare stock facts")?
            .query_map(params![tenant.as_str(), list], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .ctx("query stock facts")?
            .collect::<Result<Vec<(String, f64)>, _>>()
            .ctx("read stock facts")?;
        Ok(SkuFacts {
            has_catalogue,
            known,
            available,
        })
    }

    fn catalogue_list(
        &self,
        tenant: &TenantId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<CatalogueItem>, StoreError> {
        let c = self.pool.lease()?;
        let mut st = c
            .prepare_cached(
                "SELECT sku, title FROM catalogue WHERE tenant = ?1 AND (?2 IS NULL OR sku > ?2)
                 ORDER BY sku LIMIT ?3",
            )
            .ctx("prepare catalogue list")?;
        st.query_map(
            params![tenant.as_str(), after, limit.clamp(1, 1000) as i64],
            |r| {
                Ok(CatalogueItem {
                    sku: r.get(0)?,
                    title: r.get(1)?,
                })
            },
        )
        .ctx("query catalogue")?
        .collect::<Result<_, _>>()
        .ctx("read catalogue")
    }

    fn stock_list(
        &self,
        tenant: &TenantId,
        sku: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StockLevel>, StoreError> {
        let c = self.pool.lease()?;
        let mut st = c
            .prepare_cached(
                "SELECT warehouse, sku, available, counted_ns FROM stock
                 WHERE tenant = ?1 AND (?2 IS NULL OR sku = ?2) ORDER BY sku, warehouse LIMIT ?3",
            )
            .ctx("prepare stock list")?;
        st.query_map(
            params![tenant.as_str(), sku, limit.clamp(1, 10_000) as i64],
            |r| {
                Ok(StockLevel {
                    warehouse: r.get(0)?,
                    sku: r.get(1)?,
                    available: r.get(2)?,
                    counted_at: from_ns(r.get(3)?),
                })
            },
        )
        .ctx("query stock")?
        .collect::<Result<_, _>>()
        .ctx("read stock")
    }
}
