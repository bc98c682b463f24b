//! The ground truth: what a correct Waypost concludes once every event the partners serve has
//! reached it. Each event is rendered in its partner's format and read back with
//! `waypost_adapters::normalize` and the built-in tables, exactly as Waypost reads it (so event
//! ids and instants are the ones Waypost stores), and the order's state is folded with the
//! domain's own `StreamState` and `aggregate_order`: the taxonomy's rules, not a copy of them.
//! Pure: a function of the world.

use crate::SimError;
use crate::vendor;
use crate::world::{SimOrder, World};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use waypost_adapters::{MappingTable, Source};
use waypost_demo::Carrier;
use waypost_domain::{Event, Status, StreamState, aggregate_order};

/// One event of an order's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthEvent {
    /// `wms` or the carrier.
    pub source: String,
    pub event_id: String,
    pub status: String,
    pub reason: Option<String>,
    /// RFC 3339 with the partner's offset.
    pub occurred_at: String,
    /// When the partner first made it available (latency is measured from here).
    pub visible_at: Timestamp,
    pub raw_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShipmentTruth {
    pub tracking_number: String,
    pub carrier: String,
    pub service: String,
    /// The shipment's final status and reason.
    pub status: String,
    pub reason: Option<String>,
    /// When the carrier first reported it delivered (to the customer or, for a return, back
    /// at the shipper), if it did.
    pub delivered_at: Option<Timestamp>,
}

/// Where an order goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Destination {
    pub street: String,
    pub city: String,
    pub region: String,
    pub postal_code: String,
    pub country: String,
    pub lat: f64,
    pub lon: f64,
}

/// Everything true about one order, one JSON line of the truth file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    pub tenant: String,
    pub order_id: String,
    pub channel: String,
    /// The trouble the world planned (`none`, `delayed`, `lost`...).
    pub scenario: String,
    /// The order's final status (order-level rules: `partially_delivered`...) and reason.
    pub status: String,
    pub reason: Option<String>,
    /// Whether Waypost should flag a regression (progress reported after a terminal status).
    pub regression: bool,
    pub shipments: Vec<ShipmentTruth>,
    pub warehouse: String,
    pub destination: Destination,
    pub created_at: Timestamp,
    /// What the shop promised the customer.
    pub promised_at: Timestamp,
    /// Per stream (`""` = the order's own, otherwise a tracking number), events by time.
    pub history: BTreeMap<String, Vec<TruthEvent>>,
    /// Webhook deliveries of this order's events deliberately sent malformed.
    pub malformed_planted: u32,
}

/// The tables Waypost ships with, loaded once per truth computation.
struct Tables {
    wms: MappingTable,
    carriers: [(Carrier, Source, MappingTable); 4],
}

impl Tables {
    fn load() -> Result<Tables, SimError> {
        let t = |s: Source| {
            s.builtin_table()
                .map_err(|e| SimError::Truth(format!("built-in table: {e}")))
        };
        Ok(Tables {
            wms: t(Source::Wms)?,
            carriers: [
                (Carrier::Ups, Source::Ups, t(Source::Ups)?),
                (Carrier::Fedex, Source::Fedex, t(Source::Fedex)?),
                (Carrier::Usps, Source::Usps, t(Source::Usps)?),
                (Carrier::Dhl, Source::Dhl, t(Source::Dhl)?),
            ],
        })
    }

    fn carrier(&self, c: Carrier) -> Option<(Source, &MappingTable)> {
        self.carriers
            .iter()
            .find(|(k, _, _)| *k == c)
            .map(|(_, s, t)| (*s, t))
    }
}

fn normalize_one(source: Source, doc: &[u8], table: &MappingTable) -> Result<Event, SimError> {
    let mut out = waypost_adapters::normalize(source, doc, table)
        .map_err(|e| SimError::Truth(format!("{} document: {e}", source.name())))?;
    if out.events.len() != 1 || !out.unreadable.is_empty() {
        return Err(SimError::Truth(format!(
            "{} document gave {} events and {} unreadable, expected one event",
            source.name(),
            out.events.len(),
            out.unreadable.len()
        )));
    }
    let n = out.events.remove(0);
    if !n.unmapped.is_empty() {
        return Err(SimError::Truth(format!(
            "{} code {:?} is not in the built-in table",
            source.name(),
            n.mapping_key
        )));
    }
    Ok(n.event)
}

/// The canonical events of one order with the instant each became visible.
pub fn order_events(order: &SimOrder) -> Result<Vec<(Event, Timestamp)>, SimError> {
    order_events_with(order, &Tables::load()?)
}

fn order_events_with(
    order: &SimOrder,
    tables: &Tables,
) -> Result<Vec<(Event, Timestamp)>, SimError> {
    let mut out = Vec::new();
    for e in &order.wms {
        let body = vendor::wms::event(order, e).to_string();
        out.push((
            normalize_one(Source::Wms, body.as_bytes(), &tables.wms)?,
            e.visible_at,
        ));
    }
    for ship in &order.shipments {
        let Some((source, table)) = tables.carrier(ship.carrier) else {
            continue;
        };
        for scan in &ship.scans {
            let doc = vendor::tracking_doc(order, ship, &[scan]).to_string();
            out.push((
                normalize_one(source, doc.as_bytes(), table)?,
                scan.visible_at,
            ));
        }
    }
    Ok(out)
}

fn truth_of(world: &World, order: &SimOrder, tables: &Tables) -> Result<Truth, SimError> {
    let events = order_events_with(order, tables)?;
    let mut events = events;
    // Each stream's history by when it happened (the instant, whatever the partner's offset).
    events.sort_by(|(a, _), (b, _)| {
        (a.stream(), a.occurred_at.instant, a.event_id.as_str()).cmp(&(
            b.stream(),
            b.occurred_at.instant,
            b.event_id.as_str(),
        ))
    });
    let mut streams: BTreeMap<String, StreamState> = BTreeMap::new();
    let mut history: BTreeMap<String, Vec<TruthEvent>> = BTreeMap::new();
    for (e, visible_at) in &events {
        streams.entry(e.stream().to_owned()).or_default().apply(e);
        history
            .entry(e.stream().to_owned())
            .or_default()
            .push(TruthEvent {
                source: e.source.as_str().to_owned(),
                event_id: e.event_id.as_str().to_owned(),
                status: e.status.as_str().to_owned(),
                reason: e.reason.map(|r| r.as_str().to_owned()),
                occurred_at: e.occurred_at.to_string(),
                visible_at: *visible_at,
                raw_code: e.raw_code.clone(),
            });
    }
    let view = aggregate_order(
        &order.plan.id,
        streams.get(""),
        streams
            .iter()
            .filter(|(k, _)| !k.is_empty())
            .map(|(k, v)| (k.as_str(), v)),
    );
    let shipments = order
        .shipments
        .iter()
        .map(|s| {
            let v = view
                .shipments
                .iter()
                .find(|v| v.tracking_number == s.tracking_number);
            ShipmentTruth {
                tracking_number: s.tracking_number.clone(),
                carrier: s.carrier.slug().to_owned(),
                service: s.service.to_owned(),
                status: v.map_or("unknown", |v| v.status.as_str()).to_owned(),
                reason: v.and_then(|v| v.reason).map(|r| r.as_str().to_owned()),
                delivered_at: events
                    .iter()
                    .filter(|(e, _)| {
                        e.stream() == s.tracking_number && e.status == Status::Delivered
                    })
                    .map(|(e, _)| e.occurred_at.instant)
                    .min(),
            }
        })
        .collect();
    Ok(Truth {
        tenant: world
            .tenants
            .get(order.tenant)
            .map(|t| t.name.clone())
            .unwrap_or_default(),
        order_id: order.plan.id.clone(),
        channel: order.channel.to_owned(),
        scenario: order.plan.trouble.as_str().to_owned(),
        status: view.status.as_str().to_owned(),
        reason: view.reason.map(|r| r.as_str().to_owned()),
        regression: view.regression,
        shipments,
        warehouse: order.plan.warehouse.to_owned(),
        destination: Destination {
            street: order.ship_to.street.clone(),
            city: order.plan.destination.city.to_owned(),
            region: order.plan.destination.region.to_owned(),
            postal_code: order.plan.destination.postal_code.to_owned(),
            country: order.plan.destination.country.to_owned(),
            lat: order.ship_to.lat,
            lon: order.ship_to.lon,
        },
        created_at: order.plan.created_at,
        promised_at: order.plan.promised_at,
        history,
        malformed_planted: order.wms.iter().filter(|e| e.planted_malformed).count() as u32,
    })
}

/// The truth of every order, in order of creation.
pub fn truths(world: &World) -> Result<Vec<Truth>, SimError> {
    let tables = Tables::load()?;
    world
        .orders
        .iter()
        .map(|o| truth_of(world, o, &tables))
        .collect()
}

/// Writes one JSON line per order.
pub fn write_truth(truths: &[Truth], path: &Path) -> Result<(), SimError> {
    let io = |e: std::io::Error| SimError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let file = std::fs::File::create(path).map_err(io)?;
    let mut w = std::io::BufWriter::new(file);
    for t in truths {
        let line = serde_json::to_string(t).map_err(|e| SimError::Truth(e.to_string()))?;
        writeln!(w, "{line}").map_err(io)?;
    }
    w.flush().map_err(io)
}
