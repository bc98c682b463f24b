//! The GLS group tracking answer (gls-group.com public tracking): either `{"tuStatus":[entry...]}`
//! or one flat entry. An entry: `{tuNo, referenceNo, status, natSysOwnerCode, deliveryOwnerCode,
//! owners[{code, type}], infos[], references[{type, name, value}], progressBar{statusInfo, evtNos,
//! ...}, history[...]}`; `history` lists the reports newest first: `{date: "2026-06-25", time:
//! "13:38:31", evtNo: "3.896"?, address: {city, countryCode, countryName}?, evtDscr}`. GLS repeats
//! a report now and then (two ParcelLocker deposits six seconds apart): every entry is kept.
//!
//! Key: `evtNo` when sent (`"3.0"`), else the text (`evtDscr`, HTML entities decoded), which the
//! table maps with patterns. Time: `date` + `time`, the local time of the event's place: the
//! entry's `address.countryCode`, else the country of the GLS company that owns the parcel's
//! data (`natSysOwnerCode`/`deliveryOwnerCode` `CZ02` -> CZ).

use super::{LaxText, Reports, local_time};
use crate::jsonstr::from_json;
use crate::{Observation, ParseError, geo};
use serde::Deserialize;

#[derive(Deserialize)]
struct Wrapped {
    #[serde(rename = "tuStatus", default)]
    tu_status: Option<Vec<Entry>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Entry {
    #[serde(rename = "tuNo")]
    tu_no: LaxText,
    #[serde(rename = "referenceNo")]
    reference_no: LaxText,
    #[serde(rename = "natSysOwnerCode")]
    nat_sys_owner_code: LaxText,
    #[serde(rename = "deliveryOwnerCode")]
    delivery_owner_code: LaxText,
    owners: Option<Vec<Owner>>,
    references: Option<Vec<Reference>>,
    history: Option<Vec<History>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Owner {
    code: LaxText,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Reference {
    #[serde(rename = "type")]
    kind: LaxText,
    value: LaxText,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct History {
    date: LaxText,
    time: LaxText,
    #[serde(rename = "evtNo")]
    evt_no: LaxText,
    #[serde(rename = "evtDscr")]
    evt_dscr: LaxText,
    address: Option<Address>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Address {
    city: LaxText,
    #[serde(rename = "countryCode")]
    country_code: LaxText,
}

pub(super) fn parse(doc: &[u8]) -> Result<Vec<Observation>, ParseError> {
    let err = |e: serde_json::Error| ParseError::json(&e, "a GLS group tracking answer");
    let w: Wrapped = from_json(doc).map_err(err)?;
    let (entries, prefix): (Vec<Entry>, bool) = match w.tu_status {
        Some(v) => (v, true),
        None => (vec![from_json(doc).map_err(err)?], false),
    };
    let mut reports = Reports::default();
    for (n, entry) in entries.iter().enumerate() {
        let base = if prefix {
            format!("tuStatus[{n}].")
        } else {
            String::new()
        };
        read_entry(entry, &base, &mut reports);
    }
    reports.finish()
}

fn read_entry(entry: &Entry, base: &str, reports: &mut Reports) {
    let tracking = entry
        .references
        .iter()
        .flatten()
        .find(|r| r.kind.get() == Some("UNITNO"))
        .and_then(|r| r.value.get())
        .or_else(|| entry.tu_no.get())
        .or_else(|| entry.reference_no.get())
        .map(str::to_owned);
    // `CZ02` -> `CZ`: the GLS company whose system reports the parcel's scans.
    let owner_country = entry
        .nat_sys_owner_code
        .get()
        .or_else(|| entry.delivery_owner_code.get())
        .or_else(|| entry.owners.iter().flatten().find_map(|o| o.code.get()))
        .and_then(|c| c.get(..2))
        .and_then(geo::country_code);
    for (i, h) in entry.history.iter().flatten().enumerate() {
        let path = |f: &str| format!("{base}history[{i}].{f}");
        reports.push(event(h, owner_country.as_deref(), &path).map(|mut o| {
            o.tracking_number = tracking.clone();
            o
        }));
    }
}

fn event(
    h: &History,
    owner_country: Option<&str>,
    path: &dyn Fn(&str) -> String,
) -> Result<Observation, ParseError> {
    let description = h.evt_dscr.get().map(decode_entities);
    let (key, raw) = match (h.evt_no.get(), &description) {
        (Some(c), _) => (c.to_owned(), c.to_owned()),
        (None, Some(d)) => (d.clone(), d.clone()),
        (None, None) => return Err(ParseError::new(path("evtNo"), "no evtNo and no evtDscr")),
    };
    let address = h.address.as_ref();
    let location = match address {
        Some(a) => geo::location(
            a.city.get(),
            None,
            None,
            a.country_code.get().or(owner_country),
        ),
        None => geo::location(None, None, None, owner_country),
    };
    let country = location.as_ref().and_then(|l| l.country.as_deref());
    let date = h
        .date
        .get()
        .ok_or_else(|| ParseError::new(path("date"), "missing or empty"))?;
    let when = match h.time.get() {
        Some(t) => format!("{date}T{t}"),
        None => return Err(ParseError::new(path("time"), "missing or empty")),
    };
    let occurred_at = local_time(&when, country).map_err(|m| ParseError::new(path("date"), m))?;
    Ok(Observation {
        mapping_key: key,
        raw_code: raw,
        raw_description: description,
        occurred_at: Some(occurred_at),
        carrier: Some("gls".to_owned()),
        location,
        ..Observation::default()
    })
}

/// GLS's tracking answers HTML-escape non-ASCII letters (`ker&#252;lt`) and a few others.
fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let end = tail.find(';').filter(|e| *e <= 10);
        let decoded = end.and_then(|e| {
            let ent = &tail[1..e];
            let c = match ent {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => ent
                    .strip_prefix("#x")
                    .or_else(|| ent.strip_prefix("#X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| ent.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            }?;
            Some((c, e + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &tail[len..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn entities_are_decoded() {
        assert_eq!(
            decode_entities("A csomag k&#233;zbes&#237;t&#233;sre ker&#252;lt."),
            "A csomag kézbesítésre került."
        );
        assert_eq!(decode_entities("a & b &bogus; &#xE9;"), "a & b &bogus; é");
    }

    #[test]
    fn flat_and_wrapped_answers() {
        let flat = br#"{"tuNo":"2614905732","natSysOwnerCode":"CZ02","history":[
          {"date":"2025-06-12","time":"13:38:31","evtNo":"3.0","evtDscr":"The parcel has been delivered."},
          {"date":"2025-06-12","time":"later","evtNo":"11.0","evtDscr":"x"}]}"#;
        let o = parse(flat).unwrap();
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].mapping_key, "3.0");
        assert_eq!(
            o[0].occurred_at.unwrap().instant.to_string(),
            "2025-06-12T11:38:31Z"
        );
        let wrapped = br#"{"tuStatus":[{"tuNo":"75624240031","history":[{"date":"2025-03-04","time":"16:02:10",
          "address":{"city":"Graz","countryCode":"AT","countryName":"Austria"},"evtDscr":"The parcel has been delivered."}]}]}"#;
        let o = parse(wrapped).unwrap();
        assert_eq!(o[0].mapping_key, "The parcel has been delivered.");
        assert_eq!(
            o[0].location.as_ref().unwrap().country.as_deref(),
            Some("AT")
        );
        let bad = br#"{"tuStatus":[{"tuNo":"1","history":[{"date":"2025-03-04","time":"16:02:10","evtDscr":"x"}]}]}"#;
        let e = parse(bad).unwrap_err();
        assert_eq!(e.path, "tuStatus[0].history[0].date");
    }
}
