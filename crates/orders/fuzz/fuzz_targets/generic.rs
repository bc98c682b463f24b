//! Waypost's own order schema (`POST /v1/orders`) on arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use waypost_orders::channels::generic;

fuzz_target!(|data: &[u8]| {
    let _ = generic::read(data);
});
