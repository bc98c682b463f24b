//! Email over SMTP (lettre, rustls with ring): one connection per attempt, multipart/alternative
//! text and HTML, our notification id as the Message-ID.
//!
//! The SMTP dialogue is driven step by step (connect, STARTTLS, AUTH, then MAIL/RCPT/DATA)
//! rather than through lettre's transport, because the verdict depends on the step that failed:
//!
//! | what failed                        | verdict   | why |
//! |------------------------------------|-----------|-----|
//! | MAIL/RCPT/DATA answered 2xx        | delivered | |
//! | any step answered 4xx              | retry     | transient by definition (RFC 5321 §4.2.1) |
//! | MAIL/RCPT/DATA answered 5xx        | refused   | the server refuses *this message or recipient* for good |
//! | MAIL answered 530                  | retry     | "authentication required": our configuration, not the message |
//! | greeting/EHLO/STARTTLS/AUTH 5xx    | retry     | the server or our credentials are wrong, not the message: an operator fixes it and the mail still goes (and the failures open the breaker meanwhile) |
//! | connection, TLS, timeout           | retry     | |
//! | client-side refusal while sending  | refused   | e.g. a non-ASCII address to a server without SMTPUTF8 |
//! | message cannot be built            | refused   | an invalid recipient address |

use std::fmt;
use std::time::{Duration, Instant};

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Address, Message};

use crate::attempt::{Attempt, Verdict, short};

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpMode {
    /// Implicit TLS from the first byte (SMTPS, port 465).
    Tls,
    /// Plain connection upgraded with STARTTLS, which the server must offer (port 587).
    StartTls,
    /// No encryption: a local relay or tests only.
    None,
}

impl std::str::FromStr for SmtpMode {
    type Err = EmailError;

    fn from_str(s: &str) -> Result<SmtpMode, EmailError> {
        match s {
            "tls" => Ok(SmtpMode::Tls),
            "starttls" => Ok(SmtpMode::StartTls),
            "none" => Ok(SmtpMode::None),
            other => Err(EmailError::Mode(other.to_owned())),
        }
    }
}

/// The SMTP server and the sender's identity (config `[notify.smtp]`).
#[derive(Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub mode: SmtpMode,
    pub username: Option<String>,
    pub password: Option<String>,
    /// `Waypost <notify@example.com>` or a bare address.
    pub from: String,
    pub reply_to: Option<String>,
    /// `List-Unsubscribe` URL; `{msg_id}`, `{tenant}` and `{order}` are replaced,
    /// percent-encoded.
    pub list_unsubscribe: Option<String>,
    /// Bound on each network step and, times four, on the whole attempt.
    pub timeout: Duration,
    /// The EHLO name (default `localhost`).
    pub hello_name: Option<String>,
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("mode", &self.mode)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("from", &self.from)
            .field("reply_to", &self.reply_to)
            .field("list_unsubscribe", &self.list_unsubscribe)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A configuration that cannot work, or a message that cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("unknown smtp mode {0:?}: expected tls, starttls or none")]
    Mode(String),
    #[error("invalid {field} address {value:?}: {why}")]
    Address {
        field: &'static str,
        value: String,
        why: String,
    },
    #[error("smtp username and password must be given together")]
    HalfCredentials,
    #[error("cannot set up tls for smtp host {host}: {why}")]
    Tls { host: String, why: String },
    #[error("cannot build email {msg_id}: {why}")]
    Build { msg_id: String, why: String },
}

/// One email to send, rendered already.
#[derive(Debug, Clone, Copy)]
pub struct EmailMessage<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
    /// The notification id: Message-ID `<{msg_id}@waypost>`.
    pub msg_id: &'a str,
    pub tenant: &'a str,
    /// `X-Waypost-Order`.
    pub order_id: &'a str,
    /// `X-Waypost-Transition`: the seq of the change (or the alert id).
    pub transition: u64,
    /// `X-Waypost-Trigger`: the status it tells of, or `alert.raised`.
    pub trigger: &'a str,
}

/// Sends email through one SMTP server.
#[derive(Clone)]
pub struct SmtpSender {
    config: SmtpConfig,
    from: Mailbox,
    reply_to: Option<Mailbox>,
    credentials: Option<Credentials>,
    tls: Option<TlsParameters>,
    hello: ClientId,
}

/// Which step of the dialogue failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Connect,
    Auth,
    Send,
}

impl SmtpSender {
    pub fn new(config: SmtpConfig) -> Result<SmtpSender, EmailError> {
        let from = mailbox("from", &config.from)?;
        let reply_to = config
            .reply_to
            .as_deref()
            .map(|r| mailbox("reply_to", r))
            .transpose()?;
        let credentials = match (&config.username, &config.password) {
            (Some(u), Some(p)) => Some(Credentials::new(u.clone(), p.clone())),
            (None, None) => None,
            _ => return Err(EmailError::HalfCredentials),
        };
        let tls = match config.mode {
            SmtpMode::None => None,
            SmtpMode::Tls | SmtpMode::StartTls => Some(
                TlsParameters::builder(config.host.clone())
                    .build_rustls()
                    .map_err(|e| EmailError::Tls {
                        host: config.host.clone(),
                        why: e.to_string(),
                    })?,
            ),
        };
        let hello = ClientId::Domain(
            config
                .hello_name
                .clone()
                .unwrap_or_else(|| "localhost".to_owned()),
        );
        Ok(SmtpSender {
            config,
            from,
            reply_to,
            credentials,
            tls,
            hello,
        })
    }

    /// The message as it goes on the wire.
    pub fn build(&self, msg: &EmailMessage<'_>) -> Result<Message, EmailError> {
        let build_err = |why: String| EmailError::Build {
            msg_id: msg.msg_id.to_owned(),
            why,
        };
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(mailbox("to", msg.to)?)
            .subject(msg.subject)
            .message_id(Some(format!("<{}@waypost>", msg.msg_id)));
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        builder = builder
            .raw_header(header("X-Waypost-Order", msg.order_id)?)
            .raw_header(header("X-Waypost-Transition", &msg.transition.to_string())?)
            .raw_header(header("X-Waypost-Tenant", msg.tenant)?)
            .raw_header(header("X-Waypost-Trigger", msg.trigger)?);
        if let Some(template) = &self.config.list_unsubscribe {
            let url = unsubscribe_url(template, msg);
            builder = builder.raw_header(header("List-Unsubscribe", &format!("<{url}>"))?);
            if url.starts_with("https://") {
                // RFC 8058 one-click: mailbox providers POST to the URL instead of opening it.
                builder = builder.raw_header(header(
                    "List-Unsubscribe-Post",
                    "List-Unsubscribe=One-Click",
                )?);
            }
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                msg.text.to_owned(),
                msg.html.to_owned(),
            ))
            .map_err(|e| build_err(e.to_string()))
    }

    /// One attempt. Never fails: what went wrong is in the [`Attempt`].
    pub async fn send(&self, msg: &EmailMessage<'_>) -> Attempt {
        let started = Instant::now();
        let message = match self.build(msg) {
            Ok(m) => m,
            Err(e) => return Attempt::refused(e),
        };
        let raw = message.formatted();
        let overall = self.config.timeout.saturating_mul(4);
        let outcome = tokio::time::timeout(overall, self.deliver(message.envelope(), &raw)).await;
        let latency = started.elapsed();
        match outcome {
            Err(_) => Attempt::retry(
                None,
                latency,
                format!("timed out after {} ms", overall.as_millis()),
            ),
            Ok(Ok(code)) => Attempt::delivered(Some(code), latency),
            Ok(Err((step, e))) => judge(step, &e, latency),
        }
    }

    async fn deliver(
        &self,
        envelope: &lettre::address::Envelope,
        raw: &[u8],
    ) -> Result<u16, (Step, lettre::transport::smtp::Error)> {
        let server = (self.config.host.as_str(), self.config.port);
        let implicit = match self.config.mode {
            SmtpMode::Tls => self.tls.clone(),
            _ => None,
        };
        let timeout = Some(self.config.timeout);
        let mut conn =
            AsyncSmtpConnection::connect_tokio1(server, timeout, &self.hello, implicit, None)
                .await
                .map_err(|e| (Step::Connect, e))?;
        if let (SmtpMode::StartTls, Some(tls)) = (self.config.mode, &self.tls) {
            conn.starttls(tls.clone(), &self.hello)
                .await
                .map_err(|e| (Step::Connect, e))?;
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await
                .map_err(|e| (Step::Auth, e))?;
        }
        let response = conn
            .send(envelope, raw)
            .await
            .map_err(|e| (Step::Send, e))?;
        // The message is accepted; a failed QUIT changes nothing.
        let _ = conn.quit().await;
        Ok(u16::from(response.code()))
    }
}

fn judge(step: Step, e: &lettre::transport::smtp::Error, latency: Duration) -> Attempt {
    let code = e.status().map(u16::from);
    let text = format!(
        "smtp {}: {}",
        step_name(step),
        crate::webhook::error_chain(e)
    );
    Attempt {
        verdict: verdict_for(step, code, e.is_client()),
        code,
        latency,
        retry_after: None,
        error: Some(short(&text)),
    }
}

/// The table of the module docs. `client`: lettre refused on our side, no code.
fn verdict_for(step: Step, code: Option<u16>, client: bool) -> Verdict {
    match (step, code) {
        (_, Some(400..=499)) => Verdict::Retry,
        (Step::Send, Some(530)) => Verdict::Retry,
        (Step::Send, Some(500..=599)) => Verdict::Refused,
        (Step::Send, None) if client => Verdict::Refused,
        _ => Verdict::Retry,
    }
}

fn step_name(step: Step) -> &'static str {
    match step {
        Step::Connect => "connect",
        Step::Auth => "auth",
        Step::Send => "send",
    }
}

fn mailbox(field: &'static str, value: &str) -> Result<Mailbox, EmailError> {
    let err = |why: String| EmailError::Address {
        field,
        value: value.to_owned(),
        why,
    };
    // A bare address parses as a mailbox too; checking it as an address first gives the
    // clearer message for the common case.
    if !value.contains('<') {
        let address: Address = value.trim().parse().map_err(|e| err(format!("{e}")))?;
        return Ok(Mailbox::new(None, address));
    }
    value.parse().map_err(|e| err(format!("{e}")))
}

fn header(name: &str, value: &str) -> Result<HeaderValue, EmailError> {
    let header_name =
        HeaderName::new_from_ascii(name.to_owned()).map_err(|e| EmailError::Build {
            msg_id: String::new(),
            why: format!("header {name}: {e}"),
        })?;
    // Line breaks in a value would let it start another header.
    let clean: String = value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    Ok(HeaderValue::new(header_name, clean))
}

fn unsubscribe_url(template: &str, msg: &EmailMessage<'_>) -> String {
    template
        .replace("{msg_id}", &percent_encode(msg.msg_id))
        .replace("{tenant}", &percent_encode(msg.tenant))
        .replace("{order}", &percent_encode(msg.order_id))
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub(crate) fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SmtpConfig {
        SmtpConfig {
            host: "127.0.0.1".to_owned(),
            port: 25,
            mode: SmtpMode::None,
            username: None,
            password: None,
            from: "Waypost <notify@example.com>".to_owned(),
            reply_to: None,
            list_unsubscribe: None,
            timeout: Duration::from_secs(5),
            hello_name: None,
        }
    }

    fn message(to: &str) -> EmailMessage<'_> {
        EmailMessage {
            to,
            subject: "Shipped",
            text: "text",
            html: "<p>html</p>",
            msg_id: "msg_abc",
            tenant: "acme",
            order_id: "A 1",
            transition: 7,
            trigger: "shipped",
        }
    }

    #[test]
    fn verdict_table() {
        use Step::*;
        assert_eq!(verdict_for(Send, Some(451), false), Verdict::Retry);
        assert_eq!(verdict_for(Send, Some(550), false), Verdict::Refused);
        assert_eq!(verdict_for(Send, Some(554), false), Verdict::Refused);
        assert_eq!(verdict_for(Send, Some(530), false), Verdict::Retry);
        assert_eq!(verdict_for(Send, None, true), Verdict::Refused);
        assert_eq!(verdict_for(Send, None, false), Verdict::Retry);
        assert_eq!(verdict_for(Connect, Some(554), false), Verdict::Retry);
        assert_eq!(verdict_for(Auth, Some(535), false), Verdict::Retry);
        assert_eq!(verdict_for(Auth, None, true), Verdict::Retry);
        assert_eq!(verdict_for(Connect, Some(421), false), Verdict::Retry);
    }

    #[test]
    fn config_errors_name_the_field() {
        let mut bad = config();
        bad.from = "not an address".to_owned();
        let err = SmtpSender::new(bad).err().expect("refused");
        assert!(err.to_string().contains("from"), "{err}");
        let mut half = config();
        half.username = Some("u".to_owned());
        assert_eq!(
            SmtpSender::new(half).err(),
            Some(EmailError::HalfCredentials)
        );
        assert_eq!(
            "smtps".parse::<SmtpMode>().err(),
            Some(EmailError::Mode("smtps".to_owned()))
        );
    }

    #[test]
    fn invalid_recipient_is_refused_before_connecting() {
        let sender = SmtpSender::new(config()).expect("sender");
        let err = sender.build(&message("nobody")).expect_err("bad to");
        assert!(err.to_string().contains("to address"), "{err}");
    }

    #[test]
    fn unsubscribe_header_is_encoded() {
        let mut c = config();
        c.list_unsubscribe = Some("https://x.test/u?m={msg_id}&o={order}".to_owned());
        let sender = SmtpSender::new(c).expect("sender");
        let raw = sender
            .build(&message("a@b.test"))
            .expect("built")
            .formatted();
        let text = String::from_utf8_lossy(&raw);
        assert!(
            text.contains("List-Unsubscribe: <https://x.test/u?m=msg_abc&o=A%201>"),
            "{text}"
        );
        assert!(text.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
    }

    #[test]
    fn password_never_prints() {
        let mut c = config();
        c.password = Some("hunter2".to_owned());
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
