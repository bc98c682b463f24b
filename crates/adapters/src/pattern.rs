//! Text patterns for vendors' descriptions, as mapping tables write them: the whole text must
//! match, case and runs of spaces do not matter, a trailing full stop neither.
//!
//! - `*` matches any run of characters, the empty one included;
//! - `{place}`, `{date}`, `{time}`, `{name}`, `{any}` match a non-empty run (the place names,
//!   dates and names carriers write into their texts: "In transit to next facility in
//!   {place}");
//! - `{number}` matches a run of digits (with `.`, `,`, `:`, `/`, `-` between them).
//!
//! Matching is a walk over (pattern position, text position) pairs: time linear in the product
//! of the two lengths, and texts are cut to [`MAX_TEXT`] characters first, so a hostile text
//! costs at most a few microseconds per pattern.

/// Characters of a text that are looked at; vendors' descriptions are far shorter.
pub const MAX_TEXT: usize = 400;
/// Longest pattern a table may hold.
const MAX_PATTERN: usize = 400;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Char(char),
    /// Any run, possibly empty.
    Star,
    /// Any non-empty run.
    Plus,
    /// A non-empty run of digits and separators.
    Digits,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    source: String,
    toks: Vec<Tok>,
}

/// A text as patterns see it: lower case, one space for every run of white space, no space at
/// either end and no full stop at the end, typographic apostrophes made plain.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(MAX_TEXT * 4));
    let mut space = false;
    for c in s.chars().take(MAX_TEXT) {
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        match c {
            '\u{2019}' | '\u{2018}' | '`' => out.push('\''),
            c => out.extend(c.to_lowercase()),
        }
    }
    while out.ends_with('.') || out.ends_with(' ') {
        out.pop();
    }
    out
}

impl Pattern {
    /// Reads a pattern; the error says what is wrong with it.
    pub fn new(source: &str) -> Result<Pattern, String> {
        if source.trim().is_empty() {
            return Err("the pattern is empty".into());
        }
        if source.chars().count() > MAX_PATTERN {
            return Err(format!(
                "the pattern is longer than {MAX_PATTERN} characters"
            ));
        }
        let mut toks = Vec::new();
        let mut literal = String::new();
        let mut rest = source;
        while let Some(c) = rest.chars().next() {
            match c {
                '*' => {
                    push_literal(&mut toks, &mut literal);
                    toks.push(Tok::Star);
                    rest = &rest[1..];
                }
                '{' => {
                    let end = rest
                        .find('}')
                        .ok_or_else(|| format!("{rest:?}: a `{{` without its `}}`"))?;
                    let name = &rest[1..end];
                    let tok = match name {
                        "place" | "date" | "time" | "name" | "any" => Tok::Plus,
                        "number" => Tok::Digits,
                        other => {
                            return Err(format!(
                                "unknown placeholder {{{other}}}; use {{place}}, {{date}}, \
                                 {{time}}, {{name}}, {{number}} or {{any}}"
                            ));
                        }
                    };
                    push_literal(&mut toks, &mut literal);
                    toks.push(tok);
                    rest = &rest[end + 1..];
                }
                c => {
                    literal.push(c);
                    rest = &rest[c.len_utf8()..];
                }
            }
        }
        push_literal(&mut toks, &mut literal);
        // Texts are folded without spaces at their ends; a pattern must not demand one there.
        while toks.last() == Some(&Tok::Char(' ')) {
            toks.pop();
        }
        let lead = toks.iter().take_while(|t| **t == Tok::Char(' ')).count();
        toks.drain(..lead);
        // `**` and `*{any}` mean what one of them means; keeping both only costs time.
        toks.dedup_by(|b, a| *a == Tok::Star && *b == Tok::Star);
        Ok(Pattern {
            source: source.to_owned(),
            toks,
        })
    }

    /// The pattern as written in the table.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether `folded` (a text already through [`fold`]) matches the whole pattern.
    pub fn matches(&self, folded: &str) -> bool {
        let text: Vec<char> = folded.chars().take(MAX_TEXT).collect();
        let n = text.len();
        // `at[p]`: the pattern so far can end at text position `p`.
        let mut at = vec![false; n + 1];
        at[0] = true;
        let mut next = vec![false; n + 1];
        for tok in &self.toks {
            next.iter_mut().for_each(|b| *b = false);
            let first = at.iter().position(|&b| b);
            let Some(first) = first else { return false };
            match tok {
                Tok::Char(c) => {
                    for p in first..n {
                        if at[p] && text[p] == *c {
                            next[p + 1] = true;
                        }
                    }
                }
                Tok::Star => next[first..].iter_mut().for_each(|b| *b = true),
                Tok::Plus => next[(first + 1).min(n + 1)..]
                    .iter_mut()
                    .for_each(|b| *b = true),
                Tok::Digits => {
                    for p in first..n {
                        if !at[p] || !text[p].is_ascii_digit() {
                            continue;
                        }
                        let mut q = p;
                        while q < n && (text[q].is_ascii_digit() || ".,:/-".contains(text[q])) {
                            q += 1;
                            next[q] = true;
                        }
                    }
                }
            }
            std::mem::swap(&mut at, &mut next);
        }
        at[n]
    }
}

fn push_literal(toks: &mut Vec<Tok>, literal: &mut String) {
    if literal.is_empty() {
        return;
    }
    // Literal text is folded like the texts it is matched against, its edges kept: "in " before
    // a placeholder must keep its space.
    let lead = literal.starts_with(char::is_whitespace) && !toks.is_empty();
    let trail = literal.ends_with(char::is_whitespace);
    let mut folded = String::new();
    if lead {
        folded.push(' ');
    }
    folded.push_str(&fold(literal));
    if trail && !folded.ends_with(' ') && !folded.is_empty() {
        folded.push(' ');
    }
    toks.extend(folded.chars().map(Tok::Char));
    literal.clear();
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(p: &str, t: &str) -> bool {
        Pattern::new(p).unwrap().matches(&fold(t))
    }

    #[test]
    fn whole_text_case_and_spaces_do_not_matter() {
        assert!(m("Delivered", "DELIVERED."));
        assert!(m(
            "Item processed at facility",
            "Item  processed at\tfacility"
        ));
        assert!(!m("Delivered", "Delivered to neighbour"));
        assert!(m("Delivered*", "Delivered to neighbour"));
        assert!(m(
            "*weather*",
            "Severe weather conditions have delayed delivery."
        ));
        assert!(!m("*weather*", "Whether or not"));
    }

    #[test]
    fn placeholders() {
        let p = "In transit to next facility in {place}";
        assert!(m(p, "In transit to next facility in OAKLEIGH SOUTH VIC"));
        assert!(!m(p, "In transit to next facility in "));
        assert!(m(
            "Arrived at {place} on {date}",
            "Arrived at Köln on 12.03.2024"
        ));
        assert!(m("Attempt {number} failed", "Attempt 2 failed"));
        assert!(!m("Attempt {number} failed", "Attempt two failed"));
        assert!(m("Zugestellt an {name}", "Zugestellt an Frau Müller"));
    }

    #[test]
    fn bad_patterns_are_refused_with_why() {
        assert!(Pattern::new("  ").is_err());
        assert!(Pattern::new("at {place").unwrap_err().contains('{'));
        assert!(Pattern::new("at {city}").unwrap_err().contains("city"));
    }

    #[test]
    fn fold_keeps_letters_and_plain_apostrophes() {
        assert_eq!(fold("  We\u{2019}ll Try AGAIN. "), "we'll try again");
        assert_eq!(fold("Ärger  über..."), "ärger über");
    }

    proptest! {
        #[test]
        fn a_literal_matches_itself_and_star_matches_all(s in "\\PC{0,60}") {
            let lit: String = s.chars().filter(|c| !matches!(c, '*' | '{' | '}')).collect();
            let folded = fold(&lit);
            if !folded.is_empty() {
                prop_assert!(Pattern::new(&lit).unwrap().matches(&folded));
            }
            prop_assert!(Pattern::new("*").unwrap().matches(&fold(&s)));
        }

        #[test]
        fn never_panics(p in "[a-z*{}]{1,20}", t in "\\PC{0,80}") {
            if let Ok(p) = Pattern::new(&p) {
                let _ = p.matches(&fold(&t));
            }
        }
    }
}
