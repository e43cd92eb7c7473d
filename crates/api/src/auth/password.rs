//! Password hashing with argon2id, off the async workers.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use secrecy::{ExposeSecret, SecretString};

use crate::error::ApiError;

/// A hash to check against when the e-mail is unknown, so both paths take the same time.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3pVbYyIuYN0Dzg8MJ1M3C5m3rqQ4m9cIJ0Ijd6kYy7E";

/// Whether a new password is of an accepted length (10 to 200 characters).
pub fn acceptable(password: &SecretString) -> bool {
    (10..=200).contains(&password.expose_secret().chars().count())
}

pub async fn hash(password: SecretString) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.expose_secret().as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| ApiError::internal(anyhow::anyhow!("hashing a password: {e}")))
    })
    .await
    .map_err(ApiError::internal)?
}

/// Whether the password matches; `None` for the hash checks a dummy so timing tells nothing.
pub async fn verify(password: SecretString, hash: Option<String>) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let stored = hash.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let parsed = PasswordHash::new(&stored)
            .map_err(|e| ApiError::internal(anyhow::anyhow!("stored hash: {e}")))?;
        let matches = Argon2::default()
            .verify_password(password.expose_secret().as_bytes(), &parsed)
            .is_ok();
        Ok(known && matches)
    })
    .await
    .map_err(ApiError::internal)?
}
