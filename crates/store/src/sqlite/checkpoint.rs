//! Background WAL checkpoints. The writer runs with autocheckpoint off; this thread copies the
//! WAL back into the database on its own connection, so the fsync of the database file never
//! stalls a commit.

use super::{Durability, connect};
use crate::types::{SqlContext, StoreError};
use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

pub(crate) struct Checkpointer {
    /// Dropping it wakes the thread at once: a closed channel ends the wait.
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// A WAL past this many pages is checkpointed with TRUNCATE, so it cannot grow without bound
/// while readers keep passive checkpoints from finishing.
const TRUNCATE_PAGES: i64 = 32_768;

impl Checkpointer {
    pub(crate) fn start(path: &Path, durability: Durability) -> Result<Self, StoreError> {
        let conn = connect(path, durability)?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("waypost-checkpoint".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(Duration::from_millis(250))
                {
                    let pages: Result<(i64, i64, i64), _> = conn
                        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                        })
                        .ctx("checkpoint");
                    match pages {
                        Ok((_, log, _)) if log > TRUNCATE_PAGES => {
                            if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)") {
                                tracing::warn!(error = %e, "wal truncate failed");
                            }
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "checkpoint failed"),
                    }
                }
                // A last full checkpoint leaves a small WAL behind for the next start.
                let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
            })
            .map_err(|e| StoreError::Open {
                path: path.display().to_string(),
                source: rusqlite::Error::ToSqlConversionFailure(Box::new(e)),
            })?;
        Ok(Checkpointer {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
