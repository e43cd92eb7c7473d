//! The consent page: GET shows the app, the account and the scopes with Approve and Deny; the
//! form POSTs the same URL with `decision=approve|deny` and is answered with a 302 to the
//! redirect URI, as the provider would.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use base64::Engine;
use chrono::{Duration, Utc};
use domain::registry::{Provider, Quirk};
use secrecy::ExposeSecret;

use crate::grants::{Grant, Kind};
use crate::{Sandbox, page, query_of};

/// A consent request that passed the provider's checks.
pub struct ConsentRequest {
    pub redirect_uri: String,
    pub state: String,
    pub scope: String,
    pub code_challenge: Option<String>,
    pub offline: bool,
}

pub fn handle(
    sandbox: &Sandbox,
    provider: &Provider,
    request: &HttpRequest,
    body: &[u8],
) -> HttpResponse {
    let query = query_of(request);
    let host = request
        .match_info()
        .get("host")
        .unwrap_or_default()
        .to_owned();
    let consent = match check(sandbox, provider, &query) {
        Ok(consent) => consent,
        Err(problem) => return page::refused(provider, &problem),
    };
    if request.method() == actix_web::http::Method::GET {
        return page::consent(provider, &host, &consent, request);
    }
    let decision: BTreeMap<String, String> =
        url::form_urlencoded::parse(body).into_owned().collect();
    match decision.get("decision").map(String::as_str) {
        Some("approve") => approve(sandbox, provider, &host, consent),
        Some("deny") => redirect(
            &consent.redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_description", "The user denied the request."),
                ("state", &consent.state),
            ],
        ),
        _ => page::refused(provider, "Choose Approve or Deny."),
    }
}

/// What the provider checks before it shows a consent screen at all.
fn check(
    sandbox: &Sandbox,
    provider: &Provider,
    query: &BTreeMap<String, String>,
) -> Result<ConsentRequest, String> {
    let Some(oauth) = provider.oauth() else {
        return Err(format!("{} does not connect with OAuth.", provider.name));
    };
    let client_id = query
        .get("client_id")
        .or_else(|| query.get("app_id"))
        .ok_or("The request names no client_id.")?;
    let expected = sandbox.env(&oauth.client_id_env).ok_or_else(|| {
        format!(
            "{} is not set, so no app can ask for consent.",
            oauth.client_id_env
        )
    })?;
    if client_id != expected.expose_secret() {
        return Err(format!(
            "client_id is not the app's ({}); check {}.",
            client_id, oauth.client_id_env
        ));
    }
    let redirect_uri = query
        .get("redirect_uri")
        .ok_or("The request names no redirect_uri.")?;
    let registered = sandbox.callback_of(provider);
    if *redirect_uri != registered {
        return Err(format!(
            "redirect_uri {redirect_uri} is not registered for this app; it must be {registered}."
        ));
    }
    let state = query
        .get("state")
        .filter(|s| !s.is_empty())
        .ok_or("The request carries no state.")?;
    let code_challenge = match (
        query.get("code_challenge"),
        query.get("code_challenge_method"),
    ) {
        (Some(challenge), Some(method)) if method == "S256" => Some(challenge.clone()),
        (Some(_), _) => return Err("Only the S256 code_challenge_method is accepted.".into()),
        (None, _) if oauth.pkce => {
            return Err("This app must send a PKCE code_challenge (S256).".into());
        }
        (None, _) => None,
    };
    let offline = !oauth.has_quirk(Quirk::GoogleOffline)
        || (query.get("access_type").is_some_and(|a| a == "offline")
            && query.get("prompt").is_some_and(|p| p.contains("consent")));
    Ok(ConsentRequest {
        redirect_uri: redirect_uri.clone(),
        state: state.clone(),
        scope: query.get("scope").cloned().unwrap_or_default(),
        code_challenge,
        offline,
    })
}

fn approve(
    sandbox: &Sandbox,
    provider: &Provider,
    host: &str,
    consent: ConsentRequest,
) -> HttpResponse {
    let quirks = provider
        .oauth()
        .map(|o| o.quirks.clone())
        .unwrap_or_default();
    let account = if quirks.contains(&Quirk::Shopify) {
        host
    } else {
        ""
    };
    let mut grant = Grant::new(
        Kind::Code,
        &provider.id,
        account,
        &consent.scope,
        Some(Duration::minutes(5)),
    );
    grant.redirect_uri = Some(consent.redirect_uri.clone());
    grant.code_challenge = consent.code_challenge;
    grant.offline = consent.offline;
    let code = sandbox.signer.seal(&grant);

    if quirks.contains(&Quirk::Shopify) {
        // Shopify signs the whole callback query with the app secret.
        let mut params = BTreeMap::from([
            ("code".to_owned(), code),
            (
                "host".to_owned(),
                base64::engine::general_purpose::STANDARD.encode(format!("{host}/admin")),
            ),
            ("shop".to_owned(), host.to_owned()),
            ("state".to_owned(), consent.state),
            ("timestamp".to_owned(), Utc::now().timestamp().to_string()),
        ]);
        if let Some(secret) = provider
            .oauth()
            .and_then(|o| sandbox.env(&o.client_secret_env))
        {
            let hmac = domain::oauth::shopify_hmac(&params, secret);
            params.insert("hmac".to_owned(), hmac);
        }
        let pairs: Vec<(&str, &str)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        return redirect(&consent.redirect_uri, &pairs);
    }
    if quirks.contains(&Quirk::Tiktok) {
        return redirect(
            &consent.redirect_uri,
            &[
                ("auth_code", &code),
                ("code", &code),
                ("state", &consent.state),
            ],
        );
    }
    redirect(
        &consent.redirect_uri,
        &[("code", &code), ("state", &consent.state)],
    )
}

fn redirect(to: &str, params: &[(&str, &str)]) -> HttpResponse {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        query.append_pair(name, value);
    }
    let separator = if to.contains('?') { '&' } else { '?' };
    HttpResponse::Found()
        .insert_header((
            header::LOCATION,
            format!("{to}{separator}{}", query.finish()),
        ))
        .finish()
}
