//! X12 850 interchanges on arbitrary bytes, and the 997 for whatever was read.
#![no_main]
use libfuzzer_sys::fuzz_target;
use waypost_orders::channels::x12;

fuzz_target!(|data: &[u8]| {
    let opts = x12::X12Options {
        implied_decimals: Some(2),
        ..x12::X12Options::default()
    };
    if let Ok(ix) = x12::read(data, &opts) {
        let ack = x12::ack_997(&ix, "ME", 1, "20261201", "1200");
        assert!(ack.starts_with("ISA*"));
    }
});
