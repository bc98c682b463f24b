//! Royal Mail Tracking API v2 (JSON). The `events` operation answers
//! `{"mailPieces": {..., "events": [...]}}` for one item; the `summary` operation answers
//! `{"mailPieces": [{..., "summary": {...}}]}` for up to 30, each with only its latest event
//! (`lastEventCode`, `lastEventDateTime`...). Both are read: every event of the events
//! operation, or the last event of each summary. Times carry their offset
//! (`2016-10-20T10:04:00+01:00`). A reply with `errors` and no mail piece is refused with
//! Royal Mail's own error code and text.

use crate::geo;
use crate::jsonstr::{from_json, text};
use crate::timefmt;
use crate::{Observation, ParseError};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::borrow::Cow;
use waypost_domain::EventTime;

#[derive(Deserialize)]
struct Response<'a> {
    #[serde(default, borrow, rename = "mailPieces")]
    mail_pieces: Option<OneOrMany<'a>>,
    #[serde(default, borrow)]
    errors: Vec<ApiError<'a>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<'a> {
    #[serde(borrow)]
    One(Box<MailPiece<'a>>),
    Many(Vec<MailPiece<'a>>),
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct MailPiece<'a> {
    #[serde(borrow)]
    mail_piece_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    summary: Option<Summary<'a>>,
    #[serde(borrow)]
    estimated_delivery: Option<EstimatedDelivery<'a>>,
    #[serde(borrow)]
    signature: Option<Signature<'a>>,
    #[serde(borrow)]
    events: Option<Vec<Event<'a>>>,
    #[serde(borrow)]
    error: Option<ApiError<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Summary<'a> {
    #[serde(borrow)]
    one_d_barcode: Option<Cow<'a, str>>,
    #[serde(borrow)]
    product_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    destination_country_code: Option<Cow<'a, str>>,
    #[serde(borrow)]
    origin_country_code: Option<Cow<'a, str>>,
    #[serde(borrow)]
    last_event_code: Option<Cow<'a, str>>,
    #[serde(borrow)]
    last_event_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    last_event_date_time: Option<Cow<'a, str>>,
    #[serde(borrow)]
    last_event_location_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    status_category: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct EstimatedDelivery<'a> {
    #[serde(borrow)]
    date: Option<Cow<'a, str>>,
    #[serde(borrow)]
    end_of_estimated_window: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Signature<'a> {
    #[serde(borrow)]
    recipient_name: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Event<'a> {
    #[serde(borrow)]
    event_code: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event_date_time: Option<Cow<'a, str>>,
    #[serde(borrow)]
    location_name: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ApiError<'a> {
    #[serde(borrow)]
    error_code: Option<Cow<'a, str>>,
    #[serde(borrow)]
    error_description: Option<Cow<'a, str>>,
}

pub fn parse(doc: &[u8]) -> Result<Vec<Observation>, ParseError> {
    let resp: Response = from_json(doc).map_err(|e| {
        ParseError::new(
            format!("line {} column {}", e.line(), e.column()),
            format!("not a Royal Mail tracking response: {e}"),
        )
    })?;
    let pieces: Vec<(String, MailPiece)> = match resp.mail_pieces {
        Some(OneOrMany::One(p)) => vec![("mailPieces".to_owned(), *p)],
        Some(OneOrMany::Many(v)) => v
            .into_iter()
            .enumerate()
            .map(|(i, p)| (format!("mailPieces[{i}]"), p))
            .collect(),
        None => {
            let (code, desc) = resp.errors.first().map_or(("?", ""), |e| {
                (
                    text(&e.error_code).unwrap_or("?"),
                    text(&e.error_description).unwrap_or(""),
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
    let mut out = Vec::new();
    for (path, piece) in &pieces {
        read_piece(piece, path, &mut out)?;
    }
    Ok(out)
}

fn read_piece(piece: &MailPiece, path: &str, out: &mut Vec<Observation>) -> Result<(), ParseError> {
    let summary = piece.summary.as_ref();
    let tracking = summary
        .and_then(|s| text(&s.one_d_barcode))
        .or_else(|| text(&piece.mail_piece_id));
    let Some(tracking) = tracking else {
        // A summary entry for an unknown barcode carries only its error: nothing happened yet.
        if piece.error.is_some() {
            return Ok(());
        }
        return Err(ParseError::new(
            format!("{path}.mailPieceId"),
            "no barcode: neither summary.oneDBarcode nor mailPieceId is given",
        ));
    };
    let country = |c: Option<&str>| c.and_then(|c| geo::location(None, None, None, Some(c)));
    let base = Observation {
        tracking_number: Some(tracking.to_owned()),
        carrier: Some("royalmail".into()),
        service: summary
            .and_then(|s| text(&s.product_name))
            .map(str::to_owned),
        origin: country(summary.and_then(|s| text(&s.origin_country_code))),
        destination: country(summary.and_then(|s| text(&s.destination_country_code))),
        promised_at: piece.estimated_delivery.as_ref().and_then(promised),
        ..Observation::default()
    };
    let signed_by = piece
        .signature
        .as_ref()
        .and_then(|s| text(&s.recipient_name));

    match &piece.events {
        Some(events) => {
            for (i, e) in events.iter().enumerate() {
                let p = format!("{path}.events[{i}]");
                out.push(observation(
                    &base,
                    &p,
                    (&e.event_code, "eventCode"),
                    &e.event_name,
                    (&e.event_date_time, "eventDateTime"),
                    &e.location_name,
                    signed_by,
                )?);
            }
        }
        None => {
            // The summary operation: only the latest event, if there is one yet.
            if let Some(s) = summary.filter(|s| text(&s.last_event_code).is_some()) {
                let mut obs = observation(
                    &base,
                    &format!("{path}.summary"),
                    (&s.last_event_code, "lastEventCode"),
                    &s.last_event_name,
                    (&s.last_event_date_time, "lastEventDateTime"),
                    &s.last_event_location_name,
                    signed_by,
                )?;
                if let Some(c) = text(&s.status_category) {
                    obs.attributes
                        .insert("status_category".into(), Value::String(c.to_owned()));
                }
                out.push(obs);
            }
        }
    }
    Ok(())
}

type Field<'r, 'a> = (&'r Option<Cow<'a, str>>, &'static str);

fn observation(
    base: &Observation,
    path: &str,
    (code, code_name): Field,
    name: &Option<Cow<str>>,
    (at, at_name): Field,
    location: &Option<Cow<str>>,
    signed_by: Option<&str>,
) -> Result<Observation, ParseError> {
    let code = text(code)
        .ok_or_else(|| ParseError::new(format!("{path}.{code_name}"), "missing or empty"))?;
    let at_text =
        text(at).ok_or_else(|| ParseError::new(format!("{path}.{at_name}"), "missing or empty"))?;
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
        raw_description: text(name).map(str::to_owned),
        occurred_at: Some(occurred_at),
        local_time: None,
        // Location names are Royal Mail sites (`Stafford DO`, `Chester Mail Centre`): kept as
        // the place, with no country, since international scans use the same field.
        location: geo::location(text(location), None, None, None),
        attributes,
        ..base.clone()
    })
}

/// The end of the estimated window on the estimated day (`date` + `endOfEstimatedWindow`,
/// which carries its own offset: `11:00:00+01:00`).
fn promised(e: &EstimatedDelivery) -> Option<EventTime> {
    let date = text(&e.date)?;
    let end = text(&e.end_of_estimated_window)?;
    timefmt::with_offset(&format!("{date}T{end}"))
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
        let obs = parse(doc).unwrap();
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
        let err = parse(doc).unwrap_err();
        assert_eq!(err.path, "mailPieces.events[1].eventDateTime");
        let err = parse(br#"{"httpCode":"404","errors":[{"errorCode":"E1142","errorDescription":"Barcode reference isn't recognised"}]}"#).unwrap_err();
        assert!(err.message.contains("E1142"), "{err}");
        assert!(parse(b"[1,2").is_err());
        assert!(parse(b"").is_err());
    }

    #[test]
    fn empty_history_and_summaries() {
        let obs = parse(br#"{"mailPieces":{"mailPieceId":"AB123456789GB","events":[]}}"#).unwrap();
        assert!(obs.is_empty());
        let obs = parse(br#"{"mailPieces":[{"mailPieceId":"1","summary":{"oneDBarcode":"AB1GB","lastEventCode":"EVNMI","lastEventDateTime":"2016-10-20T10:04:00+01:00"}},{"error":{"errorCode":"E1142"}}]}"#).unwrap();
        assert_eq!(obs.len(), 1);
        assert_eq!(obs[0].mapping_key, "EVNMI");
    }
}
