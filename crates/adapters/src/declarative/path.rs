//! The path language of format descriptions: where in a [`Node`] tree a value lives.
//!
//! ```text
//! CompleteStatus.Shipment[*].Event[*]     every event of every shipment
//! shipment.event[0]                        the first event
//! Address[AddressType=01].City             the city of the address whose AddressType is 01
//! OldStatus[StatusCode!=99]                every old status but those with StatusCode 99
//! pieces[@type=piece-event]                XML elements by attribute
//! [event_type]                             the node itself if it has an `event_type`
//! Location.@code   Remark.$text            an XML attribute; an element's own text
//! ""                                       the document's root
//! 'tracker.output'.consignment[*]         a field whose name holds a dot, quoted
//! ```
//!
//! Tolerance is built in, because real documents are not what their schema says: `[*]` and
//! `[0]` on a single object take the object itself (a list of one written without brackets), a
//! name step on an array applies to each element, and null, missing and empty values match
//! nothing. Evaluation visits each node of the tree at most once per step, so its work is
//! bounded by the size of the document times the number of steps.

use super::tree::Node;
use std::fmt;

/// A parsed path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    text: String,
    steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Name(String),
    All,
    Index(usize),
    /// Elements whose member `key` (a plain name or `@attr`) has the text `value`, or has any
    /// text when `value` is `None` (`[event_type]`).
    /// `negate` (`[field!=value]`): elements whose `field` is missing or has another text.
    Filter {
        key: String,
        value: Option<String>,
        negate: bool,
    },
}

/// A node found by a path, with the concrete path to it (`Shipment[0].Event[3]`).
#[derive(Debug, Clone)]
pub struct Hit<'a> {
    pub node: &'a Node,
    pub at: String,
}

impl Path {
    /// Parses `text`; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<Path, String> {
        let mut steps = Vec::new();
        let t = text.trim();
        if t.is_empty() {
            return Ok(Path {
                text: String::new(),
                steps,
            });
        }
        if t.len() > 512 {
            return Err("a path is at most 512 characters".into());
        }
        for segment in segments(t)? {
            let (name, mut rest, quoted) = if let Some(q) = segment.strip_prefix('\'') {
                // A quoted name: any text but a quote, dots included (`'tracker.output'`).
                let Some(end) = q.find('\'') else {
                    return Err(format!("unclosed quote in {segment:?}"));
                };
                (&q[..end], &q[end + 1..], true)
            } else {
                match segment.find('[') {
                    Some(i) => (&segment[..i], &segment[i..], false),
                    None => (segment, "", false),
                }
            };
            if name.is_empty() && (quoted || rest.is_empty()) {
                return Err(format!("empty step in {t:?}"));
            }
            if !name.is_empty() {
                if !quoted && name.contains([']', '=', ' ', '*', '\'']) {
                    return Err(format!("{name:?} is not a field name"));
                }
                steps.push(Step::Name(name.to_owned()));
            }
            while !rest.is_empty() {
                let Some(end) = rest.find(']') else {
                    return Err(format!("unclosed '[' in {segment:?}"));
                };
                if !rest.starts_with('[') {
                    return Err(format!("unexpected {rest:?} in {segment:?}"));
                }
                let inner = rest[1..end].trim();
                rest = &rest[end + 1..];
                let step = if inner == "*" {
                    Step::All
                } else if let Ok(i) = inner.parse::<usize>() {
                    Step::Index(i)
                } else if let Some((k, v)) = inner.split_once('=') {
                    let (k, negate) = match k.strip_suffix('!') {
                        Some(k) => (k, true),
                        None => (k, false),
                    };
                    let (k, v) = (k.trim(), v.trim().trim_matches(['"', '\'']));
                    if k.is_empty() || k.contains(['[', '.']) {
                        return Err(format!("filter [{inner}] needs a field name before '='"));
                    }
                    Step::Filter {
                        key: k.to_owned(),
                        value: Some(v.to_owned()),
                        negate,
                    }
                } else if !inner.is_empty() && !inner.contains(['[', '.', ' ', '*']) {
                    Step::Filter {
                        key: inner.to_owned(),
                        value: None,
                        negate: false,
                    }
                } else {
                    return Err(format!(
                        "[{inner}] is not [*], an index, a [field] or a [field=value] filter"
                    ));
                };
                steps.push(step);
            }
        }
        Ok(Path {
            text: t.to_owned(),
            steps,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True when the path selects many values (has `[*]` or a filter), not one.
    pub fn is_many(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s, Step::All | Step::Filter { .. }))
    }

    /// Every node the path reaches from `root`, in document order; `base` is the concrete
    /// path of `root` itself (prefixed to each hit's path).
    pub fn find<'a>(&self, root: &'a Node, base: &str) -> Vec<Hit<'a>> {
        let mut cur = vec![Hit {
            node: root,
            at: base.to_owned(),
        }];
        for step in &self.steps {
            let mut next = Vec::new();
            for hit in cur {
                step.apply(hit, &mut next);
            }
            cur = next;
            if cur.is_empty() {
                break;
            }
        }
        cur.retain(|h| !matches!(h.node, Node::Null));
        cur
    }

    /// The first text the path reaches, with its concrete path.
    pub fn text<'a>(&self, root: &'a Node, base: &str) -> Option<(&'a str, String)> {
        self.find(root, base)
            .into_iter()
            .find_map(|h| h.node.text().map(|t| (t, h.at)))
    }
}

/// The dot-separated segments of a path; a dot inside a quoted name (`'a.b'`) or inside a
/// filter (`[k='a.b']`) does not separate.
fn segments(t: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let (mut start, mut quote, mut depth) = (0, false, 0usize);
    for (i, c) in t.char_indices() {
        match c {
            '\'' => quote = !quote,
            '[' if !quote => depth += 1,
            ']' if !quote => depth = depth.saturating_sub(1),
            '.' if !quote && depth == 0 => {
                out.push(&t[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if quote {
        return Err(format!("unclosed quote in {t:?}"));
    }
    out.push(&t[start..]);
    Ok(out)
}

fn join(base: &str, name: &str) -> String {
    if base.is_empty() {
        name.to_owned()
    } else {
        format!("{base}.{name}")
    }
}

impl Step {
    fn apply<'a>(&self, hit: Hit<'a>, out: &mut Vec<Hit<'a>>) {
        match (self, hit.node) {
            (Step::Name(name), Node::Object(_)) => {
                if let Some(child) = hit.node.get(name) {
                    out.push(Hit {
                        node: child,
                        at: join(&hit.at, name),
                    });
                }
            }
            // An XML element with neither attributes nor children is its text.
            (Step::Name(name), Node::Text(_)) if name == "$text" => out.push(hit),
            (Step::Name(_), Node::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    self.apply(
                        Hit {
                            node: item,
                            at: format!("{}[{i}]", hit.at),
                        },
                        out,
                    );
                }
            }
            (Step::All, Node::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    out.push(Hit {
                        node: item,
                        at: format!("{}[{i}]", hit.at),
                    });
                }
            }
            (Step::All, Node::Object(_) | Node::Text(_)) => out.push(hit),
            (Step::Index(i), Node::Array(items)) => {
                if let Some(item) = items.get(*i) {
                    out.push(Hit {
                        node: item,
                        at: format!("{}[{i}]", hit.at),
                    });
                }
            }
            (Step::Index(0), Node::Object(_) | Node::Text(_)) => out.push(hit),
            (Step::Filter { key, value, negate }, Node::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    if matches_filter(item, key, value) != *negate {
                        out.push(Hit {
                            node: item,
                            at: format!("{}[{i}]", hit.at),
                        });
                    }
                }
            }
            (Step::Filter { key, value, negate }, Node::Object(_))
                if matches_filter(hit.node, key, value) != *negate =>
            {
                out.push(hit);
            }
            _ => {}
        }
    }
}

fn matches_filter(node: &Node, key: &str, value: &Option<String>) -> bool {
    node.get(key)
        .and_then(Node::text)
        .is_some_and(|t| value.as_ref().is_none_or(|v| t == v))
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::declarative::tree::{from_json, from_xml};

    /// `(path, expected hits as "at=text")` over one document.
    fn check(doc: &Node, cases: &[(&str, &[&str])]) {
        for (path, want) in cases {
            let p = Path::parse(path).unwrap_or_else(|e| panic!("{path}: {e}"));
            let got: Vec<String> = p
                .find(doc, "")
                .iter()
                .map(|h| format!("{}={}", h.at, h.node.text().unwrap_or("<node>")))
                .collect();
            assert_eq!(got, *want, "{path}");
        }
    }

    #[test]
    fn json_paths() {
        let doc = from_json(
            br#"{"S": {"Barcode": "3S1", "Event": [{"Code": "01A"}, {"Code": 5}],
                 "One": {"Code": "X"}, "Address": [{"T": "02", "City": "A"}, {"T": "01", "City": "B"}],
                 "Nil": null, "Empty": {}}}"#,
        )
        .unwrap();
        check(
            &doc,
            &[
                ("S.Barcode", &["S.Barcode=3S1"]),
                (
                    "S.Event[*].Code",
                    &["S.Event[0].Code=01A", "S.Event[1].Code=5"],
                ),
                (
                    "S.Event.Code",
                    &["S.Event[0].Code=01A", "S.Event[1].Code=5"],
                ),
                ("S.Event[1].Code", &["S.Event[1].Code=5"]),
                ("S.Event[7].Code", &[]),
                ("S.One[*].Code", &["S.One.Code=X"]),
                ("S.One[0].Code", &["S.One.Code=X"]),
                ("S.Address[T=01].City", &["S.Address[1].City=B"]),
                ("S.Address[T='02'].City", &["S.Address[0].City=A"]),
                ("S.One[Code]", &["S.One=<node>"]),
                ("S[Nope]", &[]),
                ("S.Address[T!=01].City", &["S.Address[0].City=A"]),
                ("S.Event[Code!=01A].Code", &["S.Event[1].Code=5"]),
                ("S.Nil", &[]),
                ("S.Nil[*]", &[]),
                ("S.Empty", &["S.Empty=<node>"]),
                ("S.Missing.Deeper[*]", &[]),
                ("'S'.Barcode", &["S.Barcode=3S1"]),
            ],
        );
        // A field whose name holds a dot is written quoted (TNT's `tracker.output`).
        let doc = from_json(
            br#"{"tracker.output": {"consignment": [{"n": "1"}, {"n": "2"}]}, "a.b": {"c": 3}}"#,
        )
        .unwrap();
        check(
            &doc,
            &[
                (
                    "'tracker.output'.consignment[*].n",
                    &[
                        "tracker.output.consignment[0].n=1",
                        "tracker.output.consignment[1].n=2",
                    ],
                ),
                (
                    "'tracker.output'.consignment[n='2'].n",
                    &["tracker.output.consignment[1].n=2"],
                ),
                ("'a.b'.c", &["a.b.c=3"]),
                ("a.b.c", &[]),
                (
                    "'tracker.output'.consignment[1][n]",
                    &["tracker.output.consignment[1]=<node>"],
                ),
            ],
        );
    }

    #[test]
    fn xml_paths() {
        let doc = from_xml(
            br#"<r><e type="piece-event" id="1"><c>A</c></e><e type="other" id="2"><c>B</c></e>
               <note lang="fr">bonjour</note></r>"#,
        )
        .unwrap();
        check(
            &doc,
            &[
                ("r.e[@type=piece-event].c", &["r.e[0].c=A"]),
                ("r.e[*].@id", &["r.e[0].@id=1", "r.e[1].@id=2"]),
                ("r.note.$text", &["r.note.$text=bonjour"]),
                ("r.note.@lang", &["r.note.@lang=fr"]),
                ("r.e[1].c.$text", &["r.e[1].c=B"]),
            ],
        );
    }

    #[test]
    fn bad_paths_say_why() {
        for (p, msg) in [
            ("a..b", "empty step"),
            ("a[", "unclosed"),
            ("a[x y]", "is not [*]"),
            ("a[=1]", "field name"),
            ("a b", "not a field name"),
            ("'a.b", "unclosed quote"),
            ("''.b", "empty step"),
            ("a'b'", "not a field name"),
        ] {
            let e = Path::parse(p).unwrap_err();
            assert!(e.contains(msg), "{p}: {e}");
        }
        assert!(Path::parse("").unwrap().find(&Node::Null, "").is_empty());
    }
}
