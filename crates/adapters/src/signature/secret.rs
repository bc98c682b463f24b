//! A webhook secret as configured for a tenant.

use core::fmt;

/// The secret text (or bytes) exactly as the partner issued it. How it becomes an HMAC key
/// depends on the scheme (a Standard Webhooks `whsec_` secret is base64, an EasyPost secret is
/// text), so the bytes are only read inside this module.
///
/// `Debug` and `Display` print `Secret(***)`, so a secret inside a config struct or an error
/// never reaches a log. There is deliberately no `PartialEq`: comparing secrets is not
/// something callers should need, and a derived one would not be constant-time.
#[derive(Clone)]
pub struct Secret(Box<[u8]>);

/// Longest secret accepted; real ones are 16 to 100 bytes.
pub const MAX_SECRET_BYTES: usize = 1024;

/// A secret refused at configuration time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// An empty key would make every signature trivially forgeable.
    #[error("webhook secret is empty")]
    Empty,
    #[error("webhook secret is longer than {max} bytes")]
    TooLong { max: usize },
}

impl Secret {
    /// The secret as written in configuration. Surrounding whitespace is dropped, since it
    /// comes from files and environment variables (a trailing newline) rather than from the
    /// partner.
    pub fn from_config(text: &str) -> Result<Secret, SecretError> {
        Secret::from_bytes(text.trim().as_bytes())
    }

    /// A secret that is not text (for instance a key generated for our own outbound
    /// Standard Webhooks, used raw).
    pub fn from_bytes(bytes: &[u8]) -> Result<Secret, SecretError> {
        if bytes.is_empty() {
            return Err(SecretError::Empty);
        }
        if bytes.len() > MAX_SECRET_BYTES {
            return Err(SecretError::TooLong {
                max: MAX_SECRET_BYTES,
            });
        }
        Ok(Secret(bytes.into()))
    }

    pub(super) fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}
