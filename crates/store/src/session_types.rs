//! What the store keeps for dashboard logins (in SQLite, `crates/store-sqlite/migrations/0007_users.sql`): users of a tenant
//! with a role and a password hash, and the sessions their browsers hold.
//!
//! Login and logout are rare writes, made on a connection of their own ([`SessionStore`]), not
//! through the engine's writer thread: a session has nothing to do with the event log.

use crate::{Scope, StoreError};
use jiff::Timestamp;
use waypost_domain::TenantId;

/// What a dashboard user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Reads everything of the tenant; changes nothing.
    Viewer,
    /// Reads, and acts on alerts.
    Operator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s.trim() {
            "viewer" => Some(Role::Viewer),
            "operator" => Some(Role::Operator),
            _ => None,
        }
    }

    /// The API scopes a session of this role carries (never `admin`: that stays API keys only).
    pub fn scopes(self) -> Vec<Scope> {
        match self {
            Role::Viewer => vec![Scope::Read],
            Role::Operator => vec![Scope::Read, Scope::Operate],
        }
    }
}

/// A stored user.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub id: i64,
    pub tenant: TenantId,
    /// Lower-cased.
    pub email: String,
    pub role: Role,
    /// The argon2id PHC string.
    pub password_hash: String,
    pub created_at: Timestamp,
    pub disabled_at: Option<Timestamp>,
}

/// What `put_user` does when the user already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnExisting {
    /// Refuse with [`StoreError::Duplicate`].
    Refuse,
    /// Set the new role and password, enable the user again and end its sessions.
    Reset,
}

/// A session to store at login.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// SHA-256 of the cookie's value.
    pub token_hash: [u8; 32],
    pub user_id: i64,
    pub tenant: TenantId,
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A live session with its user, as a request presenting the cookie sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    pub user_id: i64,
    pub tenant: TenantId,
    pub email: String,
    pub role: Role,
    pub csrf_token: String,
    pub expires_at: Timestamp,
}

/// The reads and writes the API makes for logins. Implementations are blocking: callers run
/// them on the blocking pool.
pub trait SessionStore: Send + Sync {
    /// The user `email` (compared lower-cased) of `tenant`, disabled or not.
    fn user_for_login(
        &self,
        tenant: &TenantId,
        email: &str,
    ) -> Result<Option<UserRecord>, StoreError>;
    /// Stores a session; expired sessions are swept on the way.
    fn create_session(&self, session: &NewSession) -> Result<(), StoreError>;
    /// The session with this hash, if it exists, has not expired at `now` and its user is not
    /// disabled.
    fn session_by_hash(
        &self,
        token_hash: &[u8; 32],
        now: Timestamp,
    ) -> Result<Option<SessionRecord>, StoreError>;
    /// Deletes a session; whether it existed.
    fn delete_session(&self, token_hash: &[u8; 32]) -> Result<bool, StoreError>;
}

/// The stored form of an email: trimmed and lower-cased.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_never_carry_admin() {
        for r in [Role::Viewer, Role::Operator] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
            assert!(!r.scopes().contains(&Scope::Admin));
            assert!(r.scopes().contains(&Scope::Read));
        }
        assert!(!Role::Viewer.scopes().contains(&Scope::Operate));
        assert!(Role::Operator.scopes().contains(&Scope::Operate));
        assert_eq!(Role::parse("admin"), None);
    }

    #[test]
    fn emails_are_compared_lower_cased() {
        assert_eq!(normalize_email("  Ops@Demo.Example "), "ops@demo.example");
    }
}
