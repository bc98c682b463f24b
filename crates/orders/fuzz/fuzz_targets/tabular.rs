//! CSV (with a fixed column map) and JSON lines on arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use waypost_orders::channels::tabular;

fuzz_target!(|data: &[u8]| {
    let map = tabular::ColumnMap {
        order_id: "Order Number".into(),
        quantity: "Qty".into(),
        sku: Some("SKU".into()),
        unit_price: Some("Price".into()),
        created_at: Some("Order Date".into()),
        ..tabular::ColumnMap::default()
    };
    let _ = tabular::csv(data, &map);
    let _ = tabular::jsonl(data);
});
