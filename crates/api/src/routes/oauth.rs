//! Connecting a provider by OAuth.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::browser_binding::OAUTH;
use crate::auth::{Caller, OrgAdmin};
use crate::error::{ApiResult, Problem};
use crate::services::oauth;
use crate::state::AppState;

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "config": {
        "shop": "acme.myshopify.com"
    },
    "return_to": "/settings/integrations/shopify"
})))]
pub struct OAuthStartIn {
    /// A path on this site to come back to, e.g. `/onboarding/integrations`.
    pub return_to: Option<String>,
    /// Settings the provider needs before consent, e.g. `{"shop": "acme.myshopify.com"}`.
    pub config: Option<BTreeMap<String, String>>,
}

#[derive(Serialize, ToSchema)]
#[schema(examples(json!({
    "authorization_url": "https://acme.myshopify.com/admin/oauth/authorize?client_id=4b1d3f9e2a7c&scope=read_products%2Cread_orders&redirect_uri=https%3A%2F%2Fplugboard.example.com%2Fapi%2Fv1%2Foauth%2Fshopify%2Fcallback&state=Vq1dWz8sKx3nRb6yTf0aLp5mHc2gJe9u.Qy4wZ7",
    "state": "Vq1dWz8sKx3nRb6yTf0aLp5mHc2gJe9u.Qy4wZ7",
    "expires_at": "2026-11-24T09:40:00Z"
})))]
pub struct OAuthStartOut {
    /// Send the browser here.
    pub authorization_url: String,
    pub state: String,
    pub expires_at: DateTime<Utc>,
}

/// Starts connecting a provider by OAuth: answers the provider's consent URL. A signed-in
/// user's browser also gets the `pb_oauth` cookie (`__Host-pb_oauth` over HTTPS) that the
/// callback must see again; a flow started with an API key is not bound to a browser.
#[utoipa::path(
    operation_id = "startOAuth",
    tag = "integrations",
    params(("org_id" = uuid::Uuid, Path), ("provider" = String, Path)),
    request_body = OAuthStartIn,
    responses(
        (status = 200, body = OAuthStartOut),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "The platform's app for this provider is not configured, or the provider does not use OAuth."),
        (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
#[post("/integrations/{provider}/oauth/start")]
pub async fn start(
    state: web::Data<AppState>,
    admin: OrgAdmin,
    path: web::Path<(uuid::Uuid, String)>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    // The body may be left out; when it is sent it is held to the same rules as any other.
    let input: OAuthStartIn = crate::request_errors::optional_json(&req, &body)?;
    let bound = match admin.0.caller {
        Caller::User { .. } => Some(OAUTH.bind(&req, &state)?),
        Caller::ApiKey { .. } => None,
    };
    let started = oauth::start(
        &state,
        &admin.0,
        &path.1,
        input.return_to.as_deref(),
        input.config.unwrap_or_default(),
        bound.as_ref().map(|(nonce, _)| nonce.as_str()),
    )
    .await?;
    let mut response = HttpResponse::Ok();
    if let Some((_, cookie)) = bound {
        response.cookie(cookie);
    }
    Ok(response.json(OAuthStartOut {
        authorization_url: started.authorization_url.to_string(),
        state: started.state,
        expires_at: started.expires_at,
    }))
}

/// Where the provider sends the browser back. Answers 303 to the SPA with only
/// `integration`, `result=connected|error` and `code`: never a token or the provider's code.
#[utoipa::path(
    operation_id = "completeOAuth",
    tag = "integrations",
    params(("provider" = String, Path), ("code" = Option<String>, Query), ("state" = Option<String>, Query), ("error" = Option<String>, Query)),
    responses((status = 303, description = "Back to the SPA with the outcome."), (status = 404, body = Problem))
)]
#[get("/oauth/{provider}/callback")]
pub async fn callback(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let query: BTreeMap<String, String> =
        url::form_urlencoded::parse(req.query_string().as_bytes())
            .into_owned()
            .collect();
    let nonce = OAUTH.nonce(&req, &state);
    let landing = oauth::callback(&state, &path, &query, nonce.as_deref()).await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, landing.location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}
