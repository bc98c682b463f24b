//! One SMTP session as a pure state machine (RFC 5321): lines in, replies out. The server
//! loop feeds it lines without their CRLF; at the end of DATA it hands back the message and
//! the loop decides the final reply.

/// Limits of a session.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest command line, CRLF excluded (RFC 5321 4.5.3.1.4: 512 with CRLF).
    pub command_line: usize,
    /// Longest text line in DATA, CRLF excluded (4.5.3.1.6: 1000 with CRLF).
    pub text_line: usize,
    /// Largest message (advertised as `SIZE`).
    pub message: usize,
    /// Most recipients per message (4.5.3.1.8: at least 100).
    pub recipients: usize,
}

impl Limits {
    pub fn new(message: usize) -> Limits {
        Limits {
            command_line: 510,
            text_line: 998,
            message,
            recipients: 100,
        }
    }
}

/// A message received at the end of DATA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub from: String,
    pub recipients: Vec<String>,
    /// The content, dot-unstuffed, lines ending in CRLF.
    pub data: Vec<u8>,
}

/// What the loop does after a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send this reply (possibly several lines, each ending CRLF).
    Reply(String),
    /// Send this reply and close.
    Close(String),
    /// A line of message content: nothing to send.
    Nothing,
    /// The end of DATA: the loop answers 250 or a failure.
    Message(Mail),
    /// The end of DATA of a message refused for its size or a line's length: send this.
    Refused(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Connected, no EHLO/HELO yet.
    Start,
    /// Greeted, no transaction.
    Ready,
    /// MAIL given (recipients maybe).
    Mail,
    /// Reading content.
    Data,
}

pub struct Session {
    limits: Limits,
    phase: Phase,
    host: &'static str,
    from: String,
    recipients: Vec<String>,
    data: Vec<u8>,
    /// The content outgrew `limits.message` or had a line over `limits.text_line`; the
    /// rest is read and dropped, and the end of DATA is refused.
    too_big: bool,
    too_long: bool,
}

fn reply(text: &str) -> Step {
    Step::Reply(format!("{text}\r\n"))
}

impl Session {
    pub fn new(host: &'static str, limits: Limits) -> Session {
        Session {
            limits,
            phase: Phase::Start,
            host,
            from: String::new(),
            recipients: Vec::new(),
            data: Vec::new(),
            too_big: false,
            too_long: false,
        }
    }

    /// The greeting.
    pub fn greeting(&self) -> String {
        format!("220 {} ESMTP waypost-sim\r\n", self.host)
    }

    /// Whether the next line is message content (its limit is `text_line`).
    pub fn in_data(&self) -> bool {
        self.phase == Phase::Data
    }

    /// The longest line the loop should read now.
    pub fn line_limit(&self) -> usize {
        if self.in_data() {
            self.limits.text_line
        } else {
            self.limits.command_line
        }
    }

    /// A line longer than [`Session::line_limit`] was read and dropped.
    pub fn line_too_long(&mut self) -> Step {
        if self.in_data() {
            self.too_long = true;
            Step::Nothing
        } else {
            reply("500 5.5.2 line too long")
        }
    }

    fn reset(&mut self) {
        self.from.clear();
        self.recipients.clear();
        self.data = Vec::new();
        self.too_big = false;
        self.too_long = false;
    }

    /// One line, without its CRLF.
    pub fn line(&mut self, line: &[u8]) -> Step {
        if self.in_data() {
            return self.content(line);
        }
        let Ok(text) = std::str::from_utf8(line) else {
            return reply("500 5.5.2 command is not ASCII");
        };
        let (verb, args) = match text.split_once(' ') {
            Some((v, a)) => (v, a.trim()),
            None => (text, ""),
        };
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" | "HELO" if args.is_empty() => reply("501 5.5.4 a domain is required"),
            "EHLO" => {
                self.reset();
                self.phase = Phase::Ready;
                Step::Reply(format!(
                    "250-{} greets {args}\r\n250-8BITMIME\r\n250-PIPELINING\r\n250 SIZE {}\r\n",
                    self.host, self.limits.message
                ))
            }
            "HELO" => {
                self.reset();
                self.phase = Phase::Ready;
                Step::Reply(format!("250 {}\r\n", self.host))
            }
            "MAIL" => self.mail(args),
            "RCPT" => self.rcpt(args),
            "DATA" => self.data_command(args),
            "RSET" if !args.is_empty() => reply("501 5.5.4 RSET takes no argument"),
            "RSET" => {
                self.reset();
                if self.phase != Phase::Start {
                    self.phase = Phase::Ready;
                }
                reply("250 2.0.0 OK")
            }
            "NOOP" => reply("250 2.0.0 OK"),
            "QUIT" => Step::Close(format!("221 2.0.0 {} closing\r\n", self.host)),
            "VRFY" => reply("252 2.1.5 cannot verify, will attempt delivery"),
            "HELP" => reply("214 2.0.0 EHLO HELO MAIL RCPT DATA RSET NOOP QUIT"),
            "STARTTLS" | "AUTH" | "EXPN" | "TURN" | "ETRN" | "BDAT" => {
                reply("502 5.5.1 command not implemented")
            }
            _ => reply("500 5.5.2 command not recognized"),
        }
    }

    fn mail(&mut self, args: &str) -> Step {
        match self.phase {
            Phase::Start => return reply("503 5.5.1 send EHLO or HELO first"),
            Phase::Mail => return reply("503 5.5.1 nested MAIL command"),
            Phase::Ready | Phase::Data => {}
        }
        let Some((path, params)) = path_after(args, "FROM:") else {
            return reply("501 5.5.4 syntax: MAIL FROM:<address>");
        };
        for p in params.split_ascii_whitespace() {
            let (key, value) = p.split_once('=').unwrap_or((p, ""));
            match key.to_ascii_uppercase().as_str() {
                "SIZE" => match value.parse::<usize>() {
                    Ok(n) if n > self.limits.message => {
                        return reply("552 5.3.4 message size exceeds the limit");
                    }
                    Ok(_) => {}
                    Err(_) => return reply("501 5.5.4 bad SIZE value"),
                },
                "BODY" if matches!(value.to_ascii_uppercase().as_str(), "7BIT" | "8BITMIME") => {}
                _ => return reply("555 5.5.4 parameter not recognized"),
            }
        }
        self.reset();
        self.from = path.to_owned();
        self.phase = Phase::Mail;
        reply("250 2.1.0 OK")
    }

    fn rcpt(&mut self, args: &str) -> Step {
        if self.phase != Phase::Mail {
            return reply("503 5.5.1 need MAIL before RCPT");
        }
        let Some((path, params)) = path_after(args, "TO:") else {
            return reply("501 5.5.4 syntax: RCPT TO:<address>");
        };
        if path.is_empty() {
            return reply("501 5.1.3 empty recipient");
        }
        if !params.is_empty() {
            return reply("555 5.5.4 parameter not recognized");
        }
        if self.recipients.len() >= self.limits.recipients {
            return reply("452 4.5.3 too many recipients");
        }
        self.recipients.push(path.to_owned());
        reply("250 2.1.5 OK")
    }

    fn data_command(&mut self, args: &str) -> Step {
        if !args.is_empty() {
            return reply("501 5.5.4 DATA takes no argument");
        }
        if self.phase != Phase::Mail || self.recipients.is_empty() {
            return reply("503 5.5.1 need RCPT before DATA");
        }
        self.phase = Phase::Data;
        reply("354 end data with <CR><LF>.<CR><LF>")
    }

    fn content(&mut self, line: &[u8]) -> Step {
        if line == b"." {
            self.phase = Phase::Ready;
            let failure = if self.too_long {
                Some("500 5.5.2 a line of the message is too long")
            } else if self.too_big {
                Some("552 5.3.4 message size exceeds the limit")
            } else {
                None
            };
            if let Some(f) = failure {
                self.reset();
                return Step::Refused(format!("{f}\r\n"));
            }
            let mail = Mail {
                from: std::mem::take(&mut self.from),
                recipients: std::mem::take(&mut self.recipients),
                data: std::mem::take(&mut self.data),
            };
            self.reset();
            return Step::Message(mail);
        }
        // Dot-unstuffing (4.5.2): a leading dot was doubled by the sender.
        let line = line.strip_prefix(b".").unwrap_or(line);
        if self.data.len() + line.len() + 2 > self.limits.message {
            self.too_big = true;
            self.data = Vec::new();
        }
        if !self.too_big {
            self.data.extend_from_slice(line);
            self.data.extend_from_slice(b"\r\n");
        }
        Step::Nothing
    }
}

/// `FROM:<path> params` (or `TO:`): the path inside the brackets and the rest. A space after
/// the colon is tolerated, as many clients send one.
fn path_after<'a>(args: &'a str, prefix: &str) -> Option<(&'a str, &'a str)> {
    let head = args.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = args.get(prefix.len()..)?.trim_start();
    let rest = rest.strip_prefix('<')?;
    let end = rest.find('>')?;
    let path = &rest[..end];
    if path.contains(['<', ' ']) {
        return None;
    }
    Some((path, rest[end + 1..].trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(step: &Step) -> &str {
        match step {
            Step::Reply(t) | Step::Close(t) | Step::Refused(t) => &t[..3],
            Step::Nothing => "",
            Step::Message(_) => "msg",
        }
    }

    fn session() -> Session {
        Session::new("sim.test", Limits::new(100))
    }

    #[test]
    fn a_whole_transaction_with_dot_stuffing() {
        let mut s = session();
        assert!(s.greeting().starts_with("220 "));
        let ehlo = s.line(b"EHLO client.test");
        let Step::Reply(text) = &ehlo else {
            panic!("{ehlo:?}")
        };
        assert!(text.contains("250-8BITMIME") && text.contains("250 SIZE 100"));
        assert_eq!(
            code(&s.line(b"MAIL FROM:<a@x> SIZE=50 BODY=8BITMIME")),
            "250"
        );
        assert_eq!(code(&s.line(b"RCPT TO: <b@y>")), "250");
        assert_eq!(code(&s.line(b"DATA")), "354");
        assert!(s.in_data());
        assert_eq!(s.line(b"Subject: hi"), Step::Nothing);
        s.line(b"");
        s.line(b"..leading dot");
        s.line(b"MAIL FROM:<not a command>");
        match s.line(b".") {
            Step::Message(m) => {
                assert_eq!(m.from, "a@x");
                assert_eq!(m.recipients, ["b@y"]);
                assert_eq!(
                    m.data,
                    b"Subject: hi\r\n\r\n.leading dot\r\nMAIL FROM:<not a command>\r\n"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(!s.in_data());
        // A second transaction on the same session.
        assert_eq!(code(&s.line(b"mail from:<>")), "250");
        assert_eq!(code(&s.line(b"QUIT")), "221");
    }

    #[test]
    fn commands_out_of_sequence_or_malformed() {
        let mut s = session();
        assert_eq!(code(&s.line(b"MAIL FROM:<a@x>")), "503");
        assert_eq!(code(&s.line(b"EHLO")), "501");
        assert_eq!(code(&s.line(b"FOO")), "500");
        assert_eq!(code(&s.line(b"HELO c")), "250");
        assert_eq!(code(&s.line(b"RCPT TO:<b@y>")), "503");
        assert_eq!(code(&s.line(b"DATA")), "503");
        assert_eq!(code(&s.line(b"MAIL FROM:a@x")), "501");
        assert_eq!(code(&s.line(b"MAIL FROM:<a@x> SIZE=101")), "552");
        assert_eq!(code(&s.line(b"MAIL FROM:<a@x> SMTPUTF8")), "555");
        assert_eq!(code(&s.line(b"MAIL FROM:<a@x>")), "250");
        assert_eq!(code(&s.line(b"MAIL FROM:<a@x>")), "503");
        assert_eq!(code(&s.line(b"DATA")), "503");
        assert_eq!(code(&s.line(b"RCPT TO:<>")), "501");
        assert_eq!(code(&s.line(b"RSET x")), "501");
        assert_eq!(code(&s.line(b"RSET")), "250");
        assert_eq!(code(&s.line(b"RCPT TO:<b@y>")), "503");
        assert_eq!(code(&s.line(b"NOOP")), "250");
        assert_eq!(code(&s.line(b"STARTTLS")), "502");
        assert_eq!(code(&s.line_too_long()), "500");
    }

    #[test]
    fn oversized_content_and_long_lines_are_refused_at_the_end() {
        let mut s = session();
        for l in [
            &b"EHLO c"[..],
            b"MAIL FROM:<a@x>",
            b"RCPT TO:<b@y>",
            b"DATA",
        ] {
            s.line(l);
        }
        for _ in 0..20 {
            assert_eq!(s.line(b"0123456789"), Step::Nothing);
        }
        assert_eq!(code(&s.line(b".")), "552");
        for l in [&b"MAIL FROM:<a@x>"[..], b"RCPT TO:<b@y>", b"DATA"] {
            s.line(l);
        }
        assert_eq!(s.line_too_long(), Step::Nothing);
        assert_eq!(code(&s.line(b".")), "500");
        assert_eq!(code(&s.line(b"NOOP")), "250");
    }
}
