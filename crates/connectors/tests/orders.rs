//! Order polling end to end: each channel's fake (`waypost_sim::shops`) on loopback, the real
//! order desk on a temporary SQLite store. Orders land once however often they are polled, an
//! edit becomes version 2, a 429 is honoured, a restart resumes from the saved cursor, a busy
//! desk slows the poller without losing anything, and Amazon's token is refreshed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use jiff::Timestamp;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use waypost_adapters::MappingSet;
use waypost_connectors::orders::{Endpoint, Limit, OrderCursor, Submitted};
use waypost_connectors::{
    FileStateStore, OrderChannelConfig, OrderPollers, OrderSink, OrderSinkError, PolledChannel,
    Secret, StateStore,
};
use waypost_domain::{Clock, InputLimits, TenantId};
use waypost_engine::{Engine, EngineConfig};
use waypost_intake::Intake;
use waypost_order_intake::{DeskConfig, OrderDesk, Submission};
use waypost_sim::shops::{Shop, Shops, creds};
use waypost_store::{Backend, Durability};
use waypost_store_sqlite::Sqlite;

struct Wall;
impl Clock for Wall {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

fn wall() -> Arc<dyn Clock> {
    Arc::new(Wall)
}

fn tenant() -> TenantId {
    TenantId::new("acme").unwrap()
}

/// The real desk, recording what it answered and answering `Busy` when scripted.
struct Desk {
    desk: OrderDesk,
    seen: Mutex<Vec<Submitted>>,
    busy: Mutex<VecDeque<()>>,
    /// Run at the first submission (to change the channel in the middle of a pass).
    hook: Mutex<Option<Box<dyn FnOnce() + Send>>>,
    _engine: Engine,
    _dir: tempfile::TempDir,
}

impl OrderSink for Desk {
    async fn submit(
        &self,
        tenant: &TenantId,
        sub: Submission,
    ) -> Result<Submitted, OrderSinkError> {
        if self.busy.lock().unwrap().pop_front().is_some() {
            return Err(OrderSinkError::Busy {
                retry_after: Duration::from_millis(100),
            });
        }
        let hook = self.hook.lock().unwrap().take();
        if let Some(h) = hook {
            h();
        }
        let r = OrderSink::submit(&self.desk, tenant, sub).await;
        if let Ok(s) = &r {
            self.seen.lock().unwrap().push(s.clone());
        }
        r
    }
}

impl Desk {
    fn start() -> Arc<Desk> {
        let dir = tempfile::tempdir().unwrap();
        let backend = Sqlite::new(dir.path(), Durability::Normal);
        let (w, reader) = backend.open().unwrap();
        let clock = wall();
        let engine = Engine::start(w, clock.clone(), EngineConfig::default()).unwrap();
        let mappings = Arc::new(RwLock::new(Arc::new(MappingSet::builtin().unwrap())));
        let intake = Intake::new(
            engine.intake.clone(),
            reader,
            mappings,
            clock.clone(),
            InputLimits::default(),
            engine.metrics.clone(),
        );
        let (book, reads) = backend.order_book().unwrap();
        let desk = OrderDesk::start(book, reads, intake, clock, &DeskConfig::default()).unwrap();
        Arc::new(Desk {
            desk,
            seen: Mutex::new(Vec::new()),
            busy: Mutex::new(VecDeque::new()),
            hook: Mutex::new(None),
            _engine: engine,
            _dir: dir,
        })
    }

    /// The latest version the book holds of each order the poller submitted.
    fn book(&self) -> BTreeMap<String, i64> {
        let ids: Vec<String> = self
            .seen
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.order_id.clone())
            .collect();
        ids.into_iter()
            .map(|id| {
                let row = self.desk.reads().intake_order(&tenant(), &id).unwrap();
                (id, row.map_or(0, |r| r.version))
            })
            .collect()
    }
}

fn config(shop: Shop, base: &str) -> OrderChannelConfig {
    let (channel, path) = match shop {
        Shop::Shopify => (PolledChannel::Shopify, "shopify".to_string()),
        Shop::Woocommerce => (PolledChannel::Woocommerce, "woocommerce".to_string()),
        Shop::Magento => (PolledChannel::Magento, "magento".to_string()),
        Shop::Amazon => (PolledChannel::Amazon, "amazon".to_string()),
        Shop::Bigcommerce => (
            PolledChannel::Bigcommerce,
            format!("bigcommerce/stores/{}", creds::BIGCOMMERCE_STORE),
        ),
    };
    let mut c = OrderChannelConfig::new(
        &format!("{path}-acme").replace('/', "-"),
        tenant(),
        channel,
        &format!("{base}/{path}"),
    );
    let k = &mut c.credentials;
    k.access_token = Some(Secret::new(creds::SHOPIFY_TOKEN));
    k.consumer_key = Some(Secret::new(creds::WOO_KEY));
    k.consumer_secret = Some(Secret::new(creds::WOO_SECRET));
    k.bearer_token = Some(Secret::new(creds::MAGENTO_TOKEN));
    k.auth_token = Some(Secret::new(creds::BIGCOMMERCE_TOKEN));
    k.lwa_client_id = Some(creds::LWA_CLIENT_ID.into());
    k.lwa_client_secret = Some(Secret::new(creds::LWA_CLIENT_SECRET));
    k.refresh_token = Some(Secret::new(creds::LWA_REFRESH_TOKEN));
    k.token_url = format!("{base}/amazon/auth/o2/token");
    c.seller_id = Some(creds::AMAZON_SELLER.into());
    c.marketplace_ids = vec![creds::AMAZON_MARKETPLACE.into()];
    c.page_size = 3;
    c.interval = Duration::from_millis(150);
    // Wide enough that every pass lists every order again: the desk must store them once.
    c.overlap = Duration::from_secs(2 * 3600);
    c.initial_lookback = Duration::from_secs(2 * 24 * 3600);
    c.backoff_base = Duration::from_millis(20);
    c.backoff_cap = Duration::from_millis(200);
    c.max_retries = 5;
    // The documented Amazon limits (one getOrders a minute) would make a test take hours.
    let fast = Limit {
        rate_per_sec: 50.0,
        burst: 50,
    };
    c.rate_limits = [(Endpoint::Orders, fast), (Endpoint::OrderItems, fast)].into();
    c
}

async fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let end = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < end {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    f()
}

async fn serve(shops: &Shops) -> String {
    let addr = shops.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    format!("http://{addr}")
}

const N: usize = 7;

/// The whole story on one channel.
async fn scenario(shop: Shop) {
    let mut shops = Shops::new(18, N, wall());
    shops.amazon_rate_limit = "20".into();
    let base = serve(&shops).await;
    let desk = Desk::start();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn StateStore> = Arc::new(FileStateStore::open(dir.path()).unwrap());
    let cfg = config(shop, &base);
    let name = cfg.name.clone();
    let pollers =
        OrderPollers::start(vec![cfg.clone()], desk.clone(), store.clone(), wall()).unwrap();
    let h = || pollers.snapshot().remove(0);

    // Every order lands, once, as version 1, whatever the paging.
    assert!(
        eventually(20, || desk.book().len() == N).await,
        "{shop:?}: {:?} {:?}",
        desk.book(),
        h()
    );
    assert!(desk.book().values().all(|v| *v == 1), "{:?}", desk.book());
    // Polled again: stored once (the desk answers duplicates).
    assert!(
        eventually(10, || h().duplicates >= N as u64).await,
        "{:?}",
        h()
    );
    assert_eq!(h().new_versions, N as u64);
    assert_eq!(desk.book().len(), N);

    // An edit in the channel becomes version 2 of that order.
    // Whole seconds: every channel's documents carry whole seconds.
    let at = Timestamp::from_second(Timestamp::now().as_second() - 180).unwrap();
    shops.edit(shop, 2, at).unwrap();
    assert!(
        eventually(10, || desk.book().values().filter(|v| **v == 2).count()
            == 1)
        .await,
        "{shop:?}: {:?} {:?}",
        desk.book(),
        h()
    );

    // A 429 (or Shopify's THROTTLED) is waited out, and polling goes on.
    shops.throttle(shop, 1);
    shops.add(shop, at + jiff::SignedDuration::from_secs(1));
    assert!(
        eventually(10, || desk.book().len() == N + 1).await,
        "{:?}",
        h()
    );
    assert!(h().throttled >= 1, "{:?}", h());
    assert!(shops.stats(shop).throttled >= 1);

    // The cursor was saved, and a restart resumes from it (less the overlap), not from the
    // initial lookback: nothing new is stored again.
    let saved = || -> Option<Timestamp> {
        let text = store.load(&name, "orders").unwrap()?;
        serde_json::from_str::<OrderCursor>(&text)
            .unwrap()
            .updated_since
    };
    // Saved just after the desk took the page's last order.
    assert!(
        eventually(5, || saved().is_some_and(|c| c >= at)).await,
        "{:?} < {at}",
        saved()
    );
    let cursor = saved().unwrap();
    pollers.shutdown().await;
    let before = shops.stats(shop).since.len();
    let new_before = desk
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|s| !s.duplicate)
        .count();
    let pollers = OrderPollers::start(vec![cfg], desk.clone(), store.clone(), wall()).unwrap();
    assert!(eventually(10, || shops.stats(shop).since.len() > before).await);
    let first_since = shops.stats(shop).since[before].clone();
    assert!(
        first_since.contains(
            &(cursor - jiff::SignedDuration::from_secs(2 * 3600))
                .strftime("%H:%M:%S")
                .to_string()
        ),
        "{shop:?}: resumed at {first_since}, cursor {cursor}"
    );
    assert!(eventually(10, || pollers.snapshot()[0].passes >= 2).await);
    let new_after = desk
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|s| !s.duplicate)
        .count();
    assert_eq!(new_before, new_after, "a restart stores nothing twice");
    pollers.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shopify_end_to_end() {
    scenario(Shop::Shopify).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn woocommerce_end_to_end() {
    scenario(Shop::Woocommerce).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn magento_end_to_end() {
    scenario(Shop::Magento).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amazon_end_to_end() {
    scenario(Shop::Amazon).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bigcommerce_end_to_end() {
    scenario(Shop::Bigcommerce).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amazon_token_is_refreshed_when_refused_and_before_expiry() {
    let mut shops = Shops::new(5, 3, wall());
    shops.token_ttl_secs = 2;
    let base = serve(&shops).await;
    let desk = Desk::start();
    let store: Arc<dyn StateStore> = Arc::new(waypost_connectors::MemoryStateStore::default());
    let mut cfg = config(Shop::Amazon, &base);
    cfg.token_refresh_at = 0.5;
    let pollers = OrderPollers::start(vec![cfg], desk.clone(), store, wall()).unwrap();
    assert!(eventually(10, || desk.book().len() == 3).await);
    // A token lives 2 s and is refreshed at half of it.
    assert!(eventually(10, || shops.tokens_issued() >= 3).await);
    // Revoked under the poller's feet: the 403 makes it fetch a new one at once.
    shops.expire_tokens();
    let issued = shops.tokens_issued();
    shops.add(
        Shop::Amazon,
        Timestamp::now() - jiff::SignedDuration::from_mins(3),
    );
    assert!(eventually(10, || desk.book().len() == 4).await);
    assert!(shops.tokens_issued() > issued);
    let h = pollers.snapshot().remove(0);
    assert!(h.tokens_refreshed >= 3, "{h:?}");
    assert!(shops.stats(Shop::Amazon).unauthorized >= 1);
    pollers.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_desk_slows_the_poller_and_loses_nothing() {
    let shops = Shops::new(9, N, wall());
    let base = serve(&shops).await;
    let desk = Desk::start();
    desk.busy.lock().unwrap().extend([(), (), ()]);
    let store: Arc<dyn StateStore> = Arc::new(waypost_connectors::MemoryStateStore::default());
    let pollers = OrderPollers::start(
        vec![config(Shop::Woocommerce, &base)],
        desk.clone(),
        store,
        wall(),
    )
    .unwrap();
    assert!(eventually(20, || desk.book().len() == N).await);
    let h = pollers.snapshot().remove(0);
    assert_eq!(h.sink_busy, 3, "{h:?}");
    assert_eq!(h.new_versions, N as u64);
    pollers.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_are_refused_and_reported() {
    let shops = Shops::new(1, 2, wall());
    let base = serve(&shops).await;
    let desk = Desk::start();
    let store: Arc<dyn StateStore> = Arc::new(waypost_connectors::MemoryStateStore::default());
    let mut cfg = config(Shop::Magento, &base);
    cfg.credentials.bearer_token = Some(Secret::new("wrong"));
    let pollers = OrderPollers::start(vec![cfg], desk.clone(), store, wall()).unwrap();
    assert!(
        eventually(5, || pollers.snapshot()[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("401")))
        .await,
        "{:?}",
        pollers.snapshot()
    );
    assert!(desk.book().is_empty());
    assert!(shops.stats(Shop::Magento).unauthorized >= 1);
    pollers.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bigcommerce_webhook_fetches_the_order_and_submits_it() {
    let shops = Shops::new(3, 0, wall());
    let base = serve(&shops).await;
    let desk = Desk::start();
    let store: Arc<dyn StateStore> = Arc::new(waypost_connectors::MemoryStateStore::default());
    let mut cfg = config(Shop::Bigcommerce, &base);
    // Webhooks carry the news; the poll is only a slow safety net here.
    cfg.interval = Duration::from_secs(3600);
    let pollers = OrderPollers::start(vec![cfg], desk.clone(), store, wall()).unwrap();
    let o = shops.add(Shop::Bigcommerce, Timestamp::now());
    let body = serde_json::json!({
        "scope": "store/order/created", "store_id": "1025646",
        "data": {"type": "order", "id": o.id},
        "hash": "dd70c0976e06b67aaf671e73f49dcb79230ebf9d", "created_at": 1561479335,
        "producer": format!("stores/{}", creds::BIGCOMMERCE_STORE)
    });
    let notice =
        waypost_orders::channels::bigcommerce::notice(body.to_string().as_bytes()).unwrap();
    pollers
        .bigcommerce_notice(&*desk, &tenant(), &notice)
        .await
        .unwrap();
    assert_eq!(desk.book().len(), 1);
    assert_eq!(desk.book().values().next(), Some(&1));
    let other = waypost_orders::channels::bigcommerce::Notice {
        store: "elsewhere".into(),
        ..notice
    };
    assert!(
        pollers
            .bigcommerce_notice(&*desk, &tenant(), &other)
            .await
            .is_err()
    );
    pollers.shutdown().await;
}

/// An order edited while a pass is under way jumps to the end of an offset-paged list and
/// shifts the others towards pages already read; none of them may be missed, even with no
/// overlap to catch them on the next pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_in_the_middle_of_a_pass_misses_no_order() {
    for shop in [Shop::Woocommerce, Shop::Magento, Shop::Bigcommerce] {
        let shops = Shops::new(11, 9, wall());
        let base = serve(&shops).await;
        let desk = Desk::start();
        let edit = shops.clone();
        *desk.hook.lock().unwrap() = Some(Box::new(move || {
            let at = Timestamp::from_second(Timestamp::now().as_second() - 180).unwrap();
            edit.edit(shop, 0, at);
        }));
        let store: Arc<dyn StateStore> = Arc::new(waypost_connectors::MemoryStateStore::default());
        let mut cfg = config(shop, &base);
        cfg.overlap = Duration::ZERO;
        let pollers = OrderPollers::start(vec![cfg], desk.clone(), store, wall()).unwrap();
        assert!(
            eventually(10, || pollers.snapshot()[0].passes >= 3).await,
            "{:?}",
            pollers.snapshot()
        );
        assert_eq!(desk.book().len(), 9, "{shop:?}: {:?}", desk.book());
        assert_eq!(
            desk.book().values().filter(|v| **v == 2).count(),
            1,
            "{shop:?}"
        );
        pollers.shutdown().await;
    }
}

/// A 429's wait is the channel's word: nothing is asked of the endpoint before it ends
/// (WooCommerce and Magento hosts send `Retry-After: 1`, BigCommerce its window's reset,
/// 1000 ms in the fake).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_waited_out_before_asking_again() {
    for shop in [Shop::Woocommerce, Shop::Magento, Shop::Bigcommerce] {
        let shops = Shops::new(4, 2, wall());
        let base = serve(&shops).await;
        let desk = Desk::start();
        let store: Arc<dyn StateStore> = Arc::new(waypost_connectors::MemoryStateStore::default());
        let pollers =
            OrderPollers::start(vec![config(shop, &base)], desk.clone(), store, wall()).unwrap();
        assert!(eventually(10, || desk.book().len() == 2).await);
        shops.throttle(shop, 1);
        let throttled_at = std::time::Instant::now();
        shops.add(shop, Timestamp::now() - jiff::SignedDuration::from_mins(3));
        assert!(eventually(10, || desk.book().len() == 3).await, "{shop:?}");
        let waited = throttled_at.elapsed();
        assert!(
            waited >= Duration::from_millis(900),
            "{shop:?}: only {waited:?}"
        );
        assert_eq!(pollers.snapshot()[0].throttled, 1);
        pollers.shutdown().await;
    }
}
