//! The declarative adapter: any bytes, read with every shipped format description
//! (`formats/*.toml`); see `common` for what is checked.
#![no_main]

#[path = "common/mod.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::declarative(data);
});
