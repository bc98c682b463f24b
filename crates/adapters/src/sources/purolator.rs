//! Purolator Tracking Web Service, `TrackPackagesByPin` (SOAP 1.1, namespace
//! `http://purolator.com/pws/datatypes/v1`): `TrackingInformationList/TrackingInformation`, one
//! per PIN, each with `Scans/Scan` (newest first): `ScanType`, `ScanDate` (`2024-04-12`),
//! `ScanTime` (`141700`), `Description`, `Depot/Name`.
//!
//! Mapping key: `ScanType` alone says enough for `Delivery`, `OnDelivery` and `ProofOfPickUp`;
//! `Other` and `Undeliverable` cover everything from "Arrived at sort facility" to "Incorrect
//! address", so for those two the key is `ScanType:description`, the description trimmed, its
//! spaces collapsed and lower-cased (Purolator's capitalisation of the same text varies).
//!
//! Time: Purolator gives the depot's local time and no offset or zone. The zone comes from the
//! depot: its province when the name ends with one, else its city (Purolator names depots
//! after cities). A depot in neither list is read in Eastern time, Purolator's network clock,
//! and the event says so in `attributes.time_zone_assumed`.

use super::canadapost::zones;
use super::canadapost::{root_name, utf8};
use crate::geo;
use crate::jsonstr::text as nonempty;
use crate::timefmt;
use crate::{Observation, ParseError};
use serde::Deserialize;
use serde_json::{Map, Value};

const ASSUMED_ZONE: &str = "America/Toronto";

#[derive(Deserialize, Default)]
#[serde(default)]
struct Envelope {
    #[serde(rename = "Body")]
    body: Body,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Body {
    #[serde(rename = "TrackPackagesByPinResponse")]
    response: Option<TrackResponse>,
    #[serde(rename = "Fault")]
    fault: Option<Fault>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Fault {
    faultcode: Option<String>,
    faultstring: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct TrackResponse {
    response_information: ResponseInformation,
    tracking_information_list: TrackingInformationList,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct ResponseInformation {
    errors: Errors,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct Errors {
    error: Vec<ApiError>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct ApiError {
    code: Option<String>,
    description: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct TrackingInformationList {
    tracking_information: Vec<TrackingInformation>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct TrackingInformation {
    #[serde(rename = "PIN")]
    pin: Pin,
    scans: Scans,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct Pin {
    value: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct Scans {
    scan: Vec<Scan>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct Scan {
    scan_type: Option<String>,
    depot: Depot,
    scan_date: Option<String>,
    scan_time: Option<String>,
    description: Option<String>,
    comment: Option<String>,
    scan_details: ScanDetails,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct Depot {
    name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct ScanDetails {
    delivery_signature: Option<String>,
}

const BASE: &str = "Envelope/Body/TrackPackagesByPinResponse";

pub fn parse(doc: &[u8]) -> Result<Vec<Observation>, ParseError> {
    let text = utf8(doc)?;
    let root = root_name(text)?;
    if root != "Envelope" {
        return Err(ParseError::new(
            root,
            "expected a SOAP Envelope holding a TrackPackagesByPinResponse",
        ));
    }
    let env: Envelope = quick_xml::de::from_str(text)
        .map_err(|e| ParseError::new("Envelope", format!("not readable XML: {e}")))?;
    if let Some(f) = env.body.fault {
        return Err(ParseError::new(
            "Envelope/Body/Fault",
            format!(
                "SOAP fault {}: {}",
                nonempty(&f.faultcode).unwrap_or("?"),
                nonempty(&f.faultstring).unwrap_or("")
            ),
        ));
    }
    let resp = env.body.response.ok_or_else(|| {
        ParseError::new("Envelope/Body", "no TrackPackagesByPinResponse in the body")
    })?;
    let infos = &resp.tracking_information_list.tracking_information;
    if infos.is_empty()
        && let Some(e) = resp.response_information.errors.error.first()
    {
        return Err(ParseError::new(
            format!("{BASE}/ResponseInformation/Errors/Error[0]"),
            format!(
                "Purolator says {}: {}",
                nonempty(&e.code).unwrap_or("?"),
                nonempty(&e.description).unwrap_or("")
            ),
        ));
    }
    let mut out = Vec::new();
    for (t, info) in infos.iter().enumerate() {
        let path = format!("{BASE}/TrackingInformationList/TrackingInformation[{t}]");
        let pin = nonempty(&info.pin.value)
            .ok_or_else(|| ParseError::new(format!("{path}/PIN/Value"), "missing or empty"))?;
        for (s, scan) in info.scans.scan.iter().enumerate() {
            out.push(observation(scan, &format!("{path}/Scans/Scan[{s}]"), pin)?);
        }
    }
    Ok(out)
}

fn observation(scan: &Scan, path: &str, pin: &str) -> Result<Observation, ParseError> {
    let scan_type = nonempty(&scan.scan_type)
        .ok_or_else(|| ParseError::new(format!("{path}/ScanType"), "missing or empty"))?;
    let description = nonempty(&scan.description);
    let mapping_key = match scan_type {
        "Other" | "Undeliverable" => {
            let d = description.ok_or_else(|| {
                ParseError::new(
                    format!("{path}/Description"),
                    format!("a {scan_type} scan needs its description to be understood"),
                )
            })?;
            let d = d.split_whitespace().collect::<Vec<_>>().join(" ");
            format!("{scan_type}:{}", d.to_lowercase())
        }
        t => t.to_owned(),
    };
    let date = nonempty(&scan.scan_date)
        .ok_or_else(|| ParseError::new(format!("{path}/ScanDate"), "missing or empty"))?;
    let time = nonempty(&scan.scan_time)
        .ok_or_else(|| ParseError::new(format!("{path}/ScanTime"), "missing or empty"))?;
    let civil = timefmt::civil(date, "%Y-%m-%d", time, "%H%M%S").ok_or_else(|| {
        ParseError::new(
            format!("{path}/ScanDate"),
            format!("{date:?} {time:?} is not a date (YYYY-MM-DD) and time (HHMMSS)"),
        )
    })?;
    let depot = nonempty(&scan.depot.name);
    let (city, province) = depot.map_or((None, None), split_depot);
    let known = province
        .and_then(zones::province_zone)
        .or_else(|| city.and_then(city_zone));
    let mut attributes = Map::new();
    let zone = known.unwrap_or_else(|| {
        attributes.insert(
            "time_zone_assumed".into(),
            Value::String(ASSUMED_ZONE.into()),
        );
        ASSUMED_ZONE
    });
    let occurred_at = timefmt::local_in_zone(civil, zone).ok_or_else(|| {
        ParseError::new(
            format!("{path}/ScanTime"),
            format!("{date} {time} does not exist in {zone}"),
        )
    })?;
    if let Some(s) = nonempty(&scan.scan_details.delivery_signature) {
        attributes.insert("signed_by".into(), Value::String(s.to_owned()));
    }
    if let Some(c) = nonempty(&scan.comment) {
        attributes.insert("comment".into(), Value::String(c.to_owned()));
    }
    let country = (province.is_some() || known.is_some()).then_some("CA");
    Ok(Observation {
        mapping_key,
        raw_code: scan_type.to_owned(),
        raw_description: description.map(str::to_owned),
        occurred_at: Some(occurred_at),
        local_time: None,
        tracking_number: Some(pin.to_owned()),
        carrier: Some("purolator".into()),
        location: geo::location(city, province, None, country),
        attributes,
        ..Observation::default()
    })
}

/// `SAINT-LAURENT, QC` or `Mississauga ON` -> city and province; `TORONTO` -> city alone.
fn split_depot(name: &str) -> (Option<&str>, Option<&str>) {
    let trimmed = name.trim().trim_end_matches(',');
    if let Some((head, tail)) = trimmed.rsplit_once([',', ' '])
        && zones::is_province(tail.trim())
    {
        let city = head.trim().trim_end_matches(',').trim();
        return ((!city.is_empty()).then_some(city), Some(tail.trim()));
    }
    (Some(trimmed), None)
}

/// The zone of a Purolator depot city, matched on the name's first words (`TORONTO AIRPORT`,
/// `Vancouver-Richmond`). Cities outside Eastern time are listed with care: a wrong zone here
/// would shift every scan of that depot.
fn city_zone(city: &str) -> Option<&'static str> {
    const CITIES: &[(&str, &str)] = &[
        ("ST JOHNS", "America/St_Johns"),
        ("ST. JOHN'S", "America/St_Johns"),
        ("ST JOHN'S", "America/St_Johns"),
        ("GANDER", "America/St_Johns"),
        ("HALIFAX", "America/Halifax"),
        ("DARTMOUTH", "America/Halifax"),
        ("CHARLOTTETOWN", "America/Halifax"),
        ("MONCTON", "America/Moncton"),
        ("SAINT JOHN", "America/Moncton"),
        ("FREDERICTON", "America/Moncton"),
        ("MONTREAL", "America/Toronto"),
        ("LACHINE", "America/Toronto"),
        ("SAINT-LAURENT", "America/Toronto"),
        ("LAVAL", "America/Toronto"),
        ("QUEBEC", "America/Toronto"),
        ("OTTAWA", "America/Toronto"),
        ("TORONTO", "America/Toronto"),
        ("ETOBICOKE", "America/Toronto"),
        ("MISSISSAUGA", "America/Toronto"),
        ("BRAMPTON", "America/Toronto"),
        ("CONCORD", "America/Toronto"),
        ("HAMILTON", "America/Toronto"),
        ("LONDON", "America/Toronto"),
        ("WINDSOR", "America/Toronto"),
        ("KITCHENER", "America/Toronto"),
        ("SUDBURY", "America/Toronto"),
        ("THUNDER BAY", "America/Toronto"),
        ("WINNIPEG", "America/Winnipeg"),
        ("BRANDON", "America/Winnipeg"),
        ("REGINA", "America/Regina"),
        ("SASKATOON", "America/Regina"),
        ("CALGARY", "America/Edmonton"),
        ("EDMONTON", "America/Edmonton"),
        ("RED DEER", "America/Edmonton"),
        ("LETHBRIDGE", "America/Edmonton"),
        ("VANCOUVER", "America/Vancouver"),
        ("RICHMOND", "America/Vancouver"),
        ("BURNABY", "America/Vancouver"),
        ("SURREY", "America/Vancouver"),
        ("VICTORIA", "America/Vancouver"),
        ("KELOWNA", "America/Vancouver"),
        ("WHITEHORSE", "America/Whitehorse"),
        ("YELLOWKNIFE", "America/Yellowknife"),
    ];
    let upper = city.trim().to_uppercase();
    CITIES.iter().find_map(|(name, zone)| {
        let rest = upper.strip_prefix(name)?;
        // Whole words only: `LONDONDERRY` is not `LONDON`.
        (rest.is_empty() || rest.starts_with([' ', '-', '/', '('])).then_some(*zone)
    })
}

#[cfg(test)]
mod tests;
