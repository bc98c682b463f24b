//! A JSON string field that borrows from the document whenever it can. serde gives a plain
//! `Cow<'a, str>` field an owned copy unless the field is exactly `Cow` with `#[serde(borrow)]`,
//! so `Option<Cow<'a, str>>` allocates once per string; this type borrows every string that has
//! no escape in it (almost all of them) and copies only the ones that must be unescaped.

use serde::de::{Deserialize, Deserializer, Error, Visitor};

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

/// `null` read as the field's default: vendors send `null` where they mean an empty list.
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}
use std::borrow::Cow;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Str<'a>(pub Cow<'a, str>);

impl std::ops::Deref for Str<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: Error>(self, s: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(s)))
            }
            fn visit_str<E: Error>(self, s: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E: Error>(self, s: String) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn borrows_plain_strings_and_unescapes_the_rest() {
        let v: Vec<Option<Str<'_>>> =
            serde_json::from_str(r#"["plain","tab\there",null]"#).unwrap();
        assert!(matches!(v[0].as_ref().unwrap().0, Cow::Borrowed("plain")));
        assert_eq!(&*v[1].as_ref().unwrap().0, "tab\there");
        assert!(v[2].is_none());
        assert!(serde_json::from_str::<Str<'_>>("12").is_err());
    }

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
