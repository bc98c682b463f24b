#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use super::*;
use crate::open_tool;
use jiff::{SignedDuration, Timestamp};

fn t(s: &str) -> TenantId {
    TenantId::new(s).unwrap()
}

fn now() -> Timestamp {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

fn session(user_id: i64, tenant: &str, byte: u8, expires_at: Timestamp) -> NewSession {
    NewSession {
        token_hash: [byte; 32],
        user_id,
        tenant: t(tenant),
        csrf_token: format!("csrf-{byte}"),
        created_at: now(),
        expires_at,
    }
}

#[test]
fn a_user_is_unique_per_tenant_and_email_whatever_its_case() {
    let dir = tempfile::tempdir().unwrap();
    let conn = open_tool(dir.path()).unwrap();
    let id = put_user(
        &conn,
        &t("acme"),
        "Ann@X.io",
        Role::Viewer,
        "h1",
        now(),
        OnExisting::Refuse,
    )
    .unwrap();
    let dup = put_user(
        &conn,
        &t("acme"),
        "ann@x.io",
        Role::Operator,
        "h2",
        now(),
        OnExisting::Refuse,
    );
    assert!(
        matches!(dup, Err(StoreError::Duplicate { what: "user", .. })),
        "{dup:?}"
    );
    // Another tenant may have the same address.
    let other = put_user(
        &conn,
        &t("globex"),
        "ann@x.io",
        Role::Viewer,
        "h3",
        now(),
        OnExisting::Refuse,
    )
    .unwrap();
    assert_ne!(id, other);
    let users = list_users(&conn, &t("acme")).unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].email, "ann@x.io");
    assert_eq!(users[0].role, Role::Viewer);
    assert_eq!(users[0].password_hash, "h1");
}

#[test]
fn sessions_live_until_expiry_logout_disable_or_reset() {
    let dir = tempfile::tempdir().unwrap();
    let conn = open_tool(dir.path()).unwrap();
    let store = SqliteSessions::open(dir.path()).unwrap();
    let acme = t("acme");
    let id = put_user(
        &conn,
        &acme,
        "ops@acme.io",
        Role::Operator,
        "h",
        now(),
        OnExisting::Refuse,
    )
    .unwrap();
    let user = store
        .user_for_login(&acme, " OPS@acme.io")
        .unwrap()
        .unwrap();
    assert_eq!((user.id, user.role), (id, Role::Operator));
    assert!(
        store
            .user_for_login(&t("globex"), "ops@acme.io")
            .unwrap()
            .is_none()
    );

    let later = now() + SignedDuration::from_hours(12);
    store
        .create_session(&session(id, "acme", 1, later))
        .unwrap();
    let s = store.session_by_hash(&[1; 32], now()).unwrap().unwrap();
    assert_eq!(
        (s.tenant.as_str(), s.email.as_str()),
        ("acme", "ops@acme.io")
    );
    assert_eq!(s.csrf_token, "csrf-1");
    // Expired: gone at its expiry instant.
    assert!(store.session_by_hash(&[1; 32], later).unwrap().is_none());
    assert!(store.session_by_hash(&[2; 32], now()).unwrap().is_none());

    // Logout.
    assert!(store.delete_session(&[1; 32]).unwrap());
    assert!(!store.delete_session(&[1; 32]).unwrap());
    assert!(store.session_by_hash(&[1; 32], now()).unwrap().is_none());

    // Disable ends every session of the user, and only its own.
    let other = put_user(
        &conn,
        &acme,
        "viewer@acme.io",
        Role::Viewer,
        "h",
        now(),
        OnExisting::Refuse,
    )
    .unwrap();
    store
        .create_session(&session(id, "acme", 3, later))
        .unwrap();
    store
        .create_session(&session(other, "acme", 4, later))
        .unwrap();
    assert!(disable_user(&conn, &acme, "OPS@acme.io", now()).unwrap());
    assert!(!disable_user(&conn, &acme, "ops@acme.io", now()).unwrap());
    assert!(store.session_by_hash(&[3; 32], now()).unwrap().is_none());
    assert!(store.session_by_hash(&[4; 32], now()).unwrap().is_some());
    let disabled = store.user_for_login(&acme, "ops@acme.io").unwrap().unwrap();
    assert!(disabled.disabled_at.is_some());

    // Reset enables again with the new role and hash and ends the old sessions.
    store
        .create_session(&session(other, "acme", 5, later))
        .unwrap();
    let same = put_user(
        &conn,
        &acme,
        "viewer@acme.io",
        Role::Operator,
        "new",
        now(),
        OnExisting::Reset,
    )
    .unwrap();
    assert_eq!(same, other);
    assert!(store.session_by_hash(&[5; 32], now()).unwrap().is_none());
    let again = put_user(
        &conn,
        &acme,
        "ops@acme.io",
        Role::Viewer,
        "h9",
        now(),
        OnExisting::Reset,
    )
    .unwrap();
    assert_eq!(again, id);
    let u = store.user_for_login(&acme, "ops@acme.io").unwrap().unwrap();
    assert_eq!(
        (u.role, u.password_hash.as_str(), u.disabled_at),
        (Role::Viewer, "h9", None)
    );
}

#[test]
fn logging_in_sweeps_expired_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let conn = open_tool(dir.path()).unwrap();
    let store = SqliteSessions::open(dir.path()).unwrap();
    let id = put_user(
        &conn,
        &t("acme"),
        "a@b.c",
        Role::Viewer,
        "h",
        now(),
        OnExisting::Refuse,
    )
    .unwrap();
    store
        .create_session(&session(id, "acme", 1, now()))
        .unwrap();
    let mut next = session(id, "acme", 2, now() + SignedDuration::from_hours(1));
    next.created_at = now() + SignedDuration::from_secs(1);
    store.create_session(&next).unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
}
