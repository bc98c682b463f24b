//! `waypost simulate`: the partner simulator (`waypost-sim`) on loopback, and an engine on a
//! temporary embedded store (or a running one, `--engine`) connected to it the way a user
//! connects real partners: signed WMS webhooks plus polling connectors for every carrier and
//! the WMS feed. With `--verify` it runs the world to its end, compares every order with the
//! ground truth, and prints the headline figures as one JSON object on the last line.
//! Beside the world, orders enter through the sales channels under a tenant of their own
//! (`--intake-orders`, [`intake`]), with planted bad ones judged against their truth.

mod exceptions;
mod intake;
mod notifications;
mod verify;

use crate::{Host, Setup};
use anyhow::{Context, bail};
use std::time::Duration;
use waypost_adapters::Source;
use waypost_connectors::{ConnectorConfig, ScheduleConfig, Secret};
use waypost_domain::TenantId;
use waypost_sim::{ConnectorEntry, Faults, Outage, Sim, SimConfig};
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
    #[command(flatten)]
    pub knobs: FaultKnobs,
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
    /// Transient errors of the notification receivers (portal, SMTP, SMS gateway).
    #[arg(long, default_value_t = 0.10)]
    pub notify_error_rate: f64,
    /// The portal's outage, `START+DURATION` in simulated minutes (`none` for none).
    #[arg(long, default_value = "60+30")]
    pub notify_outage: String,
    /// Orders sent through the sales channels (API, Shopify and WooCommerce webhooks, X12)
    /// beside the world, under a tenant of their own, with planted bad ones; 0 for none.
    /// Only with an engine this command starts (it configures the tenant's order settings).
    #[arg(long, default_value_t = 60)]
    pub intake_orders: usize,
    /// How long to wait, after the world's last event, for every order to match the truth.
    #[arg(long, default_value = "120s", value_parser = parse_secs)]
    pub settle: Duration,
}

/// Single faults laid over the `--faults` profile (rates are per request, or per event for
/// duplicates and late events).
#[derive(Debug, Default, clap::Args)]
pub struct FaultKnobs {
    /// Partner answers 500/502/503.
    #[arg(long)]
    pub error_rate: Option<f64>,
    /// Partner requests that hang past the client's timeout.
    #[arg(long)]
    pub timeout_rate: Option<f64>,
    /// Partner answers 429 with `Retry-After`.
    #[arg(long)]
    pub rate_limit_rate: Option<f64>,
    /// Seconds in those `Retry-After` headers.
    #[arg(long)]
    pub retry_after: Option<u64>,
    /// Right answers that come slowly.
    #[arg(long)]
    pub slow_rate: Option<f64>,
    /// 200s with a body cut short.
    #[arg(long)]
    pub truncated_rate: Option<f64>,
    /// 200s with a body of the wrong shape.
    #[arg(long)]
    pub malformed_rate: Option<f64>,
    /// Events served or pushed twice.
    #[arg(long)]
    pub duplicate_rate: Option<f64>,
    /// Events that become visible hours after they happened (out of order).
    #[arg(long)]
    pub late_rate: Option<f64>,
    /// A webhook outage, `START+DURATION` in simulated minutes from the world's start
    /// (`60+360`: a 6-hour outage after the first hour); repeatable. Replaces the profile's.
    #[arg(long, value_parser = parse_outage)]
    pub outage: Vec<Outage>,
    /// Webhook deliveries sent malformed on purpose (dead letters by design).
    #[arg(long)]
    pub planted_malformed: Option<u32>,
}

fn parse_outage(s: &str) -> Result<Outage, String> {
    let (start, len) = s
        .split_once('+')
        .ok_or_else(|| format!("{s:?} is not START+DURATION in simulated minutes"))?;
    let num = |v: &str| {
        v.trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite() && *n >= 0.0)
            .ok_or_else(|| format!("{v:?} in {s:?} is not a number of minutes"))
    };
    Ok(Outage {
        start_sim_minutes: num(start)?,
        duration_sim_minutes: num(len)?,
    })
}

impl FaultKnobs {
    fn apply(&self, mut f: Faults) -> anyhow::Result<Faults> {
        for (name, v) in [
            ("error-rate", self.error_rate),
            ("timeout-rate", self.timeout_rate),
            ("rate-limit-rate", self.rate_limit_rate),
            ("slow-rate", self.slow_rate),
            ("truncated-rate", self.truncated_rate),
            ("malformed-rate", self.malformed_rate),
            ("duplicate-rate", self.duplicate_rate),
            ("late-rate", self.late_rate),
        ] {
            if let Some(r) = v
                && !(0.0..=1.0).contains(&r)
            {
                bail!("--{name} must be between 0 and 1, got {r}");
            }
        }
        let set = |slot: &mut f64, v: Option<f64>| {
            if let Some(v) = v {
                *slot = v;
            }
        };
        set(&mut f.error_rate, self.error_rate);
        set(&mut f.timeout_rate, self.timeout_rate);
        set(&mut f.rate_limit_rate, self.rate_limit_rate);
        set(&mut f.slow_rate, self.slow_rate);
        set(&mut f.truncated_rate, self.truncated_rate);
        set(&mut f.malformed_rate, self.malformed_rate);
        set(&mut f.duplicate_rate, self.duplicate_rate);
        set(&mut f.late_rate, self.late_rate);
        if let Some(s) = self.retry_after {
            f.retry_after_secs = s;
        }
        if !self.outage.is_empty() {
            f.outages = self.outage.clone();
        }
        if let Some(n) = self.planted_malformed {
            f.planted_malformed = n;
        }
        Ok(f)
    }
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
        if !(0.0..=1.0).contains(&self.notify_error_rate) {
            bail!(
                "--notify-error-rate must be between 0 and 1, got {}",
                self.notify_error_rate
            );
        }
        let outage = match self.notify_outage.as_str() {
            "none" => None,
            o => {
                let o = parse_outage(o).map_err(|e| anyhow::anyhow!("--notify-outage: {e}"))?;
                Some(waypost_sim::ReceiverOutage {
                    start_sim_minutes: o.start_sim_minutes,
                    duration_sim_minutes: o.duration_sim_minutes,
                    channels: vec![waypost_sim::Channel::Webhook],
                })
            }
        };
        // A separately run engine is configured by its operator: the world plays no
        // receivers it could not be pointed at.
        let receivers = self.engine.is_none().then(|| waypost_sim::ReceiversConfig {
            error_rate: self.notify_error_rate,
            outage,
            ..waypost_sim::ReceiversConfig::default()
        });
        Ok(SimConfig {
            receivers,
            listen: self.sim_listen.unwrap_or(defaults.listen),
            seed: self.seed,
            orders: self.orders,
            orders_per_minute: self.orders_per_minute,
            speed: self.speed,
            tenants: self.tenants.clone(),
            faults: self.knobs.apply(Faults::profile(&self.faults)?)?,
            ..defaults
        })
    }
}

/// `waypost simulate`. An engine it starts itself is the binary's configuration with the
/// world's clock, rules, webhooks, connectors and receivers laid over it.
pub async fn run(args: SimulateArgs, host: &dyn Host) -> anyhow::Result<()> {
    let mut sim = Sim::start(args.sim_config()?, host.clock())
        .await
        .context("starting the simulator")?;
    let connectors = connector_configs(&sim)?;
    if args.print_config {
        print!("{}", config_toml(&sim, &connectors));
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
            drive(&mut sim, url, &keys, None, &args, host).await
        }
        None => {
            let dir = tempfile::tempdir().context("creating a temporary data folder")?;
            let mut config = toml::Table::new();
            config.insert("webhooks".into(), webhook_entries(&sim));
            config.insert("clock".into(), follow(&sim));
            config.insert("rules".into(), sim_rules()?);
            if let Some(r) = sim.receivers() {
                config.insert("notify".into(), notifications::config(r)?);
            }
            let intake = match args.intake_orders {
                0 => None,
                n => {
                    let (intake, orders) =
                        intake::Intake::prepare(n, args.seed, &args.tenants, dir.path(), host)?;
                    config.insert("orders".into(), orders);
                    Some(intake)
                }
            };
            let mut keys = Vec::new();
            let mut admin_keys = Vec::new();
            for t in &args.tenants {
                let key = host.create_key(dir.path(), t, &[Scope::Read], Some("simulate"))?;
                keys.push((t.clone(), key));
                let admin =
                    host.create_key(dir.path(), t, &[Scope::Admin], Some("simulate admin"))?;
                admin_keys.push((t.clone(), admin));
            }
            let running = host
                .start(Setup {
                    data_dir: dir.path().to_path_buf(),
                    config,
                    connectors: Some(connectors),
                })
                .await?;
            let url = format!("http://{}", running.addr);
            if sim.receivers().is_some() {
                notifications::register(&url, &admin_keys, &sim)
                    .await
                    .context("registering the world's notification receivers")?;
            }
            tracing::info!(engine = %url, simulator = %sim.url(), "simulation running");
            let outcome = drive(&mut sim, &url, &keys, intake.as_ref(), &args, host).await;
            running.shutdown().await?;
            outcome
        }
    }
}

/// The world's exception rules as `[[rules]]` entries.
fn sim_rules() -> anyhow::Result<toml::Value> {
    let doc: toml::Table = toml::from_str(exceptions::RULES).context("the simulator's rules")?;
    Ok(toml::Value::Array(match doc.get("rules") {
        Some(toml::Value::Array(a)) => a.iter().filter(|v| v.is_table()).cloned().collect(),
        _ => Vec::new(),
    }))
}

/// The engine's `[clock]` for a world: the simulator's, so event times and rule deadlines
/// agree.
pub(crate) fn follow(sim: &Sim) -> toml::Value {
    let c = sim.clock();
    let mut clock = toml::Table::new();
    clock.insert("speed".into(), toml::Value::Float(c.speed));
    clock.insert("origin".into(), toml::Value::String(c.start.to_string()));
    toml::Value::Table(clock)
}

/// Pushes to the engine, follows its change streams, waits for the world's end and, with
/// `--verify`, compares and prints.
async fn drive(
    sim: &mut Sim,
    engine: &str,
    keys: &[(String, String)],
    channel_orders: Option<&intake::Intake>,
    args: &SimulateArgs,
    host: &dyn Host,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let watch = verify::Watch::start(engine, keys, host.clock()).await?;
    sim.push_to(engine)?;
    // The shops' orders go in while the world runs.
    let sent = match channel_orders {
        Some(i) => Some(i.send(engine).await.context("sending the channel orders")?),
        None => None,
    };
    if !args.verify {
        sim.wait_done().await;
        eprintln!("the world has ended; Ctrl-C to stop");
        let _ = tokio::signal::ctrl_c().await;
        return Ok(());
    }
    sim.wait_done().await;
    let mut report = verify::settle(engine, keys, sim, &watch, args.settle, started, host).await?;
    if let (Some(i), Some(sent)) = (channel_orders, &sent) {
        report.intake = Some(i.verify(engine, sent, args.settle).await?);
    }
    println!("{}", serde_json::to_string(&report)?);
    if let Some(i) = &report.intake
        && !i.clean()
    {
        bail!(
            "channel orders differ from the truth: {} held wrongly, {} rejected wrongly, {} bad ones accepted, {} lost, {} unanswered",
            i.intake_held_wrong,
            i.intake_rejected_wrong,
            i.intake_accepted_wrong,
            i.intake_lost,
            i.intake_unanswered
        );
    }
    if let Some(d) = &report.detection
        && (d.exceptions_detected != d.exceptions_planted || d.false_alerts > 0)
    {
        bail!(
            "exceptions differ from the truth: {} of {} planted detected, {} false alerts",
            d.exceptions_detected,
            d.exceptions_planted,
            d.false_alerts
        );
    }
    if let Some(n) = &report.notifications
        && (n.notifications_delivered != n.notifications_expected
            || n.notifications_duplicated > 0
            || n.notifications_unexpected > 0)
    {
        bail!(
            "notifications differ from the state changes: {} of {} delivered, {} duplicated, {} unexpected",
            n.notifications_delivered,
            n.notifications_expected,
            n.notifications_duplicated,
            n.notifications_unexpected
        );
    }
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

/// A connector for one of the simulator's partners, with every default and its credentials.
pub(crate) fn connector_config(e: &ConnectorEntry) -> anyhow::Result<ConnectorConfig> {
    let source: Source = e.source.parse()?;
    let tenant = TenantId::new(e.tenant.as_str()).context("simulator tenant")?;
    let mut c = ConnectorConfig::new(&e.name, tenant, source, &e.base_url);
    c.credentials.client_id = e.client_id.clone();
    c.credentials.client_secret = e.client_secret.as_deref().map(Secret::new);
    c.credentials.api_key = e.api_key.as_deref().map(Secret::new);
    Ok(c)
}

/// A connector per tenant and partner. The engine follows the world's clock, so the schedule's
/// ages (fresh, near delivery, the last look after a final status) are simulated time as in a
/// real deployment; only the polling intervals are real, and short, for a world that lives a
/// simulated day per wall minute.
fn connector_configs(sim: &Sim) -> anyhow::Result<Vec<ConnectorConfig>> {
    let real = ScheduleConfig::default();
    let mut out = Vec::new();
    for e in sim.connectors() {
        let mut c = connector_config(&e)?;
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
            fresh_for: real.fresh_for,
            near_delivery: real.near_delivery,
            // The world posts scans up to six simulated hours late (`Faults::late_sim_minutes`).
            after_final: Duration::from_secs(7 * 3600),
        };
        c.interval = Duration::from_secs(2);
        c.catch_up_interval = Duration::from_millis(500);
        c.webhook_quiet_after = Duration::from_secs(3);
        out.push(c);
    }
    Ok(out)
}

/// The `[clock]`, `[[webhooks]]` and `[[connectors]]` a separately run engine needs for this world, with
/// the schedules [`connector_configs`] chose (the simulator's own snippet has the defaults).
fn config_toml(sim: &Sim, connectors: &[ConnectorConfig]) -> String {
    let q = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
    let ms = |d: Duration| format!("\"{}ms\"", d.as_millis());
    let mut out =
        String::from("# Generated by `waypost simulate --print-config` for this world.\n");
    // The engine follows the world's accelerated clock, read from the simulator (which may
    // start after the engine, or restart), so that event times and rule durations agree.
    out.push_str(&format!(
        "\n[clock]\nfollow = {}\n",
        q(&format!("{}/clock", sim.url()))
    ));
    out.push_str(exceptions::RULES);
    for (tenant, secret) in sim.webhooks() {
        out.push_str(&format!(
            "\n[[webhooks]]\ntenant = {}\nsource = \"wms\"\nscheme = \"standard-webhooks\"\nsecrets = [{}]\n",
            q(&tenant),
            q(&secret)
        ));
    }
    for c in connectors {
        let cred = &c.credentials;
        let mut creds = Vec::new();
        if let Some(id) = &cred.client_id {
            creds.push(format!("client_id = {}", q(id)));
        }
        if let Some(secret) = &cred.client_secret {
            creds.push(format!("client_secret = {}", q(secret.expose())));
        }
        if let Some(key) = &cred.api_key {
            creds.push(format!("api_key = {}", q(key.expose())));
        }
        let sc = &c.schedule;
        out.push_str(&format!(
            "\n[[connectors]]\nname = {}\ntenant = {}\nsource = {}\nbase_url = {}\n\
             credentials = {{ {} }}\nrate_per_sec = {}\nburst = {}\nconcurrency = {}\n\
             timeout = {}\nbackoff_base = {}\nbackoff_cap = {}\nbreaker_cool_off = {}\n\
             interval = {}\ncatch_up_interval = {}\nwebhook_quiet_after = {}\n\
             schedule = {{ fast = {}, normal = {}, slow = {}, fresh_for = {}, near_delivery = {}, after_final = {} }}\n",
            q(&c.name),
            q(c.tenant.as_str()),
            q(c.source.name()),
            q(&c.base_url),
            creds.join(", "),
            c.rate_per_sec,
            c.burst,
            c.concurrency,
            ms(c.timeout),
            ms(c.backoff_base),
            ms(c.backoff_cap),
            ms(c.breaker_cool_off),
            ms(c.interval),
            ms(c.catch_up_interval),
            ms(c.webhook_quiet_after),
            ms(sc.fast),
            ms(sc.normal),
            ms(sc.slow),
            ms(sc.fresh_for),
            ms(sc.near_delivery),
            ms(sc.after_final),
        ));
    }
    out
}

/// The world's `[[webhooks]]`: each tenant's WMS signs its deliveries with its own secret.
fn webhook_entries(sim: &Sim) -> toml::Value {
    toml::Value::Array(
        sim.webhooks()
            .into_iter()
            .map(|(tenant, secret)| {
                let mut w = toml::Table::new();
                w.insert("tenant".into(), tenant.into());
                w.insert("source".into(), "wms".into());
                w.insert("scheme".into(), "standard-webhooks".into());
                w.insert("secrets".into(), toml::Value::Array(vec![secret.into()]));
                toml::Value::Table(w)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knobs_lay_over_the_profile_and_refuse_nonsense() {
        let knobs = FaultKnobs {
            error_rate: Some(0.25),
            outage: vec![parse_outage("60+360").expect("an outage")],
            ..FaultKnobs::default()
        };
        let f = knobs.apply(Faults::chaos()).expect("valid knobs");
        assert_eq!(f.error_rate, 0.25);
        assert_eq!(f.timeout_rate, Faults::chaos().timeout_rate);
        assert_eq!(f.outages.len(), 1);
        assert_eq!(f.outages[0].duration_sim_minutes, 360.0);
        let bad = FaultKnobs {
            late_rate: Some(1.5),
            ..FaultKnobs::default()
        };
        let e = bad.apply(Faults::none()).expect_err("a rate above 1");
        assert!(e.to_string().contains("--late-rate"), "{e}");
        assert!(parse_outage("60").is_err());
        assert!(parse_outage("x+5").is_err());
        assert!(parse_outage("-1+5").is_err());
    }
}
