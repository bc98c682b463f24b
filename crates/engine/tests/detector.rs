//! The detector against the real SQLite store with a clock moved by hand: rules fire at their
//! deadline and not before, once, survive a restart, and late facts resolve them.
#![allow(clippy::unwrap_used)]

use jiff::{SignedDuration, Timestamp};
use std::sync::Arc;
use std::time::Duration;
use waypost_domain::{Event, TenantId};
use waypost_engine::{Engine, EngineConfig, ManualClock};
use waypost_rules::{Command, RuleSet};
use waypost_store::{AlertQuery, AlertReads, AlertRow, Durability};
use waypost_store_sqlite as sqlite;

const RULES: &str = r#"
[[rules]]
name = "pending-4h"
kind = "dwell"
subject = "order"
statuses = ["pending"]
after = "4h"
severity = "high"

[[rules]]
name = "transit-silent-72h"
kind = "silence"
statuses = ["in_transit"]
after = "72h"

[[rules]]
name = "exception"
kind = "event"
statuses = ["exception"]
severity = "critical"

[[rules]]
name = "big-marketplace-order-pending"
kind = "dwell"
subject = "order"
statuses = ["pending"]
after = "1h"
severity = "critical"
[rules.filter]
channels = ["marketplace"]
min_order_value = 500.0

[[rules]]
name = "partner-quiet"
kind = "source"
after = "2h"
max_error_rate = 0.5
"#;

fn t0() -> Timestamp {
    "2026-11-20T08:00:00Z".parse().unwrap()
}

fn event(id: &str, order: &str, status: &str, at: Timestamp, track: Option<&str>) -> Event {
    let mut v = serde_json::json!({
        "source": "wms", "event_id": id, "order_id": order, "status": status,
        "occurred_at": at.to_string(),
    });
    if let Some(t) = track {
        v["tracking_number"] = t.into();
        v["source"] = "ups".into();
        v["carrier"] = "ups".into();
    }
    serde_json::from_value(v).unwrap()
}

struct World {
    engine: Option<Engine>,
    reader: sqlite::SqliteReader,
    clock: ManualClock,
    tenant: TenantId,
    _dir: Arc<tempfile::TempDir>,
}

fn start(dir: Arc<tempfile::TempDir>, clock: ManualClock) -> World {
    start_with(dir, clock, RULES)
}

fn start_with(dir: Arc<tempfile::TempDir>, clock: ManualClock, rules: &str) -> World {
    let (w, reader) = sqlite::open(dir.path(), Durability::Normal).unwrap();
    let config = EngineConfig {
        rules: Arc::new(RuleSet::from_toml(rules).unwrap()),
        ..EngineConfig::default()
    };
    let engine = Engine::start(Box::new(w), Arc::new(clock.clone()), config).unwrap();
    World {
        engine: Some(engine),
        reader,
        clock,
        tenant: TenantId::new("acme").unwrap(),
        _dir: dir,
    }
}

impl World {
    async fn send(&self, events: Vec<Event>) {
        let e = self.engine.as_ref().unwrap();
        e.intake
            .submit(self.tenant.clone(), events, self.clock.now_for_tests())
            .await
            .unwrap();
    }

    fn alerts(&self) -> Vec<AlertRow> {
        let q = AlertQuery {
            limit: 100,
            ..AlertQuery::default()
        };
        self.reader.alerts(&self.tenant, &q).unwrap()
    }

    /// Waits (really) until `f` holds of the alerts, or a few seconds pass.
    async fn wait_for(&self, f: impl Fn(&[AlertRow]) -> bool) -> Vec<AlertRow> {
        for _ in 0..300 {
            let a = self.alerts();
            if f(&a) {
                return a;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.alerts()
    }

    fn stop(mut self) -> Arc<tempfile::TempDir> {
        if let Some(e) = self.engine.take() {
            e.shutdown();
        }
        self._dir.clone()
    }
}

trait NowForTests {
    fn now_for_tests(&self) -> Timestamp;
}

impl NowForTests for ManualClock {
    fn now_for_tests(&self) -> Timestamp {
        waypost_engine::Clock::now(self)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dwell_fires_at_its_deadline_once_and_a_late_event_shows_a_false_positive() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let w = start(dir, ManualClock::new(t0()));
    w.send(vec![event("e1", "O-1", "pending", t0(), None)])
        .await;
    // One second short of four hours: nothing.
    w.clock
        .set(t0() + SignedDuration::from_hours(4) - SignedDuration::from_secs(1));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(w.alerts().is_empty(), "{:?}", w.alerts());
    // At the deadline: one alert.
    w.clock.set(t0() + SignedDuration::from_hours(4));
    let a = w.wait_for(|a| !a.is_empty()).await;
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0].rule, "pending-4h");
    assert_eq!(a[0].status, "open");
    assert_eq!(a[0].severity, "high");
    assert_eq!(a[0].due, Some(t0() + SignedDuration::from_hours(4)));
    // Time goes on: still one alert, never a second.
    w.clock.set(t0() + SignedDuration::from_hours(9));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(w.alerts().len(), 1);
    // A late `picked`, stamped three hours in: the order was never stuck.
    w.send(vec![event(
        "e2",
        "O-1",
        "picked",
        t0() + SignedDuration::from_hours(3),
        None,
    )])
    .await;
    let a = w
        .wait_for(|a| a.iter().all(|x| x.status == "resolved"))
        .await;
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0].status, "resolved", "{a:?}");
    assert!(a[0].false_positive, "{a:?}");
    let audit = w.reader.alert_audit(&w.tenant, a[0].id).unwrap();
    assert_eq!(audit.len(), 2, "{audit:?}");
    assert_eq!(audit[1].actor, "waypost");
    w.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlines_survive_a_restart_and_events_raise_at_once() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let clock = ManualClock::new(t0());
    let w = start(dir, clock.clone());
    w.send(vec![event("s1", "O-2", "in_transit", t0(), Some("1Z1"))])
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let dir = w.stop();
    // Restarted, the silence deadline is still pending and fires when due.
    let w = start(dir, clock.clone());
    clock.set(t0() + SignedDuration::from_hours(72));
    let a = w.wait_for(|a| !a.is_empty()).await;
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0].rule, "transit-silent-72h");
    assert_eq!(a[0].subject.track, "1Z1");
    // An exception raises immediately, and the same rule again only counts a trigger.
    let at = t0() + SignedDuration::from_hours(73);
    w.send(vec![event("s2", "O-2", "exception", at, Some("1Z1"))])
        .await;
    let a = w
        .wait_for(|a| a.iter().any(|x| x.rule == "exception"))
        .await;
    let ex: Vec<_> = a.iter().filter(|x| x.rule == "exception").collect();
    assert_eq!(ex.len(), 1, "{a:?}");
    assert_eq!(ex[0].severity, "critical");
    // The silence alert cleared: an event arrived.
    let silent: Vec<_> = a
        .iter()
        .filter(|x| x.rule == "transit-silent-72h")
        .collect();
    assert_eq!(silent[0].status, "resolved", "{a:?}");
    assert!(!silent[0].false_positive);
    // A person acknowledges, then resolves with a note.
    let e = w.engine.as_ref().unwrap();
    let id = ex[0].id;
    let acked = e
        .intake
        .alert_command(w.tenant.clone(), id, Command::Ack, "ana@acme".into())
        .await
        .unwrap();
    assert_eq!(acked.status, "acknowledged");
    let refused = e
        .intake
        .alert_command(w.tenant.clone(), id, Command::Ack, "ana@acme".into())
        .await;
    assert!(refused.is_err(), "{refused:?}");
    let done = e
        .intake
        .alert_command(
            w.tenant.clone(),
            id,
            Command::Resolve {
                note: "carrier called".into(),
            },
            "ana@acme".into(),
        )
        .await
        .unwrap();
    assert_eq!(done.status, "resolved");
    let other = TenantId::new("globex").unwrap();
    let stranger = e
        .intake
        .alert_command(other, id, Command::Ack, "eve".into())
        .await;
    assert!(stranger.is_err());
    let audit = w.reader.alert_audit(&w.tenant, id).unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(actions, ["open", "ack", "resolve"], "{audit:?}");
    w.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloaded_rules_apply_to_orders_already_open() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let clock = ManualClock::new(t0());
    // Started with no rules at all.
    let w = start_with(dir, clock.clone(), "");
    w.send(vec![event("r1", "O-3", "pending", t0(), None)])
        .await;
    w.send(vec![event("r2", "O-4", "pending", t0(), None)])
        .await;
    w.send(vec![event("r3", "O-4", "delivered", t0(), None)])
        .await;
    clock.set(t0() + SignedDuration::from_hours(5));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(w.alerts().is_empty());
    // The rules arrive: the open order is found, already overdue, and alerted; the delivered
    // one is not.
    let rules = Arc::new(RuleSet::from_toml(RULES).unwrap());
    w.engine
        .as_ref()
        .unwrap()
        .intake
        .reload_rules(rules)
        .await
        .unwrap();
    let a = w.wait_for(|a| !a.is_empty()).await;
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0].subject.order_id, "O-3");
    assert_eq!(a[0].rule, "pending-4h");
    // Back to no rules: no new deadlines; the open alert stays for a person.
    w.engine
        .as_ref()
        .unwrap()
        .intake
        .reload_rules(Arc::new(RuleSet::empty()))
        .await
        .unwrap();
    w.send(vec![event(
        "r4",
        "O-5",
        "pending",
        t0() + SignedDuration::from_hours(5),
        None,
    )])
    .await;
    clock.set(t0() + SignedDuration::from_hours(20));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(w.alerts().len(), 1);
    w.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snoozed_alert_wakes_when_its_snooze_ends_even_after_a_restart() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let clock = ManualClock::new(t0());
    let w = start(dir, clock.clone());
    w.send(vec![event("z1", "O-9", "pending", t0(), None)])
        .await;
    clock.set(t0() + SignedDuration::from_hours(4));
    let a = w.wait_for(|a| !a.is_empty()).await;
    let id = a[0].id;
    let until = t0() + SignedDuration::from_hours(6);
    let snoozed = w
        .engine
        .as_ref()
        .unwrap()
        .intake
        .alert_command(
            w.tenant.clone(),
            id,
            Command::Snooze { until },
            "ana".into(),
        )
        .await
        .unwrap();
    assert_eq!(snoozed.status, "snoozed");
    let dir = w.stop();
    let w = start(dir, clock.clone());
    // The re-scan at start finds the order still pending: its deadline fired already, so
    // it is not armed again.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(w.reader.alert_audit(&w.tenant, id).unwrap().len(), 2);
    clock.set(until - SignedDuration::from_secs(1));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(w.alerts()[0].status, "snoozed");
    clock.set(until);
    let a = w.wait_for(|a| a[0].status == "open").await;
    assert_eq!(a[0].status, "open", "{a:?}");
    let audit = w.reader.alert_audit(&w.tenant, id).unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(actions, ["open", "snooze", "wake"], "{audit:?}");
    w.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_silent_or_failing_raises_one_alert_until_it_recovers() {
    use waypost_engine::detector::SourceReport;
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let clock = ManualClock::new(t0());
    let w = start(dir, clock.clone());
    let intake = &w.engine.as_ref().unwrap().intake;
    let report = |last: Timestamp, errors: f64| {
        vec![SourceReport {
            tenant: w.tenant.clone(),
            source: "ups".into(),
            last_success: Some(last),
            last_event: Some(last),
            error_rate_5m: errors,
        }]
    };
    // Heard from an hour ago: fine.
    intake.report_sources(report(t0() - SignedDuration::from_hours(1), 0.0));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(w.alerts().is_empty());
    // Three hours of silence: one alert, however often it is reported.
    for _ in 0..3 {
        intake.report_sources(report(t0() - SignedDuration::from_hours(3), 0.0));
    }
    let a = w.wait_for(|a| !a.is_empty()).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let a2 = w.alerts();
    assert_eq!(a2.len(), 1, "{a2:?}");
    assert_eq!(a[0].rule, "partner-quiet");
    assert_eq!(a[0].subject.order_id, "source:ups");
    assert_eq!(a[0].carrier.as_deref(), Some("ups"));
    // It speaks again: resolved by itself.
    intake.report_sources(report(t0(), 0.0));
    let a = w.wait_for(|a| a[0].status == "resolved").await;
    assert_eq!(a[0].status, "resolved", "{a:?}");
    // Failing most requests: a new alert.
    intake.report_sources(report(t0(), 0.8));
    let a = w.wait_for(|a| a.iter().any(|x| x.status == "open")).await;
    assert_eq!(a.iter().filter(|x| x.status == "open").count(), 1, "{a:?}");
    w.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_on_channel_and_value_read_what_the_events_said() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let clock = ManualClock::new(t0());
    let w = start(dir, clock.clone());
    let with = |id: &str, order: &str, channel: &str, value: f64| {
        let mut e = event(id, order, "pending", t0(), None);
        e.attributes.insert("channel".into(), channel.into());
        e.attributes.insert("order_value".into(), value.into());
        e
    };
    w.send(vec![
        with("v1", "BIG", "marketplace", 900.0),
        with("v2", "SMALL", "marketplace", 20.0),
        with("v3", "WEB", "web", 900.0),
    ])
    .await;
    clock.set(t0() + SignedDuration::from_hours(1));
    w.wait_for(|a| !a.is_empty()).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let a: Vec<_> = w
        .alerts()
        .into_iter()
        .filter(|x| x.rule == "big-marketplace-order-pending")
        .collect();
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0].subject.order_id, "BIG");
    assert_eq!(a[0].order_value, Some(900.0));
    assert!(a[0].impact > 0.0);
    w.stop();
}

/// Each timed kind fires at its deadline to the second, not a second before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_timed_kind_fires_exactly_at_its_deadline() {
    const TIMED: &str = r#"
[[rules]]
name = "dwell-packed"
kind = "dwell"
statuses = ["packed"]
subject = "order"
after = "24h"

[[rules]]
name = "silent-transit"
kind = "silence"
statuses = ["in_transit"]
after = "72h"

[[rules]]
name = "promise-missed"
kind = "promise"
"#;
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let clock = ManualClock::new(t0());
    let w = start_with(dir, clock.clone(), TIMED);
    let h = SignedDuration::from_hours;
    let mut transit = event("t1", "T-1", "in_transit", t0(), Some("1ZT"));
    transit.promised_at =
        Some(waypost_domain::EventTime::parse(&(t0() + h(48)).to_string()).unwrap());
    w.send(vec![event("p1", "P-1", "packed", t0(), None), transit])
        .await;
    for (rule, due) in [
        ("dwell-packed", t0() + h(24)),
        ("promise-missed", t0() + h(48)),
        ("silent-transit", t0() + h(72)),
    ] {
        clock.set(due - SignedDuration::from_secs(1));
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(
            !w.alerts().iter().any(|a| a.rule == rule),
            "{rule} fired before {due}: {:?}",
            w.alerts()
        );
        clock.set(due);
        let a = w.wait_for(|a| a.iter().any(|x| x.rule == rule)).await;
        let fired: Vec<_> = a.iter().filter(|x| x.rule == rule).collect();
        assert_eq!(fired.len(), 1, "{rule}: {a:?}");
        assert_eq!(fired[0].due, Some(due), "{rule}");
        assert_eq!(
            fired[0].opened_at, due,
            "{rule}: raised at the deadline on the clock"
        );
    }
    w.stop();
}
