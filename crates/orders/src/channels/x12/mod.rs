//! EDI X12 004010: purchase orders (850) in, functional (997) and purchase-order (855)
//! acknowledgments out.
//!
//! Separators come from the ISA itself (element separator at byte 3, the component separator
//! ISA16, the segment terminator right after it) and differ by trading partner: `*`/`|`/`~`,
//! `~`/newline/`>`, or a single line. Indentation and blank lines around segments are trimmed.
//! The envelope is checked (SE, GE and IEA counts and control numbers): a bad count makes that
//! transaction set an error, kept in the [`Interchange`] so the 997 can reject just that set,
//! never the whole file.

mod acks;
mod po850;

pub use acks::{Ack855Line, Envelope855, LineAck, ack_855, ack_997};

use crate::channels::common::{MAX_DOCUMENT_BYTES, ReadError};
use crate::model::ChannelOrder;

const CH: &str = "x12";

/// How a trading partner's 850s are read: a per-account agreement, not a constant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct X12Options {
    /// PO1 id qualifiers, in preference order: the first present gives the SKU, the others go
    /// to `alt_ids`.
    pub sku_qualifiers: Vec<String>,
    /// Prices sent without a decimal point carry this many implied decimals (`7700` → 77.00).
    pub implied_decimals: Option<u32>,
}

impl Default for X12Options {
    fn default() -> Self {
        X12Options {
            sku_qualifiers: ["VP", "BP", "UP", "MG", "CB"].map(String::from).to_vec(),
            implied_decimals: None,
        }
    }
}

/// One ISA…IEA envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct Interchange {
    /// ISA06, trimmed: the trading partner, which the tenant's settings map to an account.
    pub sender: String,
    /// ISA08, trimmed.
    pub receiver: String,
    /// ISA13.
    pub control: String,
    /// ISA15 is `T`.
    pub test: bool,
    pub groups: Vec<Group>,
    /// ISA05 and ISA07, the id qualifiers, so acknowledgments go back addressed alike.
    pub sender_qualifier: String,
    pub receiver_qualifier: String,
}

/// One GS…GE functional group.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// GS01 (`PO` for 850s).
    pub functional_id: String,
    /// GS06.
    pub control: String,
    pub sets: Vec<SetResult>,
    /// Group-level envelope problems (GE01 count, GE02 control number), as 997 AK9 codes.
    pub problems: Vec<SetError>,
}

/// One ST…SE transaction set: the order it states, or why it was refused.
#[derive(Debug, Clone, PartialEq)]
pub struct SetResult {
    /// ST02.
    pub control: String,
    /// ST01 (`850`).
    pub kind: String,
    pub result: Result<ChannelOrder, Vec<SetError>>,
}

/// What is wrong in a transaction set, in the terms a 997 reports it.
///
/// `code` is an AK3 segment code when `element` is `None`, an AK4 element code when it is
/// `Some`; for the set's own envelope (`segment` `ST` or `SE`) it is an AK5 code instead
/// (2 trailer missing, 3 control numbers differ, 4 segment count wrong).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetError {
    /// The segment id (`PO1`).
    pub segment: String,
    /// Its position in the set, ST being 1.
    pub position: usize,
    /// The element's position in the segment, when one element is at fault.
    pub element: Option<usize>,
    pub code: String,
    pub problem: String,
}

impl SetError {
    /// Whether this is about the set's envelope (reported in AK5, not AK3/AK4).
    pub fn is_envelope(&self) -> bool {
        self.segment == "ST" || self.segment == "SE"
    }
}

/// A segment as read: its elements (the id first) and where it was in the file.
#[derive(Debug, Clone)]
pub(crate) struct Seg<'a> {
    pub els: Vec<&'a str>,
    /// 1-based position in the file, for errors about the envelope.
    pub at: usize,
}

impl<'a> Seg<'a> {
    pub fn id(&self) -> &'a str {
        self.els.first().copied().unwrap_or("")
    }
    /// Element `n` (1-based), trimmed; `""` when absent.
    pub fn el(&self, n: usize) -> &'a str {
        self.els.get(n).map(|s| s.trim()).unwrap_or("")
    }
}

/// The separators an ISA declares, and where the ISA ends.
struct Separators {
    element: char,
    /// `None` when segments end at line ends.
    segment: Option<char>,
}

fn separators(text: &str) -> Result<(Separators, usize), ReadError> {
    let err = |p: &str| ReadError::new(CH, "segment 1 (ISA)", p.to_string());
    if !text.starts_with("ISA") {
        return Err(err("the document does not start with ISA"));
    }
    let mut chars = text.char_indices().skip(3);
    let element = match chars.next() {
        Some((_, c)) if c.is_ascii_punctuation() || c == '\u{1d}' || c == '|' => c,
        _ => return Err(err("no element separator after ISA")),
    };
    // ISA has 16 elements: after the 16th separator come ISA16 and the terminator.
    let mut seen = 1;
    for (_, c) in chars.by_ref() {
        if c == element {
            seen += 1;
            if seen == 16 {
                break;
            }
        }
    }
    if seen < 16 {
        return Err(err("ISA has fewer than 16 elements"));
    }
    let component = match chars.next() {
        Some((_, c)) => c,
        None => return Err(err("ISA16 is missing")),
    };
    let (end, segment) = match chars.next() {
        Some((i, c)) if c == '\r' || c == '\n' => (i, None),
        Some((i, c)) if c != element && c != component && !c.is_alphanumeric() && c != ' ' => {
            (i + c.len_utf8(), Some(c))
        }
        Some(_) => return Err(err("no segment terminator after ISA16")),
        None => return Err(err("the document ends after the ISA")),
    };
    Ok((Separators { element, segment }, end))
}

/// Splits the document into segments, trimmed, empty ones dropped.
fn segments(text: &str) -> Result<Vec<Seg<'_>>, ReadError> {
    let (sep, _) = separators(text)?;
    let raw: Vec<&str> = match sep.segment {
        Some(t) => text.split(t).collect(),
        None => text.split('\n').collect(),
    };
    Ok(raw
        .into_iter()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .enumerate()
        .map(|(i, s)| Seg {
            els: s.split(sep.element).collect(),
            at: i + 1,
        })
        .collect())
}

fn at(s: &Seg<'_>) -> String {
    format!("segment {} ({})", s.at, s.id())
}

/// Reads an interchange of 850s. Envelope structure errors (no ISA, a missing GE or IEA, the
/// interchange's own count) refuse the document; anything inside a set refuses that set.
pub fn read(bytes: &[u8], opts: &X12Options) -> Result<Interchange, ReadError> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(ReadError::new(CH, "document", "document too large"));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|e| ReadError::new(CH, "document", format!("not text: {e}")))?;
    let text = text.trim_start_matches('\u{feff}').trim_start();
    let segs = segments(text)?;
    let isa = segs
        .first()
        .ok_or_else(|| ReadError::new(CH, "document", "empty"))?;
    if isa.els.len() < 17 {
        return Err(ReadError::new(
            CH,
            at(isa),
            "ISA has fewer than 16 elements",
        ));
    }
    let mut ix = Interchange {
        sender: isa.el(6).to_string(),
        receiver: isa.el(8).to_string(),
        control: isa.el(13).to_string(),
        test: isa.el(15) == "T",
        groups: Vec::new(),
        sender_qualifier: isa.el(5).to_string(),
        receiver_qualifier: isa.el(7).to_string(),
    };
    let mut i = 1;
    loop {
        let Some(s) = segs.get(i) else {
            return Err(ReadError::new(
                CH,
                "end of document",
                "no IEA: the interchange is cut short",
            ));
        };
        match s.id() {
            "GS" => {
                let (g, next) = group(&segs, i, &ix, opts)?;
                ix.groups.push(g);
                i = next;
            }
            "IEA" => {
                if s.el(1).parse::<usize>().ok() != Some(ix.groups.len()) {
                    return Err(ReadError::new(
                        CH,
                        at(s),
                        format!(
                            "IEA01 says {} groups, the interchange has {}",
                            s.el(1),
                            ix.groups.len()
                        ),
                    ));
                }
                if s.el(2) != ix.control {
                    return Err(ReadError::new(
                        CH,
                        at(s),
                        format!("IEA02 {} is not ISA13 {}", s.el(2), ix.control),
                    ));
                }
                if let Some(extra) = segs.get(i + 1) {
                    return Err(ReadError::new(CH, at(extra), "segment after IEA"));
                }
                return Ok(ix);
            }
            _ => return Err(ReadError::new(CH, at(s), "expected GS or IEA")),
        }
    }
}

/// Reads GS…GE starting at `i`; gives the group and the index after its GE.
fn group(
    segs: &[Seg<'_>],
    start: usize,
    ix: &Interchange,
    opts: &X12Options,
) -> Result<(Group, usize), ReadError> {
    let gs = &segs[start.min(segs.len().saturating_sub(1))];
    let mut g = Group {
        functional_id: gs.el(1).to_string(),
        control: gs.el(6).to_string(),
        sets: Vec::new(),
        problems: Vec::new(),
    };
    let mut i = start + 1;
    loop {
        let Some(s) = segs.get(i) else {
            return Err(ReadError::new(CH, at(gs), "no GE closes this group"));
        };
        match s.id() {
            "ST" => {
                // The set runs to its SE, or, when the SE is missing, to the next envelope
                // segment.
                let end = segs[i + 1..]
                    .iter()
                    .position(|x| matches!(x.id(), "SE" | "ST" | "GE" | "GS" | "IEA"))
                    .map(|p| i + 1 + p);
                let (body_end, se, next) = match end.and_then(|e| segs.get(e).map(|x| (e, x))) {
                    Some((e, x)) if x.id() == "SE" => (e, Some(x), e + 1),
                    Some((e, _)) => (e, None, e),
                    None => (segs.len(), None, segs.len()),
                };
                g.sets.push(set(&segs[i..body_end], se, ix, opts));
                i = next;
            }
            "GE" => {
                if s.el(1).parse::<usize>().ok() != Some(g.sets.len()) {
                    g.problems.push(SetError {
                        segment: "GE".into(),
                        position: 1,
                        element: Some(1),
                        code: "5".into(),
                        problem: format!(
                            "GE01 says {} sets, the group has {}",
                            s.el(1),
                            g.sets.len()
                        ),
                    });
                }
                if s.el(2) != g.control {
                    g.problems.push(SetError {
                        segment: "GE".into(),
                        position: 1,
                        element: Some(2),
                        code: "4".into(),
                        problem: format!("GE02 {} is not GS06 {}", s.el(2), g.control),
                    });
                }
                return Ok((g, i + 1));
            }
            _ => return Err(ReadError::new(CH, at(s), "expected ST or GE")),
        }
    }
}

/// One set: `body` runs from its ST up to (not including) its SE.
fn set(body: &[Seg<'_>], se: Option<&Seg<'_>>, ix: &Interchange, opts: &X12Options) -> SetResult {
    let st = &body[0];
    let control = st.el(2).to_string();
    let kind = st.el(1).to_string();
    let mut errors = Vec::new();
    let envelope = |code: &str, seg: &str, position: usize, problem: String| SetError {
        segment: seg.into(),
        position,
        element: None,
        code: code.into(),
        problem,
    };
    match se {
        None => errors.push(envelope(
            "2",
            "SE",
            body.len() + 1,
            "no SE closes this set".into(),
        )),
        Some(se) => {
            let count = body.len() + 1;
            if se.el(1).parse::<usize>().ok() != Some(count) {
                errors.push(envelope(
                    "4",
                    "SE",
                    count,
                    format!("SE01 says {} segments, the set has {count}", se.el(1)),
                ));
            }
            if se.el(2) != control {
                errors.push(envelope(
                    "3",
                    "SE",
                    count,
                    format!("SE02 {} is not ST02 {control}", se.el(2)),
                ));
            }
        }
    }
    if kind != "850" {
        errors.push(envelope(
            "1",
            "ST",
            1,
            format!("transaction set {kind} is not read here"),
        ));
        return SetResult {
            control,
            kind,
            result: Err(errors),
        };
    }
    let result = match po850::read(body, ix, opts) {
        Ok(order) if errors.is_empty() => Ok(order),
        Ok(_) => Err(errors),
        Err(mut e) => {
            errors.append(&mut e);
            Err(errors)
        }
    };
    SetResult {
        control,
        kind,
        result,
    }
}

#[cfg(test)]
mod tests;
