//! Shared pieces of the notification tests (`notify.rs`, `notify_channels.rs`): a scriptable
//! HTTP receiver that records every request, the `[notify]` config they start with, and small
//! clients of `/v1/notify`.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
#![allow(dead_code)] // each test file uses a subset

use crate::common::*;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request a receiver got.
#[derive(Debug, Clone)]
pub struct Hit {
    pub method: String,
    pub path: String,
    /// Lowercase names.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    pub at: Instant,
    /// What the receiver answered.
    pub code: u16,
}

impl Hit {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map_or("", String::as_str)
    }
    pub fn id(&self) -> &str {
        self.header("webhook-id")
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    pub fn accepted(&self) -> bool {
        (200..300).contains(&self.code)
    }
    /// The form fields of an urlencoded body.
    pub fn form(&self) -> HashMap<String, String> {
        url::form_urlencoded::parse(&self.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }
}

/// How a receiver answers: queued codes first, then `default` (503 while `down`).
#[derive(Debug)]
pub struct Script {
    pub queue: VecDeque<u16>,
    pub default: u16,
    pub down: bool,
    /// Sent with every 429 and 503.
    pub retry_after: Option<u64>,
    /// Sent with every 3xx.
    pub location: Option<String>,
    /// How long each answer takes.
    pub delay: std::time::Duration,
}

struct Inner {
    hits: Mutex<Vec<Hit>>,
    script: Mutex<Script>,
}

/// A tiny HTTP server on 127.0.0.1:0 recording every request.
pub struct Receiver {
    pub url: String,
    pub port: u16,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (code, retry_after, location, delay) = {
        let mut s = inner.script.lock().unwrap();
        let code = if s.down {
            503
        } else {
            s.queue.pop_front().unwrap_or(s.default)
        };
        (code, s.retry_after, s.location.clone(), s.delay)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let headers = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                v.to_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    inner.hits.lock().unwrap().push(Hit {
        method: method.to_string(),
        path: uri.path().to_string(),
        headers,
        body: body.to_vec(),
        at: Instant::now(),
        code,
    });
    let status = StatusCode::from_u16(code).unwrap();
    match (retry_after, location) {
        (Some(secs), _) if code == 429 || code == 503 => {
            (status, [("retry-after", secs.to_string())], "").into_response()
        }
        (_, Some(to)) if (300..400).contains(&code) => {
            (status, [("location", to)], "").into_response()
        }
        _ if code == 201 => (status, r#"{"sid":"SM1","status":"queued"}"#).into_response(),
        _ => status.into_response(),
    }
}

impl Receiver {
    pub async fn start() -> Receiver {
        Self::start_on(0).await
    }

    /// On a given port (0: any), to come back on the same URL.
    pub async fn start_on(port: u16) -> Receiver {
        let inner = Arc::new(Inner {
            hits: Mutex::new(Vec::new()),
            script: Mutex::new(Script {
                queue: VecDeque::new(),
                default: 200,
                down: false,
                retry_after: None,
                location: None,
                delay: Duration::ZERO,
            }),
        });
        let app = axum::Router::new()
            .fallback(answer)
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            url: format!("http://127.0.0.1:{port}/hook"),
            port,
            inner,
            task,
        }
    }

    pub fn script(&self, f: impl FnOnce(&mut Script)) {
        f(&mut self.inner.script.lock().unwrap());
    }

    pub fn set_down(&self, down: bool) {
        self.script(|s| s.down = down);
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.inner.hits.lock().unwrap().clone()
    }

    pub fn accepted(&self) -> Vec<Hit> {
        self.hits().into_iter().filter(Hit::accepted).collect()
    }

    /// Waits until `done` holds of the requests so far; fails after `within`.
    pub async fn wait(&self, within: Duration, done: impl Fn(&[Hit]) -> bool) -> Vec<Hit> {
        let deadline = Instant::now() + within;
        loop {
            let hits = self.hits();
            if done(&hits) {
                return hits;
            }
            assert!(
                Instant::now() < deadline,
                "the receiver never got what was expected; {} requests: {:?}",
                hits.len(),
                hits.iter()
                    .map(|h| (h.code, h.id().to_string()))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for `n` accepted requests.
    pub async fn wait_accepted(&self, n: usize, within: Duration) -> Vec<Hit> {
        self.wait(within, |h| h.iter().filter(|h| h.accepted()).count() >= n)
            .await;
        self.accepted()
    }
}

/// A `[notify]` config for tests: loopback allowed, a short retry schedule, a short breaker
/// cool-off. `keys` go into `[notify]`, `tables` after it.
pub fn config(keys: &str, tables: &str) -> String {
    format!(
        "[notify]\nallow_networks = [\"127.0.0.0/8\"]\nbreaker_cool_off = \"500ms\"\n{keys}\n{tables}\n"
    )
}

pub const RETRY: &str = "retry = [\"200ms\", \"300ms\", \"300ms\"]";

pub const SCOPES: &str = "ingest,read,operate,admin";

pub async fn call(s: &Server, key: &str, method: &str, path: &str, body: Option<Value>) -> Resp {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = s.http.request(m, s.url(path)).bearer_auth(key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    Resp::read(req.send().await.unwrap()).await
}

/// Registers a webhook; returns its id and its secrets (made ones when none are given).
pub async fn add_webhook(
    s: &Server,
    key: &str,
    url: &str,
    secrets: Option<Vec<&str>>,
) -> (String, Vec<String>) {
    let mut body = json!({"name": format!("hook {url}"), "kind": "webhook", "url": url});
    if let Some(sec) = &secrets {
        body["secrets"] = json!(sec);
    }
    let r = call(s, key, "POST", "/v1/notify/endpoints", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let made: Vec<String> = match secrets {
        Some(sec) => sec.into_iter().map(str::to_string).collect(),
        None => r.body["new_secrets"]
            .as_array()
            .unwrap_or_else(|| panic!("no secrets made: {}", r.body))
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect(),
    };
    (id_of(&r.body), made)
}

pub async fn add_endpoint(s: &Server, key: &str, kind: &str, to: &str) -> String {
    let body = json!({"name": format!("{kind} {to}"), "kind": kind, "to": to});
    let r = call(s, key, "POST", "/v1/notify/endpoints", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    id_of(&r.body)
}

/// The opaque id of what an answer describes.
pub fn id_of(body: &Value) -> String {
    body["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no string id: {body}"))
        .to_owned()
}

pub async fn subscribe(s: &Server, key: &str, endpoint: &str, on: &[&str]) -> String {
    let body = json!({"name": format!("sub {endpoint}"), "endpoint_id": endpoint, "on": on});
    let r = call(s, key, "POST", "/v1/notify/subscriptions", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    id_of(&r.body)
}

/// A canonical event with the customer's attributes.
pub fn event(id: &str, order: &str, status: &str, minute: i64, attrs: Value) -> Value {
    let mut e = ev(id, order, status, &at(minute));
    if !attrs.is_null() {
        e["attributes"] = attrs;
    }
    e
}

pub async fn post_ok(s: &Server, key: &str, body: Value) {
    let r = s.post_events(key, &body).await;
    assert!(r.status < 300, "events refused: {} {}", r.status, r.body);
}

/// An order's delivery log.
pub async fn log_of(s: &Server, key: &str, order: &str) -> Vec<Value> {
    let r = s
        .get(key, &format!("/v1/orders/{order}/notifications"))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["notifications"].as_array().unwrap().clone()
}

/// Polls an order's delivery log until `done` holds.
pub async fn wait_log(
    s: &Server,
    key: &str,
    order: &str,
    within: Duration,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + within;
    loop {
        let log = log_of(s, key, order).await;
        if done(&log) {
            return log;
        }
        assert!(
            Instant::now() < deadline,
            "the delivery log of {order} never as expected: {log:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs `waypost notify ARGS --url .. --key ..`; returns stdout, failing on a non-zero exit.
pub fn cli(s: &Server, key: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(BIN)
        .arg("notify")
        .args(args)
        .args(["--url", &s.base, "--key", key])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "waypost notify {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Each line of a CLI's output as JSON.
pub fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}
