//! `channels::bigcommerce::notice` and `read` on any bytes: the input is split in three at
//! its first two NUL bytes (order, products, shipping addresses); never panics.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = waypost_orders::channels::bigcommerce::notice(data);
    let mut parts = data.splitn(3, |&b| b == 0);
    let order = parts.next().unwrap_or_default();
    let products = parts.next().unwrap_or_default();
    let addresses = parts.next().unwrap_or_default();
    let _ = waypost_orders::channels::bigcommerce::read(order, products, addresses, None);
});
