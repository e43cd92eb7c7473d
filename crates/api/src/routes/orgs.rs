use actix_web::http::header;
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use domain::model::Organization;
use persistence::orgs;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::{AuthUser, Caller, OrgMember};
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;
use crate::validation::validated;

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "name": "Acme"
})))]
pub struct OrgIn {
    #[validate(length(
        min = 1,
        max = 100,
        message = "Enter an organization name of 1 to 100 characters."
    ))]
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
}

#[derive(Serialize, ToSchema)]
#[schema(examples(json!({
    "id": "5f0c2a9e-8d3b-4b71-9a64-2f1e7c3d9b10",
    "name": "Acme",
    "created_at": "2026-11-24T09:30:00Z",
    "role": "owner"
})))]
pub struct OrgOut {
    pub id: uuid::Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// The caller's role; absent for API keys.
    pub role: Option<crate::contract::Role>,
}

fn org_out(org: Organization, role: Option<domain::Role>) -> OrgOut {
    OrgOut {
        id: org.id.0,
        name: org.name,
        created_at: org.created_at,
        role: role.map(Into::into),
    }
}

/// Creates an organization with the caller as its owner.
#[utoipa::path(
    operation_id = "createOrganization",
    tag = "organizations",
    request_body = OrgIn,
    responses((status = 201, body = OrgOut), (status = 401, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[post("/orgs")]
pub async fn create(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<OrgIn>,
) -> ApiResult<HttpResponse> {
    let input = validated(body.into_inner())?;
    let org = orgs::create_with_owner(&state.db, input.name.trim(), caller.0.id).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/orgs/{}", org.id.0)))
        .json(org_out(org, Some(domain::Role::Owner))))
}

/// One organization the caller belongs to.
#[utoipa::path(
    operation_id = "getOrganization",
    tag = "organizations",
    params(("org_id" = uuid::Uuid, Path, description = "Organization id")),
    responses((status = 200, body = OrgOut), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("")]
pub async fn get(state: web::Data<AppState>, member: OrgMember) -> ApiResult<web::Json<OrgOut>> {
    let ctx = member.0;
    let org = orgs::get(&state.db, ctx.org_id)
        .await?
        .ok_or_else(|| ApiError::not_found("No organization with that id exists for you."))?;
    let role = match &ctx.caller {
        Caller::User { role, .. } => Some(*role),
        Caller::ApiKey { .. } => None,
    };
    Ok(web::Json(org_out(org, role)))
}
