//! Lenient JSON pieces for the aggregators' documents (EasyPost, AfterShip, Shippo), whose real
//! responses bend their own schemas: a text field arrives as a number or a bool, an object where
//! text was expected, `null` or a single object where a list is documented.
//!
//! [`List`] and [`Obj`] never fail on a well-formed JSON value (unlike `lax::list`, which fails
//! the field on one bad element): the aggregators' event types are made only of tolerant fields,
//! so each event always deserializes and its own checks decide whether it is readable, and one odd
//! field cannot sink the event, let alone the document.

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::marker::PhantomData;

/// A text field: a string, a number or a bool written out; `null`, an object or an array are
/// read as absent (the crate's tolerant text).
pub(crate) use crate::lax::Text as Lax;

/// A documented list: an array, or `null` (empty), or one object standing for a list of one.
/// Anything else (a string, a number) is read as empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct List<T>(pub Vec<T>);

impl<T> Default for List<T> {
    fn default() -> Self {
        List(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = List<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list, one object or null")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<List<T>, A::Error> {
                let mut out = Vec::with_capacity(a.size_hint().unwrap_or(0).min(256));
                while let Some(x) = a.next_element()? {
                    out.push(x);
                }
                Ok(List(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, a: A) -> Result<List<T>, A::Error> {
                let one = T::deserialize(serde::de::value::MapAccessDeserializer::new(a))?;
                Ok(List(vec![one]))
            }
            fn visit_unit<E>(self) -> Result<List<T>, E> {
                Ok(List(Vec::new()))
            }
            fn visit_none<E>(self) -> Result<List<T>, E> {
                Ok(List(Vec::new()))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<List<T>, D::Error> {
                d.deserialize_any(V(PhantomData))
            }
            fn visit_str<E>(self, _: &str) -> Result<List<T>, E> {
                Ok(List(Vec::new()))
            }
            fn visit_bool<E>(self, _: bool) -> Result<List<T>, E> {
                Ok(List(Vec::new()))
            }
            fn visit_i64<E>(self, _: i64) -> Result<List<T>, E> {
                Ok(List(Vec::new()))
            }
            fn visit_u64<E>(self, _: u64) -> Result<List<T>, E> {
                Ok(List(Vec::new()))
            }
            fn visit_f64<E>(self, _: f64) -> Result<List<T>, E> {
                Ok(List(Vec::new()))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// An object field that may come as something else (`""`, a number, a list): read the object,
/// or nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Obj<T>(pub Option<T>);

impl<T> Default for Obj<T> {
    fn default() -> Self {
        Obj(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Obj<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, a: A) -> Result<Obj<T>, A::Error> {
                let one = T::deserialize(serde::de::value::MapAccessDeserializer::new(a))?;
                Ok(Obj(Some(one)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Obj<T>, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Obj(None))
            }
            fn visit_unit<E>(self) -> Result<Obj<T>, E> {
                Ok(Obj(None))
            }
            fn visit_none<E>(self) -> Result<Obj<T>, E> {
                Ok(Obj(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Obj<T>, D::Error> {
                d.deserialize_any(V(PhantomData))
            }
            fn visit_str<E>(self, _: &str) -> Result<Obj<T>, E> {
                Ok(Obj(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Obj<T>, E> {
                Ok(Obj(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Obj<T>, E> {
                Ok(Obj(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Obj<T>, E> {
                Ok(Obj(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Obj<T>, E> {
                Ok(Obj(None))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug, Default, PartialEq)]
    struct P<'a> {
        #[serde(borrow, default)]
        a: Lax<'a>,
    }

    #[test]
    fn text_of_any_value() {
        let v: Vec<Lax<'_>> =
            serde_json::from_str(r#"["x", 12, 1.5, true, null, {"k":[1]}, [2], " "]"#).unwrap();
        let got: Vec<_> = v.iter().map(Lax::get).collect();
        assert_eq!(
            got,
            [
                Some("x"),
                Some("12"),
                Some("1.5"),
                Some("true"),
                None,
                None,
                None,
                None
            ]
        );
    }

    #[test]
    fn lists_and_objects_in_any_shape() {
        let l: List<P<'_>> = serde_json::from_str(r#"{"a":"one"}"#).unwrap();
        assert_eq!(l.0.len(), 1);
        let l: List<P<'_>> = serde_json::from_str("null").unwrap();
        assert!(l.0.is_empty());
        let l: List<P<'_>> = serde_json::from_str(r#"[{"a":1},{"a":"b"}]"#).unwrap();
        assert_eq!(l.0[0].a.get(), Some("1"));
        let l: List<P<'_>> = serde_json::from_str(r#""none""#).unwrap();
        assert!(l.0.is_empty());
        let o: Obj<P<'_>> = serde_json::from_str(r#""""#).unwrap();
        assert!(o.0.is_none());
        let o: Obj<P<'_>> = serde_json::from_str(r#"{"a":"z"}"#).unwrap();
        assert_eq!(o.0.unwrap().a.get(), Some("z"));
    }
}
