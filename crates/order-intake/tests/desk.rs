//! The desk against a real engine, intake and order book on a temporary SQLite store, with
//! the world clock held still: orders placed, judged, versioned and started in the event log.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use jiff::Timestamp;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use waypost_adapters::MappingSet;
use waypost_domain::{Clock, InputLimits, Status, TenantId};
use waypost_engine::{Engine, EngineConfig, ManualClock};
use waypost_intake::Intake;
use waypost_order_intake::queue::Action;
use waypost_order_intake::{DeskConfig, OrderDesk, Submission, TenantOrders};
use waypost_orders::{Address, Channel, ChannelOrder, ChannelState, Customer, Line};
use waypost_store::{Backend, CatalogueItem, Durability, IntakeStatus, ReadStore, StockLevel};
use waypost_store_sqlite::Sqlite;

fn t0() -> Timestamp {
    "2026-11-20T08:00:00Z".parse().unwrap()
}

struct World {
    engine: Option<Engine>,
    desk: OrderDesk,
    reader: Arc<dyn ReadStore>,
    clock: Arc<ManualClock>,
    tenant: TenantId,
    _dir: tempfile::TempDir,
}

fn start() -> World {
    let dir = tempfile::tempdir().unwrap();
    let backend = Sqlite::new(dir.path(), Durability::Normal);
    let (w, reader) = backend.open().unwrap();
    let clock = Arc::new(ManualClock::new(t0()));
    let world_clock: Arc<dyn Clock> = clock.clone();
    let engine = Engine::start(w, world_clock.clone(), EngineConfig::default()).unwrap();
    let mappings = Arc::new(RwLock::new(Arc::new(MappingSet::builtin().unwrap())));
    let intake = Intake::new(
        engine.intake.clone(),
        reader.clone(),
        mappings,
        world_clock.clone(),
        InputLimits::default(),
        engine.metrics.clone(),
    );
    let (book, reads) = backend.order_book().unwrap();
    let desk = OrderDesk::start(book, reads, intake, world_clock, &DeskConfig::default()).unwrap();
    World {
        engine: Some(engine),
        desk,
        reader,
        clock,
        tenant: TenantId::new("acme").unwrap(),
        _dir: dir,
    }
}

fn shop_order(id: &str, sku: &str, qty: u32) -> ChannelOrder {
    ChannelOrder {
        account_ref: Some("acme.myshopify.com".into()),
        external_id: id.into(),
        display_id: Some(format!("#{id}")),
        created_at: Some("2026-11-20T07:00:00Z".parse().unwrap()),
        updated_at: Some("2026-11-20T07:00:00Z".parse().unwrap()),
        lines: vec![Line {
            sku: Some(sku.into()),
            quantity: qty.into(),
            unit_price: Some("19.50".parse().unwrap()),
            ..Line::default()
        }],
        currency: Some("USD".into()),
        customer: Customer {
            email: Some("ada@example.com".into()),
            ..Customer::default()
        },
        ship_to: Some(Address {
            lines: vec!["1 Main St".into()],
            city: Some("Newark".into()),
            region: Some("NJ".into()),
            postal_code: Some("07102".into()),
            country: Some("US".into()),
            ..Address::default()
        }),
        service_level: Some("Standard".into()),
        ..ChannelOrder::default()
    }
}

fn sub(placed: ChannelOrder) -> Submission {
    Submission {
        channel: Channel::Shopify,
        placed,
        account: None,
        delivery: None,
    }
}

const ACCOUNTS: &str = r#"
[[accounts]]
id = "acme-shop"
channel = "shopify"
refs = ["acme.myshopify.com"]
sla = { default = "3d", Express = "1d" }
express_services = ["Express"]
"#;

impl World {
    fn configure(&self, profile: Option<&str>, shadow: Option<&str>) {
        let s = TenantOrders::parse(
            Some(("accounts.toml", ACCOUNTS)),
            profile.map(|p| ("profile.toml", p)),
            shadow.map(|p| ("shadow.toml", p)),
        )
        .unwrap();
        self.desk.configure(self.tenant.clone(), s);
    }

    async fn status(&self, order: &str, want: Status) -> waypost_store::OrderRecord {
        for _ in 0..300 {
            if let Some(o) = self.reader.order(&self.tenant, order).unwrap()
                && o.view.status == waypost_domain::OrderStatus::Shipment(want)
            {
                return o;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "order {order} never reached {want:?}: {:?}",
            self.reader
                .order(&self.tenant, order)
                .unwrap()
                .map(|o| o.view.status)
        );
    }

    fn stop(mut self) {
        let engine = self.engine.take().unwrap();
        drop(self.desk);
        engine.shutdown();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accepted_order_starts_pending_with_its_promise_and_is_stored_once() {
    let w = start();
    w.configure(None, None);
    let r = w
        .desk
        .submit(&w.tenant, sub(shop_order("1001", "A", 1)))
        .await
        .unwrap();
    assert_eq!(
        (r.order_id.as_str(), r.account.as_str()),
        ("#1001", "acme-shop")
    );
    assert_eq!(
        (r.version, r.status, r.duplicate),
        (1, IntakeStatus::Accepted, false)
    );
    let o = w.status("#1001", Status::Pending).await;
    assert_eq!(
        o.view.promised_at.map(|p| p.instant),
        Some("2026-11-23T07:00:00Z".parse().unwrap()),
        "the account's SLA gave the promise"
    );
    // The same order again (a webhook retried, or the poll finding it) is stored once.
    let again = w
        .desk
        .submit(&w.tenant, sub(shop_order("1001", "A", 1)))
        .await
        .unwrap();
    assert_eq!((again.version, again.duplicate), (1, true));
    // An edit is a new version; an older edit arriving late is kept but not current.
    let mut edit = shop_order("1001", "A", 3);
    edit.updated_at = Some("2026-11-20T07:30:00Z".parse().unwrap());
    let e = w.desk.submit(&w.tenant, sub(edit)).await.unwrap();
    assert_eq!((e.version, e.stale), (2, false));
    let mut older = shop_order("1001", "A", 2);
    older.updated_at = Some("2026-11-20T07:10:00Z".parse().unwrap());
    let late = w.desk.submit(&w.tenant, sub(older)).await.unwrap();
    assert_eq!((late.version, late.stale), (3, true));
    let row = w
        .desk
        .reads()
        .intake_order(&w.tenant, "#1001")
        .unwrap()
        .unwrap();
    assert_eq!(row.version, 2);
    assert_eq!(row.value, Some(58.5));
    w.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_waits_on_hold_and_a_release_counts_a_false_positive() {
    let w = start();
    w.configure(None, None);
    w.desk
        .put_catalogue(
            &w.tenant,
            vec![CatalogueItem {
                sku: "A".into(),
                title: None,
            }],
        )
        .await
        .unwrap();
    let r = w
        .desk
        .submit(&w.tenant, sub(shop_order("2001", "B-UNKNOWN", 1)))
        .await
        .unwrap();
    assert_eq!(r.status, IntakeStatus::Held);
    assert_eq!(r.because, vec!["sku_known".to_string()]);
    w.status("#2001", Status::OnHold).await;
    w.clock.advance(jiff::SignedDuration::from_mins(5));
    let row = w
        .desk
        .act(
            &w.tenant,
            "#2001",
            1,
            Action::Release { note: None },
            "ops@acme.test",
        )
        .await
        .unwrap();
    assert_eq!(row.status, IntakeStatus::Accepted);
    w.status("#2001", Status::Pending).await;
    let counts = w.desk.reads().intake_counts(&w.tenant, None).unwrap();
    let fp = counts
        .iter()
        .find(|c| c.check == "sku_known" && c.outcome == "hold" && c.enforced)
        .unwrap();
    assert_eq!((fp.count, fp.false_positives), (1, 1));
    // A stale version is refused.
    assert!(
        w.desk
            .act(
                &w.tenant,
                "#2001",
                1,
                Action::Reject { reason: "x".into() },
                "ops"
            )
            .await
            .is_err()
    );
    w.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backorder_clears_when_stock_arrives() {
    let w = start();
    w.configure(None, None);
    w.desk
        .put_catalogue(
            &w.tenant,
            vec![CatalogueItem {
                sku: "A".into(),
                title: None,
            }],
        )
        .await
        .unwrap();
    let level = |n: f64, s: i64| StockLevel {
        warehouse: "EWR".into(),
        sku: "A".into(),
        available: n,
        counted_at: t0()
            .checked_add(jiff::SignedDuration::from_secs(s))
            .unwrap(),
    };
    w.desk
        .put_stock(&w.tenant, vec![level(1.0, 0)])
        .await
        .unwrap();
    let r = w
        .desk
        .submit(&w.tenant, sub(shop_order("3001", "A", 2)))
        .await
        .unwrap();
    assert_eq!(r.status, IntakeStatus::Backordered);
    let o = w.status("#3001", Status::Backordered).await;
    assert_eq!(
        o.view.status,
        waypost_domain::OrderStatus::Shipment(Status::Backordered)
    );
    w.clock.advance(jiff::SignedDuration::from_mins(30));
    let applied = w
        .desk
        .put_stock(&w.tenant, vec![level(5.0, 60)])
        .await
        .unwrap();
    assert_eq!(applied.released, vec!["#3001".to_string()]);
    w.status("#3001", Status::Pending).await;
    w.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shadow_profile_reports_without_deciding_and_revalidation_applies_a_new_one() {
    let w = start();
    let strict = "name = \"strict\"\n[checks.quantity]\noutcome = \"hold\"\nmax = 2\n";
    w.configure(None, Some(strict));
    let r = w
        .desk
        .submit(&w.tenant, sub(shop_order("4001", "A", 5)))
        .await
        .unwrap();
    assert_eq!(
        r.status,
        IntakeStatus::Accepted,
        "the shadow decides nothing"
    );
    let counts = w.desk.reads().intake_counts(&w.tenant, None).unwrap();
    assert!(
        counts
            .iter()
            .any(|c| !c.enforced && c.check == "quantity" && c.outcome == "hold")
    );
    // Cancelled in the channel: out of the flow whatever the gates say.
    let mut c = shop_order("4002", "A", 1);
    c.state = ChannelState::Cancelled {
        reason: Some("customer".into()),
    };
    let r = w.desk.submit(&w.tenant, sub(c)).await.unwrap();
    assert_eq!(r.status, IntakeStatus::Cancelled);
    w.status("#4002", Status::Cancelled).await;
    // Switch the strict profile on, hold one, relax and re-validate: it enters the flow.
    w.configure(Some(strict), None);
    let r = w
        .desk
        .submit(&w.tenant, sub(shop_order("4003", "A", 4)))
        .await
        .unwrap();
    assert_eq!(r.status, IntakeStatus::Held);
    w.configure(None, None);
    let done = w.desk.revalidate(&w.tenant, "ops").await.unwrap();
    assert_eq!((done.examined, done.accepted), (1, 1));
    w.status("#4003", Status::Pending).await;
    w.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drop_folder_takes_850s_writes_their_acknowledgments_and_rejects_the_unreadable() {
    use waypost_order_intake::drops::{OrderDropConfig, sweep};
    let w = start();
    let dir = tempfile::tempdir().unwrap();
    let drop = OrderDropConfig {
        dir: dir.path().to_path_buf(),
        tenant: "acme".into(),
        channel: "x12".into(),
        account: None,
        poll_ms: None,
    }
    .check()
    .unwrap();
    for d in ["done", "rejected", "acks"] {
        std::fs::create_dir_all(dir.path().join(d)).unwrap();
    }
    let edi = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../orders/corpus/x12/pgw-replace.edi"
    ))
    .unwrap();
    std::fs::write(dir.path().join("a-po.edi"), &edi).unwrap();
    std::fs::write(dir.path().join("b-garbage.edi"), b"ISA*this is not x12").unwrap();
    std::fs::write(dir.path().join(".c-partial.tmp"), b"half").unwrap();
    let taken = sweep(&w.desk, &drop, w.clock.as_ref()).await.unwrap();
    assert_eq!(taken, 2);
    assert!(dir.path().join("done/a-po.edi").exists());
    assert!(dir.path().join("rejected/b-garbage.edi").exists());
    let problem =
        std::fs::read_to_string(dir.path().join("rejected/b-garbage.edi.problem.txt")).unwrap();
    assert!(problem.contains("x12"), "{problem}");
    assert!(
        dir.path().join(".c-partial.tmp").exists(),
        "a file being written is left alone"
    );
    let ack = std::fs::read_to_string(dir.path().join("acks/a-po.edi.997")).unwrap();
    assert!(ack.contains("AK1") && ack.contains("AK9"), "{ack}");
    assert!(dir.path().join("acks/a-po.edi.1.855").exists());
    w.status("S52001187", Status::Pending).await;
    // The same file dropped again is the same order, stored once.
    std::fs::write(dir.path().join("a-po-again.edi"), &edi).unwrap();
    sweep(&w.desk, &drop, w.clock.as_ref()).await.unwrap();
    let versions = w
        .desk
        .reads()
        .intake_versions(&w.tenant, "S52001187")
        .unwrap();
    assert_eq!(versions.len(), 1);
    w.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trading_partners_agreement_reads_its_850s() {
    let w = start();
    let accounts = r#"
[[accounts]]
id = "harbor"
channel = "x12"
refs = ["HARBORFREIGHT01"]
order_id = "HF-{external_id}"
x12 = { implied_decimals = 2, sku_qualifiers = ["VP", "UP"] }
"#;
    let s = TenantOrders::parse(Some(("accounts.toml", accounts)), None, None).unwrap();
    w.desk.configure(w.tenant.clone(), s);
    let edi = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../orders/corpus/x12/two-sets.edi"
    ))
    .unwrap();
    let answer = w.desk.x12(&w.tenant, &edi, None, t0()).await.unwrap();
    let r = &answer.batch.results[0];
    assert_eq!(
        (r.order_id.as_str(), r.account.as_str()),
        ("HF-HF-99120", "harbor")
    );
    let row = w
        .desk
        .reads()
        .intake_order(&w.tenant, "HF-HF-99120")
        .unwrap()
        .unwrap();
    let order: waypost_orders::Order = serde_json::from_str(&row.body).unwrap();
    assert_eq!(
        order.placed.lines[0].unit_price,
        Some("77.00".parse().unwrap()),
        "7700 with two implied decimals"
    );
    assert!(answer.ack_997.contains("AK9"));
    w.stop();
}
