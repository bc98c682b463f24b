//! The SMTP receiver: a plain (no TLS) ESMTP server on its own port, one task per
//! connection. The dialogue is `session.rs`; this loop reads bounded lines, writes replies
//! and, at the end of DATA, reads the message's headers and lets the receivers decide.

mod message;
mod session;

use super::{Channel, Extras, Receivers, Verdict, delivery};
use session::{Limits, Mail, Session, Step};
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

const HOST: &str = "waypost-sim";
/// RFC 5321 4.5.3.2.7: a server should wait at least five minutes for the next command.
const IDLE: Duration = Duration::from_secs(300);

/// Serves SMTP on `listener` until the task is aborted.
pub(crate) fn spawn(listener: TcpListener, r: Arc<Receivers>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let r = r.clone();
                    tokio::spawn(async move {
                        if let Err(e) = connection(stream, &r).await {
                            tracing::debug!(error = %e, "smtp connection ended");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "smtp accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    })
}

async fn connection(stream: TcpStream, r: &Receivers) -> io::Result<()> {
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    let ch = Channel::Email;
    if r.down(ch) {
        r.count(ch, |c| {
            c.received += 1;
            c.rejected_injected += 1;
            c.rejected_outage += 1;
        });
        wr.write_all(format!("421 4.3.2 {HOST} receiver outage, try later\r\n").as_bytes())
            .await?;
        return wr.shutdown().await;
    }
    let mut s = Session::new(HOST, Limits::new(r.config().max_message_bytes));
    wr.write_all(s.greeting().as_bytes()).await?;
    let mut line = Vec::new();
    loop {
        let read = tokio::time::timeout(IDLE, read_line(&mut rd, &mut line, s.line_limit())).await;
        let step = match read {
            Err(_) => Step::Close("421 4.4.2 idle too long, closing\r\n".into()),
            Ok(Err(e)) => return Err(e),
            Ok(Ok(Read::Eof)) => return Ok(()),
            Ok(Ok(Read::TooLong)) => s.line_too_long(),
            Ok(Ok(Read::Line)) => s.line(&line),
        };
        match step {
            Step::Nothing => {}
            Step::Reply(text) => wr.write_all(text.as_bytes()).await?,
            Step::Close(text) => {
                wr.write_all(text.as_bytes()).await?;
                return wr.shutdown().await;
            }
            Step::Message(mail) => wr.write_all(finish(r, &mail).as_bytes()).await?,
            Step::Refused(text) => {
                r.count(ch, |c| {
                    c.received += 1;
                    c.malformed += 1;
                });
                wr.write_all(text.as_bytes()).await?;
            }
        }
    }
}

/// The reply to a complete message: 250 when accepted (again), 451 for an injected failure or
/// the outage, 554 when it lacks what identifies a notification.
fn finish(r: &Receivers, mail: &Mail) -> String {
    let ch = Channel::Email;
    if r.arrive(ch) {
        return "451 4.3.2 receiver outage, try later\r\n".into();
    }
    let h = message::headers(&mail.data);
    let get = |name: &str| h.get(name).map(String::as_str);
    let msg_id = get("x-waypost-notification-id")
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .or_else(|| get("message-id").and_then(message::message_id));
    let order = get("x-waypost-order").map(str::trim);
    let seq = get("x-waypost-transition").and_then(|v| v.trim().parse::<u64>().ok());
    let to = get("to")
        .and_then(message::address)
        .or_else(|| mail.recipients.first().map(String::as_str));
    let (Some(msg_id), Some(order), Some(seq), Some(to)) = (msg_id, order, seq, to) else {
        r.count(ch, |c| c.malformed += 1);
        return "554 5.6.0 Message-ID, X-Waypost-Order and X-Waypost-Transition are required\r\n"
            .into();
    };
    let extras = Extras {
        tenant: get("x-waypost-tenant"),
        trigger: get("x-waypost-trigger"),
        changed_at: get("x-waypost-changed-at"),
    };
    match r.deliver(&delivery(ch, to, order, seq, msg_id, &extras)) {
        Verdict::Injected(_) => "451 4.3.0 transient failure, try again\r\n".into(),
        Verdict::Accepted(_) => format!("250 2.0.0 OK queued as {msg_id}\r\n"),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Read {
    Line,
    TooLong,
    Eof,
}

/// Reads one line into `out` without its line end (CRLF, or a bare LF, tolerated). A line
/// longer than `max` is consumed to its end and reported as `TooLong`, never buffered whole.
async fn read_line<R: AsyncBufRead + Unpin>(
    r: &mut R,
    out: &mut Vec<u8>,
    max: usize,
) -> io::Result<Read> {
    out.clear();
    let mut over = false;
    loop {
        let buf = r.fill_buf().await?;
        if buf.is_empty() {
            // The peer closed; a partial line without its end is not a command.
            return Ok(Read::Eof);
        }
        let (take, ended) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i, true),
            None => (buf.len(), false),
        };
        if !over {
            out.extend_from_slice(&buf[..take]);
            // `max` plus room for the CR.
            if out.len() > max + 1 {
                over = true;
                out.clear();
            }
        }
        r.consume(take + usize::from(ended));
        if ended {
            break;
        }
    }
    if out.last() == Some(&b'\r') {
        out.pop();
    }
    if over || out.len() > max {
        out.clear();
        return Ok(Read::TooLong);
    }
    Ok(Read::Line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_are_bounded() {
        let input = b"EHLO a\r\nshort\nxxxxxxxxxxxxxxxxxxxx\r\nlast\r\npartial".to_vec();
        let mut rd = BufReader::with_capacity(4, &input[..]);
        let mut line = Vec::new();
        let mut got = Vec::new();
        loop {
            let r = read_line(&mut rd, &mut line, 8).await.unwrap();
            if r == Read::Eof {
                break;
            }
            got.push((r, String::from_utf8_lossy(&line).into_owned()));
        }
        assert_eq!(
            got,
            [
                (Read::Line, "EHLO a".to_owned()),
                (Read::Line, "short".to_owned()),
                (Read::TooLong, String::new()),
                (Read::Line, "last".to_owned()),
            ]
        );
    }
}
