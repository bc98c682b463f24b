//! TODO
use super::Read;
pub fn read(_body: &[u8], _source: Option<&str>) -> Read {
    Ok(vec![])
}
