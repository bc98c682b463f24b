//! JSON read strictly: an object that names a key twice is refused, with the key and where it
//! is (`[3].occurred_at`). RFC 8259 only says names SHOULD be unique and leaves the outcome to
//! the parser; serde_json keeps the last one, another reader may keep the first, so a document
//! with a duplicate means different things to different readers (a signature or an audit checks
//! one value, the store keeps another). Our own schemas therefore refuse it.
//!
//! Two readers, one rule: [`parse_value`] builds the [`Value`] in the same pass that checks, so
//! the ingest path pays for one parse as before; [`check`] walks a document without building
//! anything, for bodies that are then deserialized into their own types.
//!
//! Depth is bounded by serde_json's own recursion limit (128 levels): it refuses deeper
//! documents before our visitors recurse, so a hostile body cannot exhaust the stack here.

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Number, Value};
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;

/// Why a JSON document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    /// Not JSON at all, or nested deeper than the parser allows.
    #[error("the body is not valid JSON: {0}")]
    Syntax(String),
    /// `path` names the duplicated key itself: `[3].occurred_at`, `location.city`, `tenant`.
    #[error("{path}: the key {key:?} appears more than once in one object; send each key once")]
    DuplicateKey { path: String, key: String },
}

impl JsonError {
    /// The path of the offending field, for a problem's `errors` list.
    pub fn field(&self) -> Option<&str> {
        match self {
            JsonError::Syntax(_) => None,
            JsonError::DuplicateKey { path, .. } => Some(path),
        }
    }
}

/// Parses `bytes` into a [`Value`], refusing a duplicated key in any object.
pub fn parse_value(bytes: &[u8]) -> Result<Value, JsonError> {
    let trail = Trail::default();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = Build { trail: &trail }
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v));
    parsed.map_err(|e| trail.into_error(e))
}

/// Checks that `bytes` is JSON with no duplicated key in any object, building nothing: keys are
/// borrowed from the input where they have no escapes, values are skipped.
pub fn check(bytes: &[u8]) -> Result<(), JsonError> {
    let trail = Trail::default();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let checked = Check { trail: &trail }
        .deserialize(&mut de)
        .and_then(|()| de.end());
    checked.map_err(|e| trail.into_error(e))
}

/// One step of a path, innermost first while an error unwinds.
enum Step {
    Index(usize),
    Key(String),
}

/// The duplicate found, with the path to it collected as the error unwinds through each level:
/// nothing is recorded on the way down, so a document without duplicates pays nothing for it.
#[derive(Default)]
struct Trail {
    found: RefCell<Option<(String, Vec<Step>)>>,
}

impl Trail {
    fn duplicate<E: serde::de::Error>(&self, key: &str) -> E {
        *self.found.borrow_mut() = Some((key.to_owned(), vec![Step::Key(key.to_owned())]));
        E::custom(format_args!("duplicate key {key:?}"))
    }

    /// Called by a parent when a child failed: adds the parent's step if a duplicate is behind
    /// the failure (a syntax error carries serde_json's own line and column instead).
    fn unwind(&self, step: impl FnOnce() -> Step) {
        if let Some((_, steps)) = self.found.borrow_mut().as_mut() {
            steps.push(step());
        }
    }

    fn into_error(self, e: serde_json::Error) -> JsonError {
        match self.found.into_inner() {
            Some((key, steps)) => JsonError::DuplicateKey {
                path: path_of(&steps),
                key,
            },
            None => JsonError::Syntax(e.to_string()),
        }
    }
}

/// `[3].location.city` from the steps collected innermost first.
fn path_of(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps.iter().rev() {
        match step {
            Step::Index(i) => out.push_str(&format!("[{i}]")),
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
        }
    }
    out
}

/// Builds a [`Value`] as serde_json's own does, refusing a key its object already holds.
#[derive(Clone, Copy)]
struct Build<'t> {
    trail: &'t Trail,
}

impl<'de> DeserializeSeed<'de> for Build<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Build<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // The JSON parser never yields a NaN or an infinity; null is serde_json's answer too.
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        loop {
            let i = items.len();
            match seq.next_element_seed(self) {
                Ok(Some(v)) => items.push(v),
                Ok(None) => return Ok(Value::Array(items)),
                Err(e) => {
                    self.trail.unwind(|| Step::Index(i));
                    return Err(e);
                }
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = match map.next_value_seed(self) {
                Ok(v) => v,
                Err(e) => {
                    self.trail.unwind(|| Step::Key(key));
                    return Err(e);
                }
            };
            // The lookup that places the value is the check: no second one.
            match out.entry(key) {
                Entry::Vacant(slot) => {
                    slot.insert(value);
                }
                Entry::Occupied(slot) => return Err(self.trail.duplicate(slot.key())),
            }
        }
        Ok(Value::Object(out))
    }
}

/// Walks a value without building it; objects track their keys in a [`KeySet`].
#[derive(Clone, Copy)]
struct Check<'t> {
    trail: &'t Trail,
}

impl<'de> DeserializeSeed<'de> for Check<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Check<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        loop {
            match seq.next_element_seed(self) {
                Ok(Some(())) => i += 1,
                Ok(None) => return Ok(()),
                Err(e) => {
                    self.trail.unwind(|| Step::Index(i));
                    return Err(e);
                }
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut keys = KeySet::default();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if let Err(e) = map.next_value_seed(self) {
                self.trail.unwind(|| Step::Key(key.into_owned()));
                return Err(e);
            }
            if let Some(key) = keys.insert(key) {
                return Err(self.trail.duplicate(&key));
            }
        }
        Ok(())
    }
}

/// Reads a key borrowed from the input when it has no escapes, owned otherwise.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// Up to this many keys an object's keys are compared one by one: the objects of our schemas
/// have a handful of keys, where a scan beats hashing. Past it (a large `attributes`), a hash
/// set keeps a hostile object of many keys linear rather than quadratic.
const SCAN_KEYS: usize = 16;

#[derive(Default)]
struct KeySet<'de> {
    few: Vec<Cow<'de, str>>,
    many: HashSet<Cow<'de, str>>,
}

impl<'de> KeySet<'de> {
    /// Adds `key`; gives it back if the set held it already.
    fn insert(&mut self, key: Cow<'de, str>) -> Option<Cow<'de, str>> {
        if self.many.is_empty() {
            if self.few.contains(&key) {
                return Some(key);
            }
            if self.few.len() < SCAN_KEYS {
                self.few.push(key);
                return None;
            }
            self.many.extend(self.few.drain(..));
        }
        if self.many.contains(&key) {
            return Some(key);
        }
        self.many.insert(key);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both readers, which must agree on every document.
    fn both(doc: &str) -> Result<Value, JsonError> {
        let built = parse_value(doc.as_bytes());
        assert_eq!(
            check(doc.as_bytes()),
            built.as_ref().map(|_| ()).map_err(Clone::clone),
            "{doc}"
        );
        built
    }

    fn duplicate(doc: &str) -> (String, String) {
        match both(doc) {
            Err(JsonError::DuplicateKey { path, key }) => (path, key),
            other => panic!("{doc}: {other:?}"),
        }
    }

    #[test]
    fn builds_what_serde_json_builds() {
        let doc = r#"[{"a": 1, "b": [true, null, -2, 3.5, "x\u00e9"], "c": {"d": {}}}, 18446744073709551615]"#;
        let expected: Value = serde_json::from_str(doc).unwrap();
        assert_eq!(both(doc).unwrap(), expected);
    }

    #[test]
    fn names_a_duplicated_key_and_where_it_is() {
        assert_eq!(duplicate(r#"{"a": 1, "a": 2}"#), ("a".into(), "a".into()));
        assert_eq!(
            duplicate(
                r#"[{"source": "ups"}, {"source": "ups", "location": {"city": "A", "city": "B"}}]"#
            ),
            ("[1].location.city".into(), "city".into())
        );
        assert_eq!(
            duplicate(r#"[{}, {}, {}, {"occurred_at": "x", "status": 1, "occurred_at": "y"}]"#),
            ("[3].occurred_at".into(), "occurred_at".into())
        );
        assert_eq!(
            duplicate(r#"{"a": [[{"b": 1, "b": 1}]]}"#),
            ("a[0][0].b".into(), "b".into())
        );
        // The same key spelled with an escape is the same key.
        assert_eq!(duplicate(r#"{"tenant": 1, "ten\u0061nt": 2}"#).1, "tenant");
        let e = both(r#"{"a": {"b": 1, "b": 2}}"#).unwrap_err();
        assert_eq!(e.field(), Some("a.b"));
        assert!(e.to_string().contains("more than once"), "{e}");
    }

    #[test]
    fn the_same_key_in_different_objects_is_fine() {
        both(r#"[{"a": 1, "b": {"a": 2}}, {"a": 3}]"#).unwrap();
    }

    #[test]
    fn large_objects_switch_to_hashing_and_still_find_duplicates() {
        let keys: Vec<String> = (0..100).map(|i| format!("\"k{i}\": {i}")).collect();
        let fine = format!("{{{}}}", keys.join(", "));
        assert_eq!(both(&fine).unwrap().as_object().unwrap().len(), 100);
        for at in [3, SCAN_KEYS, 99] {
            let doc = format!("{{{}, \"k{at}\": 0}}", keys.join(", "));
            assert_eq!(duplicate(&doc), (format!("k{at}"), format!("k{at}")));
        }
    }

    #[test]
    fn syntax_errors_and_depth_are_refused_without_a_path() {
        for doc in ["", "{", r#"{"a": 1,}"#, "[1] 2", r#"{"a" 1}"#] {
            assert!(matches!(both(doc), Err(JsonError::Syntax(_))), "{doc:?}");
        }
        // Far beyond serde_json's recursion limit: refused, not a stack overflow.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(both(&deep), Err(JsonError::Syntax(_))));
        let deep_objects = format!("{}1{}", r#"{"a":"#.repeat(100_000), "}".repeat(100_000));
        assert!(matches!(both(&deep_objects), Err(JsonError::Syntax(_))));
    }
}
