//! `channels::shopify::graphql` and `page_info` on any bytes: never panics, and an order it
//! reads has a numeric external id (the tail of its GID).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = waypost_orders::channels::shopify::page_info(data);
    if let Ok(orders) = waypost_orders::channels::shopify::graphql(data, None) {
        for o in orders {
            assert!(o.external_id.bytes().all(|b| b.is_ascii_digit()));
        }
    }
});
