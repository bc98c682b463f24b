//! The real-document corpus (`corpus/<channel>/`): every document read by its channel's reader
//! must give exactly the orders its `.expected.json` states, and every document must name the
//! real one it follows (`.origin.toml`). A case is the files sharing a stem: `NAME.json` (or
//! `.edi`, `.csv`, `.jsonl`), or for channels that need several fetches one file per part,
//! `NAME.PART.json` (BigCommerce `order`, `products`, `shipping_addresses`; Amazon `orders`,
//! `items-<AmazonOrderId>`). Optional `NAME.meta.toml` gives what the transport would (headers).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use waypost_orders::ChannelOrder;
use waypost_orders::channels::{self, ReadError};

/// A case's parts: part name (`""` for a single-file case) → bytes; and its meta, if any.
struct Case {
    name: String,
    parts: BTreeMap<String, Vec<u8>>,
    meta: toml::Table,
}

fn read_case(channel: &str, case: &Case) -> Result<Vec<ChannelOrder>, ReadError> {
    match channel {
        // Each channel's reader is wired here as it lands.
        "amazon" => {
            // `NAME.orders.json` is the getOrders page; `NAME.items-<AmazonOrderId>.json` each
            // order's getOrderItems page; `NAME.meta.toml` may name the `seller`.
            use waypost_orders::channels::amazon;
            let seller = case.meta.get("seller").and_then(|v| v.as_str());
            let page = amazon::orders(part(case, "orders"), seller)?;
            let mut out = Vec::new();
            for order in page.orders {
                let key = format!("items-{}", order.external_id);
                out.push(match case.parts.get(&key) {
                    Some(items) => amazon::items(order, items)?.0,
                    None => order,
                });
            }
            Ok(out)
        }
        "x12" => {
            // Every set read to an order; refused sets are checked in the x12 unit tests
            // (the 997 names them). `NAME.meta.toml` may give `sku_qualifiers` and
            // `implied_decimals`.
            use waypost_orders::channels::x12;
            let mut opts = x12::X12Options::default();
            if let Some(q) = case.meta.get("sku_qualifiers").and_then(|v| v.as_array()) {
                opts.sku_qualifiers = q
                    .iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect();
            }
            opts.implied_decimals = case
                .meta
                .get("implied_decimals")
                .and_then(|v| v.as_integer())
                .and_then(|n| u32::try_from(n).ok());
            let ix = x12::read(part(case, ""), &opts)?;
            Ok(ix
                .groups
                .into_iter()
                .flat_map(|g| g.sets)
                .filter_map(|s| s.result.ok())
                .collect())
        }
        "csv" => {
            // `NAME.csv` with its column map `NAME.map.toml`; refused rows are asserted in
            // tests/tabular.rs.
            use waypost_orders::channels::tabular;
            let map: tabular::ColumnMap =
                toml::from_str(std::str::from_utf8(part(case, "map")).expect("the map is text"))
                    .expect("the column map parses");
            let read = tabular::csv(part(case, ""), &map)?;
            Ok(read.orders.into_iter().map(|(_, o)| o).collect())
        }
        // -- web shops (chan-a): shopify, woocommerce, bigcommerce, magento --
        "shopify" => {
            let shop = meta_str(case, "shop_domain");
            match (case.parts.get("graphql"), case.parts.get("")) {
                (Some(body), _) => channels::shopify::graphql(body, shop),
                (None, Some(body)) => channels::shopify::rest(body, shop),
                _ => panic!("shopify/{}: no NAME.json or NAME.graphql.json", case.name),
            }
        }
        "woocommerce" => {
            let body = part(case, "");
            channels::woocommerce::read(body, meta_str(case, "source"))
        }
        "bigcommerce" => channels::bigcommerce::read(
            part(case, "order"),
            part(case, "products"),
            part(case, "shipping_addresses"),
            meta_str(case, "store"),
        ),
        "magento" => channels::magento::read(part(case, ""), meta_str(case, "base")),
        // -- end of web shops --
        other => panic!("corpus/{other}: no reader is wired for this channel in tests/corpus.rs"),
    }
}

/// A string from the case's `.meta.toml` (what the transport's headers would say).
fn meta_str<'a>(case: &'a Case, key: &str) -> Option<&'a str> {
    case.meta.get(key).and_then(|v| v.as_str())
}

/// A part the case must have.
fn part<'a>(case: &'a Case, name: &str) -> &'a [u8] {
    match case.parts.get(name) {
        Some(b) => b,
        None => panic!("{}: no part {name:?}", case.name),
    }
}

fn cases(dir: &Path) -> Vec<Case> {
    let mut by_stem: BTreeMap<String, Case> = BTreeMap::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    entries.sort();
    for p in entries {
        let Some(file) = p.file_name().and_then(|f| f.to_str()).map(str::to_string) else {
            continue;
        };
        if p.is_dir() || file.ends_with(".origin.toml") || file.ends_with(".expected.json") {
            continue;
        }
        let mut bits: Vec<&str> = file.split('.').collect();
        if bits.len() < 2 {
            continue;
        }
        bits.pop(); // extension
        let stem = bits[0].to_string();
        let part = bits[1..].join(".");
        let case = by_stem.entry(stem.clone()).or_insert_with(|| Case {
            name: stem,
            parts: BTreeMap::new(),
            meta: toml::Table::new(),
        });
        let bytes = std::fs::read(&p).unwrap_or_default();
        if part == "meta" {
            case.meta = String::from_utf8_lossy(&bytes).parse().unwrap_or_default();
        } else {
            case.parts.insert(part, bytes);
        }
    }
    by_stem.into_values().collect()
}

#[test]
fn every_corpus_document_reads_to_its_expected_orders() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut channels: Vec<PathBuf> = std::fs::read_dir(&root)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    channels.retain(|p| p.is_dir());
    channels.sort();
    let mut failures = Vec::new();
    let mut total = 0;
    for dir in channels {
        let channel = dir
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or_default()
            .to_string();
        for case in cases(&dir) {
            total += 1;
            let origin = dir.join(format!("{}.origin.toml", case.name));
            let follows = std::fs::read_to_string(&origin)
                .ok()
                .and_then(|s| s.parse::<toml::Table>().ok())
                .and_then(|t| t.get("follows").cloned());
            if follows.is_none() {
                failures.push(format!(
                    "{channel}/{}: no .origin.toml with [[follows]]",
                    case.name
                ));
            }
            let expected = dir.join(format!("{}.expected.json", case.name));
            let want: serde_json::Value = match std::fs::read(&expected)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
            {
                Some(v) => v,
                None => {
                    failures.push(format!(
                        "{channel}/{}: no readable .expected.json",
                        case.name
                    ));
                    continue;
                }
            };
            let got = match read_case(&channel, &case) {
                Ok(orders) => serde_json::to_value(&orders).unwrap_or_default(),
                Err(e) => serde_json::json!({ "error": e.to_string() }),
            };
            if got != want {
                failures.push(format!(
                    "{channel}/{}:\n  want {}\n   got {}",
                    case.name, want, got
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} corpus cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
