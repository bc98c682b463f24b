//! One document tree for JSON and XML, so a format description reads both with the same paths.
//!
//! JSON maps onto it as it is (numbers and booleans are kept as their text). XML is folded the
//! usual way: an element is an object, its attributes are `@name` members, its text is `$text`,
//! a child element repeated under one parent becomes an array, and namespace prefixes are
//! dropped (`<ns2:Event>` is `Event`). An element with neither attributes nor children is its
//! text alone, so `<Code>01B</Code>` reads like `"Code": "01B"`.
//!
//! Invariant: building a tree does bounded work. Nesting deeper than [`MAX_DEPTH`] or more than
//! [`MAX_NODES`] nodes is refused with an error, never a stack overflow or a runaway allocation.

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// Deepest nesting read; real tracking documents nest less than 15 levels.
pub const MAX_DEPTH: usize = 128;
/// Most nodes one document may hold (a 16 MiB document of tiny values stays under it).
pub const MAX_NODES: usize = 4_000_000;

/// A value of a JSON or XML document.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    /// A string, or a number or boolean as written.
    Text(String),
    /// Members in document order (a name may repeat only in XML before folding; never after).
    Object(Vec<(String, Node)>),
    Array(Vec<Node>),
}

impl Node {
    /// The member `name` of an object.
    pub fn get(&self, name: &str) -> Option<&Node> {
        match self {
            Node::Object(members) => members.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text of a value: a non-blank string, an XML element's `$text`, or the only element
    /// of a one-element array. Objects without text, arrays, null and blank strings are absent.
    pub fn text(&self) -> Option<&str> {
        match self {
            Node::Text(s) => Some(s.trim()).filter(|s| !s.is_empty()),
            Node::Object(_) => self.get("$text").and_then(Node::text),
            Node::Array(items) if items.len() == 1 => items[0].text(),
            _ => None,
        }
    }
}

/// Why a document could not be read into a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeError {
    /// Where: `line L, column C` for JSON, `byte N` for XML.
    pub at: String,
    pub message: String,
}

/// Reads a JSON document.
pub fn from_json(doc: &[u8]) -> Result<Node, TreeError> {
    let mut budget = MAX_NODES;
    let mut de = serde_json::Deserializer::from_slice(doc);
    // serde_json's own recursion limit (128) also guards the stack; ours says it in our words.
    let node = de::DeserializeSeed::deserialize(
        NodeSeed {
            depth: 0,
            budget: &mut budget,
        },
        &mut de,
    )
    .and_then(|n| de.end().map(|()| n))
    .map_err(|e| TreeError {
        at: format!("line {}, column {}", e.line(), e.column()),
        message: e.to_string(),
    })?;
    Ok(node)
}

struct NodeSeed<'b> {
    depth: usize,
    budget: &'b mut usize,
}

impl NodeSeed<'_> {
    fn take(&mut self) -> Result<(), String> {
        if *self.budget == 0 {
            return Err(format!("more than {MAX_NODES} values"));
        }
        *self.budget -= 1;
        Ok(())
    }
}

impl<'de> de::DeserializeSeed<'de> for NodeSeed<'_> {
    type Value = Node;
    fn deserialize<D: Deserializer<'de>>(mut self, d: D) -> Result<Node, D::Error> {
        if self.depth > MAX_DEPTH {
            return Err(de::Error::custom(format!(
                "nested deeper than {MAX_DEPTH} levels"
            )));
        }
        self.take().map_err(de::Error::custom)?;
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NodeSeed<'_> {
    type Value = Node;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Text(v.to_string()))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Text(v.to_string()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Text(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Text(v.to_string()))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Text(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Text(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(NodeSeed {
            depth: self.depth + 1,
            budget: &mut *self.budget,
        })? {
            items.push(v);
        }
        Ok(Node::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut members: Vec<(String, Node)> = Vec::new();
        while let Some(k) = map.next_key::<String>()? {
            let v = map.next_value_seed(NodeSeed {
                depth: self.depth + 1,
                budget: &mut *self.budget,
            })?;
            // A repeated key: the last one wins, as in serde_json's own maps.
            match members.iter_mut().find(|(name, _)| *name == k) {
                Some(slot) => slot.1 = v,
                None => members.push((k, v)),
            }
        }
        Ok(Node::Object(members))
    }
}

/// An element being read: its name, members so far and text.
struct Open {
    name: String,
    members: Vec<(String, Node)>,
    text: String,
}

impl Open {
    /// The finished element: its text alone when it has no members.
    fn close(self) -> (String, Node) {
        let text = self.text.trim();
        let node = if self.members.is_empty() {
            Node::Text(text.to_owned())
        } else {
            let mut members = self.members;
            if !text.is_empty() {
                members.push(("$text".to_owned(), Node::Text(text.to_owned())));
            }
            Node::Object(members)
        };
        (self.name, node)
    }

    /// Adds a child; a name seen before turns that member into an array.
    fn add(&mut self, name: String, node: Node) {
        match self.members.iter_mut().find(|(k, _)| *k == name) {
            Some((_, Node::Array(items))) if !name.starts_with('@') => items.push(node),
            Some((_, slot)) => {
                let first = std::mem::replace(slot, Node::Null);
                *slot = Node::Array(vec![first, node]);
            }
            None => self.members.push((name, node)),
        }
    }
}

/// The local part of a qualified name (`ns2:Event` -> `Event`).
fn local(name: &[u8]) -> String {
    let local = match name.iter().rposition(|&b| b == b':') {
        Some(i) => &name[i + 1..],
        None => name,
    };
    String::from_utf8_lossy(local).into_owned()
}

/// Reads an XML document; the root element's own name is the single member of the tree's root
/// (`<CompleteStatus>...` is `{"CompleteStatus": {...}}`), so paths start with it as in JSON.
pub fn from_xml(doc: &[u8]) -> Result<Node, TreeError> {
    use quick_xml::events::{BytesStart, Event};
    let mut reader = quick_xml::Reader::from_reader(doc);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Open> = vec![Open {
        name: String::new(),
        members: Vec::new(),
        text: String::new(),
    }];
    let mut nodes = 0usize;
    let mut buf = Vec::new();
    let err = |reader: &quick_xml::Reader<&[u8]>, message: String| TreeError {
        at: format!("byte {}", reader.buffer_position()),
        message,
    };
    let open = |e: &BytesStart<'_>, nodes: &mut usize| -> Result<Open, String> {
        let mut members = Vec::new();
        for attr in e.attributes().with_checks(false) {
            let attr = attr.map_err(|e| e.to_string())?;
            let key = attr.key.as_ref();
            // Namespace declarations say nothing about the shipment.
            if key == b"xmlns" || key.starts_with(b"xmlns:") {
                continue;
            }
            let value = attr
                .unescape_value()
                .map(|v| v.into_owned())
                .unwrap_or_else(|_| String::from_utf8_lossy(&attr.value).into_owned());
            *nodes += 1;
            members.push((format!("@{}", local(key)), Node::Text(value)));
        }
        Ok(Open {
            name: local(e.name().as_ref()),
            members,
            text: String::new(),
        })
    };
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| err(&reader, e.to_string()))?;
        nodes += 1;
        if nodes > MAX_NODES {
            return Err(err(&reader, format!("more than {MAX_NODES} nodes")));
        }
        match event {
            Event::Start(e) => {
                if stack.len() > MAX_DEPTH {
                    return Err(err(
                        &reader,
                        format!("nested deeper than {MAX_DEPTH} levels"),
                    ));
                }
                let o = open(&e, &mut nodes).map_err(|m| err(&reader, m))?;
                stack.push(o);
            }
            Event::Empty(e) => {
                let (name, node) = open(&e, &mut nodes).map_err(|m| err(&reader, m))?.close();
                if let Some(parent) = stack.last_mut() {
                    parent.add(name, node);
                }
            }
            Event::End(_) => {
                if stack.len() < 2 {
                    return Err(err(&reader, "closing tag without an opening one".into()));
                }
                if let Some(done) = stack.pop() {
                    let (name, node) = done.close();
                    if let Some(parent) = stack.last_mut() {
                        parent.add(name, node);
                    }
                }
            }
            Event::Text(t) => {
                let s = t
                    .decode()
                    .map_err(|e| err(&reader, e.to_string()))?
                    .into_owned();
                let s = quick_xml::escape::unescape(&s)
                    .map(|c| c.into_owned())
                    .unwrap_or(s);
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&s);
                }
            }
            Event::GeneralRef(r) => {
                // `&amp;` and friends arrive apart from the text around them.
                let name = r.decode().map_err(|e| err(&reader, e.to_string()))?;
                let s = quick_xml::escape::unescape(&format!("&{name};"))
                    .map(|c| c.into_owned())
                    .unwrap_or_default();
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&s);
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if stack.len() != 1 {
        return Err(err(&reader, "document ends inside an element".into()));
    }
    let root = stack.pop().map(|o| o.members).unwrap_or_default();
    if root.is_empty() {
        return Err(err(&reader, "no root element".into()));
    }
    Ok(Node::Object(root))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Node {
        Node::Text(s.to_owned())
    }

    #[test]
    fn json_keeps_numbers_and_booleans_as_text() {
        let n = from_json(br#"{"a": 12, "b": true, "c": null, "d": [1.5, "x"], "e": {}}"#).unwrap();
        assert_eq!(n.get("a"), Some(&t("12")));
        assert_eq!(n.get("b"), Some(&t("true")));
        assert_eq!(n.get("c"), Some(&Node::Null));
        assert_eq!(n.get("d"), Some(&Node::Array(vec![t("1.5"), t("x")])));
        assert_eq!(n.get("e").and_then(Node::text), None);
    }

    #[test]
    fn xml_folds_attributes_repeats_text_and_prefixes() {
        let doc = br#"<?xml version="1.0"?>
            <ns2:Resp xmlns:ns2="urn:x"><ns2:Event type="a">one &amp; two</ns2:Event>
            <ns2:Event type="b"/><Code>01B</Code><Empty/></ns2:Resp>"#;
        let n = from_xml(doc).unwrap();
        let resp = n.get("Resp").unwrap();
        let Some(Node::Array(events)) = resp.get("Event") else {
            panic!("{resp:?}")
        };
        assert_eq!(events[0].get("@type"), Some(&t("a")));
        assert_eq!(events[0].text(), Some("one & two"));
        assert_eq!(events[1].get("@type"), Some(&t("b")));
        assert_eq!(resp.get("Code"), Some(&t("01B")));
        assert_eq!(resp.get("Empty").and_then(Node::text), None);
    }

    #[test]
    fn depth_and_garbage_are_errors_not_panics() {
        let deep = "[".repeat(10_000);
        assert!(from_json(deep.as_bytes()).is_err());
        let deep_xml = "<a>".repeat(10_000);
        let e = from_xml(deep_xml.as_bytes()).unwrap_err();
        assert!(e.message.contains("deeper"), "{e:?}");
        for bad in [
            &b"<a></b>"[..],
            b"<a>",
            b"</a>",
            b"",
            b"text only",
            b"<a x='1' x='2'/>",
        ] {
            let _ = from_xml(bad);
        }
        assert!(from_xml(b"<a></a><b/>").is_ok());
    }
}
