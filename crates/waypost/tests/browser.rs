//! The dashboard and the customer tracking page in a real browser: starts the real binary with
//! a firing alert rule and `notify.public_url`, creates an operator and a viewer with
//! `waypost users create`, loads the demo world's orders through the API, then runs
//! `node e2e/dashboard.test.mjs` (playwright-core driving Debian's Chromium, axe-core) and
//! fails if it fails. Skipped unless `WAYPOST_TEST_BROWSER=1` (CI sets it after installing
//! Chromium and running `npm ci` in `e2e/`); with it set, a missing Chromium or
//! `e2e/node_modules` fails loudly. Screenshots go to `target/e2e-artifacts/`.
//!
//! The variable is `WAYPOST_TEST_*` because the binary reads every other `WAYPOST_*` variable
//! as configuration and refuses unknown keys.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

const TENANT: &str = "demo";
const OPERATOR: &str = "ops@demo.example";
const OPERATOR_PASSWORD: &str = "e2e-operator-password";
const VIEWER: &str = "viewer@demo.example";
const VIEWER_PASSWORD: &str = "e2e-viewer-password";

/// The event rule fires at once on an `exception`, so the alerts view has something to ack.
const CONFIG: &str = r#"
[[rules]]
name = "e2e-exception"
kind = "event"
statuses = ["exception"]
severity = "critical"

[notify]
public_url = "{base}"
"#;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

/// None (and a printed reason) when the browser tests are not asked for; panics when they are
/// but the browser or the node packages are missing.
fn browser_setup(test: &str) -> Option<(PathBuf, String)> {
    if std::env::var("WAYPOST_TEST_BROWSER").as_deref() != Ok("1") {
        println!(
            "skipped {test}: set WAYPOST_TEST_BROWSER=1 (needs /usr/bin/chromium and `npm ci` in e2e/)"
        );
        return None;
    }
    let chromium =
        std::env::var("WAYPOST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_string());
    assert!(
        Path::new(&chromium).exists(),
        "WAYPOST_TEST_BROWSER=1 but there is no Chromium at {chromium}: apt-get install chromium"
    );
    let e2e = workspace_root().join("e2e");
    assert!(
        e2e.join("node_modules/playwright-core").is_dir()
            && e2e.join("node_modules/axe-core").is_dir(),
        "WAYPOST_TEST_BROWSER=1 but {}/node_modules is incomplete: run `npm ci` there",
        e2e.display()
    );
    Some((e2e, chromium))
}

/// `waypost serve` on a port chosen up front, because the config names the server's own
/// address (`notify.public_url`, the customer links) before it starts.
struct Served {
    child: Child,
    base: String,
    dir: tempfile::TempDir,
    logs: Arc<Mutex<Vec<String>>>,
    http: reqwest::Client,
}

impl Served {
    async fn start() -> Served {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let config = dir.path().join("waypost.toml");
        std::fs::write(&config, CONFIG.replace("{base}", &base)).unwrap();
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(dir.path())
            .arg("--config")
            .arg(&config)
            .env("WAYPOST_LOG__FORMAT", "json")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel::<()>();
        let stderr = child.stderr.take().unwrap();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if line.contains("\"listening\"") {
                    let _ = tx.send(());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let s = Served {
            child,
            base,
            dir,
            logs,
            http: client_builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
        };
        if rx.recv_timeout(Duration::from_secs(30)).is_err() {
            panic!("server did not start; stderr:\n{}", s.log_tail());
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while !matches!(s.http.get(format!("{}/readyz", s.base)).send().await, Ok(r) if r.status() == 200)
        {
            assert!(Instant::now() < deadline, "never ready:\n{}", s.log_tail());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        s
    }

    fn log_tail(&self) -> String {
        let l = self.logs.lock().unwrap();
        l[l.len().saturating_sub(60)..].join("\n")
    }

    fn create_user(&self, email: &str, role: &str, password: &str) {
        let mut child = Command::new(BIN)
            .args(["users", "create", "--tenant", TENANT, "--email", email])
            .args(["--role", role, "--data-dir"])
            .arg(self.dir.path())
            .env("WAYPOST_LOG", "error")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "users create {email}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    async fn post_events(&self, key: &str, events: &[Value]) {
        for chunk in events.chunks(1000) {
            let deadline = Instant::now() + Duration::from_secs(120);
            loop {
                let r = self
                    .http
                    .post(format!("{}/v1/events", self.base))
                    .bearer_auth(key)
                    .json(&Value::Array(chunk.to_vec()))
                    .send()
                    .await
                    .unwrap();
                let r = Resp::read(r).await;
                // A full queue says so (backpressure); wait for it to drain.
                if (r.status == 429 || r.status == 503) && Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    continue;
                }
                assert_eq!(r.status, 202, "POST /v1/events: {}", r.body);
                break;
            }
        }
    }

    /// Active orders with a position, counted through the map's own API (every page).
    async fn mappable(&self, key: &str) -> usize {
        let (mut n, mut cursor) = (0, String::new());
        loop {
            let r = self
                .http
                .get(format!(
                    "{}/v1/map/orders?limit=10000&cursor={cursor}",
                    self.base
                ))
                .bearer_auth(key)
                .send()
                .await
                .unwrap();
            let r = Resp::read(r).await;
            assert_eq!(r.status, 200, "GET /v1/map/orders: {}", r.body);
            n += r.body["points"].as_array().map_or(0, Vec::len);
            match r.body["next_cursor"].as_str() {
                Some(c) => cursor = c.to_string(),
                None => return n,
            }
        }
    }

    /// Waits until the map shows at least `want` orders (ingest is asynchronous).
    async fn wait_mappable(&self, key: &str, want: usize, within: Duration) -> usize {
        let deadline = Instant::now() + within;
        loop {
            let n = self.mappable(key).await;
            if n >= want {
                return n;
            }
            assert!(
                Instant::now() < deadline,
                "only {n} of {want} orders on the map API; stderr:\n{}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Runs `node <script>` in `e2e/` with the settings of this server; returns its output
    /// and asserts it succeeded.
    fn node(&self, e2e: &Path, chromium: &str, key: &str, args: &[&str]) -> String {
        let script = args.join(" ");
        let artifacts = workspace_root().join("target/e2e-artifacts");
        std::fs::create_dir_all(&artifacts).unwrap();
        let out = Command::new("node")
            .args(args)
            .current_dir(e2e)
            .env("WAYPOST_URL", &self.base)
            .env("WAYPOST_TENANT", TENANT)
            .env("WAYPOST_EMAIL", OPERATOR)
            .env("WAYPOST_PASSWORD", OPERATOR_PASSWORD)
            .env("WAYPOST_VIEWER_EMAIL", VIEWER)
            .env("WAYPOST_VIEWER_PASSWORD", VIEWER_PASSWORD)
            .env("WAYPOST_API_KEY", key)
            .env("WAYPOST_ARTIFACTS", &artifacts)
            .env("WAYPOST_CHROMIUM", chromium)
            .output()
            .unwrap_or_else(|e| panic!("cannot run node (is Node.js installed?): {e}"));
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        println!("--- node {script} ---\n{stdout}");
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        if !out.status.success() {
            panic!(
                "node {script} failed ({}); screenshots in {}; server stderr:\n{}",
                out.status,
                artifacts.display(),
                self.log_tail()
            );
        }
        stdout
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The demo world's events from `minutes` of wall time ago up to now: every stage at once,
/// exactly what `waypost demo` would have fed by now.
fn demo_events(minutes: i64, orders_per_minute: f64) -> Vec<Value> {
    let now = jiff::Timestamp::now();
    let mut world = waypost_demo::World::new(
        waypost_demo::DemoConfig {
            seed: 7,
            orders_per_minute,
            max_orders: None,
            speed: 60.0,
        },
        now - jiff::SignedDuration::from_mins(minutes),
    );
    world.poll(now)
}

#[tokio::test(flavor = "multi_thread")]
async fn dashboard_in_a_real_browser() {
    let Some((e2e, chromium)) = browser_setup("dashboard_in_a_real_browser") else {
        return;
    };
    let s = Served::start().await;
    let key = create_key(s.dir.path(), TENANT, "ingest,read,operate,admin");
    s.create_user(OPERATOR, "operator", OPERATOR_PASSWORD);
    s.create_user(VIEWER, "viewer", VIEWER_PASSWORD);
    let events = demo_events(6, 120.0);
    assert!(
        events.len() > 100,
        "the demo world made {} events",
        events.len()
    );
    s.post_events(&key, &events).await;
    let n = s.wait_mappable(&key, 20, Duration::from_secs(60)).await;
    println!("{} demo events posted, {n} orders on the map", events.len());
    s.node(
        &e2e,
        &chromium,
        &key,
        &["--test-reporter=spec", "dashboard.test.mjs"],
    );
    // The load measurement `waypost bench dashboard --browser` runs, here on the demo's orders
    // so the script keeps working; the 10,000-order figure is the bench's.
    let out = s.node(&e2e, &chromium, &key, &["load.mjs"]);
    let figures: Value = out
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("load.mjs printed no JSON line:\n{out}"));
    assert!(figures["markers"].as_u64().unwrap_or(0) > 0, "{figures}");
    assert!(figures["p50_ms"].as_f64().is_some(), "{figures}");
}
