//! An incremental parser for `text/event-stream` frames, fed the raw chunks of a response body.
//! Chunk boundaries fall anywhere (inside a line, between `\r` and `\n`, inside a UTF-8
//! sequence), so the parser keeps the unfinished tail and only ever decodes whole lines.
//! It follows the WHATWG event-stream rules that matter here: lines end in `\r\n`, `\n` or `\r`;
//! `:` starts a comment; `data` lines accumulate joined by `\n`; a blank line dispatches.

/// One dispatched message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseMessage {
    pub id: Option<String>,
    /// The `event:` field; `None` means the default type (`message`).
    pub event: Option<String>,
    pub data: String,
}

#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes received but not yet consumed as whole lines.
    pending: Vec<u8>,
    /// The message being assembled from the lines seen since the last blank line.
    id: Option<String>,
    event: Option<String>,
    data: String,
    has_data: bool,
}

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one chunk and appends every message it completes to `out`. Taking `out` from the
    /// caller lets the stream reader reuse one buffer for the whole run.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<SseMessage>) {
        self.pending.extend_from_slice(chunk);
        let mut start = 0;
        while let Some(rel) = self.pending[start..]
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
        {
            let end = start + rel;
            let next = if self.pending[end] == b'\r' {
                match self.pending.get(end + 1) {
                    Some(b'\n') => end + 2,
                    Some(_) => end + 1,
                    // A `\r` at the very end may be the first half of `\r\n`: wait for the next
                    // chunk, otherwise its `\n` would be read as an extra blank line.
                    None => break,
                }
            } else {
                end + 1
            };
            // Only whole lines are decoded, so a UTF-8 sequence split by a chunk is never cut.
            let line = String::from_utf8_lossy(&self.pending[start..end]).into_owned();
            self.line(&line, out);
            start = next;
        }
        // Drained once per chunk rather than once per line, so a chunk of many lines stays linear.
        self.pending.drain(..start);
    }

    fn line(&mut self, line: &str, out: &mut Vec<SseMessage>) {
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line.starts_with(':') {
            return; // comment, e.g. `: keepalive`
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.event = Some(value.to_owned()),
            // The spec ignores ids containing NUL; there is no reason to be stricter.
            "id" if !value.contains('\0') => self.id = Some(value.to_owned()),
            _ => {} // `retry` and unknown fields do not matter to a benchmark
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseMessage>) {
        let event = self.event.take();
        // A frame with no data line is not a message (the spec drops it too).
        if !self.has_data {
            return;
        }
        self.has_data = false;
        out.push(SseMessage {
            id: self.id.clone(),
            event,
            data: std::mem::take(&mut self.data),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_chunks(chunks: &[&[u8]]) -> Vec<SseMessage> {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for c in chunks {
            p.push(c, &mut out);
        }
        out
    }

    fn msg(id: Option<&str>, event: Option<&str>, data: &str) -> SseMessage {
        SseMessage {
            id: id.map(str::to_owned),
            event: event.map(str::to_owned),
            data: data.to_owned(),
        }
    }

    const TWO: &[u8] =
        b"id: 1\nevent: change\ndata: {\"seq\":1}\n\nid: 2\nevent: change\ndata: {\"seq\":2}\n\n";

    #[test]
    fn parses_whole_frames() {
        assert_eq!(
            parse_chunks(&[TWO]),
            vec![
                msg(Some("1"), Some("change"), "{\"seq\":1}"),
                msg(Some("2"), Some("change"), "{\"seq\":2}"),
            ]
        );
    }

    #[test]
    fn every_split_point_gives_the_same_messages() {
        let want = parse_chunks(&[TWO]);
        for cut in 0..=TWO.len() {
            assert_eq!(
                parse_chunks(&[&TWO[..cut], &TWO[cut..]]),
                want,
                "cut at {cut}"
            );
        }
        // One byte at a time is the worst case of chunking.
        let bytes: Vec<&[u8]> = TWO.chunks(1).collect();
        assert_eq!(parse_chunks(&bytes), want);
    }

    #[test]
    fn crlf_and_lone_cr_end_lines() {
        let crlf = b"id: 7\r\nevent: change\r\ndata: x\r\n\r\n";
        let want = vec![msg(Some("7"), Some("change"), "x")];
        assert_eq!(parse_chunks(&[crlf]), want);
        // A split between `\r` and `\n` must not produce an extra blank line.
        for cut in 0..=crlf.len() {
            assert_eq!(
                parse_chunks(&[&crlf[..cut], &crlf[cut..]]),
                want,
                "cut at {cut}"
            );
        }
        // Old Mac line ends; the final `\r` is only known to end a line once the next byte comes.
        assert_eq!(
            parse_chunks(&[b"data: y\r\r: next"]),
            vec![msg(None, None, "y")]
        );
        assert!(parse_chunks(&[b"data: y\r\r"]).is_empty());
    }

    #[test]
    fn comments_and_data_less_frames_are_skipped() {
        let input = b": keepalive\n\n: another\nevent: change\ndata: z\n\n:tail\n\n";
        assert_eq!(parse_chunks(&[input]), vec![msg(None, Some("change"), "z")]);
        // An `event:` without data must not leak into the next message.
        let input = b"event: ping\n\ndata: a\n\n";
        assert_eq!(parse_chunks(&[input]), vec![msg(None, None, "a")]);
    }

    #[test]
    fn multi_line_data_is_joined_with_newlines() {
        let input = b"data: {\"a\":\ndata:1}\ndata\n\n";
        assert_eq!(
            parse_chunks(&[input]),
            vec![msg(None, None, "{\"a\":\n1}\n")]
        );
    }

    #[test]
    fn an_unfinished_frame_is_held_back() {
        assert!(parse_chunks(&[b"id: 3\ndata: partial\n"]).is_empty());
    }

    #[test]
    fn utf8_split_across_chunks_survives() {
        let input = "data: café ✓\n\n".as_bytes();
        for cut in 0..=input.len() {
            assert_eq!(
                parse_chunks(&[&input[..cut], &input[cut..]]),
                vec![msg(None, None, "café ✓")],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn the_last_id_carries_over_like_the_spec_says() {
        // The spec keeps the last event id across messages; the reader uses `seq` from the data
        // anyway, but the parser should not invent a different rule.
        let input = b"id: 5\ndata: a\n\ndata: b\n\n";
        assert_eq!(
            parse_chunks(&[input]),
            vec![msg(Some("5"), None, "a"), msg(Some("5"), None, "b")]
        );
    }
}
