//! Which vendor code each carrier uses for each kind of scan: data, in one table. Every entry
//! is a real code from the carrier's tracking vocabulary, with the carrier's wording, and says
//! what Waypost's built-in mapping table (`crates/adapters/mappings/<carrier>.toml`) makes of
//! it. A unit test runs every entry through `waypost_adapters::normalize` and checks that.
//!
//! Carriers do not all have a word for everything the world does. UPS's tracking API reports
//! every delay, failed attempt, loss and refusal under status type `X`, and only its text tells
//! them apart (the table's patterns read it); FedEx reports a failed attempt as a delivery
//! exception (`DE`) with exception code `007`, and a return's arrival back at the shipper as a
//! delivery (`DL`); DHL reports losses and damage as a bare `failure`; USPS's
//! table has no damage code (a damaged parcel comes out as USPS's "Undeliverable as Addressed")
//! and USPS reports weather and volume delays as plain transit. In those cases the
//! table says what the carrier really says, and the ground truth follows the table, not the
//! world's intent: the truth is what a correct Waypost must conclude from what partners said.

use waypost_demo::{Carrier, Scan};
use waypost_domain::{Reason, Status};

/// One carrier code as the simulator sends it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VendorCode {
    pub carrier: Carrier,
    pub scan: Scan,
    /// The carrier's event code: UPS activity code, FedEx `eventType`, USPS `eventCode`, DHL
    /// Express checkpoint code (empty: the event carries only the unified `statusCode`).
    pub code: &'static str,
    /// A second field the format needs: UPS `status.type`, FedEx `exceptionCode` (may be
    /// empty), DHL unified `statusCode`; unused for USPS.
    pub aux: &'static str,
    /// The carrier's own text for the event.
    pub description: &'static str,
    /// What Waypost's built-in table makes of it.
    pub status: Status,
    pub reason: Option<Reason>,
}

const fn c(
    carrier: Carrier,
    scan: Scan,
    code: &'static str,
    aux: &'static str,
    description: &'static str,
    status: Status,
    reason: Option<Reason>,
) -> VendorCode {
    VendorCode {
        carrier,
        scan,
        code,
        aux,
        description,
        status,
        reason,
    }
}

use Carrier::{Dhl, Fedex, Ups, Usps};
use Reason::{
    AddressIssue, Damaged, MissedConnection, RecipientUnavailable, Refused, Volume, Weather,
};
use Scan::*;
use Status as S;

/// The table. Order does not matter; each (carrier, scan) appears once. One row per line reads
/// best as a table, hence no rustfmt.
#[rustfmt::skip]
pub const CODES: &[VendorCode] = &[
    // UPS Track API: `status.type` in `aux`, the activity code in `code`.
    c(Ups, Label, "MP", "M", "Shipper created a label, UPS has not received the package yet.", S::LabelCreated, None),
    c(Ups, Pickup, "PU", "P", "Pickup Scan", S::Shipped, None),
    c(Ups, Departed, "DP", "I", "Departed from Facility", S::InTransit, None),
    c(Ups, Arrived, "AR", "I", "Arrived at Facility", S::InTransit, None),
    c(Ups, AtDestination, "DS", "I", "Destination Scan", S::InTransit, None),
    c(Ups, OutForDelivery, "OT", "I", "Out For Delivery Today", S::OutForDelivery, None),
    c(Ups, Delivered, "FS", "D", "DELIVERED", S::Delivered, None),
    c(Ups, Delayed(Weather), "WE", "X", "A weather emergency has delayed delivery.", S::Delayed, Some(Weather)),
    c(Ups, Delayed(Volume), "VO", "X", "Due to high package volume, delivery may be delayed.", S::Delayed, None),
    c(Ups, Delayed(MissedConnection), "MC", "X", "The package missed a connection. We're adjusting plans to deliver it.", S::Exception, None),
    c(Ups, AttemptFailed, "48", "X", "The receiver was not available for delivery. We'll make a second attempt the next business day.", S::AttemptFailed, Some(RecipientUnavailable)),
    c(Ups, Exception(Damaged), "DM", "X", "Damage reported. The package is being evaluated.", S::Exception, None),
    c(Ups, Exception(AddressIssue), "AD", "X", "The address is incorrect. We're attempting to update it.", S::Exception, Some(AddressIssue)),
    c(Ups, Lost, "LC", "X", "We're unable to locate the package.", S::Exception, None),
    c(Ups, Returning, "RF", "X", "The receiver refused the delivery. Returning to sender.", S::Exception, Some(Refused)),
    c(Ups, Returned, "RS", "RS", "Returned to Sender", S::Returned, None),
    // FedEx Track API: `eventType` in `code`, `exceptionCode` in `aux`.
    c(Fedex, Label, "OC", "", "Shipment information sent to FedEx", S::LabelCreated, None),
    c(Fedex, Pickup, "PU", "", "Picked up", S::Shipped, None),
    c(Fedex, Departed, "DP", "", "Departed FedEx location", S::InTransit, None),
    c(Fedex, Arrived, "AR", "", "Arrived at FedEx location", S::InTransit, None),
    c(Fedex, AtDestination, "AF", "", "At local FedEx facility", S::InTransit, None),
    c(Fedex, OutForDelivery, "OD", "", "On FedEx vehicle for delivery", S::OutForDelivery, None),
    c(Fedex, Delivered, "DL", "", "Delivered", S::Delivered, None),
    c(Fedex, Delayed(Weather), "DY", "", "Severe weather conditions have delayed delivery", S::Delayed, Some(Weather)),
    c(Fedex, Delayed(Volume), "DY", "", "Delay due to high package volume", S::Delayed, None),
    c(Fedex, Delayed(MissedConnection), "DY", "", "Missed connection at FedEx facility", S::Delayed, None),
    c(Fedex, AttemptFailed, "DE", "007", "Customer not available or business closed", S::AttemptFailed, Some(RecipientUnavailable)),
    c(Fedex, Exception(Damaged), "SE", "", "Package damaged", S::Exception, Some(Damaged)),
    c(Fedex, Exception(AddressIssue), "DE", "03", "Incorrect address", S::Exception, Some(AddressIssue)),
    c(Fedex, Lost, "SE", "", "Package not located", S::Exception, None),
    c(Fedex, Returning, "RS", "", "Delivery refused. Returning package to shipper", S::Returning, None),
    c(Fedex, Returned, "DL", "", "Delivered to shipper", S::Delivered, None),
    // USPS Tracking v3: `eventCode`.
    c(Usps, Label, "GX", "", "Shipping Label Created, USPS Awaiting Item", S::LabelCreated, None),
    c(Usps, Pickup, "OA", "", "Accepted at USPS Origin Facility", S::Shipped, None),
    c(Usps, Departed, "T1", "", "Departed USPS Regional Facility", S::InTransit, None),
    c(Usps, Arrived, "A1", "", "Arrived at USPS Regional Facility", S::InTransit, None),
    c(Usps, AtDestination, "07", "", "Arrived at Post Office", S::InTransit, None),
    c(Usps, OutForDelivery, "OF", "", "Out for Delivery", S::OutForDelivery, None),
    c(Usps, Delivered, "01", "", "Delivered, In/At Mailbox", S::Delivered, None),
    c(Usps, Delayed(Weather), "NT", "", "In Transit to Next Facility, Arriving Late", S::InTransit, None),
    c(Usps, Delayed(Volume), "NT", "", "In Transit to Next Facility, Arriving Late", S::InTransit, None),
    c(Usps, Delayed(MissedConnection), "08", "", "Missent", S::Delayed, None),
    c(Usps, AttemptFailed, "02", "", "Notice Left (No Authorized Recipient Available)", S::AttemptFailed, Some(RecipientUnavailable)),
    c(Usps, Exception(Damaged), "05", "", "Undeliverable as Addressed", S::Exception, Some(AddressIssue)),
    c(Usps, Exception(AddressIssue), "22", "", "Insufficient Address", S::Exception, Some(AddressIssue)),
    c(Usps, Lost, "11", "", "Dead Letter", S::Lost, None),
    c(Usps, Returning, "09", "", "Return to Sender", S::Returning, None),
    c(Usps, Returned, "01", "", "Delivered, To Original Sender", S::Returned, None),
    // DHL Shipment Tracking - Unified, Express shipments: checkpoint code in `code`, unified
    // `statusCode` in `aux`.
    c(Dhl, Label, "", "pre-transit", "Shipment information received", S::LabelCreated, None),
    c(Dhl, Pickup, "PU", "transit", "Shipment picked up", S::Shipped, None),
    c(Dhl, Departed, "DF", "transit", "Departed Facility", S::InTransit, None),
    c(Dhl, Arrived, "AF", "transit", "Arrived at Sort Facility", S::InTransit, None),
    c(Dhl, AtDestination, "AR", "transit", "Arrived at Delivery Facility", S::InTransit, None),
    c(Dhl, OutForDelivery, "WC", "transit", "With delivery courier", S::OutForDelivery, None),
    c(Dhl, Delivered, "OK", "delivered", "Delivered", S::Delivered, None),
    c(Dhl, Delayed(Weather), "TD", "transit", "Transport delay due to weather", S::Delayed, None),
    c(Dhl, Delayed(Volume), "TD", "transit", "Transport delay due to high volume", S::Delayed, None),
    c(Dhl, Delayed(MissedConnection), "MS", "transit", "Mis-sort", S::Delayed, Some(MissedConnection)),
    c(Dhl, AttemptFailed, "NH", "failure", "Delivery attempted; recipient not home", S::AttemptFailed, Some(RecipientUnavailable)),
    c(Dhl, Exception(Damaged), "", "failure", "Shipment damaged", S::Exception, None),
    c(Dhl, Exception(AddressIssue), "BA", "failure", "Bad address", S::Exception, Some(AddressIssue)),
    c(Dhl, Lost, "", "failure", "Shipment could not be located", S::Exception, None),
    c(Dhl, Returning, "RT", "transit", "Returned to shipper", S::Returning, None),
    c(Dhl, Returned, "OK", "delivered", "Delivered to shipper", S::Delivered, None),
];

/// Every scan the demo world plans.
pub const SCANS: [Scan; 16] = [
    Label,
    Pickup,
    Departed,
    Arrived,
    AtDestination,
    OutForDelivery,
    Delivered,
    Delayed(Weather),
    Delayed(Volume),
    Delayed(MissedConnection),
    AttemptFailed,
    Exception(Damaged),
    Exception(AddressIssue),
    Lost,
    Returning,
    Returned,
];

/// The code `carrier` uses for `scan`. `None` only for a scan the table lacks, which a test
/// rules out for every scan the world plans.
pub fn lookup(carrier: Carrier, scan: Scan) -> Option<&'static VendorCode> {
    CODES
        .iter()
        .find(|v| v.carrier == carrier && v.scan == scan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_carrier_has_one_code_for_every_scan() {
        for carrier in Carrier::ALL {
            for scan in SCANS {
                let n = CODES
                    .iter()
                    .filter(|v| v.carrier == carrier && v.scan == scan)
                    .count();
                assert_eq!(n, 1, "{carrier:?} {scan:?}");
            }
        }
    }
}
