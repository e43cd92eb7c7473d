//! The sandbox's codes and tokens: signed, self-describing strings, so they survive a restart
//! of the process like a real provider's would. Codes are also single-use (see `Sandbox`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use domain::crypto::PurposeKey;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Code,
    Access,
    Refresh,
}

impl Kind {
    fn prefix(self) -> &'static str {
        match self {
            Kind::Code => "sbx_code",
            Kind::Access => "sbx_at",
            Kind::Refresh => "sbx_rt",
        }
    }
}

/// What a grant says about itself.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Grant {
    pub kind: Kind,
    pub provider: String,
    /// The account the grant is for: a Shopify shop's host, or empty.
    pub account: String,
    /// Scopes as the consent request named them.
    pub scope: String,
    pub issued_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Codes only: where the code may be redeemed, the PKCE challenge and whether a refresh
    /// token was asked for (Google's offline access).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge: Option<String>,
    #[serde(default)]
    pub offline: bool,
    /// Makes every grant unique.
    pub nonce: String,
}

impl Grant {
    pub fn new(
        kind: Kind,
        provider: &str,
        account: &str,
        scope: &str,
        lifetime: Option<Duration>,
    ) -> Grant {
        let now = Utc::now();
        let mut nonce = [0u8; 12];
        // A nonce only keeps two grants apart; a failed random source still yields a valid grant.
        let _ = SystemRandom::new().fill(&mut nonce);
        Grant {
            kind,
            provider: provider.to_owned(),
            account: account.to_owned(),
            scope: scope.to_owned(),
            issued_at: now,
            expires_at: lifetime.map(|l| now + l),
            redirect_uri: None,
            code_challenge: None,
            offline: false,
            nonce: URL_SAFE_NO_PAD.encode(nonce),
        }
    }

    /// The same account and scope, as another kind of grant.
    pub fn successor(&self, kind: Kind, lifetime: Option<Duration>) -> Grant {
        Grant::new(kind, &self.provider, &self.account, &self.scope, lifetime)
    }

    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

/// Signs and opens grants.
pub struct Signer {
    key: hmac::Key,
}

impl Signer {
    /// Signs with the sandbox-grant key derived from the server secret.
    pub fn new(key: &PurposeKey) -> Signer {
        Signer {
            key: hmac::Key::new(hmac::HMAC_SHA256, key.expose()),
        }
    }

    pub fn seal(&self, grant: &Grant) -> String {
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(grant).unwrap_or_default());
        let tag = URL_SAFE_NO_PAD.encode(hmac::sign(&self.key, body.as_bytes()));
        format!("{}.{body}.{tag}", grant.kind.prefix())
    }

    /// Opens a grant of the given kind for the given provider; anything else is `None`.
    pub fn open(&self, text: &str, kind: Kind, provider: &str) -> Option<Grant> {
        let mut parts = text.trim().splitn(3, '.');
        let (prefix, body, tag) = (parts.next()?, parts.next()?, parts.next()?);
        if prefix != kind.prefix() {
            return None;
        }
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        hmac::verify(&self.key, body.as_bytes(), &tag).ok()?;
        let grant: Grant = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()?;
        (grant.kind == kind && grant.provider == provider).then_some(grant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::crypto::Purpose;
    use secrecy::SecretString;

    fn signer_for(secret: &str) -> Signer {
        Signer::new(&PurposeKey::derive(
            &SecretString::from(secret.to_owned()),
            Purpose::SandboxGrants,
        ))
    }

    #[test]
    fn a_grant_opens_only_as_itself() {
        let signer = signer_for("secret");
        let grant = Grant::new(Kind::Access, "slack", "", "chat:write", None);
        let text = signer.seal(&grant);
        assert!(text.starts_with("sbx_at."));
        assert!(signer.open(&text, Kind::Access, "slack").is_some());
        assert!(signer.open(&text, Kind::Refresh, "slack").is_none());
        assert!(signer.open(&text, Kind::Access, "meta_ads").is_none());
        assert!(
            signer_for("other")
                .open(&text, Kind::Access, "slack")
                .is_none()
        );
        let tampered = text.replacen("sbx_at.e", "sbx_at.f", 1);
        assert!(signer.open(&tampered, Kind::Access, "slack").is_none());
    }
}
