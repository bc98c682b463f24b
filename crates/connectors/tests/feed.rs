//! The WMS feed connector against a stand-in WMS on loopback: paging with a cursor saved only
//! after the sink took the page, resuming after a restart, ETags, a busy sink, and the
//! reconciler recovering every event of a webhook outage.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Fault, config, eventually, serve, tenant, wms_event};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use waypost_adapters::Source;
use waypost_connectors::{
    ConnectorConfig, Connectors, FileStateStore, Position, SinkError, StateStore,
};

fn feed_config(server: &common::Server) -> ConnectorConfig {
    let mut cfg = config(server, Source::Wms);
    cfg.interval = Duration::from_millis(100);
    cfg.catch_up_interval = Duration::from_millis(50);
    cfg
}

fn saved(store: &FileStateStore) -> Option<Position> {
    store
        .load("wms-acme", "feed")
        .unwrap()
        .map(|t| serde_json::from_str(&t).unwrap())
}

fn ids(range: std::ops::Range<usize>) -> BTreeSet<String> {
    range.map(|i| format!("evt-{i:05}")).collect()
}

#[tokio::test]
async fn pages_through_saves_the_cursor_after_the_sink_and_resumes_after_restart() {
    let server = serve().await;
    server.state.lock().unwrap().wms_events = (0..1_200).map(|i| wms_event(i, i as i64)).collect();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FileStateStore::open(dir.path()).unwrap());
    let sink = Arc::new(common::TestSink::default());
    // The first page is refused once: the cursor must not move past it.
    sink.script
        .lock()
        .unwrap()
        .push_back(SinkError::Unavailable {
            reason: "store restarting".into(),
        });
    let c = Connectors::start(
        vec![feed_config(&server)],
        sink.clone(),
        store.clone(),
        common::clocks(),
    )
    .unwrap();
    assert!(eventually(Duration::from_secs(10), || sink.ids().len() == 1_200).await);
    assert!(
        eventually(Duration::from_secs(2), || saved(&store)
            .is_some_and(|p| p.cursor.as_deref() == Some("c1200")))
        .await
    );
    c.shutdown().await;
    let afters: Vec<Option<String>> = server
        .requests("/wms/feed")
        .into_iter()
        .map(|r| r.after)
        .collect();
    assert_eq!(afters[0], None);
    assert_eq!(afters[1], None, "the refused page is asked for again");
    assert_eq!(afters[2].as_deref(), Some("c500"));
    assert_eq!(afters[3].as_deref(), Some("c1000"));
    assert_eq!(sink.doc_count(), 3, "three pages of 500, 500 and 200");
    let h = &c.snapshot()[0];
    assert_eq!(h.events, 1_200);
    assert_eq!(h.feed.as_ref().unwrap().cursor.as_deref(), Some("c1200"));

    // A restart resumes from the saved cursor: only what came after is fetched.
    server
        .state
        .lock()
        .unwrap()
        .wms_events
        .extend((1_200..1_210).map(|i| wms_event(i, i as i64)));
    let before = server.requests("/wms/feed").len();
    let sink2 = Arc::new(common::TestSink::default());
    let store2 = Arc::new(FileStateStore::open(dir.path()).unwrap());
    let c2 = Connectors::start(
        vec![feed_config(&server)],
        sink2.clone(),
        store2,
        common::clocks(),
    )
    .unwrap();
    assert!(eventually(Duration::from_secs(5), || sink2.ids().len() == 10).await);
    assert_eq!(sink2.ids(), ids(1_200..1_210));
    let first_after_restart = &server.requests("/wms/feed")[before];
    assert_eq!(first_after_restart.after.as_deref(), Some("c1200"));
    c2.shutdown().await;
}

#[tokio::test]
async fn sends_if_none_match_and_takes_a_304_as_nothing_new() {
    let server = serve().await;
    server.state.lock().unwrap().wms_events = (0..3).map(|i| wms_event(i, 0)).collect();
    let sink = Arc::new(common::TestSink::default());
    let store = Arc::new(waypost_connectors::MemoryStateStore::default());
    let c = Connectors::start(
        vec![feed_config(&server)],
        sink.clone(),
        store,
        common::clocks(),
    )
    .unwrap();
    let got_304 = || {
        server
            .requests("/wms/feed")
            .iter()
            .any(|r| r.if_none_match.as_deref() == Some("\"3-3\""))
    };
    assert!(eventually(Duration::from_secs(5), got_304).await);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sink.doc_count(), 1, "304s hand nothing to the sink");
    // Something new: the ETag no longer matches, the page comes whole.
    server
        .state
        .lock()
        .unwrap()
        .wms_events
        .push(wms_event(3, 5));
    assert!(eventually(Duration::from_secs(5), || sink.ids().len() == 4).await);
    let h = &c.snapshot()[0];
    assert_eq!(h.last_5m.errors, 0);
    c.shutdown().await;
}

#[tokio::test]
async fn a_busy_sink_keeps_the_cursor_and_the_page_is_sent_again() {
    let server = serve().await;
    server.state.lock().unwrap().wms_events = (0..10).map(|i| wms_event(i, 0)).collect();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FileStateStore::open(dir.path()).unwrap());
    let sink = Arc::new(common::TestSink::default());
    sink.script.lock().unwrap().push_back(SinkError::Busy {
        retry_after: Duration::from_millis(300),
    });
    let c = Connectors::start(
        vec![feed_config(&server)],
        sink.clone(),
        store.clone(),
        common::clocks(),
    )
    .unwrap();
    assert!(
        eventually(Duration::from_secs(2), || !server
            .requests("/wms/feed")
            .is_empty())
        .await
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(saved(&store), None, "nothing saved while the sink is busy");
    assert_eq!(
        server.requests("/wms/feed").len(),
        1,
        "waits the sink's retry_after"
    );
    assert!(eventually(Duration::from_secs(5), || sink.ids().len() == 10).await);
    let reqs = server.requests("/wms/feed");
    assert_eq!(reqs[1].after, None, "the same page again");
    assert!(reqs[1].at - reqs[0].at >= Duration::from_millis(300));
    assert_eq!(c.snapshot()[0].sink_busy, 1);
    assert!(
        eventually(Duration::from_secs(2), || saved(&store)
            .is_some_and(|p| p.cursor.as_deref() == Some("c10")))
        .await
    );
    c.shutdown().await;
}

#[tokio::test]
async fn a_garbled_page_is_a_dead_letter_and_asked_for_again() {
    let server = serve().await;
    server.state.lock().unwrap().wms_events = (0..5).map(|i| wms_event(i, 0)).collect();
    let sink = Arc::new(common::TestSink::default());
    let store = Arc::new(waypost_connectors::MemoryStateStore::default());
    server.push_faults([Fault::Garbled, Fault::Status(503)]);
    let c = Connectors::start(
        vec![feed_config(&server)],
        sink.clone(),
        store,
        common::clocks(),
    )
    .unwrap();
    assert!(eventually(Duration::from_secs(5), || sink.ids().len() == 5).await);
    let h = &c.snapshot()[0];
    assert_eq!(h.dead_letters, 1);
    assert!(
        server
            .requests("/wms/feed")
            .iter()
            .take(3)
            .all(|r| r.after.is_none())
    );
    c.shutdown().await;
}

/// Webhooks deliver for a while, then go quiet for "6 hours" of events that the WMS never
/// re-sends. The feed, polled rarely while webhooks flow, switches to catch-up and recovers
/// every one of them, late ones included.
#[tokio::test]
async fn after_a_webhook_outage_polling_recovers_every_event() {
    let server = serve().await;
    server.state.lock().unwrap().wms_events = (0..50).map(|i| wms_event(i, i as i64)).collect();
    let mut cfg = config(&server, Source::Wms);
    cfg.interval = Duration::from_secs(3_600);
    cfg.catch_up_interval = Duration::from_millis(50);
    cfg.webhook_quiet_after = Duration::from_millis(400);
    cfg.page_limit = 100;
    let sink = Arc::new(common::TestSink::default());
    let store = Arc::new(waypost_connectors::MemoryStateStore::default());
    let c = Connectors::start(vec![cfg], sink.clone(), store, common::clocks()).unwrap();
    let wms = tenant();
    // Webhooks flow: each new event is pushed (and seen) as it happens.
    let mut pushed = BTreeSet::new();
    for i in 50..70 {
        server
            .state
            .lock()
            .unwrap()
            .wms_events
            .push(wms_event(i, i as i64));
        pushed.insert(format!("evt-{i:05}"));
        c.webhook_seen(&wms, Source::Wms);
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    let polls_while_flowing = server.requests("/wms/feed").len();
    assert_eq!(
        polls_while_flowing, 1,
        "only the start-up poll while webhooks flow"
    );
    assert!(!c.snapshot()[0].feed.as_ref().unwrap().catching_up);
    // The outage: 360 events, one a minute for six hours, none pushed; every tenth arrives
    // late, stamped hours before its neighbours.
    let outage: Vec<serde_json::Value> = (70..430usize)
        .map(|i| {
            let minute = if i.is_multiple_of(10) {
                i as i64 - 240
            } else {
                i as i64
            };
            wms_event(i, minute)
        })
        .collect();
    server.state.lock().unwrap().wms_events.extend(outage);
    let everything = ids(0..430);
    assert!(
        eventually(Duration::from_secs(10), || sink
            .ids()
            .is_superset(&everything))
        .await,
        "missing: {:?}",
        everything
            .difference(&sink.ids())
            .take(5)
            .collect::<Vec<_>>()
    );
    let h = &c.snapshot()[0];
    assert!(h.feed.as_ref().unwrap().catching_up);
    assert!(h.lag_secs.is_some());
    // Recovered by polling: 430 events of which only 20 came by webhook.
    let by_poll: BTreeSet<String> = everything.difference(&pushed).cloned().collect();
    assert_eq!(by_poll.len(), 410);
    assert!(sink.ids().is_superset(&by_poll));
    c.shutdown().await;
}
