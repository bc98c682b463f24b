//! The dispatcher with the real transports (`Senders`): due rows become signed webhooks on a
//! loopback receiver, and the receiver's answers become marks.

mod common;
mod fakes;

use std::sync::Arc;
use std::time::Duration;

use common::Receiver;
use fakes::{State, World, t0};
use jiff::Timestamp;
use tokio::sync::oneshot;
use waypost_dispatch::{
    BreakerConfig, Clock, ConnectorsBreaker, Dispatcher, DispatcherConfig, Hooks, Outgoing, Policy,
    Prepared, Secret, Senders, WebhookSender, allow_all,
};
use waypost_store::{EndpointRow, OutboxMark, OutboxRow};

/// Sends every row as a webhook to `{base}/{trigger}` with the row's payload.
struct ToReceiver {
    base: String,
}

impl Policy for ToReceiver {
    fn prepare(&self, row: &OutboxRow, _endpoint: &EndpointRow, _now: Timestamp) -> Prepared {
        let secret = Secret::from_config("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        match secret {
            Ok(secret) => Prepared::Send {
                message: Outgoing::Webhook {
                    url: format!("{}/{}", self.base, row.trigger),
                    secrets: vec![secret],
                    body: row.payload.clone().into_bytes(),
                    timeout: Duration::from_secs(5),
                },
                on_sent: vec![],
            },
            Err(e) => Prepared::Skip(e.to_string()),
        }
    }
}

#[tokio::test]
async fn rows_become_signed_webhooks_and_answers_become_marks() {
    let rx = Receiver::start().await;
    let world = World::new(true, &[1, 2]);
    world.add(1, "A", 1, "hook", t0());
    world.add(2, "B", 2, "status/410", t0());
    world.add(3, "C", 1, "status/503", t0());
    let senders = Senders {
        webhook: WebhookSender::new(allow_all()).expect("webhook sender"),
        email: None,
        sms: None,
        wall: Arc::new(Wall),
    };
    let hooks = Hooks {
        source: world.clone(),
        sink: world.clone(),
        policy: Arc::new(ToReceiver { base: rx.url("") }),
        transport: Arc::new(senders),
        retry: Arc::new(|_, _| Some(Duration::from_secs(300))),
        clock: world.clone(),
        breakers: ConnectorsBreaker::factory(BreakerConfig {
            failures: 5,
            error_rate: 1.0,
            min_requests: 100,
            window: Duration::from_secs(60),
            cool_off: Duration::from_secs(60),
        }),
    };
    let dispatcher = Dispatcher::new(DispatcherConfig::default(), hooks);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(dispatcher.run(async move {
        let _ = stopped.await;
    }));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while world.marks_of(3).is_empty()
        || world.state(1) == State::Pending
        || world.state(2) == State::Pending
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "marks: {:?}",
            world.marks()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = stop.send(());
    task.await.expect("dispatcher");

    assert_eq!(world.state(1), State::Sent);
    assert_eq!(world.state(2), State::Dead);
    assert!(
        world
            .marks()
            .iter()
            .any(|m| matches!(m, OutboxMark::EndpointDisabled { endpoint_id: 2, .. }))
    );
    match &world.marks_of(3)[..] {
        [OutboxMark::Retry { attempt, next, .. }] => {
            assert_eq!(attempt.code, Some(503));
            assert_eq!(attempt.n, 1);
            assert_eq!(*next, t0() + jiff::SignedDuration::from_secs(300));
        }
        other => panic!("unexpected marks {other:?}"),
    }
    let hook = rx
        .seen()
        .into_iter()
        .find(|s| s.path == "/hook")
        .expect("webhook received");
    assert_eq!(
        hook.headers.get("webhook-id").and_then(|v| v.to_str().ok()),
        Some("msg_1")
    );
    assert!(hook.headers.contains_key("webhook-signature"));
}

/// The real clock: the receiver checks a signature's date against its own.
struct Wall;

impl Clock for Wall {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}
