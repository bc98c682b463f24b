//! Read access to request headers, whatever map the HTTP server uses.

use std::collections::HashMap;
use std::hash::BuildHasher;

/// Case-insensitive header lookup (HTTP field names are case-insensitive, and partners' docs
/// spell the same header `X-Shopify-Hmac-SHA256` and `x-shopify-hmac-sha256`).
///
/// A header sent several times is ambiguous; the implementations here return the first
/// occurrence. An implementation for the server's own header map may choose to return `None`
/// for repeated signature headers instead.
pub trait Headers {
    fn get(&self, name: &str) -> Option<&str>;
}

impl<K: AsRef<str>, V: AsRef<str>> Headers for [(K, V)] {
    fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> Headers for [(K, V); N] {
    fn get(&self, name: &str) -> Option<&str> {
        Headers::get(self.as_slice(), name)
    }
}

impl<K: AsRef<str>, V: AsRef<str>> Headers for Vec<(K, V)> {
    fn get(&self, name: &str) -> Option<&str> {
        Headers::get(self.as_slice(), name)
    }
}

impl<K: AsRef<str>, V: AsRef<str>, S: BuildHasher> Headers for HashMap<K, V, S> {
    fn get(&self, name: &str) -> Option<&str> {
        // Keys may be stored in any case, so this scans; header maps hold a few dozen entries.
        self.iter()
            .find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}

impl<T: Headers + ?Sized> Headers for &T {
    fn get(&self, name: &str) -> Option<&str> {
        (**self).get(name)
    }
}
