//! The operator's subcommands beside `serve`: `rotate-keys`, `check-keys` and `create-admin`.
//! Each works on a live database while servers run.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::{Context, bail};
use domain::crypto::{CryptoError, KeyRing, SecretAad};
use persistence::sealed::{self, Place};
use persistence::{Db, StoreError};
use secrecy::{ExposeSecret, SecretString};

use crate::auth::password;
use crate::config::Settings;

/// What one place's rotation did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Rotated {
    /// Re-sealed with the active key.
    pub resealed: u64,
    /// Rewritten by a server between the read and the write: the server's value stands.
    pub changed_meanwhile: u64,
    /// Would not open with the key that sealed it (tampered or copied); left as it is.
    pub unreadable: u64,
}

/// Re-seals every value not under the active key, `batch` rows per transaction. Stopped at any
/// point, it starts again where it was: what is done is under the active key and is not read
/// again. A key id the ring does not hold stops it with the key's name.
pub async fn rotate_keys(
    db: &Db,
    keys: &KeyRing,
    batch: u64,
    mut progress: impl FnMut(Place, &Rotated),
) -> anyhow::Result<BTreeMap<Place, Rotated>> {
    let active = keys.active_key_id();
    let mut report = BTreeMap::new();
    for place in Place::ALL {
        let mut done = Rotated::default();
        let mut after = None;
        loop {
            let found = sealed::not_under(db, place, active, after, batch).await?;
            let Some(last) = found.last() else {
                break;
            };
            after = Some(last.row_id);
            let txn = persistence::begin_write(db)
                .await
                .map_err(StoreError::from)?;
            for value in &found {
                let aad = SecretAad {
                    org_id: value.org_id,
                    provider: &value.scope,
                    field: &value.field,
                };
                let opened = match keys.decrypt(&aad, &value.ciphertext) {
                    Ok(opened) => opened,
                    Err(CryptoError::UnknownKey(kid)) => bail!(
                        "{} are sealed with key `{kid}`, which PLUGBOARD_ENCRYPTION_KEYS does not hold: put it back after the active key and run this again",
                        place.label()
                    ),
                    Err(err) => {
                        tracing::warn!(place = place.label(), row = %value.row_id, error = %err, "a sealed value does not open; left as it is");
                        done.unreadable += 1;
                        continue;
                    }
                };
                let resealed = keys.encrypt(&aad, opened.expose_secret())?;
                if sealed::reseal(&txn, value, &resealed, active).await? {
                    done.resealed += 1;
                } else {
                    done.changed_meanwhile += 1;
                }
            }
            txn.commit().await.map_err(StoreError::from)?;
            progress(place, &done);
        }
        report.insert(place, done);
    }
    Ok(report)
}

/// How one key id stands against the key ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStanding {
    Active,
    Retiring,
    Missing,
}

/// One key id in use: where its values are, and whether the ring holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInUse {
    pub key_id: String,
    pub standing: KeyStanding,
    pub counts: BTreeMap<Place, u64>,
}

/// Every key id that seals something, the active one first.
pub async fn keys_in_use(db: &Db, keys: &KeyRing) -> Result<Vec<KeyInUse>, StoreError> {
    let mut by_key: BTreeMap<String, BTreeMap<Place, u64>> = BTreeMap::new();
    for ((key_id, place), count) in sealed::key_usage(db).await? {
        by_key.entry(key_id).or_default().insert(place, count);
    }
    let mut used: Vec<KeyInUse> = by_key
        .into_iter()
        .map(|(key_id, counts)| KeyInUse {
            standing: if key_id == keys.active_key_id() {
                KeyStanding::Active
            } else if keys.key_ids().any(|held| held == key_id) {
                KeyStanding::Retiring
            } else {
                KeyStanding::Missing
            },
            key_id,
            counts,
        })
        .collect();
    used.sort_by_key(|key| key.standing != KeyStanding::Active);
    Ok(used)
}

/// `check-keys`'s report, and whether every key in use is in the ring.
pub fn describe_keys(used: &[KeyInUse], keys: &KeyRing) -> (String, bool) {
    let mut out = String::new();
    if used.is_empty() {
        let _ = writeln!(out, "No sealed values are stored yet.");
    }
    for key in used {
        let standing = match key.standing {
            KeyStanding::Active => "active",
            KeyStanding::Retiring => "in the ring, not active: run `plugboard rotate-keys`",
            KeyStanding::Missing => "MISSING from PLUGBOARD_ENCRYPTION_KEYS: these do not open",
        };
        let total: u64 = key.counts.values().sum();
        let _ = writeln!(out, "{} ({standing}): {total} sealed values", key.key_id);
        for (place, count) in &key.counts {
            let _ = writeln!(out, "  {count} {}", place.label());
        }
    }
    let unused: Vec<&str> = keys
        .key_ids()
        .filter(|held| used.iter().all(|key| key.key_id != *held))
        .collect();
    if !unused.is_empty() {
        let _ = writeln!(
            out,
            "Seals nothing, safe to remove from PLUGBOARD_ENCRYPTION_KEYS: {}",
            unused.join(", ")
        );
    }
    let whole = used.iter().all(|key| key.standing != KeyStanding::Missing);
    (out, whole)
}

/// Creates a platform admin's account: the address must be in `PLUGBOARD_ADMIN_EMAILS`, which is
/// what makes an account a platform admin. An address that already has an account is left as
/// it is. Whether an account was created.
pub async fn create_admin(
    db: &Db,
    settings: &Settings,
    email: &str,
    name: &str,
    password_text: SecretString,
) -> anyhow::Result<bool> {
    let email = email.trim();
    if !settings.is_platform_admin(email) {
        bail!(
            "{email} is not in PLUGBOARD_ADMIN_EMAILS: add it there (on every server) first, so the account is a platform admin"
        );
    }
    if !password::acceptable(&password_text) {
        bail!("use a password of 10 to 200 characters");
    }
    if persistence::users::find_by_email(db, email)
        .await?
        .is_some()
    {
        return Ok(false);
    }
    let hash = password::Passwords::new(1)?.hash(password_text).await?;
    let name = if name.trim().is_empty() {
        email.split('@').next().unwrap_or(email)
    } else {
        name.trim()
    };
    persistence::users::create(db, email, name, &hash)
        .await
        .context("creating the account")?;
    Ok(true)
}
