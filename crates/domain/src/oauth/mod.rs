//! The pure parts of OAuth: signed state tokens, `return_to` rules, Shopify's callback HMAC,
//! and reading token answers with each provider's quirks. Sending requests is the API's job.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

pub mod requests;

use crate::crypto::CryptoError;
use crate::problem::ProblemCode;
use crate::registry::{OAuth2, Quirk};

/// The secrets an OAuth connection keeps. They are not registry fields: every OAuth provider
/// has them.
pub const ACCESS_TOKEN: &str = "access_token";
pub const REFRESH_TOKEN: &str = "refresh_token";

/// Why an authorization came back without a connection. The callback sends its name to the SPA
/// (the `code` query parameter), which tells the person what to do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallbackFailure {
    /// The person did not approve.
    AccessDenied,
    /// The provider answered with an error other than a denial.
    AuthorizationFailed,
    /// The state is not ours, unknown, used or expired.
    InvalidState,
    /// The approval came back to a browser other than the one that started it.
    BrowserMismatch,
    MissingCode,
    PlatformNotReady,
    /// Shopify's callback signature did not match, or named another shop.
    InvalidHmac,
    TokenRefused,
    ProviderUnavailable,
    /// Tokens came, and the provider's own check refused them.
    Check(ProblemCode),
}

impl CallbackFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackFailure::AccessDenied => "access_denied",
            CallbackFailure::AuthorizationFailed => "authorization_failed",
            CallbackFailure::InvalidState => "invalid_state",
            CallbackFailure::BrowserMismatch => "browser_mismatch",
            CallbackFailure::MissingCode => "missing_code",
            CallbackFailure::PlatformNotReady => "platform_not_ready",
            CallbackFailure::InvalidHmac => "invalid_hmac",
            CallbackFailure::TokenRefused => "token_refused",
            CallbackFailure::ProviderUnavailable => "provider_unavailable",
            CallbackFailure::Check(code) => code.as_str(),
        }
    }
}

/// How long a started authorization may take.
pub const STATE_TTL_MINUTES: i64 = 10;

/// The lifetime assumed for a token whose answer gives none and whose provider entry names no
/// `default_expires_in`: a day, so the token is still re-checked daily rather than trusted forever.
pub const FALLBACK_EXPIRES_IN_SECS: i64 = 24 * 60 * 60;

/// The longest token lifetime believed: ten years. A larger `expires_in` (a provider's way of
/// saying "never", or garbage) is read as this, and a negative one as zero, so adding it to a
/// date cannot overflow.
pub const MAX_EXPIRES_IN_SECS: i64 = 10 * 365 * 24 * 60 * 60;

/// Signs state tokens so that a state made for one provider's callback is refused on another's
/// before anything is looked up, and a forged one is refused outright.
pub struct StateSigner {
    key: hmac::Key,
}

impl StateSigner {
    /// Signs with the OAuth-state key derived from the server secret.
    pub fn new(key: &crate::crypto::PurposeKey) -> StateSigner {
        StateSigner {
            key: hmac::Key::new(hmac::HMAC_SHA256, key.expose()),
        }
    }

    fn tag(&self, provider: &str, nonce: &str) -> hmac::Tag {
        hmac::sign(&self.key, format!("{provider}|{nonce}").as_bytes())
    }

    /// A fresh state for a provider: 32 random bytes and their signature.
    pub fn issue(&self, provider: &str) -> Result<String, CryptoError> {
        let mut nonce = [0u8; 32];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| CryptoError::Random)?;
        let nonce = URL_SAFE_NO_PAD.encode(nonce);
        let tag = URL_SAFE_NO_PAD.encode(self.tag(provider, &nonce));
        Ok(format!("{nonce}.{tag}"))
    }

    /// Whether a state was signed by us for this provider (constant-time).
    pub fn is_genuine(&self, provider: &str, state: &str) -> bool {
        let Some((nonce, tag)) = state.split_once('.') else {
            return false;
        };
        let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else {
            return false;
        };
        hmac::verify(&self.key, format!("{provider}|{nonce}").as_bytes(), &tag).is_ok()
    }
}

/// Hex SHA-256 of a state, the only form stored.
pub fn state_digest(state: &str) -> String {
    ring::digest::digest(&ring::digest::SHA256, state.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// When a state issued now stops being accepted.
pub fn state_expiry(now: DateTime<Utc>) -> DateTime<Utc> {
    now + Duration::minutes(STATE_TTL_MINUTES)
}

/// A PKCE S256 pair: the verifier stays server-side, the challenge goes to the provider.
pub struct Pkce {
    pub verifier: SecretString,
    pub challenge: String,
}

impl Pkce {
    pub fn generate() -> Result<Pkce, CryptoError> {
        let mut bytes = [0u8; 32];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| CryptoError::Random)?;
        let verifier = URL_SAFE_NO_PAD.encode(bytes);
        let challenge = URL_SAFE_NO_PAD.encode(ring::digest::digest(
            &ring::digest::SHA256,
            verifier.as_bytes(),
        ));
        Ok(Pkce {
            verifier: SecretString::from(verifier),
            challenge,
        })
    }
}

/// Checks a `return_to` the SPA asked for: a path on our own origin, nothing else.
pub fn safe_return_path(requested: &str) -> Option<String> {
    let path = requested.trim();
    let ok = path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && !path.contains("://")
        && !path.chars().any(|c| c.is_control() || c == '\\')
        && path.len() <= 512;
    ok.then(|| path.to_owned())
}

/// Shopify signs its callback query: the hex HMAC-SHA256 of the other parameters, sorted and
/// joined as `k=v&…`, keyed with the app secret.
pub fn shopify_hmac_is_valid(query: &BTreeMap<String, String>, app_secret: &SecretString) -> bool {
    let Some(given) = query.get("hmac") else {
        return false;
    };
    let Ok(given) = decode_hex(given) else {
        return false;
    };
    hmac::verify(
        &shopify_key(app_secret),
        shopify_message(query).as_bytes(),
        &given,
    )
    .is_ok()
}

/// What Shopify signs: every parameter but the signature itself, sorted, as `k=v&…`.
fn shopify_message(query: &BTreeMap<String, String>) -> String {
    query
        .iter()
        .filter(|(k, _)| k.as_str() != "hmac" && k.as_str() != "signature")
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn shopify_key(app_secret: &SecretString) -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA256, app_secret.expose_secret().as_bytes())
}

/// The hex HMAC Shopify would send for a query (for the sandbox and tests).
pub fn shopify_hmac(query: &BTreeMap<String, String>, app_secret: &SecretString) -> String {
    hmac::sign(&shopify_key(app_secret), shopify_message(query).as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn decode_hex(text: &str) -> Result<Vec<u8>, ()> {
    // Hex digits only: `from_str_radix` alone takes a sign (`+a`), and slicing a multi-byte
    // character in two panics.
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(());
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).map_err(|_| ()))
        .collect()
}

/// Tokens and account details read from a provider's token answer.
pub struct TokenSet {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    pub expires_at: DateTime<Utc>,
    pub scopes: Vec<String>,
    pub account_name: Option<String>,
    pub account_id: Option<String>,
}

/// Why a token answer was not usable.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenError {
    /// The provider said no, with its error code (`invalid_grant`, …).
    Refused(String),
    /// The answer has no access token.
    Malformed,
}

fn text(value: &Value, pointer: &str) -> Option<String> {
    match value.pointer(pointer)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Reads a token answer. Providers that answer 200 with an error (Slack, TikTok) are refusals.
pub fn read_token_answer(
    oauth: &OAuth2,
    answer: &Value,
    now: DateTime<Utc>,
) -> Result<TokenSet, TokenError> {
    let refused = |code: Option<String>| {
        TokenError::Refused(code.unwrap_or_else(|| "token_request_refused".to_owned()))
    };
    if let Some(error) = text(answer, "/error") {
        return Err(refused(Some(error)));
    }
    // TikTok wraps everything in {code, message, data}; Slack answers {ok: false, error}.
    let body = if oauth.has_quirk(Quirk::Tiktok) {
        if answer
            .get("code")
            .and_then(Value::as_i64)
            .is_some_and(|code| code != 0)
        {
            return Err(refused(text(answer, "/message")));
        }
        answer.get("data").unwrap_or(answer)
    } else {
        answer
    };
    if oauth.has_quirk(Quirk::Slack) && body.get("ok") == Some(&Value::Bool(false)) {
        return Err(refused(text(body, "/error")));
    }
    let access_token = text(body, "/access_token")
        .or_else(|| {
            oauth
                .has_quirk(Quirk::Slack)
                .then(|| text(body, "/authed_user/access_token"))
                .flatten()
        })
        .ok_or(TokenError::Malformed)?;
    let expires_in = body
        .get("expires_in")
        .and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()))
        .or(oauth.default_expires_in)
        .unwrap_or(FALLBACK_EXPIRES_IN_SECS)
        .clamp(0, MAX_EXPIRES_IN_SECS);
    let scope_text = text(body, "/scope").or_else(|| text(body, "/authed_user/scope"));
    let scopes = match scope_text {
        Some(scopes) => scopes
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        None => body
            .get("scope")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    };
    let (account_name, account_id) = if oauth.has_quirk(Quirk::Slack) {
        (text(body, "/team/name"), text(body, "/team/id"))
    } else if oauth.has_quirk(Quirk::StripeConnect) {
        (None, text(body, "/stripe_user_id"))
    } else {
        (None, None)
    };
    Ok(TokenSet {
        access_token: SecretString::from(access_token),
        refresh_token: text(body, "/refresh_token").map(SecretString::from),
        expires_at: now + Duration::seconds(expires_in),
        scopes,
        account_name,
        account_id,
    })
}

#[cfg(test)]
mod tests;
