//! Signing in with Microsoft Entra or Google (OpenID Connect): who an ID token names, whether
//! its e-mail address was verified by the issuer, and what a sign-in or a link does. Fetching
//! and checking signatures is the API's job; these are the rules.
//!
//! An identity is the issuer's stable subject — Entra: tenant id + object id; Google: `sub` —
//! never the e-mail. An e-mail address is trusted (to link to an existing account, to create
//! one, or for platform admin rights) only when the issuer vouches for it. Entra lets any
//! tenant's admin put any address in `email` (the "nOAuth" takeover), so an Entra address
//! counts only from the configured tenant or with `xms_edov` (the domain owner verified it).

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::{IdentityId, UserId};

/// The identity providers people can sign in with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SsoProvider {
    Microsoft,
    Google,
}

impl SsoProvider {
    pub const ALL: [SsoProvider; 2] = [SsoProvider::Microsoft, SsoProvider::Google];

    pub fn as_str(self) -> &'static str {
        match self {
            SsoProvider::Microsoft => "microsoft",
            SsoProvider::Google => "google",
        }
    }

    pub fn parse(text: &str) -> Option<SsoProvider> {
        SsoProvider::ALL.into_iter().find(|p| p.as_str() == text)
    }

    /// The name people know it by.
    pub fn name(self) -> &'static str {
        match self {
            SsoProvider::Microsoft => "Microsoft",
            SsoProvider::Google => "Google",
        }
    }
}

/// The ID token claims the rules read. Signature, audience and expiry were checked before.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct IdClaims {
    pub iss: String,
    pub sub: String,
    /// Entra: the tenant the account lives in.
    #[serde(default)]
    pub tid: Option<String>,
    /// Entra: the account's object id, stable across the tenant's applications.
    #[serde(default)]
    pub oid: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// Google: the address is the account's and Google checked it.
    #[serde(default, deserialize_with = "loose_bool")]
    pub email_verified: Option<bool>,
    /// Entra: the address's domain was verified by the tenant that issued it.
    #[serde(default, deserialize_with = "loose_bool")]
    pub xms_edov: Option<bool>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub nonce: Option<String>,
}

/// `true`, or `"true"` as some issuers write booleans in tokens.
fn loose_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match value {
        Some(serde_json::Value::Bool(b)) => Some(b),
        Some(serde_json::Value::String(s)) => Some(s.eq_ignore_ascii_case("true")),
        _ => None,
    })
}

/// The key an identity is stored under: unique across every user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    pub provider: SsoProvider,
    pub issuer: String,
    /// Entra's tenant id; empty for Google.
    pub tenant_id: String,
    /// Entra's object id; Google's `sub`.
    pub subject: String,
}

/// An identity linked to a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub id: IdentityId,
    pub user_id: UserId,
    pub provider: SsoProvider,
    pub tenant_id: String,
    pub subject: String,
    /// The address the token carried when it was linked (shown to tell identities apart).
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
}

/// Why a sign-in or a link ended without one. Its name goes to the SPA (`?error=`), which
/// says what to do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SsoFailure {
    /// The person did not approve at the provider.
    AccessDenied,
    /// The provider answered with another error.
    ProviderError,
    /// The state is unknown, used, expired or another provider's.
    InvalidState,
    /// The answer came back to another browser than the one that started.
    BrowserMismatch,
    MissingCode,
    /// The provider's discovery, keys or token endpoint could not be reached.
    ProviderUnavailable,
    /// The token endpoint refused the code.
    CodeRefused,
    /// The ID token failed a check (signature, issuer, tenant, audience, expiry or nonce).
    InvalidToken,
    /// The token names no e-mail address verified by the issuer, and no account is linked yet.
    EmailUnverified,
    /// The identity is linked to another account.
    IdentityTaken,
    /// Too many sign-in attempts.
    Throttled,
}

impl SsoFailure {
    pub const ALL: [SsoFailure; 11] = [
        SsoFailure::AccessDenied,
        SsoFailure::ProviderError,
        SsoFailure::InvalidState,
        SsoFailure::BrowserMismatch,
        SsoFailure::MissingCode,
        SsoFailure::ProviderUnavailable,
        SsoFailure::CodeRefused,
        SsoFailure::InvalidToken,
        SsoFailure::EmailUnverified,
        SsoFailure::IdentityTaken,
        SsoFailure::Throttled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SsoFailure::AccessDenied => "sso_access_denied",
            SsoFailure::ProviderError => "sso_provider_error",
            SsoFailure::InvalidState => "sso_invalid_state",
            SsoFailure::BrowserMismatch => "sso_browser_mismatch",
            SsoFailure::MissingCode => "sso_missing_code",
            SsoFailure::ProviderUnavailable => "sso_provider_unavailable",
            SsoFailure::CodeRefused => "sso_code_refused",
            SsoFailure::InvalidToken => "sso_invalid_token",
            SsoFailure::EmailUnverified => "sso_email_unverified",
            SsoFailure::IdentityTaken => "sso_identity_taken",
            SsoFailure::Throttled => "sso_throttled",
        }
    }

    /// What the person is told.
    pub fn sentence(self) -> &'static str {
        match self {
            SsoFailure::AccessDenied => {
                "Sign-in was cancelled at the provider. Try again when you are ready."
            }
            SsoFailure::ProviderError => {
                "The provider could not sign you in. Try again, or sign in with your password."
            }
            SsoFailure::InvalidState | SsoFailure::BrowserMismatch => {
                "That sign-in link has expired or was already used. Start again from this page."
            }
            SsoFailure::MissingCode | SsoFailure::CodeRefused | SsoFailure::InvalidToken => {
                "The provider's answer could not be trusted, so you were not signed in. Start again from this page."
            }
            SsoFailure::ProviderUnavailable => {
                "The provider cannot be reached right now. Try again in a few minutes, or sign in with your password."
            }
            SsoFailure::EmailUnverified => {
                "Your provider did not confirm that this e-mail address is yours. Sign in with your password, then link this account from your account page."
            }
            SsoFailure::IdentityTaken => {
                "That account is already linked to another Plugboard user. Sign in as that user to unlink it first."
            }
            SsoFailure::Throttled => "Too many sign-in attempts. Wait a minute, then try again.",
        }
    }
}

/// The stored identity a token names: Entra needs both `tid` and `oid`.
pub fn subject_of(provider: SsoProvider, claims: &IdClaims) -> Result<Subject, SsoFailure> {
    let present = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    match provider {
        SsoProvider::Microsoft => {
            let (Some(tid), Some(oid)) = (present(&claims.tid), present(&claims.oid)) else {
                return Err(SsoFailure::InvalidToken);
            };
            Ok(Subject {
                provider,
                issuer: claims.iss.clone(),
                tenant_id: tid,
                subject: oid,
            })
        }
        SsoProvider::Google => {
            if claims.sub.trim().is_empty() {
                return Err(SsoFailure::InvalidToken);
            }
            Ok(Subject {
                provider,
                issuer: claims.iss.clone(),
                tenant_id: String::new(),
                subject: claims.sub.clone(),
            })
        }
    }
}

/// The issuer a token must name. Entra's multi-tenant discovery says
/// `https://login.microsoftonline.com/{tenantid}/v2.0`: the placeholder is the token's own
/// `tid`. A tenant's own discovery names that tenant's issuer, so another tenant's token fails
/// here; where other tenants may sign in, their addresses are not trusted (`verified_email`).
pub fn issuer_is_valid(provider: SsoProvider, discovered_issuer: &str, claims: &IdClaims) -> bool {
    match provider {
        // Google's tokens may name its issuer without the scheme.
        SsoProvider::Google => {
            claims.iss == discovered_issuer
                || discovered_issuer.strip_prefix("https://") == Some(claims.iss.as_str())
        }
        SsoProvider::Microsoft => {
            let Some(tid) = claims.tid.as_deref().filter(|t| !t.is_empty()) else {
                return false;
            };
            claims.iss == discovered_issuer.replace("{tenantid}", tid)
        }
    }
}

/// A tenant id rather than one of Entra's multi-tenant authorities.
pub fn is_specific_tenant(tenant: &str) -> bool {
    !matches!(
        tenant.to_ascii_lowercase().as_str(),
        "organizations" | "common" | "consumers"
    )
}

/// The e-mail address the issuer vouches for, lower-cased, if any.
pub fn verified_email(
    provider: SsoProvider,
    claims: &IdClaims,
    configured_tenant: Option<&str>,
) -> Option<String> {
    let email = claims
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| e.contains('@'))?;
    let vouched = match provider {
        SsoProvider::Google => claims.email_verified == Some(true),
        SsoProvider::Microsoft => {
            let home_tenant = match (
                configured_tenant.filter(|t| is_specific_tenant(t)),
                claims.tid.as_deref(),
            ) {
                (Some(tenant), Some(tid)) => tenant.eq_ignore_ascii_case(tid),
                _ => false,
            };
            home_tenant || claims.xms_edov == Some(true)
        }
    };
    vouched.then(|| email.to_lowercase())
}

/// What a sign-in (nobody signed in yet) does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignIn {
    /// The identity is linked already: sign its user in.
    Existing(UserId),
    /// A verified address matches an account: link the identity to it, then sign in.
    LinkByEmail(UserId),
    /// A verified address and no account: create one, link, sign in.
    Create {
        email: String,
    },
    Refuse(SsoFailure),
}

/// `linked`: the user the identity is linked to; `account`: the user whose address is the
/// verified one (looked up only when there is one).
pub fn decide_sign_in(
    linked: Option<UserId>,
    verified: Option<&str>,
    account: Option<UserId>,
) -> SignIn {
    match (linked, verified, account) {
        (Some(user), _, _) => SignIn::Existing(user),
        (None, Some(_), Some(user)) => SignIn::LinkByEmail(user),
        (None, Some(email), None) => SignIn::Create {
            email: email.to_owned(),
        },
        (None, None, _) => SignIn::Refuse(SsoFailure::EmailUnverified),
    }
}

/// What linking an identity to the signed-in user does. The address does not matter: the
/// person proved both ends by signing in to each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    Link,
    AlreadyLinked,
    Refuse(SsoFailure),
}

pub fn decide_link(me: UserId, linked: Option<UserId>) -> Link {
    match linked {
        None => Link::Link,
        Some(user) if user == me => Link::AlreadyLinked,
        Some(_) => Link::Refuse(SsoFailure::IdentityTaken),
    }
}

/// Whether an identity may be unlinked: something must still let the person in.
pub fn may_unlink(has_password: bool, identities: usize) -> bool {
    has_password || identities > 1
}

/// The SPA path a sign-in lands on: a same-origin path only, `/` otherwise.
pub fn landing_path(next: Option<&str>) -> String {
    next.and_then(crate::oauth::safe_return_path)
        .unwrap_or_else(|| "/".to_owned())
}

#[cfg(test)]
mod tests;
