//! A webhook and a poll of the same Shopify order state read to the same statement: the
//! REST `orders/updated` body and the GraphQL page's node for that order differ only in the
//! reader's notes (which name paths in their own documents). This is what lets intake store
//! the order once whichever path delivered it first.

use std::path::Path;
use waypost_orders::channels::shopify;

fn corpus(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus/shopify")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn a_webhook_and_a_poll_of_one_order_state_read_alike() {
    let shop = Some("lumen-outfitters.myshopify.com");
    let mut webhook = shopify::rest(&corpus("orders-updated-edit.json"), shop).expect("reads");
    let mut poll = shopify::graphql(&corpus("orders-page.graphql.json"), shop).expect("reads");
    let mut from_webhook = webhook.remove(0);
    let mut from_poll = poll.remove(0);
    assert_eq!(from_webhook.read_notes.len(), from_poll.read_notes.len());
    from_webhook.read_notes.clear();
    from_poll.read_notes.clear();
    assert_eq!(from_webhook, from_poll);
}
