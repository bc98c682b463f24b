//! The carriers of the demo world: their services, the shape of their tracking numbers and the
//! codes and texts their scans carry. Codes and texts are modelled on each carrier's public
//! tracking vocabulary so the timeline reads like the real thing; they are approximations for a
//! demo, not a mapping reference.

use waypost_domain::Reason;

/// A carrier of the demo world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Carrier {
    Ups,
    Fedex,
    Usps,
    Dhl,
}

/// A service level. `pace` scales time on the road: express parcels fly.
#[derive(Debug)]
pub(crate) struct Service {
    pub name: &'static str,
    /// The two digits UPS embeds in its tracking numbers; unused by the others.
    pub code: &'static str,
    pub weight: u32,
    pub pace: f64,
}

const fn svc(name: &'static str, code: &'static str, weight: u32, pace: f64) -> Service {
    Service {
        name,
        code,
        weight,
        pace,
    }
}

const UPS_US: &[Service] = &[
    svc("UPS Ground", "03", 60, 1.0),
    svc("UPS 2nd Day Air", "02", 25, 0.75),
    svc("UPS Next Day Air", "01", 15, 0.55),
];
const UPS_EU: &[Service] = &[
    svc("UPS Standard", "11", 70, 1.0),
    svc("UPS Express Saver", "65", 30, 0.65),
];
const FEDEX: &[Service] = &[
    svc("FedEx Ground", "", 50, 1.0),
    svc("FedEx Home Delivery", "", 25, 1.0),
    svc("FedEx 2Day", "", 15, 0.75),
    svc("FedEx Priority Overnight", "", 10, 0.55),
];
const USPS: &[Service] = &[
    svc("USPS Ground Advantage", "", 55, 1.1),
    svc("Priority Mail", "", 35, 0.85),
    svc("Priority Mail Express", "", 10, 0.6),
];
const DHL: &[Service] = &[
    svc("DHL Express Worldwide", "", 60, 0.6),
    svc("DHL Economy Select", "", 40, 1.0),
];

/// What a carrier scan says happened; the carrier's own code and text follow from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scan {
    Label,
    Pickup,
    Departed,
    Arrived,
    AtDestination,
    OutForDelivery,
    Delivered,
    Delayed(Reason),
    AttemptFailed,
    Exception(Reason),
    Lost,
    Returning,
    Returned,
}

impl Carrier {
    pub const ALL: [Carrier; 4] = [Carrier::Ups, Carrier::Fedex, Carrier::Usps, Carrier::Dhl];

    /// The carrier's source name in Waypost (`ups`, `fedex`, `usps`, `dhl`).
    pub fn slug(self) -> &'static str {
        match self {
            Carrier::Ups => "ups",
            Carrier::Fedex => "fedex",
            Carrier::Usps => "usps",
            Carrier::Dhl => "dhl",
        }
    }

    /// Who ships from each side of the ocean, and how often (weights).
    pub(crate) fn mix(europe: bool) -> &'static [(Carrier, u32)] {
        if europe {
            &[(Carrier::Dhl, 65), (Carrier::Ups, 35)]
        } else {
            &[
                (Carrier::Ups, 40),
                (Carrier::Fedex, 35),
                (Carrier::Usps, 25),
            ]
        }
    }

    pub(crate) fn services(self, europe: bool) -> &'static [Service] {
        match (self, europe) {
            (Carrier::Ups, false) => UPS_US,
            (Carrier::Ups, true) => UPS_EU,
            (Carrier::Fedex, _) => FEDEX,
            (Carrier::Usps, _) => USPS,
            (Carrier::Dhl, _) => DHL,
        }
    }

    /// A tracking number in the carrier's usual shape. `serial` must be unique per carrier:
    /// carriers number parcels sequentially per account, so a counter is realistic as well as
    /// collision-free.
    pub(crate) fn tracking_number(self, serial: u64, service: &Service, europe: bool) -> String {
        match self {
            Carrier::Ups => {
                // 1Z, a six-character shipper account, the service code, a package serial, and
                // the check digit UPS computes over everything after "1Z".
                let account = if europe { "A36E91" } else { "8V0W45" };
                let body = format!("{account}{:0>2}{:07}", service.code, serial % 10_000_000);
                format!("1Z{body}{}", ups_check_digit(&body))
            }
            Carrier::Fedex => format!("77{:010}", serial % 10_000_000_000),
            Carrier::Usps => {
                // 22 digits: the 94 application identifier and a mailer prefix, a serial, and
                // the GS1 mod-10 check digit.
                let body = format!("9400111899{:011}", serial % 100_000_000_000);
                format!("{body}{}", gs1_check_digit(&body))
            }
            Carrier::Dhl => {
                // An Express waybill: nine digits and their remainder modulo 7.
                let body = 100_000_000 + serial % 900_000_000;
                format!("{body}{}", body % 7)
            }
        }
    }

    /// The carrier's raw code and text for a scan, as the demo sends them.
    pub fn raw(self, scan: Scan) -> (&'static str, &'static str) {
        use Reason::*;
        match self {
            Carrier::Ups => match scan {
                Scan::Label => (
                    "M",
                    "Shipper created a label, UPS has not received the package yet.",
                ),
                Scan::Pickup => ("P", "Pickup Scan"),
                Scan::Departed => ("I", "Departed from Facility"),
                Scan::Arrived => ("I", "Arrived at Facility"),
                Scan::AtDestination => ("I", "Destination Scan"),
                Scan::OutForDelivery => ("O", "Out For Delivery Today"),
                Scan::Delivered => ("D", "Delivered"),
                Scan::Delayed(Weather) => ("X", "A weather emergency has delayed delivery."),
                Scan::Delayed(MissedConnection) => (
                    "X",
                    "The package missed a connection. We're adjusting plans to deliver it.",
                ),
                Scan::Delayed(_) => ("X", "Due to high package volume, delivery may be delayed."),
                Scan::AttemptFailed => (
                    "X",
                    "The receiver was not available for delivery. We'll make a second attempt the next business day.",
                ),
                Scan::Exception(Damaged) => {
                    ("X", "Damage reported. The package is being evaluated.")
                }
                Scan::Exception(_) => (
                    "X",
                    "The address is incorrect. We're attempting to update it.",
                ),
                Scan::Lost => ("X", "We're unable to locate the package."),
                Scan::Returning => (
                    "X",
                    "The receiver refused the delivery. Returning to sender.",
                ),
                Scan::Returned => ("RS", "Returned to Sender"),
            },
            Carrier::Fedex => match scan {
                Scan::Label => ("OC", "Shipment information sent to FedEx"),
                Scan::Pickup => ("PU", "Picked up"),
                Scan::Departed => ("DP", "Departed FedEx location"),
                Scan::Arrived => ("AR", "Arrived at FedEx location"),
                Scan::AtDestination => ("AR", "At local FedEx facility"),
                Scan::OutForDelivery => ("OD", "On FedEx vehicle for delivery"),
                Scan::Delivered => ("DL", "Delivered"),
                Scan::Delayed(Weather) => ("DY", "Severe weather conditions have delayed delivery"),
                Scan::Delayed(MissedConnection) => ("DY", "Missed connection at FedEx facility"),
                Scan::Delayed(_) => ("DY", "Delay due to high package volume"),
                Scan::AttemptFailed => ("DE", "Customer not available or business closed"),
                Scan::Exception(Damaged) => ("SE", "Package damaged"),
                Scan::Exception(_) => ("DE", "Incorrect address"),
                Scan::Lost => ("SE", "Package not located"),
                Scan::Returning => ("RS", "Delivery refused. Returning package to shipper"),
                Scan::Returned => ("DL", "Delivered to shipper"),
            },
            Carrier::Usps => match scan {
                Scan::Label => ("GX", "Shipping Label Created, USPS Awaiting Item"),
                Scan::Pickup => ("OA", "Accepted at USPS Origin Facility"),
                Scan::Departed => ("L1", "Departed USPS Regional Facility"),
                Scan::Arrived => ("10", "Arrived at USPS Regional Facility"),
                Scan::AtDestination => ("07", "Arrived at Post Office"),
                Scan::OutForDelivery => ("OF", "Out for Delivery"),
                Scan::Delivered => ("01", "Delivered, In/At Mailbox"),
                Scan::Delayed(_) => ("NT", "In Transit, Arriving Late"),
                Scan::AttemptFailed => ("02", "Notice Left (No Authorized Recipient Available)"),
                Scan::Exception(Damaged) => ("DM", "Item Damaged"),
                Scan::Exception(_) => ("05", "Undeliverable as Addressed"),
                Scan::Lost => ("LM", "Item Could Not Be Located"),
                Scan::Returning => ("09", "Refused, Return to Sender Processed"),
                Scan::Returned => ("01", "Delivered, To Original Sender"),
            },
            Carrier::Dhl => match scan {
                Scan::Label => ("SI", "Shipment information received"),
                Scan::Pickup => ("PU", "Shipment picked up"),
                Scan::Departed => ("DF", "Departed Facility"),
                Scan::Arrived => ("AF", "Arrived at Sort Facility"),
                Scan::AtDestination => ("AR", "Arrived at Delivery Facility"),
                Scan::OutForDelivery => ("WC", "With delivery courier"),
                Scan::Delivered => ("OK", "Delivered"),
                Scan::Delayed(Weather) => ("TD", "Transport delay due to weather"),
                Scan::Delayed(MissedConnection) => ("TD", "Missed connecting transport"),
                Scan::Delayed(_) => ("TD", "Transport delay due to high volume"),
                Scan::AttemptFailed => ("NH", "Recipient not home, delivery attempted"),
                Scan::Exception(Damaged) => ("DM", "Shipment damaged"),
                Scan::Exception(_) => ("BA", "Bad or insufficient address"),
                Scan::Lost => ("LX", "Shipment could not be located"),
                Scan::Returning => ("RT", "Refused by recipient, returning to shipper"),
                Scan::Returned => ("RD", "Returned to shipper"),
            },
        }
    }
}

/// UPS's check digit: letters become digits by `(ascii - 63) % 10`, digits in even positions
/// (1-based) count double, and the check completes the sum to a multiple of ten.
fn ups_check_digit(body: &str) -> u32 {
    let sum: u32 = body
        .bytes()
        .enumerate()
        .map(|(i, b)| {
            let v = if b.is_ascii_digit() {
                u32::from(b - b'0')
            } else {
                (u32::from(b).saturating_sub(63)) % 10
            };
            if i % 2 == 1 { v * 2 } else { v }
        })
        .sum();
    (10 - sum % 10) % 10
}

/// GS1 mod 10: weights 3 and 1 alternating from the rightmost digit.
fn gs1_check_digit(body: &str) -> u32 {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| u32::from(b.wrapping_sub(b'0')) * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    (10 - sum % 10) % 10
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digits_match_published_examples() {
        // UPS's documentation sample number.
        assert_eq!(
            format!("1Z999AA1012345678{}", ups_check_digit("999AA1012345678")),
            "1Z999AA10123456784"
        );
        // A GS1 example: 629104150021 has check digit 3.
        assert_eq!(gs1_check_digit("629104150021"), 3);
    }

    #[test]
    fn tracking_numbers_have_each_carriers_shape() {
        let ground = &UPS_US[0];
        let ups = Carrier::Ups.tracking_number(400_005, ground, false);
        assert_eq!(ups.len(), 18);
        assert!(ups.starts_with("1Z8V0W4503"), "{ups}");
        let fedex = Carrier::Fedex.tracking_number(400_005, &FEDEX[0], false);
        assert!(
            fedex.len() == 12 && fedex.bytes().all(|b| b.is_ascii_digit()),
            "{fedex}"
        );
        let usps = Carrier::Usps.tracking_number(400_005, &USPS[0], false);
        assert!(usps.len() == 22 && usps.starts_with("9400"), "{usps}");
        let dhl = Carrier::Dhl.tracking_number(400_005, &DHL[0], true);
        assert_eq!(dhl.len(), 10);
        let (body, check) = dhl.split_at(9);
        assert_eq!(body.parse::<u64>().ok().map(|b| b % 7), check.parse().ok());
        assert_ne!(ups, Carrier::Ups.tracking_number(400_006, ground, false));
    }

    #[test]
    fn every_scan_has_a_code_and_a_text() {
        let scans = [
            Scan::Label,
            Scan::Pickup,
            Scan::Departed,
            Scan::Arrived,
            Scan::AtDestination,
            Scan::OutForDelivery,
            Scan::Delivered,
            Scan::Delayed(Reason::Weather),
            Scan::Delayed(Reason::Volume),
            Scan::AttemptFailed,
            Scan::Exception(Reason::Damaged),
            Scan::Exception(Reason::AddressIssue),
            Scan::Lost,
            Scan::Returning,
            Scan::Returned,
        ];
        for c in Carrier::ALL {
            for s in scans {
                let (code, text) = c.raw(s);
                assert!(!code.is_empty() && !text.is_empty(), "{c:?} {s:?}");
            }
        }
    }
}
