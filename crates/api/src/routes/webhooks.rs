//! `/webhooks/{provider}`: what the providers send the platform's own apps (uninstalls,
//! revocations, privacy requests, other topics). No authentication: each request proves itself
//! with the provider's signature, checked over the raw body before anything is parsed. A
//! verified delivery is kept and answered at once; the worker applies it.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use domain::inbound::{MAX_BODY, Refusal};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult, ErrorCode, Problem};
use crate::services::inbound::{self as service, InboundError, Received};
use crate::state::AppState;

/// What a verified delivery is answered with.
#[derive(Serialize, ToSchema)]
#[schema(examples(json!({"received": true})))]
pub struct WebhookReceivedOut {
    /// Always true: the delivery is kept (or was already).
    pub received: bool,
    /// Slack's `url_verification`: its challenge, answered back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge: Option<String>,
    /// Meta's data deletion: the public page that says what was deleted and when.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Meta's data deletion: the request's confirmation code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmation_code: Option<String>,
}

impl From<Received> for WebhookReceivedOut {
    fn from(received: Received) -> Self {
        let mut out = WebhookReceivedOut {
            received: true,
            challenge: None,
            url: None,
            confirmation_code: None,
        };
        match received {
            Received::Accepted => {}
            Received::Challenge(challenge) => out.challenge = Some(challenge),
            Received::Erasure { url, code } => {
                out.url = Some(url);
                out.confirmation_code = Some(code);
            }
        }
        out
    }
}

/// Whether a path is a provider webhook's: its body is the provider's own, read raw here and
/// held to no rule of Plugboard's own bodies.
pub fn is_webhook_path(path: &str) -> bool {
    path.starts_with("/api/v1/webhooks/")
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::BodyTooLarge,
        "A webhook body may weigh 1 MB at most; nothing was kept.",
    )
}

/// The raw body, read once, refused past 1 MB before more of it is read.
async fn read_body(req: &HttpRequest, payload: web::Payload) -> ApiResult<web::Bytes> {
    super::raw_body::read(req, payload, MAX_BODY, too_large).await
}

/// Header values by lower-case name (a header sent twice keeps its first value).
fn headers(req: &HttpRequest) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (name, value) in req.headers() {
        if let Ok(value) = value.to_str() {
            out.entry(name.as_str().to_ascii_lowercase())
                .or_insert_with(|| value.to_owned());
        }
    }
    out
}

impl From<InboundError> for ApiError {
    fn from(err: InboundError) -> Self {
        match err {
            InboundError::UnknownProvider | InboundError::Refused(Refusal::UnknownCallback) => {
                ApiError::not_found("No provider sends webhooks to this address.")
            }
            InboundError::NotSetUp => ApiError::unavailable(
                ErrorCode::PlatformNotReady,
                "This provider's webhook secret is not set on the platform, so its webhooks cannot be verified yet.",
            ),
            InboundError::Refused(Refusal::Unreadable(what)) => ApiError::bad_request(
                ErrorCode::InvalidBody,
                format!("The webhook is signed but not what the provider sends: {what}."),
            ),
            // One answer for every signature problem: a sender learns nothing of which part
            // was wrong.
            InboundError::Refused(_) => ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::BadSignature,
                "The webhook's signature is missing, wrong or too old; nothing was kept.",
            ),
            InboundError::Store(err) => err.into(),
            InboundError::Random => {
                ApiError::internal(anyhow::anyhow!("the system random source failed"))
            }
        }
    }
}

async fn receive(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
    provider: &str,
    callback: Option<&str>,
) -> ApiResult<HttpResponse> {
    // An unknown address is a 404 before any body is read.
    if service::receiver(state, provider).is_none() {
        return Err(InboundError::UnknownProvider.into());
    }
    let body = read_body(req, payload).await?;
    let received = service::receive(state, provider, callback, &headers(req), &body).await?;
    Ok(HttpResponse::Ok().json(WebhookReceivedOut::from(received)))
}

/// Receive a provider's webhook (Shopify, Slack, Stripe)
///
/// Register `https://<your Plugboard>/api/v1/webhooks/{provider}` with the provider's app.
/// No authentication: the signature is checked over the raw body (1 MB at most) before
/// anything is parsed, with the secret from the platform's environment:
/// - `shopify`: `X-Shopify-Hmac-Sha256` = base64 HMAC-SHA256 of the body with
///   `SHOPIFY_API_SECRET`; `X-Shopify-Topic`, `X-Shopify-Shop-Domain` and
///   `X-Shopify-Webhook-Id` (deduplication) are required.
/// - `slack`: `X-Slack-Signature` = `v0=` + hex HMAC-SHA256 of
///   `v0:{X-Slack-Request-Timestamp}:{body}` with `SLACK_SIGNING_SECRET`, at most 5 minutes
///   old; `url_verification` is answered with its `challenge`; deduplicated by `event_id`.
/// - `stripe`: `Stripe-Signature: t=…,v1=…` (several `v1` allowed), hex HMAC-SHA256 of
///   `{t}.{body}` with `STRIPE_WEBHOOK_SECRET`, at most 300 seconds old; deduplicated by the
///   event id.
///
/// A verified delivery is kept and answered 200 at once (a replay too, changing nothing); the
/// worker applies it to the connections it names.
#[utoipa::path(
    operation_id = "receiveProviderWebhook",
    tag = "webhooks",
    params(("provider" = String, Path, description = "`shopify`, `slack` or `stripe`.")),
    request_body(content = Object, content_type = "application/json", description = "The provider's event, exactly as signed.", example = json!({"id": 954889, "name": "acme.myshopify.com", "myshopify_domain": "acme.myshopify.com"})),
    responses(
        (status = 200, body = WebhookReceivedOut),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "`invalid_body`: signed, but not what the provider sends."),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "`bad_signature`: missing, wrong or stale; nothing was kept."),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "No provider sends webhooks here."),
        (status = 413, body = Problem, content_type = "application/problem+json", description = "`body_too_large`: over 1 MB."),
        (status = 503, body = Problem, content_type = "application/problem+json", description = "`platform_not_ready`: the provider's webhook secret is not set."),
    ),
)]
#[post("/webhooks/{provider}")]
pub async fn receive_webhook(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    receive(&state, &req, payload, &path, None).await
}

/// Receive one of a provider's callbacks (Meta's deauthorize and data deletion)
///
/// Register `https://<your Plugboard>/api/v1/webhooks/meta_ads/deauthorize` as Facebook
/// Login's Deauthorize callback URL and `…/meta_ads/data-deletion` as its Data Deletion Request
/// URL. No authentication: the form field `signed_request` is base64url(signature) `.`
/// base64url(payload), the signature HMAC-SHA256 of the payload segment with
/// `META_APP_SECRET`, and the payload's `algorithm` must be `HMAC-SHA256`; `user_id` names the
/// app-scoped user. A data deletion is answered with `url` (a public page saying what was
/// deleted and when) and `confirmation_code`.
#[utoipa::path(
    operation_id = "receiveProviderCallback",
    tag = "webhooks",
    params(
        ("provider" = String, Path, description = "`meta_ads`."),
        ("callback" = String, Path, description = "`deauthorize` or `data-deletion`."),
    ),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "`signed_request=…`", example = json!("signed_request=dGVzdA.eyJhbGdvcml0aG0iOiJITUFDLVNIQTI1NiIsInVzZXJfaWQiOiIxMDIxOSJ9")),
    responses(
        (status = 200, body = WebhookReceivedOut, example = json!({"received": true, "url": "https://plugboard.example/api/v1/webhooks/meta_ads/erasures/5f2b6c0e9d7a4c1b8e3f0a9d6c2b7e41", "confirmation_code": "5f2b6c0e9d7a4c1b8e3f0a9d6c2b7e41"})),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "`invalid_body`: signed, but not what the provider sends."),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "`bad_signature`: missing, wrong or another algorithm; nothing was kept."),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "No provider sends this callback here."),
        (status = 413, body = Problem, content_type = "application/problem+json", description = "`body_too_large`: over 1 MB."),
        (status = 503, body = Problem, content_type = "application/problem+json", description = "`platform_not_ready`: the provider's app secret is not set."),
    ),
)]
#[post("/webhooks/{provider}/{callback}")]
pub async fn receive_callback(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let (provider, callback) = path.into_inner();
    receive(&state, &req, payload, &provider, Some(&callback)).await
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A data deletion's status page
///
/// Public, keyed by the unguessable confirmation code alone: it says what was deleted and
/// when, and nothing else (no name, no account, no organization).
#[utoipa::path(
    operation_id = "getErasureStatus",
    tag = "webhooks",
    params(
        ("provider" = String, Path, description = "`meta_ads`."),
        ("code" = String, Path, description = "The confirmation code."),
    ),
    responses(
        (status = 200, content_type = "text/html", body = String, description = "A page for the person who asked.", example = json!("<!doctype html><html lang=\"en\"><body><main><h1>Data deletion request</h1><p>Received on 2026-12-06 09:31 UTC.</p><p>Deleted on 2026-12-06 09:31 UTC: the access token, the account name and ID, and the settings Plugboard held from Meta Ads about you.</p></main></body></html>")),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
)]
#[get("/webhooks/{provider}/erasures/{code}")]
pub async fn erasure_status(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (provider_id, code) = path.into_inner();
    let not_found = || ApiError::not_found("There is no data deletion request with this code.");
    let (provider, _) = service::receiver(&state, &provider_id).ok_or_else(not_found)?;
    if code.len() > 64 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(not_found());
    }
    let erasure = persistence::inbound::erasure(&state.db, &provider.id, &code)
        .await?
        .ok_or_else(not_found)?;
    let when = |at: chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%d %H:%M UTC").to_string();
    let status = match erasure.erased_at {
        None => "Your request was received; the deletion is in progress. Check this page again in a minute.".to_owned(),
        Some(at) if erasure.connections == 0 => format!(
            "Checked on {}: Plugboard held no data from {} about you, so there was nothing to delete.",
            when(at),
            provider.name
        ),
        Some(at) => format!(
            "Deleted on {}: the access token, the account name and ID, and the settings Plugboard held from {} about you. A record that a deletion took place is kept; not what was deleted.",
            when(at),
            provider.name
        ),
    };
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Data deletion request</title></head>\
         <body><main><h1>Data deletion request</h1>\
         <p>Confirmation code: <code>{code}</code></p>\
         <p>Received on {received}.</p><p>{status}</p></main></body></html>",
        code = escape(&erasure.code),
        received = when(erasure.requested_at),
        status = escape(&status),
    );
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header(("Cache-Control", "no-store"))
        .body(html))
}
