//! What goes back to the trading partner: the 997 functional acknowledgment (per group, set
//! by set) and the 855 purchase-order acknowledgment (per PO, line by line).
//!
//! Both are written with `*` between elements, `>` as component separator and `~` ending
//! segments, in a fixed-width ISA, whatever separators the partner used: X12 lets each side
//! choose its own.

use super::{Interchange, SetError};
use crate::model::{ChannelOrder, Hint};
use jiff::Timestamp;
use rust_decimal::Decimal;

/// Values must not contain our separators: a stray `*` would shift every element after it.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            if matches!(c, '*' | '~' | '>' | '\n' | '\r') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// A fixed-width field: padded with spaces, cut when too long.
fn fixed(s: &str, width: usize) -> String {
    let s: String = clean(s).chars().take(width).collect();
    format!("{s:<width$}")
}

/// Collects segments and counts those inside the current ST…SE.
struct Writer {
    out: String,
    in_set: usize,
}

impl Writer {
    fn seg(&mut self, els: &[&str]) {
        let cleaned: Vec<String> = els.iter().map(|e| clean(e)).collect();
        // Trailing empty elements are dropped, as X12 requires.
        let keep = cleaned
            .iter()
            .rposition(|e| !e.is_empty())
            .map_or(0, |p| p + 1);
        self.out.push_str(&cleaned[..keep].join("*"));
        self.out.push_str("~\n");
        self.in_set += 1;
    }
}

#[allow(clippy::too_many_arguments)]
fn isa(
    w: &mut Writer,
    sender_q: &str,
    sender: &str,
    receiver_q: &str,
    receiver: &str,
    date: &str,
    time: &str,
    control: u32,
    test: bool,
) {
    // The ISA is written whole: its elements are fixed width and ISA16 is the component
    // separator itself.
    let yymmdd = date.get(2..8).unwrap_or("000000");
    w.out.push_str(&format!(
        "ISA*00*{}*00*{}*{}*{}*{}*{}*{}*{}*U*00401*{:09}*0*{}*>~\n",
        fixed("", 10),
        fixed("", 10),
        fixed(if sender_q.is_empty() { "ZZ" } else { sender_q }, 2),
        fixed(sender, 15),
        fixed(
            if receiver_q.is_empty() {
                "ZZ"
            } else {
                receiver_q
            },
            2
        ),
        fixed(receiver, 15),
        fixed(yymmdd, 6),
        fixed(time, 4),
        control % 1_000_000_000,
        if test { "T" } else { "P" },
    ));
}

/// A 997 acknowledging every group of `ix`, addressed back to its sender: each set accepted
/// (`AK5*A`) or rejected (`AK5*R` with the AK3/AK4 of its errors), each group's AK9 `A`, `P`
/// (partly accepted), `E` (accepted with envelope errors) or `R`. `control` numbers the ISA,
/// GS and (with the group's index) the ST; `now_date` is `CCYYMMDD`, `now_time` `HHMM`.
pub fn ack_997(
    ix: &Interchange,
    sender: &str,
    control: u32,
    now_date: &str,
    now_time: &str,
) -> String {
    let mut w = Writer {
        out: String::new(),
        in_set: 0,
    };
    isa(
        &mut w,
        &ix.receiver_qualifier,
        sender,
        &ix.sender_qualifier,
        &ix.sender,
        now_date,
        now_time,
        control,
        ix.test,
    );
    let ctl = control.to_string();
    w.seg(&[
        "GS", "FA", sender, &ix.sender, now_date, now_time, &ctl, "X", "004010",
    ]);
    for (gi, g) in ix.groups.iter().enumerate() {
        let st02 = format!("{:04}", gi + 1);
        w.in_set = 0;
        w.seg(&["ST", "997", &st02]);
        w.seg(&["AK1", &g.functional_id, &g.control]);
        let mut accepted = 0;
        for s in &g.sets {
            w.seg(&["AK2", &s.kind, &s.control]);
            match &s.result {
                Ok(_) => {
                    accepted += 1;
                    w.seg(&["AK5", "A"]);
                }
                Err(errors) => {
                    let mut codes: Vec<&str> = Vec::new();
                    for e in errors {
                        if e.is_envelope() {
                            codes.push(&e.code);
                        } else {
                            segment_error(&mut w, e);
                            codes.push("5");
                        }
                    }
                    codes.dedup();
                    codes.sort_unstable();
                    codes.dedup();
                    codes.truncate(5);
                    let mut ak5 = vec!["AK5", "R"];
                    ak5.extend(codes);
                    w.seg(&ak5);
                }
            }
        }
        let n = g.sets.len().to_string();
        let ok = accepted.to_string();
        let status = match (accepted, g.problems.is_empty()) {
            (0, _) if !g.sets.is_empty() => "R",
            (a, true) if a == g.sets.len() => "A",
            (a, false) if a == g.sets.len() => "E",
            _ => "P",
        };
        let mut ak9 = vec!["AK9", status, &n, &n, &ok];
        let mut codes: Vec<&str> = g.problems.iter().map(|p| p.code.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        codes.truncate(5);
        ak9.extend(codes);
        w.seg(&ak9);
        let count = (w.in_set + 1).to_string();
        w.seg(&["SE", &count, &st02]);
    }
    w.seg(&["GE", &ix.groups.len().to_string(), &ctl]);
    w.seg(&["IEA", "1", &format!("{:09}", control % 1_000_000_000)]);
    w.out
}

fn segment_error(w: &mut Writer, e: &SetError) {
    let pos = e.position.to_string();
    match e.element {
        None => w.seg(&["AK3", &e.segment, &pos, "", &e.code]),
        Some(el) => {
            w.seg(&["AK3", &e.segment, &pos, "", "8"]);
            w.seg(&["AK4", &el.to_string(), "", &e.code]);
        }
    }
}

/// How a line is acknowledged in an 855.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineAck {
    /// `IA`: accepted.
    Accepted,
    /// `IB`: backordered.
    Backordered,
    /// `IR`: rejected.
    Rejected,
}

impl LineAck {
    pub fn code(self) -> &'static str {
        match self {
            LineAck::Accepted => "IA",
            LineAck::Backordered => "IB",
            LineAck::Rejected => "IR",
        }
    }
}

/// One acknowledged line: the PO1 echoed and its ACK.
#[derive(Debug, Clone, PartialEq)]
pub struct Ack855Line {
    /// PO101 of the line acknowledged.
    pub line: String,
    pub status: LineAck,
    pub quantity: Decimal,
    pub uom: String,
    pub unit_price: Option<Decimal>,
    pub sku_qualifier: String,
    pub sku: String,
}

/// The 855's envelope: who sends, to whom, its control number and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope855 {
    pub sender: String,
    pub receiver: String,
    pub control: u32,
    /// `CCYYMMDD`.
    pub date: String,
    /// `HHMM`.
    pub time: String,
}

fn ymd(t: Timestamp) -> (String, String) {
    let z = t.to_zoned(jiff::tz::TimeZone::UTC);
    (
        z.strftime("%Y%m%d").to_string(),
        z.strftime("%H%M").to_string(),
    )
}

/// An 855 for `po`: BAK (`bak02` AD, AC or RJ), DTM*017 with the promise, the ship-to location
/// code when the PO gave one, each line's PO1 and ACK, CTT, inside ISA/GS PR.
pub fn ack_855(
    po: &ChannelOrder,
    lines: &[Ack855Line],
    bak02: &str,
    promised: Option<Timestamp>,
    env: &Envelope855,
) -> String {
    let mut w = Writer {
        out: String::new(),
        in_set: 0,
    };
    let test = po.hints.contains(&Hint::Test);
    isa(
        &mut w,
        "ZZ",
        &env.sender,
        "ZZ",
        &env.receiver,
        &env.date,
        &env.time,
        env.control,
        test,
    );
    let ctl = env.control.to_string();
    w.seg(&[
        "GS",
        "PR",
        &env.sender,
        &env.receiver,
        &env.date,
        &env.time,
        &ctl,
        "X",
        "004010",
    ]);
    w.in_set = 0;
    w.seg(&["ST", "855", "0001"]);
    let po_date = po.created_at.map(|t| ymd(t).0).unwrap_or_default();
    let seller_ref = po.order_id.clone().unwrap_or_default();
    w.seg(&[
        "BAK",
        "00",
        bak02,
        &po.external_id,
        &po_date,
        "",
        "",
        "",
        &seller_ref,
        &env.date,
    ]);
    if let Some(t) = promised {
        let (d, tm) = ymd(t);
        w.seg(&["DTM", "017", &d, &tm, "UT"]);
    }
    if let Some(code) = po.ship_to.as_ref().and_then(|a| a.location_code.as_deref()) {
        w.seg(&["N1", "ST", "", "92", code]);
    }
    let mut hash = Decimal::ZERO;
    for l in lines {
        hash = hash.checked_add(l.quantity).unwrap_or(hash);
        let qty = l.quantity.normalize().to_string();
        let price = l
            .unit_price
            .map(|p| p.normalize().to_string())
            .unwrap_or_default();
        let basis = if l.unit_price.is_some() { "PE" } else { "" };
        w.seg(&[
            "PO1",
            &l.line,
            &qty,
            &l.uom,
            &price,
            basis,
            &l.sku_qualifier,
            &l.sku,
        ]);
        w.seg(&["ACK", l.status.code(), &qty, &l.uom]);
    }
    w.seg(&[
        "CTT",
        &lines.len().to_string(),
        &hash.normalize().to_string(),
    ]);
    let count = (w.in_set + 1).to_string();
    w.seg(&["SE", &count, "0001"]);
    w.seg(&["GE", "1", &ctl]);
    w.seg(&["IEA", "1", &format!("{:09}", env.control % 1_000_000_000)]);
    w.out
}
