//! OAuth requests as data: what the consent URL carries and what each token request sends,
//! with every provider's quirks, built without HTTP. The API only sends what is built here.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::registry::{ClientAuth, OAuth2, Quirk};

/// The platform app's credentials for one provider.
pub struct ClientCredentials<'a> {
    pub id: &'a SecretString,
    pub secret: &'a SecretString,
}

/// The extra parameters of the consent URL beyond client id, redirect URI, scope, state and
/// PKCE (which the oauth2 crate adds): the registry's own, Google's offline access with
/// consent (so a refresh token comes back), TikTok's `app_id`.
pub fn authorize_params(oauth: &OAuth2, client_id: &SecretString) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = oauth
        .authorize_params
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if oauth.has_quirk(Quirk::GoogleOffline) {
        params.push(("access_type".into(), "offline".into()));
        params.push(("prompt".into(), "consent".into()));
    }
    if oauth.has_quirk(Quirk::Tiktok) {
        params.push(("app_id".into(), client_id.expose_secret().to_owned()));
    }
    params
}

/// The scope parameter's value, joined the provider's way (Slack: commas).
pub fn scope_param(oauth: &OAuth2) -> Option<String> {
    (!oauth.scopes.is_empty()).then(|| oauth.scopes.join(&oauth.scope_separator))
}

/// The callback query parameter that carries the authorization code (TikTok: `auth_code`).
pub fn code_param(oauth: &OAuth2) -> &'static str {
    if oauth.has_quirk(Quirk::Tiktok) {
        "auth_code"
    } else {
        "code"
    }
}

/// What is traded for tokens.
pub enum Grant<'a> {
    Code {
        code: &'a str,
        redirect_uri: &'a Url,
        verifier: Option<&'a SecretString>,
    },
    Refresh {
        refresh_token: &'a SecretString,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

pub enum TokenBody {
    None,
    Form(Vec<(String, String)>),
    Json(serde_json::Value),
}

/// A token request ready to send. Its `Debug` shows no parameter value.
pub struct TokenRequest {
    pub method: Method,
    pub url: Url,
    pub body: TokenBody,
    /// HTTP basic client authentication (RFC 6749 §2.3.1), when the provider wants it.
    pub basic_auth: Option<(String, SecretString)>,
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields: Vec<String> = match &self.body {
            TokenBody::None => Vec::new(),
            TokenBody::Form(form) => form.iter().map(|(k, _)| k.clone()).collect(),
            TokenBody::Json(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
            TokenBody::Json(_) => Vec::new(),
        };
        f.debug_struct("TokenRequest")
            .field("method", &self.method)
            .field("host", &self.url.host_str())
            .field("path", &self.url.path())
            .field("fields", &fields)
            .field("basic_auth", &self.basic_auth.is_some())
            .finish()
    }
}

/// The token request for a grant (RFC 6749 §4.1.3 and §6), in the provider's shape: TikTok
/// takes JSON with `app_id`/`secret`/`auth_code`; the others a form, with the client
/// authenticated by basic auth or in the body as the registry says.
pub fn token_request(
    oauth: &OAuth2,
    token_url: Url,
    client: &ClientCredentials<'_>,
    grant: Grant<'_>,
) -> TokenRequest {
    if oauth.has_quirk(Quirk::Tiktok)
        && let Grant::Code { code, .. } = grant
    {
        return TokenRequest {
            method: Method::Post,
            url: token_url,
            body: TokenBody::Json(serde_json::json!({
                "app_id": client.id.expose_secret(),
                "secret": client.secret.expose_secret(),
                "auth_code": code,
            })),
            basic_auth: None,
        };
    }
    let mut form: Vec<(String, String)> = match grant {
        Grant::Code {
            code,
            redirect_uri,
            verifier,
        } => {
            let mut form = vec![
                ("grant_type".into(), "authorization_code".into()),
                ("code".into(), code.to_owned()),
                ("redirect_uri".into(), redirect_uri.to_string()),
            ];
            if let Some(verifier) = verifier {
                form.push(("code_verifier".into(), verifier.expose_secret().to_owned()));
            }
            form.extend(
                oauth
                    .token_params
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone())),
            );
            form
        }
        Grant::Refresh { refresh_token } => vec![
            ("grant_type".into(), "refresh_token".into()),
            (
                "refresh_token".into(),
                refresh_token.expose_secret().to_owned(),
            ),
        ],
    };
    let basic_auth = match oauth.client_auth {
        ClientAuth::BasicAuth => {
            Some((client.id.expose_secret().to_owned(), client.secret.clone()))
        }
        ClientAuth::RequestBody => {
            form.push(("client_id".into(), client.id.expose_secret().to_owned()));
            form.push((
                "client_secret".into(),
                client.secret.expose_secret().to_owned(),
            ));
            None
        }
    };
    TokenRequest {
        method: Method::Post,
        url: token_url,
        body: TokenBody::Form(form),
        basic_auth,
    }
}

/// Meta answers a code with a short-lived token that must be traded for a long-lived one
/// (`fb_exchange_token`); `None` for every other provider, or when the answer has no token.
pub fn long_lived_exchange(
    oauth: &OAuth2,
    token_url: Url,
    client: &ClientCredentials<'_>,
    code_answer: &serde_json::Value,
) -> Option<TokenRequest> {
    if !oauth.has_quirk(Quirk::MetaLongLived) {
        return None;
    }
    let short = code_answer.get("access_token")?.as_str()?;
    let mut url = token_url;
    url.query_pairs_mut()
        .append_pair("grant_type", "fb_exchange_token")
        .append_pair("client_id", client.id.expose_secret())
        .append_pair("client_secret", client.secret.expose_secret())
        .append_pair("fb_exchange_token", short);
    Some(TokenRequest {
        method: Method::Get,
        url,
        body: TokenBody::None,
        basic_auth: None,
    })
}

/// Whether a connection holding a non-expiring token is moved to expiring tokens by a token
/// exchange: Shopify, whose public apps must use expiring offline tokens from 2027-01-01.
pub fn exchanges_non_expiring_tokens(oauth: &OAuth2) -> bool {
    oauth.has_quirk(Quirk::Shopify)
        && oauth.token_params.get("expiring").map(String::as_str) == Some("1")
}

/// Shopify's token exchange of a non-expiring offline token for an expiring one with a refresh
/// token (JSON, client authenticated in the body); `None` for every other provider. Once it
/// succeeds the old token no longer works.
pub fn expiring_token_exchange(
    oauth: &OAuth2,
    token_url: Url,
    client: &ClientCredentials<'_>,
    offline_token: &SecretString,
) -> Option<TokenRequest> {
    const OFFLINE_TOKEN: &str = "urn:shopify:params:oauth:token-type:offline-access-token";
    if !exchanges_non_expiring_tokens(oauth) {
        return None;
    }
    Some(TokenRequest {
        method: Method::Post,
        url: token_url,
        body: TokenBody::Json(serde_json::json!({
            "client_id": client.id.expose_secret(),
            "client_secret": client.secret.expose_secret(),
            "grant_type": TOKEN_EXCHANGE_GRANT,
            "subject_token": offline_token.expose_secret(),
            "subject_token_type": OFFLINE_TOKEN,
            "requested_token_type": OFFLINE_TOKEN,
            "expiring": "1",
        })),
        basic_auth: None,
    })
}

/// RFC 8693's grant type.
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
