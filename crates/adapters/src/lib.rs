//! Vendor formats to canonical events. Every partner speaks its own dialect: carriers' tracking
//! APIs, aggregators' webhooks, EDI X12 214/856 and warehouse systems. Each source is a parser
//! (`sources::*`) that turns one vendor document into [`Observation`]s, vendor codes untouched;
//! [`normalize`] then looks every code up in that source's mapping table (data, in `mappings/`)
//! and builds canonical [`Event`]s.
//!
//! Invariants: no I/O, no clock, no panics on any input. A code that no table knows is never
//! guessed: the event comes out with status `unknown` and the code listed in
//! [`Normalized::unmapped`], so the intake can quarantine it for review and remap it later.

pub mod declarative;
pub mod geo;
mod jsonscan;
mod jsonstr;
pub mod mapping;
pub mod mapping_set;
pub mod observation;
pub mod signature;
pub mod sources;
pub mod timefmt;

pub use mapping::{Mapping, MappingError, MappingTable, ReasonMapping};
pub use mapping_set::MappingSet;
pub use observation::{Normalized, Observation, UnmappedCode, UnmappedKind};
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

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdapterError {
    #[error("{source_name} document: {error}")]
    Parse {
        source_name: &'static str,
        error: ParseError,
    },
    #[error("{source_name} document: event {index}: {message}")]
    Invalid {
        source_name: &'static str,
        index: usize,
        message: String,
    },
}

/// Largest document any source accepts: real tracking responses are a few kB, EDI interchanges
/// and WMS imports a few MB; anything larger is refused before parsing starts.
pub const MAX_DOCUMENT_BYTES: usize = 16 * 1024 * 1024;

/// Parses one vendor document and maps its codes with `table` (the source's table, possibly
/// with a tenant's overrides merged in).
pub fn normalize(
    source: Source,
    doc: &[u8],
    table: &MappingTable,
) -> Result<Vec<Normalized>, AdapterError> {
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
    let observations = source
        .parse(doc)
        .map_err(|error| AdapterError::Parse { source_name, error })?;
    let name = SourceName::new(source_name).map_err(|e| AdapterError::Invalid {
        source_name,
        index: 0,
        message: e.to_string(),
    })?;
    // A plain loop into a vector of the final size: collecting the iterator reused the
    // observations' buffer in place, moving every (large) event once more.
    let mut out = Vec::with_capacity(observations.len());
    for (index, obs) in observations.into_iter().enumerate() {
        let event = obs
            .into_event(&name, table)
            .map_err(|message| AdapterError::Invalid {
                source_name,
                index,
                message,
            })?;
        out.push(event);
    }
    Ok(out)
}
