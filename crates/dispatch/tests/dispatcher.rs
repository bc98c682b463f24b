//! The dispatcher loop against in-memory fakes (`fakes/`): FIFO per order, retries, 410,
//! the breaker and its recovery, concurrency limits, the policy's hooks, marks that fail to
//! be written, shutdown.

mod fakes;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fakes::{FakePolicy, Scripted, State, World, plus, t0};
use tokio::sync::{Notify, oneshot};
use waypost_dispatch::{
    Attempt, BreakerConfig, ConnectorsBreaker, Dispatcher, DispatcherConfig, Hooks, RetrySchedule,
    Verdict,
};
use waypost_store::OutboxMark;

fn breaker() -> BreakerConfig {
    BreakerConfig {
        failures: 2,
        error_rate: 1.0,
        min_requests: 1000,
        window: Duration::from_secs(600),
        cool_off: Duration::from_secs(60),
    }
}

struct Running {
    waker: Arc<Notify>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("dispatcher stops")
            .expect("dispatcher task");
    }
}

fn start(
    world: &Arc<World>,
    transport: &Arc<Scripted>,
    config: DispatcherConfig,
    retry: RetrySchedule,
) -> Running {
    start_with(world, transport, config, retry, breaker())
}

fn start_with(
    world: &Arc<World>,
    transport: &Arc<Scripted>,
    config: DispatcherConfig,
    retry: RetrySchedule,
    breaker: BreakerConfig,
) -> Running {
    let hooks = Hooks {
        source: world.clone(),
        sink: world.clone(),
        policy: Arc::new(FakePolicy),
        transport: transport.clone(),
        retry,
        clock: world.clone(),
        breakers: ConnectorsBreaker::factory(breaker),
    };
    let dispatcher = Dispatcher::new(config, hooks);
    let waker = dispatcher.waker();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(dispatcher.run(async move {
        let _ = stopped.await;
    }));
    Running {
        waker,
        stop: Some(stop),
        task,
    }
}

fn every_10s() -> RetrySchedule {
    Arc::new(|n, _| Some(Duration::from_secs(10 * u64::from(n))))
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn one_in_flight_per_order_and_in_order() {
    // The fake outbox does NOT apply the FIFO rule: the loop alone must keep it.
    let world = World::new(false, &[1]);
    for (id, order) in [(1, "A"), (2, "A"), (3, "B"), (4, "A"), (5, "B")] {
        world.add(id, order, 1, "shipped", t0());
    }
    let transport = Scripted::with_delay(Duration::from_millis(20));
    let run = start(&world, &transport, DispatcherConfig::default(), every_10s());
    wait_for("all sent", || world.all_settled()).await;
    run.stop().await;
    assert_eq!(transport.same_order_overlaps.load(Ordering::SeqCst), 0);
    let sent = transport.sent();
    let a: Vec<i64> = sent
        .iter()
        .copied()
        .filter(|id| [1, 2, 4].contains(id))
        .collect();
    let b: Vec<i64> = sent
        .iter()
        .copied()
        .filter(|id| [3, 5].contains(id))
        .collect();
    assert_eq!((a, b), (vec![1, 2, 4], vec![3, 5]));
    assert!(
        transport.max_global.load(Ordering::SeqCst) >= 2,
        "orders A and B in parallel"
    );
}

/// What the retry schedule was asked: (attempts done, Retry-After).
type Asked = (u32, Option<Duration>);

#[tokio::test]
async fn retries_follow_the_schedule_then_dead_letter() {
    let world = World::new(true, &[1]);
    world.add(1, "A", 1, "shipped", t0());
    world.add(2, "A", 1, "delivered", t0());
    let transport = Scripted::with_delay(Duration::ZERO);
    transport.then(
        1,
        Attempt::retry(Some(503), Duration::ZERO, "http 503: down"),
    );
    let mut busy = Attempt::retry(Some(429), Duration::ZERO, "http 429: slow down");
    busy.retry_after = Some("7".to_owned());
    transport.then(1, busy);
    transport.then(1, Attempt::retry(None, Duration::ZERO, "connect: refused"));
    let asked: Arc<Mutex<Vec<Asked>>> = Arc::default();
    let log = asked.clone();
    let retry: RetrySchedule = Arc::new(move |n, after| {
        log.lock().expect("log").push((n, after));
        (n < 3).then(|| after.unwrap_or(Duration::from_secs(10)))
    });
    // A breaker that stays closed: this test is about the schedule.
    let patient = BreakerConfig {
        failures: 100,
        ..breaker()
    };
    let run = start_with(
        &world,
        &transport,
        DispatcherConfig::default(),
        retry,
        patient,
    );

    wait_for("first retry", || world.marks_of(1).len() == 1).await;
    assert_eq!(world.state(2), State::Pending, "row 2 waits behind row 1");
    world.advance(10);
    run.waker.notify_one();
    wait_for("second retry", || world.marks_of(1).len() == 2).await;
    world.advance(7);
    run.waker.notify_one();
    wait_for("row 1 dead, row 2 sent", || world.all_settled()).await;
    run.stop().await;

    let marks = world.marks_of(1);
    match &marks[..] {
        [
            OutboxMark::Retry {
                attempt: a1,
                next: n1,
                ..
            },
            OutboxMark::Retry {
                attempt: a2,
                next: n2,
                ..
            },
            OutboxMark::Dead {
                attempt: Some(a3), ..
            },
        ] => {
            assert_eq!((a1.n, a2.n, a3.n), (1, 2, 3));
            assert_eq!((a1.code, a2.code, a3.code), (Some(503), Some(429), None));
            assert_eq!(*n1, plus(t0(), 10));
            assert_eq!(*n2, plus(t0(), 17));
            assert_eq!(a3.error.as_deref(), Some("connect: refused"));
        }
        other => panic!("unexpected marks {other:?}"),
    }
    assert_eq!(
        *asked.lock().expect("log"),
        vec![(1, None), (2, Some(Duration::from_secs(7))), (3, None)]
    );
    assert_eq!(world.state(2), State::Sent);
    assert_eq!(transport.sent(), vec![1, 1, 1, 2]);
}

#[tokio::test]
async fn gone_disables_the_endpoint() {
    let world = World::new(true, &[1]);
    world.add(1, "A", 1, "shipped", t0());
    world.add(2, "B", 1, "shipped", plus(t0(), 5));
    let transport = Scripted::with_delay(Duration::ZERO);
    let mut gone = Attempt::retry(Some(410), Duration::ZERO, "http 410: gone");
    gone.verdict = Verdict::Gone;
    transport.then(1, gone);
    let run = start(&world, &transport, DispatcherConfig::default(), every_10s());
    wait_for("row 1 dead", || world.state(1) == State::Dead).await;
    world.advance(5);
    run.waker.notify_one();
    wait_for("row 2 skipped", || world.state(2) == State::Skipped).await;

    assert!(world.marks().contains(&OutboxMark::EndpointDisabled {
        endpoint_id: 1,
        reason: "410 Gone from endpoint ep1".to_owned(),
    }));
    match &world.marks_of(2)[..] {
        [OutboxMark::Skipped { why, .. }] => {
            assert_eq!(why, "endpoint ep1 is disabled: 410 Gone from endpoint ep1")
        }
        other => panic!("unexpected marks {other:?}"),
    }
    assert_eq!(
        transport.sent(),
        vec![1],
        "nothing more goes to a gone endpoint"
    );

    // An operator enables it again: it is obeyed.
    if let Some(e) = world.endpoints.lock().expect("endpoints").get_mut(&1) {
        e.enabled = true;
    }
    world.add(3, "C", 1, "shipped", plus(t0(), 5));
    run.waker.notify_one();
    wait_for("row 3 sent", || world.state(3) == State::Sent).await;
    run.stop().await;
}

#[tokio::test]
async fn breaker_opens_defers_and_recovery_is_reported() {
    let world = World::new(true, &[1]);
    for (id, order) in [(1, "A"), (2, "B"), (3, "C")] {
        world.add(id, order, 1, "shipped", t0());
    }
    let transport = Scripted::with_delay(Duration::ZERO);
    for _ in 0..2 {
        transport.then(1, Attempt::retry(Some(503), Duration::ZERO, "http 503"));
    }
    let config = DispatcherConfig {
        per_endpoint: 1,
        ..DispatcherConfig::default()
    };
    let hour: RetrySchedule = Arc::new(|_, _| Some(Duration::from_secs(3600)));
    let run = start(&world, &transport, config, hour);
    wait_for("row 3 deferred", || !world.marks_of(3).is_empty()).await;
    assert_eq!(
        world.marks_of(3),
        vec![OutboxMark::Defer {
            id: 3,
            next: plus(t0(), 60)
        }],
        "two failures open the breaker for its cool-off"
    );
    assert_eq!(transport.sent(), vec![1, 2]);

    world.advance(60);
    run.waker.notify_one();
    wait_for("trial sent", || world.state(3) == State::Sent).await;
    // The recovery makes rows 1 and 2 (backing off for an hour) due now.
    wait_for("backlog flushed", || world.all_settled()).await;
    run.stop().await;
    let recovered: Vec<OutboxMark> = world
        .marks()
        .into_iter()
        .filter(|m| matches!(m, OutboxMark::EndpointRecovered { .. }))
        .collect();
    assert_eq!(
        recovered,
        vec![OutboxMark::EndpointRecovered {
            endpoint_id: 1,
            now: plus(t0(), 60)
        }]
    );
    assert_eq!(transport.sent(), vec![1, 2, 3, 1, 2]);
}

#[tokio::test]
async fn a_flood_respects_the_concurrency_limits() {
    let world = World::new(true, &[1, 2, 3]);
    for id in 1..=300 {
        world.add(id, &format!("O{id}"), id % 3 + 1, "shipped", t0());
    }
    let transport = Scripted::with_delay(Duration::from_millis(5));
    let config = DispatcherConfig {
        concurrency: 8,
        per_endpoint: 3,
        fetch_limit: 50,
        ..DispatcherConfig::default()
    };
    let run = start(&world, &transport, config, every_10s());
    wait_for("all 300 sent", || world.all_settled()).await;
    run.stop().await;
    let max = transport.max_global.load(Ordering::SeqCst);
    assert!((2..=8).contains(&max), "max in flight {max}");
    assert!(transport.max_per_endpoint.load(Ordering::SeqCst) <= 3);
    let mut sent = transport.sent();
    sent.sort_unstable();
    assert_eq!(sent, (1..=300).collect::<Vec<_>>(), "each exactly once");
}

#[tokio::test]
async fn policy_defers_skips_and_adds_spend() {
    let world = World::new(true, &[1]);
    world.add(1, "A", 1, "quiet", t0());
    world.add(2, "B", 1, "optout", t0());
    world.add(3, "C", 1, "spend", t0());
    let transport = Scripted::with_delay(Duration::ZERO);
    let run = start(&world, &transport, DispatcherConfig::default(), every_10s());
    wait_for("three marks", || {
        [1, 2, 3].iter().all(|&id| !world.marks_of(id).is_empty())
    })
    .await;
    run.stop().await;
    assert_eq!(
        world.marks_of(1),
        vec![OutboxMark::Defer {
            id: 1,
            next: plus(t0(), 3600)
        }]
    );
    assert_eq!(
        world.marks_of(2),
        vec![OutboxMark::Skipped {
            id: 2,
            why: "customer opted out of sms".to_owned()
        }]
    );
    assert_eq!(world.state(3), State::Sent);
    assert!(
        world
            .marks()
            .iter()
            .any(|m| matches!(m, OutboxMark::SpendAdd { segments: 1, .. }))
    );
    assert_eq!(transport.sent(), vec![3]);
}

#[tokio::test]
async fn rows_stay_in_flight_until_their_marks_are_written() {
    let world = World::new(true, &[1]);
    world.add(1, "A", 1, "shipped", t0());
    world.add(2, "B", 1, "shipped", t0());
    world.fail_reports.store(3, Ordering::SeqCst);
    let transport = Scripted::with_delay(Duration::ZERO);
    let run = start(&world, &transport, DispatcherConfig::default(), every_10s());
    // Poke the loop while the writer refuses: due rows are re-read but not re-sent.
    for _ in 0..5 {
        run.waker.notify_one();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    wait_for("marks written", || world.all_settled()).await;
    run.stop().await;
    let mut sent = transport.sent();
    sent.sort_unstable();
    assert_eq!(sent, vec![1, 2], "each sent once");
}

#[tokio::test]
async fn shutdown_waits_for_sends_and_reports_them() {
    let world = World::new(true, &[1]);
    world.add(1, "A", 1, "shipped", t0());
    let transport = Scripted::with_delay(Duration::from_millis(100));
    let run = start(&world, &transport, DispatcherConfig::default(), every_10s());
    wait_for("send started", || !transport.sent().is_empty()).await;
    run.stop().await;
    assert_eq!(world.state(1), State::Sent);
}
