//! Shared by the integration tests: a recording HTTP receiver on 127.0.0.1:0 and the gate for
//! tests that need a Python package.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// One request the receiver saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Answers by path: `/redirect` 302 to `/other`; `/slow` after 3 s; `/status/<code>` with that
/// code (and `Retry-After: 7` for 429); anything else 200 (201 for `.json` paths, like Twilio).
pub struct Receiver {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let log = seen.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let log = log.clone();
                async move {
                    let path = uri.path().to_owned();
                    log.lock().expect("log").push(Seen {
                        method,
                        path: path.clone(),
                        query: uri.query().map(str::to_owned),
                        headers,
                        body,
                    });
                    answer(&path).await
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { addr, seen }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("log").clone()
    }

    pub fn paths(&self) -> Vec<String> {
        self.seen().into_iter().map(|s| s.path).collect()
    }
}

async fn answer(path: &str) -> Response {
    if path == "/redirect" {
        return (StatusCode::FOUND, [("location", "/other")], "moved").into_response();
    }
    if path == "/slow" {
        tokio::time::sleep(Duration::from_secs(3)).await;
        return StatusCode::OK.into_response();
    }
    if let Some(code) = path.strip_prefix("/status/") {
        let code: u16 = code.parse().expect("status code in path");
        let status = StatusCode::from_u16(code).expect("status");
        if code == 429 {
            return (status, [("retry-after", "7")], "slow down").into_response();
        }
        return (status, "receiver says no").into_response();
    }
    if path.ends_with(".json") {
        return (StatusCode::CREATED, r#"{"sid":"SM1","status":"queued"}"#).into_response();
    }
    StatusCode::OK.into_response()
}

/// `true` when `python3` can import `module`. Otherwise prints why the test is skipped and
/// returns `false`, unless `WAYPOST_REQUIRE_PY=1`, which makes the missing module a failure.
pub fn python_has(module: &str, test: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        return true;
    }
    if std::env::var("WAYPOST_REQUIRE_PY").as_deref() == Ok("1") {
        panic!(
            "{test}: python3 cannot import {module} and WAYPOST_REQUIRE_PY=1 (pip install {module})"
        );
    }
    eprintln!("skipped: {test}: python3 cannot import {module} (pip install {module})");
    false
}

/// A port nobody listens on (bound, then released).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}
