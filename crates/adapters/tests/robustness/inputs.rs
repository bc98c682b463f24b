//! Inputs for the robustness tests: random bytes in bulk, and deterministic pathological
//! shapes at the 64 KiB the random inputs go up to.

use proptest::prelude::*;

/// Largest random input, and the size of every pathological shape.
pub const MAX_ARBITRARY: usize = 64 * 1024;

/// A cheap deterministic generator: proptest's per-byte strategies are too slow for 64 KiB
/// inputs in a debug build, so big inputs are drawn from a seed.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Alphabets that keep random input inside the lexer of each format for longer than uniform
/// bytes would.
const ALPHABETS: [&[u8]; 5] = [
    b"",
    b"{}[]\":,0123456789.eE+-tfnrulasx \n\\",
    b"<>/=\"' ?!-[]abcdeTrackingEvent&;#x0123456789\n",
    b"ISAGSTE*~^>:|0123456789ATMS HL\n",
    b"event_id,order_id\"\r\n0123456789-:TZ ",
];

fn big_input(seed: u64, len: usize, alphabet: usize) -> Vec<u8> {
    let mut rng = SplitMix(seed);
    let chars = ALPHABETS[alphabet % ALPHABETS.len()];
    (0..len)
        .map(|_| {
            let r = rng.next();
            if chars.is_empty() {
                r as u8
            } else {
                chars[(r % chars.len() as u64) as usize]
            }
        })
        .collect()
}

pub fn arbitrary_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        prop::collection::vec(any::<u8>(), 0..512),
        (any::<u64>(), 0..=MAX_ARBITRARY, 0..ALPHABETS.len())
            .prop_map(|(seed, len, alphabet)| big_input(seed, len, alphabet)),
    ]
}

// Pathological shapes, deterministic: each one at the 64 KiB the arbitrary-bytes test goes up
// to, for every source, so a quadratic corner shows up as a timeout rather than by luck.

pub fn pathological() -> Vec<(&'static str, Vec<u8>)> {
    const N: usize = MAX_ARBITRARY;
    let fill = |unit: &str| unit.repeat(N / unit.len()).into_bytes();
    let mut isa = b"ISA*00*          *00*          *ZZ*A              *ZZ*B              *240101*1200*U*00401*000000001*0*P*>~GS*QM*A*B*20240101*1200*1*X*004010~".to_vec();
    let mut x214 = isa.clone();
    x214.extend_from_slice(b"ST*214*0001~B10*PRO1*BOL1*SCAC~");
    while x214.len() < N {
        x214.extend_from_slice(b"LX*1~AT7*X1*NS***20240101*1200*ET~MS1*ATLANTA*GA*US~");
    }
    // Closed, so the parser reads to the end instead of stopping at the first problem.
    let close = b"SE*1*0001~GE*1*1~IEA*1*000000001~";
    x214.extend_from_slice(close);
    isa.extend_from_slice(
        b"ST*856*0001~BSN*00*S*20240101*1200~HL*1**S~DTM*011*20240101*1200*ET~HL*2*1*P~",
    );
    let mut many_packs = isa.clone();
    let mut i = 0;
    while many_packs.len() < N / 2 {
        many_packs.extend_from_slice(format!("MAN*CP*1Z{i}~").as_bytes());
        i += 1;
    }
    let mut i = 3;
    while many_packs.len() < N {
        many_packs.extend_from_slice(format!("HL*{i}*2*O~PRF*PO~").as_bytes());
        i += 1;
    }
    many_packs.extend_from_slice(close);
    vec![
        ("empty", Vec::new()),
        ("whitespace", fill(" ")),
        ("open brackets", fill("[")),
        ("open braces", fill("{\"a\":")),
        (
            "one long string",
            format!("\"{}\"", "a".repeat(N)).into_bytes(),
        ),
        (
            "many empty objects",
            format!("[{}{{}}]", "{},".repeat(N / 3)).into_bytes(),
        ),
        ("json lines of objects", fill("{}\n")),
        ("open elements", fill("<a>")),
        (
            "attributes",
            format!("<a {}/>", "b=\"c\" ".repeat(N / 6)).into_bytes(),
        ),
        ("entities", fill("&amp;")),
        ("csv commas", fill(",")),
        ("csv quotes", fill("\"")),
        ("csv newlines", fill("\n")),
        ("x12 segments", x214),
        ("x12 tildes", fill("~")),
        ("x12 one pack many orders", many_packs),
        ("nul bytes", vec![0; N]),
        ("invalid utf-8", vec![0xff; N]),
    ]
}
