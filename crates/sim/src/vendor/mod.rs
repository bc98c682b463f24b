//! Documents in each partner's own format: what the real tracking APIs and the WMS answer,
//! field names, time conventions and all, shaped so Waypost's adapters read them
//! (`crates/adapters/src/sources/*.rs`). Pure functions of the world and the scans to show.

pub mod dhl;
pub mod fedex;
pub mod ups;
pub mod usps;
pub mod wms;

use crate::world::{SimOrder, SimScan, SimShipment};
use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::Offset;
use serde_json::Value;
use waypost_demo::Carrier;

/// A carrier's tracking document for one shipment showing `scans` (newest first).
pub fn tracking_doc(order: &SimOrder, ship: &SimShipment, scans: &[&SimScan]) -> Value {
    match ship.carrier {
        Carrier::Ups => ups::doc(order, ship, scans),
        Carrier::Fedex => fedex::doc("", &[fedex::Result::Found(order, ship, scans)]),
        Carrier::Usps => usps::doc(order, ship, scans),
        Carrier::Dhl => dhl::doc(order, ship, scans),
    }
}

/// The local wall clock of `t` at a fixed offset.
pub(crate) fn local(t: Timestamp, offset_secs: i32) -> DateTime {
    offset(offset_secs).to_datetime(t)
}

pub(crate) fn offset(offset_secs: i32) -> Offset {
    Offset::from_seconds(offset_secs).unwrap_or(Offset::UTC)
}

/// `-05:00`.
pub(crate) fn offset_text(offset_secs: i32) -> String {
    let sign = if offset_secs < 0 { '-' } else { '+' };
    let abs = offset_secs.unsigned_abs();
    format!("{sign}{:02}:{:02}", abs / 3600, (abs % 3600) / 60)
}

/// `2024-04-26T10:02:00-07:00`: local time with its offset, whole seconds.
pub(crate) fn iso_local(t: Timestamp, offset_secs: i32) -> String {
    let dt = local(t, offset_secs);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        offset_text(offset_secs)
    )
}

/// Like [`iso_local`], with milliseconds when there are any (`2024-04-26T10:02:00.250-07:00`).
pub(crate) fn iso_local_ms(t: Timestamp, offset_secs: i32) -> String {
    let mut s = iso_local(t, offset_secs);
    let ms = local(t, offset_secs).subsec_nanosecond() / 1_000_000;
    if ms != 0 {
        // The offset is always the last six characters (`-07:00`).
        s.insert_str(s.len() - 6, &format!(".{ms:03}"));
    }
    s
}

/// English country names as DHL writes them in a locality (`VENLO - NETHERLANDS`).
pub(crate) fn country_name(code: &str) -> Option<&'static str> {
    Some(match code {
        "AT" => "AUSTRIA",
        "BE" => "BELGIUM",
        "DE" => "GERMANY",
        "DK" => "DENMARK",
        "ES" => "SPAIN",
        "FR" => "FRANCE",
        "GB" => "UNITED KINGDOM",
        "IE" => "IRELAND",
        "IT" => "ITALY",
        "NL" => "NETHERLANDS",
        "PL" => "POLAND",
        "US" => "USA",
        _ => return None,
    })
}
