//! `channels::shopify::rest` (and the webhook signature check) on any bytes: never panics,
//! and an order it reads has an external id.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = waypost_orders::channels::shopify::verify_hmac(data, b"secret", "c2lnbmF0dXJl");
    if let Ok(orders) = waypost_orders::channels::shopify::rest(data, Some("shop.myshopify.com")) {
        for o in orders {
            assert!(!o.external_id.is_empty());
        }
    }
});
