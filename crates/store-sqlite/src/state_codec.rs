//! The stored form of an order's folded streams. JSON repeated every event key (source, id,
//! instant) in every field and was a third of the bytes written per event; this form writes
//! each distinct key once and refers to it by index, with integers as varints.
//!
//! Layout, version 1 (all integers LEB128, signed ones zigzag; strings length-prefixed):
//! `0x01, key_count, keys[at_ns, precedence, source, event_id], stream_count,
//! streams[track, field_mask, fields in mask order]`. A leading `{` is the JSON of earlier
//! versions, still read.

use super::corrupt;
use super::write::Streams;
use jiff::Timestamp;
use jiff::tz::Offset;
use waypost_domain::projection::{EventKey, Head, Latest, StreamState};
use waypost_domain::{EventTime, Location, Reason, Status};
use waypost_store::StoreError;

const VERSION: u8 = 1;

const HEAD: u16 = 1;
const LOCATION: u16 = 1 << 1;
const CARRIER: u16 = 1 << 2;
const SERVICE: u16 = 1 << 3;
const ORIGIN: u16 = 1 << 4;
const DESTINATION: u16 = 1 << 5;
const PROMISED: u16 = 1 << 6;
const FIRST_TERMINAL: u16 = 1 << 7;
const LAST_PROGRESS: u16 = 1 << 8;
const LAST_EVENT: u16 = 1 << 9;
// Added later: a state written before them has neither bit set and decodes as it did.
const FIRST_SHIPPED: u16 = 1 << 10;
const FIRST_DELIVERED: u16 = 1 << 11;

pub(crate) fn encode(streams: &Streams) -> Vec<u8> {
    let mut keys: Vec<&EventKey> = Vec::new();
    let index = key_index;
    let mut body = Vec::with_capacity(128);
    uint(&mut body, streams.len() as u64);
    for (track, s) in streams {
        text(&mut body, track);
        let mut mask = 0u16;
        for (bit, present) in [
            (HEAD, s.head.is_some()),
            (LOCATION, s.location.is_some()),
            (CARRIER, s.carrier.is_some()),
            (SERVICE, s.service.is_some()),
            (ORIGIN, s.origin.is_some()),
            (DESTINATION, s.destination.is_some()),
            (PROMISED, s.promised_at.is_some()),
            (FIRST_TERMINAL, s.first_terminal_ns.is_some()),
            (LAST_PROGRESS, s.last_progress_ns.is_some()),
            (LAST_EVENT, s.last_event_ns.is_some()),
            (FIRST_SHIPPED, s.first_shipped_ns.is_some()),
            (FIRST_DELIVERED, s.first_delivered_ns.is_some()),
        ] {
            if present {
                mask |= bit;
            }
        }
        uint(&mut body, u64::from(mask));
        if let Some(h) = &s.head {
            uint(&mut body, index(&h.key, &mut keys));
            text(&mut body, h.value.status.as_str());
            text(&mut body, h.value.reason.map_or("", |r| r.as_str()));
            time(&mut body, &h.value.occurred_at);
        }
        if let Some(l) = &s.location {
            uint(&mut body, index(&l.key, &mut keys));
            location(&mut body, &l.value);
        }
        for v in [&s.carrier, &s.service].into_iter().flatten() {
            uint(&mut body, index(&v.key, &mut keys));
            text(&mut body, &v.value);
        }
        for l in [&s.origin, &s.destination].into_iter().flatten() {
            uint(&mut body, index(&l.key, &mut keys));
            location(&mut body, &l.value);
        }
        if let Some(p) = &s.promised_at {
            uint(&mut body, index(&p.key, &mut keys));
            time(&mut body, &p.value);
        }
        for n in [
            s.first_terminal_ns,
            s.last_progress_ns,
            s.last_event_ns,
            s.first_shipped_ns,
            s.first_delivered_ns,
        ]
        .into_iter()
        .flatten()
        {
            int(&mut body, n);
        }
    }
    let mut out = Vec::with_capacity(body.len() + 16 + keys.len() * 48);
    out.push(VERSION);
    uint(&mut out, keys.len() as u64);
    for k in &keys {
        int(&mut out, k.at_ns);
        out.push(k.precedence);
        text(&mut out, &k.source);
        text(&mut out, &k.event_id);
    }
    out.extend_from_slice(&body);
    out
}

/// Orders have a handful of distinct keys: a linear scan beats hashing.
fn key_index<'a>(k: &'a EventKey, keys: &mut Vec<&'a EventKey>) -> u64 {
    keys.iter().position(|x| *x == k).unwrap_or_else(|| {
        keys.push(k);
        keys.len() - 1
    }) as u64
}

pub(crate) fn decode(bytes: &[u8]) -> Result<Streams, StoreError> {
    match bytes.first() {
        Some(b'{') => serde_json::from_slice(bytes).map_err(|e| corrupt("order state", e)),
        Some(&VERSION) => Reader { b: &bytes[1..] }
            .streams()
            .ok_or_else(|| corrupt("order state", "truncated or malformed")),
        _ => Err(corrupt("order state", "unknown encoding")),
    }
}

struct Reader<'a> {
    b: &'a [u8],
}

impl Reader<'_> {
    fn streams(&mut self) -> Option<Streams> {
        let n = self.uint()? as usize;
        let mut keys = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            keys.push(EventKey {
                at_ns: self.int()?,
                precedence: self.byte()?,
                source: self.text()?.to_owned(),
                event_id: self.text()?.to_owned(),
            });
        }
        let key = |r: &mut Self| keys.get(r.uint()? as usize).cloned();
        let mut out = Streams::new();
        let count = self.uint()?;
        for _ in 0..count {
            let track = self.text()?.to_owned();
            let mask = u16::try_from(self.uint()?).ok()?;
            let mut s = StreamState::default();
            if mask & HEAD != 0 {
                let k = key(self)?;
                let status: Status = self.text()?.parse().ok()?;
                let reason = match self.text()? {
                    "" => None,
                    r => Some(r.parse::<Reason>().ok()?),
                };
                let occurred_at = self.time()?;
                s.head = Some(Latest {
                    key: k,
                    value: Head {
                        status,
                        reason,
                        occurred_at,
                    },
                });
            }
            if mask & LOCATION != 0 {
                s.location = Some(Latest {
                    key: key(self)?,
                    value: self.location()?,
                });
            }
            if mask & CARRIER != 0 {
                s.carrier = Some(Latest {
                    key: key(self)?,
                    value: self.text()?.to_owned(),
                });
            }
            if mask & SERVICE != 0 {
                s.service = Some(Latest {
                    key: key(self)?,
                    value: self.text()?.to_owned(),
                });
            }
            if mask & ORIGIN != 0 {
                s.origin = Some(Latest {
                    key: key(self)?,
                    value: self.location()?,
                });
            }
            if mask & DESTINATION != 0 {
                s.destination = Some(Latest {
                    key: key(self)?,
                    value: self.location()?,
                });
            }
            if mask & PROMISED != 0 {
                s.promised_at = Some(Latest {
                    key: key(self)?,
                    value: self.time()?,
                });
            }
            if mask & FIRST_TERMINAL != 0 {
                s.first_terminal_ns = Some(self.int()?);
            }
            if mask & LAST_PROGRESS != 0 {
                s.last_progress_ns = Some(self.int()?);
            }
            if mask & LAST_EVENT != 0 {
                s.last_event_ns = Some(self.int()?);
            }
            if mask & FIRST_SHIPPED != 0 {
                s.first_shipped_ns = Some(self.int()?);
            }
            if mask & FIRST_DELIVERED != 0 {
                s.first_delivered_ns = Some(self.int()?);
            }
            out.insert(track, s);
        }
        self.b.is_empty().then_some(out)
    }

    fn byte(&mut self) -> Option<u8> {
        let (first, rest) = self.b.split_first()?;
        self.b = rest;
        Some(*first)
    }

    fn uint(&mut self) -> Option<u128> {
        let mut v: u128 = 0;
        for shift in (0..19 * 7).step_by(7) {
            let b = self.byte()?;
            v |= u128::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    fn int(&mut self) -> Option<i128> {
        let u = self.uint()?;
        Some((u >> 1) as i128 ^ -((u & 1) as i128))
    }

    fn text(&mut self) -> Option<&str> {
        let n = usize::try_from(self.uint()?).ok()?;
        if n > self.b.len() {
            return None;
        }
        let (s, rest) = self.b.split_at(n);
        self.b = rest;
        std::str::from_utf8(s).ok()
    }

    fn opt_text(&mut self) -> Option<Option<String>> {
        Some(match self.byte()? {
            0 => None,
            _ => Some(self.text()?.to_owned()),
        })
    }

    fn opt_f64(&mut self) -> Option<Option<f64>> {
        Some(match self.byte()? {
            0 => None,
            _ => {
                let (b, rest) = self.b.split_first_chunk::<8>()?;
                self.b = rest;
                Some(f64::from_le_bytes(*b))
            }
        })
    }

    fn location(&mut self) -> Option<Location> {
        Some(Location {
            city: self.opt_text()?,
            region: self.opt_text()?,
            postal_code: self.opt_text()?,
            country: self.opt_text()?,
            lat: self.opt_f64()?,
            lon: self.opt_f64()?,
        })
    }

    fn time(&mut self) -> Option<EventTime> {
        let ns = self.int()?;
        let offset = i32::try_from(self.int()?).ok()?;
        Some(EventTime {
            instant: Timestamp::from_nanosecond(ns).ok()?,
            offset: Offset::from_seconds(offset).ok()?,
        })
    }
}

fn uint(out: &mut Vec<u8>, v: impl Into<u128>) {
    let mut v: u128 = v.into();
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn int(out: &mut Vec<u8>, v: i128) {
    uint(out, ((v << 1) ^ (v >> 127)) as u128);
}

fn text(out: &mut Vec<u8>, s: &str) {
    uint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn opt_text(out: &mut Vec<u8>, s: &Option<String>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            text(out, s);
        }
    }
}

fn opt_f64(out: &mut Vec<u8>, v: Option<f64>) {
    match v {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

fn location(out: &mut Vec<u8>, l: &Location) {
    opt_text(out, &l.city);
    opt_text(out, &l.region);
    opt_text(out, &l.postal_code);
    opt_text(out, &l.country);
    opt_f64(out, l.lat);
    opt_f64(out, l.lon);
}

fn time(out: &mut Vec<u8>, t: &EventTime) {
    int(out, t.instant.as_nanosecond());
    int(out, i128::from(t.offset.seconds()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use waypost_domain::Event;

    fn event(v: serde_json::Value) -> Event {
        serde_json::from_value(v).unwrap()
    }

    fn sample() -> Streams {
        let mut streams = Streams::new();
        let full = event(serde_json::json!({
            "source": "ups", "event_id": "e1", "order_id": "O", "status": "exception",
            "reason": "address_issue", "occurred_at": "2024-03-10T01:30:00.123456789-05:00",
            "tracking_number": "1Z", "carrier": "ups", "service": "Ground",
            "location": {"city": "Atlanta", "region": "GA", "country": "US", "lat": 33.7, "lon": -84.4},
            "origin": {"city": "Reno"}, "destination": {"postal_code": "10001", "country": "US"},
            "promised_at": "2024-03-12T23:59:59+05:30"
        }));
        let later = event(serde_json::json!({
            "source": "ups", "event_id": "e2", "order_id": "O", "status": "delivered",
            "occurred_at": "2024-03-11T12:00:00Z", "tracking_number": "1Z"
        }));
        let shipped = event(serde_json::json!({
            "source": "ups", "event_id": "e0", "order_id": "O", "status": "in_transit",
            "occurred_at": "2024-03-09T08:00:00Z", "tracking_number": "1Z"
        }));
        let s = streams.entry("1Z".into()).or_default();
        s.apply(&full);
        s.apply(&later);
        s.apply(&shipped);
        let wms = event(serde_json::json!({
            "source": "wms", "event_id": "w", "order_id": "O", "status": "packed",
            "occurred_at": "1999-12-31T23:59:59Z"
        }));
        streams.entry(String::new()).or_default().apply(&wms);
        streams
    }

    #[test]
    fn round_trips_every_field_and_is_compact() {
        let s = sample();
        assert!(s["1Z"].first_shipped_ns.is_some() && s["1Z"].first_delivered_ns.is_some());
        let bytes = encode(&s);
        assert_eq!(decode(&bytes).unwrap(), s);
        let json = serde_json::to_vec(&s).unwrap();
        assert!(
            bytes.len() * 2 < json.len(),
            "{} vs {}",
            bytes.len(),
            json.len()
        );
        // The JSON of earlier versions still reads.
        assert_eq!(decode(&json).unwrap(), s);
        assert_eq!(decode(&encode(&Streams::new())).unwrap(), Streams::new());
    }

    #[test]
    fn states_written_before_the_transit_times_still_decode() {
        // A stream with only a last-event time, as version 1 wrote it before bits 10 and 11:
        // one key-less stream "T", mask LAST_EVENT, zigzag(3) = 6.
        let old = [VERSION, 0, 1, 1, b'T', 0x80, 0x04, 6];
        let streams = decode(&old).unwrap();
        let t = &streams["T"];
        assert_eq!(t.last_event_ns, Some(3));
        assert_eq!((t.first_shipped_ns, t.first_delivered_ns), (None, None));
        assert_eq!(encode(&streams), old);
    }

    #[test]
    fn damage_is_an_error_not_a_panic() {
        let bytes = encode(&sample());
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(decode(&extra).is_err());
        assert!(decode(&[7, 1, 2]).is_err());
        assert!(decode(&[1, 0xff, 0xff, 0xff]).is_err());
    }
}
