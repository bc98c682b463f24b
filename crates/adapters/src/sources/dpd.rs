//! DPD: the Parcel Life Cycle document of DPD Germany's tracking (`GET
//! https://tracking.dpd.de/rest/plc/{lang}/{parcelNumber}`, JSON), one parcel per document:
//! `parcellifecycleResponse.parcelLifeCycleData.{shipmentInfo{parcelLabelNumber, productName,
//! receiverCountryIsoCode}, statusInfo[], contactInfo[], scanInfo{scan[]}}`. A poller that
//! batches parcels may send a JSON array of such documents; both shapes are read.
//!
//! Every `scanInfo.scan[]` entry is one report, in document order, keyed by its scan code
//! (`scanData.scanType.code`, two digits: `"13"`). These are DPD's group-wide scan codes, the
//! same ones DPD documents for its status data files (see `mappings/dpd.toml`). `statusInfo[]`
//! is not read: it is DPD's five-step summary of the same scans, and its steps not yet reached
//! are a forecast, not reports.
//!
//! Times: `scan[].date` (`2024-03-28T14:05:10`, or `scanData.scanDate` + `scanTime`) is the
//! local time of the scanning depot, without an offset. It is resolved in the zone of the
//! depot's country (`scanData.country`, else the `(DE)` that ends `scanData.location`), so a
//! scan in Lisbon and one in Warsaw get their own offsets; a time that already carries an
//! offset is taken as it is. A country whose zone is not known is an error, never a guess.

use crate::geo;
use crate::jsonstr::{from_json, text};
use crate::timefmt;
use crate::{Observation, ParseError};
use jiff::civil::DateTime;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::borrow::Cow;
use waypost_domain::EventTime;

type Text<'a> = Option<Cow<'a, str>>;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Doc<'a> {
    #[serde(borrow, default, alias = "parcelLifecycleResponse")]
    parcellifecycle_response: Option<PlcResponse<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PlcResponse<'a> {
    #[serde(borrow, default)]
    parcel_life_cycle_data: Option<PlcData<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PlcData<'a> {
    #[serde(borrow, default)]
    shipment_info: Option<ShipmentInfo<'a>>,
    #[serde(borrow, default)]
    scan_info: Option<ScanInfo<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ShipmentInfo<'a> {
    #[serde(borrow, default)]
    parcel_label_number: Text<'a>,
    #[serde(borrow, default)]
    product_name: Text<'a>,
    #[serde(borrow, default)]
    receiver_country_iso_code: Text<'a>,
}

#[derive(Deserialize)]
struct ScanInfo<'a> {
    #[serde(borrow, default)]
    scan: Option<Vec<Scan<'a>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Scan<'a> {
    #[serde(borrow, default)]
    date: Text<'a>,
    #[serde(borrow, default)]
    scan_data: Option<ScanData<'a>>,
    #[serde(borrow, default)]
    scan_description: Option<Description<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScanData<'a> {
    #[serde(borrow, default)]
    scan_date: Text<'a>,
    #[serde(borrow, default)]
    scan_time: Text<'a>,
    #[serde(borrow, default)]
    scan_depot: Option<Depot<'a>>,
    #[serde(borrow, default)]
    location: Text<'a>,
    #[serde(borrow, default)]
    country: Text<'a>,
    #[serde(borrow, default)]
    scan_type: Option<ScanType<'a>>,
}

#[derive(Deserialize)]
struct Depot<'a> {
    #[serde(borrow, default)]
    number: Text<'a>,
}

#[derive(Deserialize)]
struct ScanType<'a> {
    #[serde(borrow, default)]
    code: Text<'a>,
    #[serde(borrow, default)]
    name: Text<'a>,
}

#[derive(Deserialize)]
struct Description<'a> {
    #[serde(borrow, default)]
    label: Text<'a>,
    #[serde(borrow, default)]
    content: Vec<Cow<'a, str>>,
}

pub fn parse(doc: &[u8]) -> Result<Vec<Observation>, ParseError> {
    let json_err = |e: serde_json::Error| ParseError::json(&e, "a DPD parcel life cycle document");
    // A batch is an array of documents; the first significant byte says which it is.
    let batch = doc.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    let docs: Vec<Doc> = if batch {
        from_json(doc).map_err(json_err)?
    } else {
        vec![from_json(doc).map_err(json_err)?]
    };
    let mut out = Vec::new();
    for (d, one) in docs.iter().enumerate() {
        let prefix = if batch {
            format!("[{d}].parcellifecycleResponse")
        } else {
            "parcellifecycleResponse".to_owned()
        };
        read_parcel(one, &prefix, &mut out)?;
    }
    Ok(out)
}

fn read_parcel(doc: &Doc, prefix: &str, out: &mut Vec<Observation>) -> Result<(), ParseError> {
    let data = doc
        .parcellifecycle_response
        .as_ref()
        .ok_or_else(|| ParseError::new(prefix, "missing parcellifecycleResponse"))?
        .parcel_life_cycle_data
        .as_ref()
        // DPD answers an unknown parcel number with an empty life cycle.
        .ok_or_else(|| {
            ParseError::new(
                format!("{prefix}.parcelLifeCycleData"),
                "no parcel data (DPD does not know this parcel number)",
            )
        })?;
    let info = data.shipment_info.as_ref();
    let tracking = info
        .and_then(|s| text(&s.parcel_label_number))
        .ok_or_else(|| {
            ParseError::new(
                format!("{prefix}.parcelLifeCycleData.shipmentInfo.parcelLabelNumber"),
                "missing parcelLabelNumber",
            )
        })?;
    let service = info.and_then(|s| text(&s.product_name)).map(str::to_owned);
    let destination = info
        .and_then(|s| text(&s.receiver_country_iso_code))
        .and_then(|c| geo::location(None, None, None, Some(c)));
    let scans = data
        .scan_info
        .as_ref()
        .and_then(|s| s.scan.as_deref())
        .unwrap_or_default();
    out.reserve(scans.len());
    for (i, scan) in scans.iter().enumerate() {
        let path = |f: &str| format!("{prefix}.parcelLifeCycleData.scanInfo.scan[{i}].{f}");
        let sd = scan
            .scan_data
            .as_ref()
            .ok_or_else(|| ParseError::new(path("scanData"), "missing scanData"))?;
        let ty = sd.scan_type.as_ref();
        let raw = ty
            .and_then(|t| text(&t.code))
            .ok_or_else(|| ParseError::new(path("scanData.scanType.code"), "missing scan code"))?;
        let (city, country) = place(text(&sd.location), text(&sd.country));
        let location = geo::location(city, None, None, country);
        let occurred_at = scan_time(scan, sd, location.as_ref())
            .map_err(|(field, m)| ParseError::new(path(field), m))?;
        let description = scan.scan_description.as_ref();
        let description_text = description
            .map(|d| {
                d.content
                    .iter()
                    .map(|c| c.trim())
                    .filter(|c| !c.is_empty())
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .filter(|t| !t.is_empty())
            .or_else(|| description.and_then(|d| text(&d.label)).map(str::to_owned))
            .or_else(|| ty.and_then(|t| text(&t.name)).map(str::to_owned));
        let mut attributes = Map::new();
        if let Some(n) = sd.scan_depot.as_ref().and_then(|d| text(&d.number)) {
            attributes.insert("depot".into(), Value::String(n.to_owned()));
        }
        out.push(Observation {
            mapping_key: code_key(raw),
            raw_code: raw.to_owned(),
            raw_description: description_text,
            occurred_at: Some(occurred_at),
            local_time: None,
            tracking_number: Some(tracking.to_owned()),
            carrier: Some("dpd".to_owned()),
            service: service.clone(),
            location,
            destination: destination.clone(),
            attributes,
            ..Observation::default()
        });
    }
    Ok(())
}

/// Scan codes are two digits; `"3"` is `"03"`.
fn code_key(raw: &str) -> String {
    if raw.len() == 1 && raw.bytes().all(|b| b.is_ascii_digit()) {
        format!("0{raw}")
    } else {
        raw.to_owned()
    }
}

/// `Unna (DE)` -> (`Unna`, `DE`); the separate `country` field wins when it names a country.
fn place<'s>(
    location: Option<&'s str>,
    country: Option<&'s str>,
) -> (Option<&'s str>, Option<&'s str>) {
    let (city, suffix) = match location {
        Some(l) => match l.strip_suffix(')').and_then(|l| l.rsplit_once('(')) {
            Some((city, cc)) => (Some(city.trim()).filter(|c| !c.is_empty()), Some(cc.trim())),
            None => (Some(l), None),
        },
        None => (None, None),
    };
    let country = country
        .filter(|c| geo::country_code(c).is_some())
        .or(suffix);
    (city, country)
}

/// The scan's instant: `date` (or `scanDate` + `scanTime`) in the depot's zone. The error names
/// the field it comes from.
fn scan_time(
    scan: &Scan,
    sd: &ScanData,
    place: Option<&waypost_domain::Location>,
) -> Result<EventTime, (&'static str, String)> {
    let (field, civil) = if let Some(d) = text(&scan.date) {
        if let Some(t) = timefmt::with_offset(d) {
            return Ok(t);
        }
        let civil = d
            .parse::<DateTime>()
            .map_err(|_| ("date", format!("{d:?} is not an ISO 8601 date-time")))?;
        ("date", civil)
    } else {
        let (date, time) = text(&sd.scan_date).zip(text(&sd.scan_time)).ok_or((
            "date",
            "missing date (and scanData.scanDate/scanTime)".to_owned(),
        ))?;
        let civil = timefmt::civil(date, "%Y-%m-%d", time, "%H:%M:%S").ok_or_else(|| {
            (
                "scanData.scanDate",
                format!("{date:?} {time:?} is not a date and a time"),
            )
        })?;
        ("scanData.scanDate", civil)
    };
    let country = place.and_then(|p| p.country.as_deref());
    let zone = country.and_then(zone_of).ok_or_else(|| {
        (
            field,
            format!(
                "local time without an offset, and the depot's country ({}) has no known zone",
                country.unwrap_or("none given")
            ),
        )
    })?;
    timefmt::local_in_zone(civil, zone).ok_or_else(|| (field, format!("no such time in {zone}")))
}

/// The zone of a DPD depot's country. DPD's network is European; countries spanning several
/// zones (Portugal's Azores, Spain's Canaries) are given their mainland zone, where DPD's
/// depots are.
fn zone_of(country: &str) -> Option<&'static str> {
    Some(match country {
        "DE" => "Europe/Berlin",
        "AT" => "Europe/Vienna",
        "CH" => "Europe/Zurich",
        "LI" => "Europe/Vaduz",
        "NL" => "Europe/Amsterdam",
        "BE" => "Europe/Brussels",
        "LU" => "Europe/Luxembourg",
        "FR" => "Europe/Paris",
        "MC" => "Europe/Monaco",
        "GB" => "Europe/London",
        "IE" => "Europe/Dublin",
        "ES" => "Europe/Madrid",
        "PT" => "Europe/Lisbon",
        "IT" => "Europe/Rome",
        "DK" => "Europe/Copenhagen",
        "SE" => "Europe/Stockholm",
        "NO" => "Europe/Oslo",
        "FI" => "Europe/Helsinki",
        "PL" => "Europe/Warsaw",
        "CZ" => "Europe/Prague",
        "SK" => "Europe/Bratislava",
        "HU" => "Europe/Budapest",
        "SI" => "Europe/Ljubljana",
        "HR" => "Europe/Zagreb",
        "RS" => "Europe/Belgrade",
        "BA" => "Europe/Sarajevo",
        "RO" => "Europe/Bucharest",
        "BG" => "Europe/Sofia",
        "GR" => "Europe/Athens",
        "EE" => "Europe/Tallinn",
        "LV" => "Europe/Riga",
        "LT" => "Europe/Vilnius",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(date: &str, location: &str, country: &str) -> String {
        format!(
            r#"{{"parcellifecycleResponse":{{"parcelLifeCycleData":{{
            "shipmentInfo":{{"parcelLabelNumber":"01905012345678","productName":"DPD Classic","receiverCountryIsoCode":"PT"}},
            "statusInfo":[],"contactInfo":[],"scanInfo":{{"scan":[{{"date":"{date}",
            "scanData":{{"scanDate":"2024-03-30","scanTime":"23:40:00","scanDepot":{{"businessUnit":"0101","number":"0175"}},
            "location":"{location}","country":"{country}","scanType":{{"name":"HUB scan","code":"10"}}}},
            "scanDescription":{{"label":"In transit","content":["At parcel hub"]}}}}]}}}}}}}}"#
        )
    }

    #[test]
    fn depot_local_time_in_the_depot_zone() {
        // Aschaffenburg before the spring change is +01:00, after it +02:00.
        let o = parse(doc("2024-03-30T23:40:00", "Aschaffenburg (DE)", "").as_bytes()).unwrap();
        let t = o[0].occurred_at.unwrap();
        assert_eq!(t.instant.to_string(), "2024-03-30T22:40:00Z");
        let o = parse(doc("2024-03-31T08:00:00", "Aschaffenburg (DE)", "").as_bytes()).unwrap();
        assert_eq!(o[0].occurred_at.unwrap().offset.seconds(), 7200);
        // Lisbon is an hour behind Berlin; the country field is read too.
        let o = parse(doc("2024-07-01T10:00:00", "Lisboa", "PT").as_bytes()).unwrap();
        assert_eq!(
            o[0].occurred_at.unwrap().instant.to_string(),
            "2024-07-01T09:00:00Z"
        );
        assert_eq!(o[0].mapping_key, "10");
        assert_eq!(o[0].raw_description.as_deref(), Some("At parcel hub"));
        let l = o[0].location.as_ref().unwrap();
        assert_eq!(
            (l.city.as_deref(), l.country.as_deref()),
            (Some("Lisboa"), Some("PT"))
        );
        // No `date`: scanDate + scanTime.
        let o = parse(doc("", "Unna (DE)", "DE").as_bytes()).unwrap();
        assert_eq!(
            o[0].occurred_at.unwrap().instant.to_string(),
            "2024-03-30T22:40:00Z"
        );
    }

    #[test]
    fn bad_times_and_unknown_zones_name_their_path() {
        let p = "parcellifecycleResponse.parcelLifeCycleData.scanInfo.scan[0].date";
        let err = parse(doc("yesterday", "Unna (DE)", "").as_bytes()).unwrap_err();
        assert_eq!(err.path, p);
        let err = parse(doc("2024-07-01T10:00:00", "Ankara (TR)", "").as_bytes()).unwrap_err();
        assert_eq!(err.path, p);
        assert!(err.message.contains("TR"), "{err}");
        let err = parse(format!("[{}]", doc("x", "Unna (DE)", "")).as_bytes()).unwrap_err();
        assert!(
            err.path.starts_with("[0].parcellifecycleResponse."),
            "{err}"
        );
    }

    #[test]
    fn empty_history_unknown_parcel_and_garbage() {
        let d = r#"{"parcellifecycleResponse":{"parcelLifeCycleData":{
            "shipmentInfo":{"parcelLabelNumber":"01905012345678"},"scanInfo":{"scan":[]}}}}"#;
        assert!(parse(d.as_bytes()).unwrap().is_empty());
        let d = r#"{"parcellifecycleResponse":{"parcelLifeCycleData":null}}"#;
        let err = parse(d.as_bytes()).unwrap_err();
        assert_eq!(err.path, "parcellifecycleResponse.parcelLifeCycleData");
        assert!(parse(b"{}").is_err());
        assert!(parse(b"").is_err());
        assert!(parse(b"[{},1]").is_err());
    }
}
