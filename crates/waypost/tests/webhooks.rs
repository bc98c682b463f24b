//! Vendor documents over HTTP: normalization into the pipeline, linking to orders, the
//! quarantine of unmapped codes, kept rejected documents, and each partner's authentication
//! (signatures, rotation, replay, IP allow-lists, rate limits), through the real binary.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use common::*;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;
use waypost_adapters::signature::{Scheme, Secret, sign};

/// A corpus document: among those that follow real ones, else among the hand-written ones.
fn corpus(source: &str, name: &str) -> Vec<u8> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../adapters/corpus")
        .join(source);
    let p = dir.join(name);
    let p = if p.exists() {
        p
    } else {
        dir.join("synthetic").join(name)
    };
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

async fn deliver(
    s: &Server,
    path: &str,
    headers: &[(String, String)],
    key: Option<&str>,
    body: &[u8],
) -> Resp {
    let mut req = s.http.post(s.url(path)).body(body.to_vec());
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    Resp::read(req.send().await.unwrap()).await
}

const EASYPOST_DOC: &str = "01-usps-delivered.json";
const NO_FALLBACK: &str = "[mappings]\ndescription_fallback = false\n";
const EASYPOST_TRACKING: &str = "9400111899223197428490";

#[tokio::test]
async fn a_vendor_document_with_a_key_is_normalized_and_linked_to_its_order() {
    let s = spawn_server().await;
    let key = s.key("acme", "ingest,read");
    // The warehouse names the order and the tracking number first...
    let r = s
        .post_events(
            &key,
            &carrier_ev(
                "w1",
                "SO-77",
                EASYPOST_TRACKING,
                "shipped",
                "2024-03-11T18:00:00Z",
            ),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    s.wait_for_status(&key, "SO-77", "shipped").await;
    // ...so the carrier's updates, which name no order, land on it.
    let r = deliver(
        &s,
        "/v1/webhooks/easypost",
        &[],
        Some(&key),
        &corpus("easypost", EASYPOST_DOC),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["events"], 8, "{}", r.body);
    assert_eq!(r.body["accepted"], 8);
    assert_eq!(r.body["unmapped"], 0);
    let order = s.wait_for_status(&key, "SO-77", "delivered").await;
    let timeline = order["timeline"].as_array().unwrap();
    assert_eq!(timeline.len(), 9, "{order}");
    assert!(
        timeline.iter().any(|t| t["raw_code"]
            .as_str()
            .is_some_and(|c| c.starts_with("delivered"))),
        "{order}"
    );
    // The same document again (a vendor retry, or a poll returning the same history) is all
    // duplicates.
    let r = deliver(
        &s,
        "/v1/webhooks/easypost",
        &[],
        Some(&key),
        &corpus("easypost", EASYPOST_DOC),
    )
    .await;
    assert_eq!(
        (r.body["accepted"].clone(), r.body["duplicates"].clone()),
        (json!(0), json!(8))
    );
    assert!(
        s.metrics()
            .await
            .contains("waypost_documents_total{source=\"easypost\",outcome=\"accepted\"} 2")
    );
}

#[tokio::test]
async fn unknown_sources_credentials_and_tenants_are_refused_clearly() {
    let s = spawn_server().await;
    let key = s.key("acme", "ingest,read");
    let reader = s.key("acme", "read");
    let r = deliver(&s, "/v1/webhooks/upz", &[], Some(&key), b"{}").await;
    r.assert_problem(404);
    assert!(
        r.body["detail"].as_str().unwrap().contains("x12-214"),
        "{}",
        r.body
    );
    deliver(&s, "/v1/webhooks/ups", &[], None, b"{}")
        .await
        .assert_problem(401);
    // Naming a tenant is not authenticating as it, when it has no signature configured.
    deliver(&s, "/v1/webhooks/ups?tenant=acme", &[], None, b"{}")
        .await
        .assert_problem(401);
    deliver(&s, "/v1/webhooks/ups", &[], Some(&reader), b"{}")
        .await
        .assert_problem(403);
    deliver(&s, "/v1/webhooks/ups?tenant=globex", &[], Some(&key), b"{}")
        .await
        .assert_problem(403);
    deliver(
        &s,
        "/v1/webhooks/ups?tenant=Not%20A%20Slug",
        &[],
        Some(&key),
        b"{}",
    )
    .await
    .assert_problem(400);
}

#[tokio::test]
async fn unmapped_codes_are_quarantined_and_unreadable_documents_kept() {
    // The description fallback off: the document's text ("Out for delivery") would otherwise
    // map the unknown code, and this is about what happens to codes nothing maps.
    let s = spawn_server_with_config(NO_FALLBACK).await;
    let key = s.key("acme", "ingest,read,admin");
    let doc = String::from_utf8(corpus("easypost", EASYPOST_DOC))
        .unwrap()
        .replace(
            "\"status\": \"out_for_delivery\"",
            "\"status\": \"teleported\"",
        );
    let r = deliver(&s, "/v1/webhooks/easypost", &[], Some(&key), doc.as_bytes()).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let unmapped = r.body["unmapped"].as_u64().unwrap();
    assert!(unmapped >= 1, "{}", r.body);
    let q = s.get(&key, "/v1/unmapped").await;
    assert_eq!(q.status, 200, "{}", q.body);
    let items = q.body["items"].as_array().unwrap();
    assert_eq!(items.len() as u64, unmapped, "{}", q.body);
    assert!(
        items[0]["code"].as_str().unwrap().starts_with("teleported"),
        "{}",
        q.body
    );
    let doc_id = items[0]["document_id"].as_str().unwrap().to_owned();
    assert!(doc_id.starts_with("doc_"), "{doc_id}");
    let kept = s.get(&key, &format!("/v1/documents/{doc_id}")).await;
    assert_eq!(kept.body["body"].as_str().unwrap(), doc);
    // The event is kept with status unknown, in the history, without moving the state.
    let order = s
        .wait_for_status(&key, EASYPOST_TRACKING, "delivered")
        .await;
    assert!(
        order["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["status"] == "unknown"),
        "{order}"
    );
    assert!(
        s.metrics()
            .await
            .contains("waypost_unmapped_codes_total{source=\"easypost\",kind=\"status\"}")
    );
    // Another tenant sees none of it.
    let other = s.key("globex", "read");
    assert_eq!(s.get(&other, "/v1/unmapped").await.body["items"], json!([]));
    s.get(&other, &format!("/v1/documents/{doc_id}"))
        .await
        .assert_problem(404);
    // Remapping with no new mapping settles nothing.
    let r = s
        .http
        .post(s.url("/v1/unmapped/remap"))
        .bearer_auth(&key)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let r = Resp::read(r).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["remapped"], 0);
    assert_eq!(r.body["still_unmapped"].as_u64().unwrap(), unmapped);

    let r = deliver(
        &s,
        "/v1/webhooks/fedex",
        &[],
        Some(&key),
        b"{\"output\": [truncated",
    )
    .await;
    r.assert_problem(422);
    assert!(
        r.body["detail"].as_str().unwrap().contains("kept"),
        "{}",
        r.body
    );
    let rejected = s.get(&key, "/v1/dead-letters").await;
    let items = rejected.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", rejected.body);
    assert_eq!(items[0]["body"], "{\"output\": [truncated");
    assert_eq!(items[0]["source"], "fedex");
    assert_eq!(items[0]["origin"], "webhook");
    assert_eq!(items[0]["attempts"], 1);
    let id = items[0]["id"].as_str().unwrap().to_owned();
    // The same broken body again is the same dead letter, one more attempt.
    deliver(
        &s,
        "/v1/webhooks/fedex",
        &[],
        Some(&key),
        b"{\"output\": [truncated",
    )
    .await
    .assert_problem(422);
    let again = s.get(&key, "/v1/dead-letters").await;
    let items = again.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", again.body);
    assert_eq!(
        (items[0]["id"].as_str(), items[0]["attempts"].as_i64()),
        (Some(id.as_str()), Some(2))
    );
    let r = s
        .http
        .post(s.url(&format!("/v1/dead-letters/{id}/replay")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    Resp::read(r).await.assert_problem(422);
    // A replay that fails again is not kept a second time.
    assert_eq!(
        s.get(&key, "/v1/dead-letters").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // The same from the command line.
    let out = std::process::Command::new(BIN)
        .args([
            "dead-letters",
            "list",
            "--brief",
            "--url",
            &s.base,
            "--key",
            &key,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (listed["id"].as_str(), listed["attempts"].as_i64()),
        (Some(id.as_str()), Some(2))
    );
    assert!(listed.get("body").is_none(), "{listed}");
    let out = std::process::Command::new(BIN)
        .args([
            "dead-letters",
            "replay",
            "--all",
            "--url",
            &s.base,
            "--key",
            &key,
        ])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "a still-broken letter must fail its replay"
    );
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (answer["id"].as_str(), answer["status"].as_u64()),
        (Some(id.as_str()), Some(422))
    );
}

fn signed_config(extra: &str) -> String {
    format!(
        r#"
[[webhooks]]
tenant = "acme"
source = "easypost"
scheme = "easypost"
secrets = ["new-secret-acme", "old-secret-acme"]

[[webhooks]]
tenant = "globex"
source = "easypost"
scheme = "easypost"
secrets = ["globex-secret"]

[[webhooks]]
tenant = "acme"
source = "wms"
scheme = "standard-webhooks"
secrets = ["whsec_c2VjcmV0LWZvci10aGUtd2FyZWhvdXNl"]
{extra}
"#
    )
}

fn easypost_headers(secret: &str, body: &[u8]) -> Vec<(String, String)> {
    sign(
        &Scheme::EasyPost,
        &Secret::from_config(secret).unwrap(),
        "",
        body,
        Timestamp::now(),
    )
    .unwrap()
}

#[tokio::test]
async fn signed_deliveries_are_verified_on_the_raw_bytes() {
    let s = spawn_server_with_config(&signed_config("")).await;
    let key = s.key("acme", "read");
    let body = corpus("easypost", EASYPOST_DOC);
    let path = "/v1/webhooks/easypost?tenant=acme";

    let r = deliver(
        &s,
        path,
        &easypost_headers("new-secret-acme", &body),
        None,
        &body,
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    s.wait_for_status(&key, EASYPOST_TRACKING, "delivered")
        .await;

    // Rotation: the old secret still verifies while it is configured.
    let other = String::from_utf8(corpus("easypost", "02-ups-weather-delay.json")).unwrap();
    let r = deliver(
        &s,
        path,
        &easypost_headers("old-secret-acme", other.as_bytes()),
        None,
        other.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);

    // Tampered body: the signature of the original does not cover it.
    let mut tampered = body.clone();
    let i = tampered.iter().position(|b| *b == b'9').unwrap();
    tampered[i] = b'8';
    let r = deliver(
        &s,
        path,
        &easypost_headers("new-secret-acme", &body),
        None,
        &tampered,
    )
    .await;
    r.assert_problem(401);
    assert!(
        r.body["detail"].as_str().unwrap().contains("signature"),
        "{}",
        r.body
    );
    // A wrong secret, and another tenant's valid secret.
    deliver(&s, path, &easypost_headers("guess", &body), None, &body)
        .await
        .assert_problem(401);
    deliver(
        &s,
        path,
        &easypost_headers("globex-secret", &body),
        None,
        &body,
    )
    .await
    .assert_problem(401);
    // No signature at all.
    deliver(&s, path, &[], None, &body)
        .await
        .assert_problem(401);
    let m = s.metrics().await;
    assert!(
        m.contains(
            "waypost_webhook_auth_failures_total{source=\"easypost\",reason=\"signature\"} 4"
        ),
        "{m}"
    );
    assert!(
        !s.log_text().contains("new-secret-acme"),
        "a secret reached the log"
    );
    assert!(
        !s.log_text().contains("globex-secret"),
        "a secret reached the log"
    );
}

#[tokio::test]
async fn standard_webhooks_deliveries_expire_and_cannot_be_replayed() {
    let s = spawn_server_with_config(&signed_config("")).await;
    let key = s.key("acme", "read");
    let secret = Secret::from_config("whsec_c2VjcmV0LWZvci10aGUtd2FyZWhvdXNl").unwrap();
    let body = corpus("wms", "01-single-shipped.json");
    let path = "/v1/webhooks/wms?tenant=acme";
    let now = Timestamp::now();
    let headers = sign(&Scheme::StandardWebhooks, &secret, "msg_1", &body, now).unwrap();
    let r = deliver(&s, path, &headers, None, &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    s.wait_for_status(&key, "WP-200481", "shipped").await;
    // The same delivery again: recognised by its id, nothing done.
    let r = deliver(&s, path, &headers, None, &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["replayed"], true);
    // Signed ten minutes ago: outside the five-minute tolerance.
    let old = now - SignedDuration::from_mins(10);
    let stale = sign(&Scheme::StandardWebhooks, &secret, "msg_2", &body, old).unwrap();
    let r = deliver(&s, path, &stale, None, &body).await;
    r.assert_problem(401);
    assert!(
        r.body["detail"].as_str().unwrap().contains("tolerance"),
        "{}",
        r.body
    );
    // Signed for another tenant's endpoint (no scheme there): refused.
    let r = deliver(&s, "/v1/webhooks/wms?tenant=globex", &headers, None, &body).await;
    r.assert_problem(401);
}

#[tokio::test]
async fn allow_lists_and_rate_limits_apply_per_source() {
    let extra = r#"
[[webhooks]]
tenant = "acme"
source = "shippo"
allow_ips = ["10.0.0.0/8"]

[[webhooks]]
tenant = "acme"
source = "aftership"
rate_per_sec = 0.01
burst = 1
"#;
    let s = spawn_server_with_config(&signed_config(extra)).await;
    let key = s.key("acme", "ingest,read");
    let r = deliver(&s, "/v1/webhooks/shippo", &[], Some(&key), b"{}").await;
    r.assert_problem(403);
    assert!(
        r.body["detail"].as_str().unwrap().contains("127.0.0.1"),
        "{}",
        r.body
    );
    let doc = corpus("aftership", "01-usps-delivered-dst-end.json");
    let first = deliver(&s, "/v1/webhooks/aftership", &[], Some(&key), &doc).await;
    assert_eq!(first.status, 202, "{}", first.body);
    let second = deliver(&s, "/v1/webhooks/aftership", &[], Some(&key), &doc).await;
    second.assert_problem(429);
    assert!(second.headers.get("retry-after").is_some());
}

#[tokio::test]
async fn a_drop_folder_feeds_the_pipeline_and_sorts_its_files() {
    let config = r#"
[[drops]]
dir = "{dir}/drop-edi"
tenant = "acme"
source = "x12-214"
poll_ms = 100
"#;
    let s = spawn_server_with_config(config).await;
    let key = s.key("acme", "read");
    let drop = s.dir.join("drop-edi");
    let edi_dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../adapters/corpus/x12-214/synthetic");
    let mut edi: Vec<_> = std::fs::read_dir(&edi_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "edi"))
        .collect();
    edi.sort();
    let first = &edi[0];
    // Written under a dot-name, then renamed: the watcher never reads half a file.
    let tmp = drop.join(".incoming.tmp");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !drop.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "drop folder never created"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    std::fs::copy(first, &tmp).unwrap();
    std::fs::rename(&tmp, drop.join("a.edi")).unwrap();
    std::fs::write(drop.join("b.edi"), "ISA*garbage").unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !(drop.join("done/a.edi").exists() && drop.join("rejected/b.edi").exists()) {
        assert!(
            std::time::Instant::now() < deadline,
            "drop files were not sorted:\n{}",
            s.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let problem = std::fs::read_to_string(drop.join("rejected/b.edi.problem.txt")).unwrap();
    assert!(!problem.is_empty());
    let listed = s.get(&key, "/v1/dead-letters").await;
    assert_eq!(
        listed.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        listed.body
    );
    // The good file's events are in: some order now exists.
    let orders: Value = s.get(&key, "/v1/orders").await.body;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut orders = orders;
    while orders["orders"].as_array().is_none_or(|o| o.is_empty()) {
        assert!(
            std::time::Instant::now() < deadline,
            "no order from the drop file"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        orders = s.get(&key, "/v1/orders").await.body;
    }
}

#[tokio::test]
async fn ingest_file_sends_documents_to_a_running_server() {
    let s = spawn_server().await;
    let key = s.key("acme", "ingest,read");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../adapters/corpus/ups/synthetic");
    let out = std::process::Command::new(BIN)
        .args([
            "ingest-file",
            "--source",
            "ups",
            "--url",
            &s.base,
            "--key",
            &key,
        ])
        .arg(dir.join("01-ground-delivered.json"))
        .arg(dir.join("02-multi-package-winter.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| l["status"] == 202), "{lines:?}");
    assert!(lines[0]["answer"]["accepted"].as_u64().unwrap() > 0);
    // A file that is not a UPS document: reported, and the exit code says so.
    let bad = s.dir.join("not-ups.json");
    std::fs::write(&bad, "{\"hello\": 1}").unwrap();
    let out = std::process::Command::new(BIN)
        .args([
            "ingest-file",
            "--source",
            "ups",
            "--url",
            &s.base,
            "--key",
            &key,
        ])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("422"));
}

#[tokio::test]
async fn a_new_mapping_and_a_remap_settle_the_quarantine() {
    // The description fallback off: the document's text ("Out for delivery") would otherwise
    // map the unknown code, and this is about what happens to codes nothing maps.
    let s = spawn_server_with_config(NO_FALLBACK).await;
    let key = s.key("acme", "ingest,read,admin");
    let doc = String::from_utf8(corpus("easypost", EASYPOST_DOC))
        .unwrap()
        .replace(
            "\"status\": \"out_for_delivery\"",
            "\"status\": \"teleported\"",
        );
    let r = deliver(&s, "/v1/webhooks/easypost", &[], Some(&key), doc.as_bytes()).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let open = s.get(&key, "/v1/unmapped").await;
    let codes: Vec<String> = open.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["code"].as_str().unwrap().to_owned())
        .collect();
    assert!(!codes.is_empty(), "{}", open.body);
    // The operator maps the new code for this tenant, without a restart...
    let dir = s.dir.join("mappings/acme");
    std::fs::create_dir_all(&dir).unwrap();
    let mut table = String::from("source = \"easypost\"\n[codes]\n");
    for c in &codes {
        table.push_str(&format!(
            "{c:?} = {{ status = \"out_for_delivery\", description = \"Teleported to the door\" }}\n"
        ));
    }
    std::fs::write(dir.join("easypost.toml"), table).unwrap();
    // ...and remaps, from the command line.
    let out = std::process::Command::new(BIN)
        .args(["remap", "--url", &s.base, "--key", &key])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["remapped"].as_u64().unwrap() as usize,
        codes.len(),
        "{report}"
    );
    assert_eq!(report["still_unmapped"], 0, "{report}");
    assert_eq!(s.get(&key, "/v1/unmapped").await.body["items"], json!([]));
    let all = s.get(&key, "/v1/unmapped?state=all").await;
    assert!(
        all.body["items"][0]["resolved_at"].is_string(),
        "{}",
        all.body
    );
    // The corrected events sit beside the originals in the history.
    let order = s
        .get(&key, &format!("/v1/orders/{EASYPOST_TRACKING}"))
        .await
        .body;
    let timeline = order["timeline"].as_array().unwrap();
    assert!(timeline.iter().any(|t| t["status"] == "unknown"), "{order}");
    assert!(
        timeline.iter().any(|t| t["status"] == "out_for_delivery"
            && t["event_id"].as_str().unwrap().ends_with("~remap")),
        "{order}"
    );
    // Remapping again changes nothing.
    let out = std::process::Command::new(BIN)
        .args(["remap", "--url", &s.base, "--key", &key])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["remapped"], 0, "{report}");
}
