//! Structure-aware mutations of corpus documents: edits that keep most of a document valid so
//! the parser gets deep before it meets the damage.

use proptest::prelude::*;

/// Pieces of every format this crate reads, spliced anywhere: a JSON parser meeting XML is as
/// interesting as one meeting a stray brace.
const FRAGMENTS: &[&str] = &[
    // JSON
    "{",
    "}",
    "[",
    "]",
    "{}",
    "[]",
    "null",
    "\"\"",
    ",",
    ":",
    "\"x\":",
    "true",
    "-0",
    "1e999",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "\"\\\\\"",
    ",\"extra\":{\"nested\":[1,2,{\"a\":null}]}",
    "\"date\":\"2024-13-45T25:61:61+99:99\",",
    "{\"events\":[{}]}",
    // XML
    "<x/>",
    "</",
    "<",
    ">",
    "<![CDATA[ ]]>",
    "&amp;",
    "&bogus;",
    "&#0;",
    "&#x110000;",
    "<?xml version=\"1.0\"?>",
    "<!DOCTYPE a [<!ENTITY e \"x\">]>",
    "<a b=\"c\">",
    " xmlns:x=\"urn:x\"",
    "<!-- c -->",
    "<Date>2024-02-30</Date>",
    // X12
    "~",
    "*",
    "^",
    "|",
    ">",
    "ISA*00*",
    "GS*QM*A*B*20240101*1200*1*X*004010~",
    "ST*214*0001~",
    "ST*856*0001~",
    "BSN*00*X*20240101*1200~",
    "SE*1*0001~",
    "LX*1~",
    "AT7*X1*NS***20240101*1200*LT~",
    "AT7*******~",
    "HL*1**S~",
    "HL*2*1*O~",
    "HL*3*2*P~",
    "MAN*CP*1Z~",
    "PRF*PO~",
    "MS1*CITY*ST*US~",
    "DTM*011*20241399*2599*ZZ~",
    "GE*1*1~IEA*1*000000001~",
    // CSV / JSON lines
    "\n",
    "\r\n",
    "\"",
    "\"\"",
    "event_id,event_type,occurred_at,order_id\n",
];

const HUGE_NUMBERS: &[&str] = &[
    "99999999999999999999999999999999",
    "18446744073709551616",
    "-9223372036854775809",
    "1e400",
    "-1e-400",
    "1.7976931348623157e309",
    "0.0000000000000000000000000000000001",
    "000000000000000000000000000000000001",
    "-0",
    "NaN",
    "Infinity",
];

const NON_ASCII: &[&str] = &[
    "\u{e9}",
    "\u{65e5}\u{672c}",
    "\u{200b}",
    "\u{202e}",
    "\u{1f4e6}",
    "\u{feff}",
    "\u{0}",
    "\u{7f}",
    "\u{130}",
    "\u{df}",
    "\u{2028}",
];

const INVALID_UTF8: &[&[u8]] = &[
    b"\xff",
    b"\xc3",
    b"\xe6\x97",
    b"\xf0\x9f\x93",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\x80",
];

/// One edit. Positions and lengths are raw random numbers, reduced modulo the document's
/// current length when applied, so a mutation always lands inside whatever the earlier ones
/// left.
#[derive(Debug, Clone)]
pub enum Mutation {
    Truncate(usize),
    Delete(usize, usize),
    Duplicate(usize, usize),
    Swap(usize, usize, usize),
    ReplaceByte(usize, u8),
    Insert(usize, usize),
    TimestampDigit(usize, u8),
    DeepNesting(usize, usize),
    HugeNumber(usize, usize),
    NonAscii(usize, usize),
    InvalidUtf8(usize, usize),
}

pub fn mutation() -> impl Strategy<Value = Mutation> {
    let n = any::<usize>;
    prop_oneof![
        n().prop_map(Mutation::Truncate),
        (n(), n()).prop_map(|(a, b)| Mutation::Delete(a, b)),
        (n(), n()).prop_map(|(a, b)| Mutation::Duplicate(a, b)),
        (n(), n(), n()).prop_map(|(a, b, c)| Mutation::Swap(a, b, c)),
        (n(), any::<u8>()).prop_map(|(a, b)| Mutation::ReplaceByte(a, b)),
        (n(), n()).prop_map(|(a, b)| Mutation::Insert(a, b)),
        (n(), any::<u8>()).prop_map(|(a, b)| Mutation::TimestampDigit(a, b)),
        (n(), n()).prop_map(|(a, b)| Mutation::DeepNesting(a, b)),
        (n(), n()).prop_map(|(a, b)| Mutation::HugeNumber(a, b)),
        (n(), n()).prop_map(|(a, b)| Mutation::NonAscii(a, b)),
        (n(), n()).prop_map(|(a, b)| Mutation::InvalidUtf8(a, b)),
    ]
}

/// A span length: mostly short (a token), sometimes a large part of the document.
fn span(len: usize, raw: usize) -> usize {
    if len == 0 {
        return 0;
    }
    if raw.is_multiple_of(4) {
        (raw / 4) % len + 1
    } else {
        (raw / 4) % 32 + 1
    }
}

/// Runs of ASCII digits, as (start, end).
fn digit_runs(doc: &[u8]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut start = None;
    for (i, b) in doc.iter().enumerate() {
        match (b.is_ascii_digit(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                runs.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        runs.push((s, doc.len()));
    }
    runs
}

/// 10,000 levels of whatever nesting the formats have: JSON arrays and objects (balanced or
/// not), XML elements, and an X12 HL hierarchy where each level is the child of the previous.
fn deep(kind: usize) -> Vec<u8> {
    const LEVELS: usize = 10_000;
    match kind % 6 {
        0 => "[".repeat(LEVELS).into_bytes(),
        1 => format!("{}1{}", "[".repeat(LEVELS), "]".repeat(LEVELS)).into_bytes(),
        2 => format!("{}1{}", "{\"a\":".repeat(LEVELS), "}".repeat(LEVELS)).into_bytes(),
        3 => "<a>".repeat(LEVELS).into_bytes(),
        4 => format!("{}x{}", "<a>".repeat(LEVELS), "</a>".repeat(LEVELS)).into_bytes(),
        _ => {
            let mut s = String::from("HL*1**S~");
            for i in 2..=LEVELS {
                s.push_str(&format!("HL*{i}*{}*O~", i - 1));
            }
            s.into_bytes()
        }
    }
}

pub fn apply(doc: &mut Vec<u8>, m: &Mutation) {
    let len = doc.len();
    let at = |raw: usize| if len == 0 { 0 } else { raw % (len + 1) };
    match *m {
        Mutation::Truncate(p) => doc.truncate(at(p)),
        Mutation::Delete(p, l) => {
            let start = at(p);
            let end = (start + span(len, l)).min(len);
            doc.drain(start..end);
        }
        Mutation::Duplicate(p, l) => {
            let start = at(p);
            let end = (start + span(len, l)).min(len);
            let copy = doc[start..end].to_vec();
            doc.splice(end..end, copy);
        }
        Mutation::Swap(a, b, l) => {
            if len < 2 {
                return;
            }
            let (mut x, mut y) = (a % len, b % len);
            if x > y {
                std::mem::swap(&mut x, &mut y);
            }
            let l = span(len, l).min(y - x).min(len - y);
            if l == 0 {
                return;
            }
            let first = doc[x..x + l].to_vec();
            let second = doc[y..y + l].to_vec();
            doc.splice(y..y + l, first);
            doc.splice(x..x + l, second);
        }
        Mutation::ReplaceByte(p, b) => {
            if len > 0 {
                doc[p % len] = b;
            }
        }
        Mutation::Insert(p, f) => {
            let p = at(p);
            doc.splice(p..p, FRAGMENTS[f % FRAGMENTS.len()].bytes());
        }
        Mutation::TimestampDigit(p, d) => {
            // Digits in runs of two or more are dates, times, offsets and codes: where the
            // calendar arithmetic lives.
            let digits: Vec<usize> = digit_runs(doc)
                .into_iter()
                .filter(|(s, e)| e - s >= 2)
                .flat_map(|(s, e)| s..e)
                .collect();
            if let Some(&i) = digits.get(p % digits.len().max(1)) {
                doc[i] = b'0' + d % 10;
            }
        }
        Mutation::DeepNesting(p, kind) => {
            let p = at(p);
            doc.splice(p..p, deep(kind));
        }
        Mutation::HugeNumber(p, which) => {
            let huge: Vec<u8> = if which % (HUGE_NUMBERS.len() + 1) == HUGE_NUMBERS.len() {
                "9".repeat(20_000).into_bytes()
            } else {
                HUGE_NUMBERS[which % HUGE_NUMBERS.len()].as_bytes().to_vec()
            };
            let runs = digit_runs(doc);
            match runs.get(p % runs.len().max(1)) {
                Some(&(s, e)) => {
                    doc.splice(s..e, huge);
                }
                None => {
                    let p = at(p);
                    doc.splice(p..p, huge);
                }
            }
        }
        Mutation::NonAscii(p, which) => {
            let p = at(p);
            doc.splice(p..p, NON_ASCII[which % NON_ASCII.len()].bytes());
        }
        Mutation::InvalidUtf8(p, which) => {
            let p = at(p);
            doc.splice(
                p..p,
                INVALID_UTF8[which % INVALID_UTF8.len()].iter().copied(),
            );
        }
    }
}
