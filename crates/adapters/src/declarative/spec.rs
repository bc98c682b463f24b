//! Format descriptions: the TOML file read, checked, and compiled into paths and time formats.
//! Every problem is reported with the file and the key it is about, so a contributor can fix a
//! description without reading Rust.

use super::path::Path;
use serde::Deserialize;

/// A format description that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// Not TOML, or a key the description does not know (the message names it).
    #[error("format {file}: {message}")]
    Syntax { file: String, message: String },
    /// A key with a value that cannot be used.
    #[error("format {file}: {key}: {message}")]
    Invalid {
        file: String,
        key: String,
        message: String,
    },
}

/// One path or several candidates, as written in the file (`"a.b"` or `["a.b", "c"]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(super) enum Paths {
    One(String),
    Many(Vec<String>),
}

impl Paths {
    fn list(&self) -> Vec<&str> {
        match self {
            Paths::One(p) => vec![p.as_str()],
            Paths::Many(ps) => ps.iter().map(String::as_str).collect(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FormatRepr {
    pub source: String,
    #[serde(default)]
    pub vendor: String,
    #[serde(default)]
    pub documentation: String,
    pub format: String,
    #[serde(default)]
    pub carrier: Option<String>,
    #[serde(default)]
    pub detect: Vec<String>,
    /// A member whose text is itself a JSON document (an answer wrapped as a string in the
    /// vendor's envelope): when present, that document is read in place of the envelope.
    #[serde(default)]
    pub embedded: Option<Paths>,
    #[serde(default)]
    pub error: Option<ErrorRepr>,
    pub shipment: ShipmentRepr,
    pub event: EventRepr,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ErrorRepr {
    pub code: Paths,
    #[serde(default)]
    pub ok: Vec<String>,
    #[serde(default)]
    pub message: Option<Paths>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ShipmentRepr {
    #[serde(default)]
    pub path: Option<Paths>,
    #[serde(default)]
    pub tracking_number: Option<Paths>,
    #[serde(default)]
    pub order_ref: Option<Paths>,
    #[serde(default)]
    pub service: Option<Paths>,
    #[serde(default)]
    pub origin: Option<PlaceRepr>,
    #[serde(default)]
    pub destination: Option<PlaceRepr>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EventRepr {
    pub path: Paths,
    pub code: Paths,
    #[serde(default)]
    pub description: Option<Paths>,
    #[serde(default)]
    pub time: Option<Paths>,
    #[serde(default)]
    pub date: Option<Paths>,
    #[serde(default)]
    pub clock: Option<Paths>,
    #[serde(default)]
    pub time_formats: Vec<String>,
    #[serde(default)]
    pub offset: Option<Paths>,
    #[serde(default)]
    pub zone: Option<String>,
    #[serde(default)]
    pub location: Option<PlaceRepr>,
    #[serde(default)]
    pub event_id: Option<Paths>,
    #[serde(default)]
    pub code_case: Option<String>,
    #[serde(default)]
    pub reason_code: Option<Paths>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PlaceRepr {
    #[serde(default)]
    pub city: Option<Paths>,
    #[serde(default)]
    pub region: Option<Paths>,
    #[serde(default)]
    pub postal_code: Option<Paths>,
    #[serde(default)]
    pub country: Option<Paths>,
    /// One field naming the place as text, `JOHANNESBURG, South Africa`, `Memphis, TN, US`:
    /// read for the parts the fields above do not give.
    #[serde(default)]
    pub text: Option<Paths>,
    /// The country the vendor's documentation implies when the document names none (a
    /// carrier that serves one country).
    #[serde(default)]
    pub default_country: Option<String>,
}

/// Candidates: the first that yields a value wins.
pub(super) type Candidates = Vec<Path>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Place {
    pub city: Candidates,
    pub region: Candidates,
    pub postal_code: Candidates,
    pub country: Candidates,
    pub text: Candidates,
    pub default_country: Option<String>,
}

/// One way of writing a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TimeFormat {
    /// RFC 3339 / ISO 8601 with an offset in any spelling, without one, or a date alone.
    Iso,
    /// A `strptime` pattern. `offset`: it reads an offset (`%z`); `date_only`: no clock in it.
    Pattern {
        pattern: String,
        offset: bool,
        date_only: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TimeSource {
    /// One field holds the whole time.
    Whole(Candidates),
    /// A date field and an optional clock field, read as `"<date> <clock>"`.
    Split { date: Candidates, clock: Candidates },
}

/// Parts of a format, compiled. See [`super::Format`].
pub(super) struct Compiled {
    pub detect: Vec<Path>,
    pub embedded: Candidates,
    pub error: Option<(Candidates, Vec<String>, Candidates)>,
    pub shipment_path: Candidates,
    pub tracking_number: Candidates,
    pub order_ref: Candidates,
    pub service: Candidates,
    pub origin: Option<Place>,
    pub destination: Option<Place>,
    pub event_path: Candidates,
    pub code: Vec<Path>,
    pub description: Candidates,
    pub time: TimeSource,
    pub time_formats: Vec<TimeFormat>,
    pub offset: Candidates,
    pub zone: Option<String>,
    pub location: Option<Place>,
    pub event_id: Candidates,
    /// Lower-case the mapping key (a vendor that spells one code in several cases).
    pub lower_code: bool,
    /// A second code looked up in the table's `[reasons]`.
    pub reason_code: Candidates,
}

pub(super) struct Checker<'f> {
    pub file: &'f str,
}

impl Checker<'_> {
    pub fn err(&self, key: &str, message: impl Into<String>) -> FormatError {
        FormatError::Invalid {
            file: self.file.to_owned(),
            key: key.to_owned(),
            message: message.into(),
        }
    }

    pub fn paths(&self, key: &str, p: Option<&Paths>) -> Result<Candidates, FormatError> {
        let Some(p) = p else {
            return Ok(Vec::new());
        };
        let list = p.list();
        if list.len() > 16 {
            return Err(self.err(key, "at most 16 candidates"));
        }
        list.into_iter()
            .map(|s| Path::parse(s).map_err(|m| self.err(key, m)))
            .collect()
    }

    fn required(&self, key: &str, p: Option<&Paths>) -> Result<Candidates, FormatError> {
        let c = self.paths(key, p)?;
        if c.is_empty() || c.iter().any(|p| p.as_str().is_empty()) {
            return Err(self.err(key, "needs a non-empty path"));
        }
        Ok(c)
    }

    fn place(&self, key: &str, p: Option<&PlaceRepr>) -> Result<Option<Place>, FormatError> {
        let Some(p) = p else { return Ok(None) };
        Ok(Some(Place {
            city: self.paths(&format!("{key}.city"), p.city.as_ref())?,
            region: self.paths(&format!("{key}.region"), p.region.as_ref())?,
            postal_code: self.paths(&format!("{key}.postal_code"), p.postal_code.as_ref())?,
            country: self.paths(&format!("{key}.country"), p.country.as_ref())?,
            text: self.paths(&format!("{key}.text"), p.text.as_ref())?,
            default_country: match &p.default_country {
                Some(c) if crate::geo::country_code(c).is_none() => {
                    return Err(self.err(
                        &format!("{key}.default_country"),
                        format!("{c:?} is not a country"),
                    ));
                }
                c => c.clone(),
            },
        }))
    }

    fn time_format(&self, i: usize, f: &str) -> Result<TimeFormat, FormatError> {
        let key = format!("event.time_formats[{i}]");
        if f == "iso" || f == "rfc3339" {
            return Ok(TimeFormat::Iso);
        }
        if !f.contains('%') || f.len() > 64 {
            return Err(self.err(
                &key,
                format!(
                    "{f:?} is neither \"iso\" nor a strptime pattern such as \"%d-%m-%Y %H:%M:%S\""
                ),
            ));
        }
        let has = |ds: &[&str]| ds.iter().any(|d| f.contains(d));
        if !has(&["%Y", "%y", "%F", "%D"]) || !has(&["%d", "%e", "%F", "%D", "%j"]) {
            return Err(self.err(&key, format!("{f:?} has no full date (year and day)")));
        }
        let offset = has(&["%z", "%:z", "%::z", "%Q"]);
        let date_only = !has(&["%H", "%I", "%k", "%l", "%T", "%R", "%r", "%c"]);
        // A pattern jiff cannot write cannot be read either: try it on a sample.
        let sample = jiff::civil::date(2024, 10, 27)
            .at(14, 5, 9, 0)
            .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(1)))
            .map_err(|e| self.err(&key, e.to_string()))?;
        let written = jiff::fmt::strtime::format(f, &sample)
            .map_err(|e| self.err(&key, format!("{f:?}: {e}")))?;
        jiff::fmt::strtime::parse(f, &written).map_err(|e| {
            self.err(
                &key,
                format!("{f:?} does not read back what it writes: {e}"),
            )
        })?;
        Ok(TimeFormat::Pattern {
            pattern: f.to_owned(),
            offset,
            date_only,
        })
    }

    pub fn compile(&self, r: &FormatRepr) -> Result<Compiled, FormatError> {
        let detect = r
            .detect
            .iter()
            .enumerate()
            .map(|(i, s)| Path::parse(s).map_err(|m| self.err(&format!("detect[{i}]"), m)))
            .collect::<Result<Vec<_>, _>>()?;
        let error = match &r.error {
            None => None,
            Some(e) => Some((
                self.required("error.code", Some(&e.code))?,
                e.ok.clone(),
                self.paths("error.message", e.message.as_ref())?,
            )),
        };
        let shipment_path = match &r.shipment.path {
            None => vec![Path::parse("").map_err(|m| self.err("shipment.path", m))?],
            Some(p) => self.paths("shipment.path", Some(p))?,
        };
        let s = &r.shipment;
        let e = &r.event;
        let code = self.required("event.code", Some(&e.code))?;
        if code.len() > 4 {
            return Err(self.err("event.code", "at most 4 parts"));
        }
        let time = match (&e.time, &e.date, &e.clock) {
            (Some(t), None, None) => TimeSource::Whole(self.required("event.time", Some(t))?),
            (None, Some(d), c) => TimeSource::Split {
                date: self.required("event.date", Some(d))?,
                clock: self.paths("event.clock", c.as_ref())?,
            },
            (None, None, _) => {
                return Err(self.err(
                    "event.time",
                    "an event needs `time`, or `date` (with an optional `clock`)",
                ));
            }
            (Some(_), _, _) => {
                return Err(self.err(
                    "event.time",
                    "give either `time` or `date`/`clock`, not both",
                ));
            }
        };
        let mut time_formats = e
            .time_formats
            .iter()
            .enumerate()
            .map(|(i, f)| self.time_format(i, f))
            .collect::<Result<Vec<_>, _>>()?;
        if time_formats.is_empty() {
            time_formats.push(TimeFormat::Iso);
        }
        if let Some(z) = &e.zone
            && jiff::tz::TimeZone::get(z).is_err()
        {
            return Err(self.err("event.zone", format!("{z:?} is not an IANA time zone")));
        }
        Ok(Compiled {
            detect,
            embedded: self.paths("embedded", r.embedded.as_ref())?,
            error,
            shipment_path,
            tracking_number: self.paths("shipment.tracking_number", s.tracking_number.as_ref())?,
            order_ref: self.paths("shipment.order_ref", s.order_ref.as_ref())?,
            service: self.paths("shipment.service", s.service.as_ref())?,
            origin: self.place("shipment.origin", s.origin.as_ref())?,
            destination: self.place("shipment.destination", s.destination.as_ref())?,
            event_path: {
                let p = self.paths("event.path", Some(&e.path))?;
                if p.is_empty() {
                    return Err(self.err("event.path", "needs at least one path"));
                }
                p
            },
            code,
            description: self.paths("event.description", e.description.as_ref())?,
            time,
            time_formats,
            offset: self.paths("event.offset", e.offset.as_ref())?,
            zone: e.zone.clone(),
            location: self.place("event.location", e.location.as_ref())?,
            event_id: self.paths("event.event_id", e.event_id.as_ref())?,
            reason_code: self.paths("event.reason_code", e.reason_code.as_ref())?,
            lower_code: match e.code_case.as_deref() {
                None | Some("as-is") => false,
                Some("lower") => true,
                Some(other) => {
                    return Err(self.err(
                        "event.code_case",
                        format!("{other:?}: expected \"lower\" or \"as-is\""),
                    ));
                }
            },
        })
    }
}

/// A source name as used in URLs and on the command line: lower case letters, digits and `-`.
pub(super) fn check_source_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-');
    if !ok {
        return Err(format!(
            "{name:?} is not a source name (1-32 of a-z, 0-9 and '-')"
        ));
    }
    if crate::Source::ALL.iter().any(|s| s.name() == name) {
        return Err(format!("{name:?} is a built-in source"));
    }
    Ok(())
}
