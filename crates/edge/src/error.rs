//! The one error of the edge's setup: a `[server.tls]` or `[edge]` value that cannot be used.

/// A setting that cannot be used. The message names the key (and the file, for TLS) at fault,
/// never a key's secret content: the operator reads it at start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// `ConfigError(format!(...))`, for early returns.
macro_rules! bail {
    ($($t:tt)*) => {
        return Err($crate::ConfigError(format!($($t)*)))
    };
}

/// `ConfigError(format!(...))`, for `map_err`.
macro_rules! config_error {
    ($($t:tt)*) => {
        $crate::ConfigError(format!($($t)*))
    };
}

pub(crate) use {bail, config_error};
