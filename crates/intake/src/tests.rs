//! The service against a real engine on a temporary SQLite store, with a clock held still.
#![allow(clippy::unwrap_used)]

use super::*;
use jiff::Timestamp;
use std::time::Duration;
use waypost_adapters::Source;
use waypost_engine::{Engine, EngineConfig, ManualClock};
use waypost_store::Durability;
use waypost_store_sqlite as sqlite;

fn t0() -> Timestamp {
    "2026-11-20T08:00:00Z".parse().unwrap()
}

struct World {
    engine: Engine,
    intake: Intake,
    reader: Arc<dyn ReadStore>,
    tenant: TenantId,
    _dir: tempfile::TempDir,
}

fn start(max_queue_events: u64) -> World {
    let dir = tempfile::tempdir().unwrap();
    let (w, reader) = sqlite::open(dir.path(), Durability::Normal).unwrap();
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(t0()));
    let config = EngineConfig {
        max_queue_events,
        ..EngineConfig::default()
    };
    let engine = Engine::start(Box::new(w), clock.clone(), config).unwrap();
    let reader: Arc<dyn ReadStore> = Arc::new(reader);
    let mappings = Arc::new(RwLock::new(Arc::new(MappingSet::builtin().unwrap())));
    let intake = Intake::new(
        engine.intake.clone(),
        reader.clone(),
        mappings,
        clock,
        InputLimits::default(),
        engine.metrics.clone(),
    );
    World {
        engine,
        intake,
        reader,
        tenant: TenantId::new("acme").unwrap(),
        _dir: dir,
    }
}

impl World {
    /// The engine waits for every clone of its handle: the intake's goes first.
    fn stop(self) {
        let World { engine, intake, .. } = self;
        drop(intake);
        engine.shutdown();
    }

    fn doc(&self, source: Source, body: Vec<u8>) -> DocumentIn {
        DocumentIn {
            tenant: self.tenant.clone(),
            source,
            body: body.into(),
            received_at: self.intake.now(),
            origin: "test".to_owned(),
            replays_document: None,
        }
    }

    /// Waits (really) until the order is applied, or a few seconds pass.
    async fn order(&self, id: &str) -> Option<waypost_store::OrderRecord> {
        for _ in 0..300 {
            if let Some(o) = self.reader.order(&self.tenant, id).unwrap() {
                return Some(o);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        None
    }
}

/// A UPS Track API response with one activity per (code, date).
fn ups_doc(tracking: &str, activities: &[(&str, &str)]) -> Vec<u8> {
    let acts: Vec<serde_json::Value> = activities
        .iter()
        .map(|(code, date)| {
            serde_json::json!({
                "location": { "address": { "city": "NEWARK", "stateProvince": "NJ", "countryCode": "US" } },
                "status": { "type": "I", "description": "Origin Scan", "code": code },
                "date": date, "time": "101500", "gmtOffset": "-04:00"
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "trackResponse": { "shipment": [ { "package": [ { "trackingNumber": tracking, "activity": acts } ] } ] }
    }))
    .unwrap()
}

fn event(id: &str, order: &str, status: &str, track: Option<&str>) -> Event {
    let mut v = serde_json::json!({
        "source": "wms", "event_id": id, "order_id": order, "status": status,
        "occurred_at": "2026-11-20T07:00:00Z",
    });
    if let Some(t) = track {
        v["tracking_number"] = t.into();
        v["carrier"] = "ups".into();
    }
    serde_json::from_value(v).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_is_stored_once_and_counted_as_a_duplicate_after() {
    let w = start(10_000);
    let doc = ups_doc("1Z999AA10000000001", &[("OR", "20261119")]);
    let r = w
        .intake
        .document(w.doc(Source::Ups, doc.clone()))
        .await
        .unwrap();
    assert_eq!((r.events, r.accepted, r.duplicates), (1, 1, 0), "{r:?}");
    assert!(r.newest_event_at.is_some());
    assert!(!r.replayed && r.unreadable.is_empty());
    let again = w.intake.document(w.doc(Source::Ups, doc)).await.unwrap();
    assert_eq!((again.accepted, again.duplicates), (0, 1), "{again:?}");
    w.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_document_is_kept_as_a_dead_letter_and_its_replay_stores_nothing() {
    let w = start(10_000);
    let e = w
        .intake
        .document(w.doc(Source::Ups, b"not a tracking response".to_vec()))
        .await
        .unwrap_err();
    assert!(e.is_unreadable(), "{e}");
    assert!(
        matches!(e, IntakeError::Unreadable { kept: true, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("/v1/dead-letters"), "{e}");
    let letters = w.reader.rejected(&w.tenant, 0, 10).unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].origin.as_deref(), Some("test"));
    assert_eq!(w.engine.metrics.rejected(Rejection::InvalidEvent), 1);

    let mut replay = w.doc(Source::Ups, letters[0].body.clone());
    replay.replays_document = Some(letters[0].id);
    let e = w.intake.document(replay).await.unwrap_err();
    assert!(matches!(e, IntakeError::ReplayUnreadable { .. }), "{e}");
    assert!(e.to_string().ends_with("the replay stored nothing"), "{e}");
    w.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_implausible_time_makes_one_event_unreadable_and_keeps_the_rest() {
    let w = start(10_000);
    let doc = ups_doc(
        "1Z999AA10000000002",
        &[("OR", "20261119"), ("AR", "30000411")],
    );
    let r = w.intake.document(w.doc(Source::Ups, doc)).await.unwrap();
    assert_eq!((r.events, r.accepted), (1, 1), "{r:?}");
    assert_eq!(r.unreadable.len(), 1, "{r:?}");
    assert!(r.unreadable[0].contains("event 1"), "{r:?}");
    let letters = w.reader.rejected(&w.tenant, 0, 10).unwrap();
    assert!(
        letters[0]
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("1 of 2 events could not be read")),
        "{letters:?}"
    );
    w.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bare_carrier_update_joins_the_order_that_named_its_tracking_number() {
    let w = start(10_000);
    let shipped = event("e1", "ORD-1", "shipped", Some("1Z999AA10000000003"));
    let r = w
        .intake
        .events(w.tenant.clone(), vec![shipped], w.intake.now())
        .await
        .unwrap();
    assert_eq!(r.accepted, 1);
    assert!(w.order("ORD-1").await.is_some());
    let doc = ups_doc("1Z999AA10000000003", &[("OR", "20261120")]);
    w.intake.document(w.doc(Source::Ups, doc)).await.unwrap();
    // Applied to ORD-1 (two events in its timeline), not to an order named by the number.
    for _ in 0..300 {
        if w.reader.timeline(&w.tenant, "ORD-1").unwrap().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(w.reader.timeline(&w.tenant, "ORD-1").unwrap().len(), 2);
    assert!(
        w.reader
            .order(&w.tenant, "1Z999AA10000000003")
            .unwrap()
            .is_none()
    );
    w.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_refuses_the_batch_and_counts_it() {
    let w = start(0);
    let e = w
        .intake
        .events(
            w.tenant.clone(),
            vec![
                event("e1", "ORD-1", "pending", None),
                event("e2", "ORD-2", "pending", None),
            ],
            w.intake.now(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.queue_full_retry_after(), Some(1), "{e}");
    assert_eq!(w.engine.metrics.rejected(Rejection::Throttled), 2);
    // A document too: nothing stored, and not kept (the store was not asked).
    let doc = ups_doc("1Z999AA10000000004", &[("OR", "20261119")]);
    let e = w
        .intake
        .document(w.doc(Source::Ups, doc))
        .await
        .unwrap_err();
    assert!(matches!(e, IntakeError::QueueFull { .. }), "{e}");
    assert!(!e.is_unreadable());
    w.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drop_folder_sorts_its_files_by_outcome() {
    let w = start(10_000);
    let dir = tempfile::tempdir().unwrap();
    let folder = drop_folder::DropFolder {
        dir: dir.path().join("in"),
        tenant: w.tenant.clone(),
        source: Source::Ups,
        every: Duration::from_millis(20),
    };
    std::fs::create_dir_all(&folder.dir).unwrap();
    std::fs::write(
        folder.dir.join("a.json"),
        ups_doc("1Z999AA10000000005", &[("OR", "20261119")]),
    )
    .unwrap();
    std::fs::write(folder.dir.join("b.json"), "garbage").unwrap();
    std::fs::write(folder.dir.join(".c.tmp"), "half written").unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(drop_folder::watch(
        w.intake.clone(),
        folder.clone(),
        stopped,
    ));
    let (done, rejected) = (folder.dir.join("done"), folder.dir.join("rejected"));
    for _ in 0..500 {
        if done.join("a.json").exists() && rejected.join("b.json.problem.txt").exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(done.join("a.json").exists());
    let problem = std::fs::read_to_string(rejected.join("b.json.problem.txt")).unwrap();
    assert!(problem.contains("nothing of it was applied"), "{problem}");
    assert!(folder.dir.join(".c.tmp").exists(), "a dot-file is not read");
    stop.send(true).unwrap();
    task.await.unwrap();
    w.stop();
}
