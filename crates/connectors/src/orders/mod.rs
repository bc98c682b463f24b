//! Order polling: the sales channels' order APIs (Shopify GraphQL, WooCommerce REST,
//! Magento REST, Amazon SP-API Orders, BigCommerce V2) read through the same runtime as the
//! carriers and the WMS feed (token buckets, retries, breaker, health, saved cursors), each
//! order handed to an [`OrderSink`] (the order desk).
//!
//! **Invariant:** a channel's cursor (the latest `updated_at` stored) is saved only after the
//! sink accepted every order of the page it ends, so a restart resumes at or before the first
//! order not yet stored; each pass starts `overlap` before the cursor, and the desk stores a
//! repeated version once.

mod client;
pub mod config;
mod poller;
pub mod sink;
mod wire;

pub use config::{
    ChannelCredentials, Endpoint, Limit, OrderChannelConfig, OrderConfigError, PolledChannel,
    default_limit, validate_channels,
};
pub use poller::{OrderCursor, STATE_KEY};
pub use sink::{OrderSink, OrderSinkError, Submitted};

use crate::client::now;
use crate::policy::breaker::BreakerState;
use crate::policy::health::{HealthState, WindowStats};
use crate::state_store::{StateError, StateStore};
use client::ChannelClient;
use poller::{OrderCounters, Pass, Poller};
use serde::Serialize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use waypost_domain::{Clock, TenantId};
use waypost_orders::channels::bigcommerce::Notice;

#[derive(Debug, thiserror::Error)]
pub enum OrderStartError {
    #[error(transparent)]
    Config(#[from] OrderConfigError),
    #[error("order_channels[{channel}]: cannot load its saved cursor: {source}")]
    State {
        channel: String,
        #[source]
        source: StateError,
    },
    #[error("order_channels[{channel}]: saved cursor is unreadable: {message}")]
    Cursor { channel: String, message: String },
    #[error("order channels must be started inside a tokio runtime")]
    NoRuntime,
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
}

/// Why a BigCommerce notice was not taken in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoticeError {
    /// No BigCommerce channel of the tenant serves the notice's store.
    #[error("no bigcommerce order channel of this tenant serves stores/{store}")]
    UnknownStore { store: String },
    /// Intake is full: answer 429 (BigCommerce retries the hook).
    #[error("order intake busy, retry after {} s", retry_after.as_secs())]
    Busy { retry_after: std::time::Duration },
    /// Fetching or reading the order failed: answer 5xx so BigCommerce retries.
    #[error("fetching the order failed: {0}")]
    Failed(String),
}

/// The running order pollers. Cheap to clone.
#[derive(Clone)]
pub struct OrderPollers {
    inner: Arc<Inner>,
}

struct Inner {
    pollers: Vec<Arc<Poller>>,
    shutdown: watch::Sender<bool>,
    /// Taken by `shutdown`. A std mutex: pushed to at start and taken once.
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl OrderPollers {
    /// Validates `configs` (resolve their secrets first), loads each saved cursor from
    /// `store` (blocking: call at start-up), and spawns one task per channel. `wall` is the
    /// calendar clock (the first window, `Retry-After` dates, health).
    pub fn start<S: OrderSink>(
        configs: Vec<OrderChannelConfig>,
        sink: Arc<S>,
        store: Arc<dyn StateStore>,
        wall: Arc<dyn Clock>,
    ) -> Result<Self, OrderStartError> {
        validate_channels(&configs)?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(OrderStartError::NoRuntime);
        }
        let http =
            crate::runtime::http_client().map_err(|e| OrderStartError::Http(e.to_string()))?;
        let (shutdown, rx) = watch::channel(false);
        let mut pollers = Vec::new();
        let mut tasks = Vec::new();
        for cfg in configs {
            let name = cfg.name.clone();
            let saved = store
                .load(&name, STATE_KEY)
                .map_err(|source| OrderStartError::State {
                    channel: name.clone(),
                    source,
                })?;
            let cursor = match saved {
                None => OrderCursor::default(),
                Some(t) => serde_json::from_str(&t).map_err(|e| OrderStartError::Cursor {
                    channel: name.clone(),
                    message: e.to_string(),
                })?,
            };
            let p = Arc::new(Poller {
                client: ChannelClient::new(cfg, http.clone(), wall.clone()),
                store: store.clone(),
                counters: OrderCounters::default(),
                cursor: Mutex::new(cursor),
                last_error: Mutex::new(None),
                busy: tokio::sync::Mutex::new(()),
            });
            tasks.push(tokio::spawn(poller::run(
                p.clone(),
                sink.clone(),
                rx.clone(),
            )));
            tracing::info!(channel = %name, "order channel started");
            pollers.push(p);
        }
        Ok(Self {
            inner: Arc::new(Inner {
                pollers,
                shutdown,
                tasks: Mutex::new(tasks),
            }),
        })
    }

    /// A BigCommerce `store/order/*` webhook for `tenant` (read with
    /// `waypost_orders::channels::bigcommerce::notice`): fetches the order, its products and
    /// its shipping addresses through the store's channel (its limits and token) and submits
    /// it to `sink`. The HTTP layer answers 2xx on `Ok`, 429 on `Busy`, 5xx otherwise.
    pub async fn bigcommerce_notice<S: OrderSink>(
        &self,
        sink: &S,
        tenant: &TenantId,
        notice: &Notice,
    ) -> Result<(), NoticeError> {
        let want = format!("stores/{}", notice.store);
        let Some(p) = self.inner.pollers.iter().find(|p| {
            let c = &p.client.cfg;
            c.tenant == *tenant
                && c.channel == PolledChannel::Bigcommerce
                && c.reference().as_deref() == Some(want.as_str())
        }) else {
            return Err(NoticeError::UnknownStore {
                store: notice.store.clone(),
            });
        };
        match p.fetch_and_submit(sink, notice.order_id).await {
            Pass::Done => Ok(()),
            Pass::Busy(retry_after) => Err(NoticeError::Busy { retry_after }),
            Pass::Failed(e) => Err(NoticeError::Failed(e)),
        }
    }

    /// Every channel's health, in configuration order.
    pub fn snapshot(&self) -> Vec<OrderChannelHealth> {
        self.inner.pollers.iter().map(|p| health(p)).collect()
    }

    /// Stops every task and waits for them. A pass cut short saved only its finished pages.
    pub async fn shutdown(&self) {
        let _ = self.inner.shutdown.send(true);
        let tasks =
            std::mem::take(&mut *self.inner.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        for t in tasks {
            let _ = t.await;
        }
    }
}

/// One order channel's health, for `GET /v1/sources` and `/metrics`.
#[derive(Debug, Clone, Serialize)]
pub struct OrderChannelHealth {
    pub name: String,
    pub tenant: String,
    pub channel: &'static str,
    pub state: HealthState,
    pub last_success: Option<jiff::Timestamp>,
    /// Orders updated before this instant are stored.
    pub cursor: Option<jiff::Timestamp>,
    pub last_error: Option<String>,
    pub last_5m: WindowStats,
    pub last_60m: WindowStats,
    pub passes: u64,
    pub pages: u64,
    /// Orders handed to the sink, and what became of them.
    pub orders: u64,
    pub new_versions: u64,
    pub duplicates: u64,
    pub rejected: u64,
    /// Pages or orders the readers refused (the pass stops and is retried).
    pub unreadable: u64,
    pub sink_busy: u64,
    pub requests: u64,
    pub retries: u64,
    pub rate_limited_waits: u64,
    pub throttled: u64,
    pub timeouts: u64,
    pub tokens_refreshed: u64,
    pub state_errors: u64,
    pub breaker: BreakerState,
}

fn health(p: &Poller) -> OrderChannelHealth {
    let t = now();
    let cfg = &p.client.cfg;
    let k = &p.client.counters;
    let c = &p.counters;
    let pol = p.client.lock();
    let breaker = pol.breaker.state(t);
    OrderChannelHealth {
        name: cfg.name.clone(),
        tenant: cfg.tenant.to_string(),
        channel: cfg.channel.as_str(),
        state: pol.health.state(t, breaker),
        last_success: pol.last_success,
        cursor: p
            .cursor
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .updated_since,
        last_error: p
            .last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone(),
        last_5m: pol.health.stats(t, 5),
        last_60m: pol.health.stats(t, 60),
        passes: c.passes.load(Relaxed),
        pages: c.pages.load(Relaxed),
        orders: c.orders.load(Relaxed),
        new_versions: c.new_versions.load(Relaxed),
        duplicates: c.duplicates.load(Relaxed),
        rejected: c.rejected.load(Relaxed),
        unreadable: c.unreadable.load(Relaxed),
        sink_busy: c.sink_busy.load(Relaxed),
        requests: k.requests.load(Relaxed),
        retries: k.retries.load(Relaxed),
        rate_limited_waits: k.rate_limited_waits.load(Relaxed),
        throttled: k.throttled.load(Relaxed),
        timeouts: k.timeouts.load(Relaxed),
        tokens_refreshed: k.tokens_refreshed.load(Relaxed),
        state_errors: c.state_errors.load(Relaxed) + k.state_errors.load(Relaxed),
        breaker,
    }
}
