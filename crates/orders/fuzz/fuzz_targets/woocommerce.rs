//! `channels::woocommerce::read` on any bytes: never panics.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = waypost_orders::channels::woocommerce::read(data, Some("https://shop.example/"));
});
