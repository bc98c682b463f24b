//! Geocoding at ingest, through the real binary: a location sent with names only is stored with
//! the gazetteer's coordinates; coordinates a sender gave are kept as sent.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use common::*;
use serde_json::{Value, json};

fn near(loc: &Value, lat: f64, lon: f64) -> bool {
    let (Some(a), Some(o)) = (loc["lat"].as_f64(), loc["lon"].as_f64()) else {
        return false;
    };
    (a - lat).abs() < 0.2 && (o - lon).abs() < 0.2
}

#[tokio::test]
async fn names_only_locations_get_coordinates_at_ingest() {
    let s = spawn_server().await;
    let key = s.key("acme", "ingest,read");

    let mut shipped = carrier_ev("g1", "SO-G", "1ZGEO", "shipped", &at(0));
    shipped["location"] = json!({"city": "LOUISVILLE", "region": "KY", "country": "US"});
    shipped["destination"] = json!({"postal_code": "38118-1234", "country": "US"});
    shipped["origin"] = json!({"city": "Reno", "country": "US", "lat": 39.5, "lon": -119.8});
    let mut transit = carrier_ev("g2", "SO-G", "1ZGEO", "in_transit", &at(60));
    transit["location"] = json!({"city": "KOELN", "country": "DE"});
    let r = s.post_events(&key, &json!([shipped, transit])).await;
    assert_eq!(r.status, 202, "{}", r.body);
    // The same event again is still a duplicate: geocoding is deterministic, so its content hash
    // is the one stored.
    let r = s.post_events(&key, &json!([shipped])).await;
    assert_eq!(
        r.body,
        json!({"accepted": 0, "duplicates": 1}),
        "{}",
        r.body
    );

    let o = s.wait_for_status(&key, "SO-G", "in_transit").await;
    let tl = o["timeline"].as_array().unwrap();
    let by_id = |id: &str| tl.iter().find(|t| t["event_id"] == id).unwrap().clone();
    let g1 = by_id("g1");
    assert!(near(&g1["location"], 38.25, -85.76), "{g1}");
    assert_eq!(
        g1["location"]["city"], "LOUISVILLE",
        "names are kept as sent: {g1}"
    );
    let g2 = by_id("g2");
    assert!(near(&g2["location"], 50.94, 6.95), "{g2}");
    let ship = &o["shipments"][0];
    assert!(near(&ship["location"], 50.94, 6.95), "{ship}");
    assert!(near(&ship["destination"], 35.05, -89.93), "{ship}");
    let origin = (
        ship["origin"]["lat"].as_f64(),
        ship["origin"]["lon"].as_f64(),
    );
    assert_eq!(origin, (Some(39.5), Some(-119.8)), "{ship}");
}
