//! Rebuilds the projection from the log in memory and compares it with the stored one: the check
//! that a crash left nothing behind that a from-scratch replay would not produce.

use super::write::{Streams, applied_seq_of, parse_state, read_events_after, view_of};
use crate::types::*;
use rusqlite::Connection;
use std::collections::BTreeMap;

pub fn replay_check(conn: &Connection) -> Result<ReplayReport, StoreError> {
    let mut report = ReplayReport {
        applied_seq: applied_seq_of(conn)?,
        ..Default::default()
    };
    let mut streams: BTreeMap<(String, String), Streams> = BTreeMap::new();
    let mut after = 0;
    loop {
        let page = read_events_after(conn, after, 10_000)?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for se in page.iter().filter(|se| se.seq <= report.applied_seq) {
            report.events += 1;
            streams
                .entry((se.tenant.to_string(), se.event.order_id.to_string()))
                .or_default()
                .entry(se.event.stream().to_string())
                .or_default()
                .apply(&se.event);
        }
        report.last_seq = after;
    }
    let mut stmt = conn
        .prepare("SELECT tenant, order_id, state FROM orders")
        .ctx("prepare replay orders")?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                super::bytes_of(r, 2)?,
            ))
        })
        .ctx("query replay orders")?;
    let mut stored: BTreeMap<(String, String), Streams> = BTreeMap::new();
    for row in rows {
        let (t, o, s) = row.ctx("read replay order")?;
        stored.insert((t, o), parse_state(&s)?);
    }
    report.orders = streams.len() as u64;
    for (key, order_streams) in &streams {
        // Compare the folded streams themselves, not only the views derived from them.
        match stored.get(key) {
            Some(s) if s == order_streams => {}
            Some(s) => report.mismatches.push(format!(
                "order {}/{}: stored state ({}) differs from a replay ({})",
                key.0,
                key.1,
                view_of(&key.1, s).status,
                view_of(&key.1, order_streams).status
            )),
            None => report.mismatches.push(format!(
                "order {}/{}: missing from the projection",
                key.0, key.1
            )),
        }
    }
    for key in stored.keys().filter(|k| !streams.contains_key(*k)) {
        report.mismatches.push(format!(
            "order {}/{}: in the projection but no applied event",
            key.0, key.1
        ));
    }
    Ok(report)
}
