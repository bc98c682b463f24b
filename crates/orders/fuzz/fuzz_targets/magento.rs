//! `channels::magento::read` on any bytes: never panics.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = waypost_orders::channels::magento::read(data, Some("https://m.example"));
});
