//! Runs the simulator by hand: `cargo run -p waypost-sim --example sim -- [flags]`.
//!
//! Flags (all optional): `--seed N`, `--orders N`, `--per-minute N`, `--speed N`,
//! `--profile none|chaos`, `--listen 127.0.0.1:PORT`, `--engine http://host:port` (push WMS webhooks there),
//! `--config PATH` (write the Waypost config snippet), `--truth PATH` (write the truth when
//! done), `--linger SECS` (keep serving that long after the world is done, for pollers that
//! are still catching up). Prints the partners' base URLs, then the stats when the world is done.

use std::path::PathBuf;
use waypost_sim::{Faults, Sim, SimConfig};

/// The real clock (a library takes its clock; only the binary and tests read the system's).
struct Wall;

impl waypost_domain::Clock for Wall {
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }
}

fn wall() -> std::sync::Arc<dyn waypost_domain::Clock> {
    std::sync::Arc::new(Wall)
}

fn usage(msg: &str) -> ! {
    eprintln!(
        "{msg}\nflags: --seed N --orders N --per-minute N --speed N --profile none|chaos --engine URL --config PATH --truth PATH --linger SECS"
    );
    std::process::exit(2)
}

fn num<T: std::str::FromStr>(flag: &str, value: &str) -> T {
    value
        .parse()
        .unwrap_or_else(|_| usage(&format!("{flag}: bad value {value:?}")))
}

#[tokio::main]
async fn main() {
    let mut cfg = SimConfig::default();
    let (mut engine, mut config, mut truth) = (None, None, None);
    let mut linger = 0u64;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--seed" => cfg.seed = num(&flag, &value),
            "--orders" => cfg.orders = num(&flag, &value),
            "--per-minute" => cfg.orders_per_minute = num(&flag, &value),
            "--speed" => cfg.speed = num(&flag, &value),
            "--profile" => {
                cfg.faults = Faults::profile(&value).unwrap_or_else(|e| usage(&e.to_string()))
            }
            "--engine" => engine = Some(value),
            "--config" => config = Some(PathBuf::from(value)),
            "--truth" => truth = Some(PathBuf::from(value)),
            "--linger" => linger = num(&flag, &value),
            "--listen" => cfg.listen = num(&flag, &value),
            other => usage(&format!("unknown flag {other}")),
        }
    }
    let mut sim = Sim::start(cfg, wall())
        .await
        .unwrap_or_else(|e| usage(&e.to_string()));
    for p in ["ups", "fedex", "usps", "dhl", "wms"] {
        println!("{p}: {}", sim.base_url(p));
    }
    println!("clock: {}/clock", sim.url());
    if let Some(path) = config {
        std::fs::write(&path, sim.config_toml()).unwrap_or_else(|e| usage(&e.to_string()));
        println!("config: {}", path.display());
    }
    if let Some(url) = engine {
        sim.push_to(&url).unwrap_or_else(|e| usage(&e.to_string()));
    }
    println!("ends at {}", sim.ends_at());
    sim.wait_done().await;
    if let Some(path) = truth {
        sim.write_truth(&path)
            .unwrap_or_else(|e| usage(&e.to_string()));
        println!("truth: {}", path.display());
    }
    tokio::time::sleep(std::time::Duration::from_secs(linger)).await;
    println!(
        "{}",
        serde_json::to_string_pretty(&sim.stats()).unwrap_or_default()
    );
}
