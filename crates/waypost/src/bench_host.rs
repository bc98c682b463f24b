//! The binary's side of `waypost bench` and `waypost simulate` (`waypost_bench`): its
//! configuration, server, key and user tools and wall clock, handed in as a
//! [`waypost_bench::Host`].

use crate::config::Config;
use anyhow::{Context as _, bail};
use futures::future::BoxFuture;
use std::path::Path;
use std::sync::Arc;
use waypost_bench::{Server, Setup};
use waypost_connectors::{ConnectorConfig, Connectors, StateStore};
use waypost_domain::Clock;
use waypost_store::{OnExisting, Role, Scope};

pub struct Host {
    /// What a started server is configured with before the setup's sections: the loaded
    /// configuration for `simulate`, the defaults for `bench`.
    pub base: Config,
}

/// The binary's configuration with `setup` laid over it: a fresh store on a free loopback port,
/// and each named section replaced whole.
fn configure(base: &Config, setup: Setup) -> anyhow::Result<Config> {
    let mut cfg = base.clone();
    cfg.server.data_dir = setup.data_dir;
    cfg.server.listen = "127.0.0.1:0".into();
    if let Some(connectors) = setup.connectors {
        cfg.connectors = connectors;
    }
    for (section, value) in setup.config {
        let what = || format!("the bench's [{section}]");
        match section.as_str() {
            "clock" => cfg.clock = value.try_into().with_context(what)?,
            "notify" => cfg.notify = value.try_into().with_context(what)?,
            "webhooks" => cfg.webhooks = value.try_into().with_context(what)?,
            "rules" => cfg.rules = value.try_into().with_context(what)?,
            "orders" => cfg.orders = value.try_into().with_context(what)?,
            _ => bail!("a bench server's [{section}] cannot be set"),
        }
    }
    Ok(cfg)
}

impl waypost_bench::Host for Host {
    fn clock(&self) -> Arc<dyn Clock> {
        Arc::new(crate::clock::SystemClock)
    }

    fn start(&self, setup: Setup) -> BoxFuture<'_, anyhow::Result<Server>> {
        Box::pin(async move {
            let cfg = configure(&self.base, setup)?;
            let running = crate::server::start(&cfg).await?;
            let (addr, state) = (running.addr, running.state.clone());
            Ok(Server::new(addr, state, move || {
                Box::pin(running.shutdown())
            }))
        })
    }

    fn create_key(
        &self,
        data_dir: &Path,
        tenant: &str,
        scopes: &[Scope],
        label: Option<&str>,
    ) -> anyhow::Result<String> {
        crate::keys::create(data_dir, tenant, scopes, label)
    }

    fn put_user(
        &self,
        data_dir: &Path,
        tenant: &str,
        email: &str,
        role: Role,
        password: &str,
        on_existing: OnExisting,
    ) -> anyhow::Result<()> {
        crate::users::put(data_dir, tenant, email, role, password, on_existing)
    }

    fn connectors(
        &self,
        server: &Server,
        configs: Vec<ConnectorConfig>,
        store: Arc<dyn StateStore>,
    ) -> anyhow::Result<Connectors> {
        let sink = Arc::new(crate::partners::IntakeSink {
            intake: server.state.intake.clone(),
        });
        let clocks = crate::partners::clocks(server.state.clock.clone());
        Ok(Connectors::start(configs, sink, store, clocks)?)
    }

    fn dead_letters<'a>(
        &'a self,
        http: &'a reqwest::Client,
        base: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<Vec<serde_json::Value>>> {
        Box::pin(crate::client::dead_letters(http, base, key, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(toml_text: &str) -> toml::Table {
        toml::from_str(toml_text).expect("TOML")
    }

    #[test]
    fn sections_replace_the_configured_ones_whole() {
        let mut base = Config::default();
        base.notify.concurrency = 3;
        let setup = Setup {
            data_dir: "/tmp/bench".into(),
            config: section(
                "[clock]\nspeed = 1440.0\norigin = \"2026-01-01T00:00:00Z\"\n\
                 [notify]\nallow_networks = [\"127.0.0.0/8\"]\n\
                 [[webhooks]]\ntenant = \"acme\"\nsource = \"wms\"\nscheme = \"standard-webhooks\"\nsecrets = [\"s\"]\n\
                 [[rules]]\nname = \"r\"\n\
                 [orders.tenants.shops]\naccounts = \"/tmp/bench/a.toml\"\n",
            ),
            connectors: None,
        };
        let cfg = configure(&base, setup).expect("a config");
        assert_eq!(cfg.server.listen, "127.0.0.1:0");
        assert_eq!(cfg.server.data_dir, Path::new("/tmp/bench"));
        assert_eq!(cfg.clock.speed, 1440.0);
        assert_eq!(
            cfg.clock.origin.map(|o| o.to_string()).as_deref(),
            Some("2026-01-01T00:00:00Z")
        );
        assert_eq!(cfg.notify.allow_networks, ["127.0.0.0/8"]);
        assert_eq!(
            cfg.notify.concurrency, 64,
            "the section is replaced, not merged"
        );
        assert_eq!(cfg.webhooks.len(), 1);
        assert_eq!(cfg.webhooks[0].scheme.as_deref(), Some("standard-webhooks"));
        assert_eq!(cfg.rules.len(), 1);
        assert_eq!(
            cfg.orders.tenants["shops"].accounts.as_deref(),
            Some(Path::new("/tmp/bench/a.toml"))
        );
        let unknown = Setup {
            config: section("[server]\nlisten = \"0.0.0.0:80\"\n"),
            ..Setup::default()
        };
        assert!(configure(&base, unknown).is_err());
    }
}
