//! Amazon SP-API Orders v0: what the corpus cases cannot show (the page's own fields, refusals).

use waypost_orders::channels::amazon;
use waypost_orders::{ChannelOrder, Hint};

const PAGE: &[u8] = include_bytes!("../corpus/amazon/prime-unshipped.orders.json");
const ITEMS: &[u8] =
    include_bytes!("../corpus/amazon/prime-unshipped.items-113-4827160-3390617.json");
const PENDING: &[u8] = include_bytes!("../corpus/amazon/pending.orders.json");

#[test]
fn the_page_gives_its_token_and_high_water_mark() {
    let page = amazon::orders(PAGE, Some("A3TV5VQ0WPZ8XS")).expect("reads");
    assert_eq!(
        page.next_token.as_deref(),
        Some("2YgYW55IGNhcm5hbCBwbGVhc3VyZS4=")
    );
    assert_eq!(
        page.last_updated_before,
        "2026-12-01T00:00:00Z".parse().ok()
    );
    // The sandbox's epoch-in-a-string is no instant: none, and a note on each order.
    let page = amazon::orders(PENDING, None).expect("reads");
    assert_eq!(page.last_updated_before, None);
    assert_eq!(page.orders[0].read_notes.len(), 1);
}

#[test]
fn items_of_another_order_are_refused() {
    let other = ChannelOrder {
        external_id: "902-0000000-0000000".into(),
        ..ChannelOrder::default()
    };
    let e = amazon::items(other, ITEMS).expect_err("another order");
    assert_eq!(
        e.to_string(),
        "amazon document, at payload.AmazonOrderId: items of order 113-4827160-3390617, not of 902-0000000-0000000"
    );
}

#[test]
fn a_second_items_page_appends() {
    let page = amazon::orders(PAGE, None).expect("reads");
    let o = page.orders.into_iter().next().expect("one order");
    let (o, next) = amazon::items(o, ITEMS).expect("page 1");
    assert_eq!(next, None);
    let (o, _) = amazon::items(o, ITEMS).expect("page 2");
    assert_eq!(o.lines.len(), 4);
    // Hints are not repeated by a second page.
    assert_eq!(o.hints, [Hint::Prime, Hint::Gift]);
}

#[test]
fn a_total_that_does_not_divide_gives_no_unit_price() {
    let body = br#"{"payload":{"AmazonOrderId":"1","OrderItems":[{"ASIN":"B1","OrderItemId":"9","QuantityOrdered":3,"ItemPrice":{"CurrencyCode":"USD","Amount":"10.00"}}]}}"#;
    let order = ChannelOrder {
        external_id: "1".into(),
        ..ChannelOrder::default()
    };
    let (o, _) = amazon::items(order, body).expect("reads");
    assert_eq!(o.lines[0].unit_price, None);
    assert!(o.read_notes[0].note.contains("does not divide exactly"));
}

#[test]
fn a_required_date_that_is_an_epoch_float_is_refused() {
    let body = br#"{"payload":{"Orders":[{"AmazonOrderId":"1","OrderStatus":"Unshipped","PurchaseDate":"1.569521782042E9","LastUpdateDate":"2026-12-01T00:00:00Z"}]}}"#;
    let e = amazon::orders(body, None).expect_err("refused");
    assert!(
        e.to_string().contains("payload.Orders[0].PurchaseDate"),
        "{e}"
    );
    // An optional one is dropped with a note, never read as a wrong date.
    let body = br#"{"payload":{"Orders":[{"AmazonOrderId":"1","OrderStatus":"Unshipped","PurchaseDate":"2026-12-01T00:00:00Z","LastUpdateDate":"2026-12-01T00:00:00Z","LatestDeliveryDate":"1.569521782042E9"}]}}"#;
    let page = amazon::orders(body, None).expect("reads");
    assert_eq!(page.orders[0].promised_at, None);
    assert_eq!(
        page.orders[0].read_notes[0].at,
        "payload.Orders[0].LatestDeliveryDate"
    );
}

#[test]
fn unknown_status_and_unfulfillable() {
    let body = br#"{"payload":{"Orders":[{"AmazonOrderId":"1","OrderStatus":"Lost","PurchaseDate":"2026-12-01T00:00:00Z","LastUpdateDate":"2026-12-01T00:00:00Z"}]}}"#;
    assert!(amazon::orders(body, None).is_err());
    let body = String::from_utf8_lossy(body).replace("Lost", "Unfulfillable");
    let page = amazon::orders(body.as_bytes(), None).expect("reads");
    assert!(matches!(
        page.orders[0].state,
        waypost_orders::ChannelState::OnHold { .. }
    ));
}
