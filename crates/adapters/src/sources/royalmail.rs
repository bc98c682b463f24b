//! Royal Mail Tracking API v2 (JSON). The `events` operation answers
//! `{"mailPieces": {..., "events": [...]}}` for one item; the `summary` operation answers
//! `{"mailPieces": [{..., "summary": {...}}]}` for up to 30, each with only its latest event
//! (`lastEventCode`, `lastEventDateTime`...). Both are read: every event of the events
//! operation, or the last event of each summary. Times carry their offset
//! (`2016-10-20T10:04:00+01:00`). A reply with `errors` and no mail piece is refused with
//! Royal Mail's own error code and text.

use crate::geo;
use crate::jsonstr::from_json;
use crate::lax::{self, Text};
use crate::timefmt;
use crate::{Observation, ParseError, Parsed};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use waypost_domain::EventTime;

#[derive(Deserialize)]
struct Response<'a> {
    /// One object (events, signature) or an array (summary): told apart by its first byte.
    #[serde(default, borrow, rename = "mailPieces")]
    mail_pieces: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "lax::list")]
    errors: Vec<ApiError<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct MailPiece<'a> {
    #[serde(borrow)]
    mail_piece_id: Text<'a>,
    #[serde(borrow)]
    summary: Option<Summary<'a>>,
    #[serde(borrow)]
    estimated_delivery: Option<EstimatedDelivery<'a>>,
    #[serde(borrow)]
    signature: Option<Signature<'a>>,
    #[serde(borrow)]
    events: Option<lax::Each<'a>>,
    #[serde(borrow)]
    error: Option<ApiError<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Summary<'a> {
    #[serde(borrow)]
    one_d_barcode: Text<'a>,
    #[serde(borrow)]
    product_name: Text<'a>,
    #[serde(borrow)]
    destination_country_code: Text<'a>,
    #[serde(borrow)]
    origin_country_code: Text<'a>,
    #[serde(borrow)]
    last_event_code: Text<'a>,
    #[serde(borrow)]
    last_event_name: Text<'a>,
    #[serde(borrow)]
    last_event_date_time: Text<'a>,
    #[serde(borrow)]
    last_event_location_name: Text<'a>,
    #[serde(borrow)]
    status_category: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct EstimatedDelivery<'a> {
    #[serde(borrow)]
    date: Text<'a>,
    #[serde(borrow)]
    end_of_estimated_window: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Signature<'a> {
    #[serde(borrow)]
    recipient_name: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Event<'a> {
    #[serde(borrow)]
    event_code: Text<'a>,
    #[serde(borrow)]
    event_name: Text<'a>,
    #[serde(borrow)]
    event_date_time: Text<'a>,
    #[serde(borrow)]
    location_name: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ApiError<'a> {
    #[serde(borrow)]
    error_code: Text<'a>,
    #[serde(borrow)]
    error_description: Text<'a>,
}

pub fn parse(doc: &[u8]) -> Result<Parsed, ParseError> {
    let resp: Response = from_json(doc).map_err(|e| {
        ParseError::new(
            format!("line {} column {}", e.line(), e.column()),
            format!("not a Royal Mail tracking response: {e}"),
        )
    })?;
    let json_err = |e: serde_json::Error| {
        ParseError::new(
            format!("mailPieces: line {} column {}", e.line(), e.column()),
            format!("not a Royal Mail mail piece: {e}"),
        )
    };
    let mut parsed = Parsed::default();
    let pieces: Vec<(String, MailPiece)> = match resp.mail_pieces.filter(|r| r.get() != "null") {
        Some(raw) if raw.get().starts_with('[') => {
            // Each summary entry on its own: an odd one is reported, the others still count.
            let each: lax::Each = serde_json::from_str(raw.get()).map_err(json_err)?;
            lax::read_each::<MailPiece>(&each, "mailPieces", &mut parsed.unreadable)
                .into_iter()
                .map(|(i, p)| (format!("mailPieces[{i}]"), p))
                .collect()
        }
        Some(raw) => vec![(
            "mailPieces".to_owned(),
            serde_json::from_str(raw.get()).map_err(json_err)?,
        )],
        None => {
            let (code, desc) = resp.errors.first().map_or(("?", ""), |e| {
                (
                    e.error_code.get().unwrap_or("?"),
                    e.error_description.get().unwrap_or(""),
                )
            });
            let path = if resp.errors.is_empty() {
                "mailPieces"
            } else {
                "errors[0]"
            };
            return Err(ParseError::new(
                path,
                format!("no mail piece in the response; Royal Mail says {code}: {desc}"),
            ));
        }
    };
    for (path, piece) in &pieces {
        read_piece(piece, path, &mut parsed);
    }
    Ok(parsed)
}

/// Reads one mail piece; an event that cannot be read is reported unreadable with its path, so
/// one odd event never costs the others.
fn read_piece(piece: &MailPiece, path: &str, parsed: &mut Parsed) {
    let summary = piece.summary.as_ref();
    let tracking = summary
        .and_then(|s| s.one_d_barcode.get())
        .or_else(|| piece.mail_piece_id.get());
    let Some(tracking) = tracking else {
        // A summary entry for an unknown barcode carries only its error: nothing happened yet.
        if piece.error.is_none() {
            parsed.unreadable.push(ParseError::new(
                format!("{path}.mailPieceId"),
                "no barcode: neither summary.oneDBarcode nor mailPieceId is given",
            ));
        }
        return;
    };
    let country = |c: Option<&str>| c.and_then(|c| geo::location(None, None, None, Some(c)));
    let base = Observation {
        tracking_number: Some(tracking.to_owned()),
        carrier: Some("royalmail".into()),
        service: summary
            .and_then(|s| s.product_name.get())
            .map(str::to_owned),
        origin: country(summary.and_then(|s| s.origin_country_code.get())),
        destination: country(summary.and_then(|s| s.destination_country_code.get())),
        promised_at: piece.estimated_delivery.as_ref().and_then(promised),
        ..Observation::default()
    };
    let signed_by = piece
        .signature
        .as_ref()
        .and_then(|s| s.recipient_name.get());

    match &piece.events {
        Some(events) => {
            let list = format!("{path}.events");
            for (i, e) in lax::read_each::<Event>(events, &list, &mut parsed.unreadable) {
                let p = format!("{list}[{i}]");
                match observation(
                    &base,
                    &p,
                    (&e.event_code, "eventCode"),
                    &e.event_name,
                    (&e.event_date_time, "eventDateTime"),
                    &e.location_name,
                    signed_by,
                ) {
                    Ok(o) => parsed.observations.push(o),
                    Err(e) => parsed.unreadable.push(e),
                }
            }
        }
        None => {
            // The summary operation: only the latest event, if there is one yet.
            if let Some(s) = summary.filter(|s| s.last_event_code.get().is_some()) {
                match observation(
                    &base,
                    &format!("{path}.summary"),
                    (&s.last_event_code, "lastEventCode"),
                    &s.last_event_name,
                    (&s.last_event_date_time, "lastEventDateTime"),
                    &s.last_event_location_name,
                    signed_by,
                ) {
                    Ok(mut obs) => {
                        if let Some(c) = s.status_category.get() {
                            obs.attributes
                                .insert("status_category".into(), Value::String(c.to_owned()));
                        }
                        parsed.observations.push(obs);
                    }
                    Err(e) => parsed.unreadable.push(e),
                }
            }
        }
    }
}

type Field<'r, 'a> = (&'r Text<'a>, &'static str);

fn observation(
    base: &Observation,
    path: &str,
    (code, code_name): Field,
    name: &Text,
    (at, at_name): Field,
    location: &Text,
    signed_by: Option<&str>,
) -> Result<Observation, ParseError> {
    let code = code
        .get()
        .ok_or_else(|| ParseError::new(format!("{path}.{code_name}"), "missing or empty"))?;
    let at_text = at
        .get()
        .ok_or_else(|| ParseError::new(format!("{path}.{at_name}"), "missing or empty"))?;
    let occurred_at = timefmt::with_offset(at_text).ok_or_else(|| {
        ParseError::new(
            format!("{path}.{at_name}"),
            format!("{at_text:?} is not a date-time with an offset"),
        )
    })?;
    let mut attributes = Map::new();
    // Royal Mail delivery codes with a signature are the EVKSP family; the signature belongs to
    // the delivery, so it is kept only on delivery scans.
    if let Some(s) = signed_by.filter(|_| code.starts_with("EVK")) {
        attributes.insert("signed_by".into(), Value::String(s.to_owned()));
    }
    Ok(Observation {
        mapping_key: code.to_ascii_uppercase(),
        raw_code: code.to_owned(),
        raw_description: name.get().map(str::to_owned),
        occurred_at: Some(occurred_at),
        local_time: None,
        // Location names are Royal Mail sites (`Stafford DO`, `Chester Mail Centre`): kept as
        // the place, with no country, since international scans use the same field.
        location: geo::location(location.get(), None, None, None),
        attributes,
        ..base.clone()
    })
}

/// The end of the estimated window on the estimated day (`date` + `endOfEstimatedWindow`,
/// which carries its own offset: `11:00:00+01:00`). Some answers (and clients that re-serialize
/// them) write both as full date-times (`2017-02-20T00:00:00+00:00`, `2017-02-20T11:00:00+01:00`).
fn promised(e: &EstimatedDelivery) -> Option<EventTime> {
    let end = e.end_of_estimated_window.get()?;
    if end.contains('T') {
        return timefmt::with_offset(end);
    }
    let date = e.date.get()?;
    let day = date.get(..10).unwrap_or(date);
    timefmt::with_offset(&format!("{day}T{end}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::parse;

    #[test]
    fn offsets_are_kept_and_bst_differs_from_gmt() {
        let doc = br#"{"mailPieces":{"mailPieceId":"X","summary":{"oneDBarcode":"AB123456789GB"},
          "events":[
            {"eventCode":"EVKSP","eventName":"Delivered and Signed","eventDateTime":"2024-03-31T10:00:00+01:00","locationName":"Leeds DO"},
            {"eventCode":"EVGPD","eventName":"Due to be delivered today","eventDateTime":"2024-03-30T07:00:00Z","locationName":"Leeds DO"}],
          "signature":{"recipientName":"PATEL"}}}"#;
        let obs = parse(doc).unwrap().observations;
        assert_eq!(
            obs[0].occurred_at.unwrap().instant.to_string(),
            "2024-03-31T09:00:00Z"
        );
        assert_eq!(
            obs[1].occurred_at.unwrap().instant.to_string(),
            "2024-03-30T07:00:00Z"
        );
        assert_eq!(obs[0].tracking_number.as_deref(), Some("AB123456789GB"));
        assert_eq!(obs[0].attributes["signed_by"], "PATEL");
        assert!(obs[1].attributes.is_empty());
    }

    #[test]
    fn malformed_events_name_their_path() {
        let doc = br#"{"mailPieces":{"mailPieceId":"AB123456789GB","events":[
            {"eventCode":"EVKSP","eventDateTime":"2024-03-31T10:00:00+01:00"},
            {"eventCode":"EVGPD","eventDateTime":"2024-03-30 07:00"}]}}"#;
        // The odd event is skipped, the readable one kept.
        let p = parse(doc).unwrap();
        assert_eq!(p.observations.len(), 1);
        assert_eq!(p.unreadable[0].path, "mailPieces.events[1].eventDateTime");
        let doc = br#"{"mailPieces":{"mailPieceId":"AB123456789GB","events":[
            {"eventCode":"EVGPD","eventDateTime":"2024-03-30 07:00"}]}}"#;
        let p = parse(doc).unwrap();
        assert!(p.observations.is_empty());
        assert_eq!(p.unreadable[0].path, "mailPieces.events[0].eventDateTime");
        let err = parse(br#"{"httpCode":"404","errors":[{"errorCode":"E1142","errorDescription":"Barcode reference isn't recognised"}]}"#).unwrap_err();
        assert!(err.message.contains("E1142"), "{err}");
        assert!(parse(b"[1,2").is_err());
        assert!(parse(b"").is_err());
    }

    #[test]
    fn empty_history_and_summaries() {
        let obs = parse(br#"{"mailPieces":{"mailPieceId":"AB123456789GB","events":[]}}"#)
            .unwrap()
            .observations;
        assert!(obs.is_empty());
        let obs = parse(br#"{"mailPieces":[{"mailPieceId":"1","summary":{"oneDBarcode":"AB1GB","lastEventCode":"EVNMI","lastEventDateTime":"2016-10-20T10:04:00+01:00"}},{"error":{"errorCode":"E1142"}}]}"#).unwrap().observations;
        assert_eq!(obs.len(), 1);
        assert_eq!(obs[0].mapping_key, "EVNMI");
    }

    #[test]
    fn loose_types_and_odd_entries() {
        // A number where a string is documented; an event that is not an object; a summary
        // entry that is not an object: the readable rest is kept, the odd ones named.
        let doc = br#"{"mailPieces":{"mailPieceId":90367574,"summary":{"oneDBarcode":"AB123456789GB"},
          "events":[7,{"eventCode":"EVKSP","eventName":"Delivered and Signed","eventDateTime":"2024-03-31T10:00:00+01:00","locationName":null}]}}"#;
        let p = parse(doc).unwrap();
        assert_eq!(p.observations.len(), 1);
        assert_eq!(p.observations[0].location, None);
        assert_eq!(p.unreadable[0].path, "mailPieces.events[0]");
        let doc = br#"{"mailPieces":["x",{"mailPieceId":"1","summary":{"oneDBarcode":"AB1GB","lastEventCode":"EVNMI","lastEventDateTime":"2016-10-20T10:04:00+01:00"}}]}"#;
        let p = parse(doc).unwrap();
        assert_eq!(p.observations.len(), 1);
        assert_eq!(p.unreadable[0].path, "mailPieces[0]");
    }
}
