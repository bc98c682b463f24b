//! Stock counts in the Waypost WMS format (`docs/wms.md`, event type `inventory`): a warehouse
//! system reports how many units of each SKU it holds, on the same webhook as its order events.
//! Counts are not events of an order: they go to the catalogue's stock, where they release the
//! backorders they can serve.

use crate::channels::common::{MAX_DOCUMENT_BYTES, ReadError, instant, kind, money, text};
use jiff::Timestamp;
use rust_decimal::Decimal;
use serde_json::Value;

const CH: &str = "wms";

/// One SKU's count in one warehouse, absolute, as counted at `counted_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockCount {
    pub warehouse: String,
    pub sku: String,
    pub available: Decimal,
    pub counted_at: Timestamp,
}

fn is_inventory(v: &Value) -> bool {
    v.get("event_type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("inventory"))
}

/// The stock counts of a WMS document: `None` when it holds no `inventory` message (it is a
/// document of order events), the counts when every message is one, and an error when it
/// mixes both (send counts and events apart) or a count is incomplete.
pub fn read(body: &[u8]) -> Result<Option<Vec<StockCount>>, ReadError> {
    if body.len() > MAX_DOCUMENT_BYTES {
        return Err(ReadError::new(CH, "body", "document too large"));
    }
    let trimmed = body.trim_ascii_start();
    if !trimmed.starts_with(b"{") && !trimmed.starts_with(b"[") {
        return Ok(None); // CSV or JSON lines: order events only.
    }
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Ok(None); // Perhaps JSON lines; the event reader says what is wrong.
    };
    let list: Vec<&Value> = match &v {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    let counts = list.iter().filter(|m| is_inventory(m)).count();
    if counts == 0 {
        return Ok(None);
    }
    if counts != list.len() {
        return Err(ReadError::new(
            CH,
            "body",
            format!(
                "{counts} inventory message(s) among {} order events: send stock counts in a document of their own",
                list.len() - counts
            ),
        ));
    }
    let mut out = Vec::new();
    for (i, m) in list.iter().enumerate() {
        let at = |f: &str| format!("[{i}].{f}");
        let warehouse = text(m.get("warehouse_id")).ok_or_else(|| {
            ReadError::new(
                CH,
                at("warehouse_id"),
                "an inventory count names its warehouse",
            )
        })?;
        let counted_at = match m.get("occurred_at") {
            Some(Value::String(s)) => {
                instant(s, false).map_err(|e| ReadError::new(CH, at("occurred_at"), e))?
            }
            Some(other) => {
                return Err(ReadError::new(
                    CH,
                    at("occurred_at"),
                    format!("expected RFC 3339 text, got {}", kind(other)),
                ));
            }
            None => {
                return Err(ReadError::new(
                    CH,
                    at("occurred_at"),
                    "required: when it was counted",
                ));
            }
        };
        let Some(Value::Array(lines)) = m.get("lines") else {
            return Err(ReadError::new(
                CH,
                at("lines"),
                "an inventory count lists its lines: [{sku, quantity}]",
            ));
        };
        for (j, l) in lines.iter().enumerate() {
            let lat = |f: &str| format!("[{i}].lines[{j}].{f}");
            let sku =
                text(l.get("sku")).ok_or_else(|| ReadError::new(CH, lat("sku"), "required"))?;
            let available = money(l.get("quantity").unwrap_or(&Value::Null))
                .map_err(|e| ReadError::new(CH, lat("quantity"), e))?
                .ok_or_else(|| {
                    ReadError::new(CH, lat("quantity"), "required: the units on hand")
                })?;
            out.push(StockCount {
                warehouse: warehouse.clone(),
                sku,
                available,
                counted_at,
            });
        }
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_events_and_mixtures() {
        let counts = br#"[{"event_id":"c1","event_type":"Inventory","occurred_at":"2026-12-01T06:00:00-05:00",
            "warehouse_id":"ATL1","lines":[{"sku":"TEE-BLK-M","quantity":40},{"sku":"MUG","quantity":"0"}]}]"#;
        let got = read(counts).expect("reads").expect("counts");
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].warehouse, "ATL1");
        assert_eq!(got[0].available, Decimal::from(40));
        assert_eq!(
            got[0].counted_at,
            "2026-12-01T11:00:00Z"
                .parse::<Timestamp>()
                .unwrap_or_default()
        );
        let event = br#"{"event_id":"e1","event_type":"shipped","occurred_at":"2026-12-01T06:00:00Z","order_id":"O1"}"#;
        assert_eq!(read(event), Ok(None));
        assert_eq!(read(b"event_id,event_type\n"), Ok(None));
        let mixed = br#"[{"event_type":"inventory","warehouse_id":"A","occurred_at":"2026-12-01T06:00:00Z","lines":[]},
            {"event_type":"shipped"}]"#;
        assert!(read(mixed).is_err());
        let no_wh =
            br#"{"event_type":"inventory","occurred_at":"2026-12-01T06:00:00Z","lines":[]}"#;
        assert!(
            read(no_wh)
                .expect_err("no warehouse")
                .to_string()
                .contains("warehouse_id")
        );
    }
}
