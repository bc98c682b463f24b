#![allow(clippy::unwrap_used)]
//! How close the gazetteer's answers are to coordinates known independently of it (the samples
//! in `samples/mod.rs`). Run with `--nocapture` to see the figures. What a population floor
//! would cost and how fast lookups are are measurements, not checks: `cargo run --release -p
//! waypost-geo --example geocode_measure`.

mod samples;

use std::time::Instant;

use samples::{measure, print, samples};
use waypost_geo::Gazetteer;

#[test]
fn accuracy_on_independent_samples() {
    let started = Instant::now();
    let g = Gazetteer::embedded();
    println!(
        "gazetteer built in {:?} (debug builds are slower)",
        started.elapsed()
    );
    let all = samples();
    let (demo, carrier): (Vec<_>, Vec<_>) =
        all.into_iter().partition(|s| s.label.starts_with("demo"));
    assert!(demo.len() >= 180, "demo sample has {} entries", demo.len());
    assert!(carrier.len() >= 40);

    println!("misses and answers more than 5 km off:");
    let d = measure(g, &demo, true);
    let c = measure(g, &carrier, true);
    print("demo cities (3 variants each)", &d);
    print("carrier places", &c);

    assert_eq!(d.unlocated + c.unlocated, 0);
    assert!(d.within_25 >= 0.97, "demo within 25 km: {}", d.within_25);
    assert!(d.within_10 >= 0.95, "demo within 10 km: {}", d.within_10);
    assert!(c.within_25 >= 0.95, "carrier within 25 km: {}", c.within_25);
    assert!(c.within_10 >= 0.95, "carrier within 10 km: {}", c.within_10);
    assert!(d.median_km < 5.0 && c.median_km < 5.0);
}
