//! Vendor formats to canonical events. Every partner speaks its own dialect: carriers' tracking
//! APIs, aggregators' webhooks, EDI X12 214/856 and warehouse systems. Each source is a parser
//! (`sources::*`) that turns one vendor document into [`Observation`]s, vendor codes untouched;
//! [`normalize`] then looks every code up in that source's mapping table (data, in `mappings/`)
//! and builds canonical [`Event`]s.
//!
//! Invariants: no I/O, no clock, no panics on any input. A code that no table knows is never
//! guessed: the event comes out with status `unknown` and the code listed in
//! [`Normalized::unmapped`], so the intake can quarantine it for review and remap it later.

pub mod classify;
pub mod declarative;
pub mod geo;
mod jsonscan;
mod jsonstr;
pub mod lax;
pub mod mapping;
pub mod mapping_set;
pub mod observation;
pub mod pattern;
pub mod signature;
pub mod sources;
pub mod timefmt;
pub mod zone;

pub use mapping::{MappedBy, Mapping, MappingError, MappingTable, ReasonMapping, Rule, TextRule};
pub use mapping_set::MappingSet;
pub use observation::{
    LocalTime, Normalized, NormalizedDoc, Observation, UnmappedCode, UnmappedKind,
};
pub use sources::{Source, UnknownSource};

use waypost_domain::SourceName;

/// A document that could not be read. `path` says where in it: a JSON path
/// (`trackResponse.shipment[0].package[0].activity[2].date`), an XML element path, or an EDI
/// segment (`segment 7 (AT7)`), so a partner can be told exactly what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ParseError {
    pub path: String,
    pub message: String,
}

impl ParseError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ParseError {
            path: path.into(),
            message: message.into(),
        }
    }

    /// Where serde_json stopped, as the path: a document that is not JSON has no field to name.
    /// `what` names the document expected (`a UPS Track API response`).
    pub fn json(e: &serde_json::Error, what: &str) -> Self {
        ParseError::new(
            format!("line {}, column {}", e.line(), e.column()),
            format!("not {what}: {e}"),
        )
    }
}

/// What a parser read from one document: the events it could read, and where it could not read
/// one (a time it cannot place, a missing code). One odd event never sinks the others: the
/// intake stores what was read and keeps the document, with these paths, for review and replay.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Parsed {
    pub observations: Vec<Observation>,
    pub unreadable: Vec<ParseError>,
}

impl From<Vec<Observation>> for Parsed {
    fn from(observations: Vec<Observation>) -> Self {
        Parsed {
            observations,
            unreadable: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdapterError {
    /// The document as a whole is not of the source's format.
    #[error("{source_name} document: {error}")]
    Parse {
        source_name: &'static str,
        error: ParseError,
    },
    /// The document is of the format, but none of its events could be read.
    #[error(
        "{source_name} document: no event could be read: {}",
        summary(problems)
    )]
    Unreadable {
        source_name: &'static str,
        problems: Vec<ParseError>,
    },
}

/// The first few problems and how many more: a refusal must name where, and stay short.
pub fn summary(problems: &[ParseError]) -> String {
    const SHOWN: usize = 3;
    let mut out = problems
        .iter()
        .take(SHOWN)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    if problems.len() > SHOWN {
        out.push_str(&format!("; and {} more", problems.len() - SHOWN));
    }
    out
}

/// Largest document any source accepts: real tracking responses are a few kB, EDI interchanges
/// and WMS imports a few MB; anything larger is refused before parsing starts.
pub const MAX_DOCUMENT_BYTES: usize = 16 * 1024 * 1024;

/// Parses one vendor document and maps its codes with `table` (the source's table, possibly
/// with a tenant's overrides merged in). Events that cannot be read are listed in
/// [`NormalizedDoc::unreadable`] with their path; the document is refused only when it is not of
/// the format at all, or when it has events and none of them can be read.
pub fn normalize(
    source: Source,
    doc: &[u8],
    table: &MappingTable,
) -> Result<NormalizedDoc, AdapterError> {
    let source_name = source.name();
    if doc.len() > MAX_DOCUMENT_BYTES {
        return Err(AdapterError::Parse {
            source_name,
            error: ParseError::new(
                "",
                format!(
                    "document is {} bytes, the limit is {MAX_DOCUMENT_BYTES}",
                    doc.len()
                ),
            ),
        });
    }
    let Parsed {
        observations,
        mut unreadable,
    } = source
        .parse(doc)
        .map_err(|error| AdapterError::Parse { source_name, error })?;
    let name = SourceName::new(source_name).map_err(|e| AdapterError::Parse {
        source_name,
        error: ParseError::new("(source name)", e.to_string()),
    })?;
    // A plain loop into a vector of the final size: collecting the iterator reused the
    // observations' buffer in place, moving every (large) event once more.
    let mut events = Vec::with_capacity(observations.len());
    for (index, obs) in observations.into_iter().enumerate() {
        match obs.into_event(&name, table) {
            Ok(event) => events.push(event),
            Err(message) => unreadable.push(ParseError::new(format!("event {index}"), message)),
        }
    }
    if events.is_empty() && !unreadable.is_empty() {
        return Err(AdapterError::Unreadable {
            source_name,
            problems: unreadable,
        });
    }
    Ok(NormalizedDoc { events, unreadable })
}
