//! `waypost alerts`: the review queue from a terminal, a client of a running server's
//! `/v1/alerts` (the server is the single writer of alerts, through its engine).

use crate::client::{Target, http};
use crate::config::Config;
use anyhow::{Context, bail};
use serde_json::{Value, json};

#[derive(Debug, clap::Subcommand)]
pub enum AlertsCmd {
    /// The review queue: open, acknowledged and snoozed alerts, most important first.
    List {
        /// Statuses (open, acknowledged, snoozed, resolved, or all); repeatable, or commas.
        #[arg(long)]
        status: Vec<String>,
        /// Severities (info, low, medium, high, critical); repeatable, or commas.
        #[arg(long)]
        severity: Vec<String>,
        /// Rule names; repeatable, or commas.
        #[arg(long)]
        rule: Vec<String>,
        /// Carriers; repeatable, or commas.
        #[arg(long)]
        carrier: Vec<String>,
        /// Only this order's alerts.
        #[arg(long)]
        order: Option<String>,
        /// Only alerts opened at least this long ago, like 30m or 2h.
        #[arg(long)]
        min_age: Option<String>,
        /// impact (default), newest or oldest.
        #[arg(long)]
        sort: Option<String>,
        /// At most this many (default 100, up to 1000).
        #[arg(long)]
        limit: Option<usize>,
        /// One JSON object per alert and line instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        target: Target,
    },
    /// One alert with its audit trail.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        target: Target,
    },
    /// Acknowledge: you are on it.
    Ack {
        id: String,
        #[command(flatten)]
        who: Who,
    },
    /// Assign to a person or a team.
    Assign {
        id: String,
        #[arg(long)]
        to: String,
        #[command(flatten)]
        who: Who,
    },
    /// Snooze until an instant (--until RFC 3339) or for a while (--for 2h).
    Snooze {
        id: String,
        #[arg(long, required_unless_present = "for_", conflicts_with = "for_")]
        until: Option<String>,
        #[arg(long = "for", id = "for_")]
        for_: Option<String>,
        #[command(flatten)]
        who: Who,
    },
    /// Resolve with a note saying what was done.
    Resolve {
        id: String,
        #[arg(long)]
        note: String,
        #[command(flatten)]
        who: Who,
    },
}

/// Who acts on an alert: the key (always recorded) and optionally the person using it.
#[derive(Debug, clap::Args)]
pub struct Who {
    /// The person acting (an email, say), recorded in the audit trail beside the key's id.
    #[arg(long)]
    pub actor: Option<String>,
    /// Print the changed alert as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub target: Target,
}

pub async fn run(cfg: &Config, cmd: AlertsCmd) -> anyhow::Result<()> {
    let client = http()?;
    match cmd {
        AlertsCmd::List {
            status,
            severity,
            rule,
            carrier,
            order,
            min_age,
            sort,
            limit,
            json,
            target,
        } => {
            let mut query: Vec<(&str, String)> = Vec::new();
            for (name, values) in [
                ("status", &status),
                ("severity", &severity),
                ("rule", &rule),
                ("carrier", &carrier),
            ] {
                query.extend(values.iter().map(|v| (name, v.clone())));
            }
            query.extend(order.map(|o| ("order_id", o)));
            query.extend(min_age.map(|a| ("min_age", a)));
            query.extend(sort.map(|s| ("sort", s)));
            query.extend(limit.map(|l| ("limit", l.to_string())));
            let url = format!("{}/v1/alerts", target.base(cfg));
            let req = client.get(&url).query(&query).bearer_auth(&target.key);
            let page = answer(req, &url).await?;
            let alerts = page["alerts"].as_array().cloned().unwrap_or_default();
            if json {
                for a in &alerts {
                    println!("{a}");
                }
            } else {
                print!("{}", table(&alerts));
                if let Some(next) = page["next_offset"].as_u64() {
                    eprintln!(
                        "more alerts follow (offset {next}); narrow the filters or raise --limit"
                    );
                }
            }
            Ok(())
        }
        AlertsCmd::Show { id, json, target } => {
            let url = format!("{}/v1/alerts/{id}", target.base(cfg));
            let alert = answer(client.get(&url).bearer_auth(&target.key), &url).await?;
            if json {
                println!("{alert}");
            } else {
                print!("{}", detail(&alert));
            }
            Ok(())
        }
        AlertsCmd::Ack { id, who } => act(cfg, &client, &id, "ack", json!({}), who).await,
        AlertsCmd::Assign { id, to, who } => {
            act(cfg, &client, &id, "assign", json!({ "to": to }), who).await
        }
        AlertsCmd::Snooze {
            id,
            until,
            for_,
            who,
        } => {
            let body = match (until, for_) {
                (Some(u), _) => json!({ "until": u }),
                (None, Some(f)) => json!({ "for": f }),
                (None, None) => bail!("give --until or --for"),
            };
            act(cfg, &client, &id, "snooze", body, who).await
        }
        AlertsCmd::Resolve { id, note, who } => {
            act(cfg, &client, &id, "resolve", json!({ "note": note }), who).await
        }
    }
}

/// Sends one lifecycle command and prints the alert as it now is.
async fn act(
    cfg: &Config,
    client: &reqwest::Client,
    id: &str,
    command: &str,
    mut body: Value,
    who: Who,
) -> anyhow::Result<()> {
    if let Some(actor) = who.actor {
        body["actor"] = Value::String(actor);
    }
    let url = format!("{}/v1/alerts/{id}/{command}", who.target.base(cfg));
    let req = client.post(&url).bearer_auth(&who.target.key).json(&body);
    let alert = answer(req, &url).await?;
    if who.json {
        println!("{alert}");
    } else {
        println!(
            "alert {id}: {}{}",
            text(&alert["status"]),
            match alert["assignee"].as_str() {
                Some(a) => format!(", assigned to {a}"),
                None => String::new(),
            }
        );
    }
    Ok(())
}

/// The JSON of a successful answer; a problem's detail as the error otherwise.
pub(crate) async fn answer(req: reqwest::RequestBuilder, url: &str) -> anyhow::Result<Value> {
    let resp = req.send().await.with_context(|| format!("calling {url}"))?;
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    let value: Value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    if !status.is_success() {
        let detail = value["detail"]
            .as_str()
            .map_or(value.to_string(), str::to_owned);
        let fields: Vec<String> = value["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| {
                Some(format!(
                    "{}: {}",
                    e["field"].as_str()?,
                    e["message"].as_str()?
                ))
            })
            // A single-field problem's detail already says it.
            .filter(|line| !detail.contains(line.as_str()))
            .collect();
        if fields.is_empty() {
            bail!("the server answered {status}: {detail}");
        }
        bail!(
            "the server answered {status}: {detail}\n  {}",
            fields.join("\n  ")
        );
    }
    Ok(value)
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("-")
}

/// An RFC 3339 instant cut to the second: the table's width matters more than the fraction.
fn short_time(v: &Value) -> String {
    match v.as_str() {
        Some(t) => match t.parse::<jiff::Timestamp>() {
            Ok(ts) => ts.strftime("%Y-%m-%d %H:%M:%SZ").to_string(),
            Err(_) => t.to_owned(),
        },
        None => "-".into(),
    }
}

/// Cuts to `n` characters, marking the cut.
fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// The human-readable queue: one alert per line, columns padded to their widest cell.
fn table(alerts: &[Value]) -> String {
    if alerts.is_empty() {
        return "no alerts\n".into();
    }
    let header = [
        "ID", "SEVERITY", "STATUS", "RULE", "ORDER", "SHIPMENT", "OPENED", "ASSIGNEE", "SUMMARY",
    ];
    let rows: Vec<Vec<String>> = alerts
        .iter()
        .map(|a| {
            let status = match a["snoozed_until"].as_str() {
                Some(_) => format!("snoozed→{}", short_time(&a["snoozed_until"])),
                None => text(&a["status"]).to_owned(),
            };
            vec![
                id_text(&a["id"]),
                text(&a["severity"]).to_owned(),
                status,
                cut(text(&a["rule"]), 32),
                cut(text(&a["order_id"]), 24),
                cut(text(&a["tracking_number"]), 24),
                short_time(&a["opened_at"]),
                cut(text(&a["assignee"]), 20),
                cut(text(&a["summary"]), 60),
            ]
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<String>| {
        let last = cells.len() - 1;
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            out.push_str(c);
            if i < last {
                out.push_str(&" ".repeat(w - c.chars().count() + 2));
            }
        }
        out.push('\n');
    };
    line(header.iter().map(|h| h.to_string()).collect());
    for r in rows {
        line(r);
    }
    out
}

/// An alert's id as the server sent it: 32 hex digits (a number from older servers).
fn id_text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

/// One alert, field by field, then its audit trail.
fn detail(a: &Value) -> String {
    let mut out = format!(
        "alert {}  {}  {}\n  {}\n",
        id_text(&a["id"]),
        text(&a["severity"]),
        text(&a["status"]),
        text(&a["summary"])
    );
    let fields = [
        (
            "rule",
            format!("{} ({})", text(&a["rule"]), text(&a["kind"])),
        ),
        ("order", text(&a["order_id"]).to_owned()),
        ("shipment", text(&a["tracking_number"]).to_owned()),
        ("carrier", text(&a["carrier"]).to_owned()),
        ("opened", short_time(&a["opened_at"])),
        ("due", short_time(&a["due"])),
        ("triggers", a["triggers"].to_string()),
        ("assignee", text(&a["assignee"]).to_owned()),
        ("snoozed until", short_time(&a["snoozed_until"])),
        ("resolved", short_time(&a["resolved_at"])),
        (
            "resolution",
            match a["resolution"].as_object() {
                Some(r) => format!(
                    "by {}: {}{}",
                    text(&r["by"]),
                    text(&r["note"]),
                    if r["false_positive"] == true {
                        " (false positive)"
                    } else {
                        ""
                    }
                ),
                None => "-".into(),
            },
        ),
    ];
    for (name, value) in fields {
        if value != "-" {
            out.push_str(&format!("  {name:<14}{value}\n"));
        }
    }
    out.push_str("audit trail:\n");
    for e in a["audit"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "  {:>3}  {}  {:<12}  {:<24}  {}\n",
            e["n"],
            short_time(&e["at"]),
            text(&e["action"]),
            text(&e["actor"]),
            text(&e["detail"])
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_pads_columns_and_marks_snoozes() {
        let a = json!({
            "id": "5f1c0e8a9b7d4c3e2a1f0e9d8c7b6a59", "severity": "high", "status": "snoozed", "rule": "pending-4h",
            "order_id": "o-1", "tracking_number": null, "opened_at": "2026-11-27T10:00:00.5Z",
            "snoozed_until": "2026-11-27T12:00:00Z", "assignee": null,
            "summary": "pending for 4h",
        });
        let t = table(&[a]);
        let lines: Vec<&str> = t.lines().collect();
        // The id column is as wide as the 32-digit ids.
        assert!(
            lines[0].starts_with(&format!("ID{}SEVERITY  STATUS", " ".repeat(32))),
            "{t}"
        );
        assert!(lines[1].contains("snoozed→2026-11-27 12:00:00Z"), "{t}");
        assert!(
            lines[1].starts_with("5f1c0e8a9b7d4c3e2a1f0e9d8c7b6a59  high"),
            "{t}"
        );
        assert!(lines[1].contains("2026-11-27 10:00:00Z"), "{t}");
        assert_eq!(table(&[]), "no alerts\n");
        assert_eq!(cut("abcdef", 4), "abc…");
    }
}
