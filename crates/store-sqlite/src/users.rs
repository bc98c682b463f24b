//! Dashboard users and their sessions (`0007_users.sql`). The CLI writes users on a tool
//! connection; the server's logins and logouts go through [`SqliteSessions`], a connection of
//! its own, because the engine's writer thread owns the main one and a login has nothing to do
//! with the event log. WAL and the busy timeout let both write beside the writer.

use super::{connect, db_path, from_ns, migrate, ns, tenant_at};
use crate::SqlContext;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::Mutex;
use waypost_domain::TenantId;
use waypost_store::StoreError;
use waypost_store::{
    NewSession, OnExisting, Role, SessionRecord, SessionStore, UserRecord, normalize_email,
};

const USER_COLUMNS: &str = "id, tenant, email, role, password_hash, created_ns, disabled_ns";

fn user_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        id: r.get(0)?,
        tenant: tenant_at(r, 1)?,
        email: r.get(2)?,
        role: role_at(r, 3)?,
        password_hash: r.get(4)?,
        created_at: from_ns(r.get(5)?),
        disabled_at: r.get::<_, Option<i64>>(6)?.map(from_ns),
    })
}

fn role_at(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Role> {
    let s: String = r.get(i)?;
    Role::parse(&s).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("role {s:?}").into(),
        )
    })
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.code == rusqlite::ErrorCode::ConstraintViolation)
}

/// Creates a user, or (with [`OnExisting::Reset`]) gives an existing one a new role and
/// password, enables it again and ends its sessions. Returns the user's id.
pub fn put_user(
    conn: &Connection,
    tenant: &TenantId,
    email: &str,
    role: Role,
    password_hash: &str,
    now: jiff::Timestamp,
    on_existing: OnExisting,
) -> Result<i64, StoreError> {
    let email = normalize_email(email);
    if email.is_empty() {
        return Err(StoreError::Invalid {
            what: "email",
            detail: "empty".into(),
        });
    }
    let tx = conn.unchecked_transaction().ctx("begin put user")?;
    // One insert; a reset only adds what happens when the user already exists.
    let sql = match on_existing {
        OnExisting::Refuse => {
            "INSERT INTO users (tenant, email, role, password_hash, created_ns)
             VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id"
        }
        OnExisting::Reset => {
            "INSERT INTO users (tenant, email, role, password_hash, created_ns)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (tenant, email) DO UPDATE SET
                 role = excluded.role, password_hash = excluded.password_hash,
                 disabled_ns = NULL
             RETURNING id"
        }
    };
    let id: i64 = tx
        .query_row(
            sql,
            params![
                tenant.as_str(),
                email,
                role.as_str(),
                password_hash,
                ns(now)?
            ],
            |r| r.get(0),
        )
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Duplicate {
                    what: "user",
                    tenant: tenant.to_string(),
                    name: email.clone(),
                }
            } else {
                StoreError::backend("insert user", e)
            }
        })?;
    // A reset password must not leave a session opened with the old one alive.
    tx.execute("DELETE FROM sessions WHERE user_id = ?1", [id])
        .ctx("end the user's sessions")?;
    tx.commit().ctx("commit put user")?;
    Ok(id)
}

/// The users of `tenant`, by email.
pub fn list_users(conn: &Connection, tenant: &TenantId) -> Result<Vec<UserRecord>, StoreError> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant = ?1 ORDER BY email"
        ))
        .ctx("prepare list users")?;
    let rows = stmt
        .query_map([tenant.as_str()], user_row)
        .ctx("query users")?;
    rows.map(|r| r.ctx("read user row")).collect()
}

/// Disables a user and ends its sessions at once. Whether an enabled user was found.
pub fn disable_user(
    conn: &Connection,
    tenant: &TenantId,
    email: &str,
    now: jiff::Timestamp,
) -> Result<bool, StoreError> {
    let email = normalize_email(email);
    let tx = conn.unchecked_transaction().ctx("begin disable user")?;
    let id: Option<i64> = tx
        .query_row(
            "UPDATE users SET disabled_ns = ?3
             WHERE tenant = ?1 AND email = ?2 AND disabled_ns IS NULL RETURNING id",
            params![tenant.as_str(), email, ns(now)?],
            |r| r.get(0),
        )
        .optional()
        .ctx("disable user")?;
    if let Some(id) = id {
        tx.execute("DELETE FROM sessions WHERE user_id = ?1", [id])
            .ctx("end the user's sessions")?;
    }
    tx.commit().ctx("commit disable user")?;
    Ok(id.is_some())
}

/// The server's session connection.
pub struct SqliteSessions {
    // A std mutex: every call runs on the blocking pool and holds it for one short statement.
    conn: Mutex<Connection>,
}

impl SqliteSessions {
    /// Opens a connection of its own to the store in `data_dir` (migrating it if needed).
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let mut conn = connect(&db_path(data_dir), super::Durability::Full)?;
        migrate(&mut conn)?;
        Ok(SqliteSessions {
            conn: Mutex::new(conn),
        })
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&conn)
    }
}

impl SessionStore for SqliteSessions {
    fn user_for_login(
        &self,
        tenant: &TenantId,
        email: &str,
    ) -> Result<Option<UserRecord>, StoreError> {
        let email = normalize_email(email);
        self.with(|c| {
            c.prepare_cached(&format!(
                "SELECT {USER_COLUMNS} FROM users WHERE tenant = ?1 AND email = ?2"
            ))
            .ctx("prepare user lookup")?
            .query_row(params![tenant.as_str(), email], user_row)
            .optional()
            .ctx("query user")
        })
    }

    fn create_session(&self, s: &NewSession) -> Result<(), StoreError> {
        let created = ns(s.created_at)?;
        let expires = ns(s.expires_at)?;
        self.with(|c| {
            let tx = c.unchecked_transaction().ctx("begin create session")?;
            tx.execute("DELETE FROM sessions WHERE expires_ns <= ?1", [created])
                .ctx("sweep expired sessions")?;
            tx.execute(
                "INSERT INTO sessions (token_hash, user_id, tenant, csrf_token, created_ns, expires_ns)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    &s.token_hash[..],
                    s.user_id,
                    s.tenant.as_str(),
                    s.csrf_token,
                    created,
                    expires
                ],
            )
            .ctx("insert session")?;
            tx.commit().ctx("commit create session")
        })
    }

    fn session_by_hash(
        &self,
        token_hash: &[u8; 32],
        now: jiff::Timestamp,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let now = ns(now)?;
        self.with(|c| {
            c.prepare_cached(
                "SELECT s.user_id, s.tenant, u.email, u.role, s.csrf_token, s.expires_ns
                 FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.token_hash = ?1 AND s.expires_ns > ?2 AND u.disabled_ns IS NULL
                   AND u.tenant = s.tenant",
            )
            .ctx("prepare session lookup")?
            .query_row(params![&token_hash[..], now], |r| {
                Ok(SessionRecord {
                    user_id: r.get(0)?,
                    tenant: tenant_at(r, 1)?,
                    email: r.get(2)?,
                    role: role_at(r, 3)?,
                    csrf_token: r.get(4)?,
                    expires_at: from_ns(r.get(5)?),
                })
            })
            .optional()
            .ctx("query session")
        })
    }

    fn delete_session(&self, token_hash: &[u8; 32]) -> Result<bool, StoreError> {
        self.with(|c| {
            c.execute(
                "DELETE FROM sessions WHERE token_hash = ?1",
                [&token_hash[..]],
            )
            .map(|n| n == 1)
            .ctx("delete session")
        })
    }
}

#[cfg(test)]
mod tests;
