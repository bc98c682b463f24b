//! `waypost_store::Backend` for the embedded store: everything the binary needs, opened from a
//! data folder.

use crate::{SqliteReader, SqliteSessions, SqliteWriter, db_path, open, open_tool};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use waypost_domain::TenantId;
use waypost_store::*;

/// The embedded store in a data folder (`waypost.db` in it).
#[derive(Debug, Clone)]
pub struct Sqlite {
    data_dir: PathBuf,
    durability: Durability,
}

impl Sqlite {
    pub fn new(data_dir: impl Into<PathBuf>, durability: Durability) -> Sqlite {
        Sqlite {
            data_dir: data_dir.into(),
            durability,
        }
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The writer and reader as their own types (tests and benchmarks that want them unboxed).
    pub fn open_typed(&self) -> Result<(SqliteWriter, SqliteReader), StoreError> {
        open(&self.data_dir, self.durability)
    }
}

impl Backend for Sqlite {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn open(&self) -> Result<Opened, StoreError> {
        let (w, r) = self.open_typed()?;
        Ok((Box::new(w), Arc::new(r)))
    }

    fn sessions(&self) -> Result<Arc<dyn SessionStore>, StoreError> {
        Ok(Arc::new(SqliteSessions::open(&self.data_dir)?))
    }

    fn admin(&self) -> Result<Box<dyn Admin>, StoreError> {
        Ok(Box::new(SqliteAdmin {
            conn: open_tool(&self.data_dir)?,
        }))
    }

    fn exists(&self) -> bool {
        db_path(&self.data_dir).exists()
    }

    fn order_book(&self) -> Result<OpenedBook, StoreError> {
        let (w, r) = crate::order_book::open_book(&self.data_dir, self.durability)?;
        Ok((Box::new(w), Arc::new(r)))
    }

    fn replay_check(
        &self,
        progress: &mut dyn FnMut(&ReplayProgress),
    ) -> Result<ReplayReport, StoreError> {
        crate::replay_check_with(&open_tool(&self.data_dir)?, progress)
    }
}

/// Keys and users on a connection of their own.
pub struct SqliteAdmin {
    conn: Connection,
}

impl Admin for SqliteAdmin {
    fn create_key(
        &self,
        id: &str,
        tenant: &TenantId,
        scopes: &[Scope],
        hash: &[u8],
        label: Option<&str>,
        now: jiff::Timestamp,
    ) -> Result<(), StoreError> {
        crate::keys::create_key(&self.conn, id, tenant, scopes, hash, label, now)
    }

    fn revoke_key(&self, id: &str, now: jiff::Timestamp) -> Result<bool, StoreError> {
        crate::keys::revoke_key(&self.conn, id, now)
    }

    fn list_keys(&self, tenant: Option<&TenantId>) -> Result<Vec<ApiKeyRecord>, StoreError> {
        crate::keys::list_keys(&self.conn, tenant)
    }

    fn put_user(
        &self,
        tenant: &TenantId,
        email: &str,
        role: Role,
        password_hash: &str,
        now: jiff::Timestamp,
        on_existing: OnExisting,
    ) -> Result<i64, StoreError> {
        crate::users::put_user(
            &self.conn,
            tenant,
            email,
            role,
            password_hash,
            now,
            on_existing,
        )
    }

    fn disable_user(
        &self,
        tenant: &TenantId,
        email: &str,
        now: jiff::Timestamp,
    ) -> Result<bool, StoreError> {
        crate::users::disable_user(&self.conn, tenant, email, now)
    }

    fn list_users(&self, tenant: &TenantId) -> Result<Vec<UserRecord>, StoreError> {
        crate::users::list_users(&self.conn, tenant)
    }
}
