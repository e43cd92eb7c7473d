//! Connecting a provider by OAuth.

use std::collections::BTreeMap;

use actix_web::{post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::OrgAdmin;
use crate::error::{ApiResult, Problem};
use crate::services::oauth;
use crate::startup::AppState;

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct OAuthStartIn {
    /// A path on this site to come back to, e.g. `/onboarding/integrations`.
    pub return_to: Option<String>,
    /// Settings the provider needs before consent, e.g. `{"shop": "acme.myshopify.com"}`.
    pub config: Option<BTreeMap<String, String>>,
}

#[derive(Serialize, ToSchema)]
pub struct OAuthStartOut {
    /// Send the browser here.
    pub authorization_url: String,
    pub state: String,
    pub expires_at: DateTime<Utc>,
}

/// Starts connecting a provider by OAuth: answers the provider's consent URL.
#[utoipa::path(
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
    body: Option<web::Json<OAuthStartIn>>,
) -> ApiResult<web::Json<OAuthStartOut>> {
    let input = body.map(web::Json::into_inner).unwrap_or_default();
    let started = oauth::start(
        &state,
        &admin.0,
        &path.1,
        input.return_to.as_deref(),
        input.config.unwrap_or_default(),
    )
    .await?;
    Ok(web::Json(OAuthStartOut {
        authorization_url: started.authorization_url.to_string(),
        state: started.state,
        expires_at: started.expires_at,
    }))
}
