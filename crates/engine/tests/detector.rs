//! The detector against the real SQLite store with a clock moved by hand: rules fire at their
//! deadline and not before, once, survive a restart, and late facts resolve them.
#![allow(clippy::unwrap_used)]

use jiff::{SignedDuration, Timestamp};
use std::sync::Arc;
use std::time::Duration;
use waypost_domain::{Event, TenantId};
use waypost_engine::{Engine, EngineConfig, ManualClock};
use waypost_rules::{Command, RuleSet};
use waypost_store::{AlertQuery, AlertRow, ReadStore, sqlite};

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
    let (w, reader) = sqlite::open(dir.path(), sqlite::Durability::Normal).unwrap();
    let config = EngineConfig {
        rules: Arc::new(RuleSet::from_toml(RULES).unwrap()),
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
