//! Dashboard logins against the real binary: users made with `waypost users`, the session
//! cookie and its flags, CSRF on commands, roles, logout, disabling, tenant walls, throttling,
//! and the login `waypost demo` prints.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use common::*;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "correct horse battery";

/// `waypost users ...` with `stdin` as standard input.
fn users(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(BIN)
        .arg("users")
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn create_user(dir: &Path, tenant: &str, email: &str, role: &str) {
    let out = users(
        dir,
        &[
            "create", "--tenant", tenant, "--email", email, "--role", role,
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(
        out.status.success(),
        "users create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A logged-in browser: its cookie and CSRF token.
struct Browser {
    cookie: String,
    csrf: String,
}

async fn login_raw(s: &Server, body: Value) -> Resp {
    let r = s
        .http
        .post(s.url("/v1/session"))
        .json(&body)
        .send()
        .await
        .unwrap();
    Resp::read(r).await
}

fn set_cookie(r: &Resp) -> String {
    r.headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

async fn login(s: &Server, tenant: &str, email: &str, password: &str) -> Browser {
    let r = login_raw(
        s,
        json!({"tenant": tenant, "email": email, "password": password}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let cookie = set_cookie(&r);
    let value = cookie
        .split(';')
        .next()
        .and_then(|kv| kv.strip_prefix("waypost_session="))
        .unwrap()
        .to_string();
    assert!(!value.is_empty(), "{cookie}");
    Browser {
        cookie: format!("waypost_session={value}"),
        csrf: r.body["csrf_token"].as_str().unwrap().to_string(),
    }
}

async fn send(
    s: &Server,
    method: reqwest::Method,
    path: &str,
    b: &Browser,
    csrf: Option<&str>,
) -> Resp {
    let mut req = s
        .http
        .request(method, s.url(path))
        .header("cookie", &b.cookie);
    if let Some(c) = csrf {
        req = req.header("x-csrf-token", c);
    }
    if path.starts_with("/v1/alerts") {
        req = req.json(&json!({}));
    }
    Resp::read(req.send().await.unwrap()).await
}

async fn get(s: &Server, path: &str, b: &Browser) -> Resp {
    send(s, reqwest::Method::GET, path, b, None).await
}

#[tokio::test]
async fn users_cli_refuses_short_passwords_and_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let args = [
        "create",
        "--tenant",
        "acme",
        "--email",
        "Ann@Acme.io",
        "--role",
        "viewer",
    ];
    let out = users(d, &args, "short\n");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("shorter than 10 characters"), "{err}");
    assert!(users(d, &args, &format!("{PASSWORD}\n")).status.success());
    let out = users(d, &args, &format!("{PASSWORD}\n"));
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--reset"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut reset = args.to_vec();
    reset[6] = "operator";
    reset.push("--reset");
    assert!(users(d, &reset, "another password\n").status.success());
    let list = users(d, &["list", "--tenant", "acme"], "");
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(text.starts_with("ann@acme.io\toperator\t"), "{text}");
    assert!(
        !text.contains("argon2"),
        "hashes must not be listed: {text}"
    );
    assert!(
        users(d, &["list", "--tenant", "globex"], "")
            .stdout
            .is_empty()
    );
    let out = users(
        d,
        &["disable", "--tenant", "acme", "--email", "nobody@acme.io"],
        "",
    );
    assert!(!out.status.success());
}

#[tokio::test]
async fn login_sets_a_strict_http_only_cookie_and_wrong_logins_all_look_alike() {
    let s = spawn_server().await;
    create_user(&s.dir, "acme", "Ops@Acme.io", "operator");

    let mut answers = Vec::new();
    for body in [
        json!({"tenant": "acme", "email": "ops@acme.io", "password": "wrong password"}),
        json!({"tenant": "acme", "email": "nobody@acme.io", "password": PASSWORD}),
        json!({"tenant": "globex", "email": "ops@acme.io", "password": PASSWORD}),
    ] {
        let r = login_raw(&s, body).await;
        r.assert_problem(401);
        assert!(set_cookie(&r).is_empty());
        answers.push(r.body["detail"].clone());
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");

    // Login CSRF: the right password posted the way another site's form can (text/plain
    // reading as JSON, or no type at all) logs no one in.
    for ct in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let mut req = s.http.post(s.url("/v1/session")).body(format!(
            r#"{{"tenant":"acme","email":"ops@acme.io","password":"{}"}}"#,
            PASSWORD
        ));
        if let Some(ct) = ct {
            req = req.header(reqwest::header::CONTENT_TYPE, ct);
        }
        let r = Resp::read(req.send().await.unwrap()).await;
        r.assert_problem(415);
        assert!(set_cookie(&r).is_empty(), "{ct:?}");
    }

    let r = login_raw(&s, json!({"tenant": "acme", "email": "ops@acme.io"})).await;
    r.assert_problem(422);
    assert_eq!(r.error_fields(), ["password"]);
    let r = login_raw(&s, json!({"tenant": "acme", "email": 5, "password": "x"})).await;
    assert_eq!(r.error_fields(), ["email"]);

    // The email is matched whatever its case.
    let r = login_raw(
        &s,
        json!({"tenant": "acme", "email": "OPS@ACME.IO", "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let cookie = set_cookie(&r);
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(
            cookie.split("; ").any(|f| f == flag),
            "{flag} missing: {cookie}"
        );
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    assert_eq!(
        r.body["user"],
        json!({"email": "ops@acme.io", "role": "operator", "tenant": "acme"})
    );
    assert!(r.body["csrf_token"].as_str().unwrap().len() >= 32);

    let b = login(&s, "acme", "ops@acme.io", PASSWORD).await;
    let me = get(&s, "/v1/session", &b).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.body["user"]["email"], "ops@acme.io");
    assert_eq!(me.body["csrf_token"], b.csrf.as_str());
    let r = s.http.get(s.url("/v1/session")).send().await.unwrap();
    Resp::read(r).await.assert_problem(401);
    let forged = Browser {
        cookie: "waypost_session=forged".into(),
        csrf: String::new(),
    };
    get(&s, "/v1/session", &forged).await.assert_problem(401);
    get(&s, "/v1/orders", &forged).await.assert_problem(401);
}

#[tokio::test]
async fn roles_scopes_csrf_and_logout() {
    let s = spawn_server().await;
    create_user(&s.dir, "acme", "ops@acme.io", "operator");
    create_user(&s.dir, "acme", "view@acme.io", "viewer");
    let ops = login(&s, "acme", "ops@acme.io", PASSWORD).await;
    let viewer = login(&s, "acme", "view@acme.io", PASSWORD).await;
    let post = reqwest::Method::POST;
    let ack = "/v1/alerts/999999/ack";

    assert_eq!(get(&s, "/v1/orders", &viewer).await.status, 200);
    assert_eq!(get(&s, "/v1/alerts", &viewer).await.status, 200);
    let r = send(&s, post.clone(), ack, &viewer, Some(&viewer.csrf)).await;
    r.assert_problem(403);
    assert!(
        r.body["detail"].as_str().unwrap().contains("operate"),
        "{}",
        r.body
    );
    // Admin stays API keys only.
    send(&s, post.clone(), "/v1/admin/reload", &ops, Some(&ops.csrf))
        .await
        .assert_problem(403);

    // The operator passes the scope check and reaches the handler (no such alert).
    let r = send(&s, post.clone(), ack, &ops, Some(&ops.csrf)).await;
    r.assert_problem(404);
    for csrf in [None, Some("wrong"), Some(viewer.csrf.as_str())] {
        let r = send(&s, post.clone(), ack, &ops, csrf).await;
        r.assert_problem(403);
        assert!(
            r.body["type"].as_str().unwrap().ends_with("csrf"),
            "{}",
            r.body
        );
        let r = send(&s, reqwest::Method::DELETE, "/v1/session", &ops, csrf).await;
        r.assert_problem(403);
    }
    assert_eq!(get(&s, "/v1/session", &ops).await.status, 200);

    let r = send(
        &s,
        reqwest::Method::DELETE,
        "/v1/session",
        &ops,
        Some(&ops.csrf),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let cleared = set_cookie(&r);
    assert!(
        cleared.starts_with("waypost_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    get(&s, "/v1/session", &ops).await.assert_problem(401);
    get(&s, "/v1/orders", &ops).await.assert_problem(401);
    send(&s, post, ack, &ops, Some(&ops.csrf))
        .await
        .assert_problem(401);
    // The other session is untouched.
    assert_eq!(get(&s, "/v1/orders", &viewer).await.status, 200);
}

#[tokio::test]
async fn a_disabled_users_session_stops_working_at_once() {
    let s = spawn_server().await;
    create_user(&s.dir, "acme", "ops@acme.io", "operator");
    let b = login(&s, "acme", "ops@acme.io", PASSWORD).await;
    assert_eq!(get(&s, "/v1/orders", &b).await.status, 200);
    let out = users(
        &s.dir,
        &["disable", "--tenant", "acme", "--email", "OPS@acme.io"],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    get(&s, "/v1/orders", &b).await.assert_problem(401);
    login_raw(
        &s,
        json!({"tenant": "acme", "email": "ops@acme.io", "password": PASSWORD}),
    )
    .await
    .assert_problem(401);
}

#[tokio::test]
async fn a_session_sees_its_own_tenant_only() {
    let s = spawn_server().await;
    create_user(&s.dir, "demo", "ops@demo.example", "viewer");
    let demo_key = s.key("demo", "ingest,read");
    let acme_key = s.key("acme", "ingest,read");
    assert_eq!(
        s.post_events(&acme_key, &ev("a1", "A-1", "packed", &at(0)))
            .await
            .status,
        202
    );
    assert_eq!(
        s.post_events(&demo_key, &ev("d1", "D-1", "packed", &at(0)))
            .await
            .status,
        202
    );
    s.wait_for_status(&acme_key, "A-1", "packed").await;
    s.wait_for_status(&demo_key, "D-1", "packed").await;
    let b = login(&s, "demo", "ops@demo.example", PASSWORD).await;
    assert_eq!(get(&s, "/v1/orders/D-1", &b).await.status, 200);
    get(&s, "/v1/orders/A-1", &b).await.assert_problem(404);
    let list = get(&s, "/v1/orders", &b).await;
    let ids: Vec<&str> = list.body["orders"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["order_id"].as_str())
        .collect();
    assert_eq!(ids, ["D-1"], "{}", list.body);
    // The same address in another tenant is another account.
    login_raw(
        &s,
        json!({"tenant": "acme", "email": "ops@demo.example", "password": PASSWORD}),
    )
    .await
    .assert_problem(401);
}

#[tokio::test]
async fn repeated_failures_are_throttled_even_for_the_right_password() {
    // A delay long enough that no machine is too slow to meet it.
    let s = spawn_server_with(&[("WAYPOST_AUTH__LOGIN__BASE_DELAY_MS", "30000")]).await;
    create_user(&s.dir, "acme", "ops@acme.io", "operator");
    create_user(&s.dir, "acme", "other@acme.io", "operator");
    let wrong = json!({"tenant": "acme", "email": "ops@acme.io", "password": "wrong password"});
    // Three free attempts; the next must wait since the last (docs/configuration.md).
    for _ in 0..3 {
        login_raw(&s, wrong.clone()).await.assert_problem(401);
    }
    let right = json!({"tenant": "acme", "email": "ops@acme.io", "password": PASSWORD});
    let r = login_raw(&s, right).await;
    r.assert_problem(429);
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    // Another account from the same address is not locked out by these five.
    login(&s, "acme", "other@acme.io", PASSWORD).await;
}

#[tokio::test]
async fn demo_prints_its_dashboard_login() {
    let dir = tempfile::tempdir().unwrap();
    let password = "demo password 123";
    let mut child = Command::new(BIN)
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--max-orders",
            "3",
            "--data-dir",
        ])
        .arg(dir.path())
        .env("WAYPOST_DEMO_PASSWORD", password)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if line.contains("Dashboard:") {
                let _ = tx.send(line);
            }
        }
    });
    let line = rx.recv_timeout(Duration::from_secs(30));
    let line = match line {
        Ok(l) => l,
        Err(e) => {
            let _ = child.kill();
            panic!("no Dashboard line: {e}");
        }
    };
    let addr = line
        .trim()
        .strip_prefix("Dashboard: http://")
        .and_then(|r| r.split_once('/'))
        .map(|(a, _)| a.to_string())
        .unwrap_or_else(|| panic!("{line}"));
    assert!(
        line.ends_with(&format!(
            "/  (tenant demo, ops@demo.example, password {password})"
        )),
        "{line}"
    );
    let http = plain_client();
    let deadline = Instant::now() + Duration::from_secs(30);
    let r = loop {
        let r = http
            .post(format!("http://{addr}/v1/session"))
            .json(&json!({"tenant": "demo", "email": "ops@demo.example", "password": password}))
            .send()
            .await;
        if let Ok(r) = r {
            break r;
        }
        assert!(Instant::now() < deadline, "demo never answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let r = Resp::read(r).await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["user"]["role"], "operator");
}
