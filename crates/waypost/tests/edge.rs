//! The HTTP edge against the real binary: slow and silent clients are cut within the
//! configured timeouts and cost little memory while a client with a key is still served; the
//! connection and bodies-in-flight caps refuse with problem+json; an over-long request line or
//! head gets a problem+json 414 or 431; an idle kept-alive connection is closed.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use common::*;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Short timeouts, so the test sees every one of them fire within seconds.
const EDGE: &str = r#"
[edge]
header_read_timeout_secs = 2
idle_timeout_secs = 1
body_read_timeout_secs = 3
min_body_rate_bytes = 1024
min_body_rate_grace_secs = 1
"#;

/// A signed endpoint, so that a request with the scheme's headers (and a made-up signature)
/// gets as far as reading its body.
const SIGNED: &str = r#"
[[webhooks]]
tenant = "acme"
source = "easypost"
scheme = "easypost"
secrets = ["acme-secret"]
"#;

fn document() -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../adapters/corpus/easypost/01-usps-delivered.json");
    let p = if p.exists() {
        p
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../adapters/corpus/easypost/synthetic/01-usps-delivered.json")
    };
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The test process opens thousands of sockets; the server inherits the raised limit too.
fn raise_fd_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut lim = getrlimit(Resource::Nofile);
    let want = lim.maximum.map_or(16_384, |m| m.min(16_384));
    if lim.current.is_some_and(|c| c < want) {
        lim.current = Some(want);
        setrlimit(Resource::Nofile, lim).unwrap();
    }
}

fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb / 1024.0
}

fn addr(s: &Server) -> String {
    s.base.trim_start_matches("http://").to_string()
}

/// Sends `bytes` on a new connection and reads the answer to its end (the server closes).
async fn raw(s: &Server, bytes: &[u8]) -> (u16, String, Value) {
    let mut c = TcpStream::connect(addr(s)).await.unwrap();
    c.write_all(bytes).await.unwrap();
    read_answer(&mut c).await
}

/// Reads until the server closes; the status, the head and the body as JSON (Null if not).
async fn read_answer(c: &mut TcpStream) -> (u16, String, Value) {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), c.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (
        status,
        head.to_ascii_lowercase(),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

/// Waits until the server closes `c` (EOF or reset); how long that took from `since`.
async fn closed_after(mut c: TcpStream, since: Instant, limit: Duration) -> Option<Duration> {
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((since + limit).into(), c.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(since.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_thousand_slow_clients_cost_little_and_a_client_with_a_key_is_still_served() {
    raise_fd_limit();
    let s = spawn_server_with_config(&format!("{EDGE}{SIGNED}")).await;
    let key = s.key("acme", "ingest");
    let doc = document();
    let pid = s.pid().unwrap();
    let post = |s: &Server| {
        s.http
            .post(s.url("/v1/webhooks/easypost"))
            .bearer_auth(&key)
            .body(doc.clone())
            .send()
    };
    for _ in 0..20 {
        assert_eq!(post(&s).await.unwrap().status(), 202);
    }
    let idle = rss_mb(pid);

    const EACH: usize = 500;
    let target = addr(&s);
    let started = Instant::now();
    let closed_in_time = Arc::new(AtomicUsize::new(0));
    let mut attackers = Vec::new();
    // Four kinds, EACH of each: headers trickling; headers then silence; a large declared body
    // without credentials, trickling; the same with a signed delivery's headers (no valid
    // signature), which does get its body read, and is cut for its pace.
    for kind in 0..4 {
        for _ in 0..EACH {
            let target = target.clone();
            let closed_in_time = closed_in_time.clone();
            attackers.push(tokio::spawn(async move {
                let Ok(mut c) = TcpStream::connect(&target).await else {
                    return None;
                };
                let t0 = Instant::now();
                let head: &[u8] = match kind {
                    0 | 1 => b"POST /v1/webhooks/easypost?tenant=acme HTTP/1.1\r\nHost: x\r\n",
                    2 => b"POST /v1/webhooks/easypost?tenant=acme HTTP/1.1\r\nHost: x\r\nContent-Length: 15000000\r\n\r\n",
                    _ => b"POST /v1/webhooks/easypost?tenant=acme HTTP/1.1\r\nHost: x\r\nX-Hmac-Signature: hmac-sha256-hex=00\r\nContent-Length: 15000000\r\n\r\n",
                };
                if c.write_all(head).await.is_err() {
                    return Some((kind, t0.elapsed()));
                }
                // One byte every 300 ms, on a task of its own, until the server hangs up.
                let (mut rd, mut wr) = c.into_split();
                if kind != 1 {
                    tokio::spawn(async move {
                        let byte: &[u8] = if kind == 0 { b"X" } else { b"a" };
                        loop {
                            tokio::time::sleep(Duration::from_millis(300)).await;
                            if wr.write_all(byte).await.is_err() {
                                break;
                            }
                        }
                    });
                }
                let mut buf = [0u8; 4096];
                let limit = t0 + Duration::from_secs(6);
                loop {
                    match tokio::time::timeout_at(limit.into(), rd.read(&mut buf)).await {
                        Err(_) => return None,
                        Ok(Ok(0)) | Ok(Err(_)) => break,
                        Ok(Ok(_)) => {}
                    }
                }
                closed_in_time.fetch_add(1, Ordering::Relaxed);
                Some((kind, t0.elapsed()))
            }));
        }
    }
    // Meanwhile: the client with a key, one delivery every 20 ms, and the server's memory.
    let mut latencies = Vec::new();
    let mut peak = idle;
    while started.elapsed() < Duration::from_secs(5) {
        let t = Instant::now();
        let r = post(&s).await.unwrap();
        latencies.push(t.elapsed());
        assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
        peak = peak.max(rss_mb(pid));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut close_times = Vec::new();
    let mut slowest = [Duration::ZERO; 4];
    for a in attackers {
        if let Some((kind, t)) = a.await.unwrap() {
            close_times.push(t);
            slowest[kind] = slowest[kind].max(t);
        }
    }
    close_times.sort();
    eprintln!(
        "closed at the latest after: trickled heads {:?}, silent heads {:?}, bodies without credentials {:?}, bodies with a signed delivery's headers {:?}",
        slowest[0], slowest[1], slowest[2], slowest[3]
    );
    latencies.sort();
    let (p50, p99) = (percentile(&latencies, 0.5), percentile(&latencies, 0.99));
    let max_close = close_times.last().copied().unwrap_or_default();
    eprintln!(
        "idle RSS {idle:.1} MB, peak under attack {peak:.1} MB; {} of {} slow connections closed, the last after {max_close:?}; key holder: {} deliveries, p50 {p50:?}, p99 {p99:?}",
        closed_in_time.load(Ordering::Relaxed),
        4 * EACH,
        latencies.len()
    );
    assert_eq!(
        close_times.len(),
        4 * EACH,
        "every slow connection is closed by the server within 6 s"
    );
    // The header timeout (2 s) is the longest that applies. The server's clock starts when it
    // accepts; 2,000 connections at once queue in the backlog first (up to a second or more on
    // a loaded two-core machine), which the client's clock counts too.
    assert!(max_close < Duration::from_secs(5), "{max_close:?}");
    assert!(peak - idle < 100.0, "RSS went from {idle} MB to {peak} MB");
    assert!(p99 < Duration::from_secs(1), "p99 {p99:?}");
    // Every attacker's connection is gone on the server's side too (no task left behind): only
    // the key holder's and the metrics request's remain.
    let deadline = Instant::now() + Duration::from_secs(3);
    let open = loop {
        let m = s.metrics().await;
        let open: u64 = m
            .lines()
            .find_map(|l| l.strip_prefix("waypost_connections_open "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap();
        if open <= 4 || Instant::now() > deadline {
            break open;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(open <= 4, "{open} connections still open");
    let m = s.metrics().await;
    for reason in ["head_timeout", "body_too_slow"] {
        assert!(
            m.contains(&format!(
                "waypost_edge_refusals_total{{scope=\"{}\",reason=\"{reason}\"}}",
                if reason == "head_timeout" {
                    "connection"
                } else {
                    "request"
                }
            )),
            "{reason} not counted:\n{m}"
        );
    }
}

#[tokio::test]
async fn an_over_long_request_line_or_head_is_answered_with_problem_json() {
    let s = spawn_server_with_config(EDGE).await;
    let line = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(9000));
    let (status, head, body) = raw(&s, line.as_bytes()).await;
    assert_eq!(status, 414, "{head}");
    assert!(
        head.contains("content-type: application/problem+json"),
        "{head}"
    );
    assert_eq!(body["status"], 414);
    assert!(body["detail"].as_str().unwrap().contains("8192"), "{body}");
    // Just under the limit: the router answers (a 404 of its own, as problem+json).
    let line = format!(
        "GET /{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "a".repeat(8000)
    );
    let (status, head, _) = raw(&s, line.as_bytes()).await;
    assert_eq!(status, 404, "{head}");
    let big = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\n{}\r\n",
        (0..40)
            .map(|i| format!("X-Filler-{i}: {}\r\n", "b".repeat(1000)))
            .collect::<String>()
    );
    let (status, head, body) = raw(&s, big.as_bytes()).await;
    assert_eq!(status, 431, "{head}");
    assert!(
        head.contains("content-type: application/problem+json"),
        "{head}"
    );
    assert_eq!(body["type"], "urn:waypost:problem:headers-too-large");
    // What hyper refuses itself (a malformed line, a later request's oversized head on a
    // kept-alive connection) is problem+json too.
    let (status, head, body) = raw(&s, b"GET /a b HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(status, 400, "{head}");
    assert_eq!(body["type"], "urn:waypost:problem:bad-request", "{head}");
    for (second, want) in [
        (b"GET /he lthz HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), 400),
        (
            format!(
                "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
                "c".repeat(600_000)
            )
            .into_bytes(),
            431,
        ),
    ] {
        let mut c = TcpStream::connect(addr(&s)).await.unwrap();
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 1024];
        let n = c.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        let _ = c.write_all(&second).await;
        let (status, head, body) = read_answer(&mut c).await;
        assert_eq!(status, want, "{head}");
        assert_eq!(body["status"], want, "{head}");
    }
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed() {
    let s = spawn_server_with_config(EDGE).await;
    let mut c = TcpStream::connect(addr(&s)).await.unwrap();
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = c.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let answered = Instant::now();
    let took = closed_after(c, answered, Duration::from_secs(5)).await;
    let took = took.expect("the idle connection is closed");
    // idle_timeout_secs = 1 (the header timeout, 2 s, would close it later).
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(1900),
        "{took:?}"
    );
    assert!(
        s.metrics()
            .await
            .contains("waypost_edge_refusals_total{scope=\"connection\",reason=\"idle\"}")
    );
}

#[tokio::test]
async fn the_connection_and_body_caps_refuse_with_problem_json() {
    let s = spawn_server_with_config(&format!(
        "{EDGE}max_connections = 20\nmax_bodies_in_flight = 2\n"
    ))
    .await;
    let key = s.key("acme", "ingest,read");
    // Two requests with a key send half their body and wait: they hold both body slots.
    let mut slow = Vec::new();
    for _ in 0..2 {
        let mut c = TcpStream::connect(addr(&s)).await.unwrap();
        let head = format!(
            "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
        );
        c.write_all(head.as_bytes()).await.unwrap();
        c.write_all(&[b' '; 500]).await.unwrap();
        slow.push(c);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = s
        .http
        .post(s.url("/v1/events"))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body("[]")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "1");
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    // A request without a body needs no slot.
    assert_eq!(s.get(&key, "/v1/orders").await.status, 200);
    // The slow two fall under the minimum rate after the grace: 408, and their slots are back.
    for mut c in slow {
        let (status, head, body) = read_answer(&mut c).await;
        assert_eq!(status, 408, "{head}");
        assert_eq!(body["type"], "urn:waypost:problem:body-timeout", "{body}");
    }
    let r = s
        .http
        .post(s.url("/v1/events"))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body("[]")
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), 503);

    // Twenty connections that send nothing fill the cap; the next is refused at once.
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(TcpStream::connect(addr(&s)).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut c = TcpStream::connect(addr(&s)).await.unwrap();
    let (status, head, body) = read_answer(&mut c).await;
    assert_eq!(status, 503, "{head}");
    assert_eq!(body["type"], "urn:waypost:problem:too-many-connections");
    // Once the header timeout has closed them, connections are accepted again.
    for c in held {
        assert!(
            closed_after(c, Instant::now(), Duration::from_secs(4))
                .await
                .is_some()
        );
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (status, _, _) = raw(
        &s,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 200);
    let m = s.metrics().await;
    assert!(
        m.contains("waypost_edge_refusals_total{scope=\"connection\",reason=\"over_capacity\"}"),
        "{m}"
    );
    assert!(
        m.contains("waypost_edge_refusals_total{scope=\"request\",reason=\"bodies_in_flight\"}"),
        "{m}"
    );
}

#[tokio::test]
async fn a_webhook_is_refused_from_its_headers_before_its_body_is_read() {
    let s = spawn_server_with_config(&format!("{EDGE}{SIGNED}")).await;
    let head = |extra: &str| {
        format!(
            "POST /v1/webhooks/easypost?tenant=acme HTTP/1.1\r\nHost: x\r\n{extra}Content-Length: 15000000\r\n\r\n"
        )
    };
    // No signature header, and no key on a route that needs one: refused at once, the body
    // never sent.
    for (path, want) in [
        (head(""), 401),
        (
            "POST /v1/webhooks/ups HTTP/1.1\r\nHost: x\r\nContent-Length: 15000000\r\n\r\n".into(),
            401,
        ),
        (
            "POST /v1/webhooks/nope?tenant=acme HTTP/1.1\r\nHost: x\r\nContent-Length: 15000000\r\n\r\n".into(),
            404,
        ),
    ] {
        let t = Instant::now();
        let (status, h, body) = raw(&s, path.as_bytes()).await;
        assert_eq!(status, want, "{h}");
        assert!(body["type"].is_string(), "{body}");
        assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    }
    // A signed delivery's headers get the body read, within the tenant's budget (64 MiB):
    // four declared 15 MB bodies fit, the fifth is refused before it is read.
    let signed = head("X-Hmac-Signature: hmac-sha256-hex=00\r\n");
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut c = TcpStream::connect(addr(&s)).await.unwrap();
        c.write_all(signed.as_bytes()).await.unwrap();
        held.push(c);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, h, body) = raw(&s, signed.as_bytes()).await;
    assert_eq!(status, 429, "{h}");
    assert!(h.contains("retry-after: 1"), "{h}");
    assert_eq!(body["type"], "urn:waypost:problem:body-budget", "{body}");
    // Sending nothing, the four are cut once the grace is over.
    for mut c in held {
        let (status, h, _) = read_answer(&mut c).await;
        assert_eq!(status, 408, "{h}");
    }
    // /v1/events too: a key without the ingest scope is refused before its body is read.
    let reader = s.key("acme", "read");
    let events = format!(
        "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {reader}\r\nContent-Type: application/json\r\nContent-Length: 3000000\r\n\r\n"
    );
    let t = Instant::now();
    let (status, h, body) = raw(&s, events.as_bytes()).await;
    assert_eq!(status, 403, "{h}");
    assert!(
        body["detail"].as_str().unwrap().contains("ingest"),
        "{body}"
    );
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    // The login reads at most 16 KiB.
    let big = format!("{{\"email\":\"{}\"}}", "a".repeat(20_000));
    let r = s
        .http
        .post(s.url("/v1/session"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    // ...and refuses a larger declared body before it is sent.
    let login = "POST /v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 15000000\r\n\r\n";
    let t = Instant::now();
    let (status, h, _) = raw(&s, login.as_bytes()).await;
    assert_eq!(status, 413, "{h}");
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    // Commands check their scope after the body is read: their limit is small (256 KiB), so a
    // key with the wrong scope cannot make the server hold megabytes. A declared length over it
    // is refused before a byte of the body is sent.
    let commands = [
        "POST /v1/alerts/0123456789abcdef0123456789abcdef/ack",
        "POST /v1/unmapped/remap",
        "POST /v1/notify/endpoints",
        "PUT /v1/notify/contacts/c1",
    ];
    for line in commands {
        let head = format!(
            "{line} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {reader}\r\nContent-Type: application/json\r\nContent-Length: 300000\r\n\r\n"
        );
        let t = Instant::now();
        let (status, h, body) = raw(&s, head.as_bytes()).await;
        assert_eq!(status, 413, "{line}: {h}");
        assert!(body["type"].is_string(), "{line}: {body}");
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "{line}: {:?}",
            t.elapsed()
        );
    }
    // Under the limit, the scope decides as before.
    let r = s
        .http
        .post(s.url("/v1/alerts/0123456789abcdef0123456789abcdef/ack"))
        .bearer_auth(&reader)
        .header("content-type", "application/json")
        .body(format!("{{\"actor\":\"{}\"}}", "a".repeat(200_000)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn http2_goes_through_the_same_edge_and_an_idle_connection_is_closed() {
    use http_body_util::Empty;
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let s = spawn_server_with_config(EDGE).await;
    // Cleartext HTTP/2 with prior knowledge: the edge reads the preface, then hyper serves it.
    let tcp = TcpStream::connect(addr(&s)).await.unwrap();
    let (mut send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .unwrap();
    let conn = tokio::spawn(conn);
    let req = hyper::Request::get(format!("{}/healthz", s.base))
        .body(Empty::<axum::body::Bytes>::new())
        .unwrap();
    let resp = send.send_request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), hyper::Version::HTTP_2);
    drop(resp);
    // No stream open for idle_timeout_secs (1): the server says GOAWAY and closes.
    let answered = Instant::now();
    let ended = tokio::time::timeout(Duration::from_secs(5), conn).await;
    assert!(ended.is_ok(), "the idle HTTP/2 connection was not closed");
    let took = answered.elapsed();
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_secs(3),
        "{took:?}"
    );
}

#[tokio::test]
async fn a_kept_alive_connection_waits_the_idle_timeout_and_a_next_head_the_header_timeout() {
    let s =
        spawn_server_with_config("[edge]\nheader_read_timeout_secs = 1\nidle_timeout_secs = 3\n")
            .await;
    let open = || async {
        let mut c = TcpStream::connect(addr(&s)).await.unwrap();
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 1024];
        let n = c.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        c
    };
    // Waiting for a next request is idling: the idle timeout, longer than the header one.
    let idle = open().await;
    let idle_closed = tokio::spawn(closed_after(idle, Instant::now(), Duration::from_secs(6)));
    // A next head begun and trickled: the header timeout from its first byte.
    let c = open().await;
    let (mut rd, mut wr) = c.into_split();
    let began = Instant::now();
    wr.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
    let trickle = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if wr.write_all(b"X").await.is_err() {
                break;
            }
        }
    });
    let mut buf = [0u8; 64];
    let head_closed = loop {
        match tokio::time::timeout(Duration::from_secs(6), rd.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break Some(began.elapsed()),
            Ok(Ok(_)) => {}
            Err(_) => break None,
        }
    };
    trickle.abort();
    let head_closed = head_closed.expect("a trickled head is cut");
    assert!(
        head_closed >= Duration::from_millis(900) && head_closed < Duration::from_millis(2000),
        "{head_closed:?}"
    );
    let idle_closed = idle_closed
        .await
        .unwrap()
        .expect("an idle connection is closed");
    assert!(
        idle_closed >= Duration::from_millis(2800) && idle_closed < Duration::from_secs(4),
        "{idle_closed:?}"
    );
}
