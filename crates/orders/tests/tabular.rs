//! CSV and JSON-lines uploads: what is refused, with which line and reason. The orders read
//! from the corpus file are checked by the corpus test; here, the refusals.

use waypost_orders::channels::tabular::{self, ColumnMap, RowError};

const CSV: &[u8] = include_bytes!("../corpus/csv/shop-export.csv");
const MAP: &str = include_str!("../corpus/csv/shop-export.map.toml");

fn map() -> ColumnMap {
    toml::from_str(MAP).expect("the corpus map parses")
}

fn row(line: u64, reason: &str) -> RowError {
    RowError {
        line,
        reason: reason.into(),
    }
}

#[test]
fn every_refused_row_is_named_with_its_line_and_reason() {
    let read = tabular::csv(CSV, &map()).expect("reads");
    let lines: Vec<u64> = read.orders.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, [2, 8, 10, 12]);
    assert_eq!(
        read.refused,
        [
            row(4, "empty SKU"),
            row(5, "order 1003 refused for its line 6"),
            row(6, "unit_price: \"12.3456\" has more than 2 decimal places"),
            row(
                7,
                "created_at: \"2026-12-01 14:20\" has no time zone, and the column map names none (set timezone)"
            ),
            row(
                9,
                "order 1001 already started at line 2: an order's rows must be adjacent"
            ),
        ]
    );
}

#[test]
fn a_zone_in_the_map_reads_local_times() {
    let mut m = map();
    m.timezone = Some("America/Los_Angeles".into());
    let read = tabular::csv(CSV, &m).expect("reads");
    let o = read
        .orders
        .iter()
        .find(|(_, o)| o.external_id == "1004")
        .expect("1004 now reads");
    assert_eq!(o.1.created_at, "2026-12-01T22:20:00Z".parse().ok());
}

#[test]
fn a_format_in_the_map_reads_us_dates() {
    let csv = b"Order,When,Qty,SKU\r\nA-1,12/01/2026 09:05,1,X\r\n";
    let m: ColumnMap = toml::from_str(
        "order_id = \"Order\"\nquantity = \"Qty\"\nsku = \"SKU\"\ncreated_at = \"When\"\ncreated_at_format = \"%m/%d/%Y %H:%M\"\ntimezone = \"America/Chicago\"\n",
    )
    .expect("map");
    let read = tabular::csv(csv, &m).expect("reads");
    assert_eq!(read.refused, []);
    assert_eq!(
        read.orders[0].1.created_at,
        "2026-12-01T15:05:00Z".parse().ok()
    );
}

#[test]
fn a_missing_column_refuses_the_file_naming_every_one() {
    let mut m = map();
    m.tax = Some("Tax".into());
    m.uom = Some("Unit".into());
    let e = tabular::csv(CSV, &m).expect_err("no such columns");
    let s = e.to_string();
    assert!(
        s.contains("\"Tax\" (for tax)") && s.contains("\"Unit\" (for uom)"),
        "{s}"
    );
}

#[test]
fn map_problems_come_all_at_once() {
    let m = ColumnMap {
        order_id: " ".into(),
        quantity: "Qty".into(),
        timezone: Some("Mars/Olympus".into()),
        tags_separator: Some(String::new()),
        created_at_format: Some("%Y".into()),
        ..ColumnMap::default()
    };
    let p = m.problems();
    assert_eq!(p.len(), 5, "{p:?}");
    assert!(
        toml::from_str::<ColumnMap>("order_id = \"A\"\nquantity = \"B\"\nsku_col = \"C\"\n")
            .is_err()
    );
}

#[test]
fn jsonl_reads_good_lines_and_refuses_bad_ones() {
    let body = concat!(
        "{\"order_id\":\"J-1\",\"lines\":[{\"sku\":\"A\",\"quantity\":1,\"unit_price\":\"9.99\"}]}\n",
        "\n",
        "{\"order_id\":\"J-2\",\"lines\":[{\"sku\":\"A\",\"quantity\":\"x\"}],\"colour\":1}\n",
        "not json\n",
        "{\"order_id\":\"J-3\",\"status\":\"cancelled\",\"created_at\":\"2026-12-01T10:00:00+02:00\"}\n",
    );
    let read = tabular::jsonl(body.as_bytes());
    let ids: Vec<(u64, &str)> = read
        .orders
        .iter()
        .map(|(l, o)| (*l, o.external_id.as_str()))
        .collect();
    assert_eq!(ids, [(1, "J-1"), (5, "J-3")]);
    assert_eq!(read.refused.len(), 2);
    assert_eq!(read.refused[0].line, 3);
    assert!(
        read.refused[0].reason.contains("lines[0].quantity"),
        "{:?}",
        read.refused
    );
    assert!(
        read.refused[0].reason.contains("colour: unknown field"),
        "{:?}",
        read.refused
    );
    assert_eq!(read.refused[1].line, 4);
}

#[test]
fn line_numbers_hold_with_lf_crlf_and_bom() {
    let m: ColumnMap = toml::from_str("order_id = \"O\"\nquantity = \"Q\"\n").expect("map");
    for b in [
        &b"O,Q\nA,1\n\nB,1\n"[..],
        &b"O,Q\r\nA,1\r\n\r\nB,1\r\n"[..],
        &b"\xef\xbb\xbfO,Q\r\nA,1\r\n\r\nB,1"[..],
    ] {
        let r = tabular::csv(b, &m).expect("reads");
        let lines: Vec<u64> = r.orders.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [2, 4], "{}", String::from_utf8_lossy(b));
    }
}
