//! Queries on reader connections. WAL lets them run beside the writer without blocking it.

use super::write::{parse_state, view_of};
use super::{Durability, connect, from_ns};
use crate::SqlContext;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use waypost_domain::TenantId;
use waypost_store::*;
use waypost_store::{ContactRow, DeliveryLogEntry, EndpointRow, OutboxRow, SubscriptionRow};

#[derive(Clone)]
pub struct SqliteReader {
    path: PathBuf,
    // A std mutex: it is held only to push or pop a connection, never across a query or an await.
    pool: Arc<Mutex<Vec<Connection>>>,
    max_idle: usize,
}

pub(crate) struct Lease<'a> {
    conn: Option<Connection>,
    reader: &'a SqliteReader,
}

impl std::ops::Deref for Lease<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        // Present from construction until drop.
        self.conn
            .as_ref()
            .expect("lease holds a connection until dropped")
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take()
            && let Ok(mut pool) = self.reader.pool.lock()
            && pool.len() < self.reader.max_idle
        {
            pool.push(c);
        }
    }
}

impl SqliteReader {
    pub(crate) fn open(path: &Path, max_idle: usize) -> Result<Self, StoreError> {
        let r = SqliteReader {
            path: path.to_path_buf(),
            pool: Arc::new(Mutex::new(Vec::new())),
            max_idle,
        };
        drop(r.lease()?);
        Ok(r)
    }

    pub(crate) fn lease(&self) -> Result<Lease<'_>, StoreError> {
        let pooled = self.pool.lock().ok().and_then(|mut p| p.pop());
        let conn = match pooled {
            Some(c) => c,
            None => connect(&self.path, Durability::Full)?,
        };
        Ok(Lease {
            conn: Some(conn),
            reader: self,
        })
    }
}

fn record(
    order_id: &str,
    state: &[u8],
    version: i64,
    updated_ns: i64,
) -> Result<OrderRecord, StoreError> {
    let streams = parse_state(state)?;
    Ok(OrderRecord {
        view: view_of(order_id, &streams),
        version: version.max(0) as Seq,
        updated_at: from_ns(updated_ns),
    })
}

impl OrderReads for SqliteReader {
    fn order(&self, tenant: &TenantId, order_id: &str) -> Result<Option<OrderRecord>, StoreError> {
        let c = self.lease()?;
        let row = c
            .prepare_cached(
                "SELECT state, version, updated_ns FROM orders WHERE tenant = ?1 AND order_id = ?2",
            )
            .ctx("prepare order")?
            .query_row(params![tenant.as_str(), order_id], |r| {
                Ok((
                    super::bytes_of(r, 0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .optional()
            .ctx("query order")?;
        row.map(|(s, ver, up)| record(order_id, &s, ver, up))
            .transpose()
    }

    fn timeline(
        &self,
        tenant: &TenantId,
        order_id: &str,
    ) -> Result<Vec<TimelineEntry>, StoreError> {
        let c = self.lease()?;
        let mut stmt = c
            .prepare_cached(
                "SELECT seq, received_ns, source, event_id, order_id, track, status, body
                 FROM events WHERE tenant = ?1 AND order_id = ?2
                 ORDER BY occurred_ns, seq",
            )
            .ctx("prepare timeline")?;
        let rows = stmt
            .query_map(params![tenant.as_str(), order_id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    super::event_columns(r, 2)?,
                ))
            })
            .ctx("query timeline")?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, received_ns, cols) = row.ctx("read timeline row")?;
            out.push(TimelineEntry {
                seq: seq as Seq,
                received_at: from_ns(received_ns),
                event: waypost_store::event_body::decode(cols)?,
            });
        }
        Ok(out)
    }

    fn orders(&self, tenant: &TenantId, f: &OrderFilter) -> Result<Vec<OrderRecord>, StoreError> {
        let mut sql = String::from(
            "SELECT order_id, state, version, updated_ns FROM orders WHERE tenant = ?",
        );
        let mut args: Vec<rusqlite::types::Value> = vec![tenant.as_str().to_string().into()];
        if let Some(s) = &f.status {
            sql.push_str(" AND status = ?");
            args.push(s.clone().into());
        }
        if let Some(c) = &f.carrier {
            sql.push_str(" AND carriers LIKE ? ESCAPE '\\'");
            args.push(super::apply::carrier_pattern(c).into());
        }
        if let Some(t) = f.updated_since {
            sql.push_str(" AND updated_ns >= ?");
            // A filter instant beyond what i64 nanoseconds hold matches all or nothing.
            let n = i64::try_from(t.as_nanosecond()).unwrap_or(if t.as_second() < 0 {
                i64::MIN
            } else {
                i64::MAX
            });
            args.push(n.into());
        }
        if let Some(v) = f.after_version {
            sql.push_str(" AND version > ?");
            args.push((v as i64).into());
        }
        sql.push_str(" ORDER BY version LIMIT ?");
        args.push((f.limit as i64).into());
        let c = self.lease()?;
        let mut stmt = c.prepare_cached(&sql).ctx("prepare orders")?;
        let rows = stmt
            .query_map(params_from_iter(args), |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    super::bytes_of(r, 1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .ctx("query orders")?;
        let mut out = Vec::new();
        for row in rows {
            let (id, s, ver, up) = row.ctx("read order row")?;
            out.push(record(&id, &s, ver, up)?);
        }
        Ok(out)
    }

    fn shipment(
        &self,
        tenant: &TenantId,
        tracking: &str,
    ) -> Result<Option<ShipmentRecord>, StoreError> {
        if tracking.is_empty() {
            return Ok(None);
        }
        let c = self.lease()?;
        let order_id: Option<String> = c
            .prepare_cached("SELECT order_id FROM shipments WHERE tenant = ?1 AND track = ?2 ORDER BY order_id LIMIT 1")
            .ctx("prepare shipment")?
            .query_row(params![tenant.as_str(), tracking], |r| r.get(0))
            .optional()
            .ctx("query shipment")?;
        let Some(order_id) = order_id else {
            return Ok(None);
        };
        drop(c);
        let Some(rec) = self.order(tenant, &order_id)? else {
            return Ok(None);
        };
        Ok(rec
            .view
            .shipments
            .into_iter()
            .find(|s| s.tracking_number == tracking)
            .map(|shipment| ShipmentRecord { order_id, shipment }))
    }

    fn order_for_tracking(
        &self,
        tenant: &TenantId,
        tracking: &str,
    ) -> Result<Option<String>, StoreError> {
        super::documents::order_for_tracking(&*self.lease()?, tenant, tracking)
    }

    fn changes_after(
        &self,
        tenant: &TenantId,
        after: Seq,
        limit: usize,
    ) -> Result<Vec<Change>, StoreError> {
        let c = self.lease()?;
        // By the tenant's own numbering (`changes_tenant_seq`): the global key is not shown.
        let mut stmt = c
            .prepare_cached(
                "SELECT tenant_seq, order_id, body FROM changes
                 WHERE tenant = ?1 AND tenant_seq > ?2 ORDER BY tenant_seq LIMIT ?3",
            )
            .ctx("prepare changes")?;
        let rows: Vec<(i64, String, String)> = stmt
            .query_map(params![tenant.as_str(), after as i64, limit as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .ctx("query changes")?
            .collect::<Result<_, _>>()
            .ctx("read change row")?;
        rows.into_iter()
            .map(|(seq, order_id, body)| {
                super::change_row::decode(&c, seq as Seq, tenant.as_str(), &order_id, &body)
            })
            .collect()
    }

    fn last_seq(&self, tenant: &TenantId) -> Result<Seq, StoreError> {
        let c = self.lease()?;
        let v: i64 = c
            .prepare_cached("SELECT COALESCE(MAX(tenant_seq), 0) FROM changes WHERE tenant = ?1")
            .ctx("prepare last change")?
            .query_row(params![tenant.as_str()], |r| r.get(0))
            .ctx("query last change")?;
        Ok(v.max(0) as Seq)
    }

    fn tracking_token(
        &self,
        tenant: &TenantId,
        order_id: &str,
    ) -> Result<Option<String>, StoreError> {
        super::dashboard_read::tracking_token(&*self.lease()?, tenant, order_id)
    }

    fn tracking_link(&self, token: &str) -> Result<Option<(TenantId, String)>, StoreError> {
        super::dashboard_read::tracking_link(&*self.lease()?, token)
    }
}

impl DocumentReads for SqliteReader {
    fn unmapped(
        &self,
        tenant: &TenantId,
        filter: &UnmappedFilter,
    ) -> Result<Vec<UnmappedRecord>, StoreError> {
        super::documents::unmapped(&*self.lease()?, tenant, filter)
    }

    fn document(&self, tenant: &TenantId, id: i64) -> Result<Option<DocumentRecord>, StoreError> {
        super::documents::document(&*self.lease()?, tenant, id)
    }

    fn rejected(
        &self,
        tenant: &TenantId,
        after: i64,
        limit: usize,
    ) -> Result<Vec<DocumentRecord>, StoreError> {
        super::documents::rejected(&*self.lease()?, tenant, after, limit)
    }

    fn dead_letter_counts(
        &self,
        tenant: Option<&TenantId>,
    ) -> Result<Vec<(String, DeadLetterCount)>, StoreError> {
        super::documents::dead_letter_counts(&*self.lease()?, tenant)
    }
}

impl AlertReads for SqliteReader {
    fn alerts(&self, tenant: &TenantId, q: &AlertQuery) -> Result<Vec<AlertRow>, StoreError> {
        super::alerts::alerts(&*self.lease()?, tenant, q)
    }

    fn alert(&self, tenant: &TenantId, id: i64) -> Result<Option<AlertRow>, StoreError> {
        super::alerts::alert(&*self.lease()?, tenant, id)
    }

    fn alert_by_public_id(
        &self,
        tenant: &TenantId,
        public_id: &str,
    ) -> Result<Option<AlertRow>, StoreError> {
        super::alerts::alert_by_public_id(&*self.lease()?, tenant, public_id)
    }

    fn alert_audit(&self, tenant: &TenantId, id: i64) -> Result<Vec<AuditRow>, StoreError> {
        super::alerts::alert_audit(&*self.lease()?, tenant, id)
    }

    fn alert_counts(&self) -> Result<Vec<(String, String, String, u64)>, StoreError> {
        super::alerts::alert_counts(&*self.lease()?)
    }
}

impl OutboxReads for SqliteReader {
    fn outbox_due(
        &self,
        partition: Partition,
        now: jiff::Timestamp,
        limit: usize,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        super::only_partition(partition)?;
        super::outbox::due(&*self.lease()?, now, limit)
    }

    fn outbox_next_due(&self, partition: Partition) -> Result<Option<jiff::Timestamp>, StoreError> {
        super::only_partition(partition)?;
        super::outbox::next_due(&*self.lease()?)
    }

    fn outbox_row(&self, tenant: &TenantId, id: i64) -> Result<Option<OutboxRow>, StoreError> {
        super::outbox::row(&*self.lease()?, tenant, id)
    }

    fn delivery_entry(
        &self,
        tenant: &TenantId,
        id: i64,
    ) -> Result<Option<DeliveryLogEntry>, StoreError> {
        super::outbox::entry(&*self.lease()?, tenant, id)
    }

    fn delivery_log(
        &self,
        tenant: &TenantId,
        order_id: &str,
    ) -> Result<Vec<DeliveryLogEntry>, StoreError> {
        super::outbox::delivery_log(&*self.lease()?, tenant, order_id)
    }

    fn outbox_dead(
        &self,
        tenant: &TenantId,
        after: i64,
        limit: usize,
    ) -> Result<Vec<DeliveryLogEntry>, StoreError> {
        super::outbox::dead(&*self.lease()?, tenant, after, limit)
    }

    fn outbox_counts(&self) -> Result<Vec<(String, String, u64)>, StoreError> {
        super::outbox::counts(&*self.lease()?)
    }

    fn sms_spent(&self, tenant: &TenantId, day: &str) -> Result<(u64, u64), StoreError> {
        super::outbox::sms_spent(&*self.lease()?, tenant, day)
    }
}

impl NotifyConfigReads for SqliteReader {
    fn endpoints(&self, tenant: &TenantId) -> Result<Vec<EndpointRow>, StoreError> {
        super::notify_config::endpoints(&*self.lease()?, tenant)
    }

    fn endpoint(&self, tenant: &TenantId, id: i64) -> Result<Option<EndpointRow>, StoreError> {
        super::notify_config::endpoint(&*self.lease()?, tenant, id)
    }

    fn subscriptions(&self, tenant: &TenantId) -> Result<Vec<SubscriptionRow>, StoreError> {
        super::notify_config::subscriptions(&*self.lease()?, tenant)
    }

    fn contacts(
        &self,
        tenant: &TenantId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ContactRow>, StoreError> {
        super::notify_config::contacts(&*self.lease()?, tenant, after, limit)
    }

    fn contact_of(
        &self,
        tenant: &TenantId,
        customer_id: &str,
    ) -> Result<Option<ContactRow>, StoreError> {
        super::notify_config::contact(&*self.lease()?, tenant, customer_id)
    }
}

impl DashboardReads for SqliteReader {
    fn dashboard_summary(
        &self,
        tenant: &TenantId,
        filter: &waypost_store::DashboardFilter,
    ) -> Result<waypost_store::DashboardSummary, StoreError> {
        super::dashboard_read::summary(&*self.lease()?, tenant, filter)
    }

    fn map_points(
        &self,
        tenant: &TenantId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<waypost_store::MapPoint>, StoreError> {
        super::dashboard_read::map_points(&*self.lease()?, tenant, after, limit)
    }

    fn warehouses(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<waypost_store::WarehouseRow>, StoreError> {
        super::dashboard_read::warehouses(&*self.lease()?, tenant)
    }

    fn scorecards(
        &self,
        tenant: &TenantId,
        since: jiff::Timestamp,
    ) -> Result<Vec<waypost_store::OutcomeRow>, StoreError> {
        super::dashboard_read::outcomes(&*self.lease()?, tenant, since)
    }
}

impl KeyReads for SqliteReader {
    fn api_key_by_hash(&self, hash: &[u8]) -> Result<Option<ApiKeyRecord>, StoreError> {
        let c = self.lease()?;
        super::keys::by_hash(&c, hash)
    }
}
