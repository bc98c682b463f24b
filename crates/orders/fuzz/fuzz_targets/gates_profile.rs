//! A quality-gate profile from any text: parsing either succeeds or names every problem (with its
//! path and line where known), and never panics.
#![no_main]

use waypost_orders::gates::Profile;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(problems) = Profile::parse(text) {
        assert!(!problems.is_empty(), "refused without a problem");
        for p in &problems {
            assert!(!p.message.is_empty(), "a problem without a message: {p:?}");
        }
    }
});
