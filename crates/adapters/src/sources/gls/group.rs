//! The GLS group tracking answer (gls-group.com public tracking): either `{"tuStatus":[entry...]}`
//! or one flat entry. An entry: `{tuNo, referenceNo, status, natSysOwnerCode, deliveryOwnerCode,
//! owners[{code, type}], infos[], references[{type, name, value}], progressBar{statusInfo, evtNos,
//! ...}, history[...]}`; `history` lists the reports newest first: `{date: "2026-06-25", time:
//! "13:38:31", evtNo: "3.896"?, address: {city, countryCode, countryName}?, evtDscr}`. GLS repeats
//! a report now and then (two ParcelLocker deposits six seconds apart): every entry is kept.
//!
//! Key: `evtNo` when sent (`"3.0"`), else the constant `TEXT`, and the table maps the text
//! (`evtDscr`, HTML entities decoded) with its code-less patterns. Time: `date` + `time`, the local time of the event's place: the
//! entry's `address.countryCode`, else the country of the GLS company that owns the parcel's
//! data (`natSysOwnerCode`/`deliveryOwnerCode` `CZ02` -> CZ).

use super::{TEXT_KEY, collect, when};
use crate::jsonstr::from_json;
use crate::lax::{self, Text};
use crate::{Observation, ParseError, Parsed, geo};
use serde::Deserialize;

#[derive(Deserialize)]
struct Wrapped<'a> {
    #[serde(borrow, rename = "tuStatus", default)]
    tu_status: Option<lax::Each<'a>>,
}

#[derive(Deserialize)]
struct Entry<'a> {
    #[serde(borrow, default, rename = "tuNo")]
    tu_no: Text<'a>,
    #[serde(borrow, default, rename = "referenceNo")]
    reference_no: Text<'a>,
    #[serde(borrow, default, rename = "natSysOwnerCode")]
    nat_sys_owner_code: Text<'a>,
    #[serde(borrow, default, rename = "deliveryOwnerCode")]
    delivery_owner_code: Text<'a>,
    #[serde(borrow, default, deserialize_with = "lax::list")]
    owners: Vec<Owner<'a>>,
    #[serde(borrow, default, deserialize_with = "lax::list")]
    references: Vec<Reference<'a>>,
    #[serde(borrow, default)]
    history: lax::Each<'a>,
}

#[derive(Deserialize)]
struct Owner<'a> {
    #[serde(borrow, default)]
    code: Text<'a>,
}

#[derive(Deserialize)]
struct Reference<'a> {
    #[serde(borrow, default, rename = "type")]
    kind: Text<'a>,
    #[serde(borrow, default)]
    value: Text<'a>,
}

#[derive(Deserialize)]
struct History<'a> {
    #[serde(borrow, default)]
    date: Text<'a>,
    #[serde(borrow, default)]
    time: Text<'a>,
    #[serde(borrow, default, rename = "evtNo")]
    evt_no: Text<'a>,
    #[serde(borrow, default, rename = "evtDscr")]
    evt_dscr: Text<'a>,
    #[serde(borrow, default)]
    address: Option<Address<'a>>,
}

#[derive(Deserialize)]
struct Address<'a> {
    #[serde(borrow, default)]
    city: Text<'a>,
    #[serde(borrow, default, rename = "countryCode")]
    country_code: Text<'a>,
}

pub(super) fn parse(doc: &[u8]) -> Result<Parsed, ParseError> {
    let err = |e: serde_json::Error| ParseError::json(&e, "a GLS group tracking answer");
    let w: Wrapped = from_json(doc).map_err(err)?;
    let mut results = Vec::new();
    let mut unreadable = Vec::new();
    match &w.tu_status {
        Some(each) => {
            for (n, entry) in lax::read_each::<Entry>(each, "tuStatus", &mut unreadable) {
                read_entry(
                    &entry,
                    &format!("tuStatus[{n}]."),
                    &mut results,
                    &mut unreadable,
                );
            }
        }
        None => {
            let entry: Entry = from_json(doc).map_err(err)?;
            read_entry(&entry, "", &mut results, &mut unreadable);
        }
    }
    let mut parsed = collect(results);
    parsed.unreadable.extend(unreadable);
    Ok(parsed)
}

fn read_entry(
    entry: &Entry,
    base: &str,
    results: &mut Vec<Result<Observation, ParseError>>,
    unreadable: &mut Vec<ParseError>,
) {
    let tracking = entry
        .references
        .iter()
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
        .or_else(|| entry.owners.iter().find_map(|o| o.code.get()))
        .and_then(|c| c.get(..2))
        .and_then(geo::country_code);
    let list = format!("{base}history");
    for (i, h) in lax::read_each::<History>(&entry.history, &list, unreadable) {
        let path = |f: &str| format!("{list}[{i}].{f}");
        results.push(event(&h, owner_country.as_deref(), &path).map(|mut o| {
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
    // Without an event number the text is all there is: the key is the constant `TEXT`, the
    // table's code-less patterns read `raw_description`, and people see the text as the code.
    let (key, raw) = match (h.evt_no.get(), &description) {
        (Some(c), _) => (c.to_owned(), c.to_owned()),
        (None, Some(d)) => (TEXT_KEY.to_owned(), d.clone()),
        (None, None) => return Err(ParseError::new(path("evtNo"), "no evtNo and no evtDscr")),
    };
    let location = match &h.address {
        Some(a) => geo::location(
            a.city.get(),
            None,
            None,
            a.country_code.get().or(owner_country),
        ),
        None => geo::location(None, None, None, owner_country),
    };
    let date = h
        .date
        .get()
        .ok_or_else(|| ParseError::new(path("date"), "missing or empty"))?;
    let time = h
        .time
        .get()
        .ok_or_else(|| ParseError::new(path("time"), "missing or empty"))?;
    let (occurred_at, local_time) = when(&format!("{date}T{time}")).ok_or_else(|| {
        ParseError::new(
            path("date"),
            format!("{date:?} {time:?} is not a date and a time"),
        )
    })?;
    Ok(Observation {
        mapping_key: key,
        raw_code: raw,
        raw_description: description,
        occurred_at,
        local_time,
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
        let p = parse(flat).unwrap();
        let o = &p.observations;
        assert_eq!(o.len(), 1);
        assert_eq!(p.unreadable[0].path, "history[1].date");
        assert_eq!(o[0].mapping_key, "3.0");
        assert_eq!(
            o[0].local_time.as_ref().unwrap().civil.to_string(),
            "2025-06-12T13:38:31"
        );
        assert_eq!(
            o[0].location.as_ref().unwrap().country.as_deref(),
            Some("CZ")
        );
        let wrapped = br#"{"tuStatus":[{"tuNo":"75624240031","history":[{"date":"2025-03-04","time":"16:02:10",
          "address":{"city":"Graz","countryCode":"AT","countryName":"Austria"},"evtDscr":"The parcel has been delivered."}]}]}"#;
        let o = parse(wrapped).unwrap().observations;
        assert_eq!(o[0].mapping_key, "TEXT");
        assert_eq!(o[0].raw_code, "The parcel has been delivered.");
        assert_eq!(
            o[0].location.as_ref().unwrap().country.as_deref(),
            Some("AT")
        );
        let bad = br#"{"tuStatus":[{"tuNo":"1","history":[{"date":"2025-03-04","time":"","evtDscr":"x"}]}]}"#;
        let p = parse(bad).unwrap();
        assert!(p.observations.is_empty());
        assert_eq!(p.unreadable[0].path, "tuStatus[0].history[0].time");
    }
}
