#![allow(clippy::unwrap_used)]
//! Robustness: `locate` answers any input without panicking, with coordinates on the globe, and
//! `fill` never replaces coordinates a sender gave.

use proptest::prelude::*;
use waypost_domain::{Event, Location};
use waypost_geo::Gazetteer;

/// Text that is sometimes a real place, sometimes noise of any script and length.
fn text() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        prop::sample::select(vec![
            "Memphis",
            "MEMPHIS, TN, US",
            "St. Louis",
            "Köln",
            "KOELN",
            "louisville ky",
            "TN",
            "ON",
            "NSW",
            "US-CA",
            "38118",
            "38118-1234",
            "00901",
            "US",
            "DE",
            "CA",
            "",
            " ",
            ",",
            ",,,",
            "-",
            "St.",
            "Ste",
            "ß",
            "ǅ",
            "\u{0}",
            "\u{202e}",
            "🚚",
            "東京",
        ])
        .prop_map(|s| Some(s.to_owned())),
        any::<String>().prop_map(Some),
        "[a-zA-Z ,.'-]{0,40}".prop_map(Some),
        "[0-9 -]{0,12}".prop_map(Some),
        "[A-Za-z]{2}".prop_map(Some),
    ]
}

fn coordinate() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![
        Just(None),
        any::<f64>().prop_map(Some),
        (-90.0..90.0f64).prop_map(Some)
    ]
}

prop_compose! {
    fn location()(city in text(), region in text(), postal_code in text(), country in text(),
                   lat in coordinate(), lon in coordinate()) -> Location {
        Location { city, region, postal_code, country, lat, lon }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn locate_never_panics_and_stays_on_the_globe(l in location()) {
        if let Some(p) = Gazetteer::embedded().locate(&l) {
            prop_assert!((-90.0..=90.0).contains(&p.lat), "{p:?}");
            prop_assert!((-180.0..=180.0).contains(&p.lon), "{p:?}");
        }
    }

    #[test]
    fn fill_never_overwrites_given_coordinates(l in location()) {
        let mut filled = l.clone();
        let set = Gazetteer::embedded().fill(&mut filled);
        // Names are never touched.
        prop_assert_eq!((&filled.city, &filled.region, &filled.postal_code, &filled.country),
                        (&l.city, &l.region, &l.postal_code, &l.country));
        if l.lat.is_some() || l.lon.is_some() {
            prop_assert!(!set);
            // Compared as bits: NaN is a given coordinate too.
            prop_assert_eq!(filled.lat.map(f64::to_bits), l.lat.map(f64::to_bits));
            prop_assert_eq!(filled.lon.map(f64::to_bits), l.lon.map(f64::to_bits));
        } else {
            prop_assert_eq!(set, filled.lat.is_some() && filled.lon.is_some());
            prop_assert_eq!(filled.lat.is_some(), filled.lon.is_some());
        }
    }
}

#[test]
fn fill_event_fills_every_location_without_coordinates() {
    let mut e: Event = serde_json::from_value(serde_json::json!({
        "source": "ups", "event_id": "e1", "order_id": "o1", "status": "in_transit",
        "occurred_at": "2026-11-20T08:00:00Z",
        "location": {"city": "HODGKINS", "region": "IL", "country": "US"},
        "origin": {"city": "Louisville", "region": "KY", "country": "US", "lat": 1.0, "lon": 2.0},
        "destination": {"postal_code": "38118", "country": "US"},
    }))
    .unwrap();
    assert_eq!(waypost_geo::fill_event(&mut e), 2);
    assert!(e.location.as_ref().unwrap().lat.is_some());
    let origin = e.origin.as_ref().unwrap();
    assert_eq!((origin.lat, origin.lon), (Some(1.0), Some(2.0)));
    assert!(e.destination.as_ref().unwrap().lon.is_some());
    // A second pass has nothing left to do.
    let again = waypost_geo::filled(e.clone());
    assert_eq!(again, e);
}
