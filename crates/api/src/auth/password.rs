//! Password hashing: argon2id with the crate's default parameters, stored as a PHC string (so
//! a later change of parameters still verifies old hashes). Hashing and verifying cost tens of
//! milliseconds on purpose: callers on an async runtime run them on the blocking pool.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;
use std::sync::LazyLock;

/// Shortest password `waypost users create` accepts.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password accepted anywhere: bounds the work one login attempt can ask for.
pub const MAX_PASSWORD_BYTES: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("the password is shorter than {} characters", MIN_PASSWORD_CHARS)]
    TooShort,
    #[error("the password is longer than {} bytes", MAX_PASSWORD_BYTES)]
    TooLong,
    #[error("hashing the password failed: {0}")]
    Hash(String),
}

/// Checks a new password's length.
pub fn check_new_password(password: &str) -> Result<(), PasswordError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(PasswordError::TooShort);
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::TooLong);
    }
    Ok(())
}

/// The argon2id PHC string of `password`, with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::TooLong);
    }
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches the PHC string `phc`. A malformed stored hash matches nothing.
pub fn verify_password(phc: &str, password: &str) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash no password is known for, computed once.
static DUMMY: LazyLock<Option<String>> = LazyLock::new(|| {
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    hash_password(&format!("{secret:?}")).ok()
});

/// Spends what a real verification costs, for a login whose user does not exist or is
/// disabled: the answer's timing then does not tell which part of the login was wrong.
pub fn dummy_verify(password: &str) {
    if let Some(phc) = DUMMY.as_deref() {
        let _ = verify_password(phc, password);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let h = hash_password("correct horse battery").unwrap_or_default();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password(&h, "correct horse battery"));
        assert!(!verify_password(&h, "correct horse batterY"));
        assert!(!verify_password(
            "not a phc string",
            "correct horse battery"
        ));
        // Salted: the same password hashes differently each time.
        assert_ne!(
            h,
            hash_password("correct horse battery").unwrap_or_default()
        );
        dummy_verify("anything");
    }

    #[test]
    fn new_passwords_have_a_minimum_length() {
        assert!(matches!(
            check_new_password("123456789"),
            Err(PasswordError::TooShort)
        ));
        assert!(check_new_password("1234567890").is_ok());
        // Characters, not bytes.
        assert!(matches!(
            check_new_password("ééééééééé"),
            Err(PasswordError::TooShort)
        ));
        assert!(matches!(
            check_new_password(&"x".repeat(MAX_PASSWORD_BYTES + 1)),
            Err(PasswordError::TooLong)
        ));
    }
}
