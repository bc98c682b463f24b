//! The browser-facing pages: the dashboard shell (`/`), its embedded assets (`/assets/...`)
//! and the customer tracking page (`/track/{token}`). The JSON API stays under `/v1`; these
//! routes answer HTML, with a strict Content-Security-Policy so that nothing but the embedded
//! files can run or load, whatever a vendor or tenant put into the data shown.

use crate::AppState;
use crate::problem::Problem;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

/// The dashboard's policy: only same-origin scripts, styles and requests (the API and the SSE
/// stream), images from data: URLs (Leaflet's), and no framing.
pub const DASHBOARD_CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; \
     script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
     form-action 'self'";

/// Vendored libraries change only with the binary; a week is long enough to make reloads free
/// and short enough that an upgrade is picked up (their URLs carry no version).
const VENDOR_CACHE: &str = "public, max-age=604800";
/// The app's own files are revalidated on each load (a 304 when unchanged).
const APP_CACHE: &str = "no-cache";

fn secure_headers(headers: &mut HeaderMap, csp: &str) {
    if let Ok(v) = HeaderValue::from_str(csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

fn html(status: StatusCode, body: String, csp: &str, referrer: &'static str) -> Response {
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static(referrer));
    secure_headers(h, csp);
    resp
}

/// `GET /`: the dashboard's shell; the app logs in and loads its data itself.
pub async fn index(headers: HeaderMap) -> Response {
    serve_asset("index.html", &headers)
}

/// `GET /assets/{*path}`: an embedded file, or 404 (a path that is not UTF-8 names none).
pub async fn asset(path: Result<Path<String>, PathRejection>, headers: HeaderMap) -> Response {
    match path {
        Ok(Path(path)) => serve_asset(&path, &headers),
        Err(_) => missing_asset(None),
    }
}

/// A 404 for `/assets/...`: problem+json like every error answer, with the page's headers so
/// that a browser treats it no more generously than the files it stands in for.
fn missing_asset(path: Option<&str>) -> Response {
    let detail = match path {
        // Echoed in JSON (escaped) and cut short: a probe's long path is not worth repeating.
        Some(p) => format!(
            "no embedded file /assets/{}; the dashboard's files are the ones its index.html links",
            p.chars().take(120).collect::<String>()
        ),
        None => "no embedded file has this name (the path is not UTF-8)".to_owned(),
    };
    let mut resp = Problem::not_found(detail).into_response();
    secure_headers(resp.headers_mut(), DASHBOARD_CSP);
    resp
}

fn serve_asset(path: &str, request: &HeaderMap) -> Response {
    let Some(asset) = waypost_web::asset(path) else {
        return missing_asset(Some(path));
    };
    let fresh = request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == asset.etag || t == "*");
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, asset.bytes).into_response()
    };
    let h = resp.headers_mut();
    if !fresh {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        );
    }
    h.insert(header::ETAG, HeaderValue::from_static(asset.etag));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if path.starts_with("vendor/") {
            VENDOR_CACHE
        } else {
            APP_CACHE
        }),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    secure_headers(h, DASHBOARD_CSP);
    resp
}

#[derive(Debug, Deserialize)]
pub struct TrackQuery {
    lang: Option<String>,
}

/// `GET /track/{token}`: the customer's page, in the language of `?lang=`, else of
/// `Accept-Language`, else English. An unknown token gets a friendly page with status 404,
/// the same for a malformed token as for an unknown one. A customer's link may arrive mangled
/// (an e-mail client's percent-escapes, a repeated `lang`): that is a friendly page too, never
/// the framework's plain-text 400.
pub async fn track_page(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<TrackQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    let asked = query.ok().and_then(|Query(q)| q.lang);
    let lang = waypost_web::pick_language(asked.as_deref(), accept);
    let view = match path {
        Ok(Path(token)) => super::track::public_view(&state, &token).await,
        Err(_) => Err(Problem::not_found("no tracking page for this link")),
    };
    let mut resp = match view {
        Ok(view) => html(
            StatusCode::OK,
            waypost_web::render_tracking(&view, lang),
            &waypost_web::tracking_csp(&view),
            "no-referrer",
        ),
        Err(p) if p.status == StatusCode::NOT_FOUND.as_u16() => not_found(lang),
        Err(p) => {
            tracing::warn!(status = p.status, detail = %p.detail, "tracking page failed");
            let mut r = not_found(lang);
            *r.status_mut() =
                StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            r
        }
    };
    let h = resp.headers_mut();
    h.insert(
        HeaderName::from_static("content-language"),
        HeaderValue::from_static(lang),
    );
    h.insert(header::VARY, HeaderValue::from_static("accept-language"));
    resp
}

fn not_found(lang: &str) -> Response {
    let csp = waypost_web::tracking_csp(&serde_json::Value::Null);
    html(
        StatusCode::NOT_FOUND,
        waypost_web::not_found_page(lang),
        &csp,
        "no-referrer",
    )
}
