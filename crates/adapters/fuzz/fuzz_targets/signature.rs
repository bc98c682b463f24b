//! Webhook signature verification: any scheme, secret, header values and body; see
//! `common::signature` for the input layout and what is checked.
#![no_main]

#[path = "common/mod.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::signature(data);
});
