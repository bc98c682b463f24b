//! Purolator Tracking Web Service, `TrackPackagesByPin` (SOAP 1.1, namespace
//! `http://purolator.com/pws/datatypes/v1`): `TrackingInformationList/TrackingInformation`, one
//! per PIN, each with `Scans/Scan` (newest first): `ScanType`, `ScanDate` (`2024-04-12`),
//! `ScanTime` (`141700`), `Description`, `Depot/Name` (`MONTREAL SORT CTR/CTR TRIE, PQ`).
//! The response is found wherever it sits: in its envelope, bare, or in a wrapper element.
//!
//! Mapping key: `ScanType`. It says enough alone for `Delivery`, `OnDelivery` and
//! `ProofOfPickUp`; `Other` and `Undeliverable` cover everything from "Arrived at sort facility"
//! to "Incorrect address", so the table refines them by the scan's `Description` (patterns).
//!
//! Time: Purolator gives the depot's local time and no offset or zone. The place is the
//! depot's: its province when the name ends with one (`PQ` is Quebec), else the province of the
//! city Purolator names the depot after; normalization takes the zone from it. A scan whose
//! depot names no known place is reported unreadable, never read in an assumed zone.
//!
//! One unreadable scan is reported with its path; the others are read.

use super::canadapost::xmltree::{self, Node};
use super::canadapost::{root_name, squeeze, utf8, zones};
use crate::geo;
use crate::timefmt;
use crate::{LocalTime, Observation, ParseError, Parsed};
use serde_json::{Map, Value};

pub fn parse(doc: &[u8]) -> Result<Parsed, ParseError> {
    let text = utf8(doc)?.trim_start();
    root_name(text)?;
    let root = xmltree::parse(text)?;
    if let Some((f, path)) = root.find_with_path(&["Fault"]) {
        return Err(ParseError::new(
            path,
            format!(
                "SOAP fault {}: {}",
                f.text_of("faultcode").unwrap_or("?"),
                f.text_of("faultstring").unwrap_or("")
            ),
        ));
    }
    let Some((resp, base)) = root.find_with_path(&["TrackPackagesByPinResponse"]) else {
        return Err(ParseError::new(
            root.name.as_str(),
            "expected a TrackPackagesByPinResponse (in a SOAP envelope or not)",
        ));
    };
    let infos: Vec<&Node> = resp
        .child("TrackingInformationList")
        .map(|l| l.all("TrackingInformation").collect())
        .unwrap_or_default();
    if infos.is_empty()
        && let Some(e) = resp
            .child("ResponseInformation")
            .and_then(|r| r.child("Errors"))
            .and_then(|e| e.child("Error"))
    {
        return Err(ParseError::new(
            format!("{base}/ResponseInformation/Errors/Error[0]"),
            format!(
                "Purolator says {}: {}",
                e.text_of("Code").unwrap_or("?"),
                e.text_of("Description").unwrap_or("")
            ),
        ));
    }
    let mut out = Parsed::default();
    for (t, info) in infos.into_iter().enumerate() {
        let path = format!("{base}/TrackingInformationList/TrackingInformation[{t}]");
        let scans: Vec<&Node> = info
            .child("Scans")
            .map(|s| s.all("Scan").collect())
            .unwrap_or_default();
        let Some(pin) = info.child("PIN").and_then(|p| p.text_of("Value")) else {
            if !scans.is_empty() {
                out.unreadable.push(ParseError::new(
                    format!("{path}/PIN/Value"),
                    "missing or empty",
                ));
            }
            continue;
        };
        for (s, scan) in scans.into_iter().enumerate() {
            match observation(scan, &format!("{path}/Scans/Scan[{s}]"), pin) {
                Ok(o) => out.observations.push(o),
                Err(e) => out.unreadable.push(e),
            }
        }
    }
    Ok(out)
}

fn observation(scan: &Node, path: &str, pin: &str) -> Result<Observation, ParseError> {
    let scan_type = scan
        .text_of("ScanType")
        .ok_or_else(|| ParseError::new(format!("{path}/ScanType"), "missing or empty"))?;
    let date = scan
        .text_of("ScanDate")
        .ok_or_else(|| ParseError::new(format!("{path}/ScanDate"), "missing or empty"))?;
    let time = scan
        .text_of("ScanTime")
        .ok_or_else(|| ParseError::new(format!("{path}/ScanTime"), "missing or empty"))?;
    let civil = ["%H%M%S", "%H:%M:%S", "%H%M", "%H:%M"]
        .iter()
        .find_map(|f| timefmt::civil(date, "%Y-%m-%d", time, f))
        .ok_or_else(|| {
            ParseError::new(
                format!("{path}/ScanDate"),
                format!("{date:?} {time:?} is not a date (YYYY-MM-DD) and time (HHMMSS)"),
            )
        })?;
    let depot = scan.child("Depot").and_then(|d| d.text_of("Name"));
    let (city, province) = depot.map_or((None, None), split_depot);
    // A depot named after a known Canadian city alone keeps that form (`TORONTO`, Canada): the
    // zone comes from the city, and the location (part of the derived event id) stays as it was.
    let canadian = province.is_some() || city.and_then(city_province).is_some();
    let location = geo::location(city, province, None, canadian.then_some("CA"));
    let mut attributes = Map::new();
    if let Some(s) = scan
        .child("ScanDetails")
        .and_then(|d| d.text_of("DeliverySignature"))
    {
        attributes.insert("signed_by".into(), Value::String(s.to_owned()));
    }
    if let Some(c) = scan.text_of("Comment") {
        attributes.insert("comment".into(), Value::String(c.to_owned()));
    }
    Ok(Observation {
        mapping_key: scan_type.to_owned(),
        raw_code: scan_type.to_owned(),
        raw_description: scan.text_of("Description").map(squeeze),
        // The depot's wall clock: normalization places it in the depot's province.
        local_time: Some(LocalTime::new(civil)),
        tracking_number: Some(pin.to_owned()),
        carrier: Some("purolator".into()),
        location,
        attributes,
        ..Observation::default()
    })
}

/// `SAINT-LAURENT, QC`, `QUEBEC, PQ` or `Mississauga ON` -> city and province (its current
/// code); `TORONTO` -> city alone.
fn split_depot(name: &str) -> (Option<&str>, Option<&'static str>) {
    let trimmed = name.trim().trim_end_matches(',');
    if let Some((head, tail)) = trimmed.rsplit_once([',', ' '])
        && let Some(province) = zones::province_code(tail.trim())
    {
        let city = head.trim().trim_end_matches(',').trim();
        return ((!city.is_empty()).then_some(city), Some(province));
    }
    (Some(trimmed), None)
}

/// The province of a Purolator depot named after a city without its province, matched on the
/// name's first words (`TORONTO AIRPORT`, `Vancouver-Richmond`). A wrong province here would
/// shift every scan of that depot: only unambiguous Canadian depot cities are listed.
fn city_province(city: &str) -> Option<&'static str> {
    const CITIES: &[(&str, &str)] = &[
        ("ST JOHNS", "NL"),
        ("ST. JOHN'S", "NL"),
        ("ST JOHN'S", "NL"),
        ("GANDER", "NL"),
        ("HALIFAX", "NS"),
        ("DARTMOUTH", "NS"),
        ("CHARLOTTETOWN", "PE"),
        ("MONCTON", "NB"),
        ("SAINT JOHN", "NB"),
        ("FREDERICTON", "NB"),
        ("MONTREAL", "QC"),
        ("LACHINE", "QC"),
        ("SAINT-LAURENT", "QC"),
        ("LAVAL", "QC"),
        ("QUEBEC", "QC"),
        ("OTTAWA", "ON"),
        ("TORONTO", "ON"),
        ("ETOBICOKE", "ON"),
        ("MISSISSAUGA", "ON"),
        ("BRAMPTON", "ON"),
        ("CONCORD", "ON"),
        ("HAMILTON", "ON"),
        ("LONDON", "ON"),
        ("WINDSOR", "ON"),
        ("KITCHENER", "ON"),
        ("SUDBURY", "ON"),
        ("THUNDER BAY", "ON"),
        ("WINNIPEG", "MB"),
        ("BRANDON", "MB"),
        ("REGINA", "SK"),
        ("SASKATOON", "SK"),
        ("CALGARY", "AB"),
        ("EDMONTON", "AB"),
        ("RED DEER", "AB"),
        ("LETHBRIDGE", "AB"),
        ("VANCOUVER", "BC"),
        ("RICHMOND", "BC"),
        ("BURNABY", "BC"),
        ("SURREY", "BC"),
        ("VICTORIA", "BC"),
        ("KELOWNA", "BC"),
        ("WHITEHORSE", "YT"),
        ("YELLOWKNIFE", "NT"),
    ];
    let upper = city.trim().to_uppercase();
    CITIES.iter().find_map(|(name, province)| {
        let rest = upper.strip_prefix(name)?;
        // Whole words only: `LONDONDERRY` is not `LONDON`.
        (rest.is_empty() || rest.starts_with([' ', '-', '/', '('])).then_some(*province)
    })
}

#[cfg(test)]
mod tests;
