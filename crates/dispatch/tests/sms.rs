//! The SMS transport against a loopback receiver standing in for the gateway.

mod common;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::Receiver;
use waypost_dispatch::{SmsConfig, SmsMessage, SmsProvider, SmsSender, Verdict};

const BODY: &str = "Order A&B+1 \"shipped\" — café\nTrack: https://t.test/x?a=1";

fn twilio(base_url: String) -> SmsSender {
    SmsSender::new(SmsConfig {
        provider: SmsProvider::Twilio {
            base_url,
            account_sid: "AC0123".to_owned(),
            auth_token: "tok3n".to_owned(),
            from: "+15005550006".to_owned(),
        },
        timeout: Duration::from_secs(5),
    })
    .expect("sender")
}

fn http(url: String, content_type: &str, template: &str) -> SmsSender {
    SmsSender::new(SmsConfig {
        provider: SmsProvider::Http {
            url,
            method: "post".to_owned(),
            headers: vec![("X-Api-Key".to_owned(), "k-123".to_owned())],
            body_template: template.to_owned(),
            content_type: content_type.to_owned(),
            from: "Waypost".to_owned(),
        },
        timeout: Duration::from_secs(5),
    })
    .expect("sender")
}

fn msg(to: &str) -> SmsMessage<'_> {
    SmsMessage {
        to,
        body: BODY,
        msg_id: "msg_sms1",
        tenant: "acme",
        order_id: "A-1",
        transition: 7,
        trigger: "shipped",
    }
}

/// application/x-www-form-urlencoded, decoded by hand.
fn form(body: &[u8]) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("hex");
                    out.push(u8::from_str_radix(hex, 16).expect("hex"));
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).expect("utf-8")
    };
    std::str::from_utf8(body)
        .expect("utf-8 form")
        .split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').expect("k=v");
            (decode(k), decode(v))
        })
        .collect()
}

#[tokio::test]
async fn twilio_form_auth_and_headers() {
    let rx = Receiver::start().await;
    let sender = twilio(rx.url(""));
    let attempt = sender.send(&msg("+14155552671")).await;
    assert_eq!(
        (attempt.verdict, attempt.code),
        (Verdict::Delivered, Some(201))
    );

    let seen = rx.seen();
    assert_eq!(seen.len(), 1);
    let got = &seen[0];
    assert_eq!(got.method, "POST");
    assert_eq!(got.path, "/2010-04-01/Accounts/AC0123/Messages.json");
    let h = |n: &str| got.headers.get(n).and_then(|v| v.to_str().ok()).expect(n);
    assert_eq!(
        h("authorization"),
        format!("Basic {}", B64.encode("AC0123:tok3n"))
    );
    assert_eq!(h("x-waypost-notification-id"), "msg_sms1");
    assert_eq!(h("content-type"), "application/x-www-form-urlencoded");
    let fields = form(&got.body);
    assert_eq!(
        fields,
        vec![
            ("To".to_owned(), "+14155552671".to_owned()),
            ("From".to_owned(), "+15005550006".to_owned()),
            ("Body".to_owned(), BODY.to_owned()),
        ]
    );
}

#[tokio::test]
async fn http_json_template_escapes_values() {
    let rx = Receiver::start().await;
    let sender = http(
        rx.url("/send?to={{to}}"),
        "application/json",
        r#"{"to":"{{to}}","from":"{{ from }}","text":"{{body}}","ref":"{{id}}"}"#,
    );
    let attempt = sender.send(&msg("+4915112345678")).await;
    assert_eq!(attempt.verdict, Verdict::Delivered, "{attempt:?}");

    let got = rx.seen().remove(0);
    assert_eq!(got.path, "/send");
    assert_eq!(got.query.as_deref(), Some("to=%2B4915112345678"));
    let h = |n: &str| got.headers.get(n).and_then(|v| v.to_str().ok()).expect(n);
    assert_eq!(h("x-api-key"), "k-123");
    assert_eq!(h("x-waypost-notification-id"), "msg_sms1");
    assert_eq!(h("content-type"), "application/json");
    let json: serde_json::Value = serde_json::from_slice(&got.body).expect("valid json body");
    assert_eq!(
        json,
        serde_json::json!({
            "to": "+4915112345678",
            "from": "Waypost",
            "text": BODY,
            "ref": "msg_sms1",
        })
    );
}

#[tokio::test]
async fn http_form_template_encodes_values() {
    let rx = Receiver::start().await;
    let sender = http(
        rx.url("/send"),
        "application/x-www-form-urlencoded",
        "to={{to}}&text={{body}}",
    );
    let attempt = sender.send(&msg("+4915112345678")).await;
    assert_eq!(attempt.verdict, Verdict::Delivered, "{attempt:?}");
    let got = rx.seen().remove(0);
    assert_eq!(
        form(&got.body),
        vec![
            ("to".to_owned(), "+4915112345678".to_owned()),
            ("text".to_owned(), BODY.to_owned()),
        ]
    );
}

#[tokio::test]
async fn invalid_number_is_refused_without_a_request() {
    let rx = Receiver::start().await;
    let sender = twilio(rx.url(""));
    for to in ["4155552671", "+0155552671", "+1 415 555 2671", "+1234"] {
        let attempt = sender.send(&msg(to)).await;
        assert_eq!(attempt.verdict, Verdict::Refused, "{to}");
        assert!(attempt.error.expect("error").contains("E.164"));
    }
    assert!(rx.seen().is_empty());
}

#[tokio::test]
async fn gateway_answers() {
    let rx = Receiver::start().await;
    let cases = [
        ("/status/400", Verdict::Refused),
        ("/status/401", Verdict::Retry),
        ("/status/429", Verdict::Retry),
        ("/status/503", Verdict::Retry),
    ];
    for (path, verdict) in cases {
        let sender = http(rx.url(path), "application/json", r#"{"to":"{{to}}"}"#);
        let attempt = sender.send(&msg("+14155552671")).await;
        assert_eq!(attempt.verdict, verdict, "{path}: {attempt:?}");
        let error = attempt.error.expect("error");
        assert!(
            error.starts_with(&format!("http {}", &path[8..])),
            "{error}"
        );
    }
    let sender = http(rx.url("/status/429"), "application/json", "{}");
    let attempt = sender.send(&msg("+14155552671")).await;
    assert_eq!(attempt.retry_after.as_deref(), Some("7"));

    let sender = SmsSender::new(SmsConfig {
        provider: SmsProvider::Http {
            url: rx.url("/slow"),
            method: "POST".to_owned(),
            headers: vec![],
            body_template: "{}".to_owned(),
            content_type: "application/json".to_owned(),
            from: "W".to_owned(),
        },
        timeout: Duration::from_millis(200),
    })
    .expect("sender");
    let attempt = sender.send(&msg("+14155552671")).await;
    assert_eq!(attempt.verdict, Verdict::Retry);
    assert_eq!(attempt.error.as_deref(), Some("timed out after 200 ms"));
}
