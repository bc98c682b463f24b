//! australiapost: not yet written.

use crate::{Observation, ParseError};

pub fn parse(_doc: &[u8]) -> Result<Vec<Observation>, ParseError> {
    Err(ParseError::new(
        "",
        "the australiapost adapter is not written yet",
    ))
}
