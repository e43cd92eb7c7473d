//! Sealing and opening one connection's secrets with the key ring.

use std::collections::BTreeMap;

use domain::OrgId;
use domain::crypto::{CryptoError, KeyRing, SecretAad};
use domain::model::secret_last4;
use persistence::connections::SealedSecret;
use secrecy::{ExposeSecret, SecretString};

pub struct Vault<'a> {
    pub keys: &'a KeyRing,
    pub org_id: OrgId,
    pub provider: &'a str,
}

/// A connection's secrets, opened; those that would not open are named.
pub struct Opened {
    pub secrets: BTreeMap<String, SecretString>,
    pub unreadable: Vec<String>,
}

impl Vault<'_> {
    fn aad<'f>(&'f self, field: &'f str) -> SecretAad<'f> {
        SecretAad {
            org_id: self.org_id,
            provider: self.provider,
            field,
        }
    }

    pub fn seal(
        &self,
        field: &str,
        value: &SecretString,
        show_last4: bool,
    ) -> Result<SealedSecret, CryptoError> {
        Ok(SealedSecret {
            field: field.to_owned(),
            ciphertext: self.keys.encrypt(&self.aad(field), value.expose_secret())?,
            key_id: self.keys.active_key_id().to_owned(),
            last4: if show_last4 {
                secret_last4(value.expose_secret())
            } else {
                None
            },
        })
    }

    pub fn open_all(&self, sealed: BTreeMap<String, String>) -> Opened {
        let mut opened = Opened {
            secrets: BTreeMap::new(),
            unreadable: Vec::new(),
        };
        for (field, ciphertext) in sealed {
            match self.keys.decrypt(&self.aad(&field), &ciphertext) {
                Ok(value) => {
                    opened.secrets.insert(field, value);
                }
                Err(err) => {
                    tracing::warn!(provider = self.provider, field, error = %err, "a stored secret does not open");
                    opened.unreadable.push(field);
                }
            }
        }
        opened
    }
}
