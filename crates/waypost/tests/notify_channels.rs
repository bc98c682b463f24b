//! Notifications end to end against the real binary, SMS and email side
//! (`docs/notifications.md`): opt-outs (also one made after the notification was planned),
//! quiet hours, the SMS spend cap under a flood, and email through a real SMTP server
//! (aiosmtpd, `crates/dispatch/tests/smtp_server.py`).
#![allow(clippy::unwrap_used)]

mod common;
mod notify_common;

use base64::Engine as _;
use common::*;
use notify_common::*;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SID: &str = "AC0123456789";
const TOKEN: &str = "tok3n";
const FROM: &str = "+15005550006";

/// `[notify.sms]`: the Twilio-compatible provider pointed at `gateway`.
fn sms_section(gateway: &Receiver, extra: &str) -> String {
    format!(
        "[notify.sms]\nprovider = \"twilio\"\nfrom = \"{FROM}\"\naccount_sid = \"{SID}\"\nauth_token = \"{TOKEN}\"\nbase_url = \"http://127.0.0.1:{}\"\ncents_per_segment = 1\n{extra}\n",
        gateway.port
    )
}

fn customer(id: &str, phone: &str) -> Value {
    json!({"customer_id": id, "customer_phone": phone,
           "customer_email": format!("{id}@example.com")})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opted_out_customers_are_never_messaged() {
    let gateway = Receiver::start().await;
    gateway.script(|s| s.default = 201);
    let cfg = config("retry = [\"2s\", \"2s\"]", &sms_section(&gateway, ""));
    let s = spawn_server_with_config(&cfg).await;
    let key = s.key("acme", SCOPES);
    let sms = add_endpoint(&s, &key, "sms", "customer").await;
    subscribe(&s, &key, &sms, &["shipped"]).await;
    let put = call(
        &s,
        &key,
        "PUT",
        "/v1/notify/contacts/c1",
        Some(json!({"opted_out": ["sms"]})),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.body);

    post_ok(
        &s,
        &key,
        json!([
            event("o1", "OPT-1", "shipped", 0, customer("c1", "+14155550101")),
            event("o2", "OPT-2", "shipped", 0, customer("c2", "+14155550102")),
        ]),
    )
    .await;
    let got = gateway.wait_accepted(1, WAIT).await;
    let log1 = wait_log(&s, &key, "OPT-1", WAIT, |l| {
        l.len() == 1 && l[0]["state"] != "pending"
    })
    .await;
    assert_eq!(log1[0]["state"], "skipped", "{log1:#?}");
    assert!(log1[0].to_string().contains("opted out"), "{log1:#?}");
    let log2 = wait_log(&s, &key, "OPT-2", WAIT, |l| {
        l.len() == 1 && l[0]["state"] == "sent"
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(gateway.hits().len(), 1, "only c2 messaged");

    let h = &got[0];
    assert_eq!(h.method, "POST");
    assert_eq!(h.path, format!("/2010-04-01/Accounts/{SID}/Messages.json"));
    let form = h.form();
    assert_eq!(form["To"], "+14155550102", "{form:?}");
    assert_eq!(form["From"], FROM, "{form:?}");
    assert!(form["Body"].contains("OPT-2"), "{form:?}");
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{SID}:{TOKEN}"));
    assert_eq!(h.header("authorization"), format!("Basic {basic}"));
    assert_eq!(
        h.header("x-waypost-notification-id"),
        log2[0]["msg_id"].as_str().unwrap()
    );
    assert!(
        h.header("content-type")
            .starts_with("application/x-www-form-urlencoded")
    );

    // Planned and tried once (the gateway fails), then the customer opts out before the
    // retry is due: the retry is not sent.
    gateway.script(|s| s.queue.push_back(500));
    post_ok(
        &s,
        &key,
        json!([event(
            "o3",
            "OPT-3",
            "shipped",
            0,
            customer("c3", "+14155550103")
        )]),
    )
    .await;
    gateway.wait(WAIT, |h| h.len() >= 2).await;
    let put = call(
        &s,
        &key,
        "PUT",
        "/v1/notify/contacts/c3",
        Some(json!({"opted_out": ["sms"]})),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.body);
    let log3 = wait_log(&s, &key, "OPT-3", WAIT, |l| {
        l.len() == 1 && l[0]["state"] != "pending"
    })
    .await;
    assert_eq!(log3[0]["state"], "skipped", "{log3:#?}");
    assert!(log3[0].to_string().contains("opted out"), "{log3:#?}");
    assert_eq!(gateway.hits().len(), 2, "the opted-out retry was sent");
}

/// `HH:MM-HH:MM` from an hour before to an hour after now in `zone` (to the minute), and
/// when it ends.
fn quiet_now(zone: &str) -> (String, jiff::Timestamp) {
    let now = jiff::Timestamp::now();
    let z = now.to_zoned(jiff::tz::TimeZone::get(zone).unwrap());
    let (h, m) = (i32::from(z.hour()), z.minute());
    let start = format!("{:02}:{:02}", (h + 23) % 24, m);
    let end = format!("{:02}:{:02}", (h + 1) % 24, m);
    let truncated = jiff::Timestamp::from_second(now.as_second() - now.as_second() % 60).unwrap();
    (
        format!("{start}-{end}"),
        truncated + jiff::SignedDuration::from_hours(1),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_hours_hold_sms_but_not_email_or_webhooks() {
    let gateway = Receiver::start().await;
    gateway.script(|s| s.default = 201);
    let hook = Receiver::start().await;
    let smtp = Smtp::start(false);
    // A zone 5:30 off UTC: quiet hours read in UTC would not cover now.
    let zone = "Asia/Kolkata";
    let (quiet, ends) = quiet_now(zone);
    let mut tables = sms_section(&gateway, "");
    tables.push_str(&format!(
        "[notify.tenants.acme]\ntimezone = \"{zone}\"\nquiet_hours = \"{quiet}\"\n"
    ));
    if let Some(m) = &smtp {
        tables.push_str(&m.section());
    }
    let s = spawn_server_with_config(&config(RETRY, &tables)).await;
    let key = s.key("acme", SCOPES);
    let sms = add_endpoint(&s, &key, "sms", "customer").await;
    subscribe(&s, &key, &sms, &["shipped"]).await;
    let (wh, _) = add_webhook(&s, &key, &hook.url, None).await;
    subscribe(&s, &key, &wh, &["shipped"]).await;
    if smtp.is_some() {
        let em = add_endpoint(&s, &key, "email", "customer").await;
        subscribe(&s, &key, &em, &["shipped"]).await;
    }
    post_ok(
        &s,
        &key,
        json!([event(
            "q1",
            "Q-1",
            "shipped",
            0,
            customer("c1", "+14155550101")
        )]),
    )
    .await;
    hook.wait_accepted(1, WAIT).await;
    if let Some(m) = &smtp {
        m.wait_messages(1, WAIT);
    }
    let want = if smtp.is_some() { 3 } else { 2 };
    let log = wait_log(&s, &key, "Q-1", WAIT, |l| {
        l.len() == want && l.iter().filter(|n| n["state"] == "sent").count() == want - 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(gateway.hits().is_empty(), "an SMS went out in quiet hours");
    let held = log.iter().find(|n| n["kind"] == "sms").unwrap();
    assert_eq!(held["state"], "pending", "{held}");
    assert_eq!(held["attempts"], 0, "{held}");
    let next: jiff::Timestamp = held["next_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(next, ends, "held until the quiet hours end: {held}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sms_spend_cap_holds_under_a_flood() {
    let gateway = Receiver::start().await;
    gateway.script(|s| s.default = 201);
    let tables = format!(
        "{}[notify.tenants.acme]\ntimezone = \"UTC\"\nsms_daily_cap_cents = 10\n",
        sms_section(&gateway, "")
    );
    let s = spawn_server_with_config(&config(RETRY, &tables)).await;
    let key = s.key("acme", SCOPES);
    let sms = add_endpoint(&s, &key, "sms", "customer").await;
    subscribe(&s, &key, &sms, &["shipped"]).await;
    let events: Vec<Value> = (0..60)
        .map(|i| {
            event(
                &format!("f{i}"),
                &format!("FL-{i:02}"),
                "shipped",
                0,
                customer(&format!("c{i}"), &format!("+1415555{i:04}")),
            )
        })
        .collect();
    post_ok(&s, &key, Value::Array(events)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut skipped = Vec::new();
    let mut sent = 0;
    for i in 0..60 {
        let order = format!("FL-{i:02}");
        let left = deadline.saturating_duration_since(Instant::now());
        let log = wait_log(&s, &key, &order, left, |l| {
            l.len() == 1 && l[0]["state"] != "pending"
        })
        .await;
        match log[0]["state"].as_str().unwrap() {
            "sent" => sent += 1,
            "skipped" => skipped.push(log[0].clone()),
            other => panic!("{order}: {other}: {log:#?}"),
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let bodies: Vec<String> = gateway
        .hits()
        .iter()
        .map(|h| h.form()["Body"].clone())
        .collect();
    assert!(
        bodies.iter().all(|b| b.len() <= 160 && b.is_ascii()),
        "one segment each: {bodies:?}"
    );
    assert_eq!(
        gateway.hits().len(),
        10,
        "exactly the cap reached the gateway"
    );
    assert_eq!(sent, 10);
    assert_eq!(skipped.len(), 50);
    for n in &skipped {
        assert!(n.to_string().contains("spend cap"), "{n}");
    }
    let one = s
        .get(
            &key,
            &format!("/v1/notify/notifications/{}", id_of(&skipped[0])),
        )
        .await;
    assert_eq!(one.status, 200, "{}", one.body);
    assert_eq!(one.body["state"], "skipped");
    assert!(one.body.to_string().contains("10 cents"), "{}", one.body);

    // The day's spend survives a restart: the cap still holds.
    let mut s = s;
    s.restart().await;
    let more: Vec<Value> = (60..63)
        .map(|i| {
            event(
                &format!("f{i}"),
                &format!("FL-{i:02}"),
                "shipped",
                0,
                customer(&format!("c{i}"), &format!("+1415555{i:04}")),
            )
        })
        .collect();
    post_ok(&s, &key, Value::Array(more)).await;
    for i in 60..63 {
        let order = format!("FL-{i:02}");
        let log = wait_log(&s, &key, &order, WAIT, |l| {
            l.len() == 1 && l[0]["state"] != "pending"
        })
        .await;
        assert_eq!(
            log[0]["state"], "skipped",
            "over the cap after a restart: {log:#?}"
        );
    }
    assert_eq!(gateway.hits().len(), 10, "the cap was forgotten on restart");
}

/// `crates/dispatch/tests/smtp_server.py`, a real SMTP server (aiosmtpd), killed when dropped.
struct Smtp {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../dispatch/tests/smtp_server.py")
}

impl Smtp {
    /// None when aiosmtpd is missing (a failure instead when `require` or
    /// `WAYPOST_REQUIRE_PY=1`).
    fn start(require: bool) -> Option<Smtp> {
        Self::start_failing(require, 0)
    }

    /// Answers the first `fail_first` messages' DATA with 451.
    fn start_failing(require: bool, fail_first: u32) -> Option<Smtp> {
        let ok = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            assert!(
                !require && std::env::var("WAYPOST_REQUIRE_PY").as_deref() != Ok("1"),
                "aiosmtpd is required (pip install aiosmtpd)"
            );
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new("python3")
            .arg(script())
            .args(["--port", &port.to_string(), "--dir"])
            .arg(dir.path())
            .args(["--fail-first", &fail_first.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "smtp_server.py did not start");
        Some(Smtp { child, port, dir })
    }

    fn section(&self) -> String {
        format!(
            "[notify.smtp]\nhost = \"127.0.0.1\"\nport = {}\nmode = \"none\"\nfrom = \"Acme Orders <orders@acme.example>\"\n",
            self.port
        )
    }

    fn wait_messages(&self, n: usize, within: Duration) -> Vec<PathBuf> {
        let deadline = Instant::now() + within;
        loop {
            let mut found: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "eml"))
                .collect();
            if found.len() >= n {
                found.sort();
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "{} messages, wanted {n}",
                found.len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A message's headers and decoded parts, read by Python's `email` package.
fn parse_mail(path: &Path) -> Value {
    let code = r#"
import email, json, sys
from email import policy
m = email.message_from_bytes(open(sys.argv[1], 'rb').read(), policy=policy.default)
parts = {}
for p in m.walk():
    if not p.is_multipart():
        parts[p.get_content_type()] = p.get_content()
print(json.dumps({"headers": {k: str(v) for k, v in m.items()},
                  "type": m.get_content_type(), "parts": parts}))
"#;
    let out = Command::new("python3")
        .args(["-c", code])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_goes_through_a_real_smtp_server() {
    // The first message meets a 451 (try again later): retried, same Message-ID.
    let Some(smtp) = Smtp::start_failing(false, 1) else {
        println!("skipped: python3 with aiosmtpd is not available");
        return;
    };
    let keys = format!("{RETRY}\npublic_url = \"https://track.example.com/\"");
    let s = spawn_server_with_config(&config(&keys, &smtp.section())).await;
    let key = s.key("acme", SCOPES);
    let em = add_endpoint(&s, &key, "email", "customer").await;
    subscribe(&s, &key, &em, &["shipped"]).await;
    let attrs = json!({"customer_id": "c1", "customer_email": "ann@example.com"});
    post_ok(
        &s,
        &key,
        json!([event("e1", "E-1001", "shipped", 0, attrs)]),
    )
    .await;
    // Sent (after its 451) before the others go, so the 451 is surely its own.
    let log = wait_log(&s, &key, "E-1001", WAIT, |l| {
        l.len() == 1 && l[0]["state"] == "sent"
    })
    .await;
    let codes: Vec<&Value> = log[0]["attempt_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["code"])
        .collect();
    assert_eq!(codes, [&json!(451), &json!(250)], "{log:#?}");
    // A customer opted out of email is not mailed; a contact's address overrides the event's.
    let put = call(
        &s,
        &key,
        "PUT",
        "/v1/notify/contacts/c2",
        Some(json!({"opted_out": ["email"]})),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.body);
    let put = call(
        &s,
        &key,
        "PUT",
        "/v1/notify/contacts/c3",
        Some(json!({"email": "carol@new.example"})),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.body);
    let attrs2 = json!({"customer_id": "c2", "customer_email": "bob@example.com"});
    let attrs3 = json!({"customer_id": "c3", "customer_email": "carol@old.example"});
    post_ok(
        &s,
        &key,
        json!([
            event("e2", "E-1002", "shipped", 0, attrs2),
            event("e3", "E-1003", "shipped", 0, attrs3)
        ]),
    )
    .await;
    let log2 = wait_log(&s, &key, "E-1002", WAIT, |l| {
        l.len() == 1 && l[0]["state"] != "pending"
    })
    .await;
    assert_eq!(log2[0]["state"], "skipped", "{log2:#?}");
    let files = smtp.wait_messages(2, WAIT);
    let mails: Vec<Value> = files.iter().map(|f| parse_mail(f)).collect();
    let of = |order: &str| {
        mails
            .iter()
            .find(|m| m["headers"]["X-Waypost-Order"] == order)
            .cloned()
            .unwrap_or_else(|| panic!("no mail for {order}: {mails:?}"))
    };
    let carol = of("E-1003");
    assert!(
        carol["headers"]["To"]
            .as_str()
            .unwrap()
            .contains("carol@new.example"),
        "{carol}"
    );
    let msg_id = log[0]["msg_id"].as_str().unwrap();

    let mail = of("E-1001");
    let h = &mail["headers"];
    assert!(
        h["From"].as_str().unwrap().contains("orders@acme.example"),
        "{h}"
    );
    assert!(h["To"].as_str().unwrap().contains("ann@example.com"), "{h}");
    assert!(!h["Subject"].as_str().unwrap_or("").is_empty(), "{h}");
    assert_eq!(h["Message-ID"], format!("<{msg_id}@waypost>"), "{h}");
    assert_eq!(h["X-Waypost-Order"], "E-1001", "{h}");
    // The transition is the change's seq (receivers order by it); the trigger its status.
    assert_eq!(h["X-Waypost-Transition"], log[0]["seq"].to_string(), "{h}");
    assert_eq!(h["X-Waypost-Trigger"], "shipped", "{h}");
    assert_eq!(mail["type"], "multipart/alternative", "{mail}");
    let text = mail["parts"]["text/plain"].as_str().unwrap_or("");
    let html = mail["parts"]["text/html"].as_str().unwrap_or("");
    assert!(text.contains("E-1001"), "{mail}");
    assert!(html.contains("E-1001"), "{mail}");
    // The order's customer page, as the API names it.
    let tl = s.get(&key, "/v1/orders/E-1001/tracking-link").await;
    assert_eq!(tl.status, 200, "{}", tl.body);
    let token = tl.body["token"].as_str().unwrap().to_string();
    let link = format!("https://track.example.com/track/{token}");
    assert_eq!(tl.body["url"], link.as_str());
    assert!(text.contains(&format!("Track it: {link}")), "{mail}");
    assert!(!text.contains("/acme/"), "no tenant in the link: {mail}");
    // The HTML part escapes the link as an attribute value ('/' as &#x2f;): the same URL.
    let unescaped = html.replace("&#x2f;", "/");
    assert!(unescaped.contains(&format!("href=\"{link}\"")), "{mail}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.wait_messages(2, WAIT).len(), 2, "each sent once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_sms_provider_posts_its_template_and_bad_numbers_are_not_sent() {
    let gateway = Receiver::start().await;
    let sms = format!(
        "[notify.sms]\nprovider = \"http\"\nfrom = \"Acme\"\nurl = \"http://127.0.0.1:{}/send\"\n\
         content_type = \"application/json\"\n\
         body = '{{\"to\": \"{{{{to}}}}\", \"from\": \"{{{{from}}}}\", \"text\": \"{{{{body}}}}\", \"ref\": \"{{{{id}}}}\"}}'\n\
         [notify.sms.headers]\nX-Api-Key = \"k-123\"\n",
        gateway.port
    );
    let s = spawn_server_with_config(&config(RETRY, &sms)).await;
    let key = s.key("acme", SCOPES);
    let ep = add_endpoint(&s, &key, "sms", "customer").await;
    subscribe(&s, &key, &ep, &["shipped"]).await;
    post_ok(
        &s,
        &key,
        json!([
            event("h1", "HT-1", "shipped", 0, customer("c1", "+14155550101")),
            event("h2", "HT-2", "shipped", 0, customer("c2", "555-1234")),
        ]),
    )
    .await;
    let got = gateway.wait_accepted(1, WAIT).await;
    let log = wait_log(&s, &key, "HT-1", WAIT, |l| {
        l.len() == 1 && l[0]["state"] == "sent"
    })
    .await;
    let h = &got[0];
    assert_eq!(h.path, "/send");
    assert_eq!(h.header("x-api-key"), "k-123");
    assert!(
        h.header("content-type").starts_with("application/json"),
        "{:?}",
        h.headers
    );
    let body = h.json();
    assert_eq!(body["to"], "+14155550101", "{body}");
    assert_eq!(body["from"], "Acme", "{body}");
    assert_eq!(body["ref"], log[0]["msg_id"], "{body}");
    assert!(
        body["text"].as_str().unwrap_or("").contains("HT-1"),
        "{body}"
    );
    assert_eq!(
        h.header("x-waypost-notification-id"),
        log[0]["msg_id"].as_str().unwrap()
    );
    // Not E.164: never sent, logged with the reason.
    let bad = wait_log(&s, &key, "HT-2", WAIT, |l| {
        l.len() == 1 && l[0]["state"] != "pending"
    })
    .await;
    assert_ne!(bad[0]["state"], "sent", "{bad:#?}");
    assert!(bad[0].to_string().contains("E.164"), "{bad:#?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        gateway.hits().len(),
        1,
        "a malformed number reached the gateway"
    );
}
