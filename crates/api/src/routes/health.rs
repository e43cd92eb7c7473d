use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
#[schema(examples(json!({
    "status": "ok"
})))]
pub struct HealthOut {
    pub status: &'static str,
}

#[derive(Serialize, ToSchema)]
#[schema(examples(json!({
    "status": "ok",
    "sandbox": false
})))]
pub struct LiveOut {
    pub status: &'static str,
    /// The provider sandbox is on: every provider points at it, not at the real service
    /// (the SPA shows a banner on every page).
    pub sandbox: bool,
}

/// The process is alive.
#[utoipa::path(
    operation_id = "getHealth",tag = "operations", responses((status = 200, body = LiveOut)))]
#[get("/healthz")]
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(LiveOut {
        status: "ok",
        sandbox: state.settings.sandbox,
    })
}

/// The database answers; load balancers send traffic only when this is 200.
#[utoipa::path(
    operation_id = "getReadiness",tag = "operations", responses((status = 200, body = HealthOut), (status = 503, body = crate::error::Problem)))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    persistence::ping(&state.db).await.map_err(|err| {
        tracing::warn!(error = %err, "readiness check failed");
        ApiError::unavailable(
            ErrorCode::DatabaseUnavailable,
            "The database is not reachable.",
        )
    })?;
    Ok(HttpResponse::Ok().json(HealthOut { status: "ready" }))
}
