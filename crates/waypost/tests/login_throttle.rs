//! The login throttle against the real binary: concurrent guesses get no more password checks
//! than the budget, a known device still logs in during an attack, made-up accounts do not lock
//! an address out, `X-Forwarded-For` counts only from a trusted proxy, and the login takes
//! `application/json` only.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use common::*;
use futures::future::join_all;
use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const PASSWORD: &str = "correct horse battery";
const CHECKS: &str = "waypost_login_password_checks_total";
const THROTTLED: &str = "waypost_login_throttled_total";

fn create_user(dir: &Path, tenant: &str, email: &str) {
    let mut child = Command::new(BIN)
        .args(["users", "create", "--tenant", tenant, "--email", email])
        .args(["--role", "operator", "--data-dir"])
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{PASSWORD}\n").as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "users create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn body(email: &str, password: &str) -> Value {
    json!({"tenant": "acme", "email": email, "password": password})
}

/// A login with extra headers (`Cookie`, `X-Forwarded-For`).
async fn login(s: &Server, body: &Value, headers: &[(&str, &str)]) -> Resp {
    let mut req = s.http.post(s.url("/v1/session")).json(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    Resp::read(req.send().await.unwrap()).await
}

/// The `Set-Cookie` value for `name`, if the answer sets it.
fn cookie(r: &Resp, name: &str) -> Option<String> {
    r.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// `name=value` of a `Set-Cookie`, to send back as `Cookie`.
fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap_or("").to_owned()
}

#[tokio::test]
async fn three_hundred_concurrent_guesses_check_at_most_the_budget() {
    let s =
        spawn_server_with_config("[auth.login.account]\nmax_attempts = 10\nfree_attempts = 10\n")
            .await;
    create_user(&s.dir, "acme", "ops@acme.io");
    let wrong = body("ops@acme.io", "wrong password");
    let answers = join_all((0..300).map(|_| login(&s, &wrong, &[]))).await;
    let count = |status| answers.iter().filter(|r| r.status == status).count();
    let (unauthorized, throttled) = (count(401), count(429));
    assert_eq!(unauthorized + throttled, 300, "only 401 and 429");
    assert!(unauthorized <= 10, "{unauthorized} guesses answered 401");
    let checks = s.metric(CHECKS).await;
    eprintln!(
        "300 concurrent wrong logins: {checks} passwords checked, {unauthorized} answered 401, {throttled} answered 429"
    );
    assert!(checks <= 10.0, "{checks} passwords checked");
    assert_eq!(s.metric(THROTTLED).await, throttled as f64);
    for r in answers.iter().filter(|r| r.status == 429) {
        r.assert_problem(429);
        let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=900).contains(&retry), "{retry}");
    }
    // The right password now is refused too, without being checked.
    let r = login(&s, &body("ops@acme.io", PASSWORD), &[]).await;
    r.assert_problem(429);
    assert!(cookie(&r, "waypost_session").is_none());
    assert_eq!(s.metric(CHECKS).await, checks);
}

#[tokio::test]
async fn the_right_password_behind_a_hundred_wrong_ones_gets_no_session() {
    // A long delay past the free attempts, so the right one sent while the wrong ones are in
    // flight is refused whatever the machine's speed.
    let s = spawn_server_with_config(
        "[auth.login]\nbase_delay_ms = 30000\n[auth.login.account]\nmax_attempts = 10\nfree_attempts = 3\n",
    )
    .await;
    create_user(&s.dir, "acme", "ops@acme.io");
    let wrong = body("ops@acme.io", "wrong password");
    let right = body("ops@acme.io", PASSWORD);
    let guesses = join_all((0..99).map(|_| login(&s, &wrong, &[])));
    let last = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        login(&s, &right, &[]).await
    };
    let (answers, last) = tokio::join!(guesses, last);
    last.assert_problem(429);
    for r in answers.iter().chain([&last]) {
        assert_ne!(r.status, 200, "{}", r.body);
        assert!(cookie(r, "waypost_session").is_none());
    }
    let checks = s.metric(CHECKS).await;
    eprintln!(
        "99 concurrent wrong logins and the right one last: {checks} passwords checked, the last answered {}",
        last.status
    );
    assert!(checks <= 3.0, "{checks}");
}

#[tokio::test]
async fn a_known_device_still_logs_in_while_strangers_guess() {
    // Three guesses lock the account for the window (no delay to wait out).
    let s = spawn_server_with_config("[auth.login.account]\nmax_attempts = 3\nfree_attempts = 3\n")
        .await;
    create_user(&s.dir, "acme", "ops@acme.io");
    create_user(&s.dir, "acme", "other@acme.io");
    let right = body("ops@acme.io", PASSWORD);

    let first = login(&s, &right, &[]).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let device = cookie(&first, "waypost_device").expect("a device cookie");
    for flag in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/v1/session",
        "Max-Age=31536000",
    ] {
        assert!(device.split("; ").any(|f| f == flag), "{flag}: {device}");
    }
    assert!(!device.contains("Secure"), "plain HTTP: {device}");
    let known = pair(&device);
    let r = login(&s, &body("other@acme.io", PASSWORD), &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let other = pair(&cookie(&r, "waypost_device").unwrap());

    // An attack on the account, concurrent with its owner's login from the known device.
    let wrong = body("ops@acme.io", "wrong password");
    let attack = join_all((0..100).map(|_| login(&s, &wrong, &[])));
    let owner = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        login(&s, &right, &[("cookie", known.as_str())]).await
    };
    let (attack, owner) = tokio::join!(attack, owner);
    assert!(attack.iter().all(|r| r.status != 200));
    assert!(attack.iter().any(|r| r.status == 429));
    assert_eq!(owner.status, 200, "{}", owner.body);
    assert!(cookie(&owner, "waypost_session").is_some());

    // Without it, or with another account's, the account is locked like for anyone.
    login(&s, &right, &[]).await.assert_problem(429);
    login(&s, &right, &[("cookie", other.as_str())])
        .await
        .assert_problem(429);
    let forged = format!("waypost_device={}x", &known["waypost_device=".len()..]);
    login(&s, &right, &[("cookie", forged.as_str())])
        .await
        .assert_problem(429);
    // The device has its own small budget: wrong passwords from it are throttled too.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let r = login(&s, &wrong, &[("cookie", known.as_str())]).await;
        statuses.push(r.status);
    }
    assert_eq!(statuses[..3], [401, 401, 401], "{statuses:?}");
    assert_eq!(statuses[5], 429, "{statuses:?}");
}

#[tokio::test]
async fn made_up_accounts_do_not_lock_an_address_and_real_ones_do() {
    let s = spawn_server_with_config("[auth.login.address]\nmax_attempts = 5\nfree_attempts = 5\n")
        .await;
    for i in 0..6 {
        create_user(&s.dir, "acme", &format!("u{i}@acme.io"));
    }
    for i in 0..20 {
        login(&s, &body(&format!("nobody{i}@acme.io"), PASSWORD), &[])
            .await
            .assert_problem(401);
    }
    let r = login(&s, &body("u0@acme.io", PASSWORD), &[]).await;
    assert_eq!(
        r.status, 200,
        "made-up accounts locked the address: {}",
        r.body
    );
    // Five failures for accounts that exist, one each: the address's budget is used up.
    for i in 1..6 {
        login(&s, &body(&format!("u{i}@acme.io"), "wrong password"), &[])
            .await
            .assert_problem(401);
    }
    let r = login(&s, &body("u0@acme.io", PASSWORD), &[]).await;
    r.assert_problem(429);
    // Made-up accounts are refused alike from there, so the 429 tells nothing about them.
    login(&s, &body("nobody@acme.io", PASSWORD), &[])
        .await
        .assert_problem(429);
}

const WEBHOOK_ALLOW: &str = r#"
[[webhooks]]
tenant = "acme"
source = "shippo"
allow_ips = ["10.0.0.0/8"]

[auth.login.address]
max_attempts = 2
free_attempts = 2
"#;

#[tokio::test]
async fn forwarded_for_is_believed_from_a_trusted_proxy_only() {
    let proxied = spawn_server_with_config(&format!(
        "[proxy]\ntrusted = [\"127.0.0.1\"]\n{WEBHOOK_ALLOW}"
    ))
    .await;
    let direct = spawn_server_with_config(WEBHOOK_ALLOW).await;
    for s in [&proxied, &direct] {
        for who in ["a", "b", "c"] {
            create_user(&s.dir, "acme", &format!("{who}@acme.io"));
        }
        // Two failures, for two accounts, said to come from one client.
        for who in ["a", "b"] {
            login(
                s,
                &body(&format!("{who}@acme.io"), "wrong password"),
                &[("x-forwarded-for", "198.51.100.1")],
            )
            .await
            .assert_problem(401);
        }
    }
    let c = body("c@acme.io", PASSWORD);
    // Behind the trusted proxy, that client is locked out and another is not.
    login(&proxied, &c, &[("x-forwarded-for", "198.51.100.1")])
        .await
        .assert_problem(429);
    let r = login(&proxied, &c, &[("x-forwarded-for", "198.51.100.2")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // A client's own entry left of what the proxy appended is not believed.
    login(
        &proxied,
        &c,
        &[("x-forwarded-for", "198.51.100.2, 198.51.100.1")],
    )
    .await
    .assert_problem(429);
    // From a peer that is not a trusted proxy the header is ignored: the peer is the client.
    login(&direct, &c, &[("x-forwarded-for", "198.51.100.2")])
        .await
        .assert_problem(429);

    // The webhooks' address allow-list reads the same address.
    for (s, xff, allowed) in [
        (&proxied, "10.1.2.3", true),
        (&proxied, "203.0.113.5", false),
        (&direct, "10.1.2.3", false),
    ] {
        let key = s.key("acme", "ingest");
        let r = s
            .http
            .post(s.url("/v1/webhooks/shippo"))
            .bearer_auth(&key)
            .header("x-forwarded-for", xff)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        let r = Resp::read(r).await;
        if allowed {
            assert_ne!(r.status, 403, "{xff}: {}", r.body);
        } else {
            r.assert_problem(403);
            let seen = if std::ptr::eq(s, &direct) {
                "127.0.0.1"
            } else {
                xff
            };
            assert!(
                r.body["detail"].as_str().unwrap().contains(seen),
                "{}",
                r.body
            );
        }
    }
}

#[tokio::test]
async fn the_login_takes_application_json_only() {
    let s = spawn_server().await;
    create_user(&s.dir, "acme", "ops@acme.io");
    let raw = serde_json::to_string(&body("ops@acme.io", PASSWORD)).unwrap();
    let send = |ct: &'static str| {
        let req = s
            .http
            .post(s.url("/v1/session"))
            .header("content-type", ct)
            .body(raw.clone());
        async move { Resp::read(req.send().await.unwrap()).await }
    };
    for ct in [
        "text/plain; x=+json",
        "text/plain;charset=utf-8;a=application/json",
        "application/json; charset=latin1",
        "application/json; x=1",
        "application/problem+json",
        "application/json-seq",
    ] {
        let r = send(ct).await;
        r.assert_problem(415);
        assert!(cookie(&r, "waypost_session").is_none(), "{ct}");
        assert!(
            r.body["detail"]
                .as_str()
                .unwrap()
                .contains("application/json"),
            "{}",
            r.body
        );
    }
    assert_eq!(s.metric(CHECKS).await, 0.0, "no password checked");
    let r = send("Application/JSON; charset=\"UTF-8\"").await;
    assert_eq!(r.status, 200, "{}", r.body);
}
