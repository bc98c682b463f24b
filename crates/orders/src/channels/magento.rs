//! TODO
use super::Read;
pub fn read(_body: &[u8], _base: Option<&str>) -> Read {
    Ok(vec![])
}
