//! Identifiers as types: each is checked once at the edge, then trusted everywhere.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest identifier accepted: long enough for any vendor's ids, short enough to index cheaply.
pub const MAX_ID_LEN: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {MAX_ID_LEN} bytes, got {0}")]
    TooLong(usize),
    #[error("must not contain control characters")]
    Control,
    #[error("must match [a-z0-9][a-z0-9_.-]*")]
    Charset,
}

fn check_free(s: &str) -> Result<(), IdError> {
    if s.trim().is_empty() {
        return Err(IdError::Empty);
    }
    if s.len() > MAX_ID_LEN {
        return Err(IdError::TooLong(s.len()));
    }
    if s.chars().any(char::is_control) {
        return Err(IdError::Control);
    }
    Ok(())
}

/// Names that appear in metrics labels and URLs are kept to a tame alphabet.
fn check_slug(s: &str) -> Result<(), IdError> {
    check_free(s)?;
    let mut chars = s.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok = chars
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-' || c == '.');
    if first_ok && rest_ok {
        Ok(())
    } else {
        Err(IdError::Charset)
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $check:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn new(s: impl Into<String>) -> Result<Self, IdError> {
                let s = s.into();
                $check(&s)?;
                Ok(Self(s))
            }
            /// [`Self::new`] that hands the string back with the error, so a caller that
            /// owns it can still name it in a message without keeping a copy.
            pub fn from_string(s: String) -> Result<Self, (IdError, String)> {
                match $check(&s) {
                    Ok(()) => Ok(Self(s)),
                    Err(e) => Err((e, s)),
                }
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                Self::new(s)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// An account. Every stored row and every query is scoped by one.
    TenantId,
    check_slug
);
id_type!(
    /// Where an event came from (`wms-east`, `ups`, ...): part of the event's identity.
    SourceName,
    check_slug
);
id_type!(
    /// The sales channel's order number, as the customer knows it.
    OrderId,
    check_free
);
id_type!(
    /// The source's own id of an event; `(source, event_id)` is unique per tenant.
    EventId,
    check_free
);
id_type!(
    /// A carrier tracking number: one per shipment.
    TrackingNumber,
    check_free
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_reject_upper_case_and_spaces() {
        assert!(TenantId::new("acme").is_ok());
        assert!(TenantId::new("acme-eu_2").is_ok());
        assert_eq!(TenantId::new("Acme"), Err(IdError::Charset));
        assert_eq!(SourceName::new("a b"), Err(IdError::Charset));
        assert_eq!(SourceName::new(""), Err(IdError::Empty));
    }

    #[test]
    fn free_ids_allow_vendor_shapes_but_not_control_chars() {
        assert!(OrderId::new("SO-2024/0001 #A").is_ok());
        assert_eq!(OrderId::new("a\nb"), Err(IdError::Control));
        assert_eq!(EventId::new("x".repeat(129)), Err(IdError::TooLong(129)));
        assert_eq!(TrackingNumber::new("   "), Err(IdError::Empty));
        assert_eq!(
            OrderId::from_string("a\nb".to_owned()),
            Err((IdError::Control, "a\nb".to_owned()))
        );
        assert_eq!(
            OrderId::from_string("a".to_owned()).ok(),
            OrderId::new("a").ok()
        );
    }
}
