//! Kept vendor documents and the quarantine of unmapped codes. Written in the append
//! transaction of the events they concern, so a stored event with status `unknown` is never
//! without its quarantine row, and a remap's corrected event never without its resolution.

use super::from_ns;
use crate::SqlContext;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use waypost_domain::TenantId;
use waypost_store::*;

pub(crate) fn record(
    tx: &Transaction<'_>,
    sub: &Submission,
    received_ns: i64,
    quarantined: &[(Seq, &NewEvent)],
    stored: &[StoredEvent],
) -> Result<(), StoreError> {
    let tenant = sub.tenant.as_str();
    let mut document_id = None;
    if let Some(doc) = &sub.document
        && (doc.problem.is_some() || !quarantined.is_empty())
    {
        let hash = doc.problem.is_some().then(|| body_hash(&doc.body));
        // A body refused before and not yet replayed is the same dead letter received again:
        // one more attempt on it, not a second letter.
        document_id = Some(
            tx.prepare_cached(
                "INSERT INTO documents (tenant, source, received_ns, problem, body, body_hash,
                                        attempts, last_ns, origin)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?3, ?7)
                 ON CONFLICT (tenant, source, body_hash)
                     WHERE problem IS NOT NULL AND replayed_ns IS NULL
                 DO UPDATE SET attempts = attempts + 1, last_ns = excluded.last_ns,
                               problem = excluded.problem
                 RETURNING id",
            )
            .ctx("prepare keep document")?
            .query_row(
                params![
                    tenant,
                    doc.source,
                    received_ns,
                    doc.problem,
                    doc.body,
                    hash,
                    doc.origin
                ],
                |r| r.get::<_, i64>(0),
            )
            .ctx("keep document")?,
        );
    }
    if !quarantined.is_empty() {
        let mut put = tx
            .prepare_cached(
                "INSERT INTO unmapped (tenant, source, kind, code, event_seq, document_id, received_ns,
                                       proposal)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .ctx("prepare quarantine")?;
        for (seq, ne) in quarantined {
            for u in &ne.unmapped {
                let proposal = u
                    .proposal
                    .as_ref()
                    .and_then(|p| serde_json::to_string(p).ok());
                put.execute(params![
                    tenant,
                    ne.event.source.as_str(),
                    u.kind,
                    u.code,
                    *seq as i64,
                    document_id,
                    received_ns,
                    proposal
                ])
                .ctx("quarantine event")?;
            }
        }
    }
    if !sub.resolves.is_empty() {
        // The corrected events' first log position; a remap whose events were all duplicates
        // (a remap repeated) still settles its rows, pointing at no new event.
        let resolved_seq = stored.first().map(|e| e.seq as i64);
        let mut settle = tx
            .prepare_cached(
                "UPDATE unmapped SET resolved_ns = ?1, resolved_seq = ?2
                 WHERE id = ?3 AND tenant = ?4 AND resolved_ns IS NULL",
            )
            .ctx("prepare resolve")?;
        for id in &sub.resolves {
            settle
                .execute(params![received_ns, resolved_seq, id, tenant])
                .ctx("resolve quarantine")?;
        }
    }
    if let Some(id) = sub.replays_document {
        tx.prepare_cached(
            "UPDATE documents SET replayed_ns = ?1 WHERE id = ?2 AND tenant = ?3 AND replayed_ns IS NULL",
        )
        .ctx("prepare replayed")?
        .execute(params![received_ns, id, tenant])
        .ctx("mark replayed")?;
    }
    Ok(())
}

pub(crate) fn unmapped(
    c: &Connection,
    tenant: &TenantId,
    f: &UnmappedFilter,
) -> Result<Vec<UnmappedRecord>, StoreError> {
    let mut stmt = c
        .prepare_cached(
            "SELECT u.id, u.source, u.kind, u.code, u.event_seq, u.document_id, u.received_ns,
                    u.resolved_ns, u.resolved_seq, u.proposal,
                    e.source, e.event_id, e.order_id, e.track, e.status, e.body
             FROM unmapped u JOIN events e ON e.seq = u.event_seq
             WHERE u.tenant = ?1 AND u.id > ?2
               AND (?3 IS NULL OR u.source = ?3)
               AND (?4 = 0 OR u.resolved_ns IS NULL)
             ORDER BY u.id LIMIT ?5",
        )
        .ctx("prepare unmapped")?;
    let rows = stmt
        .query_map(
            params![
                tenant.as_str(),
                f.after,
                f.source,
                f.open_only as i64,
                f.limit as i64
            ],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, Option<i64>>(7)?,
                    r.get::<_, Option<i64>>(8)?,
                    r.get::<_, Option<String>>(9)?,
                    super::event_columns(r, 10)?,
                ))
            },
        )
        .ctx("query unmapped")?;
    let mut out = Vec::new();
    for row in rows {
        let (
            id,
            source,
            kind,
            code,
            seq,
            document_id,
            received,
            resolved,
            resolved_seq,
            proposal,
            body,
        ) = row.ctx("read unmapped row")?;
        out.push(UnmappedRecord {
            id,
            source,
            kind,
            code,
            event_seq: seq as Seq,
            event: waypost_store::event_body::decode(body)?,
            document_id,
            received_at: from_ns(received),
            resolved_at: resolved.map(from_ns),
            resolved_seq: resolved_seq.map(|s| s as Seq),
            // A proposal this version cannot read is no proposal: it was only advice.
            proposal: proposal.and_then(|p| serde_json::from_str(&p).ok()),
        });
    }
    Ok(out)
}

/// Dead letters are told apart by content; 16 bytes of SHA-256 make a collision a non-issue.
fn body_hash(body: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    Sha256::digest(body)[..16].to_vec()
}

const DOCUMENT_COLUMNS: &str =
    "id, source, received_ns, problem, replayed_ns, body, origin, attempts, last_ns";

fn document_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DocumentRecord> {
    let received_ns: i64 = r.get(2)?;
    Ok(DocumentRecord {
        id: r.get(0)?,
        source: r.get(1)?,
        received_at: from_ns(received_ns),
        problem: r.get(3)?,
        replayed_at: r.get::<_, Option<i64>>(4)?.map(from_ns),
        body: r.get(5)?,
        origin: r.get(6)?,
        attempts: u32::try_from(r.get::<_, i64>(7)?).unwrap_or(u32::MAX),
        last_at: from_ns(r.get::<_, Option<i64>>(8)?.unwrap_or(received_ns)),
    })
}

pub(crate) fn document(
    c: &Connection,
    tenant: &TenantId,
    id: i64,
) -> Result<Option<DocumentRecord>, StoreError> {
    c.prepare_cached(&format!(
        "SELECT {DOCUMENT_COLUMNS} FROM documents WHERE tenant = ?1 AND id = ?2"
    ))
    .ctx("prepare document")?
    .query_row(params![tenant.as_str(), id], document_row)
    .optional()
    .ctx("read document")
}

pub(crate) fn rejected(
    c: &Connection,
    tenant: &TenantId,
    after: i64,
    limit: usize,
) -> Result<Vec<DocumentRecord>, StoreError> {
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT {DOCUMENT_COLUMNS} FROM documents
             WHERE tenant = ?1 AND id > ?2 AND problem IS NOT NULL AND replayed_ns IS NULL
             ORDER BY id LIMIT ?3"
        ))
        .ctx("prepare rejected")?;
    let rows = stmt
        .query_map(params![tenant.as_str(), after, limit as i64], document_row)
        .ctx("query rejected")?;
    rows.collect::<Result<Vec<_>, _>>().ctx("read rejected row")
}

pub(crate) fn dead_letter_counts(
    c: &Connection,
    tenant: Option<&TenantId>,
) -> Result<Vec<(String, DeadLetterCount)>, StoreError> {
    let mut stmt = c
        .prepare_cached(
            "SELECT tenant, source, origin, COUNT(*) FROM documents
             WHERE problem IS NOT NULL AND replayed_ns IS NULL AND (?1 IS NULL OR tenant = ?1)
             GROUP BY tenant, source, origin ORDER BY tenant, source, origin",
        )
        .ctx("prepare dead letter counts")?;
    let rows = stmt
        .query_map(params![tenant.map(|t| t.as_str())], |r| {
            Ok((
                r.get::<_, String>(0)?,
                DeadLetterCount {
                    source: r.get(1)?,
                    origin: r.get(2)?,
                    count: r.get::<_, i64>(3)?.max(0) as u64,
                },
            ))
        })
        .ctx("query dead letter counts")?;
    rows.collect::<Result<Vec<_>, _>>()
        .ctx("read dead letter count")
}

pub(crate) fn order_for_tracking(
    c: &Connection,
    tenant: &TenantId,
    tracking: &str,
) -> Result<Option<String>, StoreError> {
    // Several orders can share a tracking number (a carrier reusing numbers); picking one by a
    // fixed rule keeps the choice the same on every delivery of the same update.
    c.prepare_cached(
        "SELECT order_id FROM shipments WHERE tenant = ?1 AND track = ?2 ORDER BY order_id LIMIT 1",
    )
    .ctx("prepare order for tracking")?
    .query_row(params![tenant.as_str(), tracking], |r| r.get(0))
    .optional()
    .ctx("read order for tracking")
}
