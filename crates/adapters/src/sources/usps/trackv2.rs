//! USPS Web Tools TrackV2 (`API=TrackV2`, `TrackFieldRequest` with `Revision 1`), XML:
//!
//! ```xml
//! <TrackResponse><TrackInfo ID="9400...">
//!   <Class>..</Class><OriginCity>..</OriginCity>...<ExpectedDeliveryDate>April 28, 2015</ExpectedDeliveryDate>
//!   <TrackSummary><EventTime>9:01 am</EventTime><EventDate>April 28, 2015</EventDate>
//!     <Event>Delivered, In/At Mailbox</Event><EventCity>..</EventCity><EventState>IL</EventState>
//!     <EventZIPCode>61536</EventZIPCode><EventCountry/><FirmName/><Name/>
//!     <AuthorizedAgent>false</AuthorizedAgent><EventCode>01</EventCode>
//!     <DeliveryAttributeCode>01</DeliveryAttributeCode></TrackSummary>
//!   <TrackDetail>..older events, newest first..</TrackDetail>
//! </TrackInfo><TrackInfo ID=".."><Error><Number>-2147219302</Number><Description>..</Description></Error></TrackInfo>
//! </TrackResponse>
//! ```
//!
//! The summary is the newest event; a `TrackInfo` may carry an `Error` instead (not found,
//! "Duplicate"), and a whole reply may be a bare `<Error>`. The same structure comes as JSON
//! from tracking v1 and v3's `expand=SUMMARY` (`{"TrackResults":{"TrackInfo":{"@ID":..}}}`),
//! with a `TrackDetail` object where XML repeats the element, `null` for empty elements, and
//! `GMT`/`GMTOffset` beside the local time. The older plain `TrackRequest` sends the summary
//! and details as sentences (see [`super::summary`]).
//!
//! Both are read by converting the document into a JSON-like tree (element -> object, repeated
//! element -> array, text-only element -> string, empty element -> null, attribute -> `@name`).

use super::v3::lax;
use super::{Item, RawEvent, When, clock, long_date, nonblank, service_name, summary};
use crate::ParseError;
use crate::timefmt;
use quick_xml::events::Event;
use serde_json::{Map, Value};

/// Elements deeper than this are refused: a TrackResponse is four levels deep.
const MAX_DEPTH: usize = 32;

pub(crate) fn parse_xml(doc: &[u8]) -> Result<(Vec<Item>, Vec<ParseError>), ParseError> {
    let text = std::str::from_utf8(doc)
        .map_err(|e| ParseError::new(format!("byte {}", e.valid_up_to()), "not UTF-8 text"))?;
    let tree = xml_tree(text.trim_start_matches('\u{feff}'))?;
    from_json(&tree)
}

/// The document as a tree of JSON values (see the module documentation).
fn xml_tree(text: &str) -> Result<Value, ParseError> {
    let mut reader = quick_xml::Reader::from_str(text);
    // (name, children, text) of each open element.
    let mut stack: Vec<(String, Map<String, Value>, String)> = Vec::new();
    let at = |r: &quick_xml::Reader<&[u8]>| format!("byte {}", r.buffer_position());
    loop {
        let event = reader
            .read_event()
            .map_err(|e| ParseError::new(at(&reader), format!("not XML: {e}")))?;
        match event {
            Event::Start(_) | Event::Empty(_) if stack.len() >= MAX_DEPTH => {
                return Err(ParseError::new(at(&reader), "elements nested too deep"));
            }
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                stack.push((name, attributes(&e), String::new()));
            }
            Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                let attrs = attributes(&e);
                let value = if attrs.is_empty() {
                    Value::Null
                } else {
                    Value::Object(attrs)
                };
                match stack.last_mut() {
                    Some((_, children, _)) => add(children, name, value),
                    None => return Ok(single(name, value)),
                }
            }
            Event::Text(t) => {
                if let Some((_, _, buf)) = stack.last_mut() {
                    let s = t
                        .decode()
                        .map_err(|e| ParseError::new(at(&reader), format!("not XML text: {e}")))?;
                    buf.push_str(&s);
                }
            }
            Event::CData(t) => {
                if let Some((_, _, buf)) = stack.last_mut() {
                    buf.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::GeneralRef(r) => {
                if let Some((_, _, buf)) = stack.last_mut() {
                    let resolved = match r.resolve_char_ref() {
                        Ok(Some(c)) => Some(c.to_string()),
                        _ => r
                            .decode()
                            .ok()
                            .and_then(|n| quick_xml::escape::resolve_predefined_entity(&n))
                            .map(str::to_owned),
                    };
                    match resolved {
                        Some(s) => buf.push_str(&s),
                        None => {
                            return Err(ParseError::new(at(&reader), "unknown XML entity"));
                        }
                    }
                }
            }
            Event::End(_) => {
                let Some((name, children, buf)) = stack.pop() else {
                    return Err(ParseError::new(at(&reader), "end tag without a start"));
                };
                let value = if children.is_empty() {
                    nonblank(Some(&buf)).map_or(Value::Null, Value::String)
                } else {
                    Value::Object(children)
                };
                match stack.last_mut() {
                    Some((_, parent, _)) => add(parent, name, value),
                    None => return Ok(single(name, value)),
                }
            }
            Event::Eof => {
                return Err(ParseError::new(
                    at(&reader),
                    "no complete XML element in the document",
                ));
            }
            Event::DocType(_) if !stack.is_empty() => {
                return Err(ParseError::new(
                    at(&reader),
                    "DOCTYPE inside the root element",
                ));
            }
            _ => {}
        }
    }
}

fn single(name: String, value: Value) -> Value {
    let mut m = Map::new();
    m.insert(name, value);
    Value::Object(m)
}

fn attributes(e: &quick_xml::events::BytesStart<'_>) -> Map<String, Value> {
    let mut m = Map::new();
    for a in e.attributes().flatten() {
        let key = format!("@{}", String::from_utf8_lossy(a.key.local_name().as_ref()));
        if let Ok(v) = a.unescape_value() {
            m.insert(key, Value::String(v.into_owned()));
        }
    }
    m
}

/// A child element, a second one with the same name turning the entry into an array.
fn add(map: &mut Map<String, Value>, name: String, value: Value) {
    match map.get_mut(&name) {
        None => {
            map.insert(name, value);
        }
        Some(Value::Array(list)) => list.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, value]);
        }
    }
}

/// An entry as a list: a repeated element or JSON array as is, one element as a list of one.
fn list(v: Option<&Value>) -> Vec<&Value> {
    match v {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.iter().collect(),
        Some(one) => vec![one],
    }
}

/// The items of a TrackResponse / TrackResults tree.
pub(crate) fn from_json(tree: &Value) -> Result<(Vec<Item>, Vec<ParseError>), ParseError> {
    let root = tree
        .as_object()
        .ok_or_else(|| ParseError::new("document", "not a TrackResponse"))?;
    if let Some(err) = root.get("Error") {
        return Err(error("Error", err));
    }
    let (root_name, body) = ["TrackResponse", "TrackResults"]
        .into_iter()
        .find_map(|k| root.get(k).map(|v| (k, v)))
        .ok_or_else(|| {
            ParseError::new(
                "document",
                "not a USPS TrackResponse: the root is not TrackResponse",
            )
        })?;
    let infos = body
        .as_object()
        .map(|b| list(b.get("TrackInfo")))
        .unwrap_or_default();
    if infos.is_empty() {
        return Err(ParseError::new(
            format!("{root_name}.TrackInfo"),
            "no TrackInfo",
        ));
    }
    let many = matches!(body.get("TrackInfo"), Some(Value::Array(_)));
    let mut items = Vec::new();
    let mut failures = Vec::new();
    for (i, info) in infos.into_iter().enumerate() {
        let path = if many {
            format!("{root_name}.TrackInfo[{i}]")
        } else {
            format!("{root_name}.TrackInfo")
        };
        match track_info(info, &path) {
            Ok(item) => items.push(item),
            Err(e) => failures.push(e),
        }
    }
    Ok((items, failures))
}

fn error(path: &str, err: &Value) -> ParseError {
    let (number, text) = match err.as_object() {
        Some(e) => (lax(e, &["Number"]), lax(e, &["Description"])),
        None => (None, err.as_str().map(str::to_owned)),
    };
    ParseError::new(
        path,
        format!(
            "USPS error {}: {}",
            number.unwrap_or_else(|| "?".into()),
            text.unwrap_or_default()
        ),
    )
}

fn track_info(info: &Value, path: &str) -> Result<Item, ParseError> {
    let Some(obj) = info.as_object() else {
        return Err(ParseError::new(path, "TrackInfo without content"));
    };
    if let Some(err) = obj.get("Error") {
        return Err(error(&format!("{path}.Error"), err));
    }
    let promised_at = None::<waypost_domain::EventTime>;
    let mut item = Item {
        tracking_number: lax(obj, &["@ID", "ID", "-ID"]),
        service: lax(obj, &["Class", "MailClass"]).and_then(|m| service_name(&m)),
        origin: [
            lax(obj, &["OriginCity"]),
            lax(obj, &["OriginState"]),
            lax(obj, &["OriginZip", "OriginZIPCode"]),
            lax(obj, &["OriginCountryCode", "OriginCountry"]),
        ],
        destination: [
            lax(obj, &["DestinationCity"]),
            lax(obj, &["DestinationState"]),
            lax(obj, &["DestinationZip", "DestinationZIPCode"]),
            lax(obj, &["DestinationCountryCode", "DestinationCountry"]),
        ],
        promised_at,
        events: Vec::new(),
    };
    let summaries = list(obj.get("TrackSummary"));
    let details = list(obj.get("TrackDetail"));
    let many_summaries = summaries.len() > 1;
    let many_details = matches!(obj.get("TrackDetail"), Some(Value::Array(_)));
    for (i, s) in summaries.into_iter().enumerate() {
        let p = if many_summaries {
            format!("{path}.TrackSummary[{i}]")
        } else {
            format!("{path}.TrackSummary")
        };
        if let Some(e) = event(s, p)? {
            item.events.push(e);
        }
    }
    for (i, d) in details.into_iter().enumerate() {
        let p = if many_details {
            format!("{path}.TrackDetail[{i}]")
        } else {
            format!("{path}.TrackDetail")
        };
        if let Some(e) = event(d, p)? {
            item.events.push(e);
        }
    }
    if item.events.is_empty() {
        return Err(ParseError::new(
            format!("{path}.TrackSummary"),
            "no TrackSummary",
        ));
    }
    Ok(item)
}

/// One TrackSummary or TrackDetail: fields, or a sentence. `Err` when the sentence is USPS's
/// "could not locate" reply given as a summary.
fn event(v: &Value, path: String) -> Result<Option<RawEvent>, ParseError> {
    match v {
        Value::String(s) => summary::event(s, path),
        Value::Object(e) => Ok(Some(fields(e, path))),
        _ => Ok(None),
    }
}

fn fields(e: &Map<String, Value>, path: String) -> RawEvent {
    let mut attributes = Map::new();
    for (key, attr) in [
        ("Name", "signed_by"),
        ("FirmName", "firm"),
        ("DeliveryAttributeCode", "delivery_attribute"),
        ("ActionCode", "action_code"),
        ("ReasonCode", "reason_code"),
    ] {
        if let Some(s) = lax(e, &[key]) {
            attributes.insert(attr.into(), Value::String(s));
        }
    }
    let date = lax(e, &["EventDate"]);
    let time = lax(e, &["EventTime"]);
    let when = match (&date, &time) {
        (None, _) => When::Bad(ParseError::new(
            format!("{path}.EventDate"),
            "event has no EventDate",
        )),
        (Some(d), t) => match long_date(d) {
            None => When::Bad(ParseError::new(
                format!("{path}.EventDate"),
                format!("{d:?} is not a date like \"April 28, 2015\""),
            )),
            Some(day) => match t {
                None => When::Local {
                    civil: day.to_datetime(jiff::civil::Time::midnight()),
                    date_only: true,
                },
                Some(t) => match clock(t) {
                    None => When::Bad(ParseError::new(
                        format!("{path}.EventTime"),
                        format!("{t:?} is not a time like \"2:05 pm\""),
                    )),
                    Some(tod) => {
                        let civil = day.to_datetime(tod);
                        match lax(e, &["GMTOffset"]) {
                            Some(o) => match timefmt::local_with_offset(civil, &o) {
                                Some(t) => When::Exact(t),
                                None => When::Bad(ParseError::new(
                                    format!("{path}.GMTOffset"),
                                    format!("{o:?} is not a UTC offset"),
                                )),
                            },
                            None => When::Local {
                                civil,
                                date_only: false,
                            },
                        }
                    }
                },
            },
        },
    };
    RawEvent {
        code: lax(e, &["EventCode"]),
        description: lax(e, &["Event"]),
        when: Some(when),
        city: lax(e, &["EventCity"]),
        state: lax(e, &["EventState"]),
        zip: lax(e, &["EventZIPCode", "EventZip"]),
        country: lax(e, &["EventCountry"]),
        attributes,
        path,
    }
}
