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
        extract::parse(&self.compiled, vendor, &self.carrier, &tree)
    }
}

/// The formats shipped with Waypost: `(source, format description, mapping table)`.
const BUILTIN: [(&str, &str, &str); 3] = [
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
];

/// The formats shipped with Waypost (`formats/<source>.toml`), parsed once. A shipped file that
/// does not parse is left out here and fails `every_shipped_format_parses` in the tests.
pub fn builtin_formats() -> &'static [Format] {
    static FORMATS: OnceLock<Vec<Format>> = OnceLock::new();
    FORMATS.get_or_init(|| {
        BUILTIN
            .iter()
            .filter_map(|(name, text, _)| {
                Format::from_toml(&format!("formats/{name}.toml"), text).ok()
            })
            .collect()
    })
}

/// A shipped format by its source name.
pub fn builtin_format(source: &str) -> Option<&'static Format> {
    builtin_formats().iter().find(|f| f.source == source)
}

/// The shipped mapping table of a declared source, as text (`mappings/<source>.toml`).
pub fn builtin_table_text(source: &str) -> Option<&'static str> {
    BUILTIN
        .iter()
        .find(|(name, _, _)| *name == source)
        .map(|(_, _, table)| *table)
}
