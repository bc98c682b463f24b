//! The browser-facing routes of the real binary: the dashboard shell, its embedded assets
//! (types, ETags, 304s, caching) and the tracking page's friendly 404, all under a strict CSP.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use common::*;
use reqwest::header::{
    ACCEPT_LANGUAGE, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH,
    X_CONTENT_TYPE_OPTIONS,
};

fn header(r: &reqwest::Response, name: reqwest::header::HeaderName) -> &str {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[tokio::test]
async fn the_root_serves_the_dashboard_shell_under_a_strict_policy() {
    let s = spawn_server().await;
    let r = plain_client().get(s.url("/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, CONTENT_TYPE), "text/html; charset=utf-8");
    let csp = header(&r, CONTENT_SECURITY_POLICY).to_owned();
    for part in [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(part), "{part} missing from {csp}");
    }
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
    assert_eq!(header(&r, X_CONTENT_TYPE_OPTIONS), "nosniff");
    let body = r.text().await.unwrap();
    assert!(body.contains("id=\"login-email\""));
    assert!(body.contains("/assets/app/main.js"));
    // Everything the shell loads is same-origin.
    assert!(!body.contains("http://") && !body.contains("https://"));
}

#[tokio::test]
async fn assets_have_their_types_strong_etags_and_answer_304_when_unchanged() {
    let s = spawn_server().await;
    let client = plain_client();
    for (path, ty) in [
        ("/assets/app/main.js", "text/javascript; charset=utf-8"),
        ("/assets/app.css", "text/css; charset=utf-8"),
        (
            "/assets/vendor/leaflet/leaflet.js",
            "text/javascript; charset=utf-8",
        ),
        (
            "/assets/vendor/world-atlas/countries-110m.json",
            "application/json",
        ),
    ] {
        let r = client.get(s.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(header(&r, CONTENT_TYPE), ty, "{path}");
        let etag = header(&r, ETAG).to_owned();
        assert!(etag.starts_with('"') && etag.len() > 10, "{path}: {etag}");
        let cache = header(&r, CACHE_CONTROL).to_owned();
        if path.contains("/vendor/") {
            assert!(cache.contains("max-age="), "{path}: {cache}");
        } else {
            assert_eq!(cache, "no-cache", "{path}");
        }
        let again = client
            .get(s.url(path))
            .header(IF_NONE_MATCH, &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
        assert_eq!(header(&again, ETAG), etag);
        assert!(again.bytes().await.unwrap().is_empty());
        let other = client
            .get(s.url(path))
            .header(IF_NONE_MATCH, "\"something-else\"")
            .send()
            .await
            .unwrap();
        assert_eq!(other.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn an_unknown_asset_is_404_and_the_api_keeps_its_problem_fallback() {
    let s = spawn_server().await;
    let client = plain_client();
    for path in [
        "/assets/nope.js",
        "/assets/../Cargo.toml",
        "/assets/vendor/leaflet/missing.css",
        "/assets/%FF%FE.js",
    ] {
        let r = client.get(s.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
        // (The client resolves `..` itself: that one reaches the API's fallback.)
        if !path.contains("..") {
            assert!(
                header(&r, CONTENT_SECURITY_POLICY).contains("default-src 'self'"),
                "{path}"
            );
        }
    }
    let r = Resp::read(client.get(s.url("/v1/no-such-route")).send().await.unwrap()).await;
    r.assert_problem(404);
}

#[tokio::test]
async fn an_unknown_tracking_link_gets_a_friendly_page_in_the_visitors_language() {
    let s = spawn_server().await;
    let client = plain_client();
    let r = client
        .get(s.url("/track/ffffffffffffffffffffffffffffffff"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(header(&r, CONTENT_TYPE), "text/html; charset=utf-8");
    assert!(header(&r, CONTENT_SECURITY_POLICY).contains("frame-ancestors 'none'"));
    assert_eq!(header(&r, CACHE_CONTROL), "no-store");
    let body = r.text().await.unwrap();
    assert!(body.contains("We could not find this order"), "{body}");
    assert!(body.contains("<html lang=\"en\">"));

    let r = client
        .get(s.url("/track/not-even-hex"))
        .header(ACCEPT_LANGUAGE, "de-DE,de;q=0.9,en;q=0.5")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let body = r.text().await.unwrap();
    assert!(body.contains("<html lang=\"de\">"));
    assert!(body.contains("Wir konnten diese Bestellung nicht finden"));

    let r = client
        .get(s.url("/track/abc?lang=fr"))
        .header(ACCEPT_LANGUAGE, "de")
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("<html lang=\"fr\">"));
    // A mangled link (a token that is not UTF-8, a repeated parameter) is the same friendly
    // page, not a plain-text 400.
    for mangled in ["/track/%FF%FE", "/track/abc?lang=fr&lang=de"] {
        let r = client
            .get(s.url(mangled))
            .header(ACCEPT_LANGUAGE, "de")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{mangled}");
        assert_eq!(
            header(&r, CONTENT_TYPE),
            "text/html; charset=utf-8",
            "{mangled}"
        );
        assert!(header(&r, CONTENT_SECURITY_POLICY).contains("frame-ancestors 'none'"));
        let body = r.text().await.unwrap();
        assert!(body.contains("<html lang=\"de\">"), "{mangled}: {body}");
    }
}
