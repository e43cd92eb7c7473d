//! Members of an organization. Admins and owners manage them; only owners touch owners, and
//! the last owner stays.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use domain::model::Membership;
use domain::{OrgId, Role, UserId};
use persistence::orgs::{self, MemberChange};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::invitations::{self, InvitationCreatedOut, InvitationIn};
use super::paging::{PageOut, PageQuery};
use crate::auth::{Bearer, MembersReader, OrgOwnerOrAdmin};
use crate::contract::Role as RoleOut;
use crate::error::{ApiError, ApiResult, ErrorCode, Problem};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "role": "admin"
})))]
pub struct MemberPatch {
    pub role: RoleOut,
}

#[derive(Serialize, ToSchema)]
#[schema(examples(json!({
    "user_id": "0b8e6f52-3c1d-4e2a-9f57-6a4d2c8e1b93",
    "email": "ann@acme.example",
    "name": "Ann Lee",
    "role": "owner",
    "joined_at": "2026-11-24T09:30:00Z"
})))]
pub struct MemberOut {
    pub user_id: uuid::Uuid,
    pub email: String,
    pub name: String,
    pub role: RoleOut,
    pub joined_at: DateTime<Utc>,
}

impl From<Membership> for MemberOut {
    fn from(m: Membership) -> Self {
        MemberOut {
            user_id: m.user.id.0,
            email: m.user.email,
            name: m.user.name,
            role: m.role.into(),
            joined_at: m.created_at,
        }
    }
}

fn owners_only() -> ApiError {
    ApiError::forbidden("Only owners can grant, change or remove the owner role.")
}

fn last_owner() -> ApiError {
    ApiError::conflict(
        ErrorCode::LastOwner,
        "An organization needs at least one owner. Make someone else an owner first.",
    )
}

fn not_a_member() -> ApiError {
    ApiError::not_found("That user is not a member of this organization.")
}

async fn member(state: &AppState, org_id: domain::OrgId, user_id: UserId) -> ApiResult<Membership> {
    orgs::members(&state.db, org_id)
        .await?
        .into_iter()
        .find(|m| m.user.id == user_id)
        .ok_or_else(not_a_member)
}

/// The organization's members, oldest first.
#[utoipa::path(
    operation_id = "listMembers",
    tag = "members",
    params(("org_id" = uuid::Uuid, Path), PageQuery),
    responses((status = 200, body = PageOut<MemberOut>), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/members")]
pub async fn list(
    state: web::Data<AppState>,
    reader: MembersReader,
    query: web::Query<PageQuery>,
) -> ApiResult<web::Json<PageOut<MemberOut>>> {
    let page = orgs::members_page(&state.db, reader.0.org_id, query.request()?).await?;
    Ok(web::Json(PageOut::from_page(page, MemberOut::from)))
}

/// Invites someone to join, exactly as `POST …/invitations` does: nobody becomes a member
/// without accepting, and the answer is the same whether or not the address has an account.
#[utoipa::path(
    operation_id = "addMember",
    tag = "members",
    params(("org_id" = uuid::Uuid, Path)),
    request_body = InvitationIn,
    responses(
        (status = 201, body = InvitationCreatedOut, description = "An invitation; its token is shown this once."),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "Already a member, or an invitation is pending."),
        (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
#[post("/members")]
#[tracing::instrument(skip_all)]
pub async fn add(
    state: web::Data<AppState>,
    admin: OrgOwnerOrAdmin,
    body: web::Json<InvitationIn>,
) -> ApiResult<HttpResponse> {
    invitations::invite(&state, &admin, body.into_inner()).await
}

/// Changes a member's role.
#[utoipa::path(
    operation_id = "changeMemberRole",
    tag = "members",
    params(("org_id" = uuid::Uuid, Path), ("user_id" = uuid::Uuid, Path)),
    request_body = MemberPatch,
    responses((status = 200, body = MemberOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []))
)]
#[patch("/members/{user_id}")]
pub async fn change_role(
    state: web::Data<AppState>,
    admin: OrgOwnerOrAdmin,
    path: web::Path<(uuid::Uuid, uuid::Uuid)>,
    body: web::Json<MemberPatch>,
) -> ApiResult<web::Json<MemberOut>> {
    let user_id = UserId(path.into_inner().1);
    let role = Role::from(body.into_inner().role);
    let current = member(&state, admin.org_id, user_id).await?;
    if (role == Role::Owner || current.role == Role::Owner) && admin.role != Role::Owner {
        return Err(owners_only());
    }
    let changed = orgs::set_role(&state.db, admin.org_id, user_id, role).await?;
    forgotten(&state, admin.org_id, user_id);
    match changed {
        MemberChange::Done => Ok(web::Json(MemberOut::from(
            member(&state, admin.org_id, user_id).await?,
        ))),
        MemberChange::NotAMember => Err(not_a_member()),
        MemberChange::LastOwner => Err(last_owner()),
    }
}

/// Removes a member.
#[utoipa::path(
    operation_id = "removeMember",
    tag = "members",
    params(("org_id" = uuid::Uuid, Path), ("user_id" = uuid::Uuid, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []))
)]
#[delete("/members/{user_id}")]
pub async fn remove(
    state: web::Data<AppState>,
    admin: OrgOwnerOrAdmin,
    path: web::Path<(uuid::Uuid, uuid::Uuid)>,
) -> ApiResult<HttpResponse> {
    let user_id = UserId(path.into_inner().1);
    let current = member(&state, admin.org_id, user_id).await?;
    if current.role == Role::Owner && admin.role != Role::Owner {
        return Err(owners_only());
    }
    let changed = orgs::remove_member(&state.db, admin.org_id, user_id).await?;
    forgotten(&state, admin.org_id, user_id);
    match changed {
        MemberChange::Done => Ok(HttpResponse::NoContent().finish()),
        MemberChange::NotAMember => Err(not_a_member()),
        MemberChange::LastOwner => Err(last_owner()),
    }
}

/// The member's role changed or they left: the role the tenant guard kept for them goes.
fn forgotten(state: &AppState, org_id: OrgId, user_id: UserId) {
    state.recent_callers.forget((org_id, Bearer::User(user_id)));
}
