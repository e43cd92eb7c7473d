//! `/orgs/{org_id}/feature-flags`: every flag with the organization's choice and whether it
//! takes effect.

use actix_web::{get, patch, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ListOut;
use crate::auth::{OrgAdmin, OrgMember};
use crate::error::{ApiResult, Problem};
use crate::services::features::{self as service, FlagView};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
#[schema(examples(json!({
    "key": "integrations.openai",
    "name": "OpenAI",
    "description": "AI-written recommendations and content on top of your own data.",
    "default": false,
    "requires_connection": "openai",
    "enabled": true,
    "effective": true,
    "can_enable": true
})))]
pub struct FeatureFlagOut {
    /// `integrations.<provider>` or a built-in such as `integrations.reviews_email`.
    pub key: String,
    pub name: String,
    pub description: String,
    /// What the flag is when the organization never chose.
    pub default: bool,
    /// The provider that must be connected for the flag to take effect, if any.
    pub requires_connection: Option<String>,
    /// The organization's choice, or the default.
    pub enabled: bool,
    /// Enabled and, where a connection is required, connected.
    pub effective: bool,
    /// Whether it may be turned on now: it requires no connection, or that one is connected.
    pub can_enable: bool,
}

impl From<FlagView> for FeatureFlagOut {
    fn from(view: FlagView) -> Self {
        FeatureFlagOut {
            key: view.def.key,
            name: view.def.name,
            description: view.def.description,
            default: view.def.default,
            requires_connection: view.def.requires,
            enabled: view.state.enabled,
            effective: view.state.effective,
            can_enable: view.state.can_enable,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "enabled": true
})))]
pub struct FeatureFlagPatch {
    pub enabled: bool,
}

/// Every feature flag of the organization.
#[utoipa::path(
    operation_id = "listFeatureFlags",
    tag = "feature flags",
    params(("org_id" = uuid::Uuid, Path)),
    responses((status = 200, body = ListOut<FeatureFlagOut>), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/feature-flags")]
pub async fn list(
    state: web::Data<AppState>,
    member: OrgMember,
) -> ApiResult<web::Json<ListOut<FeatureFlagOut>>> {
    let data = service::list(&state, member.0.org_id)
        .await?
        .into_iter()
        .map(FeatureFlagOut::from)
        .collect();
    Ok(web::Json(ListOut { data }))
}

/// Turns a flag on or off. Turning on a flag that needs a connection needs that connection.
#[utoipa::path(
    operation_id = "updateFeatureFlag",
    tag = "feature flags",
    params(("org_id" = uuid::Uuid, Path), ("key" = String, Path, description = "e.g. `integrations.shopify`")),
    request_body = FeatureFlagPatch,
    responses(
        (status = 200, body = FeatureFlagOut),
        (status = 403, body = Problem),
        (status = 404, body = Problem, description = "No such flag."),
        (status = 409, body = Problem, description = "The flag needs a provider that is not connected."),
    ),
    security(("bearer" = []))
)]
#[patch("/feature-flags/{key}")]
pub async fn update(
    state: web::Data<AppState>,
    admin: OrgAdmin,
    path: web::Path<(uuid::Uuid, String)>,
    body: web::Json<FeatureFlagPatch>,
) -> ApiResult<web::Json<FeatureFlagOut>> {
    let ctx = admin.0;
    let view = service::set(&state, ctx.org_id, ctx.user_id(), &path.1, body.enabled).await?;
    Ok(web::Json(view.into()))
}
