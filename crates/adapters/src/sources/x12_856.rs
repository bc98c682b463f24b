//! ANSI X12 856, Ship Notice/Manifest (release 004010), as a warehouse sends it when it ships
//! orders: one `ST`..`SE` per shipment, an `HL` hierarchy below it (S shipment, O order,
//! T tare, P pack, I item, in any of the standard structures).
//!
//! Each order (`HL` level O) is one observation per tracking number of its packages: a ship
//! notice is the warehouse's ship-confirm. The mapping key is the notice's purpose (BSN01:
//! `00` original, `01` cancellation, `05` replace...), because that is what says whether the
//! orders shipped or the shipment was withdrawn. The order is the purchase order in `PRF01`.
//! Tracking numbers are the packs' `REF*CN` / `MAN*CP`; when no pack has one, the shipment's
//! `REF*CN`. The time is the shipment's `DTM*011` (shipped), or for a notice without one (a
//! cancellation) the time the notice was created (BSN03/BSN04); either is read on the clock
//! of its time code, else on the clock of the ship-from place (where a warehouse keeps time).

use super::x12_214::x12::{self, Segment};
use crate::{Observation, ParseError, geo};
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet};
use waypost_domain::Location;

/// Hierarchies deeper than this are not real ship notices; the bound keeps walks finite even
/// when parent ids form a cycle.
const MAX_DEPTH: usize = 16;

/// Reports multiply: each order gets one per package tracking number, each carrying the
/// order's item lines, and a pack above its orders (S/P/O/I) lends its trackings to all of
/// them. A crafted 64 KiB notice (thousands of orders under one pack of thousands of
/// trackings) expanded to four million reports. So a document may produce at most one report
/// or copied line per [`BYTES_PER_EXPANSION`] bytes (real notices stay far below: an order
/// with its tracking takes twenty bytes or more), but never less than this many, so that a
/// small notice with large orders (a hundred cartons of a hundred lines) still passes.
const MIN_EXPANSION_BUDGET: usize = 20_000;
const BYTES_PER_EXPANSION: usize = 4;

pub fn parse(doc: &[u8]) -> Result<Vec<Observation>, ParseError> {
    let segments = x12::segments(doc)?;
    let mut budget = (doc.len() / BYTES_PER_EXPANSION).max(MIN_EXPANSION_BUDGET);
    let mut out = Vec::new();
    for (start, body) in x12::transaction_sets(&segments, "856", "an 856")? {
        let mut notice = Notice::default();
        for seg in body {
            notice.segment(seg)?;
        }
        notice.finish(start, &mut budget, &mut out)?;
    }
    Ok(out)
}

/// One HL level and what its segments said.
#[derive(Default)]
struct Level<'a> {
    id: &'a str,
    parent: Option<&'a str>,
    code: &'a str,
    trackings: Vec<&'a str>,
    purchase_order: Option<&'a str>,
    sscc: Option<&'a str>,
    bill_of_lading: Option<&'a str>,
    scac: Option<&'a str>,
    service: Option<&'a str>,
    /// DTM*011: date, time, time code, and the DTM's path for errors.
    shipped: Option<(&'a str, &'a str, &'a str, String)>,
    ship_from: Option<Location>,
    ship_to: Option<Location>,
    sku: Option<&'a str>,
    quantity: Option<&'a str>,
}

#[derive(Default)]
struct Notice<'a> {
    purpose: &'a str,
    purpose_path: String,
    shipment_id: Option<&'a str>,
    created: Option<(&'a str, &'a str, String)>,
    levels: Vec<Level<'a>>,
    /// The N1 qualifier whose N4 comes next.
    party: Option<&'a str>,
}

impl<'a> Notice<'a> {
    fn segment(&mut self, seg: &Segment<'a>) -> Result<(), ParseError> {
        if seg.id == "BSN" {
            self.purpose = seg.el(1);
            self.purpose_path = seg.el_path(1);
            self.shipment_id = seg.opt(2);
            self.created = Some((seg.el(3), seg.el(4), seg.el_path(3)));
            return Ok(());
        }
        if seg.id == "HL" {
            let id = seg
                .opt(1)
                .ok_or_else(|| ParseError::new(seg.el_path(1), "HL without an id"))?;
            self.levels.push(Level {
                id,
                parent: seg.opt(2),
                code: seg.el(3),
                ..Level::default()
            });
            self.party = None;
            return Ok(());
        }
        let Some(level) = self.levels.last_mut() else {
            // Heading segments before the first HL (DTM of the notice, say) say nothing here.
            return Ok(());
        };
        match (seg.id, seg.el(1)) {
            ("REF", "CN") => level.trackings.extend(seg.opt(2)),
            ("REF", "BM") => level.bill_of_lading = seg.opt(2),
            ("MAN", "CP") => level.trackings.extend(seg.opt(2)),
            ("MAN", "GM") => level.sscc = seg.opt(2),
            ("PRF", _) => level.purchase_order = seg.opt(1),
            ("TD5", _) => {
                level.scac = seg.opt(3).or(level.scac);
                level.service = seg.opt(5).or(level.service);
            }
            ("DTM", "011") => {
                level.shipped = Some((seg.el(2), seg.el(3), seg.el(4), seg.el_path(2)));
            }
            ("N1", q) => self.party = Some(q),
            ("N4", _) => {
                let loc = geo::location(seg.opt(1), seg.opt(2), seg.opt(3), seg.opt(4));
                match self.party {
                    Some("SF" | "SH" | "WH") => level.ship_from = loc,
                    Some("ST" | "BT" | "BY") if level.ship_to.is_none() => level.ship_to = loc,
                    _ => {}
                }
            }
            ("LIN", _) => level.sku = seg.opt(3),
            ("SN1", _) => level.quantity = seg.opt(2),
            _ => {}
        }
        Ok(())
    }

    /// `budget`: the reports and copied lines the document may still produce (see
    /// [`MIN_EXPANSION_BUDGET`]).
    fn finish(
        self,
        start: usize,
        budget: &mut usize,
        out: &mut Vec<Observation>,
    ) -> Result<(), ParseError> {
        if self.purpose.is_empty() {
            return Err(ParseError::new(
                format!("segment {start} (ST)"),
                "ship notice without a BSN purpose code",
            ));
        }
        let index: HashMap<&str, usize> = self
            .levels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.id, i))
            .collect();
        // Ancestors of a level, nearest first, bounded.
        let ancestors = |i: usize| {
            let mut chain = Vec::new();
            let mut at = self.levels.get(i).and_then(|l| l.parent);
            while let Some(p) = at {
                let Some(&j) = index.get(p) else { break };
                if chain.len() >= MAX_DEPTH || chain.contains(&j) {
                    break;
                }
                chain.push(j);
                at = self.levels.get(j).and_then(|l| l.parent);
            }
            chain
        };
        let level = |i: usize| self.levels.get(i);
        // The nearest level of a kind above each level, found once: a notice with thousands of
        // orders stays linear.
        let nearest = |code: &str| -> Vec<Option<usize>> {
            (0..self.levels.len())
                .map(|i| {
                    ancestors(i)
                        .into_iter()
                        .find(|&j| level(j).is_some_and(|l| l.code == code))
                })
                .collect()
        };
        let (order_of, shipment_of, pack_of) = (nearest("O"), nearest("S"), nearest("P"));
        let mut packs_of: HashMap<usize, Vec<&Level>> = HashMap::new();
        let mut items_of: HashMap<usize, Vec<&Level>> = HashMap::new();
        for (i, l) in self.levels.iter().enumerate() {
            let Some(Some(o)) = order_of.get(i) else {
                continue;
            };
            match l.code {
                "P" => packs_of.entry(*o).or_default().push(l),
                "I" => items_of.entry(*o).or_default().push(l),
                _ => {}
            }
        }

        for (o, order) in self
            .levels
            .iter()
            .enumerate()
            .filter(|(_, l)| l.code == "O")
        {
            let shipment = shipment_of.get(o).copied().flatten().and_then(level);
            // Packs below this order (S/O/T/P/I) or above it (S/P/O/I).
            let mut packs: Vec<&Level> = packs_of.remove(&o).unwrap_or_default();
            packs.extend(pack_of.get(o).copied().flatten().and_then(level));
            let mut trackings: Vec<&str> = Vec::new();
            // Sets, not `Vec::contains`: a pack may carry thousands of trackings.
            let mut seen = HashSet::new();
            // The SSCC of the first pack that carries each tracking number.
            let mut sscc_of: HashMap<&str, Option<&str>> = HashMap::new();
            for p in &packs {
                for t in &p.trackings {
                    if seen.insert(*t) {
                        trackings.push(t);
                    }
                    sscc_of.entry(*t).or_insert(p.sscc);
                }
            }
            if trackings.is_empty() {
                trackings.extend(order.trackings.iter());
            }
            if trackings.is_empty() {
                trackings.extend(shipment.iter().flat_map(|s| s.trackings.iter()));
            }

            let order_ref = order.purchase_order.map(str::to_owned);
            if order_ref.is_none() && trackings.is_empty() {
                return Err(ParseError::new(
                    self.purpose_path.clone(),
                    format!(
                        "order HL {} has neither a purchase order (PRF) nor a tracking number",
                        order.id
                    ),
                ));
            }
            let ship_from = order
                .ship_from
                .clone()
                .or_else(|| shipment.and_then(|s| s.ship_from.clone()));
            let ship_to = order
                .ship_to
                .clone()
                .or_else(|| shipment.and_then(|s| s.ship_to.clone()));
            let (region, country) = ship_from.as_ref().map_or((None, None), |l| {
                (l.region.as_deref(), l.country.as_deref())
            });
            let shipped = order
                .shipped
                .as_ref()
                .or_else(|| shipment.and_then(|s| s.shipped.as_ref()));
            let at = match shipped {
                Some((date, time, code, path)) => x12::instant(date, time, code, region, country)
                    .map_err(|m| ParseError::new(path.clone(), m))?,
                None => {
                    let (date, time, path) = self.created.as_ref().ok_or_else(|| {
                        ParseError::new(format!("segment {start} (ST)"), "no BSN and no DTM*011")
                    })?;
                    x12::instant(date, time, "", region, country)
                        .map_err(|m| ParseError::new(path.clone(), m))?
                }
            };

            let mut attributes = Map::new();
            if let Some(id) = self.shipment_id {
                attributes.insert("shipment_id".into(), json!(id));
            }
            if let Some(b) = shipment.and_then(|s| s.bill_of_lading) {
                attributes.insert("bill_of_lading".into(), json!(b));
            }
            let lines: Vec<Value> = items_of
                .remove(&o)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|l| {
                    l.sku
                        .map(|sku| json!({ "sku": sku, "quantity": l.quantity }))
                })
                .collect();
            let cost = trackings.len().max(1).saturating_mul(lines.len() + 1);
            *budget = budget.checked_sub(cost).ok_or_else(|| {
                ParseError::new(
                    format!("segment {start} (ST)"),
                    format!(
                        "order HL {} ({} trackings x {} lines) exceeds the document's allowance \
                         of reports and copied item lines (one per {BYTES_PER_EXPANSION} bytes, \
                         at least {MIN_EXPANSION_BUDGET}): orders sharing packs multiply",
                        order.id,
                        trackings.len(),
                        lines.len()
                    ),
                )
            })?;
            if !lines.is_empty() {
                attributes.insert("lines".into(), Value::Array(lines));
            }
            let base = Observation {
                mapping_key: self.purpose.to_owned(),
                raw_code: self.purpose.to_owned(),
                occurred_at: Some(at),
                local_time: None,
                order_ref: order_ref.clone(),
                carrier: shipment
                    .and_then(|s| s.scac)
                    .and_then(x12::carrier_from_scac),
                service: shipment.and_then(|s| s.service).map(str::to_owned),
                location: ship_from.clone(),
                origin: ship_from,
                destination: ship_to,
                attributes,
                ..Observation::default()
            };
            if trackings.is_empty() {
                out.push(base);
                continue;
            }
            for t in trackings {
                let mut obs = base.clone();
                obs.tracking_number = Some(t.to_owned());
                if let Some(sscc) = sscc_of.get(t).copied().flatten() {
                    obs.attributes.insert("sscc".into(), json!(sscc));
                }
                out.push(obs);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "ISA*00*          *00*          *ZZ*WAYPOSTWMS     *ZZ*WAYPOSTOMS     *240310*0105*U*00401*000000007*0*P*>~GS*SH*WAYPOSTWMS*WAYPOSTOMS*20240310*0105*7*X*004010~";

    fn doc(body: &str) -> Vec<u8> {
        format!("{HEAD}{body}GE*1*7~IEA*1*000000007~").into_bytes()
    }

    #[test]
    fn one_observation_per_package_tracking_in_local_warehouse_time() {
        // 10 March 2024 01:30 in Memphis (no time code): CST, half an hour before DST starts.
        let d = doc(
            "ST*856*0001~BSN*00*SHP1*20240310*0105*0001~HL*1**S~TD5*B*2*FDEG*M*FEDEX GROUND~\
            REF*CN*SHIPLEVEL1~DTM*011*20240310*0130~N1*SF*WAYPOST DC~N4*MEMPHIS*TN*38118*US~\
            HL*2*1*O~PRF*PO-1~HL*3*2*P~MAN*CP*TRK-A~HL*4*3*I~LIN**SK*SKU-9~SN1**2*EA~\
            HL*5*2*P~REF*CN*TRK-B~HL*6*1*O~PRF*PO-2~SE*19*0001~",
        );
        let obs = parse(&d).unwrap();
        let got: Vec<(Option<&str>, Option<&str>)> = obs
            .iter()
            .map(|o| (o.order_ref.as_deref(), o.tracking_number.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (Some("PO-1"), Some("TRK-A")),
                (Some("PO-1"), Some("TRK-B")),
                (Some("PO-2"), Some("SHIPLEVEL1"))
            ]
        );
        let at = obs[0].occurred_at.unwrap();
        assert_eq!(at.instant.to_string(), "2024-03-10T07:30:00Z");
        assert_eq!(obs[0].carrier.as_deref(), Some("fedex"));
        assert_eq!(obs[0].service.as_deref(), Some("FEDEX GROUND"));
        assert_eq!(obs[0].attributes["lines"][0]["sku"], "SKU-9");
    }

    #[test]
    fn a_notice_without_orders_has_no_events() {
        assert!(
            parse(&doc(
                "ST*856*0002~BSN*00*SHP2*20240310*0105~HL*1**S~SE*4*0002~"
            ))
            .unwrap()
            .is_empty()
        );
    }

    #[test]
    fn errors_name_the_segment() {
        let err = parse(&doc(
            "ST*856*0003~BSN*00*SHP3*20240310*0105~HL*1**S~DTM*011*20241399*1200*ET~HL*2*1*O~PRF*PO-3~SE*7*0003~",
        ))
        .unwrap_err();
        assert_eq!(err.path, "segment 6 (DTM) DTM02", "{err}");
        let err = parse(&doc(
            "ST*856*0004~BSN*00*SHP4*20240310*0105~HL*1**S~HL*2*1*O~SE*5*0004~",
        ))
        .unwrap_err();
        assert!(err.message.contains("neither"), "{err}");
        let err = parse(&doc("ST*214*0005~SE*2*0005~")).unwrap_err();
        assert!(err.message.contains("856"), "{err}");
    }

    #[test]
    fn cyclic_parents_stay_bounded() {
        let d = doc(
            "ST*856*0006~BSN*01*SHP6*20240310*0105~HL*1*2*S~HL*2*1*O~PRF*PO-6~\
            DTM*011*20240310*0105*UT~SE*7*0006~",
        );
        let obs = parse(&d).unwrap();
        assert_eq!(obs.len(), 1);
        // No shipment above the order: the notice's own time, which needs a place or a code.
        let _ = obs;
    }

    #[test]
    fn orders_sharing_a_pack_of_many_trackings_stay_bounded() {
        // One pack above thousands of orders, with thousands of trackings: four million
        // reports from 64 KiB before the budget.
        let mut body = String::from(
            "ST*856*0007~BSN*00*SHP7*20240310*0105~HL*1**S~DTM*011*20240310*0105*ET~HL*2*1*P~",
        );
        for i in 0..1000 {
            body.push_str(&format!("MAN*CP*T{i}~"));
        }
        for i in 3..1000 {
            body.push_str(&format!("HL*{i}*2*O~PRF*PO-{i}~"));
        }
        body.push_str("SE*1*0007~");
        let err = parse(&doc(&body)).unwrap_err();
        assert_eq!(err.path, "segment 3 (ST)");
        assert!(err.message.contains("orders sharing packs"), "{err}");
    }
}
