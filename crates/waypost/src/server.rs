//! Assembles a running Waypost from a config: store, pipeline, HTTP server.

use crate::config::Config;
use anyhow::Context;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use waypost_api::webhooks::Guards;
use waypost_api::{ApiLimits, AppState, MappingLoader, auth::KeyCache};
use waypost_engine::{Clock, Engine, EngineConfig, IntakeHandle};

pub struct Running {
    pub addr: SocketAddr,
    pub intake: IntakeHandle,
    engine: Engine,
    stop: watch::Sender<bool>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    partners: Option<Arc<waypost_connectors::served::Served>>,
    notify: Option<waypost_dispatch::wired::Running>,
    /// What the handlers share: for in-process drivers (the polling bench).
    pub state: waypost_api::AppState,
}

pub async fn start(cfg: &Config) -> anyhow::Result<Running> {
    // Before the store and the pipeline start: a bad certificate should leave nothing running.
    let tls = cfg
        .server
        .tls
        .as_ref()
        .map(waypost_edge::tls::load)
        .transpose()?;
    let data_dir = cfg.data_dir();
    let backend = crate::store::of(cfg);
    let (writer, reader) = backend
        .open()
        .with_context(|| format!("opening the store in {}", data_dir.display()))?;
    let (stop, stopped) = watch::channel(false);
    let clock: Arc<dyn Clock> = cfg.clock.clock(stop.subscribe());
    // The time zone polygons (for carriers' local times) are built beside the engine's start,
    // not on the first request that needs them. Failing to spawn only means first use builds
    // them.
    let _ = std::thread::Builder::new()
        .name("waypost-zones".into())
        .spawn(waypost_adapters::zone::warm);
    let engine = Engine::start(
        writer,
        clock.clone(),
        EngineConfig {
            max_queue_events: cfg.queue.max_events,
            max_waiting_submissions: cfg.queue.max_waiting_requests,
            rules: Arc::new(cfg.rule_set()?),
            notify: waypost_engine::NotifyConfig {
                disabled: !cfg.notify.enabled,
            },
            ..EngineConfig::default()
        },
    )
    .context("starting the pipeline thread")?;
    // Real time for what a person or a partner measures (session expiry, signature windows),
    // whatever the world clock's speed.
    let wall: Arc<dyn waypost_engine::Clock> = Arc::new(crate::clock::SystemClock);
    // Logins write on a connection of their own: the writer thread owns the main one.
    let session_store = backend
        .sessions()
        .with_context(|| format!("opening the session store in {}", data_dir.display()))?;
    let sessions = Arc::new(waypost_api::auth::Sessions::with_login(
        session_store,
        tls.is_some(),
        cfg.auth.login.settings(data_dir)?,
        wall.clone(),
    ));
    // The environment is read here, in the binary, for `env:` secrets.
    let webhooks =
        waypost_intake::settings::webhook_settings(&cfg.webhooks, &|v| std::env::var(v).ok())?;
    let drops = waypost_intake::settings::drops(&cfg.drops)?;
    let loader = mapping_loader(cfg);
    let mappings = loader().map_err(|e| anyhow::anyhow!("mapping tables: {e}"))?;
    let mut limits = ApiLimits::default();
    limits.max_body_bytes = cfg.limits.max_body_bytes;
    limits.input.max_batch = cfg.limits.max_batch;
    limits.max_tenant_body_bytes = cfg.limits.max_tenant_body_bytes;
    // The process's one metrics registry: each crate registers its families into it here, at
    // wiring (the engine's now, the connectors' when they start below); `/metrics` encodes it.
    let mut registry = prometheus_client::registry::Registry::default();
    engine.metrics.register(&mut registry);
    let mapping_set = Arc::new(RwLock::new(Arc::new(mappings)));
    let intake = Arc::new(waypost_intake::Intake::new(
        engine.intake.clone(),
        reader.clone(),
        mapping_set.clone(),
        clock.clone(),
        limits.input,
        engine.metrics.clone(),
    ));
    // Order intake: its own book (its own writer), its events through the same intake.
    let order_settings = cfg.order_settings()?;
    let (book, book_reads) = backend
        .order_book()
        .with_context(|| format!("opening the order book in {}", data_dir.display()))?;
    let desk = waypost_order_intake::OrderDesk::start(
        book,
        book_reads,
        (*intake).clone(),
        clock.clone(),
        &waypost_order_intake::DeskConfig {
            lane_capacity: cfg.orders.lane_capacity,
        },
    )
    .context("starting order intake")?;
    for (tenant, settings) in order_settings {
        desk.configure(tenant, settings);
    }
    desk.register_metrics(&mut registry);
    let order_pollers = start_order_pollers(cfg, &desk, data_dir)?;
    let order_drops = cfg
        .orders
        .drops
        .iter()
        .map(|d| d.check())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!(e))?;
    // Recovery: what a crash left between the order book and the event log is written now.
    {
        let desk = desk.clone();
        tokio::spawn(async move {
            match desk.recover().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    orders = n,
                    "order intake: status histories handed on after a restart"
                ),
                Err(e) => {
                    tracing::error!(error = %e, "order intake recovery failed; it runs again at the next start")
                }
            }
        });
    }
    for d in order_drops {
        tokio::spawn(waypost_order_intake::drops::watch(
            desk.clone(),
            d,
            Arc::new(crate::clock::SystemClock),
            stop.subscribe(),
        ));
    }
    let mut state = AppState {
        engine: engine.intake.clone(),
        orders: Some(desk.clone()),
        order_pollers: order_pollers.clone(),
        intake,
        reader,
        changes: engine.changes.clone(),
        metrics: engine.metrics.clone(),
        ready: engine.ready_flag(),
        clock,
        transport_clock: wall,
        keys: Arc::new(KeyCache::new(Duration::from_secs(30))),
        limits,
        webhooks: Arc::new(webhooks),
        guards: Arc::new(Guards::default()),
        mapping_set,
        mapping_loader: Some(loader),
        mapping_writer: Some(mapping_writer(cfg)),
        partners: None,
        alerts: engine.alerts.clone(),
        rules_loader: cfg.loaded_from.clone().map(rules_loader),
        orders_loader: cfg.loaded_from.clone().map(orders_loader),
        notify_guard: Arc::new(waypost_api::notify_guard::NotifyGuard::new(
            cfg.notify.address_policy()?,
        )),
        brands: Arc::new(brands(&cfg.notify)),
        public_url: cfg.notify.public_url.clone(),
        sessions,
        proxies: Arc::new(cfg.proxy.trusted_proxies()?),
        metrics_access: Arc::new(cfg.metrics.access()?),
        // Set below, once the connectors have registered too; nothing scrapes before that.
        scrape: Arc::default(),
        public_ids: Arc::new(crate::auth_config::public_ids(data_dir)?),
    };
    let notify = cfg
        .notify
        .enabled
        .then(|| -> anyhow::Result<_> {
            let fault = std::env::var("WAYPOST_TEST_FAULT").ok();
            let settings = cfg.notify.settings(fault.as_deref())?;
            Ok(waypost_dispatch::wired::start(
                settings,
                waypost_dispatch::wired::Wiring {
                    reader: state.reader.clone(),
                    intake: engine.intake.clone(),
                    clock: state.clock.clone(),
                    wall: state.transport_clock.clone(),
                    engine_wake: engine.outbox_wake.clone(),
                    partitions: engine.partitions.clone(),
                },
            )?)
        })
        .transpose()
        .context("starting the notification dispatcher")?;
    let addr = cfg.listen_addr()?;
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let addr = listener.local_addr()?;
    let partners = waypost_connectors::served::start(
        &cfg.connectors,
        // The environment is read here, in the binary, and handed to the library.
        &|name| std::env::var(name).ok(),
        waypost_connectors::served::Wiring {
            intake: state.intake.clone(),
            reader: state.reader.clone(),
            changes: state.changes.subscribe(),
            clocks: crate::partners::clocks(state.clock.clone()),
            state_dir: data_dir.join("connectors"),
            stop: stop.subscribe(),
        },
    )
    .context("starting the connectors")?;
    if let Some(p) = &partners {
        waypost_connectors::metrics::register(&mut registry, &p.connectors);
    }
    state.scrape = Arc::new(waypost_api::scrape::Scrape::new(registry));
    if let Some(p) = &partners {
        state.partners = Some(p.clone());
        tokio::spawn(waypost_connectors::served::report_health(
            p.clone(),
            state.engine.clone(),
            state.clock.clone(),
            Duration::from_secs(5),
            stop.subscribe(),
        ));
    }
    for drop in drops {
        tokio::spawn(waypost_intake::drop_folder::watch(
            (*state.intake).clone(),
            drop,
            stop.subscribe(),
        ));
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    let metrics = engine.metrics.clone();
    tokio::spawn(reload_on_hangup(state.clone(), stop.subscribe()));
    let app = waypost_api::router(state.clone());
    // Both listeners, plain and TLS, go through the edge's one accept loop and its limits.
    waypost_edge::raise_fd_limit(cfg.edge.max_connections as u64 * 2 + 256);
    let server = tokio::spawn(waypost_edge::serve(
        listener,
        app,
        tls,
        cfg.edge.limits(),
        metrics,
        stopped,
    ));
    tracing::info!(%addr, scheme, data_dir = %data_dir.display(), "listening");
    Ok(Running {
        addr,
        intake: engine.intake.clone(),
        engine,
        stop,
        server,
        partners,
        notify,
        state,
    })
}

/// Reads the exception rules from the configuration file again (with the environment laid
/// over it, as at start).
fn rules_loader(path: std::path::PathBuf) -> Arc<waypost_api::RulesLoader> {
    Arc::new(move || {
        let flags = crate::config::CommonFlags {
            config: Some(path.clone()),
            data_dir: None,
        };
        Config::load(&flags, None)
            .and_then(|c| c.rule_set())
            .map_err(|e| format!("{e:#}"))
    })
}

/// The sales channels' pollers, each handing its orders to the desk; their cursors live
/// beside the connectors' state.
fn start_order_pollers(
    cfg: &Config,
    desk: &waypost_order_intake::OrderDesk,
    data_dir: &std::path::Path,
) -> anyhow::Result<Option<waypost_connectors::OrderPollers>> {
    if cfg.order_channels.is_empty() {
        return Ok(None);
    }
    let mut channels = cfg.order_channels.clone();
    for c in &mut channels {
        // The environment is read here, in the binary, for `env:` secrets.
        c.resolve_secrets(&|v| std::env::var(v).ok())?;
    }
    waypost_connectors::orders::validate_channels(&channels)?;
    let store = waypost_connectors::FileStateStore::open(data_dir.join("order-channels"))
        .context("opening the order channels' state")?;
    let wall: Arc<dyn Clock> = Arc::new(crate::clock::SystemClock);
    let pollers = waypost_connectors::OrderPollers::start(
        channels,
        Arc::new(desk.clone()),
        Arc::new(store),
        wall,
    )
    .context("starting the order channels' pollers")?;
    Ok(Some(pollers))
}

fn orders_loader(path: std::path::PathBuf) -> Arc<waypost_api::OrdersLoader> {
    Arc::new(move || {
        let flags = crate::config::CommonFlags {
            config: Some(path.clone()),
            data_dir: None,
        };
        Config::load(&flags, None)
            .and_then(|c| c.order_settings())
            .map_err(|e| format!("{e:#}"))
    })
}

/// `kill -HUP`: the operator's way to reload the rules without a restart.
async fn reload_on_hangup(state: AppState, mut stop: watch::Receiver<bool>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP; reload rules with POST /v1/admin/reload");
        return;
    };
    loop {
        tokio::select! {
            _ = hup.recv() => {
                match state.reload_rules().await {
                    Ok(n) => tracing::info!(rules = n, "rules reloaded on SIGHUP"),
                    Err(e) => tracing::error!(error = %e, "rules not reloaded; the old ones stay"),
                }
                match state.reload_orders().await {
                    Ok(n) => tracing::info!(tenants = n, "order settings reloaded on SIGHUP"),
                    Err(e) => tracing::error!(error = %e, "order settings not reloaded; the old ones stay"),
                }
            }
            _ = stop.changed() => return,
        }
    }
}

/// Reads the shipped mapping tables with the tenants' overrides laid over them; run at start
/// and again whenever an operator remaps, so a new override needs no restart.
fn mapping_loader(cfg: &Config) -> Arc<MappingLoader> {
    let dir = cfg.mappings_dir();
    let settings = cfg.mappings.clone();
    Arc::new(move || crate::mappings::load_with(&dir, &settings).map_err(|e| format!("{e:#}")))
}

/// Writes accepted mappings into the tenants' override files, in the directory the loader
/// reads.
fn mapping_writer(cfg: &Config) -> Arc<waypost_api::MappingWriter> {
    let dir = cfg.mappings_dir();
    Arc::new(move |tenant, source, code, mapping| {
        crate::mappings::write_mapping(&dir, tenant, source, code, mapping)
            .map(|p| p.display().to_string())
            .map_err(|e| format!("{e:#}"))
    })
}

impl Running {
    /// Stops accepting connections, lets requests in flight finish, applies everything accepted.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let Running {
            engine,
            stop,
            server,
            intake,
            partners,
            notify,
            state,
            ..
        } = self;
        let _ = stop.send(true);
        // Polls stop first: what they would fetch next is still at the partner.
        if let Some(p) = partners {
            p.connectors.shutdown().await;
        }
        // Long-lived SSE connections would hold graceful shutdown forever; give it a bound.
        match tokio::time::timeout(Duration::from_secs(10), server).await {
            Ok(res) => res.context("server task")?.context("http server")?,
            Err(_) => tracing::warn!("connections still open after 10 s; closing"),
        }
        // Sends in flight finish and their marks are written before the writer stops.
        if let Some(n) = notify {
            n.shutdown().await;
        }
        // The pipeline stops once every intake handle is gone.
        drop((intake, state));
        tokio::task::spawn_blocking(move || engine.shutdown())
            .await
            .context("pipeline shutdown")?;
        Ok(())
    }
}

pub async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Each configured tenant's branding for its customers' tracking page. A tenant name that is
/// not a valid tenant id names no one's orders, so it is left out.
fn brands(
    cfg: &crate::notify::config::NotifyConfig,
) -> std::collections::HashMap<waypost_domain::TenantId, waypost_api::Brand> {
    cfg.tenants
        .iter()
        .filter_map(|(name, t)| {
            let tenant = waypost_domain::TenantId::new(name).ok()?;
            Some((
                tenant,
                waypost_api::Brand {
                    name: t.brand_name.clone(),
                    logo_url: t.brand_logo.clone(),
                    color: t.brand_color.clone(),
                },
            ))
        })
        .collect()
}
