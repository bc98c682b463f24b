//! The Waypost WMS event format (`docs/wms.md`): a small JSON event a warehouse system sends on
//! each change of an order, as one object, an array, JSON lines, or a CSV file import. The
//! shape is read from the first bytes; every event keeps the WMS's own id.

use crate::{Observation, ParseError, geo, timefmt};
use serde::de::{DeserializeSeed, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Number, Value, json};
use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(borrow)]
    event_id: Cow<'a, str>,
    #[serde(borrow)]
    event_type: Cow<'a, str>,
    #[serde(borrow)]
    occurred_at: Cow<'a, str>,
    #[serde(borrow)]
    order_id: Cow<'a, str>,
    #[serde(default, borrow)]
    warehouse_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    lines: Vec<Line<'a>>,
    #[serde(default, borrow)]
    tracking_number: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    carrier: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    service: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    reason: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    description: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    location: Option<Place<'a>>,
    /// The sales channel the order came from.
    #[serde(default, borrow)]
    channel: Option<Cow<'a, str>>,
    /// Who ordered: notifications reach them (`docs/notifications.md`).
    #[serde(default, borrow)]
    customer: Option<Customer<'a>>,
    #[serde(default, borrow)]
    tags: Vec<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
struct Customer<'a> {
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    email: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    phone: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    sku: Cow<'a, str>,
    #[serde(default)]
    quantity: Option<Number>,
    #[serde(default, borrow)]
    lot: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
struct Place<'a> {
    #[serde(default, borrow)]
    city: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    region: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    postal_code: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    country: Option<Cow<'a, str>>,
}

pub fn parse(doc: &[u8]) -> Result<Vec<Observation>, ParseError> {
    let doc = doc.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(doc);
    match doc.iter().find(|b| !b.is_ascii_whitespace()) {
        None => Ok(Vec::new()),
        Some(b'[') => json_array(doc),
        Some(b'{') => json_stream(doc),
        Some(_) => csv_import(doc),
    }
}

/// One object, JSON lines, or objects one after another: all are a stream of objects.
fn json_stream(doc: &[u8]) -> Result<Vec<Observation>, ParseError> {
    let mut out = Vec::new();
    let stream = serde_json::Deserializer::from_slice(doc).into_iter::<Event>();
    for (i, event) in stream.enumerate() {
        let event = event
            .map_err(|e| ParseError::new(format!("[{i}]"), format!("{e} (line {})", e.line())))?;
        out.push(observation(event, &format!("[{i}]"))?);
    }
    Ok(out)
}

fn json_array(doc: &[u8]) -> Result<Vec<Observation>, ParseError> {
    // The element being read, so that a syntax or type error names it.
    let at = Cell::new(0usize);
    let mut de = serde_json::Deserializer::from_slice(doc);
    let events = Indexed(&at)
        .deserialize(&mut de)
        .and_then(|events| de.end().map(|()| events))
        .map_err(|e| ParseError::new(format!("[{}]", at.get()), e.to_string()))?;
    events
        .into_iter()
        .enumerate()
        .map(|(i, e)| observation(e, &format!("[{i}]")))
        .collect()
}

struct Indexed<'c>(&'c Cell<usize>);

impl<'de> DeserializeSeed<'de> for Indexed<'_> {
    type Value = Vec<Event<'de>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Indexed<'_> {
    type Value = Vec<Event<'de>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of WMS events")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        loop {
            self.0.set(out.len());
            match seq.next_element()? {
                Some(e) => out.push(e),
                None => return Ok(out),
            }
        }
    }
}

/// A CSV import: one row per order line, consecutive rows of one `event_id` are one event.
fn csv_import(doc: &[u8]) -> Result<Vec<Observation>, ParseError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(doc);
    let headers = reader
        .headers()
        .map_err(|e| ParseError::new("line 1", format!("CSV header: {e}")))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let required = ["event_id", "event_type", "occurred_at", "order_id"];
    for name in required {
        if col(name).is_none() {
            return Err(ParseError::new(
                "line 1",
                format!(
                    "CSV header has no {name:?} column; it has {:?}",
                    headers.iter().collect::<Vec<_>>()
                ),
            ));
        }
    }
    let cols: Vec<(&str, Option<usize>)> = [
        "event_id",
        "event_type",
        "occurred_at",
        "order_id",
        "warehouse_id",
        "sku",
        "quantity",
        "lot",
        "tracking_number",
        "carrier",
        "service",
        "reason",
        "description",
        "city",
        "region",
        "postal_code",
        "country",
        "channel",
        "customer_id",
        "customer_email",
        "customer_phone",
    ]
    .into_iter()
    .map(|n| (n, col(n)))
    .collect();

    let mut out: Vec<Observation> = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let more = reader.read_record(&mut record).map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            ParseError::new(format!("line {line}"), format!("CSV: {e}"))
        })?;
        if !more {
            break;
        }
        let line = record.position().map_or(0, |p| p.line());
        let path = format!("line {line}");
        let get = |name: &str| {
            cols.iter()
                .find(|(n, _)| *n == name)
                .and_then(|(_, i)| i.and_then(|i| record.get(i)))
                .filter(|s| !s.is_empty())
        };
        let quantity = get("quantity")
            .map(|q| {
                q.parse::<Number>().map_err(|_| {
                    ParseError::new(format!("{path}.quantity"), format!("{q:?} is not a number"))
                })
            })
            .transpose()?;
        let line_item = get("sku").map(|sku| Line {
            sku: Cow::Borrowed(sku),
            quantity,
            lot: get("lot").map(Cow::Borrowed),
        });
        let event_id = get("event_id").unwrap_or("");
        // A further row of the event just read adds one more line to it.
        if let Some(prev) = out.last_mut()
            && prev.vendor_event_id.as_deref() == Some(event_id)
            && !event_id.is_empty()
        {
            if let Some(l) = line_item
                && let Some(Value::Array(lines)) = prev.attributes.get_mut("lines")
            {
                lines.push(line_json(&l));
            }
            continue;
        }
        let cow = |name: &str| get(name).map(Cow::Borrowed);
        let location = ["city", "region", "postal_code", "country"]
            .iter()
            .any(|n| get(n).is_some())
            .then(|| Place {
                city: cow("city"),
                region: cow("region"),
                postal_code: cow("postal_code"),
                country: cow("country"),
            });
        let event = Event {
            event_id: Cow::Borrowed(event_id),
            event_type: cow("event_type").unwrap_or_default(),
            occurred_at: cow("occurred_at").unwrap_or_default(),
            order_id: cow("order_id").unwrap_or_default(),
            warehouse_id: cow("warehouse_id"),
            lines: line_item.into_iter().collect(),
            tracking_number: cow("tracking_number"),
            carrier: cow("carrier"),
            service: cow("service"),
            reason: cow("reason"),
            description: cow("description"),
            location,
            channel: cow("channel"),
            customer: ["customer_id", "customer_email", "customer_phone"]
                .iter()
                .any(|n| get(n).is_some())
                .then(|| Customer {
                    id: cow("customer_id"),
                    email: cow("customer_email"),
                    phone: cow("customer_phone"),
                }),
            tags: Vec::new(),
        };
        out.push(observation(event, &path)?);
    }
    Ok(out)
}

fn line_json(l: &Line) -> Value {
    let mut m = Map::new();
    m.insert("sku".into(), json!(l.sku));
    if let Some(q) = &l.quantity {
        m.insert("quantity".into(), Value::Number(q.clone()));
    }
    if let Some(lot) = &l.lot {
        m.insert("lot".into(), json!(lot));
    }
    Value::Object(m)
}

/// `Short-Picked ` and `short_picked` are one type.
fn code(s: &str) -> String {
    s.trim()
        .chars()
        .map(|c| match c {
            '-' | ' ' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

fn observation(e: Event, path: &str) -> Result<Observation, ParseError> {
    for (name, value) in [
        ("event_id", &e.event_id),
        ("event_type", &e.event_type),
        ("order_id", &e.order_id),
        ("occurred_at", &e.occurred_at),
    ] {
        if value.trim().is_empty() {
            return Err(ParseError::new(
                format!("{path}.{name}"),
                "must not be empty",
            ));
        }
    }
    // The format demands an offset: a WMS's local time without one is refused, never guessed.
    // Non-ASCII text is refused first: `timefmt::with_offset` slices by bytes and would panic.
    let occurred_at = Some(&*e.occurred_at)
        .filter(|t| t.is_ascii())
        .and_then(timefmt::with_offset)
        .ok_or_else(|| {
            ParseError::new(
                format!("{path}.occurred_at"),
                format!("{:?} is not an RFC 3339 time with an offset", e.occurred_at),
            )
        })?;
    let mut attributes = Map::new();
    if let Some(w) = e.warehouse_id.as_deref().filter(|w| !w.trim().is_empty()) {
        attributes.insert("warehouse_id".into(), json!(w));
    }
    if !e.lines.is_empty() {
        let lines = e.lines.iter().map(line_json).collect();
        attributes.insert("lines".into(), Value::Array(lines));
    }
    let mut text = |key: &str, v: Option<&str>| {
        if let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) {
            attributes.insert(key.into(), json!(v));
        }
    };
    text("channel", e.channel.as_deref());
    if let Some(c) = &e.customer {
        text("customer_id", c.id.as_deref());
        text("customer_email", c.email.as_deref());
        text("customer_phone", c.phone.as_deref());
    }
    let tags: Vec<&str> = e
        .tags
        .iter()
        .map(|t| t.trim())
        .filter(|t| !t.is_empty())
        .collect();
    if !tags.is_empty() {
        attributes.insert("tags".into(), json!(tags));
    }
    let location = e.location.as_ref().and_then(|p| {
        geo::location(
            p.city.as_deref(),
            p.region.as_deref(),
            p.postal_code.as_deref(),
            p.country.as_deref(),
        )
    });
    let owned = |s: &Option<Cow<str>>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    Ok(Observation {
        mapping_key: code(&e.event_type),
        reason_key: e.reason.as_deref().map(code).filter(|r| !r.is_empty()),
        raw_code: e.event_type.trim().to_owned(),
        raw_description: owned(&e.description),
        occurred_at: Some(occurred_at),
        local_time: None,
        tracking_number: owned(&e.tracking_number),
        order_ref: Some(e.order_id.trim().to_owned()),
        vendor_event_id: Some(e.event_id.trim().to_owned()),
        carrier: owned(&e.carrier).map(|c| c.to_ascii_lowercase()),
        service: owned(&e.service),
        location,
        attributes,
        ..Observation::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_customer_channel_and_tags_become_attributes() {
        let doc = r#"{"event_id":"e1","event_type":"Created","occurred_at":"2024-03-10T01:59:00-06:00","order_id":"WP-1","channel":"web","customer":{"id":"c-9","email":"ana@example.com","phone":"+14155550123"},"tags":["vip"," ",""]}"#;
        let o = &parse(doc.as_bytes()).unwrap()[0];
        assert_eq!(o.attributes["channel"], "web");
        assert_eq!(o.attributes["customer_id"], "c-9");
        assert_eq!(o.attributes["customer_email"], "ana@example.com");
        assert_eq!(o.attributes["customer_phone"], "+14155550123");
        assert_eq!(o.attributes["tags"], serde_json::json!(["vip"]));
        let csv = "event_id,event_type,occurred_at,order_id,customer_id,customer_email\ne1,Created,2024-03-10T01:59:00-06:00,WP-1,c-9,ana@example.com\n";
        let o = &parse(csv.as_bytes()).unwrap()[0];
        assert_eq!(o.attributes["customer_email"], "ana@example.com");
    }

    const ONE: &str = r#"{"event_id":"e1","event_type":"Short-Picked","occurred_at":"2024-03-10T01:59:00-06:00","order_id":"WP-1","lines":[{"sku":"A","quantity":2}],"reason":"Out of Stock"}"#;

    #[test]
    fn the_four_shapes_give_the_same_event() {
        let csv = "event_id,event_type,occurred_at,order_id,sku,quantity,reason\n\
                   e1,Short-Picked,2024-03-10T01:59:00-06:00,WP-1,A,2,Out of Stock\n";
        let lines = format!("{ONE}\n{}\n", ONE.replace("e1", "e2"));
        for doc in [ONE.to_owned(), format!("[{ONE}]"), lines, csv.to_owned()] {
            let obs = parse(doc.as_bytes()).unwrap();
            let o = &obs[0];
            assert_eq!(o.mapping_key, "short_picked", "{doc}");
            assert_eq!(o.reason_key.as_deref(), Some("out_of_stock"));
            assert_eq!(o.raw_code, "Short-Picked");
            assert_eq!(o.vendor_event_id.as_deref(), Some("e1"));
            assert_eq!(o.attributes["lines"][0]["quantity"], 2);
            assert!(o.attributes.get("customer_id").is_none());
            // The offset is the WMS's: 01:59 CST is 07:59 UTC.
            assert_eq!(
                o.occurred_at.unwrap().instant.to_string(),
                "2024-03-10T07:59:00Z"
            );
        }
    }

    #[test]
    fn csv_rows_of_one_event_are_its_lines() {
        let csv = "order_id,event_id,event_type,occurred_at,sku,quantity,lot,extra\n\
                   WP-9,e9,picked,2024-05-01T10:00:00Z,A,1,L1,x\n\
                   WP-9,e9,picked,2024-05-01T10:00:00Z,B,3,,y\n\
                   WP-9,e10,packed,2024-05-01T10:20:00Z,,,,\n";
        let obs = parse(csv.as_bytes()).unwrap();
        assert_eq!(obs.len(), 2);
        assert_eq!(obs[0].attributes["lines"][1]["sku"], "B");
        assert_eq!(obs[0].attributes["lines"][0]["lot"], "L1");
        assert!(!obs[1].attributes.contains_key("lines"));
    }

    #[test]
    fn empty_documents_hold_no_events() {
        for doc in [
            "",
            "  \n",
            "[]",
            "event_id,event_type,occurred_at,order_id\n",
        ] {
            assert!(parse(doc.as_bytes()).unwrap().is_empty(), "{doc:?}");
        }
    }

    #[test]
    fn errors_name_the_event_and_field() {
        let bad_time = ONE.replace("2024-03-10T01:59:00-06:00", "2024-03-10T01:59:00");
        let err = parse(format!("[{ONE},{bad_time}]").as_bytes()).unwrap_err();
        assert_eq!(err.path, "[1].occurred_at", "{err}");
        let missing = ONE.replace(r#""order_id":"WP-1","#, "");
        let err = parse(format!("[{ONE},{ONE},{missing}]").as_bytes()).unwrap_err();
        assert_eq!(err.path, "[2]", "{err}");
        assert!(err.message.contains("order_id"), "{err}");
        let err = parse(format!("{ONE}\n{{\"event_id\": 5}}\n").as_bytes()).unwrap_err();
        assert!(err.path == "[1]" && err.message.contains("line 2"), "{err}");
        let err = parse(b"event_id,event_type,order_id\ne1,picked,WP-1\n").unwrap_err();
        assert!(err.message.contains("occurred_at"), "{err}");
        let err = parse(b"event_id,event_type,occurred_at,order_id,quantity\ne1,picked,2024-05-01T10:00:00Z,WP-1,lots\n")
            .unwrap_err();
        assert_eq!(err.path, "line 2.quantity", "{err}");
        assert!(parse(b"[{\"event_id\":").is_err());
        let non_ascii = ONE.replace("2024-03-10T01:59:00-06:00", "2024-03-10T01:é1234");
        assert_eq!(
            parse(non_ascii.as_bytes()).unwrap_err().path,
            "[0].occurred_at"
        );
        assert!(parse(&[0xff, 0x00, b',', b'\n']).is_err());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_documents_never_panic(s in "[{}\\[\\],:\"a-z0-9_\n é-]{0,200}", raw in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = parse(s.as_bytes());
            let _ = parse(&raw);
            let as_time = ONE.replace("2024-03-10T01:59:00-06:00", &s.replace('"', ""));
            let _ = parse(as_time.as_bytes());
        }
    }
}
