//! `Source::AustraliaPost`: any bytes, parsed and normalized; see `common` for what is checked.
#![no_main]

#[path = "common/mod.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::parser(waypost_adapters::Source::AustraliaPost, data);
});
