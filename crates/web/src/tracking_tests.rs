use super::*;
use serde_json::json;

fn view() -> Value {
    json!({
        "order_id": "A-1001",
        "status": "in_transit",
        "stage": 3,
        "stages": ["ordered", "processing", "shipped", "in_transit", "out_for_delivery", "delivered"],
        "trouble": "delayed",
        "promised_at": "2026-11-30T18:00:00+01:00",
        "delivered_at": null,
        "updated_at": "2026-11-27T09:15:00Z",
        "location": {"city": "Lyon", "region": "ARA", "country": "FR", "lat": 45.76, "lon": 4.84},
        "shipments": [{"carrier": "ups", "tracking_number": "1Z999", "status": "in_transit"}],
        "events": [
            {"status": "in_transit", "occurred_at": "2026-11-27T10:15:00+01:00",
             "location": {"city": "Lyon", "region": null, "country": "FR"}},
            {"status": "shipped", "occurred_at": "2026-11-26T08:00:00-05:00", "location": null}
        ],
        "brand": {"name": "Acme <Shop>", "logo_url": null, "color": "#ffcc00"}
    })
}

#[test]
fn renders_the_status_progress_and_timeline() {
    let html = render_tracking(&view(), "en");
    assert!(html.contains("data-field=\"status\""));
    assert!(html.contains(">On its way</p>"), "{html}");
    assert!(html.contains("role=\"progressbar\""));
    assert!(html.contains("aria-valuenow=\"4\""));
    assert!(html.contains("Your parcel is running late"));
    assert_eq!(
        html.matches("<li").count() - html.matches("<link").count() - 6 - 4,
        2,
        "two timeline entries"
    );
    assert!(html.contains("data-field=\"timeline\""));
    // The event's own offset: 10:15 at +01:00 stays 10:15, and 08:00 at -05:00 stays 08:00.
    assert!(html.contains("Nov 27, 2026, 10:15"), "{html}");
    assert!(html.contains("Nov 26, 2026, 08:00"));
    assert!(html.contains("Nov 30, 2026"));
    assert!(html.contains("data-lat=\"45.76000\""));
}

#[test]
fn escapes_everything_from_the_view() {
    let mut v = view();
    v["order_id"] = json!("<script>alert(1)</script>");
    v["events"][0]["location"]["city"] = json!("\"><img src=x onerror=alert(1)>");
    let html = render_tracking(&v, "en");
    assert!(!html.contains("<script>alert"));
    assert!(!html.contains("<img src=x"));
    assert!(html.contains("&lt;script&gt;"));
    assert!(html.contains("Acme &lt;Shop&gt;"));
}

#[test]
fn unknown_statuses_read_as_an_update_not_as_a_raw_code() {
    let mut v = view();
    v["status"] = json!("VENDOR_CODE_77");
    v["events"][0]["status"] = json!("<b>x</b>");
    let html = render_tracking(&v, "en");
    assert!(!html.contains("VENDOR_CODE_77<"));
    assert!(html.contains(">Update received<"));
}

#[test]
fn the_brand_colour_is_validated_and_hashed_into_the_policy() {
    let mut v = view();
    assert_eq!(
        brand_style(&v),
        ":root{--brand:#ffcc00;--brand-ink:#000000}"
    );
    v["brand"]["color"] = json!("red;}body{display:none");
    assert_eq!(
        brand_style(&v),
        ":root{--brand:#1f4f8f;--brand-ink:#ffffff}"
    );
    let csp = tracking_csp(&v);
    let html = render_tracking(&v, "en");
    assert!(html.contains(&format!("<style>{}</style>", brand_style(&v))));
    let hash = base64::engine::general_purpose::STANDARD
        .encode(Sha256::digest(brand_style(&v).as_bytes()));
    assert!(csp.contains(&format!("'sha256-{hash}'")), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"));
    assert!(!csp.contains("unsafe"));
}

#[test]
fn a_logo_is_shown_only_from_https() {
    let mut v = view();
    for bad in [
        "http://x.example/l.png",
        "javascript:alert(1)",
        "https://x\" onload=\"a",
        "data:image/png;base64,AA",
    ] {
        v["brand"]["logo_url"] = json!(bad);
        let html = render_tracking(&v, "en");
        assert!(!html.contains("class=\"logo\""), "{bad}");
        assert!(!tracking_csp(&v).contains("https:"), "{bad}");
    }
    v["brand"]["logo_url"] = json!("https://cdn.example/logo.png");
    let html = render_tracking(&v, "en");
    assert!(
        html.contains("src=\"https:&#x2f;&#x2f;cdn.example&#x2f;logo.png\"")
            || html.contains("src=\"https://cdn.example/logo.png\""),
        "{html}"
    );
    assert!(tracking_csp(&v).contains("img-src 'self' data: https:"));
}

#[test]
fn languages_translate_labels_and_dates() {
    let de = render_tracking(&view(), "de");
    assert!(de.contains("lang=\"de\""));
    assert!(de.contains(">Unterwegs</p>"));
    assert!(de.contains("27. Nov. 2026, 10:15"), "{de}");
    let fr = render_tracking(&view(), "fr");
    assert!(fr.contains("27 nov. 2026, 10:15"));
    let es = render_tracking(&view(), "es");
    assert!(es.contains(">En camino</p>"));
    let xx = render_tracking(&view(), "xx");
    assert!(xx.contains("lang=\"en\""));
    assert!(xx.contains(">On its way</p>"));
}

#[test]
fn no_location_means_no_map_and_no_script() {
    let mut v = view();
    v["location"] = Value::Null;
    let html = render_tracking(&v, "en");
    assert!(!html.contains("track-map"));
    assert!(!html.contains("<script"));
}

#[test]
fn a_sparse_view_still_renders() {
    let html = render_tracking(&json!({"order_id": "X", "status": "pending"}), "en");
    assert!(html.contains("aria-valuenow=\"1\""));
    assert!(html.contains("No tracking updates yet."));
}

#[test]
fn the_not_found_page_is_friendly_and_localised() {
    assert!(not_found_page("en").contains("We could not find this order"));
    assert!(not_found_page("fr").contains("Nous n’avons pas trouvé cette commande"));
    assert!(not_found_page("zz").contains("lang=\"en\""));
}

#[test]
fn offsets_are_read_from_the_string() {
    assert_eq!(offset_of("2026-01-01T00:00:00Z"), Some(Offset::UTC));
    assert_eq!(
        offset_of("2026-01-01T00:00:00+05:30").map(|o| o.seconds()),
        Some(19800)
    );
    assert_eq!(
        offset_of("2026-01-01T00:00:00-03:00").map(|o| o.seconds()),
        Some(-10800)
    );
    assert_eq!(format_date("not a date", "en", true), None);
}
