//! The UPS document read without serde: the same borrowed types, filled by
//! [`crate::jsonscan`]. serde_json took half the time of normalizing a UPS document, most of it
//! in per-field machinery (a visitor, an `Option` layer and a key match per string) rather than
//! in reading JSON; this reads the common shape in one pass. Anything unusual (an error
//! response, an escaped key, a field of an unexpected type or given twice) returns `None` and
//! the document goes through serde_json as before, so errors and edge cases are decided there.

use super::{
    Activity, ActivityLocation, Address, DeliveryDate, DeliveryInformation, Doc, Package,
    PackageAddress, ReferenceNumber, Service, Shipment, Status, Text, TrackResponse,
};
use crate::jsonscan::{Cursor, Fast, fields};
use crate::jsonstr::Str;

/// The document, or `None` when serde_json must decide.
pub(super) fn doc(text: &str) -> Fast<Doc<'_>> {
    let mut c = Cursor::new(text);
    let mut track_response = None;
    // `response` (UPS's error body) is left to serde_json: rare, and its errors are reported.
    fields(
        &mut c,
        |k| match k {
            "trackResponse" => Some(0),
            "response" => Some(1),
            _ => None,
        },
        |c, i| match i {
            0 => {
                track_response = opt(c, track)?;
                Some(())
            }
            _ => None,
        },
    )?;
    c.end()?;
    // Without a track response the document is refused; serde_json words the refusal.
    Some(Doc {
        track_response: Some(track_response?),
        response: None,
    })
}

/// `null` or a string.
fn text<'a>(c: &mut Cursor<'a>) -> Fast<Text<'a>> {
    if c.null()? {
        return Some(None);
    }
    Some(Some(Str(c.string()?)))
}

/// `Option<T>`: `null` is `None`.
fn opt<'a, T>(c: &mut Cursor<'a>, read: fn(&mut Cursor<'a>) -> Fast<T>) -> Fast<Option<T>> {
    if c.null()? {
        return Some(None);
    }
    read(c).map(Some)
}

/// A list where `null` means empty, as `null_default` reads it.
fn list<'a, T>(c: &mut Cursor<'a>, read: fn(&mut Cursor<'a>) -> Fast<T>) -> Fast<Vec<T>> {
    let mut out = Vec::new();
    if c.null()? {
        return Some(out);
    }
    c.array(|c| {
        out.push(read(c)?);
        Some(())
    })?;
    Some(out)
}

fn track<'a>(c: &mut Cursor<'a>) -> Fast<TrackResponse<'a>> {
    let mut shipment = Vec::new();
    fields(
        c,
        |k| (k == "shipment").then_some(0),
        |c, _| {
            shipment = list(c, self::shipment)?;
            Some(())
        },
    )?;
    Some(TrackResponse { shipment })
}

fn shipment<'a>(c: &mut Cursor<'a>) -> Fast<Shipment<'a>> {
    let (mut inquiry_number, mut package) = (None, Vec::new());
    fields(
        c,
        |k| match k {
            "inquiryNumber" => Some(0),
            "package" => Some(1),
            _ => None,
        },
        |c, i| {
            match i {
                0 => inquiry_number = text(c)?,
                _ => package = list(c, self::package)?,
            }
            Some(())
        },
    )?;
    Some(Shipment {
        inquiry_number,
        package,
    })
}

fn package<'a>(c: &mut Cursor<'a>) -> Fast<Package<'a>> {
    let mut p = Package {
        tracking_number: None,
        // Most histories are a handful of scans: one allocation instead of growing twice.
        activity: Vec::with_capacity(8),
        delivery_date: Vec::new(),
        reference_number: Vec::new(),
        service: None,
        package_address: Vec::new(),
        delivery_information: None,
    };
    let field = |k: &str| match k {
        "trackingNumber" => Some(0),
        "activity" => Some(1),
        "deliveryDate" => Some(2),
        "referenceNumber" => Some(3),
        "service" => Some(4),
        "packageAddress" => Some(5),
        "deliveryInformation" => Some(6),
        _ => None,
    };
    fields(c, field, |c, i| {
        match i {
            0 => p.tracking_number = text(c)?,
            1 => {
                if !c.null()? {
                    // Filled where it lies: an activity is a few hundred bytes, and most of a
                    // document.
                    c.array(|c| {
                        p.activity.push(Activity {
                            date: None,
                            time: None,
                            gmt_date: None,
                            gmt_time: None,
                            gmt_offset: None,
                            location: None,
                            status: None,
                        });
                        activity(c, p.activity.last_mut()?)
                    })?;
                }
            }
            2 => p.delivery_date = list(c, delivery_date)?,
            3 => p.reference_number = list(c, reference_number)?,
            4 => p.service = opt(c, service)?,
            5 => p.package_address = list(c, package_address)?,
            _ => p.delivery_information = opt(c, delivery_information)?,
        }
        Some(())
    })?;
    Some(p)
}

fn activity<'a>(c: &mut Cursor<'a>, a: &mut Activity<'a>) -> Fast<()> {
    let field = |k: &str| match k {
        "date" => Some(0),
        "time" => Some(1),
        "gmtDate" => Some(2),
        "gmtTime" => Some(3),
        "gmtOffset" => Some(4),
        "location" => Some(5),
        "status" => Some(6),
        _ => None,
    };
    fields(c, field, |c, i| {
        match i {
            0 => a.date = text(c)?,
            1 => a.time = text(c)?,
            2 => a.gmt_date = text(c)?,
            3 => a.gmt_time = text(c)?,
            4 => a.gmt_offset = text(c)?,
            5 => a.location = opt(c, activity_location)?,
            _ => a.status = opt(c, status)?,
        }
        Some(())
    })
}

fn activity_location<'a>(c: &mut Cursor<'a>) -> Fast<ActivityLocation<'a>> {
    let mut address = None;
    fields(
        c,
        |k| (k == "address").then_some(0),
        |c, _| {
            address = opt(c, self::address)?;
            Some(())
        },
    )?;
    Some(ActivityLocation { address })
}

fn address<'a>(c: &mut Cursor<'a>) -> Fast<Address<'a>> {
    let mut a = Address {
        city: None,
        state_province: None,
        postal_code: None,
        country_code: None,
        country: None,
    };
    let field = |k: &str| match k {
        "city" => Some(0),
        "stateProvince" => Some(1),
        "postalCode" => Some(2),
        "countryCode" => Some(3),
        "country" => Some(4),
        _ => None,
    };
    fields(c, field, |c, i| {
        let t = text(c)?;
        match i {
            0 => a.city = t,
            1 => a.state_province = t,
            2 => a.postal_code = t,
            3 => a.country_code = t,
            _ => a.country = t,
        }
        Some(())
    })?;
    Some(a)
}

fn status<'a>(c: &mut Cursor<'a>) -> Fast<Status<'a>> {
    let mut s = Status {
        kind: None,
        code: None,
        description: None,
    };
    fields(
        c,
        |k| match k {
            "type" => Some(0),
            "code" => Some(1),
            "description" => Some(2),
            _ => None,
        },
        |c, i| {
            let t = text(c)?;
            match i {
                0 => s.kind = t,
                1 => s.code = t,
                _ => s.description = t,
            }
            Some(())
        },
    )?;
    Some(s)
}

fn delivery_date<'a>(c: &mut Cursor<'a>) -> Fast<DeliveryDate<'a>> {
    let mut d = DeliveryDate {
        kind: None,
        date: None,
    };
    fields(
        c,
        |k| match k {
            "type" => Some(0),
            "date" => Some(1),
            _ => None,
        },
        |c, i| {
            let t = text(c)?;
            match i {
                0 => d.kind = t,
                _ => d.date = t,
            }
            Some(())
        },
    )?;
    Some(d)
}

fn reference_number<'a>(c: &mut Cursor<'a>) -> Fast<ReferenceNumber<'a>> {
    let mut number = None;
    fields(
        c,
        |k| (k == "number").then_some(0),
        |c, _| {
            number = text(c)?;
            Some(())
        },
    )?;
    Some(ReferenceNumber { number })
}

fn service<'a>(c: &mut Cursor<'a>) -> Fast<Service<'a>> {
    let mut description = None;
    fields(
        c,
        |k| (k == "description").then_some(0),
        |c, _| {
            description = text(c)?;
            Some(())
        },
    )?;
    Some(Service { description })
}

fn package_address<'a>(c: &mut Cursor<'a>) -> Fast<PackageAddress<'a>> {
    let (mut kind, mut address) = (None, None);
    fields(
        c,
        |k| match k {
            "type" => Some(0),
            "address" => Some(1),
            _ => None,
        },
        |c, i| {
            match i {
                0 => kind = text(c)?,
                _ => address = opt(c, self::address)?,
            }
            Some(())
        },
    )?;
    Some(PackageAddress { kind, address })
}

fn delivery_information<'a>(c: &mut Cursor<'a>) -> Fast<DeliveryInformation<'a>> {
    let (mut received_by, mut location) = (None, None);
    fields(
        c,
        |k| match k {
            "receivedBy" => Some(0),
            "location" => Some(1),
            _ => None,
        },
        |c, i| {
            let t = text(c)?;
            match i {
                0 => received_by = t,
                _ => location = t,
            }
            Some(())
        },
    )?;
    Some(DeliveryInformation {
        received_by,
        location,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::jsonstr::from_json;

    /// The fast path's one obligation: when it reads a document, serde_json reads the same.
    /// Returns whether the fast path took it.
    fn agrees(d: &[u8]) -> bool {
        let Some(fast) = std::str::from_utf8(d).ok().and_then(doc) else {
            return false;
        };
        let slow = from_json::<Doc<'_>>(d);
        assert_eq!(
            Some(&fast),
            slow.as_ref().ok(),
            "{}",
            String::from_utf8_lossy(d)
        );
        true
    }

    fn corpus() -> Vec<Vec<u8>> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut docs = Vec::new();
        for dir in ["corpus/ups", "corpus/ups/synthetic", "fuzz/corpus/ups"] {
            let mut paths: Vec<_> = std::fs::read_dir(root.join(dir))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect();
            paths.sort();
            docs.extend(paths.iter().map(|p| std::fs::read(p).unwrap()));
        }
        assert!(docs.len() >= 9);
        docs
    }

    #[test]
    fn reads_what_serde_reads() {
        let mut taken = 0;
        for d in corpus() {
            taken += usize::from(agrees(&d));
        }
        // All but the error response take the fast path.
        assert!(taken >= 16, "{taken}");
        for d in [
            r#"{"trackResponse":{"shipment":null}}"#,
            r#"{"trackResponse":{"shipment":[{"package":null,"x":[1,{"y":null}]}]}}"#,
            r#" {"trackResponse" : {"shipment":[{"package":[{"activity":null,"service":{},"deliveryInformation":null}]}]}} "#,
            r#"{"trackResponse":{"shipment":[{"package":[{"activity":[{"status":null,"location":{"address":null}}]}]}]}}"#,
            r#"{"x":true,"trackResponse":{"shipment":[]},"y":-1.5e3}"#,
        ] {
            assert!(agrees(d.as_bytes()), "{d}");
        }
    }

    /// The document as a serializer that escapes everything it may would write it: non-ASCII
    /// characters as `\\u` escapes, `/` as `\\/`, and (as a stand-in for any escaped letter)
    /// `Z` as `\\u005A`.
    fn escaped(d: &[u8]) -> Vec<u8> {
        let mut out = String::new();
        for ch in String::from_utf8_lossy(d).chars() {
            match ch {
                '/' => out.push_str("\\/"),
                'Z' => out.push_str("\\u005A"),
                c if !c.is_ascii() && u32::from(c) <= 0xffff => {
                    out.push_str(&format!("\\u{:04x}", u32::from(c)));
                }
                c => out.push(c),
            }
        }
        out.into_bytes()
    }

    #[test]
    fn reads_escaped_strings_as_serde_does() {
        let (mut with_escapes, mut taken) = (0, 0);
        for d in corpus() {
            let e = escaped(&d);
            if e.contains(&b'\\') && agrees(&e) {
                taken += 1;
            }
            with_escapes += usize::from(e.contains(&b'\\'));
        }
        assert!(with_escapes >= 14 && taken >= 14, "{with_escapes} {taken}");
    }

    #[test]
    fn leaves_to_serde_what_it_does_not_handle() {
        for d in [
            r#"{"response":{"errors":[]},"trackResponse":{"shipment":[]}}"#,
            r#"{"trackResponse":null}"#,
            r#"{}"#,
            r#"{"trackResponse":{"shipment":[],"shipment":[]}}"#,
            r#"{"trackResponse":{"shipment":[{"inquiry\u004eumber":"1Z"}]}}"#,
            r#"{"trackResponse":{"shipment":[{"inquiryNumber":"1Z\ud83d\ude00"}]}}"#,
            r#"{"trackResponse":{"shipment":[{"inquiryNumber":7}]}}"#,
            r#"{"trackResponse":{"shipment":[{"package":{}}]}}"#,
            r#"{"trackResponse":["x"]}"#,
            r#"{"trackResponse":{"shipment":[]}} x"#,
        ] {
            assert!(
                std::str::from_utf8(d.as_bytes())
                    .ok()
                    .and_then(doc)
                    .is_none(),
                "{d}"
            );
        }
    }

    /// Every corpus document broken in many small ways: truncated, a byte deleted, a token
    /// inserted, a string replaced by another value. Whatever the fast path accepts must read
    /// as serde_json reads it.
    #[test]
    fn agrees_with_serde_on_mutated_documents() {
        const TOKENS: [&str; 19] = [
            "null", ",", "\"x\"", "1", "{}", "[]", "}", "]", ":", "\"\\n\"", "01", "\"a\":1,",
            "\\", "\\u00e9", "\\ud800", "\\\"", "\\u0022", "\\u12", "\\x",
        ];
        let (mut tried, mut taken) = (0usize, 0usize);
        let mut check = |d: &[u8]| {
            tried += 1;
            taken += usize::from(agrees(d));
        };
        let docs = corpus();
        for d in docs
            .iter()
            .take(9)
            .chain(&[escaped(&docs[0]), escaped(&docs[2])])
        {
            for i in (0..d.len()).step_by(2) {
                check(&d[..i]);
                check(&[&d[..i], &d[i + 1..]].concat());
                let t = TOKENS[i % TOKENS.len()].as_bytes();
                check(&[&d[..i], t, &d[i..]].concat());
            }
            let quotes: Vec<usize> = (0..d.len()).filter(|&i| d[i] == b'"').collect();
            for (n, span) in quotes.chunks_exact(2).enumerate() {
                let t = TOKENS[n % TOKENS.len()].as_bytes();
                check(&[&d[..span[0]], t, &d[span[1] + 1..]].concat());
            }
        }
        assert!(tried > 10_000 && taken > 100, "{tried} {taken}");
    }
}
