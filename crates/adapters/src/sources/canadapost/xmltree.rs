//! A small element tree for the XML tracking documents of Canada Post and Purolator.
//!
//! Why not serde: one odd element (a child where text was expected, an unexpected attribute
//! form) makes a serde struct fail for the whole document, and these documents reach us inside
//! wrappers and SOAP envelopes whose shape varies. A tree read once lets each parser find its
//! part wherever it sits and read every event on its own, so an unreadable event is reported
//! with its path while the others are kept.
//!
//! Names are local names (namespace prefixes dropped) and texts are unescaped (a text whose
//! escapes are broken is kept as sent); attributes are not kept (`xsi:nil="true"` elements are
//! empty, which is all a reader needs). Depth is bounded, which also bounds the recursion of
//! `Drop`.

use crate::ParseError;
use quick_xml::events::{BytesStart, Event};

/// Deeper nesting than any tracking document has (SOAP + wrapper + 4 levels of payload).
const MAX_DEPTH: usize = 64;

#[derive(Debug, Default)]
pub(crate) struct Node {
    pub name: String,
    pub text: String,
    pub children: Vec<Node>,
}

impl Node {
    /// The first child element with this local name.
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child element with this local name, in document order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The trimmed text of a child, if the child is there and not blank.
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name).and_then(Node::value)
    }

    /// This element's own trimmed text, if not blank.
    pub fn value(&self) -> Option<&str> {
        let t = self.text.trim();
        (!t.is_empty()).then_some(t)
    }

    /// The first element (this one or a descendant, depth first, document order) whose local
    /// name is one of `names`, with its path from this one (`Envelope/Body/x`), for errors.
    pub fn find_with_path(&self, names: &[&str]) -> Option<(&Node, String)> {
        if names.contains(&self.name.as_str()) {
            return Some((self, self.name.clone()));
        }
        self.children.iter().find_map(|c| {
            c.find_with_path(names)
                .map(|(n, p)| (n, format!("{}/{p}", self.name)))
        })
    }
}

/// Reads the whole document into a tree whose root is the document's root element.
pub(crate) fn parse(text: &str) -> Result<Node, ParseError> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut stack: Vec<Node> = Vec::new();
    loop {
        let at = reader.buffer_position();
        let event = reader.read_event().map_err(|e| {
            ParseError::new(
                format!("byte {}", reader.error_position()),
                format!("not XML: {e}"),
            )
        })?;
        match event {
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(ParseError::new(
                        format!("byte {at}"),
                        format!("elements nested deeper than {MAX_DEPTH} levels"),
                    ));
                }
                stack.push(element(&e));
            }
            Event::Empty(e) => {
                let node = element(&e);
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => return Ok(node),
                }
            }
            Event::End(_) => {
                let Some(node) = stack.pop() else {
                    return Err(ParseError::new(
                        format!("byte {at}"),
                        "a closing tag without its opening tag",
                    ));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => return Ok(node),
                }
            }
            Event::Text(t) => {
                if let Some(node) = stack.last_mut() {
                    match t.decode() {
                        Ok(raw) => match quick_xml::escape::unescape(&raw) {
                            Ok(s) => node.text.push_str(&s),
                            Err(_) => node.text.push_str(&raw),
                        },
                        Err(_) => node.text.push_str(&String::from_utf8_lossy(&t)),
                    }
                } else if !t.iter().all(u8::is_ascii_whitespace) {
                    return Err(ParseError::new(
                        format!("byte {at}"),
                        "text outside the root element: not XML",
                    ));
                }
            }
            Event::CData(c) => {
                if let Some(node) = stack.last_mut() {
                    node.text.push_str(&String::from_utf8_lossy(&c));
                }
            }
            Event::GeneralRef(r) => {
                if let Some(node) = stack.last_mut() {
                    let name = String::from_utf8_lossy(&r);
                    node.text
                        .push_str(&entity(&name).unwrap_or_else(|| format!("&{name};")));
                }
            }
            Event::Eof => {
                return Err(ParseError::new(
                    format!("byte {}", reader.buffer_position()),
                    if stack.is_empty() {
                        "no XML element in the document"
                    } else {
                        "the document ends inside an element"
                    },
                ));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
}

fn element(e: &BytesStart) -> Node {
    Node {
        name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
        ..Node::default()
    }
}

/// A character or predefined entity reference (`&#233;`, `&#xE9;`, `&amp;`) as its text.
fn entity(name: &str) -> Option<String> {
    let c = if let Some(hex) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
        char::from_u32(u32::from_str_radix(hex, 16).ok()?)?
    } else if let Some(dec) = name.strip_prefix('#') {
        char::from_u32(dec.parse().ok()?)?
    } else {
        match name {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => return None,
        }
    };
    Some(c.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::parse;

    #[test]
    fn local_names_and_entities() {
        let doc = r#" <?xml version="1.0"?><s:Envelope xmlns:s="x"><s:Body><a i:nil="true"/><b>Article livr&#233; &amp; <![CDATA[ok]]></b></s:Body></s:Envelope>"#;
        let root = parse(doc).unwrap();
        assert_eq!(root.name, "Envelope");
        let body = root.child("Body").unwrap();
        assert_eq!(body.text_of("a"), None);
        assert_eq!(body.text_of("b"), Some("Article livré & ok"));
        let (b, path) = root.find_with_path(&["b"]).unwrap();
        assert_eq!((b.name.as_str(), path.as_str()), ("b", "Envelope/Body/b"));
    }

    #[test]
    fn refuses_what_is_not_a_tree() {
        assert!(parse("").is_err());
        assert!(parse("text<a/>").is_err());
        assert!(parse("<a><b></a>").is_err());
        assert!(parse("<a>").is_err());
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(parse(&deep).is_err());
    }
}
