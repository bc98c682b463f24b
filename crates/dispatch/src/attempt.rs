//! What one delivery attempt came to, whatever the channel.

use std::time::Duration;

use jiff::Timestamp;

/// How an attempt is judged. The dispatcher maps it to an outbox mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The receiver took it (HTTP 2xx, SMTP 2xx after DATA).
    Delivered,
    /// HTTP 410: the receiver says the endpoint is gone for good. Disable it, dead letter.
    Gone,
    /// Try again later: timeouts, connection errors, 429, 5xx, other 4xx (Standard Webhooks asks
    /// senders to retry those too), SMTP 4xx.
    Retry,
    /// Never retried: the SSRF policy refused every address, the recipient is invalid, the SMTP
    /// server refused the message permanently.
    Refused,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Delivered => "delivered",
            Verdict::Gone => "gone",
            Verdict::Retry => "retry",
            Verdict::Refused => "refused",
        }
    }
}

/// One attempt: its verdict and what the delivery log keeps of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub verdict: Verdict,
    /// HTTP status or SMTP reply code, when the receiver answered.
    pub code: Option<u16>,
    /// From the start of the attempt to its verdict.
    pub latency: Duration,
    /// The receiver's `Retry-After` header, raw (see [`retry_after_delay`]).
    pub retry_after: Option<String>,
    /// A short description of what went wrong, safe to log and to show the tenant.
    pub error: Option<String>,
}

/// Longest error text kept: a receiver's error page must not bloat the delivery log.
pub const MAX_ERROR_CHARS: usize = 300;

impl Attempt {
    pub fn delivered(code: Option<u16>, latency: Duration) -> Attempt {
        Attempt {
            verdict: Verdict::Delivered,
            code,
            latency,
            retry_after: None,
            error: None,
        }
    }

    /// A refusal before anything was sent (latency zero unless given).
    pub fn refused(error: impl ToString) -> Attempt {
        Attempt {
            verdict: Verdict::Refused,
            code: None,
            latency: Duration::ZERO,
            retry_after: None,
            error: Some(short(&error.to_string())),
        }
    }

    /// A failure worth retrying.
    pub fn retry(code: Option<u16>, latency: Duration, error: impl ToString) -> Attempt {
        Attempt {
            verdict: Verdict::Retry,
            code,
            latency,
            retry_after: None,
            error: Some(short(&error.to_string())),
        }
    }

    pub fn with_latency(mut self, latency: Duration) -> Attempt {
        self.latency = latency;
        self
    }

    /// The delay `Retry-After` asks for, at `now` (see [`retry_after_delay`]).
    pub fn retry_after_delay(&self, now: Timestamp) -> Option<Duration> {
        self.retry_after
            .as_deref()
            .and_then(|raw| retry_after_delay(raw, now))
    }
}

/// Cuts `text` to [`MAX_ERROR_CHARS`] characters on one line.
pub fn short(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut out: String = one_line.trim().chars().take(MAX_ERROR_CHARS).collect();
    if one_line.trim().chars().count() > MAX_ERROR_CHARS {
        out.push('…');
    }
    out
}

/// Reads a `Retry-After` value (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. A date in the
/// past is a zero delay; anything unreadable is `None` (the retry policy's own step applies).
pub fn retry_after_delay(raw: &str, now: Timestamp) -> Option<Duration> {
    let raw = raw.trim();
    if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
        // Overlong digit strings saturate rather than fail: "wait a very long time".
        return Some(Duration::from_secs(raw.parse::<u64>().unwrap_or(u64::MAX)));
    }
    // IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") is RFC 2822 syntax with the obsolete zone
    // name GMT, which jiff's RFC 2822 parser accepts.
    let at = jiff::fmt::rfc2822::parse(raw).ok()?.timestamp();
    let delay = now.duration_until(at);
    Some(if delay.is_negative() {
        Duration::ZERO
    } else {
        delay.unsigned_abs()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().expect("test timestamp")
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = at("2026-01-01T00:00:00Z");
        assert_eq!(
            retry_after_delay("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(retry_after_delay(" 0 ", now), Some(Duration::from_secs(0)));
        assert_eq!(
            retry_after_delay("Thu, 01 Jan 2026 00:01:30 GMT", now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            retry_after_delay("Wed, 31 Dec 2025 23:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after_delay("soon", now), None);
        assert_eq!(retry_after_delay("-5", now), None);
        assert_eq!(retry_after_delay("", now), None);
        assert_eq!(
            retry_after_delay("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
    }

    #[test]
    fn short_cuts_and_flattens() {
        assert_eq!(short("a\nb\r\n"), "a b");
        let long = "x".repeat(MAX_ERROR_CHARS + 5);
        assert_eq!(short(&long).chars().count(), MAX_ERROR_CHARS + 1);
    }
}
