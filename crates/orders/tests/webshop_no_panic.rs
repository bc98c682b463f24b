//! The web-shop readers (Shopify, WooCommerce, BigCommerce, Magento) never panic: on random
//! bytes, on corpus documents with bytes cut or changed, and on corpus documents with one
//! JSON value swapped for another kind (the channels' own habit: `{}` for null, strings for
//! numbers). Whatever they return, an error names its channel.

use proptest::prelude::*;
use serde_json::Value;
use std::path::Path;
use waypost_orders::channels::{bigcommerce, magento, shopify, woocommerce};

/// Every reader on the same bytes; BigCommerce gets them in each of its three places.
fn read_all(bytes: &[u8]) {
    let _ = shopify::rest(bytes, Some("shop.myshopify.com"));
    let _ = shopify::graphql(bytes, None);
    let _ = shopify::page_info(bytes);
    let _ = shopify::verify_hmac(bytes, b"secret", "c2lnbmF0dXJl");
    let _ = woocommerce::read(bytes, Some("https://shop.example/"));
    let _ = bigcommerce::notice(bytes);
    let _ = bigcommerce::read(bytes, b"[]", b"[]", None);
    let _ = bigcommerce::read(b"{\"id\":1,\"status_id\":11}", bytes, bytes, None);
    let _ = magento::read(bytes, Some("https://m.example"));
}

/// The corpus documents of the four web-shop channels.
fn corpus() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut docs = Vec::new();
    for ch in ["shopify", "woocommerce", "bigcommerce", "magento"] {
        let Ok(dir) = std::fs::read_dir(root.join(ch)) else {
            continue;
        };
        let mut paths: Vec<_> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            let name = p.to_string_lossy().to_string();
            if name.ends_with(".toml") || name.ends_with(".expected.json") {
                continue;
            }
            if let Ok(b) = std::fs::read(&p) {
                docs.push(b);
            }
        }
    }
    docs
}

/// Replaces the `n`-th value (in document order) of `v` with `with`; returns how many values
/// there are when `n` is past the end.
fn replace_nth(v: &mut Value, n: &mut usize, with: &Value) -> bool {
    if *n == 0 {
        *v = with.clone();
        return true;
    }
    *n -= 1;
    match v {
        Value::Array(a) => a.iter_mut().any(|x| replace_nth(x, n, with)),
        Value::Object(m) => m.values_mut().any(|x| replace_nth(x, n, with)),
        _ => false,
    }
}

fn odd_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        Just(serde_json::json!({})),
        Just(serde_json::json!([])),
        Just(serde_json::json!("")),
        Just(serde_json::json!("1e30")),
        Just(serde_json::json!("-0")),
        Just(serde_json::json!(-1)),
        Just(serde_json::json!(u64::MAX)),
        Just(serde_json::json!(1.0e300)),
        Just(serde_json::json!("79228162514264337593543950335")),
        Just(serde_json::json!("gid://shopify/Order/")),
        Just(serde_json::json!("Thu, 31 Feb 2019 25:61:00 +9999")),
        Just(serde_json::json!("&#x110000;&ndash&amp")),
        Just(serde_json::json!(true)),
        any::<i64>().prop_map(|i| serde_json::json!(i)),
        "[ -~]{0,12}".prop_map(Value::String),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        read_all(&bytes);
    }

    #[test]
    fn corpus_documents_with_bytes_changed_never_panic(
        pick in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        cut in any::<bool>(),
        byte in any::<u8>(),
    ) {
        let docs = corpus();
        prop_assume!(!docs.is_empty());
        let mut doc = docs[pick.index(docs.len())].clone();
        if !doc.is_empty() {
            let i = at.index(doc.len());
            if cut { doc.truncate(i) } else { doc[i] = byte }
        }
        read_all(&doc);
    }

    #[test]
    fn corpus_documents_with_a_value_swapped_never_panic(
        pick in any::<prop::sample::Index>(),
        at in 0usize..4000,
        with in odd_value(),
    ) {
        let docs = corpus();
        prop_assume!(!docs.is_empty());
        let doc = &docs[pick.index(docs.len())];
        let Ok(mut v) = serde_json::from_slice::<Value>(doc) else {
            return Ok(());
        };
        let mut n = at;
        replace_nth(&mut v, &mut n, &with);
        let bytes = serde_json::to_vec(&v).unwrap_or_default();
        read_all(&bytes);
        for r in [
            shopify::rest(&bytes, None),
            shopify::graphql(&bytes, None),
            woocommerce::read(&bytes, None),
            magento::read(&bytes, None),
        ] {
            if let Err(e) = r {
                prop_assert!(!e.at.is_empty() && !e.problem.is_empty(), "{e}");
            }
        }
    }
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    read_all(deep.as_bytes());
    let deep_obj = format!("{}1{}", "{\"a\":".repeat(50_000), "}".repeat(50_000));
    read_all(deep_obj.as_bytes());
}
