//! The embedded backend: one SQLite file in WAL mode. One writer connection owned by the
//! pipeline thread (SQLite serializes writers anyway; one owner makes group commit natural), and
//! a small pool of reader connections that WAL lets run beside it.

mod alerts;
mod apply;
mod change_row;
mod dashboard;
mod dashboard_read;
mod documents;
mod facts;
mod keys;
mod notify_config;
mod order_book;
mod order_book_read;
mod outbox;
mod read;
mod replay;
mod state_codec;
mod users;
mod write;

pub use backend::{Sqlite, SqliteAdmin};
mod backend;

/// `.ctx(op)` on a rusqlite result: the failure as a [`StoreError`] naming what was being done.
pub(crate) trait SqlContext<T> {
    fn ctx(self, op: &'static str) -> Result<T, StoreError>;
}
impl<T> SqlContext<T> for Result<T, rusqlite::Error> {
    fn ctx(self, op: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::backend(op, source))
    }
}

pub use order_book::{BookReader, BookWriter};
pub use read::SqliteReader;
pub use replay::{replay_check, replay_check_with};
pub use users::SqliteSessions;
pub use write::SqliteWriter;

use rusqlite::Connection;
use std::path::{Path, PathBuf};
use waypost_store::{Durability, Partition, StoreError};

const MIGRATIONS: &[(u32, &str)] = &[
    (1, include_str!("../migrations/0001_init.sql")),
    (2, include_str!("../migrations/0002_documents.sql")),
    (3, include_str!("../migrations/0003_dead_letters.sql")),
    (4, include_str!("../migrations/0004_alerts.sql")),
    (5, include_str!("../migrations/0005_order_attrs.sql")),
    (6, include_str!("../migrations/0006_notify.sql")),
    (7, include_str!("../migrations/0007_users.sql")),
    (8, include_str!("../migrations/0008_dashboard.sql")),
    (9, include_str!("../migrations/0009_proposals.sql")),
    (10, include_str!("../migrations/0010_tenancy.sql")),
    (11, include_str!("../migrations/0011_transit_times.sql")),
];

/// The embedded store has one partition: every order is in partition 0.
pub(crate) fn only_partition(partition: Partition) -> Result<(), StoreError> {
    if partition == Partition(0) {
        Ok(())
    } else {
        Err(StoreError::Invalid {
            what: "partition",
            detail: format!(
                "the embedded SQLite store has one partition (0), not {}; \
                 run several partitions on the PostgreSQL backend",
                partition.0
            ),
        })
    }
}

pub fn db_path(data_dir: &Path) -> PathBuf {
    data_dir.join("waypost.db")
}

pub(crate) fn connect(path: &Path, durability: Durability) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(|source| StoreError::Open {
        path: path.display().to_string(),
        source: source.into(),
    })?;
    let sync = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = {sync};
         PRAGMA busy_timeout = 10000;
         PRAGMA cache_size = -65536;
         PRAGMA temp_store = MEMORY;"
    ))
    .ctx("pragmas")?;
    // rusqlite keeps 16 prepared statements by default (LRU); the store has about 80 distinct
    // ones, and a writer round runs append, apply (with the outbox), the rules commit and the
    // dispatcher's marks in turn: at 16 each round would re-prepare what the last one evicted.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// Prepared statements kept per connection: more than the store has.
const STATEMENT_CACHE: usize = 128;

/// WAL size, in 4 KiB pages, at which the writer checkpoints.
const WAL_CHECKPOINT_PAGES: i64 = 16_384;

/// The WAL file's size kept on disk after a checkpoint: twice the checkpoint threshold, so a
/// normal round never truncates and regrows it.
const WAL_SIZE_LIMIT_BYTES: i64 = 2 * WAL_CHECKPOINT_PAGES * 4096;

/// Opens (creating if needed) the store in `data_dir` and brings its schema up to date.
pub fn open(
    data_dir: &Path,
    durability: Durability,
) -> Result<(SqliteWriter, SqliteReader), StoreError> {
    std::fs::create_dir_all(data_dir).map_err(|e| StoreError::Open {
        path: data_dir.display().to_string(),
        source: e.into(),
    })?;
    let path = db_path(data_dir);
    let mut conn = connect(&path, durability)?;
    migrate(&mut conn)?;
    // Transit times first: the dashboard backfill's outcomes read them from the states.
    dashboard::backfill_transit_times(&mut conn)?;
    dashboard::backfill(&mut conn)?;
    // WAL checkpoints stay inline on the writer (SQLite's autocheckpoint). A checkpointer thread
    // was measured and was worse: its checkpoint holds a WAL lock through the database fsync,
    // and the writer then sleeps in SQLite's busy handler (p99 241 ms against 38 ms inline).
    // A checkpoint copies every page written since the last one into the database and fsyncs
    // it. At SQLite's default (1000 pages) a busy writer checkpointed after nearly every commit,
    // copying the same hot pages (b-tree tails, the meta row) again each time; a 64 MiB WAL
    // lets one checkpoint absorb many commits' rewrites of them (measured: +15 % events/s).
    conn.pragma_update(None, "wal_autocheckpoint", WAL_CHECKPOINT_PAGES)
        .ctx("wal_autocheckpoint")?;
    // A long reader (`waypost verify` beside a live server holds one snapshot for its whole
    // run) keeps the WAL from being recycled, so it grows by everything written meanwhile
    // (4.4 GB in a 74 s verify of 10 million events under full load). SQLite reuses the file
    // but never shrinks it unless told: past this size it is truncated back at the next
    // checkpoint that resets it.
    conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT_BYTES)
        .ctx("journal_size_limit")?;
    let reader = SqliteReader::open(&path, 4)?;
    Ok((SqliteWriter::new(conn, &path, durability)?, reader))
}

/// Opens a connection for a one-off tool (keys, replay check) next to a possibly running server.
pub fn open_tool(data_dir: &Path) -> Result<Connection, StoreError> {
    std::fs::create_dir_all(data_dir).map_err(|e| StoreError::Open {
        path: data_dir.display().to_string(),
        source: e.into(),
    })?;
    let mut conn = connect(&db_path(data_dir), Durability::Full)?;
    migrate(&mut conn)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    migrate_with(conn, MIGRATIONS)
}

/// Applies the migrations of `list` not yet recorded in the file's `schema_migrations`.
pub(crate) fn migrate_with(conn: &mut Connection, list: &[(u32, &str)]) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
    )
    .ctx("create schema_migrations")?;
    for (version, sql) in list {
        // IMMEDIATE takes the write lock first, so two processes opening a fresh store at once
        // cannot both run a migration.
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .ctx("begin migration")?;
        let done: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?1)",
                [version],
                |r| r.get(0),
            )
            .ctx("read schema_migrations")?;
        if !done {
            tx.execute_batch(sql)
                .map_err(|source| StoreError::Migration {
                    version: *version,
                    source: source.into(),
                })?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, datetime('now'))",
                [version],
            )
            .ctx("record migration")?;
        }
        tx.commit().ctx("commit migration")?;
    }
    Ok(())
}

pub(crate) fn ns(t: jiff::Timestamp) -> Result<i64, StoreError> {
    i64::try_from(t.as_nanosecond()).map_err(|_| StoreError::Range {
        what: "timestamp",
        detail: t.to_string(),
    })
}

pub(crate) fn from_ns(n: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_nanosecond(i128::from(n)).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// The six columns of [`waypost_store::event_body::COLUMNS`], starting at column `first`.
pub(crate) fn event_columns(
    r: &rusqlite::Row<'_>,
    first: usize,
) -> rusqlite::Result<waypost_store::event_body::Columns> {
    Ok(waypost_store::event_body::Columns {
        source: r.get(first)?,
        event_id: r.get(first + 1)?,
        order_id: r.get(first + 2)?,
        track: r.get(first + 3)?,
        status: r.get(first + 4)?,
        body: r.get(first + 5)?,
    })
}

/// A column that holds bytes, stored as a BLOB or (by earlier versions) as TEXT.
pub(crate) fn bytes_of(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Vec<u8>> {
    use rusqlite::types::{FromSqlError, ValueRef};
    match r.get_ref(i)? {
        ValueRef::Blob(b) | ValueRef::Text(b) => Ok(b.to_vec()),
        other => Err(rusqlite::Error::FromSqlConversionFailure(
            i,
            other.data_type(),
            Box::new(FromSqlError::InvalidType),
        )),
    }
}

pub(crate) fn corrupt(what: &'static str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        what,
        detail: e.to_string(),
    }
}

/// A tenant read back from a row; a malformed one is a conversion failure of that column.
pub(crate) fn tenant_at(
    r: &rusqlite::Row<'_>,
    i: usize,
) -> rusqlite::Result<waypost_domain::TenantId> {
    waypost_domain::TenantId::from_string(r.get(i)?).map_err(|(e, s)| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("tenant {s:?}: {e}").into(),
        )
    })
}
