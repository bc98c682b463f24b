//! The exceptions a simulated world plants, and how the engine caught them.
//!
//! The world runs with one rule, a dwell: an order in `pending` for more than four simulated
//! hours. Which orders break it, and when, follows from the ground truth alone (event times of
//! each order's history), computed here without the rules crate, so the engine's detector is
//! checked against an independent reading of the rule, not against itself.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use waypost_sim::Truth;

/// The rule the world is run with (embedded engine, and `--print-config` for a separate one).
pub const RULES: &str = r#"
[[rules]]
name = "sim-stuck-pending"
kind = "dwell"
subject = "order"
statuses = ["pending"]
after = "4h"
severity = "high"
description = "An order no warehouse has started on after four hours."
"#;

pub const RULE: &str = "sim-stuck-pending";
const DWELL: SignedDuration = SignedDuration::from_hours(4);

/// An order the rule must catch, and when.
#[derive(Debug, Clone, PartialEq)]
pub struct Planted {
    pub tenant: String,
    pub order_id: String,
    pub due: Timestamp,
    /// The `pending` event the deadline counts from: `(source, event id)`.
    pub pending: (String, String),
    /// When the engine had the `pending` state to act on (world time), if seen: a late or
    /// lost-then-polled event can reach it after the deadline, and then the rule can only
    /// fire from that moment.
    pub known_at: Option<Timestamp>,
}

fn at(s: &str) -> Option<Timestamp> {
    s.parse().ok()
}

/// The exceptions of `truths` due by `judge_by` (world time), and the orders whose deadline
/// falls after it but by `undecided_until`: the engine may or may not have fired those by the
/// time its alerts were read, so they are neither a miss nor a false alert.
pub fn planted(
    truths: &[Truth],
    judge_by: Timestamp,
    undecided_until: Timestamp,
) -> (Vec<Planted>, HashSet<String>) {
    let mut out = Vec::new();
    let mut undecided = HashSet::new();
    for t in truths {
        let mut events: Vec<(Timestamp, &str, &str, &str)> = t
            .history
            .values()
            .flatten()
            .filter_map(|e| {
                Some((
                    at(&e.occurred_at)?,
                    e.status.as_str(),
                    e.source.as_str(),
                    e.event_id.as_str(),
                ))
            })
            .collect();
        events.sort();
        let Some(&(since, _, source, id)) = events.iter().find(|e| e.1 == "pending") else {
            continue;
        };
        let left = events
            .iter()
            .find(|e| e.0 > since && e.1 != "pending")
            .map(|e| e.0);
        let due = since + DWELL;
        let stuck = left.is_none_or(|l| l > due);
        if !stuck {
            continue;
        }
        if due > judge_by {
            if due <= undecided_until {
                undecided.insert(t.order_id.clone());
            }
            continue;
        }
        out.push(Planted {
            tenant: t.tenant.clone(),
            order_id: t.order_id.clone(),
            due,
            pending: (source.to_owned(), id.to_owned()),
            known_at: None,
        });
    }
    (out, undecided)
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Delay {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Detection {
    pub exceptions_planted: usize,
    pub exceptions_detected: usize,
    /// Alerts on orders that never broke the rule (and were not shown false by a late event).
    pub false_alerts: usize,
    /// Alerts the engine itself resolved as false positives when late events arrived.
    pub false_positives_resolved: usize,
    /// Deadlines too close to the end of the run to judge.
    pub exceptions_undecided: usize,
    /// Deadline → alert stored, in real seconds (world seconds divided by the speed). The
    /// deadline is the rule's, or when the engine first had the state to judge if that was
    /// later (data that arrived late is the pipeline's latency, not the detector's).
    pub detection_delay_s: Delay,
    /// Planted exceptions whose `pending` reached the engine only after their deadline.
    pub exceptions_known_late: usize,
    /// A few misses and false alerts, for whoever reads the report.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub detection_mismatches: Vec<String>,
}

/// Every alert of the world's rule, of every tenant, in any status.
pub async fn fetch(
    http: &reqwest::Client,
    engine: &str,
    keys: &[(String, String)],
) -> anyhow::Result<Vec<Value>> {
    use anyhow::Context;
    let mut out = Vec::new();
    for (tenant, key) in keys {
        let mut offset = 0u64;
        loop {
            let url = format!(
                "{engine}/v1/alerts?rule={RULE}&status=open,acknowledged,snoozed,resolved&sort=oldest&limit=1000&offset={offset}"
            );
            let resp = http
                .get(&url)
                .bearer_auth(key)
                .send()
                .await
                .with_context(|| format!("listing alerts of {tenant}"))?;
            let status = resp.status();
            let body: Value = resp.json().await.context("reading the alert list")?;
            if !status.is_success() {
                anyhow::bail!("listing alerts of {tenant}: {status} {body}");
            }
            let page = body["alerts"].as_array().cloned().unwrap_or_default();
            for mut a in page {
                // The wire row names its tenant only through the key that read it.
                a["tenant"] = Value::String(tenant.clone());
                out.push(a);
            }
            match body["next_offset"].as_u64() {
                Some(n) if n > offset => offset = n,
                _ => break,
            }
        }
    }
    Ok(out)
}

/// The alert rows (as `GET /v1/alerts` lists them) against the planted exceptions.
pub fn compare(
    planted: &[Planted],
    undecided: &HashSet<String>,
    alerts: &[Value],
    speed: f64,
) -> Detection {
    let speed = if speed.is_finite() && speed > 0.0 {
        speed
    } else {
        1.0
    };
    let mut by_order: HashMap<(&str, &str), &Value> = HashMap::new();
    let mut false_positives = 0;
    for a in alerts.iter().filter(|a| a["rule"] == RULE) {
        if a["false_positive"] == true {
            false_positives += 1;
            continue;
        }
        let (Some(tenant), Some(order)) = (a["tenant"].as_str(), a["order_id"].as_str()) else {
            continue;
        };
        by_order.insert((tenant, order), a);
    }
    let mut delays = Vec::new();
    let mut mismatches = Vec::new();
    let mut detected = 0;
    let wanted: HashSet<(&str, &str)> = planted
        .iter()
        .map(|p| (p.tenant.as_str(), p.order_id.as_str()))
        .collect();
    for p in planted {
        match by_order.get(&(p.tenant.as_str(), p.order_id.as_str())) {
            Some(a) => {
                detected += 1;
                let opened = a["opened_at"].as_str().and_then(at);
                let from = p.known_at.map_or(p.due, |k| k.max(p.due));
                if let Some(opened) = opened {
                    delays.push(opened.duration_since(from).as_secs_f64() / speed);
                }
            }
            None if mismatches.len() < 5 => {
                mismatches.push(format!("missed: {} {} due {}", p.tenant, p.order_id, p.due));
            }
            None => {}
        }
    }
    let mut false_alerts = 0;
    for ((tenant, order), _) in by_order.iter() {
        if !wanted.contains(&(*tenant, *order)) && !undecided.contains(*order) {
            false_alerts += 1;
            if mismatches.len() < 10 {
                mismatches.push(format!("false alert: {tenant} {order}"));
            }
        }
    }
    delays.sort_by(f64::total_cmp);
    let pick = |q: f64| super::verify::nearest_rank(&delays, q).unwrap_or(0.0);
    Detection {
        exceptions_planted: planted.len(),
        exceptions_detected: detected,
        false_alerts,
        false_positives_resolved: false_positives,
        exceptions_undecided: undecided.len(),
        exceptions_known_late: planted
            .iter()
            .filter(|p| p.known_at.is_some_and(|k| k > p.due))
            .count(),
        detection_delay_s: Delay {
            p50: pick(0.5),
            p99: pick(0.99),
            max: delays.last().copied().unwrap_or(0.0),
        },
        detection_mismatches: mismatches,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use waypost_sim::TruthEvent;

    fn ev(status: &str, at: &str) -> TruthEvent {
        TruthEvent {
            source: "wms".into(),
            event_id: format!("{status}-{at}"),
            status: status.into(),
            reason: None,
            occurred_at: at.into(),
            visible_at: Timestamp::UNIX_EPOCH,
            raw_code: None,
        }
    }

    fn truth(id: &str, events: Vec<TruthEvent>) -> Truth {
        let json = serde_json::json!({
            "tenant": "acme", "order_id": id, "channel": "web", "scenario": "none",
            "status": "pending", "reason": null, "regression": false, "shipments": [],
            "warehouse": "w", "destination": {"street": "", "city": "", "region": "",
                "postal_code": "", "country": "US", "lat": 0.0, "lon": 0.0},
            "created_at": "2026-01-01T00:00:00Z", "promised_at": "2026-01-05T00:00:00Z",
            "history": {}, "malformed_planted": 0
        });
        let mut t: Truth = serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"));
        t.history = BTreeMap::from([(String::new(), events)]);
        t
    }

    #[test]
    fn only_orders_pending_past_four_hours_are_planted() {
        let by: Timestamp = "2026-01-02T00:00:00Z".parse().unwrap_or_default();
        let truths = vec![
            truth(
                "quick",
                vec![
                    ev("pending", "2026-01-01T08:00:00Z"),
                    ev("picked", "2026-01-01T11:59:00Z"),
                ],
            ),
            truth(
                "slow",
                vec![
                    ev("pending", "2026-01-01T08:00:00Z"),
                    ev("picked", "2026-01-01T12:30:00Z"),
                ],
            ),
            truth("stuck", vec![ev("pending", "2026-01-01T09:00:00Z")]),
            truth("late", vec![ev("pending", "2026-01-01T19:59:30Z")]),
            truth("future", vec![ev("pending", "2026-01-01T23:00:00Z")]),
        ];
        let m = SignedDuration::from_mins(1);
        let (p, undecided) = planted(&truths, by - m, by + m);
        let ids: Vec<&str> = p.iter().map(|p| p.order_id.as_str()).collect();
        assert_eq!(ids, ["slow", "stuck"]);
        assert_eq!(p[0].due, "2026-01-01T12:00:00Z".parse().unwrap_or_default());
        assert!(undecided.contains("late"), "{undecided:?}");
        assert!(!undecided.contains("future"));
    }

    #[test]
    fn misses_false_alerts_and_false_positives_are_told_apart() {
        let due: Timestamp = "2026-01-01T12:00:00Z".parse().unwrap_or_default();
        let planted = vec![
            Planted {
                tenant: "acme".into(),
                order_id: "A".into(),
                due,
                pending: ("wms".into(), "a".into()),
                known_at: None,
            },
            Planted {
                tenant: "acme".into(),
                order_id: "B".into(),
                due,
                pending: ("wms".into(), "b".into()),
                known_at: Some(due + SignedDuration::from_hours(1)),
            },
        ];
        let alert = |order: &str, opened: &str, fp: bool| {
            serde_json::json!({"tenant": "acme", "order_id": order, "rule": RULE,
                "opened_at": opened, "false_positive": fp})
        };
        let alerts = vec![
            alert("A", "2026-01-01T12:24:00Z", false),
            alert("C", "2026-01-01T12:00:00Z", false),
            alert("D", "2026-01-01T12:00:00Z", true),
        ];
        let d = compare(&planted, &HashSet::new(), &alerts, 1440.0);
        assert_eq!(d.exceptions_planted, 2);
        assert_eq!(d.exceptions_detected, 1);
        assert_eq!(d.false_alerts, 1);
        assert_eq!(d.false_positives_resolved, 1);
        assert_eq!(d.exceptions_known_late, 1);
        // 24 simulated minutes at a day per minute: one real second.
        assert!((d.detection_delay_s.max - 1.0).abs() < 1e-9, "{d:?}");
    }
}
