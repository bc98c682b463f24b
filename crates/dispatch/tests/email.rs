//! The email transport against a real SMTP server: aiosmtpd (PyPI), started per test by
//! `smtp_server.py`. Skipped with a message when aiosmtpd is not importable, unless
//! `WAYPOST_REQUIRE_PY=1`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{closed_port, python_has};
use mail_parser::MessageParser;
use waypost_dispatch::{EmailMessage, SmtpConfig, SmtpMode, SmtpSender, Verdict};

/// The server process; killed (by its own id) when the test ends.
struct Server {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = closed_port();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp_server.py");
        let child = Command::new("python3")
            .arg(script)
            .args(["--port", &port.to_string()])
            .arg("--dir")
            .arg(dir.path())
            .args(extra)
            .stdout(Stdio::null())
            .spawn()
            .expect("start smtp_server.py");
        let server = Server { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "smtp server did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn config(&self) -> SmtpConfig {
        SmtpConfig {
            host: "127.0.0.1".to_owned(),
            port: self.port,
            mode: SmtpMode::None,
            username: None,
            password: None,
            from: "Waypost Notifications <notify@waypost.test>".to_owned(),
            reply_to: Some("support@shop.test".to_owned()),
            list_unsubscribe: Some("https://shop.test/unsub?m={msg_id}".to_owned()),
            timeout: Duration::from_secs(5),
            hello_name: Some("waypost.test".to_owned()),
        }
    }

    fn saved(&self) -> Vec<PathBuf> {
        saved_in(self.dir.path())
    }
}

fn saved_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    files
}

fn message(to: &str) -> EmailMessage<'_> {
    EmailMessage {
        to,
        subject: "Your order A-1 has shipped — on its way",
        text: "Hello,\nyour order A-1 shipped with UPS.\nCafé crème.\n",
        html: "<p>Hello,</p><p>your order <b>A-1</b> shipped with UPS.</p><p>Café crème.</p>",
        msg_id: "msg_abcdefghijklmnopqrstuvwxyz",
        tenant: "acme",
        order_id: "A-1",
        transition: 42,
        trigger: "shipped",
    }
}

#[tokio::test]
async fn message_arrives_whole() {
    if !python_has("aiosmtpd", "message_arrives_whole") {
        return;
    }
    let server = Server::start(&[]);
    let sender = SmtpSender::new(server.config()).expect("sender");
    let attempt = sender.send(&message("Customer <jane@shop.test>")).await;
    assert_eq!(attempt.verdict, Verdict::Delivered, "{attempt:?}");
    assert_eq!(attempt.code, Some(250));

    let files = server.saved();
    assert_eq!(files.len(), 1);
    let raw = std::fs::read(&files[0]).expect("read message");
    let parsed = MessageParser::default().parse(&raw).expect("parse mime");
    let addr = |a: Option<&mail_parser::Address<'_>>| {
        a.and_then(|a| a.first())
            .and_then(|a| a.address())
            .map(str::to_owned)
    };
    assert_eq!(addr(parsed.from()).as_deref(), Some("notify@waypost.test"));
    assert_eq!(addr(parsed.to()).as_deref(), Some("jane@shop.test"));
    assert_eq!(
        addr(parsed.reply_to()).as_deref(),
        Some("support@shop.test")
    );
    assert_eq!(
        parsed.subject(),
        Some("Your order A-1 has shipped — on its way")
    );
    assert_eq!(
        parsed.message_id(),
        Some("msg_abcdefghijklmnopqrstuvwxyz@waypost")
    );
    let header = |n: &str| parsed.header_raw(n).map(|v| v.trim().to_owned());
    assert_eq!(header("X-Waypost-Order").as_deref(), Some("A-1"));
    assert_eq!(header("X-Waypost-Transition").as_deref(), Some("42"));
    assert_eq!(
        header("List-Unsubscribe").as_deref(),
        Some("<https://shop.test/unsub?m=msg_abcdefghijklmnopqrstuvwxyz>")
    );
    let content_type = header("Content-Type").expect("content type");
    assert!(
        content_type.starts_with("multipart/alternative"),
        "{content_type}"
    );
    // Two distinct parts, each with its own content.
    assert_eq!(parsed.text_body.len(), 1);
    assert_eq!(parsed.html_body.len(), 1);
    assert_ne!(parsed.text_body[0], parsed.html_body[0]);
    let text = parsed.body_text(0).expect("text part");
    assert_eq!(text.replace("\r\n", "\n"), message("x").text);
    let html = parsed.body_html(0).expect("html part");
    assert_eq!(html.trim_end(), message("x").html);
}

#[tokio::test]
async fn transient_451_is_retried_then_delivered() {
    if !python_has("aiosmtpd", "transient_451_is_retried_then_delivered") {
        return;
    }
    let server = Server::start(&["--fail-first", "1"]);
    let sender = SmtpSender::new(server.config()).expect("sender");
    let first = sender.send(&message("jane@shop.test")).await;
    assert_eq!((first.verdict, first.code), (Verdict::Retry, Some(451)));
    let error = first.error.expect("error");
    assert!(error.starts_with("smtp send:"), "{error}");
    assert!(server.saved().is_empty());
    let second = sender.send(&message("jane@shop.test")).await;
    assert_eq!(second.verdict, Verdict::Delivered, "{second:?}");
    assert_eq!(server.saved().len(), 1);
}

#[tokio::test]
async fn unknown_recipient_550_is_refused() {
    if !python_has("aiosmtpd", "unknown_recipient_550_is_refused") {
        return;
    }
    let server = Server::start(&[]);
    let sender = SmtpSender::new(server.config()).expect("sender");
    let attempt = sender.send(&message("nobody@shop.test")).await;
    assert_eq!(
        (attempt.verdict, attempt.code),
        (Verdict::Refused, Some(550))
    );
    assert!(server.saved().is_empty());
}

#[tokio::test]
async fn auth_required() {
    if !python_has("aiosmtpd", "auth_required") {
        return;
    }
    let server = Server::start(&["--user", "waypost", "--password", "s3cret"]);
    let mut config = server.config();

    // No credentials: MAIL is answered 530, our configuration's fault: retried.
    let sender = SmtpSender::new(config.clone()).expect("sender");
    let attempt = sender.send(&message("jane@shop.test")).await;
    assert_eq!((attempt.verdict, attempt.code), (Verdict::Retry, Some(530)));

    // Wrong password: 535 on AUTH, retried (an operator fixes it; the mail still goes).
    config.username = Some("waypost".to_owned());
    config.password = Some("wrong".to_owned());
    let sender = SmtpSender::new(config.clone()).expect("sender");
    let attempt = sender.send(&message("jane@shop.test")).await;
    assert_eq!(
        (attempt.verdict, attempt.code),
        (Verdict::Retry, Some(535)),
        "{attempt:?}"
    );
    assert!(attempt.error.expect("error").starts_with("smtp auth:"));
    assert!(server.saved().is_empty());

    config.password = Some("s3cret".to_owned());
    let sender = SmtpSender::new(config).expect("sender");
    let attempt = sender.send(&message("jane@shop.test")).await;
    assert_eq!(attempt.verdict, Verdict::Delivered, "{attempt:?}");
    assert_eq!(server.saved().len(), 1);
}

#[tokio::test]
async fn no_server_is_retried() {
    let config = SmtpConfig {
        host: "127.0.0.1".to_owned(),
        port: closed_port(),
        mode: SmtpMode::None,
        username: None,
        password: None,
        from: "notify@waypost.test".to_owned(),
        reply_to: None,
        list_unsubscribe: None,
        timeout: Duration::from_secs(2),
        hello_name: None,
    };
    let sender = SmtpSender::new(config).expect("sender");
    let attempt = sender.send(&message("jane@shop.test")).await;
    assert_eq!((attempt.verdict, attempt.code), (Verdict::Retry, None));
    assert!(attempt.error.expect("error").starts_with("smtp connect:"));
}
