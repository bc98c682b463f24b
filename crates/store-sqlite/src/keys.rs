//! API keys. Only a SHA-256 of each key is stored: keys are 256-bit random secrets, so a fast
//! hash is enough (a slow password hash would cost milliseconds on every request).

use super::{corrupt, from_ns, ns};
use crate::SqlContext;
use rusqlite::{Connection, OptionalExtension, params};
use waypost_domain::TenantId;
use waypost_store::*;

pub fn create_key(
    conn: &Connection,
    id: &str,
    tenant: &TenantId,
    scopes: &[Scope],
    hash: &[u8],
    label: Option<&str>,
    now: jiff::Timestamp,
) -> Result<(), StoreError> {
    let scopes: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    conn.execute(
        "INSERT INTO api_keys (id, tenant, scopes, hash, label, created_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![id, tenant.as_str(), scopes.join(","), hash, label, ns(now)?],
    )
    .ctx("insert api key")?;
    Ok(())
}

pub fn revoke_key(conn: &Connection, id: &str, now: jiff::Timestamp) -> Result<bool, StoreError> {
    let n = conn
        .execute(
            "UPDATE api_keys SET revoked_ns = ?2 WHERE id = ?1 AND revoked_ns IS NULL",
            params![id, ns(now)?],
        )
        .ctx("revoke api key")?;
    Ok(n == 1)
}

type KeyRow = (String, String, String, Option<String>, i64, Option<i64>);

fn to_record(row: KeyRow) -> Result<ApiKeyRecord, StoreError> {
    let (id, tenant, scopes, label, created, revoked) = row;
    Ok(ApiKeyRecord {
        id,
        tenant: TenantId::new(tenant).map_err(|e| corrupt("api key tenant", e))?,
        scopes: scopes.split(',').filter_map(Scope::parse).collect(),
        label,
        created_at: from_ns(created),
        revoked: revoked.is_some(),
    })
}

fn key_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

pub(crate) fn by_hash(conn: &Connection, hash: &[u8]) -> Result<Option<ApiKeyRecord>, StoreError> {
    let row = conn
        .prepare_cached("SELECT id, tenant, scopes, label, created_ns, revoked_ns FROM api_keys WHERE hash = ?1")
        .ctx("prepare key lookup")?
        .query_row([hash], key_row)
        .optional()
        .ctx("query key")?;
    row.map(to_record).transpose()
}

pub fn list_keys(
    conn: &Connection,
    tenant: Option<&TenantId>,
) -> Result<Vec<ApiKeyRecord>, StoreError> {
    let mut stmt = conn
        .prepare(
            "SELECT id, tenant, scopes, label, created_ns, revoked_ns FROM api_keys
             WHERE ?1 IS NULL OR tenant = ?1 ORDER BY created_ns",
        )
        .ctx("prepare list keys")?;
    let rows = stmt
        .query_map([tenant.map(|t| t.as_str())], key_row)
        .ctx("query keys")?;
    let mut out = Vec::new();
    for row in rows {
        out.push(to_record(row.ctx("read key row")?)?);
    }
    Ok(out)
}
