//! The token endpoint: authorization codes (PKCE checked, single use, bound to the redirect
//! URI), refresh tokens (rotated) and Meta's long-lived exchange, answered in each provider's
//! own shape.

use std::collections::BTreeMap;

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{Duration, Utc};
use domain::registry::{OAuth2, Provider, Quirk};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::grants::{Grant, Kind};
use crate::{Activity, Sandbox, query_of};
use domain::oauth::requests::TOKEN_EXCHANGE_GRANT;

const ACCESS_TOKEN_SECS: i64 = 3600;
const META_LONG_LIVED_SECS: i64 = 60 * 24 * 60 * 60;
/// Shopify's refresh tokens lapse after 90 days.
const SHOPIFY_REFRESH_SECS: i64 = 90 * 24 * 60 * 60;

/// A token-endpoint refusal: the OAuth error code and a sentence.
struct Refusal {
    status: u16,
    error: &'static str,
    description: String,
}

fn refuse(error: &'static str, description: impl Into<String>) -> Refusal {
    Refusal {
        status: if error == "invalid_client" { 401 } else { 400 },
        error,
        description: description.into(),
    }
}

pub fn handle(
    sandbox: &Sandbox,
    provider: &Provider,
    oauth: &OAuth2,
    request: &HttpRequest,
    body: &[u8],
) -> HttpResponse {
    let params = params_of(request, body);
    let outcome = if request.method() == Method::GET {
        if oauth.has_quirk(Quirk::MetaLongLived) {
            long_lived(sandbox, provider, &params)
        } else {
            Err(refuse("invalid_request", "Token requests are POSTs."))
        }
    } else {
        check_client(sandbox, oauth, request, &params)
            .and_then(|()| grant(sandbox, provider, oauth, &params))
    };
    match outcome {
        Ok(answer) => HttpResponse::Ok().json(answer),
        Err(refusal) => refusal_answer(oauth, refusal),
    }
}

/// Form, JSON (TikTok) and query parameters together.
fn params_of(request: &HttpRequest, body: &[u8]) -> BTreeMap<String, String> {
    let mut params = query_of(request);
    let is_json = request
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        if let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) {
            for (key, value) in fields {
                if let Some(text) = value.as_str() {
                    params.insert(key, text.to_owned());
                }
            }
        }
    } else {
        params.extend(url::form_urlencoded::parse(body).into_owned());
    }
    params
}

/// The client must be the app: by basic auth or in the body, as the provider expects.
fn check_client(
    sandbox: &Sandbox,
    oauth: &OAuth2,
    request: &HttpRequest,
    params: &BTreeMap<String, String>,
) -> Result<(), Refusal> {
    let from_header = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|pair| {
            pair.split_once(':')
                .map(|(i, s)| (i.to_owned(), s.to_owned()))
        });
    let from_body = params
        .get("client_id")
        .or_else(|| params.get("app_id"))
        .zip(params.get("client_secret").or_else(|| params.get("secret")))
        .map(|(i, s)| (i.clone(), s.clone()));
    let Some((id, secret)) = from_header.or(from_body) else {
        return Err(refuse("invalid_client", "The app did not authenticate."));
    };
    let matches = |name: &str, given: &str| {
        sandbox
            .env(name)
            .is_some_and(|expected| expected.expose_secret() == given)
    };
    if matches(&oauth.client_id_env, &id) && matches(&oauth.client_secret_env, &secret) {
        Ok(())
    } else {
        Err(refuse(
            "invalid_client",
            "The client id or secret is not the app's.",
        ))
    }
}

fn grant(
    sandbox: &Sandbox,
    provider: &Provider,
    oauth: &OAuth2,
    params: &BTreeMap<String, String>,
) -> Result<Value, Refusal> {
    let grant_type = params.get("grant_type").map(String::as_str);
    // TikTok sends no grant_type for a code; Shopify neither.
    let by_code = grant_type == Some("authorization_code")
        || (grant_type.is_none()
            && (params.contains_key("auth_code") || params.contains_key("code")));
    if by_code {
        let code = params
            .get("code")
            .or_else(|| params.get("auth_code"))
            .ok_or_else(|| refuse("invalid_request", "No code was sent."))?;
        let grant = redeem_code(sandbox, provider, code, params)?;
        let expiring = params.get("expiring").map(String::as_str) == Some("1");
        return Ok(answer(sandbox, oauth, &grant, true, expiring));
    }
    if grant_type == Some("refresh_token") {
        let presented = params
            .get("refresh_token")
            .ok_or_else(|| refuse("invalid_request", "No refresh_token was sent."))?;
        let grant = sandbox
            .open_live(presented, Kind::Refresh, &provider.id)
            .ok_or_else(|| {
                refuse(
                    "invalid_grant",
                    "The refresh token is invalid or was revoked.",
                )
            })?;
        // Rotating refresh tokens work once (Google's, which do not rotate, stay good).
        if !oauth.has_quirk(Quirk::GoogleOffline) && !sandbox.redeem(presented) {
            sandbox.count(&provider.id, Activity::Replay);
            return Err(refuse(
                "invalid_grant",
                "The refresh token was already used; each one works once.",
            ));
        }
        sandbox.count(&provider.id, Activity::Refresh);
        return Ok(answer(sandbox, oauth, &grant, false, true));
    }
    if grant_type == Some(TOKEN_EXCHANGE_GRANT) && oauth.has_quirk(Quirk::Shopify) {
        return exchange_for_expiring(sandbox, provider, oauth, params);
    }
    Err(refuse(
        "unsupported_grant_type",
        "Use authorization_code or refresh_token.",
    ))
}

/// Shopify's migration of a non-expiring offline token: the token is traded once for an
/// expiring one and a refresh token, and stops working.
fn exchange_for_expiring(
    sandbox: &Sandbox,
    provider: &Provider,
    oauth: &OAuth2,
    params: &BTreeMap<String, String>,
) -> Result<Value, Refusal> {
    const OFFLINE_TOKEN: &str = "urn:shopify:params:oauth:token-type:offline-access-token";
    for name in ["subject_token_type", "requested_token_type"] {
        if params.get(name).map(String::as_str) != Some(OFFLINE_TOKEN) {
            return Err(refuse(
                "invalid_request",
                format!("{name} must be {OFFLINE_TOKEN}."),
            ));
        }
    }
    if params.get("expiring").map(String::as_str) != Some("1") {
        return Err(refuse("invalid_request", "expiring must be 1."));
    }
    let subject = params
        .get("subject_token")
        .ok_or_else(|| refuse("invalid_request", "No subject_token was sent."))?;
    let grant = sandbox
        .open_live(subject, Kind::Access, &provider.id)
        .filter(|g| g.expires_at.is_none())
        .ok_or_else(|| {
            refuse(
                "invalid_grant",
                "subject_token is not a live non-expiring offline token.",
            )
        })?;
    if !sandbox.redeem(subject) {
        sandbox.count(&provider.id, Activity::Replay);
        return Err(refuse(
            "invalid_grant",
            "This token was already exchanged for an expiring one.",
        ));
    }
    sandbox.count(&provider.id, Activity::Exchange);
    Ok(answer(sandbox, oauth, &grant, false, true))
}

fn redeem_code(
    sandbox: &Sandbox,
    provider: &Provider,
    code: &str,
    params: &BTreeMap<String, String>,
) -> Result<Grant, Refusal> {
    let invalid = || {
        refuse(
            "invalid_grant",
            "The code is invalid, expired or already used.",
        )
    };
    let grant = sandbox
        .signer
        .open(code, Kind::Code, &provider.id)
        .filter(|g| g.is_live(Utc::now()))
        .ok_or_else(invalid)?;
    if let Some(sent) = params.get("redirect_uri")
        && grant.redirect_uri.as_deref() != Some(sent)
    {
        return Err(refuse(
            "invalid_grant",
            "redirect_uri differs from the authorization request's.",
        ));
    }
    match (&grant.code_challenge, params.get("code_verifier")) {
        (Some(challenge), Some(verifier)) => {
            let computed = URL_SAFE_NO_PAD.encode(ring::digest::digest(
                &ring::digest::SHA256,
                verifier.as_bytes(),
            ));
            if computed != *challenge {
                return Err(refuse(
                    "invalid_grant",
                    "code_verifier does not match the code_challenge.",
                ));
            }
        }
        (Some(_), None) => return Err(refuse("invalid_grant", "code_verifier is required.")),
        (None, Some(_)) => {
            return Err(refuse(
                "invalid_grant",
                "code_verifier sent for a code issued without a challenge.",
            ));
        }
        (None, None) => {}
    }
    if !sandbox.redeem(code) {
        return Err(invalid());
    }
    Ok(grant)
}

/// Meta: a short-lived user token is traded for a long-lived one.
fn long_lived(
    sandbox: &Sandbox,
    provider: &Provider,
    params: &BTreeMap<String, String>,
) -> Result<Value, Refusal> {
    if params.get("grant_type").map(String::as_str) != Some("fb_exchange_token") {
        return Err(refuse(
            "invalid_request",
            "grant_type must be fb_exchange_token.",
        ));
    }
    let short = params
        .get("fb_exchange_token")
        .and_then(|t| sandbox.open_live(t, Kind::Access, &provider.id))
        .ok_or_else(|| refuse("invalid_grant", "fb_exchange_token is not a live token."))?;
    let long = short.successor(Kind::Access, Some(Duration::seconds(META_LONG_LIVED_SECS)));
    Ok(json!({
        "access_token": sandbox.signer.seal(&long),
        "token_type": "bearer",
        "expires_in": META_LONG_LIVED_SECS,
    }))
}

/// The token answer in the provider's own shape. `expiring`: Shopify's expiring offline
/// tokens (asked for with `expiring=1`, and always so on a refresh).
fn answer(sandbox: &Sandbox, oauth: &OAuth2, from: &Grant, first: bool, expiring: bool) -> Value {
    let access = |secs: Option<i64>| {
        sandbox
            .signer
            .seal(&from.successor(Kind::Access, secs.map(Duration::seconds)))
    };
    let refresh = || sandbox.signer.seal(&from.successor(Kind::Refresh, None));
    let scope = from.scope.clone();
    if oauth.has_quirk(Quirk::Shopify) {
        if !expiring {
            // Non-expiring offline access tokens: no expiry, no refresh token.
            return json!({ "access_token": access(None), "scope": scope });
        }
        // Expiring offline tokens: a short-lived access token and a one-time refresh token
        // that lapses after 90 days.
        let lifetime = sandbox.config.shopify_token_lifetime.as_secs();
        let lifetime = i64::try_from(lifetime).unwrap_or(ACCESS_TOKEN_SECS);
        let refresh = sandbox
            .signer
            .seal(&from.successor(Kind::Refresh, Some(Duration::seconds(SHOPIFY_REFRESH_SECS))));
        return json!({
            "access_token": access(Some(lifetime)),
            "scope": scope,
            "expires_in": lifetime,
            "refresh_token": refresh,
            "refresh_token_expires_in": SHOPIFY_REFRESH_SECS,
        });
    }
    if oauth.has_quirk(Quirk::Slack) {
        return json!({
            "ok": true,
            "app_id": "ASANDBOX",
            "token_type": "bot",
            "access_token": access(None),
            "scope": scope,
            "bot_user_id": "USANDBOXBOT",
            "team": { "id": "TSANDBOX", "name": "Acme Sandbox" },
            "authed_user": { "id": "USANDBOX", "scope": scope, "token_type": "user", "access_token": access(None) },
        });
    }
    if oauth.has_quirk(Quirk::Tiktok) {
        return json!({
            "code": 0,
            "message": "OK",
            "request_id": from.nonce,
            "data": {
                "access_token": access(None),
                "advertiser_ids": ["7000000000000000001"],
                "scope": [4, 5, 6],
            },
        });
    }
    if oauth.has_quirk(Quirk::MetaLongLived) {
        // The short-lived token; Plugboard trades it for a long-lived one.
        return json!({ "access_token": access(Some(ACCESS_TOKEN_SECS)), "token_type": "bearer", "expires_in": ACCESS_TOKEN_SECS });
    }
    let mut body = json!({
        "access_token": access(Some(ACCESS_TOKEN_SECS)),
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_SECS,
        "scope": scope,
    });
    // Google sends a refresh token only for offline access with consent, and only the first
    // time; other providers rotate it on every refresh.
    let google = oauth.has_quirk(Quirk::GoogleOffline);
    if !google || (first && from.offline) {
        body["refresh_token"] = Value::String(refresh());
    }
    if oauth.has_quirk(Quirk::StripeConnect) {
        body["stripe_user_id"] = Value::String("acct_1SandboxAcme".into());
        body["livemode"] = Value::Bool(false);
        body["stripe_publishable_key"] = Value::String("pk_test_sandbox".into());
        if let Some(fields) = body.as_object_mut() {
            fields.remove("expires_in");
        }
    }
    body
}

fn refusal_answer(oauth: &OAuth2, refusal: Refusal) -> HttpResponse {
    // Slack and TikTok refuse with a 200 and an error inside.
    if oauth.has_quirk(Quirk::Slack) {
        return HttpResponse::Ok().json(json!({ "ok": false, "error": refusal.error }));
    }
    if oauth.has_quirk(Quirk::Tiktok) {
        return HttpResponse::Ok()
            .json(json!({ "code": 40001, "message": refusal.description, "data": {} }));
    }
    let status = actix_web::http::StatusCode::from_u16(refusal.status)
        .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST);
    HttpResponse::build(status).json(json!({
        "error": refusal.error,
        "error_description": refusal.description,
    }))
}
