//! The marketplace, EDI and file readers on arbitrary bytes and on mutated corpus documents:
//! they may refuse, never panic. (The fuzz targets in `fuzz/` do the same, longer.)

use proptest::prelude::*;
use waypost_orders::ChannelOrder;
use waypost_orders::channels::{amazon, generic, tabular, x12};

const SEEDS: &[&[u8]] = &[
    include_bytes!("../corpus/amazon/prime-unshipped.orders.json"),
    include_bytes!("../corpus/amazon/prime-unshipped.items-113-4827160-3390617.json"),
    include_bytes!("../corpus/amazon/pending.orders.json"),
    include_bytes!("../corpus/amazon/canceled.items-114-0095327-8811451.json"),
    include_bytes!("../corpus/x12/pgw-replace.edi"),
    include_bytes!("../corpus/x12/adobe-tlp.edi"),
    include_bytes!("../corpus/x12/two-sets.edi"),
    include_bytes!("../corpus/x12/cancel.edi"),
    include_bytes!("../corpus/csv/shop-export.csv"),
];

const MAP: &str = include_str!("../corpus/csv/shop-export.map.toml");

/// Every reader of this part on one input.
fn all_readers(bytes: &[u8]) {
    if let Ok(page) = amazon::orders(bytes, Some("SELLER")) {
        for o in page.orders {
            let _ = amazon::items(o, bytes);
        }
    }
    let order = ChannelOrder {
        external_id: "113-4827160-3390617".into(),
        ..ChannelOrder::default()
    };
    let _ = amazon::items(order, bytes);
    for implied in [None, Some(2)] {
        let opts = x12::X12Options {
            implied_decimals: implied,
            ..x12::X12Options::default()
        };
        if let Ok(ix) = x12::read(bytes, &opts) {
            let _ = x12::ack_997(&ix, "ME", 1, "20261201", "1200");
        }
    }
    let map: tabular::ColumnMap = toml::from_str(MAP).expect("map");
    let _ = tabular::csv(bytes, &map);
    let _ = tabular::jsonl(bytes);
    let _ = generic::read(bytes);
}

/// A corpus document with a few bytes changed, cut or repeated.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    (
        0..SEEDS.len(),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..8),
    )
        .prop_map(|(seed, edits)| {
            let mut doc = SEEDS[seed].to_vec();
            for (at, byte, how) in edits {
                if doc.is_empty() {
                    break;
                }
                let i = at.index(doc.len());
                match how {
                    0 => doc[i] = byte,
                    1 => doc.truncate(i),
                    2 => doc.insert(i, byte),
                    _ => {
                        // A separator or digit where something else was: the likely damage.
                        let pick = b"*~|>\n\r\"{}[],:0919.-E";
                        doc[i] = pick[usize::from(byte) % pick.len()];
                    }
                }
            }
            doc
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        all_readers(&bytes);
    }

    #[test]
    fn mutated_corpus_documents(doc in mutated()) {
        all_readers(&doc);
    }

    #[test]
    fn an_isa_followed_by_anything(tail in prop::collection::vec(any::<u8>(), 0..300)) {
        let mut doc = b"ISA*00*          *00*          *01*1              *01*2              *261201*1200*U*00401*000000001*0*P*>~".to_vec();
        doc.extend(tail);
        all_readers(&doc);
    }
}
