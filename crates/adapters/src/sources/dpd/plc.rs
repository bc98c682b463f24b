//! The Parcel Life Cycle document of DPD Germany's tracking (`GET
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

use super::place;
use crate::geo;
use crate::jsonstr::from_json;
use crate::lax::{self, Text};
use crate::timefmt;
use crate::{LocalTime, Observation, ParseError, Parsed};
use jiff::civil::DateTime;
use serde::Deserialize;
use serde_json::{Map, Value};
use waypost_domain::EventTime;

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
    scan: lax::Each<'a>,
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
    #[serde(borrow, default, deserialize_with = "lax::list")]
    content: Vec<Text<'a>>,
}

pub(super) fn parse(doc: &[u8]) -> Result<Parsed, ParseError> {
    let json_err = |e: serde_json::Error| ParseError::json(&e, "a DPD parcel life cycle document");
    // A batch is an array of documents; the first significant byte says which it is.
    let batch = doc.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    let docs: Vec<Doc> = if batch {
        from_json(doc).map_err(json_err)?
    } else {
        vec![from_json(doc).map_err(json_err)?]
    };
    let mut parsed = Parsed::default();
    let mut refused = None;
    for (d, one) in docs.iter().enumerate() {
        let prefix = if batch {
            format!("[{d}].parcellifecycleResponse")
        } else {
            "parcellifecycleResponse".to_owned()
        };
        if let Err(e) = read_parcel(one, &prefix, &mut parsed) {
            refused.get_or_insert(e);
        }
    }
    // A parcel DPD does not know (or a batch of them) has nothing to keep: refused with why.
    match refused {
        Some(e) if parsed.observations.is_empty() && parsed.unreadable.is_empty() => Err(e),
        Some(e) => {
            parsed.unreadable.push(e);
            Ok(parsed)
        }
        None => Ok(parsed),
    }
}

fn read_parcel(doc: &Doc, prefix: &str, parsed: &mut Parsed) -> Result<(), ParseError> {
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
    // DPD's own tracking page answers some parcels with `parcelLabelNumber: ""`: the events are
    // still the parcel's, the caller knows which parcel it asked for.
    let tracking = info
        .and_then(|s| s.parcel_label_number.get())
        .map(str::to_owned);
    let service = info.and_then(|s| s.product_name.get()).map(str::to_owned);
    let destination = info
        .and_then(|s| s.receiver_country_iso_code.get())
        .and_then(|c| geo::location(None, None, None, Some(c)));
    let list = format!("{prefix}.parcelLifeCycleData.scanInfo.scan");
    let scans = match &data.scan_info {
        Some(s) => lax::read_each::<Scan>(&s.scan, &list, &mut parsed.unreadable),
        None => Vec::new(),
    };
    parsed.observations.reserve(scans.len());
    for (i, scan) in &scans {
        let path = |f: &str| format!("{prefix}.parcelLifeCycleData.scanInfo.scan[{i}].{f}");
        let Some(sd) = scan.scan_data.as_ref() else {
            parsed
                .unreadable
                .push(ParseError::new(path("scanData"), "missing scanData"));
            continue;
        };
        let ty = sd.scan_type.as_ref();
        let Some(raw) = ty.and_then(|t| t.code.get()) else {
            parsed.unreadable.push(ParseError::new(
                path("scanData.scanType.code"),
                "missing scan code",
            ));
            continue;
        };
        let (city, country) = place(sd.location.get(), sd.country.get());
        let location = geo::location(city, None, None, country);
        let (occurred_at, local_time) = match scan_time(scan, sd) {
            Ok(t) => t,
            Err((field, m)) => {
                parsed.unreadable.push(ParseError::new(path(field), m));
                continue;
            }
        };
        let description = scan.scan_description.as_ref();
        let description_text = description
            .map(|d| {
                d.content
                    .iter()
                    .filter_map(Text::get)
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .filter(|t| !t.is_empty())
            .or_else(|| description.and_then(|d| d.label.get()).map(str::to_owned))
            .or_else(|| ty.and_then(|t| t.name.get()).map(str::to_owned));
        let mut attributes = Map::new();
        if let Some(n) = sd.scan_depot.as_ref().and_then(|d| d.number.get()) {
            attributes.insert("depot".into(), Value::String(n.to_owned()));
        }
        parsed.observations.push(Observation {
            mapping_key: code_key(raw),
            raw_code: raw.to_owned(),
            raw_description: description_text,
            occurred_at,
            local_time,
            tracking_number: tracking.clone(),
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

/// The scan's time: `date` (or `scanData.scanDate` + `scanTime`), the depot's wall-clock time;
/// normalization places it in the zone of the depot's country. The error names the field.
type When = (Option<EventTime>, Option<LocalTime>);

fn scan_time(scan: &Scan, sd: &ScanData) -> Result<When, (&'static str, String)> {
    if let Some(d) = scan.date.get() {
        if let Some(t) = timefmt::with_offset(d) {
            return Ok((Some(t), None));
        }
        let civil = d
            .parse::<DateTime>()
            .map_err(|_| ("date", format!("{d:?} is not an ISO 8601 date-time")))?;
        return Ok((None, Some(LocalTime::new(civil))));
    }
    let (date, time) = sd.scan_date.get().zip(sd.scan_time.get()).ok_or((
        "date",
        "missing date (and scanData.scanDate/scanTime)".to_owned(),
    ))?;
    let civil = timefmt::civil(date, "%Y-%m-%d", time, "%H:%M:%S").ok_or_else(|| {
        (
            "scanData.scanDate",
            format!("{date:?} {time:?} is not a date and a time"),
        )
    })?;
    Ok((None, Some(LocalTime::new(civil))))
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

    /// The instants after normalization, which places each local time in its depot's zone.
    fn instants(d: &str) -> (Vec<String>, Vec<String>) {
        let table = crate::Source::Dpd.builtin_table().unwrap();
        let n = crate::normalize(crate::Source::Dpd, d.as_bytes(), &table).unwrap();
        (
            n.events
                .iter()
                .map(|e| e.event.occurred_at.instant.to_string())
                .collect(),
            n.unreadable.iter().map(|e| e.path.clone()).collect(),
        )
    }

    #[test]
    fn depot_local_time_in_the_depot_zone() {
        // Aschaffenburg before the spring change is +01:00, after it +02:00.
        let (t, _) = instants(&doc("2024-03-30T23:40:00", "Aschaffenburg (DE)", ""));
        assert_eq!(t, ["2024-03-30T22:40:00Z"]);
        let (t, _) = instants(&doc("2024-03-31T08:00:00", "Aschaffenburg (DE)", ""));
        assert_eq!(t, ["2024-03-31T06:00:00Z"]);
        // Lisbon is an hour behind Berlin; the country field is read too.
        let (t, _) = instants(&doc("2024-07-01T10:00:00", "Lisboa", "PT"));
        assert_eq!(t, ["2024-07-01T09:00:00Z"]);
        let o = parse(doc("2024-07-01T10:00:00", "Lisboa", "PT").as_bytes())
            .unwrap()
            .observations;
        assert_eq!(o[0].mapping_key, "10");
        assert_eq!(o[0].raw_description.as_deref(), Some("At parcel hub"));
        assert_eq!(
            o[0].local_time.as_ref().unwrap().civil.to_string(),
            "2024-07-01T10:00:00"
        );
        let l = o[0].location.as_ref().unwrap();
        assert_eq!(
            (l.city.as_deref(), l.country.as_deref()),
            (Some("Lisboa"), Some("PT"))
        );
        // No `date`: scanDate + scanTime.
        let (t, _) = instants(&doc("", "Unna (DE)", "DE"));
        assert_eq!(t, ["2024-03-30T22:40:00Z"]);
    }

    #[test]
    fn bad_times_name_their_path() {
        let p = "parcellifecycleResponse.parcelLifeCycleData.scanInfo.scan[0].date";
        let parsed = parse(doc("yesterday", "Unna (DE)", "").as_bytes()).unwrap();
        assert!(parsed.observations.is_empty());
        assert_eq!(parsed.unreadable[0].path, p);
        let parsed = parse(format!("[{}]", doc("x", "Unna (DE)", "")).as_bytes()).unwrap();
        assert!(
            parsed.unreadable[0]
                .path
                .starts_with("[0].parcellifecycleResponse."),
            "{:?}",
            parsed.unreadable
        );
    }

    #[test]
    fn empty_history_unknown_parcel_and_garbage() {
        let d = r#"{"parcellifecycleResponse":{"parcelLifeCycleData":{
            "shipmentInfo":{"parcelLabelNumber":"01905012345678"},"scanInfo":{"scan":[]}}}}"#;
        assert!(parse(d.as_bytes()).unwrap().observations.is_empty());
        let d = r#"{"parcellifecycleResponse":{"parcelLifeCycleData":null}}"#;
        let err = parse(d.as_bytes()).unwrap_err();
        assert_eq!(err.path, "parcellifecycleResponse.parcelLifeCycleData");
        assert!(parse(b"{}").is_err());
        assert!(parse(b"").is_err());
        assert!(parse(b"[{},1]").is_err());
    }

    #[test]
    fn loose_types_and_odd_scans() {
        let d = r#"{"parcellifecycleResponse":{"parcelLifeCycleData":{
            "shipmentInfo":{"parcelLabelNumber":1905012345678},"scanInfo":{"scan":[null,
            {"date":"2024-07-01T10:00:00","scanData":{"location":"Unna (DE)","scanType":{"code":13}},
             "scanDescription":{"content":["Delivered"]}}]}}}}"#;
        let p = parse(d.as_bytes()).unwrap();
        assert_eq!(p.observations.len(), 1);
        assert_eq!(p.observations[0].mapping_key, "13");
        assert_eq!(
            p.observations[0].tracking_number.as_deref(),
            Some("1905012345678")
        );
        assert_eq!(
            p.observations[0].raw_description.as_deref(),
            Some("Delivered")
        );
        assert_eq!(
            p.unreadable[0].path,
            "parcellifecycleResponse.parcelLifeCycleData.scanInfo.scan[0]"
        );
    }
}
