//! Field types for JSON as real APIs send it, not as their schemas say: a number where a string
//! is documented (`"id": 1234567890`), `null` or a single object where a list is documented, an
//! object where a text was expected. Each type reads what it can and never refuses the document
//! for a field's shape; what cannot be read is absent, and the parser decides whether that makes
//! an event unreadable.
//!
//! [`Each`] keeps the elements of an event list as raw JSON, so each event is read on its own
//! ([`read_each`]): one odd event is reported with its path, and the others still count.

use crate::ParseError;
use serde::de::{
    Deserialize, DeserializeOwned, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// A text field that also takes a number or a boolean (written as JSON would); `null`, an
/// object or a list read as absent. Borrows from the document when it can.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Text<'a>(pub Option<Cow<'a, str>>);

impl<'a> Text<'a> {
    /// The value trimmed, `None` when absent or blank.
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a text, a number or a boolean")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, s: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Some(Cow::Borrowed(s))))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Text<'de>, E> {
                Ok(Text(Some(Cow::Owned(s.to_owned()))))
            }
            fn visit_string<E: serde::de::Error>(self, s: String) -> Result<Text<'de>, E> {
                Ok(Text(Some(Cow::Owned(s))))
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Text<'de>, E> {
                Ok(Text(Some(Cow::Owned(n.to_string()))))
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Text<'de>, E> {
                Ok(Text(Some(Cow::Owned(n.to_string()))))
            }
            fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<Text<'de>, E> {
                // An integral float (`1.0e3`) is a number a system wrote as a float: read as
                // the integer it is, when it fits exactly.
                let s = if n.fract() == 0.0 && n.abs() < 9.0e15 {
                    format!("{}", n as i64)
                } else {
                    n.to_string()
                };
                Ok(Text(Some(Cow::Owned(s))))
            }
            fn visit_bool<E: serde::de::Error>(self, b: bool) -> Result<Text<'de>, E> {
                Ok(Text(Some(Cow::Borrowed(if b { "true" } else { "false" }))))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Text<'de>, E> {
                Ok(Text(None))
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<Text<'de>, E> {
                Ok(Text(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Text<'de>, D::Error> {
                d.deserialize_any(V)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Text<'de>, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Text<'de>, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// A list as vendors send it: an array, a single element where an array is documented, or
/// `null` / absent (empty). An element that does not read fails the field; use [`Each`] for
/// events, where one bad element must not cost the others.
pub fn list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct V<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list, one element, or null")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Vec<T>, A::Error> {
            let mut out = Vec::with_capacity(s.size_hint().unwrap_or(0).min(64));
            while let Some(x) = s.next_element()? {
                out.push(x);
            }
            Ok(out)
        }
        fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<Vec<T>, A::Error> {
            T::deserialize(serde::de::value::MapAccessDeserializer::new(m)).map(|x| vec![x])
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Vec<T>, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Vec<T>, E> {
            // `""` where a list belongs: some APIs write an empty list so.
            Ok(Vec::new())
        }
    }
    d.deserialize_any(V(std::marker::PhantomData))
}

/// The elements of a list of events, each kept as raw JSON to be read on its own with
/// [`read_each`]. Takes what [`list`] takes.
#[derive(Debug, Default)]
pub struct Each<'a>(pub Vec<&'a RawValue>);

impl<'de: 'a, 'a> Deserialize<'de> for Each<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Each<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list, one element, or null")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Each<'de>, A::Error> {
                let mut out = Vec::new();
                while let Some(x) = s.next_element::<&'de RawValue>()? {
                    out.push(x);
                }
                Ok(Each(out))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Each<'de>, E> {
                Ok(Each(Vec::new()))
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<Each<'de>, E> {
                Ok(Each(Vec::new()))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Each<'de>, D::Error> {
                d.deserialize_any(V)
            }
        }
        // A single object where the list belongs: read the value raw, then decide.
        let raw = <&'de RawValue>::deserialize(d)?;
        let text = raw.get().trim_start();
        if text.starts_with('{') {
            return Ok(Each(vec![raw]));
        }
        if text.starts_with('"') {
            return Ok(Each(Vec::new()));
        }
        let mut de = serde_json::Deserializer::from_str(raw.get());
        serde::Deserializer::deserialize_any(&mut de, V).map_err(serde::de::Error::custom)
    }
}

/// Reads each element of `each` as a `T`; an element that does not read is reported in
/// `unreadable` at `path[i]` with serde's reason, and the others are returned with their index.
pub fn read_each<'a, T: Deserialize<'a>>(
    each: &Each<'a>,
    path: &str,
    unreadable: &mut Vec<ParseError>,
) -> Vec<(usize, T)> {
    let mut out = Vec::with_capacity(each.0.len());
    for (i, raw) in each.0.iter().enumerate() {
        match serde_json::from_str::<T>(raw.get()) {
            Ok(t) => out.push((i, t)),
            Err(e) => unreadable.push(ParseError::new(format!("{path}[{i}]"), e.to_string())),
        }
    }
    out
}

/// [`read_each`] for owned types.
pub fn read_each_owned<T: DeserializeOwned>(
    each: &Each<'_>,
    path: &str,
    unreadable: &mut Vec<ParseError>,
) -> Vec<(usize, T)> {
    read_each(each, path, unreadable)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Doc<'a> {
        #[serde(borrow, default)]
        id: Text<'a>,
        #[serde(default, deserialize_with = "list")]
        tags: Vec<String>,
        #[serde(borrow, default)]
        events: Each<'a>,
    }

    #[derive(Deserialize)]
    struct Ev<'a> {
        #[serde(borrow)]
        code: Text<'a>,
        at: String,
    }

    #[test]
    fn texts_take_numbers_and_booleans() {
        for (json, want) in [
            (r#"{"id":"A1"}"#, Some("A1")),
            (r#"{"id":1234567890}"#, Some("1234567890")),
            (r#"{"id":-5}"#, Some("-5")),
            (r#"{"id":1.0e3}"#, Some("1000")),
            (r#"{"id":true}"#, Some("true")),
            (r#"{"id":null}"#, None),
            (r#"{"id":{"x":1}}"#, None),
            (r#"{"id":[1,2]}"#, None),
            (r#"{"id":"  "}"#, None),
            (r#"{}"#, None),
        ] {
            let d: Doc<'_> = serde_json::from_str(json).unwrap();
            assert_eq!(d.id.get(), want, "{json}");
        }
    }

    #[test]
    fn lists_take_one_element_null_and_empty_text() {
        for (json, want) in [
            (r#"{"tags":["a","b"]}"#, vec!["a", "b"]),
            (r#"{"tags":null}"#, vec![]),
            (r#"{"tags":""}"#, vec![]),
            (r#"{}"#, vec![]),
        ] {
            let d: Doc<'_> = serde_json::from_str(json).unwrap();
            assert_eq!(d.tags, want, "{json}");
        }
        #[derive(Deserialize)]
        struct One {
            #[serde(deserialize_with = "list")]
            x: Vec<Ev2>,
        }
        #[derive(Deserialize, Debug, PartialEq)]
        struct Ev2 {
            a: u8,
        }
        let one: One = serde_json::from_str(r#"{"x":{"a":1}}"#).unwrap();
        assert_eq!(one.x, vec![Ev2 { a: 1 }]);
    }

    #[test]
    fn each_event_is_read_on_its_own() {
        let json = r#"{"events":[{"code":"DL","at":"x"},{"code":7},{"code":"OD","at":"y"}]}"#;
        let d: Doc<'_> = serde_json::from_str(json).unwrap();
        let mut bad = Vec::new();
        let evs: Vec<(usize, Ev<'_>)> = read_each(&d.events, "events", &mut bad);
        assert_eq!(evs.len(), 2);
        assert_eq!((evs[1].0, evs[1].1.code.get()), (2, Some("OD")));
        assert_eq!(evs[1].1.at, "y");
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].path, "events[1]");
        assert!(bad[0].message.contains("at"), "{}", bad[0].message);
        let single: Doc<'_> = serde_json::from_str(r#"{"events":{"code":"DL","at":"x"}}"#).unwrap();
        assert_eq!(single.events.0.len(), 1);
        let null: Doc<'_> = serde_json::from_str(r#"{"events":null}"#).unwrap();
        assert!(null.events.0.is_empty());
    }
}
