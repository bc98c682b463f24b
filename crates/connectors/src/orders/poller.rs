//! One order channel's task: every `interval`, reads the orders changed since the saved
//! cursor (minus `overlap`), page after page, hands each to the [`OrderSink`], and saves the
//! cursor (the latest `updated_at` seen) only after every order of the page was accepted.
//! A busy sink stops the pass and the window is read again later: nothing is skipped, and a
//! puller slows down while intake is full.

use super::client::ChannelClient;
use super::config::{Endpoint, PolledChannel};
use super::sink::{OrderSink, OrderSinkError};
use super::wire::{self, Ask, PageError};
use crate::client::CallError;
use crate::state_store::StateStore;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use waypost_order_intake::Submission;
use waypost_orders::ChannelOrder;
use waypost_orders::channels::{amazon, bigcommerce};

/// The state key under which an order channel keeps its cursor.
pub const STATE_KEY: &str = "orders";

/// Where an order channel is: orders updated before `updated_since` are all stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCursor {
    pub updated_since: Option<Timestamp>,
}

/// Counters beyond the client's, for health.
#[derive(Debug, Default)]
pub(crate) struct OrderCounters {
    pub passes: AtomicU64,
    pub pages: AtomicU64,
    pub orders: AtomicU64,
    pub new_versions: AtomicU64,
    pub duplicates: AtomicU64,
    pub rejected: AtomicU64,
    pub unreadable: AtomicU64,
    pub sink_busy: AtomicU64,
    pub state_errors: AtomicU64,
}

/// What one channel's task shares with the handle.
pub(crate) struct Poller {
    pub client: ChannelClient,
    pub store: Arc<dyn StateStore>,
    pub counters: OrderCounters,
    /// A std mutex: read and replaced whole, never held across an await.
    pub cursor: Mutex<OrderCursor>,
    pub last_error: Mutex<Option<String>>,
    /// Serializes passes with webhook-driven fetches (BigCommerce): a tokio mutex, held across
    /// a pass on purpose.
    pub busy: tokio::sync::Mutex<()>,
}

/// How a pass ended.
pub(crate) enum Pass {
    /// Read to the end of the window.
    Done,
    /// The sink is full: wait this long.
    Busy(Duration),
    Failed(String),
}

impl Poller {
    fn cursor(&self) -> OrderCursor {
        self.cursor
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn note_error(&self, e: impl Into<String>) {
        let e = e.into();
        tracing::warn!(channel = %self.client.cfg.name, error = %e, "order poll failed");
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
    }

    async fn save(&self, cursor: OrderCursor) {
        *self.cursor.lock().unwrap_or_else(|p| p.into_inner()) = cursor.clone();
        let name = self.client.cfg.name.clone();
        let Ok(value) = serde_json::to_string(&cursor) else {
            return;
        };
        let store = self.store.clone();
        let res = tokio::task::spawn_blocking(move || store.save(&name, STATE_KEY, &value)).await;
        let failed = match res {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(e) => Some(e.to_string()),
        };
        if let Some(error) = failed {
            // Keep going from memory: after a crash the pass re-reads from the last saved
            // cursor and the desk stores the repeats once.
            self.counters.state_errors.fetch_add(1, Relaxed);
            tracing::error!(channel = %self.client.cfg.name, %error, "cannot save order cursor");
        }
    }

    /// Hands `orders` to the sink, in order. `Err` stops the pass (the page is not done).
    async fn submit_all<S: OrderSink>(
        &self,
        sink: &S,
        orders: Vec<ChannelOrder>,
    ) -> Result<(), Pass> {
        let cfg = &self.client.cfg;
        for placed in orders {
            let sub = Submission {
                channel: cfg.channel.channel(),
                placed,
                account: cfg.account.clone(),
                delivery: None,
            };
            self.counters.orders.fetch_add(1, Relaxed);
            match sink.submit(&cfg.tenant, sub).await {
                Ok(s) if s.duplicate => {
                    self.counters.duplicates.fetch_add(1, Relaxed);
                }
                Ok(_) => {
                    self.counters.new_versions.fetch_add(1, Relaxed);
                }
                Err(OrderSinkError::Rejected { reason }) => {
                    self.counters.rejected.fetch_add(1, Relaxed);
                    tracing::warn!(channel = %cfg.name, %reason, "order rejected");
                }
                Err(OrderSinkError::Busy { retry_after }) => {
                    self.counters.sink_busy.fetch_add(1, Relaxed);
                    return Err(Pass::Busy(retry_after));
                }
                Err(OrderSinkError::Unavailable { reason }) => {
                    return Err(Pass::Failed(format!("intake unavailable: {reason}")));
                }
            }
        }
        Ok(())
    }

    /// One pass over the window: every page, each order submitted, the cursor saved as
    /// pages complete.
    pub async fn pass<S: OrderSink>(&self, sink: &S) -> Pass {
        let _one = self.busy.lock().await;
        self.counters.passes.fetch_add(1, Relaxed);
        let client = &self.client;
        let cfg = &client.cfg;
        let start = self.cursor().updated_since;
        let mut since = match start {
            Some(t) => t
                .checked_sub(jiff::SignedDuration::try_from(cfg.overlap).unwrap_or_default())
                .unwrap_or(t),
            None => {
                let back = jiff::SignedDuration::try_from(cfg.initial_lookback).unwrap_or_default();
                let now = client.wall.now();
                now.checked_sub(back).unwrap_or(now)
            }
        };
        // Every channel but Amazon lists in `updated_at` order, so a page accepted is a
        // prefix of the window: its latest `updated_at` can be saved at once. Amazon's order
        // is unspecified: its cursor moves only at the end of the pass.
        let sorted = cfg.channel != PolledChannel::Amazon;
        let mut watermark = start;
        let mut ask = Ask::First;
        loop {
            let answer = client
                .send(Endpoint::Orders, |tok| {
                    wire::list_request(client.http(), cfg, since, &ask, tok)
                })
                .await;
            let reply = match answer {
                Ok(r) => r,
                Err(e) => return Pass::Failed(describe(&e)),
            };
            let page = match wire::read_page(cfg, &ask, &reply.headers, &reply.body) {
                Ok(p) => p,
                Err(PageError::Throttled) => {
                    client.counters.throttled.fetch_add(1, Relaxed);
                    return Pass::Failed("throttled by the channel".into());
                }
                Err(PageError::Read(e)) => {
                    self.counters.unreadable.fetch_add(1, Relaxed);
                    return Pass::Failed(format!("page unreadable: {e}"));
                }
            };
            self.counters.pages.fetch_add(1, Relaxed);
            let mut orders = page.orders;
            match cfg.channel {
                PolledChannel::Amazon => {
                    let mut full = Vec::with_capacity(orders.len());
                    for o in orders {
                        match self.amazon_items(o).await {
                            Ok(o) => full.push(o),
                            Err(p) => return p,
                        }
                    }
                    orders = full;
                }
                PolledChannel::Bigcommerce => {
                    for raw in &page.raw {
                        let Some(id) = raw.get("id").and_then(serde_json::Value::as_u64) else {
                            self.counters.unreadable.fetch_add(1, Relaxed);
                            continue;
                        };
                        match self.bigcommerce_order(id, Some(raw)).await {
                            Ok(mut os) => orders.append(&mut os),
                            Err(p) => return p,
                        }
                    }
                }
                _ => {}
            }
            let newest = orders.iter().filter_map(|o| o.updated_at).max();
            if let Err(p) = self.submit_all(sink, orders).await {
                return p;
            }
            watermark = watermark.max(newest);
            if sorted && watermark != self.cursor().updated_since {
                self.save(OrderCursor {
                    updated_since: watermark,
                })
                .await;
            }
            // Page numbers are offsets into a list that moves while we read it: an order
            // edited mid-pass jumps to the end and shifts the rest one place towards pages
            // already read, where the next page number would miss one. So the offset-paged
            // channels restart at the first page after the newest update read (less a second:
            // their filters are not all inclusive), and use page numbers only while a page
            // holds nothing newer (many orders updated in the same second).
            let advanced = newest.is_some_and(|n| n > since + jiff::SignedDuration::from_secs(1));
            if page.next.is_some()
                && cfg.channel.offset_paged()
                && advanced
                && let Some(w) = watermark
            {
                since = w - jiff::SignedDuration::from_secs(1);
                ask = Ask::First;
                continue;
            }
            match page.next {
                Some(n) if Ask::Next(n.clone()) != ask => ask = Ask::Next(n),
                _ => {
                    if !sorted {
                        // Amazon's `LastUpdatedBefore`: everything before it was listed.
                        let end = page.complete_to.max(watermark);
                        if end.is_some() && end != self.cursor().updated_since {
                            self.save(OrderCursor { updated_since: end }).await;
                        }
                    }
                    return Pass::Done;
                }
            }
        }
    }

    /// Appends every `getOrderItems` page to an Amazon order.
    async fn amazon_items(&self, mut order: ChannelOrder) -> Result<ChannelOrder, Pass> {
        let client = &self.client;
        let id = order.external_id.clone();
        let mut next: Option<String> = None;
        // Bounded: an order has at most a few pages of items; a token that never ends
        // is a channel bug, not a reason to loop for ever.
        for _ in 0..100 {
            let reply = client
                .send(Endpoint::OrderItems, |tok| {
                    wire::items_request(client.http(), &client.cfg, &id, next.as_deref(), tok)
                })
                .await
                .map_err(|e| Pass::Failed(describe(&e)))?;
            let (o, n) = amazon::items(order, &reply.body).map_err(|e| {
                self.counters.unreadable.fetch_add(1, Relaxed);
                Pass::Failed(format!("items of {id} unreadable: {e}"))
            })?;
            order = o;
            match n {
                Some(t) => next = Some(t),
                None => return Ok(order),
            }
        }
        Err(Pass::Failed(format!("items of {id}: too many pages")))
    }

    /// Reads one BigCommerce order from its three V2 resources (the order body already in
    /// hand when listed).
    pub async fn bigcommerce_order(
        &self,
        id: u64,
        listed: Option<&serde_json::Value>,
    ) -> Result<Vec<ChannelOrder>, Pass> {
        let client = &self.client;
        let get = |part: Option<&'static str>| async move {
            client
                .send(Endpoint::OrderItems, |_| {
                    wire::bigcommerce_request(client.http(), &client.cfg, id, part)
                })
                .await
                .map(|r| r.body)
                .map_err(|e| Pass::Failed(describe(&e)))
        };
        let order = match listed {
            Some(v) => bytes::Bytes::from(serde_json::to_vec(v).unwrap_or_default()),
            None => get(None).await?,
        };
        let products = get(Some("products")).await?;
        let addresses = get(Some("shipping_addresses")).await?;
        let reference = client.cfg.reference();
        bigcommerce::read(&order, &products, &addresses, reference.as_deref()).map_err(|e| {
            self.counters.unreadable.fetch_add(1, Relaxed);
            Pass::Failed(format!("order {id} unreadable: {e}"))
        })
    }

    /// A BigCommerce webhook named order `id`: fetch it whole and submit it.
    pub async fn fetch_and_submit<S: OrderSink>(&self, sink: &S, id: u64) -> Pass {
        match self.bigcommerce_order(id, None).await {
            Ok(orders) => match self.submit_all(sink, orders).await {
                Ok(()) => Pass::Done,
                Err(p) => p,
            },
            Err(p) => p,
        }
    }
}

fn describe(e: &CallError) -> String {
    e.to_string()
}

/// The task: a pass, then a wait, until shutdown.
pub(crate) async fn run<S: OrderSink>(
    poller: Arc<Poller>,
    sink: Arc<S>,
    mut shutdown: watch::Receiver<bool>,
) {
    let cfg = &poller.client.cfg;
    let mut failures: u32 = 0;
    let mut busy: u32 = 0;
    loop {
        if *shutdown.borrow() {
            break;
        }
        // A pass cut short by shutdown saved only the pages it finished.
        let pass = tokio::select! {
            _ = shutdown.changed() => return,
            p = poller.pass(&*sink) => p,
        };
        let wait = match pass {
            Pass::Done => {
                failures = 0;
                busy = 0;
                *poller.last_error.lock().unwrap_or_else(|p| p.into_inner()) = None;
                cfg.interval
            }
            Pass::Busy(d) => {
                // Each busy answer in a row doubles the wait (up to the interval): intake
                // under a spike sees pullers back off instead of hammer it.
                busy = busy.saturating_add(1);
                let factor = 1u32 << busy.min(6).saturating_sub(1);
                d.saturating_mul(factor).min(cfg.interval.max(d))
            }
            Pass::Failed(e) => {
                poller.note_error(e);
                let d = poller.client.backoff_delay(failures);
                failures = failures.saturating_add(1);
                d
            }
        };
        tokio::select! {
            _ = shutdown.changed() => return,
            () = tokio::time::sleep(wait) => {}
        }
    }
}
