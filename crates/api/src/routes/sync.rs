use actix_web::{post, web};

use super::integrations::IntegrationOut;
use crate::auth::OrgAdmin;
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

/// Sync now: renews the access token if it is about to expire, re-runs the provider's check,
/// records a `sync` event and updates `last_sync_at`, the status and `last_error`.
#[utoipa::path(
    operation_id = "syncIntegration",
    tag = "integrations",
    params(("org_id" = uuid::Uuid, Path), ("provider" = String, Path)),
    responses(
        (status = 200, body = IntegrationOut),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "Not connected: nothing to sync."),
        (status = 503, body = Problem, description = "The provider could not be reached to renew the token."),
    ),
    security(("bearer" = []))
)]
#[post("/integrations/{provider}/sync")]
#[tracing::instrument(skip_all, fields(provider = %path.1))]
pub async fn sync(
    state: web::Data<AppState>,
    admin: OrgAdmin,
    path: web::Path<(uuid::Uuid, String)>,
) -> ApiResult<web::Json<IntegrationOut>> {
    let ctx = &admin.0;
    Ok(web::Json(
        crate::services::sync::sync(&state, ctx.org_id, &ctx.actor(), &path.1)
            .await?
            .into(),
    ))
}
