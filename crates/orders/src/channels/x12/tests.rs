use super::*;
use crate::model::ChannelState;

const TWO_SETS: &[u8] = include_bytes!("../../../corpus/x12/two-sets.edi");
const PGW: &[u8] = include_bytes!("../../../corpus/x12/pgw-replace.edi");
const ADOBE: &[u8] = include_bytes!("../../../corpus/x12/adobe-tlp.edi");

/// A small splitter for what our writers emit: `*` elements, `~` segments.
fn split(doc: &str) -> Vec<Vec<String>> {
    doc.split('~')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.split('*').map(String::from).collect())
        .collect()
}

fn find<'a>(segs: &'a [Vec<String>], id: &str) -> Vec<&'a Vec<String>> {
    segs.iter().filter(|s| s[0] == id).collect()
}

/// Every ST…SE's SE01 equals its segment count, GE01 its sets, IEA01 its groups.
fn envelope_counts_hold(segs: &[Vec<String>]) {
    let mut st_at = None;
    let mut sets = 0;
    let mut groups = 0;
    for (i, s) in segs.iter().enumerate() {
        match s[0].as_str() {
            "ST" => st_at = Some(i),
            "SE" => {
                let n = i - st_at.expect("ST before SE") + 1;
                assert_eq!(s[1], n.to_string(), "SE01 at segment {i}");
                sets += 1;
            }
            "GE" => {
                assert_eq!(s[1], sets.to_string(), "GE01");
                sets = 0;
                groups += 1;
            }
            "IEA" => assert_eq!(s[1], groups.to_string(), "IEA01"),
            _ => {}
        }
    }
}

fn opts(implied: Option<u32>) -> X12Options {
    X12Options {
        implied_decimals: implied,
        ..X12Options::default()
    }
}

#[test]
fn the_wrong_se_count_refuses_that_set_only() {
    let ix = read(TWO_SETS, &opts(Some(2))).expect("reads");
    assert!(ix.test);
    assert_eq!(ix.sender, "HARBORFREIGHT01");
    let g = &ix.groups[0];
    assert_eq!(
        (g.functional_id.as_str(), g.control.as_str()),
        ("PO", "451")
    );
    assert_eq!(g.sets.len(), 2);
    assert!(g.sets[0].result.is_ok());
    let errs = g.sets[1].result.as_ref().expect_err("bad count");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(
        (errs[0].segment.as_str(), errs[0].code.as_str()),
        ("SE", "4")
    );
    assert!(
        errs[0].problem.contains("SE01 says 12"),
        "{}",
        errs[0].problem
    );
}

#[test]
fn the_997_rejects_the_bad_set_and_accepts_the_good() {
    let ix = read(TWO_SETS, &opts(Some(2))).expect("reads");
    let ack = ack_997(&ix, "WAYPOSTDEMO", 9001, "20261202", "0705");
    let segs = split(&ack);
    envelope_counts_hold(&segs);
    let isa = &segs[0];
    assert_eq!(isa.len(), 17);
    assert_eq!(isa[6].trim(), "WAYPOSTDEMO");
    assert_eq!(isa[8].trim(), "HARBORFREIGHT01");
    assert_eq!(isa[15], "T");
    // The ISA is fixed width: 106 characters with its terminator.
    assert_eq!(ack.find('~'), Some(105));
    assert_eq!(find(&segs, "GS")[0][1], "FA");
    assert_eq!(find(&segs, "AK1")[0][1..], ["PO", "451"]);
    let ak2 = find(&segs, "AK2");
    assert_eq!(ak2[0][1..], ["850", "0001"]);
    assert_eq!(ak2[1][1..], ["850", "0002"]);
    let ak5 = find(&segs, "AK5");
    assert_eq!(ak5[0][1..], ["A"]);
    assert_eq!(ak5[1][1..], ["R", "4"]);
    assert_eq!(find(&segs, "AK9")[0][1..], ["P", "2", "2", "1"]);
}

#[test]
fn an_all_good_interchange_is_accepted() {
    let ix = read(PGW, &X12Options::default()).expect("reads");
    let segs = split(&ack_997(&ix, "009283617", 7, "20261130", "1500"));
    envelope_counts_hold(&segs);
    assert_eq!(find(&segs, "AK5")[0][1..], ["A"]);
    assert_eq!(find(&segs, "AK9")[0][1..], ["A", "1", "1", "1"]);
    assert_eq!(segs[0][15], "P");
}

#[test]
fn element_errors_give_ak3_and_ak4() {
    let bad = String::from_utf8_lossy(PGW).replace("CTT*3*17", "CTT*3*18");
    let ix = read(bad.as_bytes(), &X12Options::default()).expect("reads");
    let errs = ix.groups[0].sets[0].result.as_ref().expect_err("hash");
    assert_eq!(errs[0].segment, "CTT");
    assert_eq!(errs[0].element, Some(2));
    let segs = split(&ack_997(&ix, "009283617", 8, "20261130", "1500"));
    envelope_counts_hold(&segs);
    assert_eq!(find(&segs, "AK3")[0][1..], ["CTT", "28", "", "8"]);
    assert_eq!(find(&segs, "AK4")[0][1..], ["2", "", "7"]);
    assert_eq!(find(&segs, "AK5")[0][1..], ["R", "5"]);
    assert_eq!(find(&segs, "AK9")[0][1..], ["R", "1", "1", "0"]);
}

#[test]
fn the_855_acknowledges_each_line() {
    let ix = read(ADOBE, &X12Options::default()).expect("reads");
    let po = ix.groups[0].sets[0].result.clone().expect("po");
    let lines = vec![
        Ack855Line {
            line: "1".into(),
            status: LineAck::Accepted,
            quantity: 1.into(),
            uom: "EA".into(),
            unit_price: Some(665.into()),
            sku_qualifier: "BP".into(),
            sku: "12345678".into(),
        },
        Ack855Line {
            line: "1".into(),
            status: LineAck::Backordered,
            quantity: 1.into(),
            uom: "EA".into(),
            unit_price: Some(665.into()),
            sku_qualifier: "BP".into(),
            sku: "12345678".into(),
        },
    ];
    let env = Envelope855 {
        sender: "104417730TEST".into(),
        receiver: "007911209".into(),
        control: 31,
        date: "20261201".into(),
        time: "1010".into(),
    };
    let promised = "2026-12-05T17:00:00Z".parse().ok();
    let doc = ack_855(&po, &lines, "AC", promised, &env);
    let segs = split(&doc);
    envelope_counts_hold(&segs);
    assert_eq!(find(&segs, "GS")[0][1], "PR");
    assert_eq!(find(&segs, "ST")[0][1], "855");
    assert_eq!(
        find(&segs, "BAK")[0][1..5],
        ["00", "AC", "TLP-77120", "20261201"]
    );
    assert_eq!(
        find(&segs, "DTM")[0][1..],
        ["017", "20261205", "1700", "UT"]
    );
    assert_eq!(find(&segs, "N1")[0][1..], ["ST", "", "92", "NW_CAMPUS_12"]);
    let acks = find(&segs, "ACK");
    assert_eq!(acks[0][1..], ["IA", "1", "EA"]);
    assert_eq!(acks[1][1..], ["IB", "1", "EA"]);
    assert_eq!(
        find(&segs, "PO1")[0][1..],
        ["1", "1", "EA", "665", "PE", "BP", "12345678"]
    );
    assert_eq!(find(&segs, "CTT")[0][1..], ["2", "2"]);
    // What we write, we read back: the ISA is well formed.
    assert_eq!(doc.find('~'), Some(105));
}

#[test]
fn separators_come_from_the_isa() {
    // PGW's separators, then the same document on one line with others.
    let ix = read(PGW, &X12Options::default()).expect("pgw");
    let a = ix.groups[0].sets[0].result.clone().expect("order");
    let text = String::from_utf8_lossy(PGW)
        .lines()
        .map(str::trim)
        .collect::<String>()
        .replace('*', "^")
        .replace('|', "\u{1c}");
    // An information separator (common on the wire) ends segments as well as a '|'.
    let b = read(text.as_bytes(), &X12Options::default()).expect("one line, FS");
    assert_eq!(b.groups[0].sets[0].result.clone().expect("order"), a);
    let text = text.replace('\u{1c}', "!");
    let b = read(text.as_bytes(), &X12Options::default()).expect("one line");
    assert_eq!(b.groups[0].sets[0].result.clone().expect("order"), a);
}

#[test]
fn cancel_and_unknown_purpose() {
    let cancel = String::from_utf8_lossy(PGW).replace("BEG*05", "BEG*01");
    let ix = read(cancel.as_bytes(), &X12Options::default()).expect("reads");
    let o = ix.groups[0].sets[0].result.clone().expect("order");
    assert_eq!(o.state, ChannelState::Cancelled { reason: None });
    let odd = String::from_utf8_lossy(PGW).replace("BEG*05", "BEG*22");
    let ix = read(odd.as_bytes(), &X12Options::default()).expect("reads");
    let e = ix.groups[0].sets[0].result.clone().expect_err("refused");
    assert_eq!(
        (e[0].segment.as_str(), e[0].element, e[0].code.as_str()),
        ("BEG", Some(1), "7")
    );
}

#[test]
fn envelope_damage_is_named() {
    let cut = &PGW[..PGW.len() / 2];
    let e = read(cut, &X12Options::default()).expect_err("cut short");
    assert!(e.to_string().contains("GE"), "{e}");
    let e = read(b"GS*PO*1", &X12Options::default()).expect_err("no isa");
    assert!(e.to_string().contains("ISA"), "{e}");
    let wrong_iea = String::from_utf8_lossy(PGW).replace("IEA*1*", "IEA*2*");
    let e = read(wrong_iea.as_bytes(), &X12Options::default()).expect_err("iea");
    assert!(e.to_string().contains("IEA01"), "{e}");
}
