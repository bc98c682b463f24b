//! getOrders and getOrderItems pages on arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use waypost_orders::ChannelOrder;
use waypost_orders::channels::amazon;

fuzz_target!(|data: &[u8]| {
    if let Ok(page) = amazon::orders(data, Some("SELLER")) {
        for o in page.orders {
            let _ = amazon::items(o, data);
        }
    }
    let order = ChannelOrder {
        external_id: "113-4827160-3390617".into(),
        ..ChannelOrder::default()
    };
    let _ = amazon::items(order, data);
});
