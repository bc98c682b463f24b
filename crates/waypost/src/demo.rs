//! `waypost demo`: the server plus the demo world feeding it through the same intake as any
//! source, so what a newcomer sees is exactly what real traffic would produce.

use crate::config::Config;
use crate::server;
use anyhow::Context;
use std::time::Duration;
use waypost_demo::{DemoConfig, World};
use waypost_domain::{TenantId, parse_events};
use waypost_engine::IntakeError;
use waypost_store::Scope;

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Address to serve on.
    #[arg(long)]
    pub listen: Option<String>,
    /// Seed of the world; the default is new each run, so a kept data dir keeps growing.
    #[arg(long)]
    pub seed: Option<u64>,
    #[arg(long, default_value_t = 120.0)]
    pub orders_per_minute: f64,
    /// Simulated seconds per wall-clock second.
    #[arg(long, default_value_t = 60.0)]
    pub speed: f64,
    /// Stop creating orders after this many.
    #[arg(long)]
    pub max_orders: Option<usize>,
    /// Start the world this many minutes in the past, so the first look already shows orders
    /// at every stage (in transit, delivered, delayed, stuck) instead of an empty warehouse.
    #[arg(long, default_value_t = 20)]
    pub warm_up_minutes: u32,
    /// Password of the demo operator (ops@demo.example); a random one when not given. The
    /// user is reset to it on every start.
    #[arg(long, env = "WAYPOST_DEMO_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
}

pub const DEMO_TENANT: &str = "demo";
/// The dashboard login `waypost demo` creates (or resets) on every start.
pub const DEMO_EMAIL: &str = "ops@demo.example";

/// 20 random letters and digits (about 119 bits).
fn random_password() -> String {
    use rand::Rng;
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(20)
        .map(char::from)
        .collect()
}

pub async fn run(cfg: Config, args: DemoArgs) -> anyhow::Result<()> {
    let key = crate::keys::create(
        cfg.data_dir(),
        DEMO_TENANT,
        &[Scope::Ingest, Scope::Read, Scope::Admin],
        Some("demo"),
    )
    .context("creating the demo key")?;
    let password = args.password.clone().unwrap_or_else(random_password);
    crate::users::put(
        cfg.data_dir(),
        DEMO_TENANT,
        DEMO_EMAIL,
        waypost_store::Role::Operator,
        &password,
        waypost_store::OnExisting::Reset,
    )
    .context("creating the demo operator")?;
    let running = server::start(&cfg).await?;
    let seed = args
        .seed
        .unwrap_or_else(|| jiff::Timestamp::now().as_second() as u64);
    eprintln!();
    eprintln!("  Waypost demo is serving on http://{}", running.addr);
    eprintln!(
        "  Dashboard: http://{}/  (tenant {DEMO_TENANT}, {DEMO_EMAIL}, password {password})",
        running.addr
    );
    eprintln!("  Demo tenant key: {key}");
    eprintln!(
        "  Try: curl -H 'Authorization: Bearer {key}' http://{}/v1/orders?limit=5",
        running.addr
    );
    eprintln!(
        "       curl -N -H 'Authorization: Bearer {key}' http://{}/v1/stream",
        running.addr
    );
    eprintln!();
    println!("{key}");
    let world = World::new(
        DemoConfig {
            seed,
            orders_per_minute: args.orders_per_minute,
            max_orders: args.max_orders,
            speed: args.speed,
        },
        jiff::Timestamp::now() - jiff::SignedDuration::from_mins(i64::from(args.warm_up_minutes)),
    );
    let intake = running.intake.clone();
    let feeder = tokio::spawn(feed(world, intake));
    server::wait_for_signal().await;
    feeder.abort();
    running.shutdown().await
}

async fn feed(mut world: World, intake: waypost_engine::IntakeHandle) {
    let tenant = match TenantId::new(DEMO_TENANT) {
        Ok(t) => t,
        Err(_) => return,
    };
    let limits = waypost_domain::InputLimits::default();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tick.tick().await;
        let now = jiff::Timestamp::now();
        let due = world.poll(now);
        for chunk in due.chunks(500) {
            let value = serde_json::Value::Array(chunk.to_vec());
            let events = match parse_events(&value, now, &limits) {
                Ok(e) => e,
                Err(errors) => {
                    // The world only emits valid events; if not, say so and carry on.
                    tracing::warn!(first = ?errors.first(), "demo world emitted an invalid event");
                    continue;
                }
            };
            loop {
                match intake.submit(tenant.clone(), events.clone(), now).await {
                    Ok(_) => break,
                    Err(IntakeError::Busy { .. }) => {
                        tokio::time::sleep(Duration::from_millis(200)).await
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "demo feed stopped");
                        return;
                    }
                }
            }
        }
    }
}
