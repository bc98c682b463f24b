//! A small element tree for DHL's XML documents: local names, attributes, trimmed text. Both
//! XML formats are read through it, so neither depends on serde's view of XML (element order,
//! single-versus-list) and every quirk (entities split into several events, empty elements,
//! namespace prefixes) is handled once.

use crate::ParseError;
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// Nesting deeper than any DHL document; deeper input is refused rather than followed.
const MAX_DEPTH: usize = 64;

#[derive(Debug, Default)]
pub(crate) struct Node {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Node>,
}

impl Node {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Node> + 's {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The trimmed text of the child at `path` (`ServiceEvent/EventCode`), when not blank.
    pub fn text_at(&self, path: &str) -> Option<&str> {
        let mut node = self;
        for step in path.split('/') {
            node = node.child(step)?;
        }
        Some(node.text.trim()).filter(|t| !t.is_empty())
    }
}

fn local(name: &[u8]) -> String {
    let name = String::from_utf8_lossy(name);
    match name.rsplit_once(':') {
        Some((_, l)) => l.to_owned(),
        None => name.into_owned(),
    }
}

fn open(e: &BytesStart<'_>, pos: u64) -> Result<Node, ParseError> {
    let mut node = Node {
        name: local(e.name().as_ref()),
        ..Node::default()
    };
    for a in e.attributes() {
        let a =
            a.map_err(|err| ParseError::new(format!("byte {pos}"), format!("not XML: {err}")))?;
        let value = a
            .unescape_value()
            .map_err(|err| ParseError::new(format!("byte {pos}"), format!("not XML: {err}")))?;
        node.attrs.push((local(a.key.as_ref()), value.into_owned()));
    }
    Ok(node)
}

/// The whole document as a tree (its root element).
pub(crate) fn parse(text: &str) -> Result<Node, ParseError> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Node> = Vec::new();
    loop {
        let pos = reader.buffer_position();
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
                        format!("byte {pos}"),
                        "elements nested too deep",
                    ));
                }
                stack.push(open(&e, pos)?);
            }
            Event::Empty(e) => {
                let node = open(&e, pos)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => return Ok(node),
                }
            }
            Event::End(_) => {
                let Some(node) = stack.pop() else {
                    return Err(ParseError::new(
                        format!("byte {pos}"),
                        "a closing tag without its opening tag",
                    ));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => return Ok(node),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    let s = t.decode().map_err(|e| {
                        ParseError::new(format!("byte {pos}"), format!("not XML: {e}"))
                    })?;
                    top.text.push_str(&s);
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::GeneralRef(r) => {
                if let Some(top) = stack.last_mut() {
                    let resolved = match r.resolve_char_ref() {
                        Ok(Some(c)) => Some(c),
                        Ok(None) => match &*r {
                            b"amp" => Some('&'),
                            b"lt" => Some('<'),
                            b"gt" => Some('>'),
                            b"quot" => Some('"'),
                            b"apos" => Some('\''),
                            _ => None,
                        },
                        Err(_) => None,
                    };
                    match resolved {
                        Some(c) => top.text.push(c),
                        None => {
                            return Err(ParseError::new(
                                format!("byte {pos}"),
                                "an unknown entity reference",
                            ));
                        }
                    }
                }
            }
            Event::Eof => {
                return Err(ParseError::new(
                    format!("byte {pos}"),
                    "the document ends inside an element",
                ));
            }
            _ => {}
        }
    }
}
