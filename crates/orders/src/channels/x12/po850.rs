//! The 850 purchase order's segments into a [`ChannelOrder`].

use super::{Interchange, Seg, SetError, X12Options};
use crate::channels::common::decimal;
use crate::model::{Address, ChannelOrder, ChannelState, Hint, Line, ReadNote};
use jiff::Timestamp;
use rust_decimal::Decimal;

/// Where a segment sits: the party loop (N1…) or the line loop (PO1…) it belongs to.
#[derive(Clone, Copy, PartialEq)]
enum Loop {
    Header,
    Party(Party),
    Line,
}

#[derive(Clone, Copy, PartialEq)]
enum Party {
    ShipTo,
    Buyer,
    Other,
}

fn err(s: &Seg<'_>, pos: usize, element: Option<usize>, code: &str, problem: String) -> SetError {
    SetError {
        segment: s.id().to_string(),
        position: pos,
        element,
        code: code.to_string(),
        problem,
    }
}

/// An X12 date (`CCYYMMDD`) with an optional time (`HHMM`), read as UTC: X12 dates carry no
/// zone, and the partner agreement (not the document) would say which.
fn date(d: &str, t: &str) -> Option<Timestamp> {
    if d.len() != 8 || !d.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (hh, mm) = match t.len() {
        0 => ("00", "00"),
        4 | 6 | 8 if t.bytes().all(|b| b.is_ascii_digit()) => (&t[0..2], &t[2..4]),
        _ => return None,
    };
    format!("{}-{}-{}T{hh}:{mm}:00Z", &d[0..4], &d[4..6], &d[6..8])
        .parse()
        .ok()
}

fn amount(s: &str, implied: Option<u32>) -> Result<Decimal, String> {
    let d = decimal(s)?;
    match implied {
        Some(n) if !s.contains('.') && n <= 10 => {
            Ok(Decimal::new(1, n).checked_mul(d).unwrap_or(d))
        }
        _ => Ok(d),
    }
}

/// Reads one 850 from its segments, ST first, SE excluded.
pub(super) fn read(
    body: &[Seg<'_>],
    ix: &Interchange,
    opts: &X12Options,
) -> Result<ChannelOrder, Vec<SetError>> {
    let set = body.first().map(|st| st.el(2)).unwrap_or("");
    let mut errors = Vec::new();
    let mut o = ChannelOrder {
        account_ref: Some(ix.sender.clone()).filter(|s| !s.is_empty()),
        ..ChannelOrder::default()
    };
    if ix.test {
        o.hints.push(Hint::Test);
    }
    let mut saw_beg = false;
    let mut here = Loop::Header;
    let mut ship_to: Option<Address> = None;
    let mut total: Option<(Decimal, String)> = None;
    let mut line_promise: Option<Timestamp> = None;
    let mut line_ship_by: Option<Timestamp> = None;
    let mut ctt: Option<(usize, &Seg<'_>)> = None;
    for (i, s) in body.iter().enumerate().skip(1) {
        let pos = i + 1;
        let where_ = format!("set {set} segment {pos} ({})", s.id());
        match s.id() {
            "BEG" => {
                saw_beg = true;
                o.external_id = s.el(3).to_string();
                if o.external_id.is_empty() {
                    errors.push(err(
                        s,
                        pos,
                        Some(3),
                        "1",
                        "BEG03 (PO number) is empty".into(),
                    ));
                }
                match s.el(1) {
                    "00" => {}
                    "05" => o.read_notes.push(ReadNote {
                        at: where_.clone(),
                        note: "replace: BEG01 05 restates an earlier PO".into(),
                    }),
                    "01" => o.state = ChannelState::Cancelled { reason: None },
                    other => errors.push(err(
                        s,
                        pos,
                        Some(1),
                        "7",
                        format!("BEG01 {other:?} is not 00 original, 01 cancel or 05 replace"),
                    )),
                }
                match date(s.el(5), "") {
                    Some(t) => o.created_at = Some(t),
                    None => errors.push(err(
                        s,
                        pos,
                        Some(5),
                        "8",
                        format!("BEG05 {:?} is not a CCYYMMDD date", s.el(5)),
                    )),
                }
            }
            "CUR" => {
                o.currency = Some(s.el(2).to_ascii_uppercase()).filter(|c| !c.is_empty());
            }
            "PER" => {
                // Contact pairs PER03/04, 05/06, 07/08: TE phone, EM email.
                let (mut phone, mut email) = (None, None);
                for k in [3, 5, 7] {
                    let v = Some(s.el(k + 1).to_string()).filter(|v| !v.is_empty());
                    match s.el(k) {
                        "TE" if phone.is_none() => phone = v,
                        "EM" if email.is_none() => email = v,
                        _ => {}
                    }
                }
                match here {
                    Loop::Party(Party::ShipTo) => {
                        if let Some(a) = ship_to.as_mut() {
                            a.phone = a.phone.take().or(phone);
                            a.email = a.email.take().or(email);
                        }
                    }
                    Loop::Header | Loop::Party(Party::Buyer) => {
                        let c = &mut o.customer;
                        c.phone = c.phone.take().or(phone);
                        c.email = c.email.take().or(email);
                        if c.name.is_none() && here == Loop::Header {
                            c.name = Some(s.el(2).to_string()).filter(|v| !v.is_empty());
                        }
                    }
                    _ => {}
                }
            }
            "DTM" => {
                let t = date(s.el(2), s.el(3));
                let qual = s.el(1);
                if matches!(qual, "002" | "010") && t.is_none() {
                    errors.push(err(
                        s,
                        pos,
                        Some(2),
                        "8",
                        format!("DTM02 {:?} is not a CCYYMMDD date", s.el(2)),
                    ));
                }
                let earliest = |a: Option<Timestamp>, b: Option<Timestamp>| match (a, b) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                match (qual, here == Loop::Line) {
                    ("002", false) => o.promised_at = t,
                    ("010", false) => o.ship_by = t,
                    ("002", true) => line_promise = earliest(line_promise, t),
                    ("010", true) => line_ship_by = earliest(line_ship_by, t),
                    _ => {}
                }
            }
            "AMT" if s.el(1) == "TT" && here != Loop::Line => match decimal(s.el(2)) {
                Ok(d) => total = Some((d, where_.clone())),
                Err(e) => errors.push(err(s, pos, Some(2), "6", e)),
            },
            "N1" => {
                let party = match s.el(1) {
                    "ST" => Party::ShipTo,
                    "BY" => Party::Buyer,
                    _ => Party::Other,
                };
                here = Loop::Party(party);
                let name = Some(s.el(2).to_string()).filter(|v| !v.is_empty());
                match party {
                    Party::ShipTo => {
                        ship_to = Some(Address {
                            name,
                            // Qualifier 92: a code the buyer assigned to the place.
                            location_code: (s.el(3) == "92")
                                .then(|| s.el(4).to_string())
                                .filter(|v| !v.is_empty()),
                            ..Address::default()
                        })
                    }
                    Party::Buyer => {
                        o.customer.name = name;
                        o.customer.id = Some(s.el(4).to_string()).filter(|v| !v.is_empty());
                    }
                    Party::Other => {}
                }
            }
            "N2" | "N3" | "N4" => {
                if let (Loop::Party(Party::ShipTo), Some(a)) = (here, ship_to.as_mut()) {
                    let v = |n: usize| Some(s.el(n).to_string()).filter(|v| !v.is_empty());
                    match s.id() {
                        "N2" => a.company = v(1),
                        "N3" => a.lines.extend([v(1), v(2)].into_iter().flatten()),
                        _ => {
                            a.city = v(1);
                            a.region = v(2);
                            a.postal_code = v(3);
                            a.country = v(4).map(|c| c.to_ascii_uppercase());
                        }
                    }
                }
            }
            "PO1" => {
                here = Loop::Line;
                match line(s, pos, opts) {
                    Ok(l) => o.lines.push(l),
                    Err(e) => errors.push(e),
                }
            }
            "PID" if here == Loop::Line && s.el(1) == "F" => {
                if let Some(l) = o.lines.last_mut()
                    && l.title.is_none()
                {
                    l.title = Some(s.el(5).to_string()).filter(|v| !v.is_empty());
                }
            }
            "CTT" => {
                here = Loop::Header;
                ctt = Some((pos, s));
            }
            // REF, N9/MSG free text, TD5 and the rest: not needed for intake.
            _ => {}
        }
        if !matches!(s.id(), "N1" | "N2" | "N3" | "N4" | "REF" | "PER")
            && matches!(here, Loop::Party(_))
        {
            here = Loop::Header;
        }
    }
    if !saw_beg {
        errors.push(SetError {
            segment: "BEG".into(),
            position: 2,
            element: None,
            code: "3".into(),
            problem: "no BEG segment".into(),
        });
    }
    if o.lines.is_empty() && errors.is_empty() {
        errors.push(SetError {
            segment: "PO1".into(),
            position: body.len(),
            element: None,
            code: "3".into(),
            problem: "no PO1 line".into(),
        });
    }
    if let Some((pos, s)) = ctt {
        let count = o.lines.len() + errors.iter().filter(|e| e.segment == "PO1").count();
        if s.el(1).parse::<usize>().ok() != Some(count) {
            errors.push(err(
                s,
                pos,
                Some(1),
                "7",
                format!("CTT01 says {} lines, the set has {count}", s.el(1)),
            ));
        }
        if !s.el(2).is_empty() {
            // Checked: quantities are arbitrary text, and a sum must not overflow into a panic.
            let hash = o
                .lines
                .iter()
                .try_fold(Decimal::ZERO, |a, l| a.checked_add(l.quantity));
            if hash.is_none() || decimal(s.el(2)).ok() != hash {
                let hash = hash.map_or_else(|| "too large".to_string(), |h| h.to_string());
                errors.push(err(
                    s,
                    pos,
                    Some(2),
                    "7",
                    format!(
                        "CTT02 hash total {} is not the sum of quantities {hash}",
                        s.el(2)
                    ),
                ));
            }
        }
    }
    o.promised_at = o.promised_at.or(line_promise);
    o.ship_by = o.ship_by.or(line_ship_by);
    o.ship_to = ship_to;
    if let Some((t, at)) = total {
        o.total = Some(t);
        let sum = o.lines.iter().try_fold(Decimal::ZERO, |a, l| {
            l.unit_price
                .and_then(|p| p.checked_mul(l.quantity))
                .and_then(|x| a.checked_add(x))
        });
        if let Some(sum) = sum.filter(|s| *s != t) {
            // Real files disagree (a partner's AMT may hold something else): the quality
            // gates judge it, the reader only says so.
            o.read_notes.push(ReadNote {
                at,
                note: format!("AMT*TT {t} is not the sum of the lines {sum}"),
            });
        }
    }
    if errors.is_empty() {
        Ok(o)
    } else {
        Err(errors)
    }
}

fn line(s: &Seg<'_>, pos: usize, opts: &X12Options) -> Result<Line, SetError> {
    let quantity = decimal(s.el(2)).map_err(|e| {
        err(
            s,
            pos,
            Some(2),
            if s.el(2).is_empty() { "1" } else { "6" },
            format!("PO102: {e}"),
        )
    })?;
    let unit_price = match s.el(4) {
        "" => None,
        p => Some(
            amount(p, opts.implied_decimals)
                .map_err(|e| err(s, pos, Some(4), "6", format!("PO104: {e}")))?,
        ),
    };
    let mut ids: Vec<(String, String)> = Vec::new();
    let mut k = 6;
    while k + 1 < s.els.len() {
        let (q, v) = (s.el(k), s.el(k + 1));
        if !q.is_empty() && !v.is_empty() {
            ids.push((q.to_string(), v.to_string()));
        }
        k += 2;
    }
    let pick = opts
        .sku_qualifiers
        .iter()
        .find_map(|q| ids.iter().position(|(iq, _)| iq == q));
    let sku = pick.map(|p| ids.remove(p).1);
    Ok(Line {
        line_id: Some(s.el(1).to_string()).filter(|v| !v.is_empty()),
        sku,
        alt_ids: ids,
        title: None,
        quantity,
        uom: Some(s.el(3).to_string()).filter(|v| !v.is_empty()),
        unit_price,
        tax: None,
    })
}
