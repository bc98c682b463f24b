//! TODO
use super::Read;
pub fn read(_o: &[u8], _p: &[u8], _s: &[u8], _store: Option<&str>) -> Read {
    Ok(vec![])
}
