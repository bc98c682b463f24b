//! The webhook transport against a real receiver on loopback.

mod common;

use std::net::IpAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::{Receiver, closed_port, python_has};
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha2::Sha256;
use waypost_dispatch::{AddressCheck, Secret, Verdict, WebhookRequest, WebhookSender, allow_all};

const SECRET_A: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SECRET_B: &str = "whsec_c2Vjb25kIHNlY3JldCBmb3Igcm90YXRpb24=";
const BODY: &[u8] =
    br#"{"type":"order.status_changed","data":{"order_id":"A-1","status":"shipped"}}"#;

/// A small stand-in for waypost-notify's AddressPolicy: loopback, RFC 1918 and link-local
/// refused.
fn strict() -> AddressCheck {
    Arc::new(|ip: IpAddr| {
        let private = match ip {
            IpAddr::V4(v4) => v4.is_private() || v4.is_link_local(),
            IpAddr::V6(_) => false,
        };
        if ip.is_loopback() {
            Err("loopback".to_owned())
        } else if private {
            Err("private or link-local".to_owned())
        } else {
            Ok(())
        }
    })
}

fn secrets() -> Vec<Secret> {
    [SECRET_A, SECRET_B]
        .iter()
        .map(|s| Secret::from_config(s).expect("secret"))
        .collect()
}

fn request<'a>(url: &'a str, secrets: &'a [Secret], timeout_ms: u64) -> WebhookRequest<'a> {
    WebhookRequest {
        url,
        msg_id: "msg_0123456789abcdefghijklmnop",
        secrets,
        body: BODY,
        timestamp: Timestamp::now(),
        timeout: Duration::from_millis(timeout_ms),
    }
}

/// The spec's verification, written out here independently of the sender's code.
fn spec_signature(secret: &str, id: &str, ts: &str, body: &[u8]) -> String {
    let key = B64
        .decode(secret.strip_prefix("whsec_").expect("prefix"))
        .expect("base64 secret");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("key");
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn delivered_signed_by_every_secret() {
    let rx = Receiver::start().await;
    let sender = WebhookSender::new(allow_all()).expect("sender");
    let secrets = secrets();
    let url = rx.url("/hook");
    let req = request(&url, &secrets, 5000);
    let attempt = sender.send(&req).await;
    assert_eq!(attempt.verdict, Verdict::Delivered, "{attempt:?}");
    assert_eq!(attempt.code, Some(200));
    assert_eq!(attempt.error, None);

    let seen = rx.seen();
    assert_eq!(seen.len(), 1);
    let got = &seen[0];
    let header = |n: &str| {
        got.headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("header {n}"))
            .to_owned()
    };
    assert_eq!(got.method, "POST");
    assert_eq!(&got.body[..], BODY);
    assert_eq!(header("content-type"), "application/json");
    assert!(header("user-agent").starts_with("Waypost/"));
    assert_eq!(header("webhook-id"), req.msg_id);
    let ts = header("webhook-timestamp");
    assert_eq!(ts, req.timestamp.as_second().to_string());
    let signatures: Vec<String> = header("webhook-signature")
        .split(' ')
        .map(str::to_owned)
        .collect();
    assert_eq!(
        signatures,
        vec![
            spec_signature(SECRET_A, req.msg_id, &ts, BODY),
            spec_signature(SECRET_B, req.msg_id, &ts, BODY),
        ]
    );
}

#[tokio::test]
async fn redirect_is_not_followed() {
    let rx = Receiver::start().await;
    let sender = WebhookSender::new(allow_all()).expect("sender");
    let secrets = secrets();
    let url = rx.url("/redirect");
    let attempt = sender.send(&request(&url, &secrets, 5000)).await;
    assert_eq!(attempt.verdict, Verdict::Retry);
    assert_eq!(attempt.code, Some(302));
    let error = attempt.error.expect("error");
    assert!(error.contains("redirect to /other not followed"), "{error}");
    assert_eq!(rx.paths(), vec!["/redirect"], "/other must never be hit");
}

#[tokio::test]
async fn timeout_is_retried() {
    let rx = Receiver::start().await;
    let sender = WebhookSender::new(allow_all()).expect("sender");
    let secrets = secrets();
    let url = rx.url("/slow");
    let attempt = sender.send(&request(&url, &secrets, 300)).await;
    assert_eq!(attempt.verdict, Verdict::Retry, "{attempt:?}");
    assert_eq!(attempt.code, None);
    assert_eq!(attempt.error.as_deref(), Some("timed out after 300 ms"));
    assert!(attempt.latency < Duration::from_secs(2));
}

#[tokio::test]
async fn gone_busy_and_errors() {
    let rx = Receiver::start().await;
    let sender = WebhookSender::new(allow_all()).expect("sender");
    let secrets = secrets();

    let url = rx.url("/status/410");
    let gone = sender.send(&request(&url, &secrets, 5000)).await;
    assert_eq!((gone.verdict, gone.code), (Verdict::Gone, Some(410)));

    let url = rx.url("/status/429");
    let busy = sender.send(&request(&url, &secrets, 5000)).await;
    assert_eq!((busy.verdict, busy.code), (Verdict::Retry, Some(429)));
    assert_eq!(busy.retry_after.as_deref(), Some("7"));
    assert_eq!(
        busy.retry_after_delay(Timestamp::now()),
        Some(Duration::from_secs(7))
    );
    assert_eq!(busy.error.as_deref(), Some("http 429: slow down"));

    for code in [400, 404, 500, 503] {
        let url = rx.url(&format!("/status/{code}"));
        let a = sender.send(&request(&url, &secrets, 5000)).await;
        assert_eq!((a.verdict, a.code), (Verdict::Retry, Some(code)));
    }

    let url = format!("http://127.0.0.1:{}/hook", closed_port());
    let refused = sender.send(&request(&url, &secrets, 5000)).await;
    assert_eq!(refused.verdict, Verdict::Retry);
    assert!(refused.error.expect("error").starts_with("connect:"));
}

#[tokio::test]
async fn loopback_refused_unless_allowed() {
    let rx = Receiver::start().await;
    let secrets = secrets();
    let url = rx.url("/hook");
    let sender = WebhookSender::new(strict()).expect("sender");
    let attempt = sender.send(&request(&url, &secrets, 5000)).await;
    assert_eq!(attempt.verdict, Verdict::Refused, "{attempt:?}");
    assert_eq!(
        attempt.error.as_deref(),
        Some("address policy refused 127.0.0.1: 127.0.0.1 (loopback)")
    );
    assert!(rx.seen().is_empty());

    let allowed = WebhookSender::new(allow_all()).expect("sender");
    let attempt = allowed.send(&request(&url, &secrets, 5000)).await;
    assert_eq!(attempt.verdict, Verdict::Delivered);
}

#[tokio::test]
async fn private_and_metadata_literals_refused() {
    let sender = WebhookSender::new(strict()).expect("sender");
    let secrets = secrets();
    for (url, ip) in [
        ("http://10.1.2.3/hook", "10.1.2.3"),
        (
            "http://169.254.169.254/latest/meta-data/",
            "169.254.169.254",
        ),
        ("http://[::1]:9/hook", "::1"),
        // Other spellings of loopback that URL parsers normalize.
        ("http://2130706433/hook", "127.0.0.1"),
        ("http://0x7f.1/hook", "127.0.0.1"),
    ] {
        let attempt = sender.send(&request(url, &secrets, 5000)).await;
        assert_eq!(attempt.verdict, Verdict::Refused, "{url}");
        let error = attempt.error.expect("error");
        assert!(error.contains(ip), "{url}: {error}");
    }
}

#[tokio::test]
async fn name_resolving_to_loopback_refused_at_connect() {
    let rx = Receiver::start().await;
    let sender = WebhookSender::new(strict()).expect("sender");
    let secrets = secrets();
    let url = format!("http://localhost:{}/hook", rx.addr.port());
    let attempt = sender.send(&request(&url, &secrets, 5000)).await;
    assert_eq!(attempt.verdict, Verdict::Refused, "{attempt:?}");
    let error = attempt.error.expect("error");
    assert!(
        error.starts_with("address policy refused localhost:"),
        "{error}"
    );
    assert!(error.contains("(loopback)"), "{error}");
    assert!(rx.seen().is_empty());
}

#[tokio::test]
async fn reference_library_verifies_our_signature() {
    if !python_has(
        "standardwebhooks",
        "reference_library_verifies_our_signature",
    ) {
        return;
    }
    let rx = Receiver::start().await;
    let sender = WebhookSender::new(allow_all()).expect("sender");
    let secrets = secrets();
    let url = rx.url("/hook");
    let attempt = sender.send(&request(&url, &secrets, 5000)).await;
    assert_eq!(attempt.verdict, Verdict::Delivered);
    let got = rx.seen().remove(0);
    let h = |n: &str| {
        got.headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .expect("header")
            .to_owned()
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let body_file = dir.path().join("body");
    std::fs::write(&body_file, &got.body).expect("write body");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/verify_standardwebhooks.py"
    );
    // Each secret alone must verify the header (rotation), and a wrong one must not.
    for (secret, expect_ok) in [
        (SECRET_A, true),
        (SECRET_B, true),
        ("whsec_d3Jvbmcgc2VjcmV0", false),
    ] {
        let out = Command::new("python3")
            .arg(script)
            .args([secret, &h("webhook-id"), &h("webhook-timestamp")])
            .arg(&body_file)
            .arg(h("webhook-signature"))
            .output()
            .expect("run python3");
        assert_eq!(
            out.status.success(),
            expect_ok,
            "{secret}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
