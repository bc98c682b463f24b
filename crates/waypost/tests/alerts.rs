//! Exception alerts end to end, against the real binary: a dwell deadline fires at its moment
//! and once, an event rule at once; people list, acknowledge, assign, snooze and resolve
//! through the API and the CLI with every step in the audit trail; alerts reach `/v1/stream`
//! and `/metrics`; rules reload over HTTP and on SIGHUP, and an invalid file changes nothing.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const RULES: &str = r#"
[[rules]]
name = "pending-4h"
kind = "dwell"
subject = "order"
statuses = ["pending"]
after = "4h"
severity = "high"

[[rules]]
name = "carrier-exception"
kind = "event"
statuses = ["exception"]
severity = "critical"
"#;

fn alerts_of(r: &Resp) -> Vec<Value> {
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["alerts"].as_array().unwrap().clone()
}

/// Polls `GET /v1/alerts?{query}` until `done` holds of the alerts; returns them.
async fn wait_alerts(
    s: &Server,
    key: &str,
    query: &str,
    within: Duration,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + within;
    loop {
        let alerts = alerts_of(&s.get(key, &format!("/v1/alerts?{query}")).await);
        if done(&alerts) {
            return alerts;
        }
        assert!(
            Instant::now() < deadline,
            "alerts ?{query} never as expected; last: {alerts:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn orders(alerts: &[Value]) -> Vec<&str> {
    alerts
        .iter()
        .map(|a| a["order_id"].as_str().unwrap())
        .collect()
}

fn cli(s: &Server, args: &[&str]) -> std::process::Output {
    std::process::Command::new(BIN)
        .arg("alerts")
        .args(args)
        .args(["--url", &s.base])
        .env("WAYPOST_LOG", "error")
        .output()
        .unwrap()
}

#[tokio::test]
async fn alerts_are_raised_once_reviewed_and_streamed() {
    let s = spawn_server_with_config(RULES).await;
    let writer = s.key("acme", "ingest,read");
    let operator = s.key("acme", "read,operate");
    let stranger = s.key("globex", "ingest,read,operate");
    let mut sse = Sse::connect(&s, &writer, None).await;

    // A pending order whose 4 h dwell ends 2 s from now, one already overdue, and a carrier
    // exception (an event rule: at once); globex has an overdue order of its own.
    let now = Timestamp::now();
    let sent = Instant::now();
    let soon = (now - SignedDuration::from_hours(4) + SignedDuration::from_secs(2)).to_string();
    let late = (now - SignedDuration::from_hours(5)).to_string();
    let mut exception = carrier_ev("c-1", "C", "1ZC", "exception", &now.to_string());
    exception["carrier"] = "ups".into();
    let r = s
        .post_events(
            &writer,
            &json!([
                ev("a-1", "A", "pending", &soon),
                ev("b-1", "B", "pending", &late),
                exception
            ]),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(
        s.post_events(&stranger, &json!([ev("g-1", "G", "pending", &late)]))
            .await
            .status,
        202
    );
    wait_alerts(&s, &writer, "", WAIT, |a| a.len() >= 2).await;
    if sent.elapsed() < Duration::from_millis(1500) {
        // Not before its deadline (checked only while the deadline is surely ahead).
        let r = s.get(&writer, "/v1/alerts?order_id=A&status=all").await;
        assert!(alerts_of(&r).is_empty(), "{}", r.body);
    }
    let a = wait_alerts(&s, &writer, "order_id=A", Duration::from_secs(8), |a| {
        !a.is_empty()
    })
    .await;
    assert_eq!(a.len(), 1, "{a:?}");
    let alert_a = a[0].clone();
    assert_eq!(alert_a["rule"], "pending-4h");
    assert_eq!(alert_a["status"], "open");
    assert_eq!(alert_a["severity"], "high");
    assert!(alert_a["tracking_number"].is_null());
    let due: Timestamp = alert_a["due"].as_str().unwrap().parse().unwrap();
    let opened: Timestamp = alert_a["opened_at"].as_str().unwrap().parse().unwrap();
    assert!(opened >= due, "opened {opened} before its deadline {due}");
    let id_a = alert_a["id"].as_str().unwrap().to_owned();
    // Still exactly one a moment later: the deadline fired once.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = s.get(&writer, "/v1/alerts?order_id=A&status=all").await;
    assert_eq!(alerts_of(&r).len(), 1, "{}", r.body);

    // Filters and sorts.
    let all = alerts_of(&s.get(&writer, "/v1/alerts").await);
    assert_eq!(orders(&all).len(), 3, "{all:?}");
    assert_eq!(all[0]["order_id"], "C", "critical first by impact: {all:?}");
    let r = s.get(&writer, "/v1/alerts?severity=critical").await;
    assert_eq!(orders(&alerts_of(&r)), ["C"]);
    let r = s
        .get(&writer, "/v1/alerts?rule=pending-4h&sort=newest")
        .await;
    assert_eq!(orders(&alerts_of(&r)), ["A", "B"]);
    let r = s
        .get(&writer, "/v1/alerts?rule=pending-4h&sort=oldest")
        .await;
    assert_eq!(orders(&alerts_of(&r)), ["B", "A"]);
    let r = s.get(&writer, "/v1/alerts?carrier=UPS").await;
    assert_eq!(orders(&alerts_of(&r)), ["C"]);
    let r = s
        .get(&writer, "/v1/alerts?status=open,acknowledged&min_age=1h")
        .await;
    assert!(alerts_of(&r).is_empty(), "{}", r.body);
    let r = s.get(&writer, "/v1/alerts?sort=oldest&limit=2").await;
    assert_eq!(alerts_of(&r).len(), 2);
    assert_eq!(r.body["next_offset"], 2);
    let r = s
        .get(&writer, "/v1/alerts?sort=oldest&limit=2&offset=2")
        .await;
    assert_eq!(orders(&alerts_of(&r)), ["A"]);
    assert!(r.body["next_offset"].is_null());
    for bad in [
        "status=closed",
        "sort=worst",
        "limit=0",
        "min_age=soon",
        "colour=red",
    ] {
        s.get(&writer, &format!("/v1/alerts?{bad}"))
            .await
            .assert_problem(400);
    }

    // The stream carried the alerts, between changes whose ids stay resumable.
    let seen = sse
        .collect_until(|c| {
            c.iter()
                .filter(|m| m.event == "alert")
                .map(|m| m.data["order_id"].as_str().unwrap())
                .collect::<std::collections::BTreeSet<_>>()
                .len()
                == 3
        })
        .await;
    assert!(seen.iter().all(|m| m.data["order_id"] != "G"), "{seen:?}");
    assert!(seen.iter().any(|m| m.event == "change" && m.id > 0));

    // The lifecycle: permissions and tenancy first.
    let ack = format!("/v1/alerts/{id_a}/ack");
    s.post(&writer, &ack, json!({})).await.assert_problem(403);
    s.post(&stranger, &ack, json!({})).await.assert_problem(404);
    s.get(&stranger, &format!("/v1/alerts/{id_a}"))
        .await
        .assert_problem(404);
    s.post(&operator, "/v1/alerts/999999/ack", json!({}))
        .await
        .assert_problem(404);
    s.post(
        &operator,
        &format!("/v1/alerts/{}/ack", "0".repeat(32)),
        json!({}),
    )
    .await
    .assert_problem(404);

    let r = s
        .post(&operator, &ack, json!({"actor": "alice@example.com"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "acknowledged");
    let r = s.post(&operator, &ack, json!({})).await;
    r.assert_problem(409);
    assert!(r.body["detail"].as_str().unwrap().contains("acknowledged"));
    let assign = format!("/v1/alerts/{id_a}/assign");
    let r = s.post(&operator, &assign, json!({})).await;
    r.assert_problem(422);
    assert_eq!(r.error_fields(), ["to"]);
    let r = s.post(&operator, &assign, json!({"to": "ops-team"})).await;
    assert_eq!(r.body["assignee"], "ops-team", "{}", r.body);
    let snooze = format!("/v1/alerts/{id_a}/snooze");
    let r = s.post(&operator, &snooze, json!({"for": "soon"})).await;
    r.assert_problem(422);
    assert_eq!(r.error_fields(), ["for"]);
    let r = s.post(&operator, &snooze, json!({"for": "2h"})).await;
    assert_eq!(r.body["status"], "snoozed", "{}", r.body);
    let until: Timestamp = r.body["snoozed_until"].as_str().unwrap().parse().unwrap();
    assert!(until.duration_since(Timestamp::now()).as_secs() > 7100);
    let resolve = format!("/v1/alerts/{id_a}/resolve");
    let r = s.post(&operator, &resolve, json!({"note": " "})).await;
    r.assert_problem(422);
    assert_eq!(r.error_fields(), ["note"]);
    let r = s
        .post(
            &operator,
            &resolve,
            json!({"note": "released to the warehouse"}),
        )
        .await;
    assert_eq!(r.body["status"], "resolved", "{}", r.body);
    assert_eq!(r.body["resolution"]["by"], "person");
    let r = s.post(&operator, &ack, json!({})).await;
    r.assert_problem(409);
    assert!(r.body["detail"].as_str().unwrap().contains("resolved"));

    let r = s.get(&writer, &format!("/v1/alerts/{id_a}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let audit = r.body["audit"].as_array().unwrap();
    let actions: Vec<&str> = audit
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["open", "ack", "assign", "snooze", "resolve"]);
    assert_eq!(audit[0]["actor"], "waypost");
    let by = audit[1]["actor"].as_str().unwrap();
    assert!(by.starts_with("alice@example.com via key_"), "{by}");
    assert!(audit[2]["actor"].as_str().unwrap().starts_with("key_"));
    assert!(audit[4]["detail"].as_str().unwrap().contains("released"));
    assert!(!orders(&alerts_of(&s.get(&writer, "/v1/alerts").await)).contains(&"A"));
    let r = s.get(&writer, "/v1/alerts?status=resolved").await;
    assert_eq!(orders(&alerts_of(&r)), ["A"]);
    sse.collect_until(|c| {
        c.iter().any(|m| {
            m.event == "alert" && m.data["id"] == id_a.as_str() && m.data["status"] == "resolved"
        })
    })
    .await;

    let metrics = s.metrics().await;
    let gauge = |status: &str, severity: &str| {
        metric_in(
            &metrics,
            &format!("waypost_alerts{{status=\"{status}\",severity=\"{severity}\"}}"),
        )
    };
    // Summed over tenants (globex's overdue order adds its own open high alert), and no
    // tenant is named unless the operator asks for it.
    assert_eq!(gauge("resolved", "high"), 1.0);
    assert_eq!(gauge("open", "high"), 2.0);
    assert_eq!(gauge("open", "critical"), 1.0);
    assert!(!metrics.contains("tenant="), "{metrics}");

    // The same exception again, once acknowledged: one more trigger on the same alert, which
    // keeps its status, and the stream says so.
    let id_c = alerts_of(&s.get(&writer, "/v1/alerts?order_id=C").await)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = s
        .post(&operator, &format!("/v1/alerts/{id_c}/ack"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut again = carrier_ev(
        "c-2",
        "C",
        "1ZC",
        "exception",
        &Timestamp::now().to_string(),
    );
    again["carrier"] = "ups".into();
    assert_eq!(s.post_events(&writer, &again).await.status, 202);
    let c = sse
        .collect_until(|c| {
            c.iter().any(|m| {
                m.event == "alert" && m.data["id"] == id_c.as_str() && m.data["triggers"] == 2
            })
        })
        .await;
    let last = c.iter().rev().find(|m| m.event == "alert").unwrap();
    assert_eq!(last.data["status"], "acknowledged", "{}", last.data);
    let r = s.get(&writer, "/v1/alerts?order_id=C&status=all").await;
    let c = alerts_of(&r);
    assert_eq!((c.len(), &c[0]["triggers"]), (1, &json!(2)), "{}", r.body);

    // The CLI, as a client of the same server.
    let out = cli(&s, &["list", "--key", &operator]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{table}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(table.starts_with("ID "), "{table}");
    assert!(
        table.contains("carrier-exception") && !table.contains("released"),
        "{table}"
    );
    let out = cli(
        &s,
        &[
            "list", "--status", "all", "--sort", "oldest", "--json", "--key", &operator,
        ],
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 3);
    let id_b = alerts_of(&s.get(&writer, "/v1/alerts?order_id=B").await)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = cli(
        &s,
        &[
            "ack",
            &id_b,
            "--actor",
            "bob@example.com",
            "--key",
            &operator,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("acknowledged"));
    let out = cli(&s, &["ack", &id_b, "--key", &operator]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("409"));
    let out = cli(&s, &["show", &id_b, "--key", &writer]);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("audit trail") && shown.contains("bob@example.com via key_"),
        "{shown}"
    );
}

#[tokio::test]
async fn rules_reload_over_http_and_on_sighup() {
    let mut s = spawn_server_with_config(RULES).await;
    let admin = s.key("acme", "ingest,read,admin");
    let reader = s.key("acme", "read");
    let config = s.dir.join("waypost.toml");
    s.post(&reader, "/v1/admin/reload", json!({}))
        .await
        .assert_problem(403);

    let held = r#"
[[rules]]
name = "held"
kind = "event"
statuses = ["on_hold"]
"#;
    std::fs::write(&config, format!("{RULES}{held}")).unwrap();
    let r = s.post(&admin, "/v1/admin/reload", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["rules"], 3);
    let now = Timestamp::now().to_string();
    s.post_events(&admin, &json!([ev("h-1", "H1", "on_hold", &now)]))
        .await;
    wait_alerts(&s, &admin, "rule=held", WAIT, |a| orders(a) == ["H1"]).await;

    // An invalid file: 422 naming the problem, and the rules in force stay.
    std::fs::write(
        &config,
        format!("{RULES}{held}\n[[rules]]\nname = \"broken\"\nkind = \"dwell\"\nstatuses = [\"packed\"]\nafter = \"soon\"\n"),
    )
    .unwrap();
    let r = s.post(&admin, "/v1/admin/reload", json!({})).await;
    r.assert_problem(422);
    assert!(
        r.body["detail"].as_str().unwrap().contains("soon"),
        "{}",
        r.body
    );
    assert!(!r.error_fields().is_empty());
    s.post_events(&admin, &json!([ev("h-2", "H2", "on_hold", &now)]))
        .await;
    wait_alerts(&s, &admin, "rule=held", WAIT, |a| a.len() == 2).await;

    // SIGHUP: `held` goes, `lost-it` comes.
    let lost = "\n[[rules]]\nname = \"lost-it\"\nkind = \"event\"\nstatuses = [\"lost\"]\n";
    std::fs::write(&config, format!("{RULES}{lost}")).unwrap();
    let pid = s.pid().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + WAIT;
    while !s.log_text().contains("rules reloaded on SIGHUP") {
        assert!(Instant::now() < deadline, "no reload: {}", s.log_text());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // One batch: by the time the lost order's alert shows, the held one would have too.
    s.post_events(
        &admin,
        &json!([
            ev("h-3", "H3", "on_hold", &now),
            ev("l-1", "L1", "lost", &now)
        ]),
    )
    .await;
    wait_alerts(&s, &admin, "rule=lost-it", WAIT, |a| orders(a) == ["L1"]).await;
    let r = s.get(&admin, "/v1/alerts?order_id=H3&status=all").await;
    assert!(alerts_of(&r).is_empty(), "{}", r.body);
    // The process survived the signal and still serves.
    s.restart().await;
    let r = s.get(&admin, "/v1/alerts?rule=held").await;
    assert_eq!(alerts_of(&r).len(), 2);
}
