//! Where notifications go and whom they may reach (`migrations/0006_notify.sql`): endpoints,
//! subscriptions and contacts. Names are unique per tenant; a subscription only ever points at
//! an endpoint of its own tenant; deleting an endpoint takes its subscriptions with it and
//! skips its pending notifications, in one transaction.

use super::{corrupt, from_ns, ns, tenant_at};
use crate::SqlContext;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use waypost_domain::TenantId;
use waypost_store::*;
use waypost_store::{ContactRow, EndpointRow, SubscriptionRow};

/// Channel kinds an endpoint has and a contact may opt out of.
const KINDS: [&str; 3] = ["webhook", "email", "sms"];

const ENDPOINT_COLS: &str =
    "id, tenant, name, kind, spec, enabled, disabled_reason, created_ns, updated_ns";
const SUBSCRIPTION_COLS: &str =
    "id, tenant, name, endpoint_id, triggers, filter, enabled, created_ns";
const CONTACT_COLS: &str = "tenant, customer_id, email, phone, locale, opted_out, updated_ns";

fn endpoint_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<EndpointRow> {
    Ok(EndpointRow {
        id: r.get(0)?,
        tenant: tenant_at(r, 1)?,
        name: r.get(2)?,
        kind: r.get(3)?,
        spec: r.get(4)?,
        enabled: r.get(5)?,
        disabled_reason: r.get(6)?,
        created_at: from_ns(r.get(7)?),
        updated_at: from_ns(r.get(8)?),
    })
}

fn subscription_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SubscriptionRow> {
    Ok(SubscriptionRow {
        id: r.get(0)?,
        tenant: tenant_at(r, 1)?,
        name: r.get(2)?,
        endpoint_id: r.get(3)?,
        triggers: r.get(4)?,
        filter: r.get(5)?,
        enabled: r.get(6)?,
        created_at: from_ns(r.get(7)?),
    })
}

/// A contact with its opt-outs still as stored JSON (parsed by [`contact_of_raw`]).
fn contact_raw(r: &rusqlite::Row<'_>) -> rusqlite::Result<(ContactRow, String)> {
    Ok((
        ContactRow {
            tenant: tenant_at(r, 0)?,
            customer_id: r.get(1)?,
            email: r.get(2)?,
            phone: r.get(3)?,
            locale: r.get(4)?,
            opted_out: Vec::new(),
            updated_at: from_ns(r.get(6)?),
        },
        r.get(5)?,
    ))
}

fn contact_of_raw((mut c, opted_out): (ContactRow, String)) -> Result<ContactRow, StoreError> {
    c.opted_out = serde_json::from_str(&opted_out).map_err(|e| {
        corrupt(
            "contact opt-outs",
            format!("{}/{}: {e}", c.tenant, c.customer_id),
        )
    })?;
    Ok(c)
}

fn invalid(what: &'static str, detail: String) -> StoreError {
    StoreError::Invalid { what, detail }
}

fn check_name(what: &'static str, name: &str) -> Result<(), StoreError> {
    if name.trim().is_empty() {
        return Err(invalid(what, "the name is empty".into()));
    }
    Ok(())
}

/// JSON the store keeps without reading must at least be JSON of the expected shape.
fn check_json(what: &'static str, text: &str, want_array: bool) -> Result<(), StoreError> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| invalid(what, format!("not JSON: {e}")))?;
    let ok = if want_array {
        v.is_array()
    } else {
        v.is_object()
    };
    if !ok {
        let shape = if want_array { "an array" } else { "an object" };
        return Err(invalid(what, format!("{text} is not {shape}")));
    }
    Ok(())
}

/// A unique-name violation as [`StoreError::Duplicate`]; any other error as itself.
fn named(
    e: rusqlite::Error,
    what: &'static str,
    tenant: &TenantId,
    name: &str,
    op: &'static str,
) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
        {
            StoreError::Duplicate {
                what,
                tenant: tenant.to_string(),
                name: name.to_string(),
            }
        }
        _ => StoreError::backend(op, e),
    }
}

fn not_found(what: &'static str, tenant: &TenantId, id: i64) -> StoreError {
    StoreError::NotFound {
        what,
        tenant: tenant.to_string(),
        id,
    }
}

pub(crate) fn put_endpoint(
    tx: &Transaction<'_>,
    e: &EndpointRow,
) -> Result<EndpointRow, StoreError> {
    check_name("endpoint name", &e.name)?;
    if !KINDS.contains(&e.kind.as_str()) {
        return Err(invalid(
            "endpoint kind",
            format!("{:?} is none of {}", e.kind, KINDS.join(", ")),
        ));
    }
    check_json("endpoint spec", &e.spec, false)?;
    let (created, updated) = (ns(e.created_at)?, ns(e.updated_at)?);
    let row = if e.id == 0 {
        tx.prepare_cached(&format!(
            "INSERT INTO notify_endpoints (tenant, name, kind, spec, enabled, disabled_reason,
                 created_ns, updated_ns)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             RETURNING {ENDPOINT_COLS}"
        ))
        .ctx("prepare create endpoint")?
        .query_row(
            params![
                e.tenant.as_str(),
                e.name,
                e.kind,
                e.spec,
                e.enabled,
                e.disabled_reason,
                created,
                updated
            ],
            endpoint_row,
        )
        .optional()
    } else {
        // The creation time stays the stored one.
        tx.prepare_cached(&format!(
            "UPDATE notify_endpoints SET name = ?3, kind = ?4, spec = ?5, enabled = ?6,
                 disabled_reason = ?7, updated_ns = ?8
             WHERE id = ?1 AND tenant = ?2
             RETURNING {ENDPOINT_COLS}"
        ))
        .ctx("prepare update endpoint")?
        .query_row(
            params![
                e.id,
                e.tenant.as_str(),
                e.name,
                e.kind,
                e.spec,
                e.enabled,
                e.disabled_reason,
                updated
            ],
            endpoint_row,
        )
        .optional()
    }
    .map_err(|err| named(err, "endpoint", &e.tenant, &e.name, "put endpoint"))?;
    row.ok_or_else(|| not_found("endpoint", &e.tenant, e.id))
}

/// Deletes the endpoint, its subscriptions, and skips its pending notifications (stamped
/// `done_at` = `now`).
pub(crate) fn delete_endpoint(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    id: i64,
    now: jiff::Timestamp,
) -> Result<bool, StoreError> {
    // Subscriptions first: they reference the endpoint (a foreign key, enforced when the
    // connection enforces them). Scoped by tenant, so another tenant's id deletes nothing.
    tx.prepare_cached("DELETE FROM notify_subscriptions WHERE endpoint_id = ?1 AND tenant = ?2")
        .ctx("prepare delete endpoint subscriptions")?
        .execute(params![id, tenant.as_str()])
        .ctx("delete endpoint subscriptions")?;
    let n = tx
        .prepare_cached("DELETE FROM notify_endpoints WHERE id = ?1 AND tenant = ?2")
        .ctx("prepare delete endpoint")?
        .execute(params![id, tenant.as_str()])
        .ctx("delete endpoint")?;
    if n == 0 {
        // Not the tenant's: the caller drops the transaction, so nothing above is kept either
        // (and it deleted nothing: a subscription of this tenant names only its endpoints).
        return Ok(false);
    }
    tx.prepare_cached(
        "UPDATE outbox SET state = 'skipped', last_error = 'endpoint deleted', done_ns = ?2
         WHERE endpoint_id = ?1 AND state = 'pending'",
    )
    .ctx("prepare skip deleted endpoint's rows")?
    .execute(params![id, ns(now)?])
    .ctx("skip deleted endpoint's rows")?;
    Ok(true)
}

pub(crate) fn put_subscription(
    tx: &Transaction<'_>,
    s: &SubscriptionRow,
) -> Result<SubscriptionRow, StoreError> {
    check_name("subscription name", &s.name)?;
    check_json("subscription triggers", &s.triggers, true)?;
    check_json("subscription filter", &s.filter, false)?;
    if endpoint(tx, &s.tenant, s.endpoint_id)?.is_none() {
        // Unknown, or another tenant's: the same answer, as if it did not exist.
        return Err(not_found("endpoint", &s.tenant, s.endpoint_id));
    }
    let row = if s.id == 0 {
        tx.prepare_cached(&format!(
            "INSERT INTO notify_subscriptions (tenant, name, endpoint_id, triggers, filter,
                 enabled, created_ns)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             RETURNING {SUBSCRIPTION_COLS}"
        ))
        .ctx("prepare create subscription")?
        .query_row(
            params![
                s.tenant.as_str(),
                s.name,
                s.endpoint_id,
                s.triggers,
                s.filter,
                s.enabled,
                ns(s.created_at)?
            ],
            subscription_row,
        )
        .optional()
    } else {
        // The creation time stays the stored one.
        tx.prepare_cached(&format!(
            "UPDATE notify_subscriptions SET name = ?3, endpoint_id = ?4, triggers = ?5,
                 filter = ?6, enabled = ?7
             WHERE id = ?1 AND tenant = ?2
             RETURNING {SUBSCRIPTION_COLS}"
        ))
        .ctx("prepare update subscription")?
        .query_row(
            params![
                s.id,
                s.tenant.as_str(),
                s.name,
                s.endpoint_id,
                s.triggers,
                s.filter,
                s.enabled
            ],
            subscription_row,
        )
        .optional()
    }
    .map_err(|e| named(e, "subscription", &s.tenant, &s.name, "put subscription"))?;
    row.ok_or_else(|| not_found("subscription", &s.tenant, s.id))
}

pub(crate) fn delete_subscription(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    id: i64,
) -> Result<bool, StoreError> {
    let n = tx
        .prepare_cached("DELETE FROM notify_subscriptions WHERE id = ?1 AND tenant = ?2")
        .ctx("prepare delete subscription")?
        .execute(params![id, tenant.as_str()])
        .ctx("delete subscription")?;
    Ok(n > 0)
}

pub(crate) fn put_contact(tx: &Transaction<'_>, c: &ContactRow) -> Result<ContactRow, StoreError> {
    if c.customer_id.is_empty() {
        return Err(invalid("contact", "the customer id is empty".into()));
    }
    if let Some(k) = c.opted_out.iter().find(|k| !KINDS.contains(&k.as_str())) {
        return Err(invalid(
            "contact opt-out",
            format!(
                "{k:?} of customer {} is none of {}",
                c.customer_id,
                KINDS.join(", ")
            ),
        ));
    }
    let mut opted_out: Vec<&str> = c.opted_out.iter().map(String::as_str).collect();
    opted_out.sort_unstable();
    opted_out.dedup();
    let opted_out =
        serde_json::to_string(&opted_out).map_err(|e| corrupt("contact opt-outs", e))?;
    let raw = tx
        .prepare_cached(&format!(
            "INSERT INTO contacts (tenant, customer_id, email, phone, locale, opted_out, updated_ns)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (tenant, customer_id) DO UPDATE SET email = excluded.email,
                 phone = excluded.phone, locale = excluded.locale,
                 opted_out = excluded.opted_out, updated_ns = excluded.updated_ns
             RETURNING {CONTACT_COLS}"
        ))
        .ctx("prepare put contact")?
        .query_row(
            params![
                c.tenant.as_str(),
                c.customer_id,
                c.email,
                c.phone,
                c.locale,
                opted_out,
                ns(c.updated_at)?
            ],
            contact_raw,
        )
        .ctx("put contact")?;
    contact_of_raw(raw)
}

/// Every endpoint and subscription of every tenant, by tenant then id.
pub(crate) fn config(
    c: &Connection,
) -> Result<(Vec<EndpointRow>, Vec<SubscriptionRow>), StoreError> {
    let eps = c
        .prepare_cached(&format!(
            "SELECT {ENDPOINT_COLS} FROM notify_endpoints ORDER BY tenant, id"
        ))
        .ctx("prepare all endpoints")?
        .query_map([], endpoint_row)
        .ctx("query all endpoints")?
        .collect::<Result<_, _>>()
        .ctx("read endpoint")?;
    let subs = c
        .prepare_cached(&format!(
            "SELECT {SUBSCRIPTION_COLS} FROM notify_subscriptions ORDER BY tenant, id"
        ))
        .ctx("prepare all subscriptions")?
        .query_map([], subscription_row)
        .ctx("query all subscriptions")?
        .collect::<Result<_, _>>()
        .ctx("read subscription")?;
    Ok((eps, subs))
}

pub(crate) fn endpoints(c: &Connection, tenant: &TenantId) -> Result<Vec<EndpointRow>, StoreError> {
    c.prepare_cached(&format!(
        "SELECT {ENDPOINT_COLS} FROM notify_endpoints WHERE tenant = ?1 ORDER BY id"
    ))
    .ctx("prepare endpoints")?
    .query_map([tenant.as_str()], endpoint_row)
    .ctx("query endpoints")?
    .collect::<Result<_, _>>()
    .ctx("read endpoint")
}

pub(crate) fn endpoint(
    c: &Connection,
    tenant: &TenantId,
    id: i64,
) -> Result<Option<EndpointRow>, StoreError> {
    c.prepare_cached(&format!(
        "SELECT {ENDPOINT_COLS} FROM notify_endpoints WHERE id = ?1 AND tenant = ?2"
    ))
    .ctx("prepare endpoint")?
    .query_row(params![id, tenant.as_str()], endpoint_row)
    .optional()
    .ctx("read endpoint")
}

pub(crate) fn subscriptions(
    c: &Connection,
    tenant: &TenantId,
) -> Result<Vec<SubscriptionRow>, StoreError> {
    c.prepare_cached(&format!(
        "SELECT {SUBSCRIPTION_COLS} FROM notify_subscriptions WHERE tenant = ?1 ORDER BY id"
    ))
    .ctx("prepare subscriptions")?
    .query_map([tenant.as_str()], subscription_row)
    .ctx("query subscriptions")?
    .collect::<Result<_, _>>()
    .ctx("read subscription")
}

/// A tenant's contacts by customer id, after `after`.
pub(crate) fn contacts(
    c: &Connection,
    tenant: &TenantId,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<ContactRow>, StoreError> {
    let raw: Vec<(ContactRow, String)> = c
        .prepare_cached(&format!(
            "SELECT {CONTACT_COLS} FROM contacts WHERE tenant = ?1 AND customer_id > ?2
             ORDER BY customer_id LIMIT ?3"
        ))
        .ctx("prepare contacts")?
        .query_map(
            params![
                tenant.as_str(),
                after.unwrap_or(""),
                limit.min(i64::MAX as usize) as i64
            ],
            contact_raw,
        )
        .ctx("query contacts")?
        .collect::<Result<_, _>>()
        .ctx("read contact")?;
    raw.into_iter().map(contact_of_raw).collect()
}

pub(crate) fn contact(
    c: &Connection,
    tenant: &TenantId,
    customer_id: &str,
) -> Result<Option<ContactRow>, StoreError> {
    c.prepare_cached(&format!(
        "SELECT {CONTACT_COLS} FROM contacts WHERE tenant = ?1 AND customer_id = ?2"
    ))
    .ctx("prepare contact")?
    .query_row(params![tenant.as_str(), customer_id], contact_raw)
    .optional()
    .ctx("read contact")?
    .map(contact_of_raw)
    .transpose()
}
