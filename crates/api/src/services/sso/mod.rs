//! Signing in with Microsoft Entra or Google: starting (state, PKCE, nonce, the provider's
//! URL), finishing (the code traded for an ID token, the token checked, the identity matched
//! or linked by the domain's rules), and the identities a user has.

mod keys;

use std::net::IpAddr;

use chrono::Utc;
use domain::crypto::SecretAad;
use domain::oauth::{Pkce, state_digest, state_expiry};
use domain::sso::{self as rules, IdClaims, Link, SignIn, SsoFailure, SsoProvider, Subject};
use domain::{OrgId, UserId};
use persistence::sso_states::{self, NewSsoState, SsoClaim};
use persistence::{StoreError, identities, users};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

pub use keys::{CLOCK_SKEW_SECS, FetchError, Metadata, SsoCache};

use crate::auth::{Throttled, Throttles, hash_token, random_token};
use crate::config::{SSO_ENV, Settings};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

const REAL_MICROSOFT: &str = "https://login.microsoftonline.com";
const REAL_GOOGLE: &str = "https://accounts.google.com";
const SCOPES: &str = "openid email profile";

/// A sign-in provider as this server is set up for it.
pub struct SsoClient<'s> {
    pub provider: SsoProvider,
    client_id: &'s SecretString,
    client_secret: &'s SecretString,
    /// Entra's tenant id, or `organizations`.
    tenant: Option<&'s str>,
    pub discovery: Url,
}

/// The provider's setup, when every variable it needs is set (or stood in for by the sandbox).
pub fn client(settings: &Settings, provider: SsoProvider) -> Option<SsoClient<'_>> {
    let env = |name: &str| settings.platform_env.get(name);
    let base = |configured: &Option<Url>, real: &str| -> Option<String> {
        let url = match configured {
            Some(url) => url.to_string(),
            // The sandbox plays every provider the operator did not point elsewhere.
            None if settings.sandbox => settings
                .public_url
                .join(&format!("/sandbox/sso/{}", provider.as_str()))
                .ok()?
                .to_string(),
            None => real.to_owned(),
        };
        Some(url.trim_end_matches('/').to_owned())
    };
    match provider {
        SsoProvider::Microsoft => {
            let tenant = env("MICROSOFT_TENANT_ID")?.expose_secret().trim();
            // The tenant goes into a URL path: a GUID or a name like `organizations` only.
            if tenant.is_empty()
                || !tenant
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            {
                return None;
            }
            let base = base(&settings.sso.microsoft_base, REAL_MICROSOFT)?;
            Some(SsoClient {
                provider,
                client_id: env("MICROSOFT_CLIENT_ID")?,
                client_secret: env("MICROSOFT_CLIENT_SECRET")?,
                tenant: Some(tenant),
                discovery: Url::parse(&format!(
                    "{base}/{tenant}/v2.0/.well-known/openid-configuration"
                ))
                .ok()?,
            })
        }
        SsoProvider::Google => {
            let base = base(&settings.sso.google_base, REAL_GOOGLE)?;
            Some(SsoClient {
                provider,
                client_id: env("GOOGLE_SIGNIN_CLIENT_ID")?,
                client_secret: env("GOOGLE_SIGNIN_CLIENT_SECRET")?,
                tenant: None,
                discovery: Url::parse(&format!("{base}/.well-known/openid-configuration")).ok()?,
            })
        }
    }
}

/// The providers people can sign in with here.
pub fn configured(settings: &Settings) -> Vec<SsoProvider> {
    SsoProvider::ALL
        .into_iter()
        .filter(|p| client(settings, *p).is_some())
        .collect()
}

/// Whether the operator set every variable of a provider (sandbox stand-ins do not count).
pub fn operator_configured(settings: &Settings, provider: SsoProvider) -> bool {
    SSO_ENV
        .iter()
        .filter(|(p, _)| *p == provider)
        .flat_map(|(_, names)| names.iter())
        .all(|name| settings.operator_set(name))
}

/// Where the provider sends the browser back: always built from the public URL.
pub fn redirect_uri(settings: &Settings, provider: SsoProvider) -> ApiResult<Url> {
    settings
        .public_url
        .join(&format!("/api/v1/auth/sso/{}/callback", provider.as_str()))
        .map_err(ApiError::internal)
}

fn not_configured(provider: SsoProvider) -> ApiError {
    ApiError::not_found(format!(
        "Signing in with {} is not set up on this Plugboard.",
        provider.name()
    ))
}

/// The PKCE verifier is sealed like any stored secret, under no organization.
fn verifier_aad(provider: SsoProvider) -> SecretAad<'static> {
    SecretAad {
        org_id: OrgId(uuid::Uuid::nil()),
        provider: match provider {
            SsoProvider::Microsoft => "sso.microsoft",
            SsoProvider::Google => "sso.google",
        },
        field: "pkce_verifier",
    }
}

/// What starting gave: the provider's URL, or why there is none.
pub enum Begun {
    Redirect(Url),
    Failed(SsoFailure),
}

/// Stores a single-use state (with the PKCE verifier, nonce, landing path and the browser's
/// nonce digest) and builds the provider's authorization URL. `link_user`: the signed-in user
/// adding an identity; none for a sign-in.
pub async fn start(
    state: &AppState,
    provider: SsoProvider,
    next: Option<&str>,
    link_user: Option<UserId>,
    browser_nonce: &str,
) -> ApiResult<Begun> {
    let client = client(&state.settings, provider).ok_or_else(|| not_configured(provider))?;
    let metadata = match state
        .sso
        .metadata(&state.http, provider, &client.discovery, false)
        .await
    {
        Ok(metadata) => metadata,
        Err(err) => {
            tracing::warn!(provider = provider.as_str(), error = %err, "fetching the sign-in provider's discovery document");
            return Ok(Begun::Failed(SsoFailure::ProviderUnavailable));
        }
    };
    let token = state
        .states
        .issue(&format!("sso.{}", provider.as_str()))
        .map_err(ApiError::internal)?;
    let pkce = Pkce::generate().map_err(ApiError::internal)?;
    let nonce = random_token(32)?;
    let sealed = state
        .keys
        .encrypt(&verifier_aad(provider), pkce.verifier.expose_secret())
        .map_err(ApiError::internal)?;
    sso_states::create(
        &state.db,
        NewSsoState {
            state_digest: &state_digest(&token),
            provider,
            link_user_id: link_user,
            pkce_verifier: sealed,
            nonce: &nonce,
            next: next.and_then(domain::oauth::safe_return_path),
            browser_nonce: &hash_token(browser_nonce),
            expires_at: state_expiry(Utc::now()),
        },
    )
    .await?;
    let mut url = metadata.authorization_endpoint.clone();
    url.query_pairs_mut()
        .append_pair("client_id", client.client_id.expose_secret())
        .append_pair("response_type", "code")
        .append_pair(
            "redirect_uri",
            redirect_uri(&state.settings, provider)?.as_str(),
        )
        .append_pair("scope", SCOPES)
        .append_pair("state", &token)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &pkce.challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("prompt", "select_account");
    Ok(Begun::Redirect(url))
}

/// How a callback ended.
pub enum Finished {
    /// Signed in as `user`; the SPA path to land on.
    SignedIn { user: UserId, landing: String },
    /// The identity is now linked to the signed-in user (or was already).
    Linked,
    /// Nothing happened; `linking` says which page to tell.
    Failed { failure: SsoFailure, linking: bool },
}

fn failed(failure: SsoFailure, linking: bool) -> ApiResult<Finished> {
    Ok(Finished::Failed { failure, linking })
}

#[derive(Deserialize)]
struct TokenAnswer {
    id_token: Option<String>,
}

/// Trades the code for the provider's tokens (client secret and PKCE verifier in the body).
async fn exchange(
    state: &AppState,
    client: &SsoClient<'_>,
    metadata: &Metadata,
    code: &str,
    verifier: &SecretString,
) -> Result<String, SsoFailure> {
    let redirect =
        redirect_uri(&state.settings, client.provider).map_err(|_| SsoFailure::ProviderError)?;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect.as_str()),
        ("client_id", client.client_id.expose_secret()),
        ("client_secret", client.client_secret.expose_secret()),
        ("code_verifier", verifier.expose_secret()),
    ];
    let response = state
        .http
        .client_for(false, true)
        .post(metadata.token_endpoint.clone())
        .header("accept", "application/json")
        .form(&form)
        .send()
        .await
        .map_err(|err| {
            let failure = crate::outbound::classify(err);
            tracing::warn!(
                provider = client.provider.as_str(),
                ?failure,
                "the sign-in token request failed"
            );
            SsoFailure::ProviderUnavailable
        })?;
    let status = response.status().as_u16();
    let body = crate::outbound::read_body(response)
        .await
        .map_err(|_| SsoFailure::ProviderUnavailable)?;
    match status {
        200..=299 => {}
        400..=499 => {
            // The error code only: the answer may echo what was sent.
            let error = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned));
            tracing::info!(
                provider = client.provider.as_str(),
                status,
                ?error,
                "the provider refused the sign-in code"
            );
            return Err(SsoFailure::CodeRefused);
        }
        _ => return Err(SsoFailure::ProviderUnavailable),
    }
    serde_json::from_slice::<TokenAnswer>(&body)
        .ok()
        .and_then(|a| a.id_token)
        .ok_or(SsoFailure::InvalidToken)
}

/// The provider's answer: claims the state, trades the code, checks the ID token, then signs
/// in or links by the domain's rules. `browser_nonce`: the calling browser's cookie.
pub async fn callback(
    state: &AppState,
    throttles: &Throttles,
    provider: SsoProvider,
    query: &std::collections::BTreeMap<String, String>,
    browser_nonce: Option<&str>,
    address: Option<IpAddr>,
) -> ApiResult<Finished> {
    let Some(client) = client(&state.settings, provider) else {
        return Err(not_configured(provider));
    };
    let purpose = format!("sso.{}", provider.as_str());
    let Some(token) = query
        .get("state")
        .filter(|s| state.states.is_genuine(&purpose, s))
    else {
        return failed(SsoFailure::InvalidState, false);
    };
    let browser = browser_nonce.map(hash_token);
    let claimed = match sso_states::claim(
        &state.db,
        &state_digest(token),
        provider,
        browser.as_deref(),
        Utc::now(),
    )
    .await?
    {
        SsoClaim::Claimed(claimed) => claimed,
        SsoClaim::OtherBrowser => return failed(SsoFailure::BrowserMismatch, false),
        SsoClaim::Unknown => return failed(SsoFailure::InvalidState, false),
    };
    let linking = claimed.link_user_id.is_some();
    if let Some(error) = query.get("error") {
        let failure = if error == "access_denied" {
            SsoFailure::AccessDenied
        } else {
            SsoFailure::ProviderError
        };
        return failed(failure, linking);
    }
    let Some(code) = query.get("code").filter(|c| !c.is_empty()) else {
        return failed(SsoFailure::MissingCode, linking);
    };
    let metadata = match state
        .sso
        .metadata(&state.http, provider, &client.discovery, false)
        .await
    {
        Ok(metadata) => metadata,
        Err(_) => return failed(SsoFailure::ProviderUnavailable, linking),
    };
    let verifier = state
        .keys
        .decrypt(&verifier_aad(provider), &claimed.pkce_verifier)
        .map_err(ApiError::internal)?;
    let id_token = match exchange(state, &client, &metadata, code, &verifier).await {
        Ok(token) => token,
        Err(failure) => return failed(failure, linking),
    };
    let expected = keys::Expected {
        provider,
        client_id: client.client_id.expose_secret(),
        issuer: &metadata.issuer,
        nonce: &claimed.nonce,
    };
    let claims = match keys::verify(&state.sso, &state.http, &metadata, &id_token, &expected).await
    {
        Ok(claims) => claims,
        Err(failure) => return failed(failure, linking),
    };
    let subject = match rules::subject_of(provider, &claims) {
        Ok(subject) => subject,
        Err(failure) => return failed(failure, linking),
    };
    let verified = rules::verified_email(provider, &claims, client.tenant);
    match claimed.link_user_id {
        Some(me) => link(state, me, &subject, verified.as_deref()).await,
        None => {
            if !within_login_throttle(state, throttles, &subject, address).await? {
                return failed(SsoFailure::Throttled, false);
            }
            sign_in(
                state,
                &subject,
                &claims,
                verified.as_deref(),
                claimed.next.as_deref(),
            )
            .await
        }
    }
}

/// The log-in throttle, counting a sign-in with an identity as a log-in to an account.
async fn within_login_throttle(
    state: &AppState,
    throttles: &Throttles,
    subject: &Subject,
    address: Option<IpAddr>,
) -> ApiResult<bool> {
    let account = format!(
        "sso:{}:{}:{}",
        subject.provider.as_str(),
        subject.tenant_id,
        subject.subject
    );
    let attempt = throttles.login(&account, address);
    let allowed = match throttles.check_here(&attempt) {
        Ok(()) => throttles.check_shared(&state.db, &attempt).await,
        Err(refused) => Err(refused),
    };
    match allowed {
        Ok(()) => Ok(true),
        Err(Throttled::Wait(_)) => Ok(false),
        Err(Throttled::Store(err)) => Err(err.into()),
    }
}

async fn link(
    state: &AppState,
    me: UserId,
    subject: &Subject,
    email: Option<&str>,
) -> ApiResult<Finished> {
    let linked = identities::linked_user(&state.db, subject).await?;
    match rules::decide_link(me, linked) {
        Link::AlreadyLinked => Ok(Finished::Linked),
        Link::Refuse(failure) => failed(failure, true),
        Link::Link => match identities::link(&state.db, me, subject, email, Utc::now()).await {
            Ok(_) => Ok(Finished::Linked),
            // Linked by someone else between the look and the write.
            Err(StoreError::Duplicate(_)) => failed(SsoFailure::IdentityTaken, true),
            Err(err) => Err(err.into()),
        },
    }
}

async fn sign_in(
    state: &AppState,
    subject: &Subject,
    claims: &IdClaims,
    verified: Option<&str>,
    next: Option<&str>,
) -> ApiResult<Finished> {
    let linked = identities::linked_user(&state.db, subject).await?;
    let account = match (linked, verified) {
        (None, Some(email)) => users::find_by_email(&state.db, email).await?.map(|u| u.id),
        _ => None,
    };
    let now = Utc::now();
    let user = match rules::decide_sign_in(linked, verified, account) {
        SignIn::Existing(user) => {
            identities::touch(&state.db, subject, now).await?;
            user
        }
        SignIn::LinkByEmail(user) => {
            link_new(state, user, subject, verified).await?;
            user
        }
        SignIn::Create { email } => {
            let name = display_name(claims, &email);
            let created = match users::create_without_password(&state.db, &email, &name).await {
                Ok(user) => user,
                // Signed up with a password between the look and the write: link to it.
                Err(StoreError::Duplicate(_)) => users::find_by_email(&state.db, &email)
                    .await?
                    .ok_or_else(|| {
                        ApiError::internal(anyhow::anyhow!("a user vanished while signing in"))
                    })?,
                Err(err) => return Err(err.into()),
            };
            link_new(state, created.id, subject, verified).await?;
            created.id
        }
        SignIn::Refuse(failure) => return failed(failure, false),
    };
    Ok(Finished::SignedIn {
        user,
        landing: rules::landing_path(next),
    })
}

async fn link_new(
    state: &AppState,
    user: UserId,
    subject: &Subject,
    email: Option<&str>,
) -> ApiResult<()> {
    match identities::link(&state.db, user, subject, email, Utc::now()).await {
        // Two sign-ins of one identity at once: the other one linked it.
        Ok(_) | Err(StoreError::Duplicate(_)) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// The token's name, else the address's local part; at most 100 characters, as sign-up allows.
fn display_name(claims: &IdClaims, email: &str) -> String {
    let name = claims
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| email.split('@').next().unwrap_or(email));
    name.chars().filter(|c| !c.is_control()).take(100).collect()
}

/// Both sign-in providers' live checks for readiness, side by side.
pub async fn probe_sign_ins(state: &AppState) -> domain::readiness::SignInChecks {
    let (microsoft, google) = tokio::join!(
        probe(state, SsoProvider::Microsoft),
        probe(state, SsoProvider::Google)
    );
    domain::readiness::SignInChecks { microsoft, google }
}

/// A sign-in provider's live check: its discovery document is fetched afresh (and kept for
/// sign-ins), and its key set must answer too.
async fn probe(state: &AppState, provider: SsoProvider) -> domain::readiness::SignInCheck {
    use domain::readiness::{SignInCheck, SignInProbe};
    let redirect = redirect_uri(&state.settings, provider)
        .map(|u| u.to_string())
        .unwrap_or_else(|_| {
            format!(
                "{{PLUGBOARD_PUBLIC_URL}}/api/v1/auth/sso/{}/callback",
                provider.as_str()
            )
        });
    // Microsoft's discovery is the tenant's: a wrong tenant is the likely cause.
    let hint = match provider {
        SsoProvider::Microsoft => " Check MICROSOFT_TENANT_ID.",
        SsoProvider::Google => "",
    };
    let probe = match client(&state.settings, provider) {
        Some(client) if operator_configured(&state.settings, provider) => {
            match state
                .sso
                .metadata(&state.http, provider, &client.discovery, true)
                .await
            {
                Ok(metadata) => match keys::check_keys(&state.http, &metadata).await {
                    Ok(()) => SignInProbe::Reachable,
                    Err(err) => SignInProbe::Failed(format!(
                        "the signing keys at {} did not answer: {err}.",
                        metadata.jwks_uri
                    )),
                },
                Err(err) => SignInProbe::Failed(format!(
                    "the sign-in configuration at {} did not answer: {err}.{hint}",
                    client.discovery
                )),
            }
        }
        Some(_) | None => SignInProbe::NotChecked,
    };
    SignInCheck {
        redirect_uri: redirect,
        probe,
    }
}
