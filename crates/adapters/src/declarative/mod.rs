//! Carriers as data: a JSON or XML tracking API described in a TOML file, read without any Rust
//! code per carrier. The description says where the shipments and their events are and which
//! fields hold the code, description, time, zone and place; a mapping table
//! (`mappings/<source>.toml`, the same shape as every other source's) gives the codes meaning.
//!
//! ```toml
//! source = "postnl"                         # the name for `--source` and /v1/webhooks/{source}
//! vendor = "PostNL Shipment Status API v2"
//! documentation = "https://developer.postnl.nl/..."
//! format = "json"                           # or "xml"
//! carrier = "postnl"                        # optional: the carrier named on events (default: source)
//! detect = ["CurrentStatus", "CompleteStatus"]   # optional: a document must have one of these
//!
//! [error]                                   # optional: a document that is the vendor's error
//! code = "returnCode"                       # refused when present and not one of `ok`
//! ok = ["200"]
//! message = "returnMessage"
//!
//! [shipment]                                # each shipment in the document
//! path = ["CompleteStatus.Shipment[*]", "CurrentStatus.Shipment[*]"]  # "" or absent: the root
//! tracking_number = ["Barcode", "MainBarcode"]  # candidates: the first present wins
//! order_ref = "Reference"
//! service = "ProductDescription"
//! destination = { city = "Address[AddressType=01].City", country = "Address[AddressType=01].CountryCode" }
//! origin = { ... }                          # same keys as `destination`
//!
//! [event]                                   # each event of a shipment
//! path = ["OldStatus[*]", "Status"]         # relative to the shipment; first that finds any
//! code = ["StatusCode"]                     # the mapping key: the present parts joined by ":"
//! description = "StatusDescription"
//! time = "TimeStamp"                        # or `date = "..."` and `clock = "..."`
//! time_formats = ["%d-%m-%Y %H:%M:%S%.f"]   # tried in order; default ["iso"]
//! offset = "GMTOffset"                      # optional: a field holding the UTC offset
//! zone = "Europe/Amsterdam"                 # optional: the zone the vendor documents
//! location = { city = "...", region = "...", postal_code = "...", country = "..." }
//! event_id = "..."                          # optional: the vendor's id of the event
//! reason_code = "..."                       # optional: a code looked up in the table's [reasons]
//! code_case = "lower"                       # optional: look codes up lower-cased
//! ```
//!
//! Paths (see [`path`]): `a.b[*].c`, `a[0]`, `a[key=value]`, XML `@attr` and `$text`; `[*]`
//! takes a single object where an array is documented; null, missing, `{}` and blank values
//! are absent; numbers and booleans read as text. XML is folded into the same tree as JSON
//! (see [`tree`]). Times (see [`when`]): `"iso"` reads RFC 3339 with an offset in any spelling,
//! ISO without one, and a date alone; any `strptime` pattern may be listed (`%m/%d/%Y %I:%M
//! %p`, `%Y%m%d`); a time without offset takes the `offset` field, else it is a local time
//! ([`crate::observation::LocalTime`]) in the format's `zone`, or, without one, in the zone of
//! the event's place (normalization decides, and says so).
//!
//! Invariants: no panic and bounded work on any document (depth and node caps in [`tree`],
//! paths linear in the tree); an event whose code or time cannot be read is reported in
//! [`Parsed::unreadable`] with its path (`CompleteStatus.Shipment.Event[3].TimeStamp`) and
//! the others are kept; a document is refused only when it is not this format at all.

mod extract;
pub mod path;
mod spec;
pub mod tree;
mod when;

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod tests;

pub use spec::FormatError;

use crate::ParseError;
use spec::{Checker, Compiled, FormatRepr};
use std::fmt;
use std::sync::OnceLock;

pub use crate::Parsed;

/// Whether documents are JSON or XML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    Json,
    Xml,
}

/// A format description, checked and compiled.
pub struct Format {
    pub source: String,
    pub vendor: String,
    pub documentation: String,
    pub syntax: Syntax,
    /// The carrier named on events.
    pub carrier: String,
    compiled: Compiled,
}

impl fmt::Debug for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Format")
            .field("source", &self.source)
            .field("vendor", &self.vendor)
            .field("syntax", &self.syntax)
            .finish_non_exhaustive()
    }
}

impl Format {
    /// Reads a format description; `file` names it in errors.
    pub fn from_toml(file: &str, text: &str) -> Result<Format, FormatError> {
        let repr: FormatRepr = toml::from_str(text).map_err(|e| FormatError::Syntax {
            file: file.to_owned(),
            message: e.to_string().trim().to_owned(),
        })?;
        let check = Checker { file };
        spec::check_source_name(&repr.source).map_err(|m| check.err("source", m))?;
        let syntax = match repr.format.as_str() {
            "json" => Syntax::Json,
            "xml" => Syntax::Xml,
            other => {
                return Err(check.err("format", format!("{other:?}: expected \"json\" or \"xml\"")));
            }
        };
        let compiled = check.compile(&repr)?;
        let carrier = match repr.carrier {
            Some(c) if c.trim().is_empty() => {
                return Err(check.err("carrier", "must not be empty"));
            }
            Some(c) => c,
            None => repr.source.clone(),
        };
        Ok(Format {
            source: repr.source,
            vendor: repr.vendor,
            documentation: repr.documentation,
            syntax,
            carrier,
            compiled,
        })
    }

    /// Reads one document of this format.
    pub fn parse(&self, doc: &[u8]) -> Result<Parsed, ParseError> {
        if doc.len() > crate::MAX_DOCUMENT_BYTES {
            return Err(ParseError::new(
                "",
                format!(
                    "document is {} bytes, the limit is {}",
                    doc.len(),
                    crate::MAX_DOCUMENT_BYTES
                ),
            ));
        }
        let vendor = if self.vendor.is_empty() {
            self.source.as_str()
        } else {
            self.vendor.as_str()
        };
        let kind = match self.syntax {
            Syntax::Json => "JSON",
            Syntax::Xml => "XML",
        };
        let tree = match self.syntax {
            Syntax::Json => tree::from_json(doc),
            Syntax::Xml => tree::from_xml(doc),
        }
        .map_err(|e| ParseError::new(e.at, format!("not {kind}: {}", e.message)))?;
        let inner = match self
            .compiled
            .embedded
            .iter()
            .find_map(|p| p.text(&tree, ""))
        {
            Some((text, at)) => Some(tree::from_json(text.as_bytes()).map_err(|e| {
                ParseError::new(at, format!("not JSON inside ({}): {}", e.at, e.message))
            })?),
            None => None,
        };
        extract::parse(
            &self.compiled,
            vendor,
            &self.carrier,
            inner.as_ref().unwrap_or(&tree),
        )
    }
}

/// The formats shipped with Waypost: `(source, format description, mapping table)`.
const BUILTIN: [(&str, &str, &str); 17] = [
    (
        "postnl",
        include_str!("../../formats/postnl.toml"),
        include_str!("../../mappings/postnl.toml"),
    ),
    (
        "laposte",
        include_str!("../../formats/laposte.toml"),
        include_str!("../../mappings/laposte.toml"),
    ),
    (
        "sendle",
        include_str!("../../formats/sendle.toml"),
        include_str!("../../mappings/sendle.toml"),
    ),
    (
        "postnord",
        include_str!("../../formats/postnord.toml"),
        include_str!("../../mappings/postnord.toml"),
    ),
    (
        "swisspost",
        include_str!("../../formats/swisspost.toml"),
        include_str!("../../mappings/swisspost.toml"),
    ),
    (
        "austrianpost",
        include_str!("../../formats/austrianpost.toml"),
        include_str!("../../mappings/austrianpost.toml"),
    ),
    (
        "correos",
        include_str!("../../formats/correos.toml"),
        include_str!("../../mappings/correos.toml"),
    ),
    (
        "bpost",
        include_str!("../../formats/bpost.toml"),
        include_str!("../../mappings/bpost.toml"),
    ),
    (
        "evri",
        include_str!("../../formats/evri.toml"),
        include_str!("../../mappings/evri.toml"),
    ),
    (
        "tnt",
        include_str!("../../formats/tnt.toml"),
        include_str!("../../mappings/tnt.toml"),
    ),
    (
        "amazon-shipping",
        include_str!("../../formats/amazon-shipping.toml"),
        include_str!("../../mappings/amazon-shipping.toml"),
    ),
    (
        "ontrac",
        include_str!("../../formats/ontrac.toml"),
        include_str!("../../mappings/ontrac.toml"),
    ),
    (
        "sf-express",
        include_str!("../../formats/sf-express.toml"),
        include_str!("../../mappings/sf-express.toml"),
    ),
    (
        "cainiao",
        include_str!("../../formats/cainiao.toml"),
        include_str!("../../mappings/cainiao.toml"),
    ),
    (
        "nz-post",
        include_str!("../../formats/nz-post.toml"),
        include_str!("../../mappings/nz-post.toml"),
    ),
    (
        "dhl-ecommerce",
        include_str!("../../formats/dhl-ecommerce.toml"),
        include_str!("../../mappings/dhl-ecommerce.toml"),
    ),
    (
        "aramex",
        include_str!("../../formats/aramex.toml"),
        include_str!("../../mappings/aramex.toml"),
    ),
];

/// A source described as data: its format and its mapping table (as text, read like every
/// other source's table).
#[derive(Debug)]
pub struct Declared {
    pub format: Format,
    pub table: String,
}

/// The formats shipped with Waypost (`formats/<source>.toml`), parsed once. A shipped file that
/// does not parse is left out here and fails `every_shipped_format_parses` in the tests.
pub fn builtin_formats() -> &'static [Declared] {
    static FORMATS: OnceLock<Vec<Declared>> = OnceLock::new();
    FORMATS.get_or_init(|| {
        BUILTIN
            .iter()
            .filter_map(|(name, text, table)| {
                let format = Format::from_toml(&format!("formats/{name}.toml"), text).ok()?;
                Some(Declared {
                    format,
                    table: (*table).to_owned(),
                })
            })
            .collect()
    })
}

/// A shipped format by its source name.
pub fn builtin_format(source: &str) -> Option<&'static Format> {
    builtin_formats()
        .iter()
        .find(|d| d.format.source == source)
        .map(|d| &d.format)
}

static REGISTERED: OnceLock<Vec<Declared>> = OnceLock::new();

/// Why formats could not be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    #[error("formats can be registered once, before any source is looked up")]
    TooLate,
    #[error("format {0:?} is already a source; name it otherwise")]
    Taken(String),
}

/// Adds formats an operator described (`<formats dir>/<source>.toml` with its table) to the
/// sources, for the life of the process. Once, before the first look-up of a source: the list
/// of sources is fixed from then on.
pub fn register(formats: Vec<Declared>) -> Result<(), RegisterError> {
    let builtin_names = |n: &str| {
        crate::Source::ALL.iter().any(|s| s.name() == n)
            || builtin_formats().iter().any(|d| d.format.source == n)
    };
    let mut seen = std::collections::BTreeSet::new();
    for d in &formats {
        if builtin_names(&d.format.source) || !seen.insert(d.format.source.clone()) {
            return Err(RegisterError::Taken(d.format.source.clone()));
        }
    }
    if SEALED.get().is_some() {
        return Err(RegisterError::TooLate);
    }
    REGISTERED.set(formats).map_err(|_| RegisterError::TooLate)
}

/// Set when the list of sources is first read: registering after that would leave sources
/// some parts of the process know and others do not.
static SEALED: OnceLock<()> = OnceLock::new();

/// Every source described as data: the shipped ones, then the registered ones.
pub fn declared() -> Vec<&'static Declared> {
    let _ = SEALED.set(());
    builtin_formats()
        .iter()
        .chain(REGISTERED.get().map(Vec::as_slice).unwrap_or(&[]))
        .collect()
}

/// The shipped mapping table of a declared source, as text (`mappings/<source>.toml`).
pub fn builtin_table_text(source: &str) -> Option<&'static str> {
    BUILTIN
        .iter()
        .find(|(name, _, _)| *name == source)
        .map(|(_, _, table)| *table)
}
