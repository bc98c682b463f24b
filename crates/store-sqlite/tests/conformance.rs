//! The store contract's conformance suite (`waypost-store-testkit`) against the embedded store.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use waypost_store::Durability;
use waypost_store_sqlite::Sqlite;
use waypost_store_testkit::Store;

fn sqlite() -> Store {
    let dir = tempfile::tempdir().unwrap();
    let backend = Sqlite::new(dir.path(), Durability::Normal);
    Store::open(Box::new(backend), Box::new(dir))
}

waypost_store_testkit::suite!(sqlite);
