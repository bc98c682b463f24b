//! The customer tracking page, rendered on the server from the customer view JSON
//! (`GET /v1/track/{token}`), so it works without JavaScript. Every value is escaped by
//! minijinja's HTML autoescape; the brand's colour and logo are checked before they reach the
//! page, since they come from configuration a tenant controls.

use crate::i18n::{LANGUAGES, table, text};
use base64::Engine as _;
use jiff::Timestamp;
use jiff::tz::{Offset, TimeZone};
use minijinja::{Environment, context};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

const DEFAULT_COLOR: &str = "#1f4f8f";
const STAGES: usize = 6;

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    // The names end in .html, which turns HTML autoescape on.
    env.add_template("track.html", include_str!("../templates/track.html"))
        .ok();
    env.add_template(
        "not_found.html",
        include_str!("../templates/not_found.html"),
    )
    .ok();
    env.add_template("base.html", include_str!("../templates/base.html"))
        .ok();
    env
});

/// `#rrggbb` or nothing: the colour goes into a stylesheet, so anything else is refused.
fn valid_color(c: Option<&str>) -> Option<String> {
    let c = c?.trim();
    let hex = c.strip_prefix('#')?;
    (hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| c.to_ascii_lowercase())
}

/// Black or white, whichever reads better on `color` (WCAG relative luminance).
fn ink_for(color: &str) -> &'static str {
    let channel = |i: usize| {
        let v = f64::from(u8::from_str_radix(&color[i..i + 2], 16).unwrap_or(0)) / 255.0;
        if v <= 0.03928 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    let l = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
    // Contrast with white is 1.05/(l+0.05); with black (l+0.05)/0.05. Pick the larger.
    if 1.05 / (l + 0.05) >= (l + 0.05) / 0.05 {
        "#ffffff"
    } else {
        "#000000"
    }
}

/// A logo is shown only from an https URL without characters that could end the attribute or
/// smuggle a scheme; anything else is dropped (the page shows the brand's name).
fn valid_logo(url: Option<&str>) -> Option<String> {
    let url = url?.trim();
    let rest = url.strip_prefix("https://")?;
    let ok = !rest.is_empty()
        && url.len() <= 2048
        && url
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '\'' | '<' | '>' | '\\' | '`'));
    ok.then(|| url.to_owned())
}

/// The page's one inline stylesheet: the brand colour as custom properties. Its hash goes into
/// the page's Content-Security-Policy (`tracking_csp`), so no other inline style can run.
pub fn brand_style(view: &Value) -> String {
    let color = valid_color(view.pointer("/brand/color").and_then(Value::as_str))
        .unwrap_or_else(|| DEFAULT_COLOR.to_owned());
    let ink = ink_for(&color);
    format!(":root{{--brand:{color};--brand-ink:{ink}}}")
}

/// The Content-Security-Policy of a tracking page rendered from `view`: only same-origin
/// resources, plus the brand style by hash and the logo's https origin when there is a logo.
pub fn tracking_csp(view: &Value) -> String {
    let hash = base64::engine::general_purpose::STANDARD
        .encode(Sha256::digest(brand_style(view).as_bytes()));
    let img = match valid_logo(view.pointer("/brand/logo_url").and_then(Value::as_str)) {
        Some(_) => "'self' data: https:",
        None => "'self' data:",
    };
    format!(
        "default-src 'self'; img-src {img}; style-src 'self' 'sha256-{hash}'; script-src 'self'; \
         connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
}

/// An RFC 3339 instant in the language's format, at the offset it was written with (an
/// event's local time), e.g. `Nov 27, 2026, 14:05` or `27. Nov. 2026, 14:05`.
fn format_date(raw: &str, lang: &str, with_time: bool) -> Option<String> {
    let ts: Timestamp = raw.parse().ok()?;
    let offset = offset_of(raw).unwrap_or(Offset::UTC);
    let dt = ts.to_zoned(TimeZone::fixed(offset)).datetime();
    let months = &table(lang).months;
    let month = months
        .get(usize::try_from(dt.month() - 1).ok()?)
        .cloned()
        .unwrap_or_else(|| dt.month().to_string());
    let pattern = text(
        lang,
        if with_time {
            "date.format"
        } else {
            "date.day_only"
        },
    );
    Some(
        pattern
            .replace("{day}", &dt.day().to_string())
            .replace("{month}", &month)
            .replace("{year}", &dt.year().to_string())
            .replace("{time}", &format!("{:02}:{:02}", dt.hour(), dt.minute())),
    )
}

/// The offset written at the end of an RFC 3339 string (`Z`, `+02:00`, `-0500`).
fn offset_of(raw: &str) -> Option<Offset> {
    if raw.ends_with(['Z', 'z']) {
        return Some(Offset::UTC);
    }
    let tail = raw.get(raw.len().checked_sub(6)?..)?;
    let sign = match tail.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let hours: i32 = tail.get(1..3)?.parse().ok()?;
    let minutes: i32 = tail.get(4..6)?.parse().ok()?;
    Offset::from_seconds(sign * (hours * 3600 + minutes * 60)).ok()
}

fn place(loc: Option<&Value>) -> Option<String> {
    let loc = loc?;
    let parts: Vec<&str> = ["city", "region", "country"]
        .iter()
        .filter_map(|k| loc.get(*k).and_then(Value::as_str))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

fn label(lang: &str, section: &str, key: Option<&str>) -> Option<String> {
    let key = key?;
    // Keys come from the view; only known ones are looked up, others read as "update".
    let known = table("en").texts.contains_key(&format!("{section}.{key}"));
    Some(text(
        lang,
        &if known {
            format!("{section}.{key}")
        } else {
            format!("{section}.unknown")
        },
    ))
}

#[derive(Serialize)]
struct Stage {
    label: String,
    done: bool,
    current: bool,
}

#[derive(Serialize)]
struct Entry {
    status: String,
    when: Option<String>,
    datetime: Option<String>,
    place: Option<String>,
}

#[derive(Serialize)]
struct Parcel {
    carrier: Option<String>,
    tracking_number: Option<String>,
    status: Option<String>,
}

#[derive(Serialize)]
struct Lang {
    code: &'static str,
    current: bool,
}

fn languages(lang: &str) -> Vec<Lang> {
    LANGUAGES
        .iter()
        .map(|code| Lang {
            code,
            current: *code == lang,
        })
        .collect()
}

fn ui(lang: &str) -> std::collections::BTreeMap<String, String> {
    table("en")
        .texts
        .keys()
        .filter_map(|k| {
            k.strip_prefix("ui.")
                .map(|name| (name.to_owned(), text(lang, k)))
        })
        .collect()
}

/// The tracking page for the customer view `view` in `lang` (one of `LANGUAGES`; anything
/// else renders in English).
pub fn render_tracking(view: &Value, lang: &str) -> String {
    let lang = LANGUAGES
        .iter()
        .copied()
        .find(|l| *l == lang)
        .unwrap_or("en");
    let str_at = |p: &str| view.pointer(p).and_then(Value::as_str);
    let stage = view
        .get("stage")
        .and_then(Value::as_u64)
        .and_then(|s| usize::try_from(s).ok())
        .unwrap_or(0)
        .min(STAGES - 1);
    let stage_keys: Vec<&str> = view
        .get("stages")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .filter(|a: &Vec<&str>| a.len() == STAGES)
        .unwrap_or_else(|| {
            vec![
                "ordered",
                "processing",
                "shipped",
                "in_transit",
                "out_for_delivery",
                "delivered",
            ]
        });
    let stages: Vec<Stage> = stage_keys
        .iter()
        .enumerate()
        .map(|(i, k)| Stage {
            label: label(lang, "stage", Some(k)).unwrap_or_default(),
            done: i <= stage,
            current: i == stage,
        })
        .collect();
    let events: Vec<Entry> = view
        .get("events")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|e| Entry {
                    status: label(lang, "status", e.get("status").and_then(Value::as_str))
                        .unwrap_or_default(),
                    when: e
                        .get("occurred_at")
                        .and_then(Value::as_str)
                        .and_then(|d| format_date(d, lang, true)),
                    datetime: e
                        .get("occurred_at")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    place: place(e.get("location")),
                })
                .collect()
        })
        .unwrap_or_default();
    let parcels: Vec<Parcel> = view
        .get("shipments")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|s| Parcel {
                    carrier: s.get("carrier").and_then(Value::as_str).map(str::to_owned),
                    tracking_number: s
                        .get("tracking_number")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    status: label(lang, "status", s.get("status").and_then(Value::as_str)),
                })
                .collect()
        })
        .unwrap_or_default();
    let coords = match (
        view.pointer("/location/lat").and_then(Value::as_f64),
        view.pointer("/location/lon").and_then(Value::as_f64),
    ) {
        (Some(lat), Some(lon)) if lat.abs() <= 90.0 && lon.abs() <= 180.0 => {
            Some((format!("{lat:.5}"), format!("{lon:.5}")))
        }
        _ => None,
    };
    let step = text(lang, "ui.step_of")
        .replace("{n}", &(stage + 1).to_string())
        .replace("{total}", &STAGES.to_string());
    let ctx = context! {
        lang,
        t => ui(lang),
        style => brand_style(view),
        brand_name => str_at("/brand/name").filter(|s| !s.trim().is_empty()),
        logo => valid_logo(str_at("/brand/logo_url")),
        order_id => str_at("/order_id"),
        status_key => str_at("/status"),
        status => label(lang, "status", str_at("/status")),
        trouble => label(lang, "trouble", str_at("/trouble")),
        stage_now => stage + 1,
        stage_total => STAGES,
        stage_text => format!("{step}: {}", stages.get(stage).map(|s| s.label.as_str()).unwrap_or("")),
        stages,
        promised => str_at("/promised_at").and_then(|d| format_date(d, lang, false)),
        delivered => str_at("/delivered_at").and_then(|d| format_date(d, lang, true)),
        updated => str_at("/updated_at").and_then(|d| format_date(d, lang, true)),
        location => place(view.get("location")),
        coords,
        events,
        parcels,
        languages => languages(lang),
    };
    render("track.html", ctx)
}

/// The friendly page for an unknown or expired link.
pub fn not_found_page(lang: &str) -> String {
    let lang = LANGUAGES
        .iter()
        .copied()
        .find(|l| *l == lang)
        .unwrap_or("en");
    let ctx = context! {
        lang,
        t => ui(lang),
        style => brand_style(&Value::Null),
        languages => languages(lang),
    };
    render("not_found.html", ctx)
}

fn render(name: &str, ctx: minijinja::Value) -> String {
    ENV.get_template(name)
        .and_then(|t| t.render(ctx))
        .unwrap_or_else(|e| {
            // Our own templates, covered by tests: reaching this is a bug, shown plainly.
            format!("<!doctype html><title>Error</title><p>page error: {e}</p>")
        })
}

#[cfg(test)]
#[path = "tracking_tests.rs"]
mod tests;
