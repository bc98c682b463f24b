//! A strict, minimal JSON reader for a source's fast path: it reads the common shape of a
//! document straight into the source's borrowed types, and gives up (`None`) on anything it does
//! not handle itself: an escaped key, a surrogate escape, deep nesting, a value of an unexpected
//! type, a field given twice. The caller then parses the document again with serde_json, which
//! decides, so every refusal and every error message stays serde_json's.
//!
//! The one rule that makes this safe: it never accepts a document serde_json would refuse, and
//! what it reads is what serde_json would have read. Hence it is stricter than JSON where that
//! is rare (escaped keys, surrogates) and validates what it skips (strings, numbers, literals,
//! nesting) by the JSON grammar.

use std::borrow::Cow;

/// `None` means "not on the fast path": parse the document with serde_json instead.
pub(crate) type Fast<T> = Option<T>;

/// Ignored values nest at most this deep before the fast path gives up (serde_json's own limit is
/// 128; real documents nest a few levels).
const MAX_SKIP_DEPTH: u32 = 32;

pub(crate) struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Cursor { text, pos: 0 }
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// The next byte that is not JSON white space, not consumed.
    fn peek(&mut self) -> Fast<u8> {
        let bytes = self.bytes();
        while let Some(&b) = bytes.get(self.pos) {
            if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                return Some(b);
            }
            self.pos += 1;
        }
        None
    }

    fn eat(&mut self, want: u8) -> Fast<()> {
        (self.peek()? == want).then(|| self.pos += 1)
    }

    /// Only white space is left: what serde_json demands after the value.
    pub(crate) fn end(mut self) -> Fast<()> {
        self.peek().is_none().then_some(())
    }

    /// Consumes `null` if it comes next.
    pub(crate) fn null(&mut self) -> Fast<bool> {
        if self.peek()? != b'n' {
            return Some(false);
        }
        self.literal("null")?;
        Some(true)
    }

    fn literal(&mut self, word: &str) -> Fast<()> {
        let end = self.pos + word.len();
        (self.bytes().get(self.pos..end)? == word.as_bytes()).then(|| self.pos = end)
    }

    /// A string without escapes, borrowed from the document (keys: serde would match a key
    /// only after unescaping it, so an escaped key leaves the fast path).
    pub(crate) fn str(&mut self) -> Fast<&'a str> {
        self.eat(b'"')?;
        let plain = self.plain()?;
        self.eat_quote()?;
        Some(plain)
    }

    /// A string value, unescaped: borrowed unless it has an escape, like serde_json's.
    pub(crate) fn string(&mut self) -> Fast<Cow<'a, str>> {
        self.eat(b'"')?;
        let plain = self.plain()?;
        if self.eat_quote().is_some() {
            return Some(Cow::Borrowed(plain));
        }
        self.unescape(plain).map(Cow::Owned)
    }

    /// The rest of a string that has an escape, after its first `plain` run. Kept out of line:
    /// most strings have none, and [`Self::string`] stays small enough to inline.
    #[cold]
    fn unescape(&mut self, plain: &str) -> Fast<String> {
        let mut out = String::from(plain);
        loop {
            self.escape(&mut out)?;
            out.push_str(self.plain()?);
            if self.eat_quote().is_some() {
                return Some(out);
            }
        }
    }

    /// The run of a string up to its closing quote or next escape, which is left unread. A
    /// control character, which JSON forbids in strings, leaves the fast path.
    fn plain(&mut self) -> Fast<&'a str> {
        let start = self.pos;
        let len = self
            .bytes()
            .get(start..)?
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        self.pos = start + len;
        // Both ends sit next to an ASCII byte, so they are character boundaries.
        self.text.get(start..start + len)
    }

    fn eat_quote(&mut self) -> Fast<()> {
        (self.bytes().get(self.pos) == Some(&b'"')).then(|| self.pos += 1)
    }

    /// One escape, appended to `out` as serde_json decodes it. A `\u` escape of a surrogate
    /// (half of a pair, or a lone one, which serde_json refuses) leaves the fast path.
    fn escape(&mut self, out: &mut String) -> Fast<()> {
        let Some(&[b'\\', kind]) = self.bytes().get(self.pos..self.pos + 2) else {
            return None;
        };
        self.pos += 2;
        let c = match kind {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hex = self.text.get(self.pos..self.pos + 4)?;
                // `from_str_radix` would also take a sign.
                if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return None;
                }
                self.pos += 4;
                char::from_u32(u32::from_str_radix(hex, 16).ok()?)?
            }
            _ => return None,
        };
        out.push(c);
        Some(())
    }

    /// An object, each key handed to `field` with the cursor on its value, which `field` must
    /// consume.
    pub(crate) fn object(
        &mut self,
        mut field: impl FnMut(&mut Self, &'a str) -> Fast<()>,
    ) -> Fast<()> {
        self.eat(b'{')?;
        if self.peek()? == b'}' {
            self.pos += 1;
            return Some(());
        }
        loop {
            let key = self.str()?;
            self.eat(b':')?;
            field(self, key)?;
            match self.peek()? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// An array, `item` called with the cursor on each element, which it must consume.
    pub(crate) fn array(&mut self, mut item: impl FnMut(&mut Self) -> Fast<()>) -> Fast<()> {
        self.eat(b'[')?;
        if self.peek()? == b']' {
            self.pos += 1;
            return Some(());
        }
        loop {
            item(self)?;
            match self.peek()? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Any value, validated and thrown away: what serde does with a field it does not know.
    pub(crate) fn skip(&mut self) -> Fast<()> {
        self.skip_at(0)
    }

    fn skip_at(&mut self, depth: u32) -> Fast<()> {
        if depth > MAX_SKIP_DEPTH {
            return None;
        }
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' => self.object(|c, _| c.skip_at(depth + 1)),
            b'[' => self.array(|c| c.skip_at(depth + 1)),
            b'n' => self.literal("null"),
            b't' => self.literal("true"),
            b'f' => self.literal("false"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, the JSON grammar serde_json enforces.
    fn number(&mut self) -> Fast<()> {
        let bytes = self.bytes();
        let at = |i: usize| bytes.get(i).copied();
        let digits = |mut i: usize| {
            while at(i).is_some_and(|b| b.is_ascii_digit()) {
                i += 1;
            }
            i
        };
        let mut i = self.pos;
        if at(i) == Some(b'-') {
            i += 1;
        }
        match at(i)? {
            b'0' => i += 1,
            b'1'..=b'9' => i = digits(i + 1),
            _ => return None,
        }
        if at(i) == Some(b'.') {
            let end = digits(i + 1);
            if end == i + 1 {
                return None;
            }
            i = end;
        }
        if matches!(at(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(at(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let end = digits(i);
            if end == i {
                return None;
            }
            i = end;
        }
        self.pos = i;
        Some(())
    }
}

/// Reads an object into a struct: `field(key)` numbers the keys the struct knows (below 32),
/// `read(cursor, number)` reads such a key's value; other keys are skipped. A field given twice
/// leaves the fast path, as serde refuses it. The numbering is a `match` on string literals,
/// which compiles to a few integer compares instead of a `memcmp` per candidate name.
pub(crate) fn fields<'a>(
    c: &mut Cursor<'a>,
    field: impl Fn(&str) -> Option<u32>,
    mut read: impl FnMut(&mut Cursor<'a>, u32) -> Fast<()>,
) -> Fast<()> {
    let mut seen = 0u32;
    c.object(|c, key| match field(key) {
        Some(i) => {
            let bit = 1u32.checked_shl(i)?;
            if seen & bit != 0 {
                return None;
            }
            seen |= bit;
            read(c, i)
        }
        None => c.skip(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn skips(s: &str) -> bool {
        let mut c = Cursor::new(s);
        c.skip().is_some() && c.end().is_some()
    }

    #[test]
    fn what_it_accepts_serde_json_accepts() {
        for s in [
            r#"{"a":[1,-0,0.5,1e9,1E-2,-12.5e+3,true,false,null,"x",{}],"b":[]}"#,
            " { \"a\" : [ 1 , 2 ] }\n",
            "\"é\"",
            "0",
            r#"["a\nb","\u00e9\/\"\\\b\f\r\t","\u0000\uFFFF"]"#,
        ] {
            assert!(skips(s), "{s}");
            assert!(
                serde_json::from_str::<serde::de::IgnoredAny>(s).is_ok(),
                "{s}"
            );
        }
    }

    #[test]
    fn gives_up_on_what_it_does_not_handle_or_json_forbids() {
        for s in [
            "01",
            "1.",
            ".5",
            "-",
            "1e",
            "1e+",
            "+1",
            "tru",
            "nul",
            "[1,]",
            "{\"a\":1,}",
            "{,}",
            "[1 2]",
            "{\"a\" 1}",
            "\"a\\xb\"",
            "\"\\ud800\"",
            "\"\\u00\"",
            "\"\\u+0ab\"",
            "{\"\\u0061\":1}",
            "\"a\\",
            "\"a\tb\"",
            "\"abc",
            "{\"a\":1}x",
            "[",
            "NaN",
        ] {
            assert!(!skips(s), "{s}");
        }
        let deep = format!("{}{}", "[".repeat(40), "]".repeat(40));
        assert!(!skips(&deep));
    }

    #[test]
    fn strings_unescape_as_serde_json_does() {
        for s in [
            r#""plain""#,
            r#""a\nb""#,
            r#""\"\\\/\b\f\n\r\t""#,
            r#""\u00e9t\u00C9\u0000\u20ac""#,
            r#""x\u0041""#,
            r#""\\""#,
            "\"é\\n€\"",
        ] {
            let mut c = Cursor::new(s);
            let got = c.string().unwrap();
            assert!(c.end().is_some());
            let want: String = serde_json::from_str(s).unwrap();
            assert_eq!(got, want, "{s}");
            assert_eq!(matches!(got, Cow::Borrowed(_)), !s.contains('\\'), "{s}");
        }
        for s in [
            r#""\ud83d\ude00""#,
            r#""\udc00""#,
            r#""\q""#,
            "\"\\u00e\"",
            "\"a",
        ] {
            assert!(Cursor::new(s).string().is_none(), "{s}");
        }
    }

    #[test]
    fn fields_refuse_duplicates_and_skip_the_rest() {
        fn read(s: &str) -> Option<Vec<(u32, &str)>> {
            let mut c = Cursor::new(s);
            let mut got = Vec::new();
            let field = |k: &str| match k {
                "a" => Some(0),
                "b" => Some(1),
                _ => None,
            };
            fields(&mut c, field, |c, i| {
                got.push((i, c.str()?));
                Some(())
            })
            .map(|()| got)
        }
        assert_eq!(
            read(r#"{"x":{"a":1},"b":"2","a":"1"}"#).unwrap(),
            vec![(1, "2"), (0, "1")]
        );
        assert!(read(r#"{"a":"1","a":"2"}"#).is_none());
        assert!(read(r#"{"x":1,"x":2}"#).unwrap().is_empty());
    }
}
