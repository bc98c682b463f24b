//! Shared helpers of the black-box tests: start the real `waypost` binary on a free port with a
//! fresh data directory, make keys with its CLI, and talk to it over plain HTTP. Each test file
//! uses a different subset, hence the `dead_code` allowance.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
#![allow(dead_code)]

use serde_json::{Value, json};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_waypost");
/// How long a test waits for asynchronous processing to show up before failing.
pub const WAIT: Duration = Duration::from_secs(5);
/// How long a server may take to start (recovery after a crash included).
const START: Duration = Duration::from_secs(30);

/// A running `waypost serve`, killed (SIGKILL) when dropped. Its stderr is drained on a thread,
/// so a chatty server never blocks on a full pipe; the last lines are printed if a test fails.
pub struct Server {
    child: Option<Child>,
    pub base: String,
    pub dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    envs: Vec<(String, String)>,
    logs: Arc<Mutex<VecDeque<String>>>,
    pub http: reqwest::Client,
}

/// A fresh server on a fresh temporary data directory.
pub async fn spawn_server() -> Server {
    spawn_server_with(&[]).await
}

/// Like [`spawn_server`], with extra environment (`WAYPOST_QUEUE__MAX_EVENTS`, ...).
pub async fn spawn_server_with(envs: &[(&str, &str)]) -> Server {
    spawn_server_full(envs, None).await
}

/// A fresh server started with `config` as its TOML config file (`{dir}` in it is replaced by
/// the data directory).
#[allow(dead_code)] // not every test binary uses every helper
pub async fn spawn_server_with_config(config: &str) -> Server {
    spawn_server_full(&[], Some(config)).await
}

/// Like [`spawn_server_with_config`], with extra environment (`WAYPOST_TEST_FAULT`, ...).
#[allow(dead_code)] // not every test binary uses every helper
pub async fn spawn_server_with_config_env(config: &str, envs: &[(&str, &str)]) -> Server {
    spawn_server_full(envs, Some(config)).await
}

async fn spawn_server_full(envs: &[(&str, &str)], config: Option<&str>) -> Server {
    let tmp = tempfile::tempdir().expect("temp dir");
    if let Some(c) = config {
        let text = c.replace("{dir}", &tmp.path().display().to_string());
        std::fs::write(tmp.path().join("waypost.toml"), text).expect("write config");
    }
    let mut s = Server {
        child: None,
        base: String::new(),
        dir: tmp.path().to_path_buf(),
        _tmp: Some(tmp),
        envs: envs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        logs: Arc::new(Mutex::new(VecDeque::new())),
        http: client_builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("http client"),
    };
    s.start().await;
    s
}

impl Server {
    /// Starts (again) on the same data directory, on a new free port.
    pub async fn start(&mut self) {
        assert!(self.child.is_none(), "server already running");
        // A test that needs a config file writes it as `waypost.toml` in the data directory.
        let config = self.dir.join("waypost.toml");
        let config_args: Vec<std::ffi::OsString> = if config.exists() {
            vec!["--config".into(), config.into_os_string()]
        } else {
            Vec::new()
        };
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&self.dir)
            .args(config_args)
            .env("WAYPOST_LOG__FORMAT", "json")
            .env("NO_COLOR", "1")
            .envs(self.envs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn waypost serve");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel::<String>();
        let logs = self.logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && v["fields"]["message"] == "listening"
                    && let Some(addr) = v["fields"]["addr"].as_str()
                {
                    let _ = tx.send(addr.to_string());
                }
                let mut l = logs.lock().expect("log buffer");
                if l.len() >= 200 {
                    l.pop_front();
                }
                l.push_back(line);
            }
        });
        self.child = Some(child);
        let addr = match rx.recv_timeout(START) {
            Ok(a) => a,
            Err(e) => panic!(
                "server did not report its address ({e}); stderr:\n{}",
                self.log_text()
            ),
        };
        self.base = format!("http://{addr}");
        let deadline = Instant::now() + START;
        loop {
            if let Ok(r) = self.http.get(self.url("/readyz")).send().await
                && r.status() == 200
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "server never became ready; stderr:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Replaces the extra environment of the next [`Server::start`] (a restart without a
    /// fault point, say).
    pub fn set_envs(&mut self, envs: &[(&str, &str)]) {
        self.envs = envs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    }

    /// Whether the server process has exited by itself (an abort, a crash); reaps it.
    pub fn exited(&mut self) -> bool {
        match self.child.as_mut().map(|c| c.try_wait()) {
            Some(Ok(Some(_))) => {
                self.child = None;
                true
            }
            _ => false,
        }
    }

    /// The server process's id, while it runs (to send it signals).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL: no graceful shutdown, no flush beyond what was already committed.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub async fn restart(&mut self) {
        self.kill();
        self.start().await;
    }

    pub fn log_text(&self) -> String {
        let l = self.logs.lock().expect("log buffer");
        l.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn key(&self, tenant: &str, scopes: &str) -> String {
        create_key(&self.dir, tenant, scopes)
    }

    pub async fn post_events(&self, key: &str, body: &Value) -> Resp {
        let r = self
            .http
            .post(self.url("/v1/events"))
            .bearer_auth(key)
            .json(body)
            .send()
            .await
            .expect("POST /v1/events");
        Resp::read(r).await
    }

    /// `POST path` with a JSON body, as the holder of `key`.
    pub async fn post(&self, key: &str, path: &str, body: Value) -> Resp {
        let r = self
            .http
            .post(self.url(path))
            .bearer_auth(key)
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        Resp::read(r).await
    }

    pub async fn get(&self, key: &str, path: &str) -> Resp {
        let r = self
            .http
            .get(self.url(path))
            .bearer_auth(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        Resp::read(r).await
    }

    /// Polls `GET /v1/orders/{id}` until `pred` holds; returns the order.
    pub async fn wait_for(
        &self,
        key: &str,
        order_id: &str,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let r = self.get(key, &format!("/v1/orders/{order_id}")).await;
            if r.status == 200 && pred(&r.body) {
                return r.body;
            }
            assert!(
                Instant::now() < deadline,
                "order {order_id} never reached the expected state; last answer {}: {}",
                r.status,
                r.body
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn wait_for_status(&self, key: &str, order_id: &str, status: &str) -> Value {
        self.wait_for(key, order_id, |o| o["status"] == status)
            .await
    }

    pub async fn metrics(&self) -> String {
        let r = self
            .http
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("GET /metrics");
        assert_eq!(r.status(), 200);
        r.text().await.expect("metrics text")
    }

    /// The value of one sample, `name` including its labels as rendered.
    pub async fn metric(&self, name: &str) -> f64 {
        metric_in(&self.metrics().await, name)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if std::thread::panicking() && self.child.is_some() {
            eprintln!("--- waypost stderr (last lines) ---\n{}", self.log_text());
        }
        self.kill();
    }
}

pub fn metric_in(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("metric {name} not found in:\n{text}"))
}

/// An HTTP answer, its body parsed as JSON when it is JSON (else kept as a JSON string).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Resp {
    pub async fn read(r: reqwest::Response) -> Resp {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.expect("response body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Resp {
            status,
            headers,
            body,
        }
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts an RFC 9457 problem with this status.
    #[track_caller]
    pub fn assert_problem(&self, status: u16) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(
            self.content_type(),
            "application/problem+json",
            "{}",
            self.body
        );
        assert_eq!(self.body["status"], status, "{}", self.body);
        for f in ["type", "title", "detail"] {
            assert!(
                self.body[f].is_string(),
                "problem without {f}: {}",
                self.body
            );
        }
    }

    /// The `field` of every entry of a problem's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// `waypost keys create`; returns the printed key.
pub fn create_key(dir: &Path, tenant: &str, scopes: &str) -> String {
    let out = Command::new(BIN)
        .args([
            "keys",
            "create",
            "--tenant",
            tenant,
            "--scopes",
            scopes,
            "--data-dir",
        ])
        .arg(dir)
        .output()
        .expect("run waypost keys create");
    assert!(
        out.status.success(),
        "keys create failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8 key")
        .trim()
        .to_string()
}

/// `2025-01-10T08:00:00Z` plus `minutes`, in UTC.
pub fn at(minutes: i64) -> String {
    let base: jiff::Timestamp = "2025-01-10T08:00:00Z".parse().expect("base time");
    (base + jiff::SignedDuration::from_mins(minutes)).to_string()
}

/// A minimal valid canonical event from the `wms` source.
pub fn ev(event_id: &str, order_id: &str, status: &str, occurred_at: &str) -> Value {
    json!({
        "source": "wms",
        "event_id": event_id,
        "order_id": order_id,
        "status": status,
        "occurred_at": occurred_at,
    })
}

/// A carrier event for one tracking number.
pub fn carrier_ev(
    event_id: &str,
    order_id: &str,
    tracking: &str,
    status: &str,
    occurred_at: &str,
) -> Value {
    json!({
        "source": "ups",
        "event_id": event_id,
        "order_id": order_id,
        "status": status,
        "occurred_at": occurred_at,
        "tracking_number": tracking,
        "carrier": "UPS",
    })
}

/// One message of `/v1/stream`.
#[derive(Debug, Clone)]
pub struct Change {
    pub id: u64,
    pub event: String,
    pub data: Value,
}

/// A client of the server-sent event stream.
pub struct Sse {
    resp: reqwest::Response,
    buf: Vec<u8>,
}

impl Sse {
    pub async fn connect(server: &Server, key: &str, last_event_id: Option<u64>) -> Sse {
        // No overall timeout: the stream is endless; reads are bounded by `next`.
        let client = plain_client();
        let mut req = client.get(server.url("/v1/stream")).bearer_auth(key);
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id.to_string());
        }
        let resp = req.send().await.expect("GET /v1/stream");
        assert_eq!(resp.status(), 200, "stream refused");
        let ct = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        assert!(ct.starts_with("text/event-stream"), "content-type {ct}");
        if last_event_id.is_none() {
            // "From now" is fixed by a task the server spawns after answering (it reads the last
            // change seq then), so a change applied in between would be skipped. Give that task
            // a moment, so tests do not race it.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Sse {
            resp,
            buf: Vec::new(),
        }
    }

    /// The next change, or None if none comes within `within`.
    pub async fn next(&mut self, within: Duration) -> Option<Change> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(pos) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let frame: Vec<u8> = self.buf.drain(..pos + 2).collect();
                let frame = String::from_utf8(frame).expect("utf-8 frame");
                let (mut id, mut event, mut data) = (None, String::new(), String::new());
                for line in frame.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().parse().ok();
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.strip_prefix(' ').unwrap_or(v));
                    }
                }
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                let data: Value = serde_json::from_str(&data).expect("change JSON");
                // Only changes are resumable and carry an id; alerts are live only (0 here).
                let id = match event.as_str() {
                    "change" => id.expect("change without id"),
                    _ => id.unwrap_or(0),
                };
                return Some(Change { id, event, data });
            }
            match tokio::time::timeout_at(deadline, self.resp.chunk()).await {
                Ok(Ok(Some(bytes))) => self.buf.extend_from_slice(&bytes),
                Ok(Ok(None)) => panic!("the stream ended"),
                Ok(Err(e)) => panic!("stream read failed: {e}"),
                Err(_) => return None,
            }
        }
    }

    /// Collects changes until `done` says the list is complete; fails after [`WAIT`].
    pub async fn collect_until(&mut self, done: impl Fn(&[Change]) -> bool) -> Vec<Change> {
        let deadline = Instant::now() + WAIT;
        let mut out = Vec::new();
        while !done(&out) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left).await {
                Some(c) => out.push(c),
                None => panic!("stream stalled; got {} changes: {:?}", out.len(), ids(&out)),
            }
        }
        out
    }
}

pub fn ids(changes: &[Change]) -> Vec<u64> {
    changes.iter().map(|c| c.id).collect()
}

/// reqwest's rustls brings no crypto provider here (the connectors build it with ring, and the
/// binary's `main` installs ring first); a test process installs it before building a client.
pub fn client_builder() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

#[allow(dead_code)] // not every test binary uses every helper
pub fn plain_client() -> reqwest::Client {
    client_builder().build().expect("http client")
}
