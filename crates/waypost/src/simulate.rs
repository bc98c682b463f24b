//! `waypost simulate`: the partner simulator (`waypost-sim`) on loopback, and an engine on a
//! temporary embedded store (or a running one, `--engine`) connected to it the way a user
//! connects real partners: signed WMS webhooks plus polling connectors for every carrier and
//! the WMS feed. With `--verify` it runs the world to its end, compares every order with the
//! ground truth, and prints the headline figures as one JSON object on the last line.

mod verify;

use anyhow::{Context, bail};
use std::time::Duration;
use waypost_adapters::Source;
use waypost_connectors::{ConnectorConfig, ScheduleConfig, Secret};
use waypost_domain::TenantId;
use waypost_sim::{Faults, Sim, SimConfig};
use waypost_store::Scope;

#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// Orders the world creates.
    #[arg(long, default_value_t = 200)]
    pub orders: usize,
    /// Same seed, same world, same truth.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Fault profile: `none` or `chaos` (10 % partner errors and timeouts, 5 % duplicated and
    /// late events, a 30-minute webhook outage, planted malformed payloads).
    #[arg(long, default_value = "none")]
    pub faults: String,
    /// Simulated seconds per wall second (1440: a simulated day per minute).
    #[arg(long, default_value_t = 1440.0)]
    pub speed: f64,
    /// New orders per wall-clock minute.
    #[arg(long, default_value_t = 1200.0)]
    pub orders_per_minute: f64,
    /// Tenants the orders are spread across (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "acme,globex,initech")]
    pub tenants: Vec<String>,
    /// Run the world to its end, compare with the truth, print the figures, and fail unless
    /// every order matches.
    #[arg(long)]
    pub verify: bool,
    /// Use a running engine at this URL instead of starting one. It must be configured with
    /// this world's connectors and webhooks (`--print-config`) and the simulator must then
    /// listen where that configuration says (`--sim-listen`).
    #[arg(long, requires = "key")]
    pub engine: Option<String>,
    /// With `--engine`: an API key (read scope) of the world's only tenant.
    #[arg(long)]
    pub key: Option<String>,
    /// Where the simulator listens (default: a free loopback port).
    #[arg(long)]
    pub sim_listen: Option<std::net::SocketAddr>,
    /// Print the Waypost configuration for this world and exit.
    #[arg(long)]
    pub print_config: bool,
    /// Write the ground truth (JSON lines) here.
    #[arg(long)]
    pub truth: Option<std::path::PathBuf>,
    /// How long to wait, after the world's last event, for every order to match the truth.
    #[arg(long, default_value = "120s", value_parser = parse_secs)]
    pub settle: Duration,
}

fn parse_secs(s: &str) -> Result<Duration, String> {
    let n = s.strip_suffix('s').unwrap_or(s);
    n.parse::<u64>()
        .map(Duration::from_secs)
        .map_err(|_| format!("{s:?} is not a number of seconds like 120s"))
}

impl SimulateArgs {
    fn sim_config(&self) -> anyhow::Result<SimConfig> {
        if self.engine.is_some() && self.tenants.len() != 1 {
            bail!("with --engine the world has one tenant, the key's: pass --tenants <it>");
        }
        let defaults = SimConfig::default();
        Ok(SimConfig {
            listen: self.sim_listen.unwrap_or(defaults.listen),
            seed: self.seed,
            orders: self.orders,
            orders_per_minute: self.orders_per_minute,
            speed: self.speed,
            tenants: self.tenants.clone(),
            faults: Faults::profile(&self.faults)?,
            ..defaults
        })
    }
}

pub async fn run(cfg: crate::config::Config, args: SimulateArgs) -> anyhow::Result<()> {
    let mut sim = Sim::start(args.sim_config()?)
        .await
        .context("starting the simulator")?;
    let connectors = connector_configs(&sim, args.speed)?;
    if args.print_config {
        print!("{}", sim.config_toml());
        return Ok(());
    }
    if let Some(path) = &args.truth {
        sim.write_truth(path)?;
    }
    match &args.engine {
        Some(url) => {
            let keys = vec![(
                args.tenants[0].clone(),
                args.key.clone().unwrap_or_default(),
            )];
            drive(&mut sim, url, &keys, &args).await
        }
        None => {
            let dir = tempfile::tempdir().context("creating a temporary data folder")?;
            let mut cfg = cfg;
            cfg.server.data_dir = dir.path().to_path_buf();
            cfg.server.listen = "127.0.0.1:0".into();
            cfg.connectors = connectors;
            cfg.webhooks = webhook_entries(&sim);
            let mut keys = Vec::new();
            for t in &args.tenants {
                let key = crate::keys::create(dir.path(), t, &[Scope::Read], Some("simulate"))?;
                keys.push((t.clone(), key));
            }
            let running = crate::server::start(&cfg).await?;
            let url = format!("http://{}", running.addr);
            tracing::info!(engine = %url, simulator = %sim.url(), "simulation running");
            let outcome = drive(&mut sim, &url, &keys, &args).await;
            running.shutdown().await?;
            outcome
        }
    }
}

/// Pushes to the engine, follows its change streams, waits for the world's end and, with
/// `--verify`, compares and prints.
async fn drive(
    sim: &mut Sim,
    engine: &str,
    keys: &[(String, String)],
    args: &SimulateArgs,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let watch = verify::Watch::start(engine, keys).await?;
    sim.push_to(engine)?;
    if !args.verify {
        sim.wait_done().await;
        eprintln!("the world has ended; Ctrl-C to stop");
        let _ = tokio::signal::ctrl_c().await;
        return Ok(());
    }
    sim.wait_done().await;
    let report = verify::settle(engine, keys, sim, &watch, args.settle, started).await?;
    println!("{}", serde_json::to_string(&report)?);
    if report.accuracy < 1.0 {
        bail!(
            "orders differ from the truth: {} of {} final states and {} histories match",
            report.final_state_matches,
            report.orders,
            report.history_matches
        );
    }
    Ok(())
}

/// A connector per tenant and partner, with schedules shrunk to the world's speed: a world that
/// lives a simulated day per wall minute is polled as a real one would be, in its own time,
/// but never slower than once a second.
fn connector_configs(sim: &Sim, speed: f64) -> anyhow::Result<Vec<ConnectorConfig>> {
    let scaled = |d: Duration| {
        let s = if speed.is_finite() && speed > 0.0 {
            speed
        } else {
            60.0
        };
        Duration::from_secs_f64(d.as_secs_f64() / s).max(Duration::from_millis(500))
    };
    let real = ScheduleConfig::default();
    let mut out = Vec::new();
    for e in sim.connectors() {
        let source: Source = e.source.parse()?;
        let tenant = TenantId::new(e.tenant.as_str()).context("simulator tenant")?;
        let mut c = ConnectorConfig::new(&e.name, tenant, source, &e.base_url);
        c.credentials.client_id = e.client_id.clone();
        c.credentials.client_secret = e.client_secret.as_deref().map(Secret::new);
        c.credentials.api_key = e.api_key.as_deref().map(Secret::new);
        // Loopback partners take far more than a real API's few requests a second.
        c.rate_per_sec = 2000.0;
        c.burst = 200;
        c.concurrency = 16;
        c.timeout = Duration::from_secs(2);
        c.backoff_base = Duration::from_millis(50);
        c.backoff_cap = Duration::from_secs(2);
        c.breaker_cool_off = Duration::from_secs(2);
        c.schedule = ScheduleConfig {
            fast: Duration::from_secs(1),
            normal: Duration::from_secs(1),
            slow: Duration::from_secs(1),
            fresh_for: scaled(real.fresh_for),
            near_delivery: scaled(real.near_delivery),
            // The world posts scans up to six simulated hours late (`Faults::late_sim_minutes`).
            after_final: scaled(Duration::from_secs(7 * 3600)),
        };
        c.interval = Duration::from_secs(2);
        c.catch_up_interval = Duration::from_millis(500);
        c.webhook_quiet_after = Duration::from_secs(3);
        out.push(c);
    }
    Ok(out)
}

fn webhook_entries(sim: &Sim) -> Vec<crate::intake::WebhookEntry> {
    sim.webhooks()
        .into_iter()
        .map(|(tenant, secret)| crate::intake::WebhookEntry {
            tenant,
            source: "wms".into(),
            scheme: Some("standard-webhooks".into()),
            secrets: vec![secret],
            tolerance_secs: None,
            allow_ips: Vec::new(),
            rate_per_sec: None,
            burst: None,
            max_body_bytes: None,
        })
        .collect()
}
