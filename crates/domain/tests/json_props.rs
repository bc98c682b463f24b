//! The strict JSON reader against serde_json: the same value for every document without a
//! duplicated key, the duplicate's path for every document with one, and no panic on any bytes.

use proptest::prelude::*;
use serde_json::{Map, Value};
use waypost_domain::JsonError;
use waypost_domain::json::{check, parse_value};

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        "[a-z\u{e9}\"\\\\ ]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            // Few distinct key letters, so that sibling objects share keys often.
            prop::collection::btree_map("[a-f]{1,2}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Writes `v` as JSON, repeating the last key of the `target`-th non-empty object (in document
/// order) at its end; returns the path the reader must name, if there was such an object.
fn with_duplicate(
    v: &Value,
    target: usize,
    seen: &mut usize,
    path: &str,
    out: &mut String,
) -> Option<String> {
    let mut found = None;
    match v {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let p = format!("{path}[{i}]");
                found = found.or(with_duplicate(item, target, seen, &p, out));
            }
            out.push(']');
        }
        Value::Object(m) if !m.is_empty() => {
            let mine = *seen == target;
            *seen += 1;
            out.push('{');
            for (i, (k, item)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).expect("a key"));
                out.push(':');
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                found = found.or(with_duplicate(item, target, seen, &p, out));
            }
            if mine {
                let (k, _) = m.iter().next_back().expect("not empty");
                out.push_str(&format!(
                    ",{}:null",
                    serde_json::to_string(k).expect("a key")
                ));
                // The object's own duplicate is found once its last value is read, after any
                // inside it; `target` is unique, so there is just this one.
                found = Some(if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                });
            }
            out.push('}');
        }
        other => out.push_str(&serde_json::to_string(other).expect("a scalar")),
    }
    found
}

proptest! {
    #[test]
    fn reads_what_serde_json_reads(v in value()) {
        let text = serde_json::to_vec(&v).expect("serializable");
        // Compared with serde_json's own reading: both take numbers from the same parser.
        let theirs: Value = serde_json::from_slice(&text).expect("serde_json reads it");
        prop_assert_eq!(parse_value(&text).expect("strict read"), theirs);
        prop_assert!(check(&text).is_ok());
    }

    #[test]
    fn names_any_duplicated_key(v in value(), target in 0usize..8) {
        let mut text = String::new();
        let mut seen = 0;
        if let Some(path) = with_duplicate(&v, target, &mut seen, "", &mut text) {
            // serde_json alone takes the document and keeps the last value.
            prop_assert!(serde_json::from_str::<Value>(&text).is_ok());
            for result in [parse_value(text.as_bytes()).map(|_| ()), check(text.as_bytes())] {
                match result {
                    Err(JsonError::DuplicateKey { path: got, .. }) => prop_assert_eq!(&got, &path, "{}", text),
                    other => prop_assert!(false, "{:?} for {}", other, text),
                }
            }
        }
    }

    #[test]
    fn any_bytes_are_read_or_refused_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let ours = parse_value(&bytes);
        prop_assert_eq!(ours.is_ok(), check(&bytes).is_ok());
        if serde_json::from_slice::<Value>(&bytes).is_err() {
            prop_assert!(ours.is_err());
        }
    }

    #[test]
    fn json_like_text_is_read_or_refused_without_panic(text in "[\\[\\]{}\":,a-c0-9 ]{0,48}") {
        let ours = parse_value(text.as_bytes());
        prop_assert_eq!(ours.is_ok(), check(text.as_bytes()).is_ok());
        match serde_json::from_str::<Value>(&text) {
            Err(_) => prop_assert!(ours.is_err()),
            Ok(theirs) => {
                if let Ok(v) = ours {
                    prop_assert_eq!(v, theirs);
                }
            }
        }
    }
}
