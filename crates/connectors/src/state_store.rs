//! Where connectors keep what lets a restart resume: a feed's cursor and ETag. Small values,
//! written rarely (once per accepted page), so a file per connector is plenty.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("connector state {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("connector state {path} is not a JSON object of strings: {source}")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("connector name {0:?} cannot name a state file")]
    BadName(String),
}

/// Values by connector and key. Blocking: the runtime calls it on the blocking pool.
pub trait StateStore: Send + Sync + 'static {
    fn load(&self, connector: &str, key: &str) -> Result<Option<String>, StateError>;
    /// Durable on return.
    fn save(&self, connector: &str, key: &str, value: &str) -> Result<(), StateError>;
}

/// One JSON object per connector, `<dir>/<connector>.json`, replaced whole by write, fsync,
/// rename: a crash leaves the old file or the new one, never half of one.
#[derive(Debug)]
pub struct FileStateStore {
    dir: PathBuf,
    /// Serializes read-modify-write of a file between connectors' tasks. A std mutex: held only
    /// around blocking file calls on the blocking pool, never across an await.
    lock: Mutex<()>,
}

impl FileStateStore {
    /// Creates `dir` if needed.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, StateError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|source| StateError::Io {
            path: dir.clone(),
            source,
        })?;
        Ok(Self {
            dir,
            lock: Mutex::new(()),
        })
    }

    fn path(&self, connector: &str) -> Result<PathBuf, StateError> {
        // Connector names are validated slugs; refuse anything else rather than build a path
        // out of it.
        let ok = !connector.is_empty()
            && !connector.starts_with('.')
            && connector
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !ok {
            return Err(StateError::BadName(connector.to_owned()));
        }
        Ok(self.dir.join(format!("{connector}.json")))
    }

    fn read(path: &Path) -> Result<BTreeMap<String, String>, StateError> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| StateError::Corrupt {
                path: path.to_owned(),
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(source) => Err(StateError::Io {
                path: path.to_owned(),
                source,
            }),
        }
    }
}

impl StateStore for FileStateStore {
    fn load(&self, connector: &str, key: &str) -> Result<Option<String>, StateError> {
        let path = self.path(connector)?;
        let _g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        Ok(Self::read(&path)?.remove(key))
    }

    fn save(&self, connector: &str, key: &str, value: &str) -> Result<(), StateError> {
        use std::io::Write;
        let path = self.path(connector)?;
        let _g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut all = Self::read(&path)?;
        all.insert(key.to_owned(), value.to_owned());
        let tmp = path.with_extension("json.tmp");
        let io = |source| StateError::Io {
            path: tmp.clone(),
            source,
        };
        let text = serde_json::to_vec_pretty(&all).map_err(|source| StateError::Corrupt {
            path: path.clone(),
            source,
        })?;
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&text).map_err(io)?;
        f.sync_all().map_err(io)?;
        drop(f);
        std::fs::rename(&tmp, &path).map_err(|source| StateError::Io {
            path: path.clone(),
            source,
        })?;
        // The rename is durable only once the directory is; best effort where a directory
        // cannot be opened for sync.
        if let Ok(d) = std::fs::File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

/// Keeps values in memory: for tests, and for deployments that accept a restart from scratch.
#[derive(Debug, Default)]
pub struct MemoryStateStore {
    /// A std mutex: tiny critical sections, never held across an await.
    values: Mutex<BTreeMap<(String, String), String>>,
}

impl StateStore for MemoryStateStore {
    fn load(&self, connector: &str, key: &str) -> Result<Option<String>, StateError> {
        let v = self.values.lock().unwrap_or_else(|p| p.into_inner());
        Ok(v.get(&(connector.to_owned(), key.to_owned())).cloned())
    }
    fn save(&self, connector: &str, key: &str, value: &str) -> Result<(), StateError> {
        let mut v = self.values.lock().unwrap_or_else(|p| p.into_inner());
        v.insert((connector.to_owned(), key.to_owned()), value.to_owned());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_store_round_trips_and_survives_reopen() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let s = FileStateStore::open(dir.path().join("state")).expect("opens");
        assert_eq!(s.load("wms-acme", "feed").expect("reads"), None);
        s.save("wms-acme", "feed", "{\"cursor\":\"c1\"}")
            .expect("saves");
        s.save("wms-acme", "other", "x").expect("saves");
        s.save("wms-beta", "feed", "b").expect("saves");
        let s = FileStateStore::open(dir.path().join("state")).expect("reopens");
        assert_eq!(
            s.load("wms-acme", "feed").expect("reads").as_deref(),
            Some("{\"cursor\":\"c1\"}")
        );
        assert_eq!(
            s.load("wms-beta", "feed").expect("reads").as_deref(),
            Some("b")
        );
        assert!(!dir.path().join("state/wms-acme.json.tmp").exists());
    }

    #[test]
    fn bad_names_and_corrupt_files_are_errors_naming_them() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let s = FileStateStore::open(dir.path()).expect("opens");
        assert!(matches!(
            s.save("../x", "k", "v"),
            Err(StateError::BadName(_))
        ));
        std::fs::write(dir.path().join("w.json"), "not json").expect("writes");
        let e = s.load("w", "k").expect_err("corrupt");
        assert!(e.to_string().contains("w.json"), "{e}");
    }
}
