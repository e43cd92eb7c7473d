//! Connecting by OAuth: starting an authorization (state, PKCE, the provider's URL).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use domain::oauth::{Pkce, safe_return_path, state_digest, state_expiry};
use domain::registry::{FieldKind, OAuth2, Provider, Quirk};
use domain::template::{self, Escape};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, ClientId, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
};
use persistence::oauth_states::{self, NewState};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::integrations::{Change, check_change, provider, tenant_level};
use super::vault::Vault;
use crate::auth::TenantContext;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::startup::AppState;

/// The PKCE verifier is sealed under this field name.
const PKCE_FIELD: &str = "pkce_verifier";

pub struct Started {
    pub authorization_url: Url,
    pub state: String,
    pub expires_at: DateTime<Utc>,
}

fn oauth_of(provider: &Provider) -> ApiResult<&OAuth2> {
    provider.oauth().ok_or_else(|| {
        ApiError::conflict(
            "not_oauth",
            format!(
                "{} connects with credentials, not OAuth: save them with PATCH …/integrations/{}.",
                provider.name, provider.id
            ),
        )
    })
}

/// The platform's client id and secret for a provider, or a 409 naming what is missing.
pub fn platform_credentials<'s>(
    state: &'s AppState,
    provider: &Provider,
) -> ApiResult<(&'s SecretString, &'s SecretString)> {
    let missing: Vec<&str> = provider
        .platform_env
        .iter()
        .filter(|name| !state.settings.platform_env.contains_key(*name))
        .map(String::as_str)
        .collect();
    let oauth = oauth_of(provider)?;
    match (
        missing.is_empty(),
        state.settings.platform_env.get(&oauth.client_id_env),
        state.settings.platform_env.get(&oauth.client_secret_env),
    ) {
        (true, Some(id), Some(secret)) => Ok((id, secret)),
        _ => Err(ApiError::conflict(
            "platform_not_ready",
            format!(
                "Plugboard's {} app is not set up yet: the platform operator must set {}. Nothing was started.",
                provider.name,
                missing.join(", ")
            ),
        )),
    }
}

/// Where the provider sends the browser back: always built from the public URL.
pub fn redirect_uri(state: &AppState, provider: &Provider) -> ApiResult<Url> {
    state
        .settings
        .public_url
        .join(&format!("/api/v1/oauth/{}/callback", provider.id))
        .map_err(ApiError::internal)
}

/// Renders one of the provider's OAuth URL templates with the connection's settings and
/// applies the operator's host redirect.
pub fn provider_url(
    provider: &Provider,
    template_text: &str,
    config: &BTreeMap<String, String>,
) -> ApiResult<Url> {
    let rendered = template::render(template_text, |name| {
        let field = provider.field(name)?;
        let escape = if matches!(field.kind, FieldKind::Host | FieldKind::Url) {
            Escape::Raw
        } else {
            Escape::Url
        };
        config.get(name).map(|v| (v.as_str(), escape))
    })
    .map_err(|template::TemplateError::Missing(name)| {
        let label = provider
            .field(&name)
            .map_or(name.clone(), |f| f.label.clone());
        ApiError::validation(vec![FieldError::new(
            format!("config.{name}"),
            format!("{label} is required to connect {}.", provider.name),
        )])
    })?;
    let url = Url::parse(&rendered).map_err(ApiError::internal)?;
    Ok(provider.redirect(url))
}

/// POST …/oauth/start: stores a single-use state and answers the provider's consent URL.
pub async fn start(
    state: &AppState,
    ctx: &TenantContext,
    provider_id: &str,
    return_to: Option<&str>,
    config: BTreeMap<String, String>,
) -> ApiResult<Started> {
    let provider = provider(state, provider_id)?;
    tenant_level(provider)?;
    let oauth = oauth_of(provider)?;
    check_change(
        provider,
        &Change {
            config: config
                .iter()
                .map(|(k, v)| (k.clone(), Some(v.clone())))
                .collect(),
            ..Change::default()
        },
    )?;
    let return_to = match return_to {
        Some(requested) => Some(safe_return_path(requested).ok_or_else(|| {
            ApiError::validation(vec![FieldError::new(
                "return_to",
                "return_to must be a path on this site, such as /settings/integrations.",
            )])
        })?),
        None => None,
    };
    let (client_id, _) = platform_credentials(state, provider)?;
    // Settings the consent needs (a Shopify shop) come with the request; earlier ones are kept.
    let mut settings = persistence::connections::find(&state.db, ctx.org_id, &provider.id)
        .await?
        .map(|c| c.config)
        .unwrap_or_default();
    settings.extend(config);
    let authorize = provider_url(provider, &oauth.authorize_url, &settings)?;

    let token = state
        .states
        .issue(&provider.id)
        .map_err(ApiError::internal)?;
    let pkce = if oauth.pkce {
        Some(Pkce::generate().map_err(ApiError::internal)?)
    } else {
        None
    };
    let vault = Vault {
        keys: &state.keys,
        org_id: ctx.org_id,
        provider: &provider.id,
    };
    let sealed_verifier = match &pkce {
        Some(pkce) => Some(
            vault
                .seal(PKCE_FIELD, &pkce.verifier, false)
                .map_err(ApiError::internal)?
                .ciphertext,
        ),
        None => None,
    };
    let expires_at = state_expiry(Utc::now());
    oauth_states::create(
        &state.db,
        ctx.org_id,
        NewState {
            state_digest: &state_digest(&token),
            provider: &provider.id,
            user_id: ctx.user_id(),
            pkce_verifier: sealed_verifier,
            return_to,
            config: &settings,
            expires_at,
        },
    )
    .await?;

    let client = BasicClient::new(ClientId::new(client_id.expose_secret().to_owned()))
        .set_auth_uri(AuthUrl::from_url(authorize))
        .set_redirect_uri(RedirectUrl::from_url(redirect_uri(state, provider)?));
    let csrf = token.clone();
    let mut request = client.authorize_url(move || CsrfToken::new(csrf));
    if !oauth.scopes.is_empty() {
        request = request.add_scope(Scope::new(oauth.scopes.join(&oauth.scope_separator)));
    }
    if let Some(pkce) = &pkce {
        let verifier = PkceCodeVerifier::new(pkce.verifier.expose_secret().to_owned());
        request =
            request.set_pkce_challenge(PkceCodeChallenge::from_code_verifier_sha256(&verifier));
    }
    for (name, value) in &oauth.authorize_params {
        request = request.add_extra_param(name.as_str(), value.as_str());
    }
    if oauth.has_quirk(Quirk::GoogleOffline) {
        request = request
            .add_extra_param("access_type", "offline")
            .add_extra_param("prompt", "consent");
    }
    if oauth.has_quirk(Quirk::Tiktok) {
        request = request.add_extra_param("app_id", client_id.expose_secret().to_owned());
    }
    let (authorization_url, _) = request.url();
    Ok(Started {
        authorization_url,
        state: token,
        expires_at,
    })
}
