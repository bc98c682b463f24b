//! Black-box tests of the notification receivers: signed webhooks to the portal, the Twilio
//! gateway, a raw SMTP dialogue, and the injected failures and outage, over the network as
//! Waypost's dispatcher would speak to them.

#![allow(clippy::unwrap_used)]

use jiff::{SignedDuration, Timestamp};
use reqwest::Client;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use waypost_adapters::signature::{Scheme, Secret, sign};
use waypost_sim::{Channel, ReceiverOutage, ReceiversConfig, Sim, SimConfig};

/// The real clock (a library takes its clock; only the binary and tests read the system's).
struct Wall;

impl waypost_domain::Clock for Wall {
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }
}

fn wall() -> std::sync::Arc<dyn waypost_domain::Clock> {
    std::sync::Arc::new(Wall)
}

const FORM: &str = "application/x-www-form-urlencoded";

fn quiet() -> ReceiversConfig {
    ReceiversConfig {
        error_rate: 0.0,
        outage: None,
        ..ReceiversConfig::default()
    }
}

async fn sim_with(receivers: ReceiversConfig, speed: f64, seed: u64) -> Sim {
    Sim::start(
        SimConfig {
            seed,
            orders: 3,
            speed,
            receivers: Some(receivers),
            ..SimConfig::default()
        },
        wall(),
    )
    .await
    .unwrap()
}

fn payload(order: &str, seq: u64, status: &str) -> Vec<u8> {
    json!({
        "type": "order.status_changed",
        "timestamp": Timestamp::now(),
        "data": {"tenant": "acme", "order_id": order, "seq": seq, "status": status,
                 "previous_status": "pending", "changed_at": Timestamp::now()}
    })
    .to_string()
    .into_bytes()
}

/// POSTs `body` to acme's portal signed with `secret` under delivery id `id`.
async fn webhook(c: &Client, sim: &Sim, secret: &str, id: &str, body: Vec<u8>) -> u16 {
    let r = sim.receivers().unwrap();
    let secret = Secret::from_config(secret).unwrap();
    let headers = sign(
        &Scheme::StandardWebhooks,
        &secret,
        id,
        &body,
        Timestamp::now(),
    )
    .unwrap();
    let mut req = c
        .post(r.portal_url("acme", "webhook"))
        .header("content-type", "application/json")
        .body(body);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    req.send().await.unwrap().status().as_u16()
}

async fn acme_webhook(c: &Client, sim: &Sim, id: &str, body: Vec<u8>) -> u16 {
    let secret = sim
        .receivers()
        .unwrap()
        .webhook_secret("acme")
        .unwrap()
        .to_owned();
    webhook(c, sim, &secret, id, body).await
}

#[tokio::test]
async fn signed_webhooks_are_accepted_once_and_duplicates_and_disorder_counted() {
    let sim = sim_with(quiet(), 1440.0, 1).await;
    let c = client();
    assert_eq!(
        acme_webhook(&c, &sim, "msg_a", payload("SO-1", 5, "shipped")).await,
        200
    );
    assert_eq!(
        acme_webhook(&c, &sim, "msg_a", payload("SO-1", 5, "shipped")).await,
        200
    );
    assert_eq!(
        acme_webhook(&c, &sim, "msg_b", payload("SO-1", 3, "packed")).await,
        200
    );
    // A bad signature: another secret.
    let other = waypost_sim::receivers::portal_secret(99, "acme");
    assert_eq!(
        webhook(&c, &sim, &other, "msg_c", payload("SO-1", 6, "delivered")).await,
        401
    );
    // Unsigned, and an unknown tenant.
    let r = sim.receivers().unwrap();
    let unsigned = c
        .post(r.portal_url("acme", "webhook"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
    let nobody = c
        .post(r.portal_url("nobody", "webhook"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(nobody.status(), 404);

    let report: Value = c
        .get(format!("{}/receivers/report", sim.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let w = &report["webhook"];
    assert_eq!(w["received"], 6, "{report}");
    assert_eq!(w["accepted"], 2);
    assert_eq!(w["duplicated"], 1);
    assert_eq!(w["out_of_order"], 1);
    assert_eq!(w["bad_signatures"], 2);
    assert_eq!(w["malformed"], 1);
    assert_eq!(report["total"]["accepted"], 2);

    let keys = r.accepted();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0].msg_id, "msg_a");
    assert_eq!(keys[0].channel, Channel::Webhook);
    assert_eq!(keys[0].tenant, "acme");
    assert_eq!((keys[0].order_id.as_str(), keys[0].seq), ("SO-1", 5));
    assert_eq!(keys[0].trigger, "shipped");
    assert_eq!(keys[0].accepted_times, 2);
    assert!(keys[0].changed_at.is_some());
    assert!(keys[0].latency(&sim.clock()).is_some());
    let lines = c
        .get(format!("{}/receivers/accepted", sim.url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(lines.lines().count(), 2);
}

#[tokio::test]
async fn a_timestamp_in_simulated_time_verifies_too() {
    let sim = sim_with(quiet(), 1440.0, 1).await;
    let c = client();
    let secret = Secret::from_config(sim.receivers().unwrap().webhook_secret("acme").unwrap());
    let body = payload("SO-2", 1, "shipped");
    // Signed on the simulated clock a (real) minute into the world: a day ahead of real time.
    let sim_now = sim
        .clock()
        .sim_time(Timestamp::now() + SignedDuration::from_secs(60));
    let headers = sign(
        &Scheme::StandardWebhooks,
        &secret.unwrap(),
        "m",
        &body,
        sim_now,
    )
    .unwrap();
    let mut req = c
        .post(sim.receivers().unwrap().portal_url("acme", "h"))
        .body(body);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    // A minute of real time is inside the five-minute tolerance scaled to simulated time.
    assert_eq!(req.send().await.unwrap().status(), 200);
}

async fn sms(c: &Client, sim: &Sim, token: &str, id: &str, seq: u64) -> (u16, Value) {
    let r = sim.receivers().unwrap();
    let (sid, _) = r.sms_credentials();
    let resp = c
        .post(format!(
            "{}/2010-04-01/Accounts/{sid}/Messages.json",
            r.sms_base_url()
        ))
        .basic_auth(sid, Some(token))
        .header("content-type", FORM)
        .header("X-Waypost-Notification-Id", id)
        .header("X-Waypost-Order", "SO-9")
        .header("X-Waypost-Transition", seq.to_string())
        .header("X-Waypost-Tenant", "globex")
        .body("To=%2B15551234567&From=%2B15550000000&Body=Your+order+shipped")
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_sms_gateway_checks_basic_auth_and_answers_like_twilio() {
    let sim = sim_with(quiet(), 1440.0, 2).await;
    let c = client();
    let token = sim.receivers().unwrap().sms_credentials().1.to_owned();
    let (status, body) = sms(&c, &sim, "wrong", "msg_s1", 1).await;
    assert_eq!((status, body["code"].as_u64()), (401, Some(20003)));
    let (status, body) = sms(&c, &sim, &token, "msg_s1", 1).await;
    assert_eq!(status, 201, "{body}");
    assert!(body["sid"].as_str().unwrap().starts_with("SM"));
    assert_eq!(body["to"], "+15551234567");
    assert_eq!(body["status"], "queued");
    let (status, _) = sms(&c, &sim, &token, "msg_s1", 1).await;
    assert_eq!(status, 201);
    let report = sim.receivers().unwrap().report();
    assert_eq!(report.sms.received, 3);
    assert_eq!(report.sms.unauthorized, 1);
    assert_eq!(report.sms.accepted, 1);
    assert_eq!(report.sms.duplicated, 1);
    let keys = sim.receivers().unwrap().accepted();
    assert_eq!(keys[0].endpoint, "+15551234567");
    assert_eq!(keys[0].tenant, "globex");
}

/// Sends one line and reads one reply (all its lines); returns the last line.
async fn say(rd: &mut BufReader<TcpStream>, line: &str) -> String {
    if !line.is_empty() {
        rd.get_mut().write_all(line.as_bytes()).await.unwrap();
    }
    loop {
        let mut reply = String::new();
        rd.read_line(&mut reply).await.unwrap();
        if reply.len() < 4 || reply.as_bytes()[3] != b'-' {
            return reply;
        }
    }
}

fn email(id: &str, seq: u64) -> String {
    format!(
        "From: Acme <noreply@acme.test>\r\nTo: Ann <ann@example.com>\r\n\
Message-ID: <{id}@waypost>\r\nX-Waypost-Order: SO-7\r\nX-Waypost-Transition: {seq}\r\n\
X-Waypost-Trigger: shipped\r\nSubject: shipped\r\n\r\nHello\r\n..a line starting with a dot\r\n.\r\n"
    )
}

#[tokio::test]
async fn an_smtp_dialogue_with_dot_stuffing() {
    let sim = sim_with(quiet(), 1440.0, 3).await;
    let r = sim.receivers().unwrap();
    let stream = TcpStream::connect(r.smtp_addr()).await.unwrap();
    let mut rd = BufReader::new(stream);
    assert!(say(&mut rd, "").await.starts_with("220 "));
    assert!(say(&mut rd, "DATA\r\n").await.starts_with("503 "));
    assert!(say(&mut rd, "BOGUS\r\n").await.starts_with("500 "));
    assert!(
        say(&mut rd, "EHLO client.test\r\n")
            .await
            .starts_with("250 SIZE")
    );
    assert!(
        say(&mut rd, "MAIL FROM:noangle\r\n")
            .await
            .starts_with("501 ")
    );
    assert!(
        say(&mut rd, "RCPT TO:<ann@example.com>\r\n")
            .await
            .starts_with("503 ")
    );
    for round in 0..2 {
        assert!(
            say(&mut rd, "MAIL FROM:<noreply@acme.test> BODY=8BITMIME\r\n")
                .await
                .starts_with("250 ")
        );
        assert!(
            say(&mut rd, "RCPT TO:<ann@example.com>\r\n")
                .await
                .starts_with("250 ")
        );
        assert!(say(&mut rd, "DATA\r\n").await.starts_with("354 "));
        let done = say(&mut rd, &email("msg_e1", 4)).await;
        assert!(done.starts_with("250 "), "round {round}: {done}");
    }
    assert!(say(&mut rd, "RSET\r\n").await.starts_with("250 "));
    assert!(say(&mut rd, "NOOP\r\n").await.starts_with("250 "));
    // A message without the Waypost headers is refused.
    say(&mut rd, "MAIL FROM:<a@b>\r\n").await;
    say(&mut rd, "RCPT TO:<c@d>\r\n").await;
    say(&mut rd, "DATA\r\n").await;
    assert!(
        say(&mut rd, "Subject: x\r\n\r\nhi\r\n.\r\n")
            .await
            .starts_with("554 ")
    );
    // A text line over 1000 bytes refuses the message, and the session goes on.
    say(&mut rd, "MAIL FROM:<a@b>\r\n").await;
    say(&mut rd, "RCPT TO:<c@d>\r\n").await;
    say(&mut rd, "DATA\r\n").await;
    let long = format!("Subject: x\r\n\r\n{}\r\n.\r\n", "y".repeat(1200));
    assert!(say(&mut rd, &long).await.starts_with("500 "));
    assert!(say(&mut rd, "QUIT\r\n").await.starts_with("221 "));

    let report = r.report();
    assert_eq!(report.email.received, 4);
    assert_eq!(report.email.accepted, 1);
    assert_eq!(report.email.duplicated, 1);
    assert_eq!(report.email.malformed, 2);
    let keys = r.accepted();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].msg_id, "msg_e1");
    assert_eq!(keys[0].endpoint, "ann@example.com");
    assert_eq!((keys[0].order_id.as_str(), keys[0].seq), ("SO-7", 4));
    assert_eq!(keys[0].trigger, "shipped");
}

/// Sends each of `ids` once; returns the status of each.
async fn statuses(sim: &Sim, ids: &[String]) -> Vec<u16> {
    let c = client();
    let mut out = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        out.push(acme_webhook(&c, sim, id, payload("SO-3", i as u64, "shipped")).await);
    }
    out
}

#[tokio::test]
async fn injected_errors_are_reproducible_with_a_seed_and_never_accepted() {
    let cfg = |seed| ReceiversConfig {
        error_rate: 0.5,
        seed: Some(seed),
        ..quiet()
    };
    let ids: Vec<String> = (0..40).map(|i| format!("msg_{i}")).collect();
    let a = sim_with(cfg(11), 1440.0, 5).await;
    let b = sim_with(cfg(11), 1440.0, 5).await;
    let other = sim_with(cfg(12), 1440.0, 5).await;
    let (sa, sb, so) = (
        statuses(&a, &ids).await,
        statuses(&b, &ids).await,
        statuses(&other, &ids).await,
    );
    assert_eq!(sa, sb);
    assert_ne!(sa, so);
    let failed = sa.iter().filter(|&&s| s >= 500).count();
    assert!(sa.iter().all(|s| [200, 500, 503].contains(s)), "{sa:?}");
    assert!((8..=32).contains(&failed), "{failed}");
    let report = a.receivers().unwrap().report();
    assert_eq!(report.webhook.rejected_injected, failed as u64);
    assert_eq!(report.webhook.accepted, (40 - failed) as u64);
    for (id, s) in ids.iter().zip(&sa) {
        assert_eq!(a.receivers().unwrap().is_accepted(id), *s == 200, "{id}");
    }
}

#[tokio::test]
async fn the_outage_window_is_honoured_in_simulated_time() {
    // Ten simulated minutes per real second: the outage is from 1 s to 4 s of real time.
    let cfg = ReceiversConfig {
        outage: Some(ReceiverOutage {
            start_sim_minutes: 10.0,
            duration_sim_minutes: 30.0,
            channels: vec![Channel::Webhook],
        }),
        ..quiet()
    };
    let sim = sim_with(cfg, 600.0, 6).await;
    let c = client();
    let token = sim.receivers().unwrap().sms_credentials().1.to_owned();
    let clock = sim.clock();
    let until = |sim_minutes: f64| async move {
        let wait = clock
            .wall_time(sim_minutes)
            .duration_since(Timestamp::now());
        if wait.is_positive() {
            tokio::time::sleep(Duration::try_from(wait).unwrap()).await;
        }
    };
    assert_eq!(
        acme_webhook(&c, &sim, "m1", payload("SO-4", 1, "shipped")).await,
        200
    );
    until(11.0).await;
    assert_eq!(
        acme_webhook(&c, &sim, "m2", payload("SO-4", 2, "in_transit")).await,
        503
    );
    // The SMS gateway is not in this outage.
    assert_eq!(sms(&c, &sim, &token, "s1", 1).await.0, 201);
    until(41.0).await;
    assert_eq!(
        acme_webhook(&c, &sim, "m2", payload("SO-4", 2, "in_transit")).await,
        200
    );
    let report = sim.receivers().unwrap().report();
    assert_eq!(report.webhook.rejected_outage, 1);
    assert_eq!(report.webhook.rejected_injected, 1);
    assert_eq!(report.webhook.accepted, 2);
    assert_eq!(report.total.accepted, 3);
}

#[tokio::test]
async fn smtp_in_its_outage_refuses_at_the_greeting() {
    let cfg = ReceiversConfig {
        outage: Some(ReceiverOutage {
            start_sim_minutes: 0.0,
            duration_sim_minutes: 24.0 * 60.0,
            channels: vec![Channel::Email],
        }),
        ..quiet()
    };
    let sim = sim_with(cfg, 1.0, 7).await;
    let stream = TcpStream::connect(sim.receivers().unwrap().smtp_addr())
        .await
        .unwrap();
    let mut rd = BufReader::new(stream);
    assert!(say(&mut rd, "").await.starts_with("421 "));
    let report = sim.receivers().unwrap().report();
    assert_eq!(report.email.rejected_outage, 1);
    assert_eq!(report.email.accepted, 0);
}

/// A client whatever TLS backend the workspace build gave reqwest (see `pusher.rs`).
fn client() -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::new()
}
