//! The operations dashboard and the customer tracking page (issue 7).
//!
//! Every file under `assets/` (the dashboard's HTML, CSS and ES modules, and the npm libraries
//! vendored by `web/vendor.mjs`) is compiled into the library by `build.rs`, so the binary serves
//! them with no files beside it and no network. The tracking page is rendered here from the JSON
//! customer view (`GET /v1/track/{token}`) with translation tables compiled in from `i18n/`.
//! Invariant: nothing here does I/O; the HTTP routes live in `waypost-api`.

mod i18n;
mod tracking;

pub use i18n::{LANGUAGES, pick_language};
pub use tracking::{brand_style, not_found_page, render_tracking, tracking_csp};

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// One embedded file.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    pub bytes: &'static [u8],
    pub content_type: &'static str,
    /// A strong ETag (quoted) from the content's SHA-256: equal bytes, equal tag.
    pub etag: &'static str,
}

/// The embedded file at `path` (relative to `assets/`, no leading slash), if there is one.
pub fn asset(path: &str) -> Option<Asset> {
    let i = ASSETS.binary_search_by(|(p, _, _)| (*p).cmp(path)).ok()?;
    let (p, bytes, etag) = ASSETS[i];
    Some(Asset {
        bytes,
        content_type: content_type(p),
        etag,
    })
}

/// Every embedded path, sorted.
pub fn asset_paths() -> impl Iterator<Item = &'static str> {
    ASSETS.iter().map(|(p, _, _)| *p)
}

fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map_or("", |(_, e)| e);
    match ext {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "md" | "txt" => "text/plain; charset=utf-8",
        "woff2" => "font/woff2",
        _ if path.ends_with("LICENSE") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_for_binary_search() {
        let paths: Vec<_> = asset_paths().collect();
        let mut sorted = paths.clone();
        sorted.sort_unstable();
        assert_eq!(paths, sorted);
        assert!(!paths.is_empty());
    }

    #[test]
    fn every_asset_is_found_with_a_type_and_a_quoted_etag() {
        for path in asset_paths() {
            let a = asset(path).unwrap();
            assert!(a.etag.starts_with('"') && a.etag.ends_with('"'), "{path}");
            assert_ne!(a.content_type, "application/octet-stream", "{path}");
        }
    }

    #[test]
    fn the_shell_and_the_vendored_libraries_are_embedded() {
        let index = asset("index.html").unwrap();
        assert_eq!(index.content_type, "text/html; charset=utf-8");
        assert!(
            std::str::from_utf8(index.bytes)
                .unwrap()
                .contains("id=\"app\"")
        );
        assert_eq!(
            asset("vendor/leaflet/leaflet.js").unwrap().content_type,
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            asset("vendor/world-atlas/countries-50m.json")
                .unwrap()
                .content_type,
            "application/json"
        );
        assert!(asset("vendor/SOURCES.md").is_some());
    }

    #[test]
    fn unknown_and_traversing_paths_are_absent() {
        assert!(asset("nope.js").is_none());
        assert!(asset("../Cargo.toml").is_none());
        assert!(asset("").is_none());
    }

    #[test]
    fn different_content_has_different_etags() {
        let a = asset("index.html").unwrap().etag;
        let b = asset("app.css").unwrap().etag;
        assert_ne!(a, b);
    }
}
