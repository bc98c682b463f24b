//! The fake shops' documents read by the real channel readers: the fakes speak the shapes the
//! pollers will meet, and the readers see the generated order (ids, times, lines, totals).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::{FakeOrder, Shop, docs, generate};
use waypost_orders::ChannelOrder;
use waypost_orders::channels::{amazon, bigcommerce, magento, shopify, woocommerce};

fn orders() -> Vec<FakeOrder> {
    let now: jiff::Timestamp = "2026-11-20T12:00:00Z".parse().unwrap();
    let mut v = generate(42, Shop::Shopify, 5, now);
    v[3].cancelled = true;
    v
}

fn check(o: &FakeOrder, got: &ChannelOrder, what: &str) {
    assert_eq!(got.updated_at, Some(o.updated), "{what}: updated_at");
    assert_eq!(got.created_at, Some(o.created), "{what}: created_at");
    assert_eq!(got.lines.len(), o.lines.len(), "{what}: lines");
    for (l, g) in o.lines.iter().zip(&got.lines) {
        assert_eq!(g.sku.as_deref(), Some(l.sku.as_str()), "{what}: sku");
        assert_eq!(g.quantity, l.qty.into(), "{what}: qty");
        let unit = rust_decimal_cents(l.unit_cents);
        assert_eq!(
            g.unit_price.map(|p| p.normalize()),
            Some(unit),
            "{what}: unit price"
        );
    }
    assert_eq!(
        got.total.map(|t| t.normalize()),
        Some(rust_decimal_cents(o.total_cents())),
        "{what}: total"
    );
    assert_eq!(
        matches!(got.state, waypost_orders::ChannelState::Cancelled { .. }),
        o.cancelled,
        "{what}: cancelled"
    );
}

fn rust_decimal_cents(c: i64) -> waypost_orders::Decimal {
    waypost_orders::Decimal::new(c, 2).normalize()
}

#[test]
fn every_channel_document_reads_back_as_the_order() {
    for o in &orders() {
        let page = serde_json::json!({"data": {"orders": {"edges": [{"cursor": "c", "node": docs::shopify_node(o)}],
            "pageInfo": {"hasNextPage": false, "endCursor": "c"}}}});
        let got =
            shopify::graphql(page.to_string().as_bytes(), Some("lumen.myshopify.com")).unwrap();
        check(o, &got[0], "shopify");
        assert_eq!(
            got[0].display_id.as_deref(),
            Some(format!("#{}", o.number).as_str())
        );

        let list = serde_json::json!([docs::woo_order(o)]);
        let got =
            woocommerce::read(list.to_string().as_bytes(), Some("https://shop.example/")).unwrap();
        check(o, &got[0], "woocommerce");

        let search = serde_json::json!({"items": [docs::magento_order(o)], "total_count": 1});
        let got = magento::read(search.to_string().as_bytes(), Some("https://m.example")).unwrap();
        check(o, &got[0], "magento");

        let page = serde_json::json!({"payload": {"Orders": [docs::amazon_order(o)], "LastUpdatedBefore": "2026-11-20T11:58:00Z"}});
        let read = amazon::orders(page.to_string().as_bytes(), Some("A3TV")).unwrap();
        let first = read.orders.into_iter().next().unwrap();
        let (got, next) =
            amazon::items(first, docs::amazon_items(o).to_string().as_bytes()).unwrap();
        assert_eq!(next, None);
        check(o, &got, "amazon");

        let got = bigcommerce::read(
            docs::bc_order(o, "https://api.bigcommerce.com/stores/abc")
                .to_string()
                .as_bytes(),
            docs::bc_products(o).to_string().as_bytes(),
            docs::bc_addresses(o).to_string().as_bytes(),
            Some("stores/abc"),
        )
        .unwrap();
        check(o, &got[0], "bigcommerce");
    }
}

#[test]
fn the_same_seed_makes_the_same_orders() {
    let now: jiff::Timestamp = "2026-11-20T12:00:00Z".parse().unwrap();
    assert_eq!(
        generate(7, Shop::Amazon, 20, now),
        generate(7, Shop::Amazon, 20, now)
    );
    assert_ne!(
        generate(7, Shop::Amazon, 20, now),
        generate(8, Shop::Amazon, 20, now)
    );
}
