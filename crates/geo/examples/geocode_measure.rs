//! Measurements of the gazetteer that are not checks, so they live outside the test suite
//! (the accuracy itself is checked by `tests/accuracy.rs` on the same samples):
//!
//! - `floor`: what a population floor would save in size and cost in accuracy (decides whether
//!   to ship every GeoNames place of 1,000+ people);
//! - `speed`: build time and lookups per second.
//!
//! `cargo run --release -p waypost-geo --example geocode_measure [floor|speed]` (both when
//! none is named).

#[path = "../tests/samples/mod.rs"]
mod samples;

use std::time::Instant;

use samples::{measure, print, samples};
use waypost_geo::Gazetteer;

fn population_floor_cost() {
    let all = samples();
    for floor in [0, 2_000, 5_000, 15_000] {
        let started = Instant::now();
        let g = Gazetteer::with_min_population(floor);
        let built = started.elapsed();
        let f = measure(&g, &all, false);
        print(
            &format!(
                "floor {floor:>6} ({} places, built in {built:?})",
                g.city_count()
            ),
            &f,
        );
    }
}

fn speed() {
    let started = Instant::now();
    let g = Gazetteer::with_min_population(0);
    println!("build: {:?}", started.elapsed());
    let all = samples();
    let rounds = 2_000;
    let started = Instant::now();
    let mut found = 0usize;
    for _ in 0..rounds {
        for s in &all {
            found += usize::from(g.locate(std::hint::black_box(&s.loc)).is_some());
        }
    }
    let n = rounds * all.len();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{n} lookups in {secs:.3} s: {:.0} lookups/s ({found} found)",
        n as f64 / secs
    );
}

fn main() {
    let what = std::env::args().nth(1);
    match what.as_deref() {
        Some("floor") => population_floor_cost(),
        Some("speed") => speed(),
        None => {
            population_floor_cost();
            speed();
        }
        Some(other) => {
            eprintln!("unknown measurement {other:?}: floor or speed");
            std::process::exit(2);
        }
    }
}
