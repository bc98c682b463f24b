//! Known devices: a browser that logged in to an account gets a long-lived `waypost_device`
//! cookie, `<id>.<mac>`, whose MAC (HMAC-SHA256 under a server secret) binds its random id to
//! that account. A login that brings a valid one for the account it names is counted against
//! that device's own small budget instead of the account's, so someone guessing an account's
//! password from elsewhere (who has no such cookie, and cannot make one) can exhaust the
//! account's budget without locking its owner out.
//!
//! Nothing is stored: the MAC is the proof. Rotating the secret (deleting its file) forgets
//! every device, which then logs in like a new one.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use waypost_domain::TenantId;

pub const DEVICE_COOKIE: &str = "waypost_device";
/// Bytes of a device secret.
pub const SECRET_LEN: usize = 32;
/// Longest cookie value looked at: ours are 43 + 1 + 43 characters.
const MAX_COOKIE_LEN: usize = 128;

/// The server secret device cookies are MACed with. Never printed.
#[derive(Clone)]
pub struct DeviceKey([u8; SECRET_LEN]);

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceKey(..)")
    }
}

impl DeviceKey {
    pub fn new(secret: [u8; SECRET_LEN]) -> Self {
        DeviceKey(secret)
    }

    /// A fresh random key (tests, or a server without a data directory to keep one in).
    pub fn random() -> Self {
        let mut secret = [0u8; SECRET_LEN];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut secret);
        DeviceKey(secret)
    }

    /// `None` only if HMAC refused the key, which it does for no length.
    fn mac(&self, id: &str, tenant: &TenantId, email: &str) -> Option<Hmac<Sha256>> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).ok()?;
        // Length-prefixed, so no two (id, tenant, email) triples give the same input.
        for part in [id, tenant.as_str(), email] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        Some(mac)
    }

    /// A new device of this account: its id (the throttle's key) and the cookie's value.
    pub fn issue(&self, tenant: &TenantId, email: &str) -> Option<(String, String)> {
        let id = super::session::new_token();
        let tag = self.mac(&id, tenant, email)?.finalize().into_bytes();
        let value = format!("{id}.{}", b64(&tag));
        Some((id, value))
    }

    /// The device id of `value` if it is a cookie this server issued for this account.
    pub fn verify(&self, value: &str, tenant: &TenantId, email: &str) -> Option<String> {
        if value.len() > MAX_COOKIE_LEN {
            return None;
        }
        let (id, tag) = value.split_once('.')?;
        let tag =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, tag).ok()?;
        // `verify_slice` compares in constant time.
        self.mac(id, tenant, email)?
            .verify_slice(&tag)
            .ok()
            .map(|()| id.to_owned())
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
}

/// The `waypost_device` cookie's value, from any `Cookie` header.
pub fn cookie_value(headers: &axum::http::HeaderMap) -> Option<&str> {
    super::session::named_cookie(headers, DEVICE_COOKIE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_cookie_verifies_for_its_account_and_key_only() {
        let key = DeviceKey::random();
        let acme = TenantId::new("acme").unwrap_or_else(|e| panic!("{e}"));
        let globex = TenantId::new("globex").unwrap_or_else(|e| panic!("{e}"));
        let (id, value) = key.issue(&acme, "ops@acme.io").unwrap_or_default();
        assert_eq!(key.verify(&value, &acme, "ops@acme.io"), Some(id.clone()));
        assert_eq!(key.verify(&value, &acme, "other@acme.io"), None);
        assert_eq!(key.verify(&value, &globex, "ops@acme.io"), None);
        assert_eq!(
            DeviceKey::random().verify(&value, &acme, "ops@acme.io"),
            None
        );
        // Another id with this MAC, a truncated MAC, garbage.
        let tag = value.split_once('.').map(|(_, t)| t).unwrap_or("");
        assert_eq!(
            key.verify(&format!("x{id}.{tag}"), &acme, "ops@acme.io"),
            None
        );
        assert_eq!(
            key.verify(&value[..value.len() - 2], &acme, "ops@acme.io"),
            None
        );
        for junk in ["", ".", "abc", "a.b.c", &"a".repeat(500)] {
            assert_eq!(key.verify(junk, &acme, "ops@acme.io"), None, "{junk}");
        }
        assert_eq!(format!("{key:?}"), "DeviceKey(..)");
    }
}
