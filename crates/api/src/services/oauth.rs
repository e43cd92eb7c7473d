//! Connecting by OAuth: starting an authorization (state, PKCE, the provider's URL).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use domain::lifecycle;
use domain::oauth::requests::{self, ClientCredentials, Grant, TokenBody, TokenRequest};
use domain::oauth::{CallbackFailure, Pkce, safe_return_path, state_digest, state_expiry};
use domain::registry::{FieldKind, OAuth2, Provider, Quirk};
use domain::template::{self, Escape};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, ClientId, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
};
use persistence::oauth_states::{self, Claim, NewState};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::catalog::{provider, tenant_level};
use super::integrations::invalid;
use super::lease::{self, Deadline};
use super::vault::Vault;
use crate::auth::{TenantContext, hash_token};
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError};
use crate::state::AppState;

/// The PKCE verifier is sealed under this field name.
const PKCE_FIELD: &str = "pkce_verifier";

pub struct Started {
    pub authorization_url: Url,
    pub state: String,
    pub expires_at: DateTime<Utc>,
}

pub(crate) fn oauth_of(provider: &Provider) -> ApiResult<&OAuth2> {
    provider.oauth().ok_or_else(|| {
        ApiError::conflict(
            ErrorCode::NotOauth,
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
    let app = state.settings.platform_app(provider);
    let oauth = oauth_of(provider)?;
    match (
        app.usable,
        state.settings.platform_env.get(&oauth.client_id_env),
        state.settings.platform_env.get(&oauth.client_secret_env),
    ) {
        (true, Some(id), Some(secret)) => Ok((id, secret)),
        _ => Err(ApiError::conflict(
            ErrorCode::PlatformNotReady,
            format!(
                "Plugboard's {} app is not set up yet: the platform operator must set {}. Nothing was started.",
                provider.name,
                app.missing.join(", ")
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
/// `browser_nonce` binds the state to the browser holding it (see `callback`); flows started
/// with an API key have no browser and pass `None`.
pub async fn start(
    state: &AppState,
    ctx: &TenantContext,
    provider_id: &str,
    return_to: Option<&str>,
    config: BTreeMap<String, String>,
    browser_nonce: Option<&str>,
) -> ApiResult<Started> {
    let provider = provider(state, provider_id)?;
    tenant_level(provider)?;
    let oauth = oauth_of(provider)?;
    let problems = lifecycle::check_change(provider, &lifecycle::Change::settings(&config));
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
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
            browser_nonce: browser_nonce.map(hash_token),
            expires_at,
        },
    )
    .await?;

    let client = BasicClient::new(ClientId::new(client_id.expose_secret().to_owned()))
        .set_auth_uri(AuthUrl::from_url(authorize))
        .set_redirect_uri(RedirectUrl::from_url(redirect_uri(state, provider)?));
    let csrf = token.clone();
    let mut request = client.authorize_url(move || CsrfToken::new(csrf));
    if let Some(scope) = requests::scope_param(oauth) {
        request = request.add_scope(Scope::new(scope));
    }
    if let Some(pkce) = &pkce {
        let verifier = PkceCodeVerifier::new(pkce.verifier.expose_secret().to_owned());
        request =
            request.set_pkce_challenge(PkceCodeChallenge::from_code_verifier_sha256(&verifier));
    }
    for (name, value) in requests::authorize_params(oauth, client_id) {
        request = request.add_extra_param(name, value);
    }
    let (authorization_url, _) = request.url();
    Ok(Started {
        authorization_url,
        state: token,
        expires_at,
    })
}

/// Where a callback sends the browser: the SPA path, with only the outcome in the query.
pub struct Landing {
    pub location: String,
}

fn landing(
    return_to: Option<&str>,
    provider: &str,
    outcome: Result<(), CallbackFailure>,
) -> Landing {
    let base = return_to.map_or_else(
        || format!("/settings/integrations/{provider}"),
        str::to_owned,
    );
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("integration", provider);
    match outcome {
        Ok(()) => query.append_pair("result", "connected"),
        Err(code) => query
            .append_pair("result", "error")
            .append_pair("code", code.as_str()),
    };
    let separator = if base.contains('?') { '&' } else { '?' };
    Landing {
        location: format!("{base}{separator}{}", query.finish()),
    }
}

/// Why a token request did not give tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// On a callback, its name travels to the SPA.
    Failed(CallbackFailure),
    /// A renewal's lease had too little time left to ask the provider: nothing was sent.
    LeaseLapsed,
}

impl From<CallbackFailure> for Refusal {
    fn from(failure: CallbackFailure) -> Refusal {
        Refusal::Failed(failure)
    }
}

/// GET /oauth/{provider}/callback: finishes an authorization started by `start`, in the
/// browser that started it: a state bound to a nonce is refused with any other (RFC 9700
/// §4.7.1), so nobody can have someone else approve a provider account into their organization.
pub async fn callback(
    state: &AppState,
    provider_id: &str,
    query: &BTreeMap<String, String>,
    browser_nonce: Option<&str>,
) -> ApiResult<Landing> {
    let provider = provider(state, provider_id)?;
    let Some(token) = query
        .get("state")
        .filter(|t| state.states.is_genuine(&provider.id, t))
    else {
        tracing::warn!(provider = %provider.id, "OAuth callback with a state that is not ours for this provider");
        return Ok(landing(
            None,
            &provider.id,
            Err(CallbackFailure::InvalidState),
        ));
    };
    let browser = browser_nonce.map(hash_token);
    let claimed = match oauth_states::claim(
        &state.db,
        &state_digest(token),
        &provider.id,
        browser.as_deref(),
        Utc::now(),
    )
    .await?
    {
        Claim::Claimed(claimed) => claimed,
        Claim::OtherBrowser => {
            tracing::warn!(provider = %provider.id, "OAuth callback in a browser other than the one that started it");
            return Ok(landing(
                None,
                &provider.id,
                Err(CallbackFailure::BrowserMismatch),
            ));
        }
        Claim::Unknown => {
            tracing::warn!(provider = %provider.id, "OAuth callback with an unknown, used or expired state");
            return Ok(landing(
                None,
                &provider.id,
                Err(CallbackFailure::InvalidState),
            ));
        }
    };
    let return_to = claimed.return_to.clone();
    let outcome = finish(state, provider, &claimed, query).await?;
    Ok(landing(return_to.as_deref(), &provider.id, outcome))
}

async fn finish(
    state: &AppState,
    provider: &Provider,
    claimed: &oauth_states::ClaimedState,
    query: &BTreeMap<String, String>,
) -> ApiResult<Result<(), CallbackFailure>> {
    let oauth = oauth_of(provider)?;
    if query.contains_key("error") {
        let failure = if query.get("error").is_some_and(|e| e == "access_denied") {
            CallbackFailure::AccessDenied
        } else {
            CallbackFailure::AuthorizationFailed
        };
        return Ok(Err(failure));
    }
    let Some(code) = query
        .get(requests::code_param(oauth))
        .filter(|c| !c.is_empty())
    else {
        return Ok(Err(CallbackFailure::MissingCode));
    };
    let Ok((client_id, client_secret)) = platform_credentials(state, provider) else {
        return Ok(Err(CallbackFailure::PlatformNotReady));
    };
    if oauth.has_quirk(Quirk::Shopify) {
        let same_shop = query.get("shop") == claimed.config.get("shop");
        if !same_shop || !domain::oauth::shopify_hmac_is_valid(query, client_secret) {
            tracing::warn!("Shopify callback with a bad hmac or another shop");
            return Ok(Err(CallbackFailure::InvalidHmac));
        }
    }
    let vault = Vault {
        keys: &state.keys,
        org_id: claimed.org_id,
        provider: &provider.id,
    };
    let verifier = match &claimed.pkce_verifier {
        Some(sealed) => {
            let opened = vault.open_all(BTreeMap::from([(PKCE_FIELD.to_owned(), sealed.clone())]));
            opened.secrets.get(PKCE_FIELD).cloned()
        }
        None => None,
    };
    let exchange = TokenExchange {
        state,
        provider,
        oauth,
        config: &claimed.config,
        client_id,
        client_secret,
        lease: None,
    };
    let answer = match exchange.code(code, verifier.as_ref()).await? {
        Ok(answer) => answer,
        Err(Refusal::Failed(failure)) => return Ok(Err(failure)),
        // Only a renewal holds a lease.
        Err(Refusal::LeaseLapsed) => return Ok(Err(CallbackFailure::ProviderUnavailable)),
    };
    let tokens = match domain::oauth::read_token_answer(oauth, &answer, Utc::now()) {
        Ok(tokens) => tokens,
        Err(err) => {
            tracing::warn!(provider = %provider.id, error = ?err, "token answer refused");
            return Ok(Err(CallbackFailure::TokenRefused));
        }
    };
    Ok(
        super::integrations::connect_with_tokens(state, claimed, provider, tokens)
            .await?
            .map_err(CallbackFailure::Check),
    )
}

/// A token request to one provider: built by the domain with the provider's quirks, sent here.
pub(crate) struct TokenExchange<'a> {
    pub state: &'a AppState,
    pub provider: &'a Provider,
    pub oauth: &'a OAuth2,
    pub config: &'a BTreeMap<String, String>,
    pub client_id: &'a SecretString,
    pub client_secret: &'a SecretString,
    /// The lease a renewal holds: the request leaves only while it has time left, and ends
    /// before it does.
    pub lease: Option<Deadline>,
}

impl TokenExchange<'_> {
    fn client(&self) -> ClientCredentials<'_> {
        ClientCredentials {
            id: self.client_id,
            secret: self.client_secret,
        }
    }

    /// Trades a refresh token for new tokens (RFC 6749 §6).
    pub async fn refresh(
        &self,
        refresh_token: &SecretString,
    ) -> ApiResult<Result<serde_json::Value, Refusal>> {
        let url = provider_url(self.provider, &self.oauth.token_url, self.config)?;
        let request = requests::token_request(
            self.oauth,
            url,
            &self.client(),
            Grant::Refresh { refresh_token },
        );
        Ok(self.send(request).await)
    }

    /// Trades a non-expiring token for an expiring one and its refresh token (Shopify).
    pub async fn to_expiring(
        &self,
        token: &SecretString,
    ) -> ApiResult<Result<serde_json::Value, Refusal>> {
        let url = provider_url(self.provider, &self.oauth.token_url, self.config)?;
        let Some(request) =
            requests::expiring_token_exchange(self.oauth, url, &self.client(), token)
        else {
            return Err(ApiError::internal(anyhow::anyhow!(
                "{} has no token exchange",
                self.provider.id
            )));
        };
        Ok(self.send(request).await)
    }

    /// Trades an authorization code for tokens (and Meta's short-lived token for a long one).
    async fn code(
        &self,
        code: &str,
        verifier: Option<&SecretString>,
    ) -> ApiResult<Result<serde_json::Value, Refusal>> {
        let url = provider_url(self.provider, &self.oauth.token_url, self.config)?;
        let redirect = redirect_uri(self.state, self.provider)?;
        let grant = Grant::Code {
            code,
            redirect_uri: &redirect,
            verifier,
        };
        let request = requests::token_request(self.oauth, url.clone(), &self.client(), grant);
        let answer = match self.send(request).await {
            Ok(answer) => answer,
            Err(refusal) => return Ok(Err(refusal)),
        };
        match requests::long_lived_exchange(self.oauth, url, &self.client(), &answer) {
            Some(exchange) => Ok(self.send(exchange).await),
            None => Ok(Ok(answer)),
        }
    }

    /// Sends a token request; redirects are never followed, and errors carry no URL or secret.
    ///
    /// Under a lease, the request is handed to the HTTP client only while the lease has time
    /// left, read from its clocks with nothing awaited between that and the hand-over, and its
    /// timeout ends it `lease::MARGIN` before the lease ends. Its body (the refresh token) reads
    /// the lease once more as the client writes it, so a request held up after the hand-over
    /// (the process was paused) leaves nothing once the lease lapsed. What is left is a pause in
    /// the instant between that last read and the write: nothing in the process can prevent it.
    async fn send(&self, built: TokenRequest) -> Result<serde_json::Value, Refusal> {
        let client = self
            .state
            .http
            .client_for(true, self.provider.base_url_override.is_some());
        let mut request = match built.method {
            requests::Method::Get => client.get(built.url),
            requests::Method::Post => client.post(built.url),
        };
        if let Some((user, password)) = &built.basic_auth {
            request = request.basic_auth(user, Some(password.expose_secret()));
        }
        request = match &built.body {
            TokenBody::None => request,
            TokenBody::Form(form) => request.form(form),
            TokenBody::Json(json) => request.json(json),
        };
        let mut request = request
            .header("accept", "application/json")
            .build()
            .map_err(|err| {
                tracing::warn!(failure = ?crate::outbound::classify(err), "token request not built");
                Refusal::from(CallbackFailure::ProviderUnavailable)
            })?;
        let lapsed = || {
            tracing::info!(provider = %self.provider.id, "the refresh lease ran out before the token request left; nothing was sent");
            Refusal::LeaseLapsed
        };
        let mut written = None;
        if let Some(lease) = self.lease {
            let Some(time) = lease.request_time(self.state.settings.provider_timeout) else {
                return Err(lapsed());
            };
            *request.timeout_mut() = Some(time);
            written = lease::guard_body(&mut request, lease);
        }
        let response = client.execute(request).await.map_err(|err| {
            // Nothing of the body left and the lease is over: the request was given up, or
            // refused by its body, before it was written. Nothing was sent.
            let unsent = written.as_ref().is_some_and(|w| !w.happened());
            if unsent && self.lease.is_some_and(|lease| !lease.may_send()) {
                return lapsed();
            }
            tracing::warn!(failure = ?crate::outbound::classify(err), "token request failed");
            Refusal::from(CallbackFailure::ProviderUnavailable)
        })?;
        let status = response.status();
        let body = crate::outbound::read_body(response)
            .await
            .map_err(|failure| {
                tracing::warn!(?failure, "token answer unread");
                Refusal::from(CallbackFailure::ProviderUnavailable)
            })?;
        // An answer that is not JSON is read as an empty one: refused, or missing its token.
        let body: serde_json::Value =
            serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
        if status.is_server_error() {
            return Err(Refusal::from(CallbackFailure::ProviderUnavailable));
        }
        if !status.is_success() {
            tracing::warn!(status = status.as_u16(), error = ?body.get("error"), "token request refused");
            return Err(CallbackFailure::TokenRefused.into());
        }
        Ok(body)
    }
}
