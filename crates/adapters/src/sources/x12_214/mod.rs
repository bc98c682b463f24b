//! ANSI X12 214, Transportation Carrier Shipment Status Message (release 004010): a carrier's
//! status reports, one `ST`..`SE` transaction set per shipment, several per interchange.
//!
//! Read here: `B10` (carrier's reference number = PRO, shipper's shipment id, SCAC), `L11`
//! references in the heading (`PO` purchase order / `CO` customer order = the merchant's order,
//! `BM` bill of lading) and in each `LX` loop (`2I` tracking number and `CN` carrier's reference
//! for one package, which win over the heading's), `N1`/`N4` parties (shipper `SH`/`SF` is the
//! origin, consignee `CN`/`ST` the destination), and per `LX` one or more status details:
//! `AT7` (status, reason, date, time, time code), `MS1` (city, state, country), `MS2`
//! (equipment).
//!
//! Estimates are not statuses: an `AT7` whose AT701 is `AG` (estimated delivery) or `X2`
//! (estimated arrival at consignee), or an appointment (AT703 `AB`/`AC` delivery appointment),
//! gives a date in the future. It becomes the `promised_at` of the transaction set's statuses
//! rather than an event of its own; `B6`/`C1` (terminal estimates) and other appointments are
//! read and dropped for the same reason.

pub(crate) mod x12;

use crate::{Observation, ParseError, geo};
use serde_json::{Map, Value};
use waypost_domain::{EventTime, Location};
use x12::Segment;

/// AT701 codes that announce an expected delivery rather than report a fact.
const DELIVERY_ESTIMATES: [&str; 2] = ["AG", "X2"];
/// AT701 codes that announce other expected times: dropped.
const OTHER_ESTIMATES: [&str; 2] = ["B6", "C1"];
/// AT703 appointment codes that promise a delivery time.
const DELIVERY_APPOINTMENTS: [&str; 2] = ["AB", "AC"];

pub fn parse(doc: &[u8]) -> Result<Vec<Observation>, ParseError> {
    let segments = x12::segments(doc)?;
    let mut out = Vec::new();
    for (_start, body) in x12::transaction_sets(&segments, "214", "a 214")? {
        let mut tx = Transaction::default();
        for seg in body {
            tx.segment(seg)?;
        }
        tx.finish(&mut out)?;
    }
    Ok(out)
}

/// One AT7 with what follows it (MS1, MS2), kept until its loop closes because the place that
/// decides its clock (MS1) comes after it.
struct Status<'a> {
    seg: String,
    status: &'a str,
    reason: &'a str,
    appointment: &'a str,
    date: &'a str,
    date_path: String,
    time: &'a str,
    time_code: &'a str,
    city: Option<&'a str>,
    region: Option<&'a str>,
    country: Option<&'a str>,
    equipment: Option<String>,
}

#[derive(Default)]
struct Transaction<'a> {
    pro: Option<&'a str>,
    shipment_id: Option<&'a str>,
    scac: Option<&'a str>,
    order_ref: Option<&'a str>,
    bill_of_lading: Option<&'a str>,
    origin: Option<Location>,
    destination: Option<Location>,
    /// The qualifier of the N1 loop being read (`SH`, `CN`...).
    party: Option<&'a str>,
    in_lx: bool,
    /// Statuses of the open LX loop, and its package references.
    pending: Vec<Status<'a>>,
    lx_tracking: Option<&'a str>,
    lx_order_ref: Option<&'a str>,
    done: Vec<Observation>,
    promised: Option<EventTime>,
}

impl<'a> Transaction<'a> {
    fn segment(&mut self, seg: &Segment<'a>) -> Result<(), ParseError> {
        match seg.id {
            "B10" => {
                self.pro = seg.opt(1);
                self.shipment_id = seg.opt(2);
                self.scac = seg.opt(3);
            }
            "L11" => {
                let value = seg.opt(1);
                match (seg.el(2), self.in_lx) {
                    ("2I" | "CN", true) => self.lx_tracking = value.or(self.lx_tracking),
                    ("PO" | "CO", true) => self.lx_order_ref = value.or(self.lx_order_ref),
                    ("PO" | "CO", false) => self.order_ref = self.order_ref.or(value),
                    ("BM", _) => self.bill_of_lading = self.bill_of_lading.or(value),
                    _ => {}
                }
            }
            "N1" => self.party = seg.opt(1),
            "N4" => {
                let loc = geo::location(seg.opt(1), seg.opt(2), seg.opt(3), seg.opt(4));
                match self.party {
                    Some("SH" | "SF") => self.origin = loc.or(self.origin.take()),
                    Some("CN" | "ST") => self.destination = loc.or(self.destination.take()),
                    _ => {}
                }
            }
            "LX" => {
                self.close_lx()?;
                self.in_lx = true;
            }
            "AT7" => {
                if !self.in_lx {
                    return Err(ParseError::new(seg.path(), "AT7 outside an LX loop"));
                }
                self.pending.push(Status {
                    seg: seg.path(),
                    status: seg.el(1),
                    reason: seg.el(2),
                    appointment: seg.el(3),
                    date: seg.el(5),
                    date_path: seg.el_path(5),
                    time: seg.el(6),
                    time_code: seg.el(7),
                    city: None,
                    region: None,
                    country: None,
                    equipment: None,
                });
            }
            "MS1" => {
                let status = self
                    .pending
                    .last_mut()
                    .ok_or_else(|| ParseError::new(seg.path(), "MS1 without an AT7 before it"))?;
                status.city = seg.opt(1);
                status.region = seg.opt(2);
                status.country = seg.opt(3);
            }
            "MS2" => {
                if let Some(status) = self.pending.last_mut() {
                    let parts: Vec<&str> = [seg.el(1), seg.el(2)]
                        .into_iter()
                        .filter(|s| !s.is_empty())
                        .collect();
                    if !parts.is_empty() {
                        status.equipment = Some(parts.join(" "));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Turns the open LX loop's statuses into observations, now that its references are known.
    fn close_lx(&mut self) -> Result<(), ParseError> {
        for st in std::mem::take(&mut self.pending) {
            let at = x12::instant(st.date, st.time, st.time_code, st.region, st.country)
                .map_err(|m| ParseError::new(st.date_path.clone(), m))?;
            if st.status.is_empty() {
                if st.appointment.is_empty() {
                    return Err(ParseError::new(
                        st.seg,
                        "AT7 has neither a status (AT701) nor an appointment (AT703)",
                    ));
                }
                if DELIVERY_APPOINTMENTS.contains(&st.appointment) {
                    self.promised = Some(at);
                }
                continue;
            }
            if DELIVERY_ESTIMATES.contains(&st.status) {
                self.promised = Some(at);
                continue;
            }
            if OTHER_ESTIMATES.contains(&st.status) {
                continue;
            }
            let mut attributes = Map::new();
            if let Some(e) = st.equipment {
                attributes.insert("equipment".into(), Value::String(e));
            }
            let owned = |s: Option<&str>| s.map(str::to_owned);
            self.done.push(Observation {
                mapping_key: st.status.to_owned(),
                reason_key: owned(Some(st.reason).filter(|r| !r.is_empty())),
                raw_code: st.status.to_owned(),
                occurred_at: Some(at),
                local_time: None,
                tracking_number: owned(self.lx_tracking.or(self.pro)),
                order_ref: owned(self.lx_order_ref.or(self.order_ref)),
                location: geo::location(st.city, st.region, None, st.country),
                attributes,
                ..Observation::default()
            });
        }
        self.lx_tracking = None;
        self.lx_order_ref = None;
        Ok(())
    }

    fn finish(mut self, out: &mut Vec<Observation>) -> Result<(), ParseError> {
        self.close_lx()?;
        let carrier = self.scac.and_then(x12::carrier_from_scac);
        for mut obs in self.done {
            obs.carrier.clone_from(&carrier);
            obs.origin.clone_from(&self.origin);
            obs.destination.clone_from(&self.destination);
            obs.promised_at = self.promised;
            for (key, value) in [
                ("shipment_id", self.shipment_id),
                ("bill_of_lading", self.bill_of_lading),
                ("scac", self.scac),
            ] {
                if let Some(v) = value {
                    obs.attributes
                        .insert(key.into(), Value::String(v.to_owned()));
                }
            }
            out.push(obs);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
