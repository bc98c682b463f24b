//! Small helpers for reading vendor JSON: trimmed text, whole documents read as `str`, `null`
//! lists. (Tolerant field types live in [`crate::lax`].)

use serde::de::Deserialize;

/// A present, non-blank string field, trimmed.
pub(crate) fn text<S: std::ops::Deref<Target = str>>(t: &Option<S>) -> Option<&str> {
    t.as_deref().map(trim).filter(|s| !s.is_empty())
}

/// `str::trim`, without decoding characters when both ends are visible ASCII (almost every
/// field): those are never white space, so there is nothing to trim.
pub(crate) fn trim(s: &str) -> &str {
    match s.as_bytes() {
        [first, .., last] if first.is_ascii_graphic() && last.is_ascii_graphic() => s,
        [only] if only.is_ascii_graphic() => s,
        _ => s.trim(),
    }
}

/// A whole document parsed into borrowed types. A valid UTF-8 document (every real one) is
/// checked once and read as `str`, which spares serde_json a UTF-8 check per string and per key;
/// anything else takes `from_slice`, so it fails, or is accepted, exactly as before.
pub(crate) fn from_json<'a, T: Deserialize<'a>>(doc: &'a [u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(doc) {
        Ok(s) => serde_json::from_str(s),
        Err(_) => serde_json::from_slice(doc),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn trim_is_str_trim() {
        for s in [
            "",
            " ",
            "a",
            " a",
            "a ",
            "ab",
            "a b",
            "\u{a0}a",
            "a\u{3000}",
            "é",
            " é ",
            "\ta\n",
            "~x!",
        ] {
            assert_eq!(trim(s), s.trim(), "{s:?}");
        }
    }
}
