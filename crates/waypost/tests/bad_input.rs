//! Bad input is refused with the right 4xx and a problem naming the field; a refused batch leaves
//! nothing behind; refusals are counted; the server keeps serving.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use common::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;

async fn post_raw(
    s: &Server,
    key: &str,
    body: impl Into<reqwest::Body>,
    content_type: &str,
) -> Resp {
    post_with(&s.http, s, key, body, content_type).await
}

async fn post_with(
    http: &reqwest::Client,
    s: &Server,
    key: &str,
    body: impl Into<reqwest::Body>,
    content_type: &str,
) -> Resp {
    let r = http
        .post(s.url("/v1/events"))
        .bearer_auth(key)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("POST /v1/events");
    Resp::read(r).await
}

/// Sends only the head of a POST whose declared body is `len` bytes and reads the answer. A body
/// over the limit is refused from its declared length, before it is sent; a client that went on
/// writing it could meet a closed connection (a broken pipe) before it read the answer, so the
/// check sends no body, as a client waiting on `Expect: 100-continue` would.
async fn declared_only(s: &Server, key: &str, path: &str, len: usize) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = s.base.trim_start_matches("http://");
    let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {key}\r\n\
         content-type: application/json\r\ncontent-length: {len}\r\n\r\n"
    );
    c.write_all(head.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    // The answer's end: the server closes, or the whole body its length declares has arrived.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let n = match tokio::time::timeout_at(deadline, c.read(&mut buf)).await {
            Ok(Ok(n)) => n,
            _ => break,
        };
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&out);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let declared = head.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse::<usize>().ok())?
            });
            if declared.is_some_and(|n| body.len() >= n) {
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&out).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "{head}"
    );
    let status = head.split(' ').nth(1).and_then(|v| v.parse().ok());
    (
        status.unwrap_or(0),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

fn good(id: &str) -> Value {
    let mut e = carrier_ev(
        id,
        &format!("GOOD-{id}"),
        &format!("1Z{id}"),
        "in_transit",
        &at(0),
    );
    e["location"] = json!({"city": "Reno", "country": "US", "lat": 39.5, "lon": -119.8});
    e
}

/// `good("x")` with `field` set to `value`.
fn with(field: &str, value: Value) -> Value {
    let mut e = good("x");
    e[field] = value;
    e
}

fn without(fields: &[&str]) -> Value {
    let mut e = good("x");
    let m = e.as_object_mut().expect("object");
    for f in fields {
        m.remove(*f);
    }
    e
}

#[tokio::test]
async fn each_kind_of_bad_request_gets_its_problem_and_names_the_field() {
    let s = spawn_server().await;
    let key = s.key("acme", "ingest,read");
    let now = jiff::Timestamp::now();
    let hours = |h: i64| (now + jiff::SignedDuration::from_hours(h)).to_string();
    let mut far_loc = good("x");
    far_loc["location"] = json!({"city": "Reno", "lat": 123.0, "lon": 0.0, "altitude": 3});
    let mut lat_only = good("x");
    lat_only["location"] = json!({"lat": 1.0});

    // (what, body, expected fields in `errors`)
    let invalid: Vec<(&str, Value, Vec<&str>)> = vec![
        ("wrong types", with("event_id", json!(17)), vec!["event_id"]),
        (
            "location not an object",
            with("location", json!("Reno")),
            vec!["location"],
        ),
        (
            "attributes not an object",
            with("attributes", json!([1, 2])),
            vec!["attributes"],
        ),
        (
            "unknown status",
            with("status", json!("teleported")),
            vec!["status"],
        ),
        (
            "unknown reason",
            with("reason", json!("gremlins")),
            vec!["reason"],
        ),
        (
            "missing ids",
            without(&["source", "event_id", "order_id"]),
            vec!["source", "event_id", "order_id"],
        ),
        (
            "missing status and time",
            without(&["status", "occurred_at"]),
            vec!["status", "occurred_at"],
        ),
        (
            "empty order id",
            with("order_id", json!("  ")),
            vec!["order_id"],
        ),
        (
            "id too long",
            with("event_id", json!("e".repeat(129))),
            vec!["event_id"],
        ),
        (
            "control character",
            with("order_id", json!("SO\u{7}1")),
            vec!["order_id"],
        ),
        (
            "source not a slug",
            with("source", json!("UPS Ground")),
            vec!["source"],
        ),
        (
            "year 2999",
            with("occurred_at", json!("2999-01-01T00:00:00Z")),
            vec!["occurred_at"],
        ),
        (
            "year 1970",
            with("occurred_at", json!("1970-01-01T00:00:00Z")),
            vec!["occurred_at"],
        ),
        (
            "more than a day ahead",
            with("occurred_at", json!(hours(25))),
            vec!["occurred_at"],
        ),
        (
            "no offset",
            with("occurred_at", json!("2025-01-10T08:00:00")),
            vec!["occurred_at"],
        ),
        (
            "not a time",
            with("occurred_at", json!("yesterday at noon")),
            vec!["occurred_at"],
        ),
        (
            "time as a number",
            with("occurred_at", json!(1736496000)),
            vec!["occurred_at"],
        ),
        (
            "unknown field",
            with("colour", json!("blue")),
            vec!["colour"],
        ),
        (
            "bad location",
            far_loc,
            vec!["location.lat", "location.altitude"],
        ),
        ("lat without lon", lat_only, vec!["location.lat"]),
        (
            "bad country",
            with("location", json!({"country": "USA"})),
            vec!["location.country"],
        ),
        ("not an object", json!("hello"), vec![""]),
        ("a number in a batch", json!([good("a"), 7]), vec!["[1]"]),
        (
            "bad second event",
            json!([good("a"), with("status", json!("nope"))]),
            vec!["[1].status"],
        ),
        ("empty batch", json!([]), vec![""]),
    ];
    let mut invalid_events = 0.0;
    for (what, body, fields) in &invalid {
        let r = s.post_events(&key, body).await;
        assert_eq!(r.status, 422, "{what}: {}", r.body);
        r.assert_problem(422);
        let got: BTreeSet<String> = r.error_fields().into_iter().collect();
        let want: BTreeSet<String> = fields.iter().map(|f| f.to_string()).collect();
        assert_eq!(got, want, "{what}: {}", r.body);
        assert!(
            r.body["errors"]
                .as_array()
                .expect("errors")
                .iter()
                .all(|e| e["message"].as_str().is_some_and(|m| !m.is_empty())),
            "{what}: {}",
            r.body
        );
        invalid_events += body.as_array().map_or(1, |a| a.len().max(1)) as f64;
    }
    // Just inside the window is fine.
    assert_eq!(
        s.post_events(&key, &with("occurred_at", json!(hours(23))))
            .await
            .status,
        202
    );

    let mut malformed = 0.0;
    let mut unsupported = 0.0;
    for body in [
        &b"{\"source\": \"wms\", "[..],
        b"",
        b"{} trailing",
        b"[{]",
        b"\xff\xfe",
    ] {
        let r = post_raw(&s, &key, body.to_vec(), "application/json").await;
        r.assert_problem(400);
        malformed += 1.0;
    }
    let body = serde_json::to_vec(&good("ct")).expect("json");
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
    ] {
        let r = post_raw(&s, &key, body.clone(), ct).await;
        r.assert_problem(415);
        unsupported += 1.0;
    }
    s.get(&key, "/v1/orders/GOOD-ct").await.assert_problem(404);

    let m = s.metrics().await;
    assert_eq!(
        metric_in(
            &m,
            "waypost_events_rejected_total{reason=\"invalid_event\"}"
        ),
        invalid_events
    );
    assert_eq!(
        metric_in(
            &m,
            "waypost_events_rejected_total{reason=\"malformed_json\"}"
        ),
        malformed
    );
    assert_eq!(
        metric_in(
            &m,
            "waypost_events_rejected_total{reason=\"unsupported_media_type\"}"
        ),
        unsupported
    );
    assert_eq!(metric_in(&m, "waypost_events_accepted_total"), 1.0);

    // Routes and methods that do not exist are problems too.
    s.get(&key, "/v1/nowhere").await.assert_problem(404);
    // A path that is not UTF-8 once decoded is the client's error, said as a problem.
    s.get(&key, "/v1/orders/%FF").await.assert_problem(400);
    s.get(&key, "/v1/shipments/%C3%28")
        .await
        .assert_problem(400);
    let r = s
        .http
        .put(s.url("/v1/events"))
        .bearer_auth(&key)
        .send()
        .await;
    Resp::read(r.expect("PUT")).await.assert_problem(405);

    // Still serving.
    let r = s.post_events(&key, &good("after")).await;
    assert_eq!(r.body, json!({"accepted": 1, "duplicates": 0}));
    s.wait_for_status(&key, "GOOD-after", "in_transit").await;
}

#[tokio::test]
async fn one_bad_event_among_good_ones_stores_nothing() {
    let s = spawn_server().await;
    let key = s.key("acme", "ingest,read");
    let mut bad = good("b");
    bad["occurred_at"] = json!("2999-01-01T00:00:00Z");
    let r = s
        .post_events(&key, &json!([good("g1"), good("g2"), bad, good("g3")]))
        .await;
    r.assert_problem(422);
    assert_eq!(r.error_fields(), ["[2].occurred_at"]);
    // A later good event is applied; everything before it in the log would be too.
    assert_eq!(s.post_events(&key, &good("sentinel")).await.status, 202);
    s.wait_for_status(&key, "GOOD-sentinel", "in_transit").await;
    for id in ["g1", "g2", "g3", "b"] {
        s.get(&key, &format!("/v1/orders/GOOD-{id}"))
            .await
            .assert_problem(404);
        s.get(&key, &format!("/v1/shipments/1Z{id}"))
            .await
            .assert_problem(404);
    }
    // The same good events are new when sent alone: they were never stored.
    let r = s
        .post_events(&key, &json!([good("g1"), good("g2"), good("g3")]))
        .await;
    assert_eq!(r.body, json!({"accepted": 3, "duplicates": 0}));
    assert_eq!(
        s.metric("waypost_events_rejected_total{reason=\"invalid_event\"}")
            .await,
        4.0
    );
}

#[tokio::test]
async fn batch_size_is_limited_to_1000() {
    let s = spawn_server().await;
    let key = s.key("acme", "ingest,read");
    let batch = |n: usize, tag: &str| -> Value {
        Value::Array(
            (0..n)
                .map(|i| {
                    ev(
                        &format!("{tag}{i}"),
                        &format!("{tag}-{}", i % 50),
                        "packed",
                        &at(i as i64),
                    )
                })
                .collect(),
        )
    };
    let r = s.post_events(&key, &batch(1001, "big")).await;
    r.assert_problem(422);
    assert_eq!(r.error_fields(), [""]);
    assert!(
        r.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("1000")),
        "{}",
        r.body
    );
    s.get(&key, "/v1/orders/big-0").await.assert_problem(404);
    let r = s.post_events(&key, &batch(1000, "ok")).await;
    assert_eq!(r.body, json!({"accepted": 1000, "duplicates": 0}));
    s.wait_for(&key, "ok-49", |o| {
        o["timeline"].as_array().is_some_and(|t| t.len() == 20)
    })
    .await;
    assert_eq!(
        s.metric("waypost_events_rejected_total{reason=\"invalid_event\"}")
            .await,
        1001.0
    );
}

#[tokio::test]
async fn a_body_over_4_mib_is_too_large() {
    let s = spawn_server().await;
    let key = s.key("acme", "ingest,read");
    // Valid JSON, so only its size is wrong: one event with a 5 MiB attribute.
    let mut e = good("huge");
    e["attributes"] = json!({"blob": "x".repeat(5 * 1024 * 1024)});
    let body = serde_json::to_vec(&e).expect("json");
    let (status, problem) = declared_only(&s, &key, "/v1/events", body.len()).await;
    assert_eq!(status, 413, "{problem}");
    assert_eq!(problem["status"], 413, "{problem}");
    assert_eq!(
        s.metric("waypost_events_rejected_total{reason=\"too_large\"}")
            .await,
        1.0
    );
    // Just under the limit is read, then refused for what it says (attributes are at most 8 KiB).
    e["attributes"] = json!({"blob": "x".repeat(4 * 1024 * 1024 - 1024)});
    let r = post_raw(
        &s,
        &key,
        serde_json::to_vec(&e).expect("json"),
        "application/json",
    )
    .await;
    r.assert_problem(422);
    assert_eq!(r.error_fields(), ["attributes"]);
    // Still serving.
    assert_eq!(s.post_events(&key, &good("after")).await.status, 202);
    s.wait_for_status(&key, "GOOD-after", "in_transit").await;
    s.get(&key, "/v1/orders/GOOD-huge")
        .await
        .assert_problem(404);
}

/// `instant` written in `offset` (`+14:00`, `-25:00`), as a sender in that offset would.
fn in_offset(instant: jiff::Timestamp, offset: &str) -> String {
    let off: jiff::tz::Offset = {
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        let (h, m) = offset[1..].split_once(':').unwrap();
        let secs = sign * (h.parse::<i32>().unwrap() * 3600 + m.parse::<i32>().unwrap() * 60);
        jiff::tz::Offset::from_seconds(secs).unwrap()
    };
    format!(
        "{}{offset}",
        off.to_datetime(instant).strftime("%Y-%m-%dT%H:%M:%S")
    )
}

#[tokio::test]
async fn offsets_beyond_eighteen_hours_are_refused_and_nothing_is_stored() {
    let s = spawn_server().await;
    let key = s.key("acme", "ingest,read");
    let t: jiff::Timestamp = at(0).parse().unwrap();
    for (field, offset) in [
        ("occurred_at", "+25:00"),
        ("occurred_at", "-18:01"),
        ("promised_at", "+19:30"),
    ] {
        let r = s
            .post_events(
                &key,
                &json!([good("ok"), with(field, json!(in_offset(t, offset)))]),
            )
            .await;
        r.assert_problem(422);
        assert_eq!(r.error_fields(), [format!("[1].{field}")], "{}", r.body);
        let message = r.body["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.contains(offset) && message.contains("-18:00 to +18:00"),
            "{message}"
        );
    }
    s.get(&key, "/v1/orders/GOOD-ok").await.assert_problem(404);
    // The widest real offsets, and the bound itself, are kept as sent.
    for (id, offset) in [("kiribati", "+14:00"), ("edge", "-18:00")] {
        let mut e = good(id);
        e["occurred_at"] = json!(in_offset(t, offset));
        assert_eq!(s.post_events(&key, &e).await.status, 202, "{offset}");
        let order = s
            .wait_for_status(&key, &format!("GOOD-{id}"), "in_transit")
            .await;
        assert!(order.to_string().contains(offset), "{order}");
    }
}

#[tokio::test]
async fn a_key_given_twice_is_refused_naming_the_key_and_where_it_is() {
    let s = spawn_server().await;
    let key = s.key("acme", "ingest,read,admin");
    let first = serde_json::to_string(&good("d1")).unwrap();
    let t = at(5);
    // The second event says `occurred_at` twice: serde_json alone would keep the last.
    let batch = format!(
        r#"[{first}, {{"source": "ups", "event_id": "d2", "order_id": "GOOD-d2", "status": "in_transit", "occurred_at": "{t}", "occurred_at": "{t}"}}]"#
    );
    let r = post_raw(&s, &key, batch, "application/json").await;
    r.assert_problem(400);
    assert_eq!(r.body["type"], "urn:waypost:problem:duplicate-key");
    assert_eq!(r.error_fields(), ["[1].occurred_at"]);
    let detail = r.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("\"occurred_at\"") && detail.contains("once"),
        "{detail}"
    );
    // Inside a nested object of a single event.
    let single = first.replacen(r#""city":"Reno""#, r#""city":"Reno","city":"Elko""#, 1);
    assert_ne!(single, first, "the event has a city to repeat");
    let r = post_raw(&s, &key, single, "application/json").await;
    r.assert_problem(400);
    assert_eq!(r.error_fields(), ["location.city"]);
    assert_eq!(
        s.metric("waypost_events_rejected_total{reason=\"malformed_json\"}")
            .await,
        2.0
    );
    s.get(&key, "/v1/orders/GOOD-d1").await.assert_problem(404);

    // The other JSON bodies of the API: the login, a command, an admin request.
    let login = s
        .http
        .post(s.url("/v1/session"))
        .header("content-type", "application/json")
        .body(r#"{"tenant": "acme", "email": "a@example.com", "password": "x", "tenant": "other"}"#)
        .send()
        .await
        .unwrap();
    let r = Resp::read(login).await;
    r.assert_problem(400);
    assert_eq!(r.error_fields(), ["tenant"]);
    let remap = s
        .http
        .post(s.url("/v1/unmapped/remap"))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body(r#"{"source": "ups", "source": "fedex"}"#)
        .send()
        .await
        .unwrap();
    let r = Resp::read(remap).await;
    r.assert_problem(400);
    assert_eq!(r.error_fields(), ["source"]);
    // Equal keys in different objects are fine.
    let r = post_raw(
        &s,
        &key,
        serde_json::to_string(&json!([good("d3"), good("d4")])).unwrap(),
        "application/json",
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
}

#[tokio::test]
async fn every_error_answer_is_a_problem() {
    let s = spawn_server().await;
    let key = s.key("acme", "ingest,read,admin,operate");
    let get = |path: &'static str| {
        let req = s.http.get(s.url(path)).bearer_auth(&key);
        async move { Resp::read(req.send().await.unwrap()).await }
    };
    // Unknown assets, including under a known folder and with a path that is not UTF-8.
    for path in ["/assets/nope.js", "/assets/vendor/nope.css", "/assets/%FF"] {
        let r = get(path).await;
        r.assert_problem(404);
        // Still as guarded as the files it stands in for.
        assert_eq!(r.headers["x-content-type-options"], "nosniff", "{path}");
    }
    // HEAD answers the status and the problem's type, with no body.
    let head = s.http.head(s.url("/assets/nope.js")).send().await.unwrap();
    assert_eq!(head.status(), 404);
    assert_eq!(head.headers()["content-type"], "application/problem+json");
    // Routes that do not exist under the browser's folders.
    for path in ["/track/", "/track/a/b", "/assets", "/assets/"] {
        get(path).await.assert_problem(404);
    }
    // Query strings and path parameters that do not read.
    for path in [
        "/v1/dead-letters?limit=1&limit=2",
        "/v1/unmapped?state=open&state=all",
        "/v1/documents/%FF",
        "/v1/webhooks/ups?tenant=a&tenant=b",
    ] {
        let r = if path.starts_with("/v1/webhooks") {
            let req = s.http.post(s.url(path)).bearer_auth(&key).body("{}");
            Resp::read(req.send().await.unwrap()).await
        } else {
            get(path).await
        };
        r.assert_problem(400);
        assert!(!r.body["detail"].as_str().unwrap().is_empty(), "{path}");
    }
    // A JSON body of the wrong shape, of a declared non-JSON type, or over the limit.
    let post = |path: &'static str, ct: &'static str, body: Vec<u8>| {
        let req = plain_client()
            .post(s.url(path))
            .bearer_auth(&key)
            .header("content-type", ct)
            .body(body);
        async move { Resp::read(req.send().await.unwrap()).await }
    };
    post(
        "/v1/unmapped/remap",
        "application/json",
        br#"{"source": 5}"#.to_vec(),
    )
    .await
    .assert_problem(422);
    post("/v1/unmapped/remap", "text/plain", br#"{}"#.to_vec())
        .await
        .assert_problem(415);
    post(
        "/v1/unmapped/ups/X1/accept",
        "application/json",
        b"[1".to_vec(),
    )
    .await
    .assert_problem(400);
    let (status, problem) = declared_only(&s, &key, "/v1/unmapped/remap", 5 * 1024 * 1024).await;
    assert_eq!(status, 413, "{problem}");
    assert_eq!(problem["status"], 413, "{problem}");
    // Without a content type, a remap body is still read as JSON.
    let r = s
        .http
        .post(s.url("/v1/unmapped/remap"))
        .bearer_auth(&key)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
