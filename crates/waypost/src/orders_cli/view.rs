//! The intake queue and `explain` as text for a person: pure functions of the server's answer
//! and the time now, so they are tested on data.

use super::table;
use jiff::Timestamp;
use waypost_api::dto::orders::{DecisionDto, FindingDto, IntakeExplain, QueueItem};

/// An RFC 3339 instant cut to the minute: the tables' width matters more than the seconds.
fn short_time(t: Option<&str>) -> String {
    match t {
        Some(t) => match t.parse::<Timestamp>() {
            Ok(ts) => ts.strftime("%Y-%m-%d %H:%MZ").to_string(),
            Err(_) => t.to_owned(),
        },
        None => "-".into(),
    }
}

/// How long from `since` to `now`, in the largest unit that says it (`3 h 20 min`, `2 d 4 h`).
pub fn waited(since: &str, now: Timestamp) -> String {
    let Ok(since) = since.parse::<Timestamp>() else {
        return "-".into();
    };
    let secs = now.as_second().saturating_sub(since.as_second()).max(0);
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    match (d, h) {
        (0, 0) => format!("{m} min"),
        (0, _) => format!("{h} h {m} min"),
        _ => format!("{d} d {h} h"),
    }
}

fn money(value: Option<f64>, currency: Option<&str>) -> String {
    match value {
        Some(v) => format!("{v:.2} {}", currency.unwrap_or(""))
            .trim()
            .to_string(),
        None => "-".into(),
    }
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// Why an order is where it is, in one line: its deciding checks and their messages.
fn why(because: &[FindingDto]) -> String {
    if because.is_empty() {
        return "-".into();
    }
    because
        .iter()
        .map(|f| format!("{}: {}", f.check, f.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The queue, one order per line, highest impact first as the server sorted it.
pub fn queue(orders: &[QueueItem], now: Timestamp) -> String {
    if orders.is_empty() {
        return "no orders in the queue\n".into();
    }
    let rows: Vec<Vec<String>> = orders
        .iter()
        .map(|o| {
            vec![
                cut(&o.order_id, 24),
                format!("{}/{}", o.channel, o.account),
                o.status.clone(),
                money(o.value, o.currency.as_deref()),
                short_time(o.promised_at.as_deref()),
                waited(&o.status_since, now),
                format!("{:.1}", o.impact),
                cut(&why(&o.because), 80),
            ]
        })
        .collect();
    table(
        &[
            "ORDER", "CHANNEL", "STATUS", "VALUE", "PROMISE", "WAITING", "IMPACT", "WHY",
        ],
        &rows,
    )
}

/// The findings as a table; `all` false leaves out the passes (the shadow's: only where it
/// objects matters beside the decision in force).
fn findings(d: &DecisionDto, all: bool) -> String {
    let rows: Vec<Vec<String>> = d
        .findings
        .iter()
        .filter(|f| all || f.outcome != "pass")
        .map(|f| {
            vec![
                f.check.clone(),
                f.outcome.clone(),
                f.layer.clone(),
                // The server counts lines from 0; a person from 1.
                f.line.map_or_else(|| "-".into(), |l| (l + 1).to_string()),
                f.message.clone(),
            ]
        })
        .collect();
    indent(&table(
        &["CHECK", "OUTCOME", "LAYER", "LINE", "MESSAGE"],
        &rows,
    ))
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("  {l}\n")).collect()
}

/// Who decided what about one order: the outcome, every check's verdict and the layer it
/// came from, the shadow's decision when it differs, versions and audit.
pub fn explain(e: &IntakeExplain, now: Timestamp) -> String {
    let o = &e.order;
    let mut out = format!(
        "order {}  {}  (version {}, since {}, waiting {})\n",
        o.order_id,
        o.status,
        o.version,
        short_time(Some(&o.status_since)),
        waited(&o.status_since, now)
    );
    out.push_str(&format!(
        "  channel {}, account {}, external id {}, priority {}\n",
        o.channel, o.account, o.external_id, o.priority
    ));
    out.push_str(&format!(
        "  value {}, promised {}\n",
        money(o.value, o.currency.as_deref()),
        short_time(o.promised_at.as_deref())
    ));
    let parts: Vec<String> = o
        .impact_parts
        .iter()
        .map(|p| format!("{} ({:+.1})", p.part, p.points))
        .collect();
    out.push_str(&format!(
        "  impact {:.1}{}\n",
        o.impact,
        if parts.is_empty() {
            String::new()
        } else {
            format!(" = {}", parts.join(" + "))
        }
    ));
    out.push_str(&format!(
        "\ndecision: {} (profile {})\n",
        e.decision.outcome, e.decision.profile
    ));
    out.push_str(&findings(&e.decision, true));
    match (&e.shadow, e.shadow_differs) {
        (Some(s), true) => {
            out.push_str(&format!(
                "\nshadow: {} (profile {}), where the profile in force decided {}\n",
                s.outcome, s.profile, e.decision.outcome
            ));
            out.push_str(&findings(s, false));
        }
        (Some(s), false) => out.push_str(&format!("\nshadow: the same (profile {})\n", s.profile)),
        (None, _) => {}
    }
    out.push_str("\nversions:\n");
    let rows: Vec<Vec<String>> = e
        .versions
        .iter()
        .map(|v| {
            vec![
                v.version.to_string(),
                v.status.clone(),
                short_time(v.updated_at.as_deref()),
                short_time(Some(&v.received_at)),
                cut(&v.content_hash, 16),
            ]
        })
        .collect();
    out.push_str(&indent(&table(
        &["VERSION", "STATUS", "UPDATED", "RECEIVED", "CONTENT"],
        &rows,
    )));
    out.push_str("\naudit:\n");
    if e.audit.is_empty() {
        out.push_str("  (nothing yet)\n");
    } else {
        let rows: Vec<Vec<String>> = e
            .audit
            .iter()
            .map(|a| {
                vec![
                    short_time(Some(&a.at)),
                    a.actor.clone(),
                    a.action.clone(),
                    a.detail.clone(),
                ]
            })
            .collect();
        out.push_str(&indent(&table(&["AT", "ACTOR", "ACTION", "DETAIL"], &rows)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item() -> serde_json::Value {
        json!({
            "order_id": "W-1", "channel": "csv", "account": "web", "external_id": "W-1",
            "status": "held", "priority": "standard", "impact": 12.5,
            "impact_parts": [{"part": "value 25.00 USD", "points": 2.5}, {"part": "promise in 3 h", "points": 10.0}],
            "value": 25.0, "currency": "USD", "promised_at": "2026-12-04T18:00:00Z",
            "version": 2, "received_at": "2026-12-01T09:00:00Z", "status_since": "2026-12-01T09:00:00Z",
            "because": [{"check": "sku_known", "outcome": "hold", "layer": "global",
                         "message": "SKU NOPE is not in the catalogue", "line": 0}]
        })
    }

    fn now() -> Timestamp {
        "2026-12-01T12:20:00Z".parse().expect("instant")
    }

    #[test]
    fn the_queue_says_who_waits_how_long_and_why() {
        let o: QueueItem = serde_json::from_value(item()).expect("item");
        let t = queue(&[o], now());
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("ORDER  CHANNEL  STATUS  VALUE"), "{t}");
        assert!(lines[1].contains("csv/web"), "{t}");
        assert!(lines[1].contains("25.00 USD"), "{t}");
        assert!(lines[1].contains("3 h 20 min"), "{t}");
        assert!(
            lines[1].ends_with("sku_known: SKU NOPE is not in the catalogue"),
            "{t}"
        );
        assert_eq!(queue(&[], now()), "no orders in the queue\n");
    }

    #[test]
    fn explain_tables_every_check_with_its_layer_and_the_differing_shadow() {
        let e: IntakeExplain = serde_json::from_value(json!({
            "order": item(), "placed": {},
            "decision": {"profile": "house", "outcome": "hold", "findings": [
                {"check": "sku_known", "outcome": "hold", "layer": "global", "message": "SKU NOPE is not in the catalogue", "line": 0},
                {"check": "address_complete", "outcome": "pass", "layer": "account web", "message": "complete", "line": null}]},
            "shadow": {"profile": "stricter", "outcome": "reject", "findings": [
                {"check": "quantity", "outcome": "reject", "layer": "global", "message": "quantity 3 above 2", "line": 0}]},
            "shadow_differs": true,
            "versions": [{"version": 2, "content_hash": "abc", "updated_at": null, "received_at": "2026-12-01T09:00:00Z", "status": "held"}],
            "audit": []
        }))
        .expect("explain");
        let t = explain(&e, now());
        for want in [
            "order W-1  held  (version 2",
            "impact 12.5 = value 25.00 USD (+2.5) + promise in 3 h (+10.0)",
            "decision: hold (profile house)",
            "  CHECK             OUTCOME  LAYER        LINE  MESSAGE",
            "  address_complete  pass     account web  -     complete",
            "shadow: reject (profile stricter), where the profile in force decided hold",
            "quantity 3 above 2",
            "(nothing yet)",
        ] {
            assert!(t.contains(want), "{want:?} not in\n{t}");
        }
    }

    #[test]
    fn waiting_is_said_in_the_largest_unit() {
        let at = "2026-12-01T12:00:00Z";
        let t = |s: &str| s.parse::<Timestamp>().expect("instant");
        assert_eq!(waited(at, t("2026-12-01T12:05:00Z")), "5 min");
        assert_eq!(waited(at, t("2026-12-03T15:00:00Z")), "2 d 3 h");
        assert_eq!(waited("garbage", t(at)), "-");
    }
}
