//! Waypost's own upload formats: CSV with a column map, and JSON lines of the generic schema.
//!
//! A file is many orders, and one bad order must not refuse the rest: each order's rows are
//! read together, a bad row refuses that order (every one of its rows named with its line and
//! reason) and reading goes on. Only a file that cannot be read at all (its header lacks a
//! mapped column, the map itself is wrong) is a [`ReadError`].

use crate::channels::common::{MAX_DOCUMENT_BYTES, ReadError, decimal, instant};
use crate::channels::generic;
use crate::model::{Address, ChannelOrder, Customer, Line};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::HashMap;

/// Which CSV column holds which canonical field; read from the account's TOML.
///
/// ```toml
/// order_id = "Order Number"
/// sku = "SKU"
/// quantity = "Qty"
/// unit_price = "Price"
/// created_at = "Date"
/// created_at_format = "%m/%d/%Y %H:%M"
/// timezone = "America/Chicago"
/// [ship_to]
/// city = "Ship City"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnMap {
    /// Required: rows sharing it, one after the other, are one order.
    pub order_id: String,
    pub external_id: Option<String>,
    /// The account (store, partner) when one file carries several.
    pub account: Option<String>,
    pub sku: Option<String>,
    pub title: Option<String>,
    /// Required.
    pub quantity: String,
    pub unit_price: Option<String>,
    pub tax: Option<String>,
    pub uom: Option<String>,
    pub currency: Option<String>,
    pub total: Option<String>,
    pub created_at: Option<String>,
    /// A strftime format for `created_at` and `promised_at` (`%d/%m/%Y %H:%M`); without
    /// one they must be RFC 3339, or a local date-time when `timezone` is set.
    pub created_at_format: Option<String>,
    /// The IANA zone local times are in (`Europe/Paris`); without it, a time without an
    /// offset is refused rather than guessed.
    pub timezone: Option<String>,
    pub promised_at: Option<String>,
    pub service_level: Option<String>,
    pub note: Option<String>,
    /// A column of tags, split on `tags_separator` (default `,`).
    pub tags: Option<String>,
    pub tags_separator: Option<String>,
    /// Most decimal places an amount may have once trailing zeros are dropped (default 2):
    /// `12.3456` in a price column is a mistake, not a price.
    pub money_decimals: Option<u32>,
    #[serde(default)]
    pub ship_to: AddressColumns,
    #[serde(default)]
    pub customer: CustomerColumns,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressColumns {
    pub name: Option<String>,
    pub company: Option<String>,
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub location_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerColumns {
    pub id: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub name: Option<String>,
    pub group: Option<String>,
}

impl ColumnMap {
    /// Every mapped column name, with the field it feeds.
    fn columns(&self) -> Vec<(&'static str, &str)> {
        let a = &self.ship_to;
        let c = &self.customer;
        let opt = [
            ("external_id", &self.external_id),
            ("account", &self.account),
            ("sku", &self.sku),
            ("title", &self.title),
            ("unit_price", &self.unit_price),
            ("tax", &self.tax),
            ("uom", &self.uom),
            ("currency", &self.currency),
            ("total", &self.total),
            ("created_at", &self.created_at),
            ("promised_at", &self.promised_at),
            ("service_level", &self.service_level),
            ("note", &self.note),
            ("tags", &self.tags),
            ("ship_to.name", &a.name),
            ("ship_to.company", &a.company),
            ("ship_to.line1", &a.line1),
            ("ship_to.line2", &a.line2),
            ("ship_to.city", &a.city),
            ("ship_to.region", &a.region),
            ("ship_to.postal_code", &a.postal_code),
            ("ship_to.country", &a.country),
            ("ship_to.phone", &a.phone),
            ("ship_to.email", &a.email),
            ("ship_to.location_code", &a.location_code),
            ("customer.id", &c.id),
            ("customer.email", &c.email),
            ("customer.phone", &c.phone),
            ("customer.name", &c.name),
            ("customer.group", &c.group),
        ];
        let mut out = vec![
            ("order_id", self.order_id.as_str()),
            ("quantity", self.quantity.as_str()),
        ];
        out.extend(
            opt.iter()
                .filter_map(|(f, c)| c.as_deref().map(|c| (*f, c))),
        );
        out
    }

    /// Everything wrong with the map, all at once.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        for (field, col) in self.columns() {
            if col.trim().is_empty() {
                p.push(format!("{field}: the column name is empty"));
            }
        }
        if self.created_at_format.is_some()
            && self.created_at.is_none()
            && self.promised_at.is_none()
        {
            p.push("created_at_format: no created_at or promised_at column to read with it".into());
        }
        if let Some(f) = &self.created_at_format
            && !f.contains('%')
        {
            p.push(format!("created_at_format: {f:?} has no % directive"));
        }
        if let Some(z) = &self.timezone
            && let Err(e) = TimeZone::get(z)
        {
            p.push(format!("timezone: {z:?} is not a known zone: {e}"));
        }
        if self.tags_separator.as_deref() == Some("") {
            p.push("tags_separator: empty".into());
        }
        if self.tags_separator.is_some() && self.tags.is_none() {
            p.push("tags_separator: no tags column".into());
        }
        if self.money_decimals.is_some_and(|d| d > 6) {
            p.push("money_decimals: at most 6".into());
        }
        p
    }
}

/// A row refused, with its line in the file (the header is line 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub reason: String,
}

/// What a file gave: its orders with the line each starts on, and the rows refused.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TabularRead {
    pub orders: Vec<(u64, ChannelOrder)>,
    pub refused: Vec<RowError>,
}

/// One row's fields by canonical name.
struct Row {
    line: u64,
    cells: HashMap<&'static str, String>,
}

impl Row {
    fn get(&self, f: &str) -> Option<&str> {
        self.cells
            .get(f)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }
    fn owned(&self, f: &str) -> Option<String> {
        self.get(f).map(str::to_string)
    }
}

/// Reads a CSV upload with `map`. The header must have every mapped column; then each order's
/// consecutive rows become one order, or are all refused with their reasons.
pub fn csv(bytes: &[u8], map: &ColumnMap) -> Result<TabularRead, ReadError> {
    const CH: &str = "csv";
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(ReadError::new(CH, "file", "document too large"));
    }
    let problems = map.problems();
    if !problems.is_empty() {
        return Err(ReadError::new(CH, "column map", problems.join("; ")));
    }
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut rdr = ::csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes);
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| ReadError::new(CH, "line 1", format!("unreadable header: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let mut index = Vec::new();
    let mut missing = Vec::new();
    for (field, col) in map.columns() {
        match header.iter().position(|h| h == col.trim()) {
            Some(i) => index.push((field, i)),
            None => missing.push(format!("{col:?} (for {field})")),
        }
    }
    if !missing.is_empty() {
        return Err(ReadError::new(
            CH,
            "line 1",
            format!("the header has no column {}", missing.join(", ")),
        ));
    }
    let zone = match &map.timezone {
        Some(z) => {
            Some(TimeZone::get(z).map_err(|e| ReadError::new(CH, "column map", e.to_string()))?)
        }
        None => None,
    };
    let mut out = TabularRead::default();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut group: Vec<Row> = Vec::new();
    let mut record = ::csv::StringRecord::new();
    // Lines are counted from byte offsets: the csv crate's own line count drifts on CRLF
    // files, and a refused row must name the line a person sees in an editor.
    let mut counted = (0usize, 1u64);
    let mut line_at = |byte: usize| {
        let (from, n) = counted;
        // On CRLF the parser ends a record at `\r` and its position points at the `\n`.
        let mut upto = byte.clamp(from, bytes.len());
        while bytes.get(upto).is_some_and(|b| *b == b'\r' || *b == b'\n') {
            upto += 1;
        }
        let more = bytes[from..upto].iter().filter(|b| **b == b'\n').count() as u64;
        counted = (upto, n + more);
        n + more
    };
    loop {
        let line = line_at(rdr.position().byte() as usize);
        match rdr.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                // A broken record (bad UTF-8, say): refuse it and go on with the next.
                out.refused.push(RowError {
                    line,
                    reason: format!("unreadable row: {e}"),
                });
                continue;
            }
        }
        let line = record
            .position()
            .map(|p| line_at(p.byte() as usize))
            .unwrap_or(line);
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let row = Row {
            line,
            cells: index
                .iter()
                .map(|(f, i)| (*f, record.get(*i).unwrap_or("").to_string()))
                .collect(),
        };
        let same = group
            .first()
            .is_some_and(|g| g.get("order_id") == row.get("order_id"));
        if !same {
            finish(
                std::mem::take(&mut group),
                map,
                zone.as_ref(),
                &mut seen,
                &mut out,
            );
        }
        group.push(row);
    }
    finish(group, map, zone.as_ref(), &mut seen, &mut out);
    Ok(out)
}

/// Turns one order's rows into an order, or refuses them all.
fn finish(
    rows: Vec<Row>,
    map: &ColumnMap,
    zone: Option<&TimeZone>,
    seen: &mut HashMap<String, u64>,
    out: &mut TabularRead,
) {
    let Some(first) = rows.first() else {
        return;
    };
    let Some(id) = first.owned("order_id") else {
        out.refused.extend(rows.iter().map(|r| RowError {
            line: r.line,
            reason: "empty order id".into(),
        }));
        return;
    };
    if let Some(earlier) = seen.get(&id) {
        out.refused.extend(rows.iter().map(|r| RowError {
            line: r.line,
            reason: format!(
                "order {id} already started at line {earlier}: an order's rows must be adjacent"
            ),
        }));
        return;
    }
    seen.insert(id.clone(), first.line);
    let head = header(first, &id, map, zone);
    let mut reasons: Vec<(u64, String)> = Vec::new();
    let mut order = match head {
        Ok(o) => Some(o),
        Err(e) => {
            reasons.push((first.line, e));
            None
        }
    };
    let mut lines = Vec::new();
    for r in &rows {
        match line(r, map) {
            Ok(l) => lines.push(l),
            Err(e) => reasons.push((r.line, e)),
        }
        // Order-level columns repeat on each row or are left empty; a different value is
        // two orders under one id.
        if r.line != first.line {
            for f in ORDER_LEVEL {
                if let (Some(a), Some(b)) = (first.get(f), r.get(f))
                    && a != b
                {
                    reasons.push((
                        r.line,
                        format!(
                            "{f} {b:?} differs from {a:?} on the order's first line {}",
                            first.line
                        ),
                    ));
                }
            }
        }
    }
    match order.take() {
        Some(mut o) if reasons.is_empty() => {
            o.lines = lines;
            out.orders.push((first.line, o));
        }
        _ => {
            for r in &rows {
                let own: Vec<&str> = reasons
                    .iter()
                    .filter(|(l, _)| *l == r.line)
                    .map(|(_, s)| s.as_str())
                    .collect();
                let reason = if own.is_empty() {
                    let lines: Vec<String> = reasons.iter().map(|(l, _)| l.to_string()).collect();
                    format!("order {id} refused for its line {}", lines.join(", "))
                } else {
                    own.join("; ")
                };
                out.refused.push(RowError {
                    line: r.line,
                    reason,
                });
            }
        }
    }
}

const ORDER_LEVEL: [&str; 10] = [
    "external_id",
    "account",
    "currency",
    "total",
    "created_at",
    "promised_at",
    "service_level",
    "ship_to.postal_code",
    "ship_to.country",
    "customer.email",
];

fn money(r: &Row, f: &str, map: &ColumnMap) -> Result<Option<Decimal>, String> {
    let Some(s) = r.get(f) else {
        return Ok(None);
    };
    let d = decimal(s).map_err(|e| format!("{f}: {e}"))?;
    let max = map.money_decimals.unwrap_or(2);
    if d.normalize().scale() > max {
        return Err(format!("{f}: {s:?} has more than {max} decimal places"));
    }
    Ok(Some(d))
}

fn time(
    r: &Row,
    f: &str,
    map: &ColumnMap,
    zone: Option<&TimeZone>,
) -> Result<Option<Timestamp>, String> {
    let Some(s) = r.get(f) else {
        return Ok(None);
    };
    let local = |dt: jiff::civil::DateTime| match zone {
        Some(z) => dt
            .to_zoned(z.clone())
            .map(|z| z.timestamp())
            .map_err(|e| format!("{f}: {s:?}: {e}")),
        None => Err(format!(
            "{f}: {s:?} has no time zone, and the column map names none (set timezone)"
        )),
    };
    if let Some(fmt) = &map.created_at_format {
        let bt = jiff::fmt::strtime::parse(fmt, s)
            .map_err(|e| format!("{f}: {s:?} does not match {fmt:?}: {e}"))?;
        if let Ok(t) = bt.to_timestamp() {
            return Ok(Some(t));
        }
        let dt = bt
            .to_datetime()
            .or_else(|_| {
                bt.to_date()
                    .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
            })
            .map_err(|e| format!("{f}: {s:?}: {e}"))?;
        return local(dt).map(Some);
    }
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(Some(t));
    }
    if let Ok(dt) = s.replacen(' ', "T", 1).parse::<jiff::civil::DateTime>() {
        return local(dt).map(Some);
    }
    instant(s, false).map(Some).map_err(|e| format!("{f}: {e}"))
}

fn header(
    r: &Row,
    id: &str,
    map: &ColumnMap,
    zone: Option<&TimeZone>,
) -> Result<ChannelOrder, String> {
    let sep = map.tags_separator.as_deref().unwrap_or(",");
    let address = Address {
        name: r.owned("ship_to.name"),
        company: r.owned("ship_to.company"),
        lines: [r.owned("ship_to.line1"), r.owned("ship_to.line2")]
            .into_iter()
            .flatten()
            .collect(),
        city: r.owned("ship_to.city"),
        region: r.owned("ship_to.region"),
        postal_code: r.owned("ship_to.postal_code"),
        country: r.owned("ship_to.country").map(|c| c.to_ascii_uppercase()),
        phone: r.owned("ship_to.phone"),
        email: r.owned("ship_to.email"),
        location_code: r.owned("ship_to.location_code"),
        ..Address::default()
    };
    Ok(ChannelOrder {
        account_ref: r.owned("account"),
        external_id: r.owned("external_id").unwrap_or_else(|| id.to_string()),
        order_id: Some(id.to_string()),
        created_at: time(r, "created_at", map, zone)?,
        currency: r.owned("currency").map(|c| c.to_ascii_uppercase()),
        total: money(r, "total", map)?,
        customer: Customer {
            id: r.owned("customer.id"),
            email: r.owned("customer.email"),
            phone: r.owned("customer.phone"),
            name: r.owned("customer.name"),
            group: r.owned("customer.group"),
        },
        ship_to: (address != Address::default()).then_some(address),
        service_level: r.owned("service_level"),
        promised_at: time(r, "promised_at", map, zone)?,
        tags: r
            .get("tags")
            .map(|t| {
                t.split(sep)
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        note: r.owned("note"),
        ..ChannelOrder::default()
    })
}

fn line(r: &Row, map: &ColumnMap) -> Result<Line, String> {
    let sku = r.owned("sku");
    if map.sku.is_some() && sku.is_none() {
        return Err("empty SKU".into());
    }
    let quantity = match r.get("quantity") {
        None => return Err("empty quantity".into()),
        Some(q) => decimal(q).map_err(|e| format!("quantity: {e}"))?,
    };
    if quantity <= Decimal::ZERO {
        return Err(format!("quantity {quantity} is not positive"));
    }
    Ok(Line {
        sku,
        title: r.owned("title"),
        quantity,
        uom: r.owned("uom"),
        unit_price: money(r, "unit_price", map)?,
        tax: money(r, "tax", map)?,
        ..Line::default()
    })
}

/// Reads JSON lines, one generic order ([`generic::GenericOrder`]) per line; a bad line is
/// refused with every problem it has, and the others are read.
pub fn jsonl(bytes: &[u8]) -> TabularRead {
    let mut out = TabularRead::default();
    if bytes.len() > MAX_DOCUMENT_BYTES {
        out.refused.push(RowError {
            line: 1,
            reason: "document too large".into(),
        });
        return out;
    }
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    for (i, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = i as u64 + 1;
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let v: serde_json::Value = match serde_json::from_slice(raw) {
            Ok(v) => v,
            Err(e) => {
                out.refused.push(RowError {
                    line,
                    reason: format!("not JSON: {e}"),
                });
                continue;
            }
        };
        match generic::one(v, "") {
            Ok(o) => out.orders.push((line, o)),
            Err(problems) => out.refused.push(RowError {
                line,
                reason: problems
                    .iter()
                    .map(|(a, p)| format!("{a}: {p}"))
                    .collect::<Vec<_>>()
                    .join("; "),
            }),
        }
    }
    out
}
