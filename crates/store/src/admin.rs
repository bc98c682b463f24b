//! The rare, out-of-band writes an operator makes with the command line (API keys, users) and
//! the reads a request makes to authenticate. None of it goes through the engine's writer: it
//! has nothing to do with the event log.

use crate::*;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use waypost_domain::TenantId;

/// How a request's API key is found.
pub trait KeyReads: Send + Sync {
    /// The key whose SHA-256 is `hash`, revoked or not.
    fn api_key_by_hash(&self, hash: &[u8]) -> Result<Option<ApiKeyRecord>, StoreError>;
}

/// Keys and users, for the command line beside a possibly running server.
pub trait Admin: Send {
    /// Stores a new key; only its SHA-256 (`hash`) is kept.
    #[allow(clippy::too_many_arguments)]
    fn create_key(
        &self,
        id: &str,
        tenant: &TenantId,
        scopes: &[Scope],
        hash: &[u8],
        label: Option<&str>,
        now: Timestamp,
    ) -> Result<(), StoreError>;
    /// Revokes a key; false when there is no such key or it was already revoked.
    fn revoke_key(&self, id: &str, now: Timestamp) -> Result<bool, StoreError>;
    /// Keys of one tenant, or of all when `tenant` is `None`.
    fn list_keys(&self, tenant: Option<&TenantId>) -> Result<Vec<ApiKeyRecord>, StoreError>;
    /// Creates a user, or does what `on_existing` says when the email is taken; the user's id.
    #[allow(clippy::too_many_arguments)]
    fn put_user(
        &self,
        tenant: &TenantId,
        email: &str,
        role: Role,
        password_hash: &str,
        now: Timestamp,
        on_existing: OnExisting,
    ) -> Result<i64, StoreError>;
    /// Disables a user and ends its sessions; false when there is no such user.
    fn disable_user(
        &self,
        tenant: &TenantId,
        email: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    fn list_users(&self, tenant: &TenantId) -> Result<Vec<UserRecord>, StoreError>;
}

/// How far a replay check has come, reported every few thousand orders and at the end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayProgress {
    /// Orders of the projection compared so far.
    pub orders_done: u64,
    /// Orders in the projection (as of the check's snapshot).
    pub orders_total: u64,
    /// Applied events replayed so far.
    pub events: u64,
}

/// Mismatches a replay check names in its report; past it they are only counted, so a
/// projection that is wrong everywhere still gives a report of bounded size.
pub const MAX_LISTED_MISMATCHES: usize = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Ingest,
    Read,
    /// Act on alerts (ack, assign, snooze, resolve): the review desk, without the power to
    /// replay documents or reload the configuration that `Admin` has.
    Operate,
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ingest => "ingest",
            Scope::Read => "read",
            Scope::Operate => "operate",
            Scope::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Scope> {
        match s.trim() {
            "ingest" => Some(Scope::Ingest),
            "read" => Some(Scope::Read),
            "operate" => Some(Scope::Operate),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ApiKeyRecord {
    pub id: String,
    pub tenant: TenantId,
    pub scopes: Vec<Scope>,
    pub label: Option<String>,
    pub created_at: Timestamp,
    pub revoked: bool,
}

/// What a replay of the whole log says about the stored projection.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReplayReport {
    pub events: u64,
    pub orders: u64,
    pub applied_seq: Seq,
    pub last_seq: Seq,
    /// Every order that differs, counted.
    pub mismatched: u64,
    /// The first of them named (at most [`MAX_LISTED_MISMATCHES`]), so that a store that
    /// differs everywhere still gives a report of bounded size.
    pub mismatches: Vec<String>,
}

impl ReplayReport {
    /// Counts a mismatch, and names it while the list is shorter than
    /// [`MAX_LISTED_MISMATCHES`].
    pub fn note_mismatch(&mut self, mismatch: String) {
        self.mismatched += 1;
        if self.mismatches.len() < crate::MAX_LISTED_MISMATCHES {
            self.mismatches.push(mismatch);
        }
    }
}
