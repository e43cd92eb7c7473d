//! Credential encryption at rest: AES-256-GCM with a key ring.
//!
//! A ciphertext reads `v1.<key id>.<base64url(nonce ‖ sealed)>`. The additional authenticated
//! data binds it to `org_id|provider|field`, so a value copied to another row or column fails
//! to decrypt instead of quietly handing one tenant another's credentials.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use secrecy::{ExposeSecret, SecretString};

use crate::ids::OrgId;

const VERSION: &str = "v1";
pub const KEY_LEN: usize = 32;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("the key ring is empty: set at least one `kid:base64key` entry")]
    EmptyKeyRing,
    #[error("key ring entry {0} is not of the form `kid:base64key`")]
    MalformedEntry(usize),
    #[error("key id `{0}` may use only letters, digits, `-` and `_`")]
    BadKeyId(String),
    #[error("key `{0}` is not base64 for exactly 32 bytes")]
    BadKey(String),
    #[error("key id `{0}` appears twice in the key ring")]
    DuplicateKeyId(String),
    #[error("the stored value is not a Plugboard ciphertext")]
    Malformed,
    #[error("the stored value was encrypted with key `{0}`, which is not in the key ring")]
    UnknownKey(String),
    #[error("the stored value does not decrypt here: it was altered or belongs to another record")]
    Tampered,
    #[error("the system random source failed")]
    Random,
}

/// Which secret a ciphertext belongs to; bound into it as additional authenticated data.
pub struct SecretAad<'a> {
    pub org_id: OrgId,
    pub provider: &'a str,
    pub field: &'a str,
}

impl SecretAad<'_> {
    fn bytes(&self) -> Vec<u8> {
        format!("{}|{}|{}", self.org_id, self.provider, self.field).into_bytes()
    }
}

/// The encryption keys, the first one active. Never prints its key material.
pub struct KeyRing {
    keys: Vec<(String, LessSafeKey)>,
    rng: SystemRandom,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("key_ids", &self.key_ids().collect::<Vec<_>>())
            .finish()
    }
}

impl KeyRing {
    /// Parses `kid:base64key[,kid:base64key…]`; the first key is the active one.
    pub fn parse(spec: &SecretString) -> Result<KeyRing, CryptoError> {
        let mut keys: Vec<(String, LessSafeKey)> = Vec::new();
        for (index, entry) in spec
            .expose_secret()
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .enumerate()
        {
            let (kid, key) = entry
                .split_once(':')
                .ok_or(CryptoError::MalformedEntry(index + 1))?;
            let kid = kid.trim();
            if kid.is_empty()
                || !kid
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(CryptoError::BadKeyId(kid.to_owned()));
            }
            if keys.iter().any(|(existing, _)| existing == kid) {
                return Err(CryptoError::DuplicateKeyId(kid.to_owned()));
            }
            let bytes = STANDARD
                .decode(key.trim())
                .ok()
                .filter(|bytes| bytes.len() == KEY_LEN)
                .ok_or_else(|| CryptoError::BadKey(kid.to_owned()))?;
            let unbound = UnboundKey::new(&AES_256_GCM, &bytes)
                .map_err(|_| CryptoError::BadKey(kid.to_owned()))?;
            keys.push((kid.to_owned(), LessSafeKey::new(unbound)));
        }
        if keys.is_empty() {
            return Err(CryptoError::EmptyKeyRing);
        }
        Ok(KeyRing {
            keys,
            rng: SystemRandom::new(),
        })
    }

    /// A fresh key ring entry `kid:base64key` for a new 32-byte random key.
    pub fn generate_entry(kid: &str) -> Result<SecretString, CryptoError> {
        let mut key = [0u8; KEY_LEN];
        SystemRandom::new()
            .fill(&mut key)
            .map_err(|_| CryptoError::Random)?;
        Ok(SecretString::from(format!(
            "{kid}:{}",
            STANDARD.encode(key)
        )))
    }

    pub fn active_key_id(&self) -> &str {
        &self.keys[0].0
    }

    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|(kid, _)| kid.as_str())
    }

    pub fn encrypt(&self, aad: &SecretAad<'_>, plaintext: &str) -> Result<String, CryptoError> {
        let (kid, key) = &self.keys[0];
        let mut nonce_bytes = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce_bytes)
            .map_err(|_| CryptoError::Random)?;
        let mut sealed = plaintext.as_bytes().to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce_bytes),
            Aad::from(aad.bytes()),
            &mut sealed,
        )
        .map_err(|_| CryptoError::Random)?;
        let mut payload = nonce_bytes.to_vec();
        payload.extend_from_slice(&sealed);
        Ok(format!(
            "{VERSION}.{kid}.{}",
            URL_SAFE_NO_PAD.encode(payload)
        ))
    }

    pub fn decrypt(
        &self,
        aad: &SecretAad<'_>,
        ciphertext: &str,
    ) -> Result<SecretString, CryptoError> {
        let kid = key_id_of(ciphertext).ok_or(CryptoError::Malformed)?;
        let (_, key) = self
            .keys
            .iter()
            .find(|(existing, _)| existing == kid)
            .ok_or_else(|| CryptoError::UnknownKey(kid.to_owned()))?;
        let encoded = ciphertext
            .rsplit_once('.')
            .map(|(_, payload)| payload)
            .ok_or(CryptoError::Malformed)?;
        let mut payload = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| CryptoError::Malformed)?;
        if payload.len() < NONCE_LEN {
            return Err(CryptoError::Malformed);
        }
        let sealed = payload.split_off(NONCE_LEN);
        let nonce =
            Nonce::try_assume_unique_for_key(&payload).map_err(|_| CryptoError::Malformed)?;
        let mut sealed = sealed;
        let plaintext = key
            .open_in_place(nonce, Aad::from(aad.bytes()), &mut sealed)
            .map_err(|_| CryptoError::Tampered)?;
        let text = String::from_utf8(plaintext.to_vec()).map_err(|_| CryptoError::Tampered)?;
        Ok(SecretString::from(text))
    }
}

/// The key id a ciphertext was sealed with, read without decrypting.
pub fn key_id_of(ciphertext: &str) -> Option<&str> {
    let mut parts = ciphertext.splitn(3, '.');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(VERSION), Some(kid), Some(_)) if !kid.is_empty() => Some(kid),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(spec: &str) -> KeyRing {
        KeyRing::parse(&SecretString::from(spec.to_owned())).unwrap()
    }

    fn entry(kid: &str) -> String {
        KeyRing::generate_entry(kid)
            .unwrap()
            .expose_secret()
            .to_owned()
    }

    fn aad(org_id: OrgId, field: &str) -> SecretAad<'_> {
        SecretAad {
            org_id,
            provider: "openai",
            field,
        }
    }

    #[test]
    fn round_trips_and_carries_the_key_id() {
        let keys = ring(&entry("k1"));
        let org = OrgId::new();
        let sealed = keys.encrypt(&aad(org, "api_key"), "sk-secret").unwrap();
        assert_eq!(key_id_of(&sealed), Some("k1"));
        assert!(!sealed.contains("sk-secret"));
        let opened = keys.decrypt(&aad(org, "api_key"), &sealed).unwrap();
        assert_eq!(opened.expose_secret(), "sk-secret");
    }

    #[test]
    fn a_fresh_nonce_every_time() {
        let keys = ring(&entry("k1"));
        let org = OrgId::new();
        let a = keys.encrypt(&aad(org, "api_key"), "same").unwrap();
        let b = keys.encrypt(&aad(org, "api_key"), "same").unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn another_org_or_field_cannot_open_it() {
        let keys = ring(&entry("k1"));
        let org = OrgId::new();
        let sealed = keys.encrypt(&aad(org, "api_key"), "sk-secret").unwrap();
        assert_eq!(
            keys.decrypt(&aad(OrgId::new(), "api_key"), &sealed).err(),
            Some(CryptoError::Tampered)
        );
        assert_eq!(
            keys.decrypt(&aad(org, "client_secret"), &sealed).err(),
            Some(CryptoError::Tampered)
        );
    }

    #[test]
    fn old_keys_still_decrypt_after_rotation() {
        let old = entry("old");
        let org = OrgId::new();
        let sealed = ring(&old).encrypt(&aad(org, "api_key"), "v").unwrap();
        let rotated = ring(&format!("{},{old}", entry("new")));
        assert_eq!(rotated.active_key_id(), "new");
        assert_eq!(
            rotated
                .decrypt(&aad(org, "api_key"), &sealed)
                .unwrap()
                .expose_secret(),
            "v"
        );
        let without_old = ring(&entry("new"));
        assert_eq!(
            without_old.decrypt(&aad(org, "api_key"), &sealed).err(),
            Some(CryptoError::UnknownKey("old".into()))
        );
    }

    #[test]
    fn bad_key_rings_are_refused_with_reasons() {
        let parse = |s: &str| KeyRing::parse(&SecretString::from(s.to_owned())).err();
        assert_eq!(parse(""), Some(CryptoError::EmptyKeyRing));
        assert_eq!(parse("nokey"), Some(CryptoError::MalformedEntry(1)));
        assert_eq!(parse("k1:c2hvcnQ="), Some(CryptoError::BadKey("k1".into())));
        assert_eq!(parse("k.1:AAAA"), Some(CryptoError::BadKeyId("k.1".into())));
        let e = entry("k1");
        assert_eq!(
            parse(&format!("{e},{e}")),
            Some(CryptoError::DuplicateKeyId("k1".into()))
        );
    }

    #[test]
    fn debug_never_shows_key_material() {
        let e = entry("k1");
        let shown = format!("{:?}", ring(&e));
        assert!(shown.contains("k1"));
        assert!(!shown.contains(e.split_once(':').unwrap().1));
    }
}

/// What a key derived from the server secret (`PLUGBOARD_JWT_SECRET`) is for. Each purpose has
/// its own HKDF label, so a key of one purpose never verifies another's tokens, and one purpose
/// can move to a new label (or a secret of its own) without touching the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Signing user access tokens (HS256).
    AccessTokens,
    /// The HMAC on OAuth `state` values.
    OAuthState,
    /// The provider sandbox's codes and tokens.
    SandboxGrants,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::AccessTokens => b"plugboard access tokens v1",
            Purpose::OAuthState => b"plugboard oauth state v1",
            Purpose::SandboxGrants => b"plugboard sandbox grants v1",
        }
    }
}

/// A 256-bit key for one purpose, derived with HKDF-SHA256. Its `Debug` shows no key material.
pub struct PurposeKey {
    purpose: Purpose,
    bytes: [u8; 32],
}

impl PurposeKey {
    pub fn derive(server_secret: &SecretString, purpose: Purpose) -> PurposeKey {
        let salt = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, b"plugboard");
        let prk = salt.extract(server_secret.expose_secret().as_bytes());
        let mut bytes = [0u8; 32];
        // Expanding 32 bytes of SHA-256 output cannot fail (the limit is 255 × 32).
        if let Ok(okm) = prk.expand(&[purpose.label()], ring::hkdf::HKDF_SHA256) {
            let _ = okm.fill(&mut bytes);
        }
        PurposeKey { purpose, bytes }
    }

    pub fn expose(&self) -> &[u8] {
        &self.bytes
    }
}

impl fmt::Debug for PurposeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PurposeKey")
            .field("purpose", &self.purpose)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod purpose_tests {
    use super::*;

    #[test]
    fn each_purpose_gets_its_own_key_from_one_secret() {
        let secret = SecretString::from("s".repeat(48));
        let keys = [
            Purpose::AccessTokens,
            Purpose::OAuthState,
            Purpose::SandboxGrants,
        ]
        .map(|p| PurposeKey::derive(&secret, p).expose().to_vec());
        assert_ne!(keys[0], keys[1]);
        assert_ne!(keys[1], keys[2]);
        assert_ne!(keys[0], keys[2]);
        assert!(keys.iter().all(|k| k.iter().any(|b| *b != 0)));
        assert_eq!(
            PurposeKey::derive(&secret, Purpose::OAuthState).expose(),
            keys[1].as_slice(),
            "derivation is stable across restarts"
        );
        let other = SecretString::from("t".repeat(48));
        assert_ne!(
            PurposeKey::derive(&other, Purpose::OAuthState).expose(),
            keys[1].as_slice()
        );
        let shown = format!("{:?}", PurposeKey::derive(&secret, Purpose::AccessTokens));
        assert!(!shown.contains(&format!("{:?}", &keys[0][..4])), "{shown}");
    }
}
