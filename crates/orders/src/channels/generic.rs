//! Waypost's own order schema: the body of `POST /v1/orders` and each line of a JSON-lines
//! upload. Strict where the channels are loose: unknown fields are refused (a typo must not
//! silently drop a promise), instants carry their offset, and every problem in a document is
//! named with its JSON path, all at once.

use crate::channels::Read;
use crate::channels::common::{MAX_DOCUMENT_BYTES, ReadError, instant, kind, money};
use crate::model::{Address, ChannelOrder, ChannelState, Customer, Line};
use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

const CH: &str = "api";

/// An order in Waypost's own schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenericOrder {
    /// Waypost's order id: what warehouses and carriers report against. Required.
    pub order_id: String,
    /// The account (store, seller, partner) it belongs to, when the credential serves several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The selling channel's id for it; defaults to `order_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// When it was placed, RFC 3339 with an offset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    /// When it last changed, RFC 3339 with an offset: versions are ordered by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Timestamp>,
    /// `open` (the default), `cancelled` or `on_hold`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<GenericStatus>,
    /// The order lines.
    #[serde(default)]
    pub lines: Vec<GenericLine>,
    /// ISO 4217 currency of every amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// The order's total, tax and shipping included: a decimal string or number.
    #[serde(
        default,
        deserialize_with = "amount",
        skip_serializing_if = "Option::is_none"
    )]
    pub total: Option<Decimal>,
    /// The buyer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<GenericCustomer>,
    /// Where it goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_to: Option<GenericAddress>,
    /// The shipping method or service level as the shop names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_level: Option<String>,
    /// A promised delivery instant, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promised_at: Option<Timestamp>,
    /// A ship-by instant, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_by: Option<Timestamp>,
    /// Free tags (`vip`, `wholesale`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Free text from the buyer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Where the order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GenericStatus {
    Open,
    Cancelled,
    OnHold,
}

/// One order line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenericLine {
    /// The SKU in the tenant's catalogue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// How many: a decimal string or number.
    #[serde(deserialize_with = "required_amount")]
    pub quantity: Decimal,
    /// Price of one unit before tax: a decimal string or number.
    #[serde(
        default,
        deserialize_with = "amount",
        skip_serializing_if = "Option::is_none"
    )]
    pub unit_price: Option<Decimal>,
    /// Tax for the whole line: a decimal string or number.
    #[serde(
        default,
        deserialize_with = "amount",
        skip_serializing_if = "Option::is_none"
    )]
    pub tax: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Unit of measure (`EA`, `CA`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uom: Option<String>,
}

/// The buyer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct GenericCustomer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A tier hint (`vip`); the account's settings decide what it means.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct GenericAddress {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    /// Street lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// State or province code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// A buyer-assigned location code, when the address is given by reference (a CSV
    /// upload's `ship_to.location_code` column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_code: Option<String>,
}

/// Money as a JSON string or number, read from its text, never through a float.
fn amount<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    let v = Value::deserialize(d)?;
    money(&v).map_err(serde::de::Error::custom)
}

fn required_amount<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    amount(d)?.ok_or_else(|| serde::de::Error::custom("missing amount"))
}

/// Reads one order or an array of them; every problem named with its path, all at once.
pub fn read(body: &[u8]) -> Read {
    if body.len() > MAX_DOCUMENT_BYTES {
        return Err(ReadError::new(CH, "body", "document too large"));
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ReadError::new(CH, "body", format!("not JSON: {e}")))?;
    match v {
        Value::Array(list) => {
            let mut orders = Vec::with_capacity(list.len());
            let mut problems = Vec::new();
            for (i, o) in list.into_iter().enumerate() {
                match one(o, &format!("[{i}]")) {
                    Ok(o) => orders.push(o),
                    Err(p) => problems.extend(p),
                }
            }
            if problems.is_empty() {
                Ok(orders)
            } else {
                Err(refusal(problems))
            }
        }
        o => one(o, "").map(|o| vec![o]).map_err(refusal),
    }
}

/// One order from a JSON value, or its problems as `(path, problem)`.
pub(crate) fn one(v: Value, at: &str) -> Result<ChannelOrder, Vec<(String, String)>> {
    let mut problems = Vec::new();
    check(&v, at, ORDER, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    // The check above covers every field; what serde still refuses it names itself.
    let g: GenericOrder = serde_json::from_value(v).map_err(|e| {
        vec![(
            if at.is_empty() {
                "body".into()
            } else {
                at.into()
            },
            e.to_string(),
        )]
    })?;
    Ok(g.into_channel_order())
}

fn refusal(problems: Vec<(String, String)>) -> ReadError {
    match problems.as_slice() {
        [(at, p)] => ReadError::new(CH, at.clone(), p.clone()),
        _ => ReadError::new(
            CH,
            "body",
            format!(
                "{} problems: {}",
                problems.len(),
                problems
                    .iter()
                    .map(|(a, p)| format!("{a}: {p}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        ),
    }
}

/// What a field must hold, for the all-at-once check.
#[derive(Clone, Copy)]
enum Kind {
    Str,
    RequiredStr,
    Amount,
    RequiredAmount,
    Instant,
    Status,
    Strs,
    Object(&'static [(&'static str, Kind)]),
    Objects(&'static [(&'static str, Kind)]),
}

const LINE: &[(&str, Kind)] = &[
    ("sku", Kind::Str),
    ("quantity", Kind::RequiredAmount),
    ("unit_price", Kind::Amount),
    ("tax", Kind::Amount),
    ("title", Kind::Str),
    ("uom", Kind::Str),
];
const CUSTOMER: &[(&str, Kind)] = &[
    ("id", Kind::Str),
    ("email", Kind::Str),
    ("phone", Kind::Str),
    ("name", Kind::Str),
    ("group", Kind::Str),
];
const ADDRESS: &[(&str, Kind)] = &[
    ("name", Kind::Str),
    ("company", Kind::Str),
    ("lines", Kind::Strs),
    ("city", Kind::Str),
    ("region", Kind::Str),
    ("postal_code", Kind::Str),
    ("country", Kind::Str),
    ("phone", Kind::Str),
    ("email", Kind::Str),
    ("location_code", Kind::Str),
];
const ORDER: &[(&str, Kind)] = &[
    ("order_id", Kind::RequiredStr),
    ("account", Kind::Str),
    ("external_id", Kind::Str),
    ("created_at", Kind::Instant),
    ("updated_at", Kind::Instant),
    ("status", Kind::Status),
    ("lines", Kind::Objects(LINE)),
    ("currency", Kind::Str),
    ("total", Kind::Amount),
    ("customer", Kind::Object(CUSTOMER)),
    ("ship_to", Kind::Object(ADDRESS)),
    ("service_level", Kind::Str),
    ("promised_at", Kind::Instant),
    ("ship_by", Kind::Instant),
    ("tags", Kind::Strs),
    ("note", Kind::Str),
];

fn join(at: &str, field: &str) -> String {
    if at.is_empty() {
        field.to_string()
    } else if field.starts_with('[') {
        format!("{at}{field}")
    } else {
        format!("{at}.{field}")
    }
}

fn check(v: &Value, at: &str, fields: &[(&str, Kind)], out: &mut Vec<(String, String)>) {
    let Some(obj) = v.as_object() else {
        let here = if at.is_empty() { "body" } else { at };
        out.push((here.into(), format!("expected an object, got {}", kind(v))));
        return;
    };
    for k in obj.keys() {
        if !fields.iter().any(|(f, _)| f == k) {
            out.push((join(at, k), "unknown field".into()));
        }
    }
    for (f, k) in fields {
        let path = join(at, f);
        match obj.get(*f) {
            None => match k {
                Kind::RequiredStr | Kind::RequiredAmount => out.push((path, "missing".into())),
                _ => {}
            },
            Some(val) => check_field(val, &path, *k, out),
        }
    }
}

fn check_field(v: &Value, path: &str, k: Kind, out: &mut Vec<(String, String)>) {
    let mut bad = |what: &str| {
        out.push((
            path.to_string(),
            format!("expected {what}, got {}", kind(v)),
        ))
    };
    match k {
        Kind::Str if v.is_null() || v.is_string() => {}
        Kind::Str => bad("a string"),
        Kind::RequiredStr => match v.as_str().map(str::trim) {
            Some(s) if !s.is_empty() => {}
            Some(_) => out.push((path.into(), "empty".into())),
            None => bad("a string"),
        },
        Kind::Amount | Kind::RequiredAmount => match money(v) {
            Ok(None) if matches!(k, Kind::RequiredAmount) => {
                out.push((path.into(), "missing".into()))
            }
            Ok(_) => {}
            Err(e) => out.push((path.into(), e)),
        },
        Kind::Instant => match v {
            Value::Null => {}
            // Our own schema is strict: an offset is required, a local time is refused.
            Value::String(s) => {
                if let Err(e) = s.parse::<Timestamp>() {
                    let why = instant(s, false).err().unwrap_or_else(|| e.to_string());
                    out.push((
                        path.into(),
                        format!("not an RFC 3339 instant with offset: {why}"),
                    ));
                }
            }
            _ => bad("an RFC 3339 string"),
        },
        Kind::Status => match v {
            Value::Null => {}
            Value::String(s) if matches!(s.as_str(), "open" | "cancelled" | "on_hold") => {}
            Value::String(s) => out.push((
                path.into(),
                format!("{s:?} is not one of \"open\", \"cancelled\", \"on_hold\""),
            )),
            _ => bad("a string"),
        },
        Kind::Strs => match v.as_array() {
            Some(list) => {
                for (i, s) in list.iter().enumerate() {
                    if !s.is_string() {
                        out.push((
                            format!("{path}[{i}]"),
                            format!("expected a string, got {}", kind(s)),
                        ));
                    }
                }
            }
            None if v.is_null() => {}
            None => bad("an array of strings"),
        },
        Kind::Object(fields) => {
            if !v.is_null() {
                check(v, path, fields, out);
            }
        }
        Kind::Objects(fields) => match v.as_array() {
            Some(list) => {
                for (i, o) in list.iter().enumerate() {
                    check(o, &format!("{path}[{i}]"), fields, out);
                }
            }
            None if v.is_null() => {}
            None => bad("an array of objects"),
        },
    }
}

fn clean(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

impl GenericOrder {
    /// The canonical order this states: nothing added, empty strings dropped.
    pub fn into_channel_order(self) -> ChannelOrder {
        let order_id = self.order_id.trim().to_string();
        ChannelOrder {
            account_ref: clean(self.account),
            external_id: clean(self.external_id).unwrap_or_else(|| order_id.clone()),
            order_id: Some(order_id),
            created_at: self.created_at,
            updated_at: self.updated_at,
            state: match self.status {
                None | Some(GenericStatus::Open) => ChannelState::Open,
                Some(GenericStatus::Cancelled) => ChannelState::Cancelled { reason: None },
                Some(GenericStatus::OnHold) => ChannelState::OnHold {
                    why: "status on_hold".into(),
                },
            },
            lines: self
                .lines
                .into_iter()
                .map(|l| Line {
                    sku: clean(l.sku),
                    title: clean(l.title),
                    quantity: l.quantity,
                    uom: clean(l.uom),
                    unit_price: l.unit_price,
                    tax: l.tax,
                    ..Line::default()
                })
                .collect(),
            currency: clean(self.currency).map(|c| c.to_ascii_uppercase()),
            total: self.total,
            customer: self
                .customer
                .map(|c| Customer {
                    id: clean(c.id),
                    email: clean(c.email),
                    phone: clean(c.phone),
                    name: clean(c.name),
                    group: clean(c.group),
                })
                .unwrap_or_default(),
            ship_to: self.ship_to.map(|a| Address {
                name: clean(a.name),
                company: clean(a.company),
                lines: a.lines.into_iter().filter_map(|l| clean(Some(l))).collect(),
                city: clean(a.city),
                region: clean(a.region),
                postal_code: clean(a.postal_code),
                country: clean(a.country).map(|c| c.to_ascii_uppercase()),
                phone: clean(a.phone),
                email: clean(a.email),
                location_code: clean(a.location_code),
                ..Address::default()
            }),
            service_level: clean(self.service_level),
            promised_at: self.promised_at,
            ship_by: self.ship_by,
            tags: self
                .tags
                .into_iter()
                .filter_map(|t| clean(Some(t)))
                .collect(),
            note: clean(self.note),
            ..ChannelOrder::default()
        }
    }
}

/// A canonical order stated in Waypost's own schema: what `waypost orders import` sends for
/// each order a CSV or JSON-lines file gave. What the schema has no field for (line ids and
/// alternative ids, hints, risks, read notes, coordinates) is left out; an order the channel
/// marked incomplete is sent on hold, so a person still looks at it.
impl From<&ChannelOrder> for GenericOrder {
    fn from(o: &ChannelOrder) -> Self {
        let order_id = o
            .order_id
            .clone()
            .or_else(|| o.display_id.clone())
            .unwrap_or_else(|| o.external_id.clone());
        GenericOrder {
            account: o.account_ref.clone(),
            // The schema defaults the external id to the order id: say it only when it differs.
            external_id: (o.external_id != order_id && !o.external_id.trim().is_empty())
                .then(|| o.external_id.clone()),
            order_id,
            created_at: o.created_at,
            updated_at: o.updated_at,
            status: match o.state {
                ChannelState::Open => None,
                ChannelState::Cancelled { .. } => Some(GenericStatus::Cancelled),
                ChannelState::OnHold { .. } | ChannelState::Incomplete { .. } => {
                    Some(GenericStatus::OnHold)
                }
            },
            lines: o
                .lines
                .iter()
                .map(|l| GenericLine {
                    sku: l.sku.clone(),
                    quantity: l.quantity,
                    unit_price: l.unit_price,
                    tax: l.tax,
                    title: l.title.clone(),
                    uom: l.uom.clone(),
                })
                .collect(),
            currency: o.currency.clone(),
            total: o.total,
            customer: (o.customer != Customer::default()).then(|| GenericCustomer {
                id: o.customer.id.clone(),
                email: o.customer.email.clone(),
                phone: o.customer.phone.clone(),
                name: o.customer.name.clone(),
                group: o.customer.group.clone(),
            }),
            ship_to: o.ship_to.as_ref().map(|a| GenericAddress {
                name: a.name.clone(),
                company: a.company.clone(),
                lines: a.lines.clone(),
                city: a.city.clone(),
                region: a.region.clone(),
                postal_code: a.postal_code.clone(),
                country: a.country.clone(),
                phone: a.phone.clone(),
                email: a.email.clone(),
                location_code: a.location_code.clone(),
            }),
            service_level: o.service_level.clone(),
            promised_at: o.promised_at,
            ship_by: o.ship_by,
            tags: o.tags.clone(),
            note: o.note.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_order_reads_with_defaults() {
        let o = read(br#"{"order_id":"W-1","lines":[{"sku":"A","quantity":2,"unit_price":"9.50"}],"created_at":"2024-03-01T10:00:00+01:00"}"#)
            .expect("reads");
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].external_id, "W-1");
        assert_eq!(o[0].order_id.as_deref(), Some("W-1"));
        assert_eq!(o[0].lines[0].unit_price, Some("9.5".parse().expect("dec")));
        assert_eq!(o[0].created_at, "2024-03-01T09:00:00Z".parse().ok());
    }

    #[test]
    fn every_problem_is_named_with_its_path() {
        let e = read(
            br#"[{"order_id":"W-1","lines":[{"sku":"A","quantity":true}],"colour":"red","created_at":"2024-03-01 10:00"},{"lines":[],"status":"gone"}]"#,
        )
        .expect_err("refused");
        let s = e.to_string();
        for want in [
            "[0].lines[0].quantity",
            "[0].colour: unknown field",
            "[0].created_at",
            "[1].order_id: missing",
            "[1].status",
        ] {
            assert!(s.contains(want), "{want} not in {s}");
        }
        assert!(s.contains("5 problems"), "{s}");
    }

    fn full() -> GenericOrder {
        serde_json::from_str(
            r#"{"order_id":"W-9","account":"web","external_id":"shop-9","created_at":"2024-03-01T09:00:00Z",
            "updated_at":"2024-03-02T09:00:00Z","status":"on_hold",
            "lines":[{"sku":"A","quantity":"2","unit_price":"9.50","tax":"1.90","title":"Mug","uom":"EA"},{"quantity":1}],
            "currency":"EUR","total":"20.90",
            "customer":{"id":"c1","email":"a@example.com","phone":"+33 1","name":"Ann","group":"vip"},
            "ship_to":{"name":"Ann","company":"Co","lines":["1 rue A","Bât 2"],"city":"Lyon","region":"ARA",
                       "postal_code":"69001","country":"FR","phone":"+33 2","email":"b@example.com","location_code":"DC-4"},
            "service_level":"express","promised_at":"2024-03-05T18:00:00Z","ship_by":"2024-03-04T12:00:00Z",
            "tags":["vip","b2b"],"note":"ring twice"}"#,
        )
        .expect("a full order")
    }

    #[test]
    fn generic_to_canonical_and_back_is_the_same_order() {
        let minimal: GenericOrder =
            serde_json::from_str(r#"{"order_id":"W-1","lines":[{"quantity":1}]}"#)
                .expect("a minimal order");
        let cancelled = GenericOrder {
            status: Some(GenericStatus::Cancelled),
            ..full()
        };
        for g in [full(), minimal, cancelled] {
            let canonical = g.clone().into_channel_order();
            assert_eq!(GenericOrder::from(&canonical), g);
            // And what is sent reads back as the same canonical order.
            let sent = serde_json::to_vec(&GenericOrder::from(&canonical)).expect("serializes");
            assert_eq!(read(&sent).expect("reads"), vec![canonical]);
        }
    }

    #[test]
    fn what_the_schema_cannot_say_is_stated_as_near_as_it_can() {
        let mut o = full().into_channel_order();
        o.state = ChannelState::Incomplete {
            why: "payment pending".into(),
        };
        o.order_id = None;
        o.display_id = Some("#1001".into());
        let g = GenericOrder::from(&o);
        assert_eq!(g.status, Some(GenericStatus::OnHold));
        assert_eq!(g.order_id, "#1001");
        assert_eq!(g.external_id.as_deref(), Some("shop-9"));
        o.display_id = None;
        assert_eq!(GenericOrder::from(&o).order_id, "shop-9");
        assert_eq!(GenericOrder::from(&o).external_id, None);
    }
}
