//! `Content-Type` parsed the way RFC 9110 (§8.3.1) writes it: `type "/" subtype *( OWS ";"
//! OWS parameter )`. Checks look at the parsed parts, never at substrings of the header: a
//! substring test let `text/plain; x=+json` pass as JSON, and `text/plain` is a type a page of
//! another site may send without a CORS preflight.

/// A parsed media type: type and subtype lowercased, parameters with lowercased names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType {
    pub kind: String,
    pub subtype: String,
    /// Name (lowercased) and value (unquoted, as sent), in order.
    pub params: Vec<(String, String)>,
}

/// Why a `Content-Type` value is not a media type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaTypeError {
    #[error("the media type is not type/subtype")]
    NoSubtype,
    #[error("{0:?} is not a token")]
    BadToken(String),
    #[error("the parameter {0:?} is not name=value")]
    BadParameter(String),
    #[error("a quoted parameter value is not closed")]
    OpenQuote,
}

/// RFC 9110's `tchar`.
fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fn token(s: &str) -> Result<String, MediaTypeError> {
    if !s.is_empty() && s.chars().all(is_tchar) {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(MediaTypeError::BadToken(s.to_owned()))
    }
}

impl MediaType {
    pub fn parse(value: &str) -> Result<MediaType, MediaTypeError> {
        let (essence, mut rest) = match value.find(';') {
            Some(i) => (&value[..i], &value[i..]),
            None => (value, ""),
        };
        let (kind, subtype) = essence
            .trim()
            .split_once('/')
            .ok_or(MediaTypeError::NoSubtype)?;
        let (kind, subtype) = (token(kind)?, token(subtype)?);
        let mut params = Vec::new();
        // Each round reads `; name=value` (a value may be a quoted string holding `;`).
        loop {
            rest = rest.trim_start_matches([' ', '\t']);
            if rest.is_empty() {
                break;
            }
            let Some(after) = rest.strip_prefix(';') else {
                return Err(MediaTypeError::BadParameter(rest.to_owned()));
            };
            let after = after.trim_start_matches([' ', '\t']);
            if after.is_empty() || after.starts_with(';') {
                // An empty parameter (`text/html;;charset=x`) is allowed by the grammar.
                rest = after;
                continue;
            }
            let (name, value_and_rest) = after
                .split_once('=')
                .ok_or_else(|| MediaTypeError::BadParameter(after.to_owned()))?;
            let name = token(name)?;
            let (value, tail) = if let Some(quoted) = value_and_rest.strip_prefix('"') {
                unquote(quoted)?
            } else {
                let end = value_and_rest.find(';').unwrap_or(value_and_rest.len());
                let v = value_and_rest[..end].trim_end_matches([' ', '\t']);
                token(v)?;
                (v.to_owned(), &value_and_rest[end..])
            };
            params.push((name, value));
            rest = tail;
        }
        Ok(MediaType {
            kind,
            subtype,
            params,
        })
    }

    /// `application/json`, or an `application/*+json` type (RFC 6839's structured syntax
    /// suffix, such as `application/merge-patch+json`). Parameters play no part.
    pub fn is_json(&self) -> bool {
        self.kind == "application"
            && (self.subtype == "json"
                || self
                    .subtype
                    .strip_suffix("+json")
                    .is_some_and(|name| !name.is_empty()))
    }

    /// `application/json` with no parameter but `charset=utf-8` (any case, quoted or not).
    pub fn is_strict_json(&self) -> bool {
        self.kind == "application"
            && self.subtype == "json"
            && self
                .params
                .iter()
                .all(|(name, value)| name == "charset" && value.eq_ignore_ascii_case("utf-8"))
    }
}

/// The value of a quoted string that starts after its opening quote, and what follows it.
fn unquote(s: &str) -> Result<(String, &str), MediaTypeError> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, &s[i + 1..])),
            '\\' => match chars.next() {
                Some((_, escaped)) => out.push(escaped),
                None => break,
            },
            c => out.push(c),
        }
    }
    Err(MediaTypeError::OpenQuote)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> MediaType {
        MediaType::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    #[test]
    fn types_and_parameters_are_parsed() {
        let m = parse("Application/JSON ; Charset=\"UTF-8\";q=1");
        assert_eq!(
            (m.kind.as_str(), m.subtype.as_str()),
            ("application", "json")
        );
        assert_eq!(
            m.params,
            [
                ("charset".to_owned(), "UTF-8".to_owned()),
                ("q".to_owned(), "1".to_owned())
            ]
        );
        let m = parse(r#"text/plain; x="a;b\"c"; y=z"#);
        assert_eq!(m.params[0].1, "a;b\"c");
        assert_eq!(m.params[1], ("y".to_owned(), "z".to_owned()));
        for bad in [
            "",
            "json",
            "application/",
            "/json",
            "text/plain; x",
            "a/b; x=\"open",
            "a b/c",
        ] {
            assert!(MediaType::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn json_is_the_subtype_or_its_suffix_never_a_parameter() {
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "application/problem+json",
            "application/merge-patch+json; charset=utf-8",
        ] {
            assert!(parse(ok).is_json(), "{ok}");
        }
        for not in [
            "text/plain; x=+json",
            "text/plain; x=\"application/json\"",
            "text/plain;+json=1",
            "application/+json",
            "application/jsonx",
            "application/json-seq",
            "text/json+plain",
            "multipart/form-data; boundary=+json",
        ] {
            assert!(!parse(not).is_json(), "{not}");
        }
    }

    #[test]
    fn strict_json_allows_only_a_utf8_charset() {
        for ok in [
            "application/json",
            "application/json;charset=utf-8",
            "APPLICATION/JSON; CHARSET=\"UTF-8\"",
        ] {
            assert!(parse(ok).is_strict_json(), "{ok}");
        }
        for not in [
            "application/json; charset=latin1",
            "application/json; x=1",
            "application/json; charset=utf-8; x=+json",
            "application/problem+json",
            "text/plain; x=+json",
        ] {
            assert!(!parse(not).is_strict_json(), "{not}");
        }
    }
}
