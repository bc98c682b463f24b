#![allow(clippy::unwrap_used)]
//! The samples the gazetteer is measured on, shared by the accuracy test (`tests/accuracy.rs`)
//! and the measurements that are not checks (`examples/geocode_measure.rs`): the demo world's
//! city table (`crates/demo/data/cities.csv`, written by hand from general knowledge) and a
//! hand-written list of places as carriers report them. Neither is derived from the
//! gazetteer's GeoNames or ZIP data.

use std::path::PathBuf;

use waypost_domain::Location;
use waypost_geo::{Gazetteer, Precision};

pub struct Sample {
    pub label: String,
    pub loc: Location,
    pub lat: f64,
    pub lon: f64,
}

fn location(city: &str, region: &str, postal: &str, country: &str) -> Location {
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    Location {
        city: opt(city),
        region: opt(region),
        postal_code: opt(postal),
        country: opt(country),
        lat: None,
        lon: None,
    }
}

/// The demo world's cities, as (city, region, postal, country, lat, lon).
fn demo_cities() -> Vec<(String, String, String, String, f64, f64)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../demo/data/cities.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("city,") && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let s = |i: usize| f[i].to_owned();
            (
                s(0),
                s(1),
                s(2),
                s(3),
                f[4].parse().unwrap(),
                f[5].parse().unwrap(),
            )
        })
        .collect()
}

/// Places the way carriers' scans name them, with coordinates of the city centre (or, for a
/// postal code, of its neighbourhood) known independently of the gazetteer.
#[rustfmt::skip]
const CARRIER_PLACES: &[(&str, &str, &str, &str, f64, f64)] = &[
    ("MEMPHIS, TN, US", "", "", "", 35.1495, -90.0490),
    ("LOUISVILLE KY", "", "", "US", 38.2527, -85.7585),
    ("Hodgkins IL", "", "", "US", 41.7689, -87.8573),
    ("INDIANAPOLIS", "IN", "", "US", 39.7684, -86.1581),
    ("ONTARIO", "CA", "", "US", 34.0633, -117.6509),
    ("SECAUCUS", "NJ", "", "US", 40.7895, -74.0565),
    ("ST. LOUIS", "MO", "", "US", 38.6270, -90.1994),
    ("ST PAUL", "MN", "", "US", 44.9537, -93.0900),
    ("FT LAUDERDALE", "FL", "", "US", 26.1224, -80.1373),
    ("WINSTON-SALEM", "NC", "", "US", 36.0999, -80.2442),
    ("SPRINGFIELD", "MO", "", "US", 37.2090, -93.2923),
    ("NEW YORK", "NY", "", "US", 40.7128, -74.0060),
    ("WASHINGTON", "DC", "", "US", 38.9072, -77.0369),
    ("ATLANTA", "Georgia", "", "US", 33.7490, -84.3880),
    ("", "", "60601", "US", 41.8858, -87.6181),
    ("", "", "30303", "US", 33.7525, -84.3888),
    ("", "", "02108", "US", 42.3576, -71.0651),
    ("", "", "94103", "US", 37.7725, -122.4147),
    ("", "", "98101", "US", 47.6114, -122.3305),
    ("", "", "75201-4605", "US", 32.7876, -96.7994),
    ("", "", "90210", "US", 34.1030, -118.4105),
    ("", "", "33101", "US", 25.7743, -80.1937),
    ("MONTREAL", "QC", "", "CA", 45.5017, -73.5673),
    ("TORONTO", "ON", "", "CA", 43.6532, -79.3832),
    ("MISSISSAUGA", "ON", "", "CA", 43.5890, -79.6441),
    ("VANCOUVER", "BC", "", "CA", 49.2827, -123.1207),
    ("Leipzig", "", "", "DE", 51.3397, 12.3731),
    ("Köln", "", "", "DE", 50.9375, 6.9603),
    ("KOELN", "", "", "DE", 50.9375, 6.9603),
    ("MUENCHEN", "", "", "DE", 48.1351, 11.5820),
    ("FRANKFURT", "HE", "", "DE", 50.1109, 8.6821),
    ("DÜSSELDORF", "", "", "DE", 51.2277, 6.7735),
    ("LONDON", "", "", "GB", 51.5074, -0.1278),
    ("COVENTRY", "", "", "GB", 52.4068, -1.5197),
    ("PARIS", "", "", "FR", 48.8566, 2.3522),
    ("ROISSY-EN-FRANCE", "", "", "FR", 49.0036, 2.5167),
    ("VENLO", "", "", "NL", 51.3704, 6.1724),
    ("BRUXELLES", "", "", "BE", 50.8503, 4.3517),
    ("LIEGE", "", "", "BE", 50.6326, 5.5797),
    ("MILANO", "", "", "IT", 45.4642, 9.1900),
    ("WARSZAWA", "", "", "PL", 52.2297, 21.0122),
    ("PRAHA", "", "", "CZ", 50.0755, 14.4378),
    ("WIEN", "", "", "AT", 48.2082, 16.3738),
    ("ZURICH", "", "", "CH", 47.3769, 8.5417),
    ("SYDNEY", "NSW", "", "AU", -33.8688, 151.2093),
    ("MELBOURNE", "VIC", "", "AU", -37.8136, 144.9631),
    ("TOKYO", "", "", "JP", 35.6762, 139.6503),
    ("CIUDAD DE MEXICO", "", "", "MX", 19.4326, -99.1332),
    ("GUADALAJARA", "JAL", "", "MX", 20.6597, -103.3496),
    ("SAO PAULO", "", "", "BR", -23.5505, -46.6333),
];

pub fn samples() -> Vec<Sample> {
    let mut out = Vec::new();
    for (city, region, postal, country, lat, lon) in demo_cities() {
        // As the demo sends it, then as carriers that give no postal code, then without region.
        let variants = [
            ("full", location(&city, &region, &postal, &country)),
            ("no postal", location(&city, &region, "", &country)),
            ("city+country", location(&city, "", "", &country)),
        ];
        for (how, loc) in variants {
            out.push(Sample {
                label: format!("demo {city} ({how})"),
                loc,
                lat,
                lon,
            });
        }
    }
    for &(city, region, postal, country, lat, lon) in CARRIER_PLACES {
        out.push(Sample {
            label: format!("carrier {city:?} {region:?} {postal:?} {country:?}"),
            loc: location(city, region, postal, country),
            lat,
            lon,
        });
    }
    out
}

fn km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6371.0 * a.sqrt().asin()
}

pub struct Figures {
    pub n: usize,
    pub within_10: f64,
    pub within_25: f64,
    pub median_km: f64,
    pub p95_km: f64,
    pub max_km: f64,
    pub unlocated: usize,
}

pub fn measure(g: &Gazetteer, samples: &[Sample], verbose: bool) -> Figures {
    let mut errors = Vec::new();
    let mut unlocated = 0;
    for s in samples {
        match g.locate(&s.loc) {
            Some(p) => {
                let e = km(p.lat, p.lon, s.lat, s.lon);
                if verbose && (e > 10.0 || p.precision != Precision::Postal && e > 5.0) {
                    println!("  {:>7.1} km  {:?}  {}", e, p.precision, s.label);
                }
                errors.push(e);
            }
            None => {
                if verbose {
                    println!("  not found  {}", s.label);
                }
                unlocated += 1;
                errors.push(f64::INFINITY);
            }
        }
    }
    let n = errors.len();
    let share = |limit: f64| errors.iter().filter(|&&e| e <= limit).count() as f64 / n as f64;
    let (within_10, within_25) = (share(10.0), share(25.0));
    errors.sort_by(f64::total_cmp);
    Figures {
        n,
        within_10,
        within_25,
        median_km: errors[n / 2],
        p95_km: errors[n * 95 / 100],
        max_km: errors[n - 1],
        unlocated,
    }
}

pub fn print(name: &str, f: &Figures) {
    println!(
        "{name}: n={} within 10 km {:.1} %, within 25 km {:.1} %, median {:.2} km, p95 {:.1} km, \
         max {:.1} km, not found {}",
        f.n,
        100.0 * f.within_10,
        100.0 * f.within_25,
        f.median_km,
        f.p95_km,
        f.max_km,
        f.unlocated
    );
}
