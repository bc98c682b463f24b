//! Realistic vendor documents for the normalization benchmark, in the shapes of the labelled
//! corpus (`crates/adapters/corpus/<source>/`): the fields the real APIs send, including the ones
//! the parsers skip, because skipping them is part of the cost being measured. Seeded, so two runs
//! measure the same bytes.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use waypost_adapters::Source;

/// Sources with a generator, for `bench --normalize`.
pub const SUPPORTED: [Source; 1] = [Source::Ups];

/// `n` documents of `source`, one JSON text each (no newline inside, so they can be written one
/// per line). `None` for a source with no generator.
pub fn generate(source: Source, n: usize, seed: u64) -> Option<Vec<Vec<u8>>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let make: fn(&mut StdRng, usize) -> Value = match source {
        Source::Ups => ups,
        _ => return None,
    };
    Some(
        (0..n)
            .map(|i| serde_json::to_vec(&make(&mut rng, i)).unwrap_or_default())
            .collect(),
    )
}

struct Place {
    city: &'static str,
    state: &'static str,
    postal: &'static str,
    country: &'static str,
    /// Standard-time UTC offset in hours; the generator does not model DST, UPS states the
    /// offset anyway.
    offset: i32,
}

const fn place(
    city: &'static str,
    state: &'static str,
    postal: &'static str,
    country: &'static str,
    offset: i32,
) -> Place {
    Place {
        city,
        state,
        postal,
        country,
        offset,
    }
}

/// Cities as UPS writes them: some shouting, some not, a few abroad.
const PLACES: [Place; 16] = [
    place("SACRAMENTO", "CA", "95815", "US", -8),
    place("Fremont", "CA", "94538", "US", -8),
    place("LOUISVILLE", "KY", "40209", "US", -5),
    place("Hodgkins", "IL", "60525", "US", -6),
    place("NEWARK", "NJ", "07114", "US", -5),
    place("Atlanta", "GA", "30336", "US", -5),
    place("DALLAS", "TX", "75261", "US", -6),
    place("Salt Lake City", "UT", "84104", "US", -7),
    place("PHOENIX", "AZ", "85043", "US", -7),
    place("Chelmsford", "MA", "01824", "US", -5),
    place("Hartford", "CT", "06101", "US", -5),
    place("SEATTLE", "WA", "98108", "US", -8),
    place("Mississauga", "ON", "L5T 2N7", "CA", -5),
    place("KOELN", "", "51147", "DE", 1),
    place("Tilburg", "", "5048 AR", "NL", 1),
    place("ST. LOUIS", "MO", "63134", "US", -6),
];

const SERVICES: [&str; 5] = [
    "UPS Ground",
    "UPS 2nd Day Air®",
    "UPS Next Day Air®",
    "UPS Worldwide Expedited®",
    "UPS SurePost®",
];

/// The life of a parcel in UPS activities, oldest first: `(type, code, description)`.
const JOURNEY: [(&str, &str, &str); 8] = [
    (
        "M",
        "MP",
        "Shipper created a label, UPS has not received the package yet. ",
    ),
    ("P", "PU", "Pickup Scan "),
    ("I", "OR", "Origin Scan"),
    ("I", "DP", "Departed from Facility"),
    ("I", "AR", "Arrived at Facility"),
    ("I", "YP", "Processing at UPS Facility"),
    ("I", "OT", "Out For Delivery Today"),
    ("D", "FS", "DELIVERED "),
];

const EXCEPTIONS: [(&str, &str); 3] = [
    (
        "WS",
        "Severe weather conditions have delayed delivery. / Your delivery has been rescheduled.",
    ),
    (
        "AD",
        "The address has been corrected. / Delivery will be rescheduled.",
    ),
    (
        "NA",
        "The receiver was not available for delivery. We'll make a second attempt the next business day.",
    ),
];

fn alnum(rng: &mut StdRng, len: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHJKLMNPRSTVWXY0123456789";
    (0..len)
        .map(|_| char::from(CHARS[rng.random_range(0..CHARS.len())]))
        .collect()
}

fn address(p: &Place) -> Value {
    json!({
        "city": p.city,
        "stateProvince": p.state,
        "postalCode": p.postal,
        "countryCode": p.country,
        "country": p.country,
    })
}

/// `(date YYYYMMDD, time HHMMSS, gmtDate, gmtTime hh:mm:ss, gmtOffset)` of a UTC instant in
/// minutes since the Unix epoch, seen from `offset_h`.
fn ups_times(utc_min: i64, offset_h: i32) -> (String, String, String, String, String) {
    let civil = |min: i64| {
        let secs = min * 60;
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        (
            format!("{y:04}{m:02}{d:02}"),
            rem / 3600,
            (rem % 3600) / 60,
            rem % 60,
        )
    };
    let (date, h, mi, s) = civil(utc_min + i64::from(offset_h) * 60);
    let (gdate, gh, gmi, gs) = civil(utc_min);
    let sign = if offset_h < 0 { '-' } else { '+' };
    (
        date,
        format!("{h:02}{mi:02}{s:02}"),
        gdate,
        format!("{gh:02}:{gmi:02}:{gs:02}"),
        format!("{sign}{:02}:00", offset_h.abs()),
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm): the
/// generator only needs this one conversion, done the same way on every platform.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// One UPS Track API response: one shipment, one package, 3 to 8 activities, newest first.
fn ups(rng: &mut StdRng, i: usize) -> Value {
    let tracking = format!(
        "1Z{}{:02}{:08}",
        alnum(rng, 6),
        rng.random_range(0..100),
        i % 100_000_000
    );
    let n = rng.random_range(3..=8usize);
    // A parcel a few hours to days into its life, somewhere in 2024.
    let mut at = 28_401_120 + rng.random_range(0..525_600i64);
    let origin = &PLACES[rng.random_range(0..PLACES.len())];
    let destination = &PLACES[rng.random_range(0..PLACES.len())];
    let exception_at = (rng.random_range(0..10) == 0).then(|| rng.random_range(2..n));
    let mut activities = Vec::with_capacity(n);
    // A prefix of the journey: most documents are of parcels still on their way.
    for (step, &scan) in JOURNEY.iter().enumerate().take(n) {
        at += rng.random_range(20..720);
        let (kind, code, description) = match exception_at {
            Some(x) if x == step => {
                let (c, d) = EXCEPTIONS[rng.random_range(0..EXCEPTIONS.len())];
                ("X", c, d)
            }
            _ => scan,
        };
        let here = match step {
            0..=2 => origin,
            6.. => destination,
            _ => &PLACES[rng.random_range(0..PLACES.len())],
        };
        let (date, time, gmt_date, gmt_time, offset) = ups_times(at, here.offset);
        activities.push(json!({
            "location": { "address": address(here), "slic": format!("{:04}", rng.random_range(0..10_000)) },
            "status": { "type": kind, "description": description, "code": code, "statusCode": "005" },
            "date": date,
            "time": time,
            "gmtDate": gmt_date,
            "gmtOffset": offset,
            "gmtTime": gmt_time,
        }));
    }
    activities.reverse();
    let delivered = exception_at.is_none() && n == JOURNEY.len();
    let mut package = json!({
        "trackingNumber": tracking,
        "deliveryDate": [ { "type": if delivered { "DEL" } else { "SDD" }, "date": "20241120" } ],
        "activity": activities,
        "packageCount": 1,
        "service": { "code": "003", "levelCode": "003", "description": SERVICES[rng.random_range(0..SERVICES.len())] },
        "packageAddress": [
            { "type": "ORIGIN", "name": "ACME OUTDOOR", "address": address(origin) },
            { "type": "DESTINATION", "name": "J SMITH", "address": address(destination) },
        ],
        "currentStatus": { "description": "In Transit", "code": "005", "simplifiedTextDescription": "On the Way" },
        "weight": { "unitOfMeasurement": "LBS", "weight": "4.20" },
    });
    if rng.random_range(0..4) != 0 {
        package["referenceNumber"] =
            json!([ { "type": "SHIPMENT", "number": format!("SO-{}", 100_000 + i) } ]);
    }
    if delivered {
        package["deliveryInformation"] =
            json!({ "location": "Front Door", "receivedBy": "", "signature": null });
    }
    json!({
        "trackResponse": {
            "shipment": [ { "inquiryNumber": tracking, "package": [package], "userRelation": [] } ]
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        let (d, t, gd, gt, o) = ups_times(28_401_120 + 60, -5);
        assert_eq!((d.as_str(), t.as_str()), ("20231231", "200000"));
        assert_eq!(
            (gd.as_str(), gt.as_str(), o.as_str()),
            ("20240101", "01:00:00", "-05:00")
        );
    }

    #[test]
    fn every_generated_document_normalizes_without_unmapped_codes() {
        let table = Source::Ups.builtin_table().unwrap();
        let docs = generate(Source::Ups, 500, 7).unwrap();
        let mut events = 0;
        for d in &docs {
            assert!(!d.contains(&b'\n'));
            let out = waypost_adapters::normalize(Source::Ups, d, &table)
                .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(d)));
            assert!((3..=8).contains(&out.events.len()));
            for n in &out.events {
                assert!(n.unmapped.is_empty(), "{:?}", n.unmapped);
            }
            events += out.events.len();
        }
        assert!(events > 500 * 4);
        assert_eq!(generate(Source::Ups, 3, 7), generate(Source::Ups, 3, 7));
        assert!(generate(Source::Wms, 1, 7).is_none());
    }
}
