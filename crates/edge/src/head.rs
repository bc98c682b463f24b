//! The first request head of a connection, read by the edge before hyper sees it: hyper answers
//! an over-long request line or head itself with an empty 414 or 431 (and only past 64 KiB and
//! about 400 KiB), which no handler can turn into problem+json. Reading the head here also puts
//! the header timeout on the first bytes of a connection, where hyper's HTTP/1-or-2 detection
//! would otherwise wait forever.
//!
//! The bytes read are replayed to hyper ([`Rewind`]). Later requests of a kept-alive connection
//! are hyper's: its header timeout and buffer limit (set from the same keys) apply there, and
//! its bodiless 400, 414 and 431 are replaced on their way out by problem+json
//! ([`replacement`]).

use crate::activity::Activity;
use axum::http::StatusCode;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

/// The client preface every HTTP/2 connection opens with (RFC 9113, 3.4).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Whether a connection's first bytes are the HTTP/2 client preface.
pub fn is_h2(first: &[u8]) -> bool {
    first.starts_with(H2_PREFACE)
}

/// What the bytes read so far say.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Read more.
    Incomplete,
    /// A whole head within the limits (or an HTTP/2 preface): hand the connection to hyper.
    Pass,
    /// The request line is longer than allowed: 414.
    LineTooLong,
    /// The head is longer than allowed: 431.
    HeadTooLarge,
}

/// Judges the start of a connection from all its bytes so far: the reference the incremental
/// [`Scanner`] is tested against.
#[cfg(test)]
fn judge(buf: &[u8], max_line: usize, max_head: usize) -> Verdict {
    Scanner::default().feed(buf, max_line, max_head)
}

/// Judges the start of a connection as its bytes arrive (pure, so the limits are tested
/// without sockets): each call scans only what is new (a client sending one byte
/// per packet must not make us rescan the head each time).
#[derive(Debug, Default)]
pub struct Scanner {
    line_end: Option<usize>,
    scanned: usize,
}

impl Scanner {
    pub fn feed(&mut self, buf: &[u8], max_line: usize, max_head: usize) -> Verdict {
        let n = buf.len().min(H2_PREFACE.len());
        if self.line_end.is_none() && n > 0 && buf[..n] == H2_PREFACE[..n] {
            return if buf.len() >= H2_PREFACE.len() {
                Verdict::Pass
            } else {
                Verdict::Incomplete
            };
        }
        let line_end = match self.line_end {
            Some(e) => e,
            // httparse takes a bare LF as a line end too; so does this.
            None => match buf[self.scanned..].iter().position(|b| *b == b'\n') {
                Some(i) => {
                    let e = self.scanned + i;
                    let line = &buf[..e];
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    if line.len() > max_line {
                        return Verdict::LineTooLong;
                    }
                    self.line_end = Some(e);
                    self.scanned = e;
                    e
                }
                None => {
                    self.scanned = buf.len();
                    return if buf.len() > max_line {
                        Verdict::LineTooLong
                    } else {
                        Verdict::Incomplete
                    };
                }
            },
        };
        // The head ends at an empty line: LF (CR)LF from the request line's end on. The two
        // bytes before the new ones are scanned again, for an end split across reads.
        let from = self.scanned.saturating_sub(2).max(line_end);
        let rest = &buf[from..];
        let lf = rest.windows(2).position(|w| w == b"\n\n");
        let crlf = rest.windows(3).position(|w| w == b"\n\r\n");
        self.scanned = buf.len();
        let head_end = match (lf, crlf) {
            (Some(a), Some(b)) => Some(from + a.min(b)),
            (a, b) => a.or(b).map(|i| from + i),
        };
        match head_end {
            Some(end) if end > max_head => Verdict::HeadTooLarge,
            Some(_) => Verdict::Pass,
            None if buf.len() > max_head => Verdict::HeadTooLarge,
            None => Verdict::Incomplete,
        }
    }
}

/// How the first head ended, when it does not go on to hyper.
pub enum Refused {
    /// The client closed (or the read failed) before a whole head.
    Closed,
    /// Too long: the answer has been written.
    Answered(Verdict),
}

/// Reads until [`judge`] decides. The caller bounds the time. Memory is at most the head limit
/// plus one read.
pub async fn read_head<I: AsyncRead + AsyncWrite + Unpin>(
    io: &mut I,
    max_line: usize,
    max_head: usize,
) -> Result<Vec<u8>, Refused> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let mut scanner = Scanner::default();
    loop {
        let n = match io.read(&mut chunk).await {
            Ok(0) | Err(_) => return Err(Refused::Closed),
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        match scanner.feed(&buf, max_line, max_head) {
            Verdict::Incomplete => {}
            Verdict::Pass => return Ok(buf),
            refused => {
                let (status, slug, title, detail) = match refused {
                    Verdict::LineTooLong => (
                        StatusCode::URI_TOO_LONG,
                        "uri-too-long",
                        "URI too long",
                        format!(
                            "the request line is longer than {max_line} bytes; shorten the URL (send large input in a body)"
                        ),
                    ),
                    _ => (
                        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                        "headers-too-large",
                        "Request header fields too large",
                        format!(
                            "the request's line and headers are longer than {max_head} bytes; send fewer or shorter headers"
                        ),
                    ),
                };
                let _ = io
                    .write_all(&problem_response(status, slug, title, &detail))
                    .await;
                let _ = io.shutdown().await;
                return Err(Refused::Answered(refused));
            }
        }
    }
}

/// A whole HTTP/1.1 problem+json answer that closes the connection, for the edge's own
/// refusals (before or outside the router).
pub fn problem_response(status: StatusCode, slug: &str, title: &str, detail: &str) -> Vec<u8> {
    let body = serde_json::json!({
        "type": format!("urn:waypost:problem:{slug}"),
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
    })
    .to_string();
    let retry = if status == StatusCode::SERVICE_UNAVAILABLE {
        "retry-after: 1\r\n"
    } else {
        ""
    };
    format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/problem+json\r\ncontent-length: {}\r\nconnection: close\r\n{retry}\r\n{body}",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    )
    .into_bytes()
}

/// hyper's own answer to a request it cannot parse: a 400, 414 or 431 with no body, written
/// before any handler could shape it. Recognised by its status and by having neither a body nor
/// a content type (every answer of the router's has one); the problem+json that replaces it.
pub fn replacement(written: &[u8]) -> Option<Vec<u8>> {
    let head_end = written.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&written[..head_end])
        .ok()?
        .to_ascii_lowercase();
    let status = head.strip_prefix("http/1.1 ")?.get(..3)?;
    let bodiless = head.contains("\r\ncontent-length: 0") && !head.contains("\r\ncontent-type:");
    if !bodiless || written.len() != head_end + 4 {
        return None;
    }
    let (status, slug, title, detail) = match status {
        "400" => (
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Bad request",
            "the request is not valid HTTP/1.1 (its line or a header is malformed); fix the client",
        ),
        "414" => (
            StatusCode::URI_TOO_LONG,
            "uri-too-long",
            "URI too long",
            "the request target is too long; shorten the URL (send large input in a body)",
        ),
        "431" => (
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers-too-large",
            "Request header fields too large",
            "the request's headers are too large; send fewer or shorter headers",
        ),
        _ => return None,
    };
    Some(problem_response(status, slug, title, detail))
}

/// The connection's IO as hyper sees it: gives back `prefix` (the first head, read by the
/// edge) before reading on from `inner`, and writes [`replacement`]s for hyper's bodiless
/// error answers, so those are problem+json too, on any request of the connection.
pub struct Rewind<I> {
    prefix: Vec<u8>,
    at: usize,
    inner: I,
    /// For HTTP/1.1: told when bytes arrive, which may begin a next request's head.
    heads: Option<Activity>,
    /// A replacement being written: its bytes, how many are out, and how many of hyper's
    /// bytes it stands for (reported written once it is all out).
    swap: Option<(Vec<u8>, usize, usize)>,
}

impl<I> Rewind<I> {
    pub fn new(prefix: Vec<u8>, inner: I, heads: Option<Activity>) -> Self {
        Rewind {
            prefix,
            at: 0,
            inner,
            heads,
            swap: None,
        }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Rewind<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.at < this.prefix.len() {
            let rest = &this.prefix[this.at..];
            let n = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..n]);
            this.at += n;
            if this.at == this.prefix.len() {
                // The head is hyper's now; free it.
                this.prefix = Vec::new();
                this.at = 0;
            }
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let (Some(a), Poll::Ready(Ok(()))) = (&this.heads, &r)
            && buf.filled().len() > before
        {
            a.bytes_arrived();
        }
        r
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Rewind<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.swap.is_none()
            && buf.starts_with(b"HTTP/1.1 4")
            && let Some(bytes) = replacement(buf)
        {
            this.swap = Some((bytes, 0, buf.len()));
        }
        let Some((bytes, out, stands_for)) = &mut this.swap else {
            return Pin::new(&mut this.inner).poll_write(cx, buf);
        };
        // hyper calls again with the same bytes while this is pending.
        while *out < bytes.len() {
            match Pin::new(&mut this.inner).poll_write(cx, &bytes[*out..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => *out += n,
                other => return other,
            }
        }
        let n = *stands_for;
        this.swap = None;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    // Not vectored: hyper then writes each answer's head as one buffer (its "flatten"
    // strategy), which is what [`replacement`] recognises.
    fn is_write_vectored(&self) -> bool {
        false
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_judged_by_line_and_size() {
        let j = |s: &[u8]| judge(s, 20, 60);
        assert_eq!(j(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"), Verdict::Pass);
        assert_eq!(j(b"GET / HTTP/1.1\nHost: a\n\n"), Verdict::Pass);
        assert_eq!(j(b"GET / HTTP/1.1\r\nHost: a\r\n"), Verdict::Incomplete);
        assert_eq!(j(b"GET / HTT"), Verdict::Incomplete);
        assert_eq!(j(b""), Verdict::Incomplete);
        // Too long before its end is seen, and with its end in the same read.
        assert_eq!(j(b"GET /aaaaaaaaaaaaaaaaaaaa"), Verdict::LineTooLong);
        assert_eq!(
            j(b"GET /aaaaaaaaaaaaaaaa HTTP/1.1\r\n\r\n"),
            Verdict::LineTooLong
        );
        // Exactly at the limit passes (the CR is not part of the line).
        assert_eq!(j(b"GET /aaaaaa HTTP/1.1\r\n\r\n"), Verdict::Pass);
        let big = [&b"GET / HTTP/1.1\r\n"[..], &[b'x'; 50], b": y\r\n"].concat();
        assert_eq!(j(&big), Verdict::HeadTooLarge);
        assert_eq!(j(&[&big[..], b"\r\n"].concat()), Verdict::HeadTooLarge);
        // The HTTP/2 preface passes once whole, whatever the limits.
        assert_eq!(j(&H2_PREFACE[..10]), Verdict::Incomplete);
        assert_eq!(judge(H2_PREFACE, 1, 1), Verdict::Pass);
    }

    proptest::proptest! {
        /// Fed in pieces of any size, the scanner decides as `judge` does on the whole.
        #[test]
        fn feeding_in_pieces_agrees_with_judging_the_whole(
            head in proptest::collection::vec(proptest::sample::select(b"GET /a\r\n:x".to_vec()), 0..80),
            cuts in proptest::collection::vec(1usize..9, 1..40),
        ) {
            let mut s = Scanner::default();
            let mut at = 0;
            let mut fed = Verdict::Incomplete;
            for c in cuts.iter().cycle() {
                if at >= head.len() { break; }
                at = (at + c).min(head.len());
                fed = s.feed(&head[..at], 12, 40);
                if fed != Verdict::Incomplete { break; }
            }
            // Deciding as soon as a piece allows is what judging that much at once says.
            proptest::prop_assert_eq!(fed, judge(&head[..at], 12, 40));
        }
    }

    #[test]
    fn only_hypers_bodiless_parse_errors_are_replaced() {
        let hyper_400 = b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\ndate: Mon, 07 Dec 2026 14:21:59 GMT\r\n\r\n";
        let r = String::from_utf8(replacement(hyper_400).unwrap()).unwrap();
        assert!(r.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{r}");
        assert!(r.contains("content-type: application/problem+json"));
        let body: serde_json::Value =
            serde_json::from_str(r.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(body["type"], "urn:waypost:problem:bad-request");
        for (status, slug) in [
            ("414 URI Too Long", "uri-too-long"),
            ("431 Request Header Fields Too Large", "headers-too-large"),
        ] {
            let h = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n");
            let r = String::from_utf8(replacement(h.as_bytes()).unwrap()).unwrap();
            assert!(r.contains(slug), "{r}");
        }
        // The router's own answers, successes, and anything with a body stay as they are.
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/problem+json\r\ncontent-length: 0\r\n\r\n";
        assert!(replacement(ours).is_none());
        assert!(replacement(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n").is_none());
        assert!(
            replacement(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\nextra").is_none()
        );
        assert!(replacement(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
    }

    #[tokio::test]
    async fn a_long_line_is_answered_with_problem_json_and_a_good_head_is_replayed() {
        let (mut client, mut server) = tokio::io::duplex(1 << 16);
        let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(100));
        client.write_all(long.as_bytes()).await.unwrap();
        let r = read_head(&mut server, 50, 1000).await;
        assert!(matches!(r, Err(Refused::Answered(Verdict::LineTooLong))));
        drop(server);
        let mut answer = String::new();
        client.read_to_string(&mut answer).await.unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 414 URI Too Long\r\n"),
            "{answer}"
        );
        assert!(answer.contains("content-type: application/problem+json"));
        let body = answer.split("\r\n\r\n").nth(1).unwrap();
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["status"], 414);

        let (mut client, server) = tokio::io::duplex(1 << 16);
        let mut server = server;
        client
            .write_all(b"POST / HTTP/1.1\r\ncontent-length: 3\r\n\r\nabc")
            .await
            .unwrap();
        let head = read_head(&mut server, 50, 1000).await.ok().unwrap();
        let mut rewound = Rewind::new(head, server, None);
        drop(client);
        let mut all = String::new();
        rewound.read_to_string(&mut all).await.unwrap();
        assert_eq!(all, "POST / HTTP/1.1\r\ncontent-length: 3\r\n\r\nabc");
    }
}
