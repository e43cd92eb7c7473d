use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct HealthOut {
    pub status: &'static str,
}

/// The process is alive.
#[utoipa::path(tag = "operations", responses((status = 200, body = HealthOut)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(HealthOut { status: "ok" })
}

/// The database answers; load balancers send traffic only when this is 200.
#[utoipa::path(tag = "operations", responses((status = 200, body = HealthOut), (status = 503, body = crate::error::Problem)))]
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
